package postgres

import (
	"context"
	"strings"
	"testing"

	"github.com/roster-scim/roster/internal/sqlstore"
	"github.com/roster-scim/roster/provision"
)

// seedProvisionPlans fills jobs with n links, members and log entries
// each, and gathers statistics, so that the planner weighs real tables (on
// tiny ones a sequential scan is cheapest and says nothing about indexes).
func seedProvisionPlans(tb testing.TB, db *DB, org string, jobs map[string]int) {
	tb.Helper()
	ctx := context.Background()
	for job, n := range jobs {
		for _, stmt := range []string{
			`INSERT INTO provision_jobs (id, org_id, name, definition, enabled, created, updated) VALUES ($1, $2, $1, '{}', TRUE, 0, 0)`,
			`INSERT INTO provision_links (job_id, kind, source_id, target_id, source_hash, exported, state, failures, error, cycle)
			 SELECT $1, CASE WHEN i % 10 = 0 THEN 'Group' ELSE 'User' END, 's' || i, 't' || i, 'h', '\x7b7d'::bytea, 'active', 0, '', 'c' || (i % 3)
			 FROM generate_series(1, $2) i`,
			`INSERT INTO provision_members (job_id, group_source_id, member_source_id)
			 SELECT $1, 's' || (i % 50), 's' || i FROM generate_series(1, $2) i`,
			`INSERT INTO provision_log (job_id, cycle, time, kind, source_id, target_id, action, status, steps, error)
			 SELECT $1, 'c' || (i / 1000), i, 'User', 's' || (i % 5000), 't' || (i % 5000), 'Update',
			        CASE WHEN i % 50 = 0 THEN 'Failure' ELSE 'Success' END, '[]', ''
			 FROM generate_series(1, $2) i`,
		} {
			args := []any{job, n}
			if strings.Contains(stmt, "provision_jobs") {
				args[1] = org
			}
			if _, err := db.pool.Exec(ctx, stmt, args...); err != nil {
				tb.Fatalf("seed: %v", err)
			}
		}
	}
	if _, err := db.pool.Exec(ctx, `ANALYZE`); err != nil {
		tb.Fatal(err)
	}
}

// TestProvisionQueryPlans checks that the provisioning engine's reads are
// index scans: a link by source or target id, a page of unseen links or of
// members, and every filter of the provisioning log.
func TestProvisionQueryPlans(t *testing.T) {
	db := MustOpen(t)
	org := mustAddTenant(t, db, "plans").Org.ID
	// j1 is a large job, j2 a small one among the large: walking every
	// entry newest first and skipping other jobs' would cost it dearly.
	seedProvisionPlans(t, db, org, map[string]int{"j1": 20000, "j2": 200, "j3": 20000})
	type plan struct {
		name  string
		query string
		args  []any
		use   string
	}
	plans := []plan{
		{"Links", sqlstore.LinksSQL + "(?, ?)", []any{"j1", "User", "s1", "s2"}, "provision_links_pkey"},
		{"LinkByTarget", sqlstore.LinkByTargetSQL, []any{"j1", "User", "t7"}, "provision_links_target"},
		{"UnseenLinks", sqlstore.UnseenLinksSQL, []any{"j1", "User", "s5", "c1", 1000}, "provision_links_pkey"},
		{"ExportedMembers", sqlstore.ExportedMembersSQL, []any{"j1", "s7", "", 1000}, "provision_members_pkey"},
	}
	for _, c := range []struct {
		name string
		q    provision.LogQuery
		use  string
	}{
		{"QueryLog", provision.LogQuery{JobID: "j2"}, "provision_log_job"},
		{"QueryLogBefore", provision.LogQuery{JobID: "j2", Before: 30000}, "provision_log_job"},
		{"QueryLogCycle", provision.LogQuery{Cycle: "c3"}, "provision_log_cycle"},
		{"QueryLogFailed", provision.LogQuery{Failed: true, Before: 10000}, "provision_log_failed"},
		{"QueryLogSource", provision.LogQuery{SourceID: "s17"}, "provision_log_source"},
		{"QueryLogTarget", provision.LogQuery{SourceID: "t17"}, "provision_log_target"},
	} {
		if c.q.JobID == "" {
			c.q.JobID = "j1"
		}
		query, args, err := dialect.LogSQL(c.q)
		if err != nil {
			t.Fatal(err)
		}
		plans = append(plans, plan{c.name, query, args, c.use})
	}
	for _, p := range plans {
		t.Run(p.name, func(t *testing.T) {
			query := dialect.Rebind(p.query)
			lines := explain(t, db, query, p.args)
			t.Logf("%s\n\t%s", query, strings.Join(lines, "\n\t"))
			all := strings.Join(lines, "\n")
			if strings.Contains(all, "Seq Scan") {
				t.Errorf("plan scans a whole table")
			}
			if !strings.Contains(all, p.use) {
				t.Errorf("plan does not use %s", p.use)
			}
		})
	}
}
