package sqlite

import (
	"strings"
	"testing"
	"time"

	"github.com/roster-scim/roster"
)

// TestRequestLogQueryPlans checks that the admin's usual queries read an
// index in order, so a page costs the same in a month-long log as in an
// empty one, and that pruning finds old entries by index.
func TestRequestLogQueryPlans(t *testing.T) {
	db := MustOpenDB(t)
	now := time.Now()
	for _, c := range []struct {
		name string
		q    roster.RequestQuery
		use  string
	}{
		{"directory", roster.RequestQuery{OrgID: "o", DirectoryID: "d"}, "INDEX request_log_directory (org_id=? AND directory_id=?)"},
		{"directory since", roster.RequestQuery{OrgID: "o", DirectoryID: "d", Since: now}, "INDEX request_log_directory (org_id=? AND directory_id=? AND time>?)"},
		{"directory page", roster.RequestQuery{OrgID: "o", DirectoryID: "d", Before: 7}, "INDEX request_log_directory (org_id=? AND directory_id=?"},
		{"directory failures", roster.RequestQuery{OrgID: "o", DirectoryID: "d", StatusClass: 4}, "INDEX request_log_directory (org_id=? AND directory_id=?)"},
		{"resource", roster.RequestQuery{OrgID: "o", ResourceID: "u", DirectoryID: "d"}, "INDEX request_log_resource (org_id=? AND resource_id=?)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			query, args, err := dialect.RequestsSQL(c.q)
			if err != nil {
				t.Fatal(err)
			}
			plan := strings.Join(explain(t, db, query, args), "\n")
			t.Logf("%s\n%s", query, plan)
			if !strings.Contains(plan, c.use) {
				t.Errorf("plan does not use %s", c.use)
			}
			if strings.Contains(plan, "TEMP B-TREE") {
				t.Errorf("plan sorts instead of reading the index in order")
			}
		})
	}
	plan := strings.Join(explain(t, db, `SELECT id FROM request_log WHERE time < ? LIMIT ?`, []any{1, 1}), "\n")
	if !strings.Contains(plan, "request_log_time") {
		t.Errorf("pruning does not use the time index:\n%s", plan)
	}
}
