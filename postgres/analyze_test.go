package postgres

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/roster-scim/roster/scim"
)

// TestAnalyzeAsDirectoryGrows: a new database has no planner statistics
// until autovacuum gets to it, and without them PostgreSQL may answer a
// userName match by walking the whole directory. After the first 1,000
// creates the store gathers them itself, and the match uses its index.
func TestAnalyzeAsDirectoryGrows(t *testing.T) {
	ctx := context.Background()
	db := MustOpen(t)
	ten := mustAddTenant(t, db, "growing")
	for i := range 1000 {
		attrs := map[string]any{"userName": fmt.Sprintf("user%04d@example.com", i), "externalId": fmt.Sprintf("ext%04d", i)}
		if _, err := db.Create(ctx, ten.Dir.ID, &scim.Resource{Type: scim.UserType, Attrs: attrs}, nil); err != nil {
			t.Fatal(err)
		}
	}
	var analyzed bool
	for range 300 {
		err := db.pool.QueryRow(ctx, `SELECT last_analyze IS NOT NULL FROM pg_stat_user_tables WHERE schemaname = current_schema() AND relname = 'resources'`).Scan(&analyzed)
		if err != nil {
			t.Fatal(err)
		}
		if analyzed {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !analyzed {
		t.Fatal("resources was not analyzed after 1,000 creates")
	}
	rt := db.reg.ResourceType(scim.UserType)
	e, _ := scim.ParseFilter(`userName eq "user0500@example.com"`)
	f, err := rt.ResolveFilter(e)
	if err != nil {
		t.Fatal(err)
	}
	lq, err := dialect.ListSQL(rt, ten.Dir.ID, scim.ListQuery{Filter: f, Count: 100, StartIndex: 1})
	if err != nil {
		t.Fatal(err)
	}
	plan := strings.Join(explain(t, db, lq.Page, lq.PageArgs), "\n")
	if !strings.Contains(plan, "resources_name") {
		t.Errorf("the userName match does not use resources_name once analyzed:\n%s", plan)
	}
}
