package runner_test

import (
	"context"
	"strings"
	"testing"

	"github.com/roster-scim/roster/expr/scope"
)

// TestGroupLeavesScope: a group a scoping filter drops stays in the target
// as it is, and its members are no longer managed.
func TestGroupLeavesScope(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, people)
	f.run(ctx)
	j := *f.job
	set, err := scope.Parse([]byte(`{"filters": [{"clauses": [{"attribute": "displayName", "operator": "NOT EQUALS", "value": "Analysts"}]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	j.Scope.GroupFilters = set
	if _, err := f.r.Save(ctx, f.org, &j, true); err != nil {
		t.Fatal(err)
	}
	f.run(ctx)
	f.tg.writes()
	// Alan leaves Analysts in the source: the group is out of scope, so
	// nothing is sent to it.
	f.write(strings.Replace(people, "alan@example.com,Math,3,true,Analysts;Everyone", "alan@example.com,Math,3,true,Everyone", 1))
	f.run(ctx)
	for _, w := range f.tg.writes() {
		t.Errorf("a write for an out-of-scope group: %s %s %s", w.method, w.path, w.body)
	}
	if got := f.tg.members(t, "Analysts"); strings.Join(got, ",") != "ada@example.com,alan@example.com" {
		t.Errorf("Analysts changed: %v", got)
	}
}
