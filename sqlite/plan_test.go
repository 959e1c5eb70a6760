package sqlite

import (
	"context"
	"database/sql"
	"strings"
	"testing"

	"github.com/roster-scim/roster"
	"github.com/roster-scim/roster/internal/sqlstore/sqltest"
	"github.com/roster-scim/roster/scim"
)

// explain returns the lines of SQLite's query plan for a statement.
func explain(tb testing.TB, db *DB, query string, args []any) []string {
	tb.Helper()
	return explainOn(tb, db.read, query, args)
}

// explainOn is explain on one pool: the request log's is db.logRead.
func explainOn(tb testing.TB, pool *sql.DB, query string, args []any) []string {
	tb.Helper()
	rows, err := pool.QueryContext(context.Background(), "EXPLAIN QUERY PLAN "+query, args...)
	if err != nil {
		tb.Fatalf("explain %s: %v", query, err)
	}
	defer rows.Close()
	var lines []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			tb.Fatal(err)
		}
		lines = append(lines, detail)
	}
	if err := rows.Err(); err != nil {
		tb.Fatal(err)
	}
	return lines
}

// directoryWalk is how a plan reads every resource of one type in a
// directory: a search on the (dir_id, type) prefix of an index and nothing
// narrower. It is an index search in name only.
const directoryWalk = "(dir_id=? AND type=?)"

// TestQueryPlans checks that the filters identity providers send on every
// provisioning cycle are index lookups: their cost must not grow with the
// directory. It explains the exact statements List runs (listSQL), on an
// empty database, so without the statistics ANALYZE would gather: a fresh
// install must get good plans too.
func TestQueryPlans(t *testing.T) {
	db := MustOpenDB(t)
	dir := mustAddTenant(t, db, "plans").Dir.ID
	sqltest.Plans(t, dialect, db.reg, dir, []sqltest.Plan{
		{scim.UserType, `userName eq "x"`, "INDEX resources_name (dir_id=? AND type=? AND name_ci=?)"},
		{scim.UserType, `externalId eq "x"`, "INDEX resources_external (dir_id=? AND type=? AND external_id=?)"},
		{scim.GroupType, `displayName eq "x"`, "INDEX resources_name (dir_id=? AND type=? AND name_ci=?)"},
		{scim.UserType, `emails[type eq "work"].value eq "x"`, "INDEX emails_value (dir_id=? AND value_ci=?)"},
		{scim.UserType, `emails.value eq "x" and active eq true`, "INDEX emails_value (dir_id=? AND value_ci=?)"},
		{scim.GroupType, `id eq "g" and members eq "u"`, "INDEX resources_id (dir_id=? AND id=?)"},
		{scim.UserType, `meta.lastModified gt "2024-01-01T00:00:00Z"`, "INDEX resources_modified (dir_id=? AND type=? AND modified>?)"},
	}, func(t *testing.T, query string, args []any, use string) {
		plan := explain(t, db, query, args)
		t.Logf("%s\n\t%s", query, strings.Join(plan, "\n\t"))
		for _, line := range plan {
			if strings.HasPrefix(line, "SCAN ") || strings.HasSuffix(line, directoryWalk) {
				t.Errorf("plan reads the whole directory: %q", line)
			}
		}
		if !strings.Contains(strings.Join(plan, "\n"), use) {
			t.Errorf("plan does not use %s", use)
		}
	})
}

// TestQueryPlanUnfiltered checks that a page of an unfiltered list, what
// importers walk with startIndex and count, reads the directory in creation
// order from an index instead of sorting every resource for each page.
func TestQueryPlanUnfiltered(t *testing.T) {
	db := MustOpenDB(t)
	lq := sqltest.Unfiltered(t, dialect, db.reg, roster.NewID())
	plan := explain(t, db, lq.Page, lq.PageArgs)
	t.Logf("%s\n\t%s", lq.Page, strings.Join(plan, "\n\t"))
	// Each user's groups are sorted (USE TEMP B-TREE FOR
	// json_group_array(ORDER BY)), a few rows each; the page is not.
	if got := strings.Join(plan, "\n"); !strings.Contains(got, "INDEX resources_type") || strings.Contains(got, "TEMP B-TREE FOR ORDER BY") {
		t.Errorf("the page is not read in index order")
	}
}
