package sqlite

import (
	"strings"
	"testing"

	"github.com/roster-scim/roster/internal/sqlstore"
	"github.com/roster-scim/roster/provision"
)

// TestProvisionQueryPlans checks that the provisioning engine's reads are
// index searches on a fresh database (no ANALYZE statistics): a link by
// source or target id, a page of unseen links or of members, and every
// filter of the provisioning log, newest first without a sort.
func TestProvisionQueryPlans(t *testing.T) {
	db := MustOpenDB(t)
	logSQL := func(q provision.LogQuery) (string, []any) {
		q.JobID = "j"
		query, args, err := dialect.LogSQL(q)
		if err != nil {
			t.Fatal(err)
		}
		return query, args
	}
	type plan struct {
		name  string
		query string
		args  []any
		use   []string // every one must be in the plan
	}
	plans := []plan{
		{"Links", sqlstore.LinksSQL + "(?, ?)", []any{"j", "User", "a", "b"}, []string{"INDEX sqlite_autoindex_provision_links_1 (job_id=? AND kind=? AND source_id=?)"}},
		{"LinkByTarget", sqlstore.LinkByTargetSQL, []any{"j", "User", "t"}, []string{"INDEX provision_links_target (job_id=? AND kind=? AND target_id=?)"}},
		{"UnseenLinks", sqlstore.UnseenLinksSQL, []any{"j", "User", "", "c", 1000}, []string{"(job_id=? AND kind=? AND source_id>?)"}},
		{"ExportedMembers", sqlstore.ExportedMembersSQL, []any{"j", "g", "", 1000}, []string{"PRIMARY KEY (job_id=? AND group_source_id=? AND member_source_id>?)"}},
	}
	for _, c := range []struct {
		name string
		q    provision.LogQuery
		use  []string
	}{
		{"QueryLog", provision.LogQuery{}, []string{"INDEX provision_log_job (job_id=?)"}},
		{"QueryLogBefore", provision.LogQuery{Before: 10}, []string{"INDEX provision_log_job (job_id=? AND id<?)"}},
		{"QueryLogCycle", provision.LogQuery{Cycle: "c", Before: 10}, []string{"INDEX provision_log_cycle (job_id=? AND cycle=? AND id<?)"}},
		{"QueryLogFailed", provision.LogQuery{Failed: true, Before: 10}, []string{"INDEX provision_log_failed (job_id=? AND id<?)"}},
		{"QueryLogObject", provision.LogQuery{SourceID: "s", Before: 10}, []string{"MULTI-INDEX OR",
			"INDEX provision_log_source (job_id=? AND source_id=? AND id<?)", "INDEX provision_log_target (job_id=? AND target_id=? AND id<?)"}},
	} {
		query, args := logSQL(c.q)
		plans = append(plans, plan{c.name, query, args, c.use})
	}
	for _, p := range plans {
		t.Run(p.name, func(t *testing.T) {
			lines := explain(t, db, p.query, p.args)
			got := strings.Join(lines, "\n")
			t.Logf("%s\n\t%s", p.query, strings.Join(lines, "\n\t"))
			for _, line := range lines {
				if strings.HasPrefix(line, "SCAN ") {
					t.Errorf("plan scans a whole table: %q", line)
				}
			}
			for _, use := range p.use {
				if !strings.Contains(got, use) {
					t.Errorf("plan does not use %s", use)
				}
			}
			// Pages come in index order; only the OR of two indexes sorts.
			if p.name != "QueryLogObject" && strings.Contains(got, "TEMP B-TREE") {
				t.Errorf("plan sorts")
			}
		})
	}
}
