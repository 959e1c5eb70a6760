package postgres

import (
	"context"
	"strings"
	"testing"

	"github.com/roster-scim/roster/internal/sqlstore/sqltest"
	"github.com/roster-scim/roster/scim"
)

// explain returns PostgreSQL's query plan for a statement, one line each.
func explain(tb testing.TB, db *DB, query string, args []any) []string {
	tb.Helper()
	rows, err := db.pool.Query(context.Background(), "EXPLAIN "+query, args...)
	if err != nil {
		tb.Fatalf("explain %s: %v", query, err)
	}
	defer rows.Close()
	var lines []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			tb.Fatal(err)
		}
		lines = append(lines, line)
	}
	if err := rows.Err(); err != nil {
		tb.Fatal(err)
	}
	return lines
}

// seedPlans fills two directories with users, their emails and a group of
// all of them, and gathers statistics, so that the planner weighs a real
// directory: on tiny tables a sequential scan is the cheapest plan and
// would say nothing about indexes.
func seedPlans(tb testing.TB, db *DB, dirs ...string) {
	tb.Helper()
	ctx := context.Background()
	for _, dir := range dirs {
		for _, stmt := range []string{
			`INSERT INTO resources (dir_id, type, id, name_ci, display_ci, label, external_id, created, modified, version, doc)
			 SELECT $1, 'User', $1 || '-u' || i, 'user' || i, 'display ' || i, 'User ' || i, 'ext' || i, i, i, 1,
			        jsonb_build_object('userName', 'user' || i, 'active', i % 2 = 0, 'emails', jsonb_build_array(jsonb_build_object('value', 'user' || i || '@x.example', 'type', 'work')))
			 FROM generate_series(1, 5000) i`,
			`INSERT INTO emails (rid, dir_id, value_ci, type_ci, is_primary)
			 SELECT rid, dir_id, name_ci || '@x.example', 'work', TRUE FROM resources WHERE dir_id = $1 AND type = 'User'`,
			`INSERT INTO resources (dir_id, type, id, name_ci, label, created, modified, version, doc)
			 SELECT $1, 'Group', $1 || '-g' || i, 'group' || i, 'Group ' || i, i, i, 1, jsonb_build_object('displayName', 'Group ' || i)
			 FROM generate_series(1, 50) i`,
			`INSERT INTO memberships (group_rid, member_rid)
			 SELECT g.rid, u.rid FROM resources g, resources u
			 WHERE g.dir_id = $1 AND g.type = 'Group' AND u.dir_id = $1 AND u.type = 'User' AND u.rid % 50 = g.rid % 50`,
		} {
			if _, err := db.pool.Exec(ctx, stmt, dir); err != nil {
				tb.Fatalf("seed: %v", err)
			}
		}
	}
	if _, err := db.pool.Exec(ctx, `ANALYZE`); err != nil {
		tb.Fatal(err)
	}
}

// TestQueryPlans checks that the filters identity providers send on every
// provisioning cycle are index lookups: their cost must not grow with the
// directory. It explains the exact statements List runs (listSQL).
func TestQueryPlans(t *testing.T) {
	db := MustOpen(t)
	dir := mustAddTenant(t, db, "plans").Dir.ID
	other := mustAddTenant(t, db, "other").Dir.ID
	seedPlans(t, db, dir, other)
	sqltest.Plans(t, dialect, db.reg, dir, []sqltest.Plan{
		{scim.UserType, `userName eq "x"`, "resources_name"},
		{scim.UserType, `externalId eq "x"`, "resources_external"},
		{scim.GroupType, `displayName eq "x"`, "resources_name"},
		{scim.UserType, `displayName eq "x"`, "resources_display"},
		{scim.UserType, `userName sw "user12"`, "resources_name"},
		{scim.UserType, `emails[type eq "work"].value eq "x"`, "emails_value"},
		{scim.UserType, `emails.value eq "x" and active eq true`, "emails_value"},
		{scim.GroupType, `id eq "g" and members eq "u"`, "resources_id"},
		// Alone, the probe may also be driven from the member's side.
		{scim.GroupType, `members eq "u"`, "memberships_"},
		{scim.UserType, `meta.lastModified gt "2100-01-01T00:00:00Z"`, "resources_modified"},
	}, func(t *testing.T, query string, args []any, use string) {
		plan := explain(t, db, query, args)
		t.Logf("%s\n\t%s", query, strings.Join(plan, "\n\t"))
		all := strings.Join(plan, "\n")
		if strings.Contains(all, "Seq Scan") {
			t.Errorf("plan scans a whole table")
		}
		if !strings.Contains(all, use) {
			t.Errorf("plan does not use %s", use)
		}
	})
}

// TestQueryPlanUnfiltered checks that a page of an unfiltered list, what
// importers walk with startIndex and count, reads the directory in creation
// order from an index instead of sorting every resource for each page.
// With two directories of equal size PostgreSQL may walk the primary key
// and filter the directory; with many directories it picks resources_type.
// Either way the page needs no sort.
func TestQueryPlanUnfiltered(t *testing.T) {
	db := MustOpen(t)
	dir := mustAddTenant(t, db, "plans").Dir.ID
	seedPlans(t, db, dir, mustAddTenant(t, db, "other").Dir.ID)
	lq := sqltest.Unfiltered(t, dialect, db.reg, dir)
	plan := explain(t, db, lq.Page, lq.PageArgs)
	t.Logf("%s\n\t%s", lq.Page, strings.Join(plan, "\n\t"))
	if got := strings.Join(plan, "\n"); strings.Contains(got, "Seq Scan") || strings.Contains(got, "Sort") {
		t.Errorf("the page is not read in index order")
	}
}
