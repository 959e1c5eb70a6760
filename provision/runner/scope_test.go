package runner_test

import (
	"context"
	"strings"
	"testing"

	"github.com/roster-scim/roster/provision"
)

// groupNames returns the target's groups' displayNames.
func (tg *target) groupNames(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, g := range tg.get(t, "/Groups?count=1000")["Resources"].([]any) {
		out = append(out, g.(map[string]any)["displayName"].(string))
	}
	return out
}

const salesPeople = `1,ada@example.com,Ada,Lovelace,Countess,ada@example.com,Math,,true,Sales;Everyone
2,alan@example.com,Alan,Turing,Fellow,alan@example.com,Math,1,true,Sales;Everyone
3,charles@example.com,Charles,Babbage,Inventor,charles@example.com,Engines,,true,Everyone
4,grace@example.com,Grace,Hopper,Admiral,grace@example.com,Navy,3,true,Sales
`

// TestAssignedScope: a job that syncs only the users and groups assigned
// to it (Entra's "Sync only assigned users and groups") provisions the
// Sales group and its members and nothing else; a user unassigned (out of
// Sales) is disabled in the target and leaves the group; assigned again,
// enabled again.
func TestAssignedScope(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixtureWith(t, salesPeople, `, "scope": {"assigned": true, "groups": ["Sales"]}`)
	s := f.run(ctx)
	if s.Counts.Created != 4 || s.Counts.Failed != 0 {
		t.Errorf("initial cycle: %+v", s.Counts)
	}
	users := f.tg.users(t)
	if strings.Join(keys(users), ",") != "ada@example.com,alan@example.com,grace@example.com" {
		t.Errorf("target users: %v, want Sales' members only", keys(users))
	}
	if g := f.tg.groupNames(t); strings.Join(g, ",") != "Sales" {
		t.Errorf("target groups: %v, want Sales only", g)
	}
	if got := f.tg.members(t, "Sales"); strings.Join(got, ",") != "ada@example.com,alan@example.com,grace@example.com" {
		t.Errorf("Sales: %v", got)
	}
	// Grace's manager, Charles, is not assigned: no manager to point at.
	if ent, _ := users["grace@example.com"][provision.EnterpriseURN].(map[string]any); ent["manager"] != nil {
		t.Errorf("grace's manager is %v, though charles is not provisioned", ent["manager"])
	}
	if ent, _ := users["alan@example.com"][provision.EnterpriseURN].(map[string]any); ent == nil || ent["manager"].(map[string]any)["value"] != users["ada@example.com"]["id"] {
		t.Errorf("alan's manager: %v", ent)
	}

	// Alan leaves Sales: unassigned, disabled, out of the group.
	unassigned := strings.Replace(salesPeople, "Math,1,true,Sales;Everyone", "Math,1,true,Everyone", 1)
	f.write(unassigned)
	f.tg.writes()
	s = f.run(ctx)
	if s.Counts.Disabled != 1 || s.Counts.Deleted != 0 || s.Counts.Failed != 0 {
		t.Errorf("unassignment cycle: %+v", s.Counts)
	}
	users = f.tg.users(t)
	if alan := users["alan@example.com"]; alan == nil || alan["active"] != false {
		t.Errorf("alan after leaving Sales: %v, want kept and disabled", alan)
	}
	if len(users) != 3 {
		t.Errorf("target users: %v", keys(users))
	}
	if got := f.tg.members(t, "Sales"); strings.Join(got, ",") != "ada@example.com,grace@example.com" {
		t.Errorf("Sales after alan left: %v", got)
	}
	f.tg.writes()
	if s = f.run(ctx); s.Counts != (provision.Counts{}) {
		t.Errorf("no-change cycle: %+v", s.Counts)
	}
	if w := f.tg.writes(); len(w) != 0 {
		t.Errorf("no-change cycle wrote %v", w)
	}

	// Assigned again: enabled again and back in Sales.
	f.write(salesPeople)
	s = f.run(ctx)
	if s.Counts.Failed != 0 {
		t.Errorf("reassignment cycle: %+v", s.Counts)
	}
	if alan := f.tg.users(t)["alan@example.com"]; alan["active"] != true {
		t.Errorf("alan after rejoining Sales: %v", alan)
	}
	if got := f.tg.members(t, "Sales"); strings.Join(got, ",") != "ada@example.com,alan@example.com,grace@example.com" {
		t.Errorf("Sales after alan rejoined: %v", got)
	}
}

// TestOnDeleteDisable: with on_delete "disable", a user deleted in the
// source is disabled in the target, not deleted, and later cycles leave
// it alone; back in the source, it is enabled again.
func TestOnDeleteDisable(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixtureWith(t, people, `, "on_delete": "disable"`)
	if s := f.run(ctx); s.Counts.Created != 6 || s.Counts.Failed != 0 {
		t.Fatalf("initial cycle: %+v", s.Counts)
	}
	gone := strings.Replace(people, "4,grace@example.com,Grace,Hopper,Admiral,grace@example.com,Navy,3,true,Everyone\n", "", 1)
	f.write(gone)
	f.tg.writes()
	s := f.run(ctx)
	if s.Counts.Disabled != 1 || s.Counts.Deleted != 0 || s.Counts.Failed != 0 {
		t.Errorf("deletion cycle: %+v", s.Counts)
	}
	for _, w := range f.tg.writes() {
		if w.method == "DELETE" {
			t.Errorf("on_delete disable sent %s %s", w.method, w.path)
		}
	}
	users := f.tg.users(t)
	if grace := users["grace@example.com"]; grace == nil || grace["active"] != false {
		t.Errorf("grace after her deletion in the source: %v, want kept and disabled", grace)
	}
	if len(users) != 4 {
		t.Errorf("target users: %v", keys(users))
	}
	if got := f.tg.members(t, "Everyone"); strings.Join(got, ",") != "ada@example.com,alan@example.com,charles@example.com" {
		t.Errorf("Everyone after grace's deletion: %v", got)
	}
	if s = f.run(ctx); s.Counts != (provision.Counts{}) {
		t.Errorf("no-change cycle: %+v", s.Counts)
	}
	if w := f.tg.writes(); len(w) != 0 {
		t.Errorf("no-change cycle wrote %v", w)
	}

	// Back in the source: enabled again.
	f.write(people)
	if s = f.run(ctx); s.Counts.Failed != 0 {
		t.Errorf("return cycle: %+v", s.Counts)
	}
	if grace := f.tg.users(t)["grace@example.com"]; grace["active"] != true {
		t.Errorf("grace back in the source: %v", grace)
	}
	if got := f.tg.members(t, "Everyone"); len(got) != 4 {
		t.Errorf("Everyone after grace's return: %v", got)
	}
}
