package storetest

import (
	"slices"
	"strconv"
	"strings"

	"github.com/roster-scim/roster"
	"github.com/roster-scim/roster/scim"
)

// users creates users named by names and returns their ids in order.
func (f *fixture) users(dir string, names ...string) []string {
	f.t.Helper()
	var out []string
	for _, n := range names {
		out = append(out, f.user(dir, n).ID)
	}
	return out
}

// wantMembers checks a group's members as stored (read back with Get) and
// as returned by the write that produced r.
func (f *fixture) wantMembers(what, dir string, r *scim.Resource, want ...string) {
	f.t.Helper()
	want = sorted(want...)
	if got := memberIDs(r.Members); !slices.Equal(got, want) {
		f.t.Errorf("%s: returned members %v, want %v", what, got, want)
	}
	if got := memberIDs(f.get(dir, scim.GroupType, r.ID).Members); !slices.Equal(got, want) {
		f.t.Errorf("%s: stored members %v, want %v", what, got, want)
	}
}

func testMembers(f *fixture) {
	t, dir := f.t, f.A.Dir.ID
	u := f.users(dir, "u0", "u1", "u2", "u3", "u4")
	g := f.group(dir, "g", u[0], u[1], u[2])
	f.wantMembers("create", dir, g, u[0], u[1], u[2])

	steps := []struct {
		what string
		ops  []scim.MemberOp
		want []string
		// noop is set when no membership row changes: the group then
		// keeps its version (see testNoopUpdate).
		noop bool
	}{
		{"add two", []scim.MemberOp{addMembers(u[3], u[4])}, u, false},
		{"re-add members", []scim.MemberOp{addMembers(u[0], u[4], u[4])}, u, true},
		{"remove one", []scim.MemberOp{removeMembers(u[1])}, []string{u[0], u[2], u[3], u[4]}, false},
		{"remove a non-member", []scim.MemberOp{removeMembers(u[1], roster.NewID())}, []string{u[0], u[2], u[3], u[4]}, true},
		{"clear", []scim.MemberOp{clearMembers()}, nil, false},
		{"clear an empty group", []scim.MemberOp{clearMembers()}, nil, true},
		{"replace (clear, add)", []scim.MemberOp{clearMembers(), addMembers(u[1], u[2])}, []string{u[1], u[2]}, false},
		{"add and remove in one update", []scim.MemberOp{addMembers(u[0]), removeMembers(u[2])}, []string{u[0], u[1]}, false},
	}
	prev := g
	for _, s := range steps {
		r := f.mustChangeMembers(dir, g.ID, s.ops...)
		f.wantMembers(s.what, dir, r, s.want...)
		want := prev.Version + 1
		if s.noop {
			want = prev.Version
			f.wantUnchanged(s.what, dir, prev)
		}
		if r.Version != want {
			t.Errorf("%s: version %d, want %d", s.what, r.Version, want)
		}
		prev = r
	}
	for i, id := range u {
		groups := f.get(dir, scim.UserType, id).Groups
		if member := i == 0 || i == 1; member != (len(groups) == 1 && groups[0].Value == g.ID) {
			t.Errorf("user u%d: groups %v (member: %v)", i, groups, member)
		}
	}
}

// testMemberVersions checks that a user whose group membership changes
// gets a new version and lastModified, since its groups attribute changed:
// a client holding its ETag must not overwrite it unawares, and an IdP
// polling `meta.lastModified gt` must see it. Users whose membership does
// not change, and groups added as members, keep theirs.
func testMemberVersions(f *fixture) {
	t, dir := f.t, f.A.Dir.ID
	u := f.users(dir, "u0", "u1", "u2", "u3")
	child := f.group(dir, "child")
	before := map[string]*scim.Resource{}
	snapshot := func() {
		for _, id := range u {
			before[id] = f.get(dir, scim.UserType, id)
		}
		before[child.ID] = f.get(dir, scim.GroupType, child.ID)
	}
	// check runs one step and checks which of u (by index) got a new
	// version; child never does.
	check := func(what string, step func(), changed ...int) {
		t.Helper()
		snapshot()
		step()
		for i, id := range u {
			b := before[id]
			if !slices.Contains(changed, i) {
				f.wantUnchanged(what+": u"+strconv.Itoa(i), dir, b)
				continue
			}
			a := f.get(dir, scim.UserType, id)
			if a.Version <= b.Version || !a.LastModified.After(b.LastModified) {
				t.Errorf("%s: u%d has version %d and lastModified %v, was %d and %v; want both to increase", what, i,
					a.Version, a.LastModified, b.Version, b.LastModified)
			}
		}
		f.wantUnchanged(what+": a member group", dir, before[child.ID])
	}

	var g *scim.Resource
	check("create a group with members", func() { g = f.group(dir, "g", u[0], u[1], child.ID) }, 0, 1)
	check("add a member", func() { f.mustChangeMembers(dir, g.ID, addMembers(u[2])) }, 2)
	check("re-add members", func() { f.mustChangeMembers(dir, g.ID, addMembers(u[0], u[2], child.ID)) })
	check("remove a member", func() { f.mustChangeMembers(dir, g.ID, removeMembers(u[1])) }, 1)
	check("remove a non-member", func() { f.mustChangeMembers(dir, g.ID, removeMembers(u[1], u[3])) })
	check("replace the members", func() { f.mustChangeMembers(dir, g.ID, clearMembers(), addMembers(u[0], u[3])) }, 0, 2, 3)
	check("clear", func() { f.mustChangeMembers(dir, g.ID, clearMembers()) }, 0, 3)
	check("PATCH add members", func() {
		f.mustPatch(dir, scim.GroupType, g.ID, scim.PatchOp{Op: "add", Path: "members", Value: []any{
			map[string]any{"value": u[1]}, map[string]any{"value": u[2]}, map[string]any{"value": child.ID}}})
	}, 1, 2)
	check("PATCH remove members[value eq]", func() {
		f.mustPatch(dir, scim.GroupType, g.ID, scim.PatchOp{Op: "remove", Path: `members[value eq "` + u[1] + `"]`})
	}, 1)
	check("rename the group", func() { f.mustPatch(dir, scim.GroupType, g.ID, replace("displayName", "g2")) })
	check("delete the group", func() {
		if err := f.Store.Delete(f.ctx, dir, scim.GroupType, g.ID, 0); err != nil {
			t.Fatal(err)
		}
	}, 2)
	if groups := f.get(dir, scim.UserType, u[2]).Groups; len(groups) != 0 {
		t.Errorf("u2 is still in %v after its group was deleted", groups)
	}
}

// testUnknownMember checks that an unknown member id rejects the whole
// update, naming the id: Entra retries the change later, so applying half
// of it would leave the group different from what both sides believe.
func testUnknownMember(f *fixture) {
	t, dir := f.t, f.A.Dir.ID
	u := f.users(dir, "u0", "u1")
	g := f.group(dir, "g", u[0])
	ghost := roster.NewID()
	_, err := f.Store.Update(f.ctx, dir, scim.GroupType, g.ID, 0, true, func(cur *scim.Resource) (map[string]any, []scim.MemberOp, error) {
		attrs, _, err := scim.ApplyPatch(f.rt(scim.GroupType), cur.Attrs, []scim.PatchOp{replace("displayName", "renamed")})
		return attrs, []scim.MemberOp{clearMembers(), addMembers(u[1], ghost)}, err
	})
	wantError(t, "add an unknown member", err, roster.EINVALID, roster.ScimInvalidValue)
	if !strings.Contains(roster.ErrorMessage(err), ghost) {
		t.Errorf("the error %q does not name the unknown id %s", roster.ErrorMessage(err), ghost)
	}
	f.wantUnchanged("update with an unknown member", dir, g)

	_, err = f.tryCreate(dir, scim.GroupType, groupDoc("bad", u[0], ghost))
	wantError(t, "create with an unknown member", err, roster.EINVALID, roster.ScimInvalidValue)
	if got := f.find(dir, scim.GroupType, `displayName eq "bad"`); len(got) != 0 {
		t.Errorf("a failed create left group %v", got)
	}
	f.group(dir, "bad", u[0])
}

func testNestedGroups(f *fixture) {
	t, dir := f.t, f.A.Dir.ID
	u := f.user(dir, "alice")
	child := f.group(dir, "child", u.ID)
	parent := f.group(dir, "parent", child.ID, u.ID)
	for _, m := range f.get(dir, scim.GroupType, parent.ID).Members {
		if m.Value == child.ID && (m.Type != scim.GroupType || m.Display != "child") {
			t.Errorf("nested member %+v, want type Group, display child", m)
		}
	}
	_, err := f.changeMembers(dir, child.ID, addMembers(child.ID))
	wantError(t, "a group containing itself", err, roster.EINVALID, roster.ScimInvalidValue)
	f.wantUnchanged("a group containing itself", dir, child)
	if got := f.find(dir, scim.GroupType, `members eq "`+child.ID+`"`); !slices.Equal(got, []string{parent.ID}) {
		t.Errorf("groups containing child = %v, want [parent]", got)
	}
}

// testDeleteRemovesMemberships checks that a deleted resource leaves every
// group it was in, and that those groups get a new version and
// lastModified: an IdP polling `meta.lastModified gt` must see the change.
func testDeleteRemovesMemberships(f *fixture) {
	t, dir := f.t, f.A.Dir.ID
	u := f.users(dir, "u0", "u1")
	g1 := f.group(dir, "g1", u[0], u[1])
	g2 := f.group(dir, "g2", u[0])
	g3 := f.group(dir, "g3", u[1])
	parent := f.group(dir, "parent", g1.ID, u[1])

	if err := f.Store.Delete(f.ctx, dir, scim.UserType, u[0], 0); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		before *scim.Resource
		want   []string
	}{{g1, []string{u[1]}}, {g2, nil}} {
		after := f.get(dir, scim.GroupType, c.before.ID)
		if got := memberIDs(after.Members); !slices.Equal(got, sorted(c.want...)) {
			t.Errorf("%s after deleting u0: members %v, want %v", c.before.String("displayName"), got, c.want)
		}
		if after.Version != c.before.Version+1 || !after.LastModified.After(c.before.LastModified) {
			t.Errorf("%s lost a member but has version %d and lastModified %v (was %d, %v)", c.before.String("displayName"),
				after.Version, after.LastModified, c.before.Version, c.before.LastModified)
		}
	}
	f.wantUnchanged("a group the deleted user was not in", dir, g3)
	if got := f.find(dir, scim.GroupType, `members eq "`+u[0]+`"`); len(got) != 0 {
		t.Errorf("groups still containing the deleted user: %v", got)
	}

	if err := f.Store.Delete(f.ctx, dir, scim.GroupType, g1.ID, 0); err != nil {
		t.Fatal(err)
	}
	after := f.get(dir, scim.GroupType, parent.ID)
	if got := memberIDs(after.Members); !slices.Equal(got, []string{u[1]}) || after.Version != parent.Version+1 {
		t.Errorf("parent after deleting its member group: members %v version %d, want [u1] and version %d", got, after.Version, parent.Version+1)
	}
	if groups := f.get(dir, scim.UserType, u[1]).Groups; len(groups) != 2 {
		t.Errorf("u1 is in %v, want g3 and parent", groups)
	}
}
