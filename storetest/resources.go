package storetest

import (
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/roster-scim/roster"
	"github.com/roster-scim/roster/scim"
)

// aliceDoc is a user with core, multi-valued and enterprise attributes, so
// that a round trip exercises every kind of value the document holds.
const aliceDoc = `{
	"userName": "Alice",
	"externalId": "ext-Alice",
	"name": {"givenName": "Alice", "familyName": "Smith"},
	"displayName": "Alice Smith",
	"title": "Engineer",
	"active": true,
	"emails": [
		{"value": "alice@x.example", "type": "work", "primary": true},
		{"value": "alice@home.example", "type": "home"}
	],
	"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
		"employeeNumber": "1001",
		"department": "R&D"
	}
}`

func testCreateGet(f *fixture) {
	t, dir := f.t, f.A.Dir.ID
	u := f.create(dir, scim.UserType, aliceDoc)
	if u.ID == "" || u.Type != scim.UserType || u.Version != 1 {
		t.Fatalf("Create returned id %q type %q version %d, want a new id, User and version 1", u.ID, u.Type, u.Version)
	}
	if u.Created.IsZero() || !u.LastModified.Equal(u.Created) {
		t.Errorf("Create: created %v, lastModified %v; want both set and equal", u.Created, u.LastModified)
	}
	got := f.get(dir, scim.UserType, u.ID)
	if got.ID != u.ID || got.Version != 1 || !got.Created.Equal(u.Created) || !got.LastModified.Equal(u.LastModified) {
		t.Errorf("Get = id %q version %d created %v modified %v; Create gave %q %d %v %v",
			got.ID, got.Version, got.Created, got.LastModified, u.ID, u.Version, u.Created, u.LastModified)
	}
	want, _ := f.doc(scim.UserType, aliceDoc)
	if !equalJSON(got.Attrs, want) {
		t.Errorf("Get attributes\n got %s\nwant %s", jsonDoc(got.Attrs), jsonDoc(want))
	}
	if len(got.Groups) != 0 {
		t.Errorf("a new user is in groups %v", got.Groups)
	}

	other := f.user(dir, "bob")
	g := f.group(dir, "eng", u.ID, other.ID)
	if g.ID == u.ID || g.ID == other.ID || u.ID == other.ID {
		t.Fatalf("ids are not unique: %s %s %s", u.ID, other.ID, g.ID)
	}
	if g.Version != 1 || len(g.Members) != 2 {
		t.Errorf("Create group: version %d, members %v; want 1 and two members", g.Version, g.Members)
	}
	for _, m := range f.get(dir, scim.GroupType, g.ID).Members {
		// A member's display is the user's displayName, else its userName.
		if want := map[string]string{u.ID: "Alice Smith", other.ID: "bob"}[m.Value]; m.Type != scim.UserType || m.Display != want {
			t.Errorf("member %+v, want type User and display %q", m, want)
		}
	}
	noMembers, err := f.Store.Get(f.ctx, dir, scim.GroupType, g.ID, false)
	if err != nil {
		t.Fatal(err)
	}
	if noMembers.Members != nil {
		t.Errorf("Get(withMembers=false).Members = %v, want nil", noMembers.Members)
	}
	groups := f.get(dir, scim.UserType, u.ID).Groups
	if len(groups) != 1 || groups[0].Value != g.ID || groups[0].Type != scim.GroupType || groups[0].Display != "eng" {
		t.Errorf("user's groups = %+v, want [{%s Group eng}]", groups, g.ID)
	}
}

func testUpdate(f *fixture) {
	t, dir := f.t, f.A.Dir.ID
	u := f.create(dir, scim.UserType, aliceDoc)
	prev := u
	for i, ops := range [][]scim.PatchOp{
		{replace("displayName", "Alice S."), replace("title", "Lead")},
		{replace("userName", "alice.smith")},
		{replace("emails", []any{map[string]any{"value": "a.smith@y.example", "type": "work"}})},
	} {
		r := f.mustPatch(dir, scim.UserType, u.ID, ops...)
		if r.Version != prev.Version+1 {
			t.Errorf("update %d: version %d, want %d", i, r.Version, prev.Version+1)
		}
		if !r.LastModified.After(prev.LastModified) {
			t.Errorf("update %d: lastModified %v is not after %v", i, r.LastModified, prev.LastModified)
		}
		if !r.Created.Equal(u.Created) {
			t.Errorf("update %d: created changed from %v to %v", i, u.Created, r.Created)
		}
		got := f.get(dir, scim.UserType, u.ID)
		if got.Version != r.Version || !got.LastModified.Equal(r.LastModified) || !equalJSON(got.Attrs, r.Attrs) {
			t.Errorf("update %d: Get = v%d %v %s, Update returned v%d %v %s", i,
				got.Version, got.LastModified, jsonDoc(got.Attrs), r.Version, r.LastModified, jsonDoc(r.Attrs))
		}
		prev = r
	}
	// An UpdateFunc may also change the current document in place.
	if _, err := f.Store.Update(f.ctx, dir, scim.UserType, u.ID, 0, true, func(cur *scim.Resource) (map[string]any, []scim.MemberOp, error) {
		cur.Attrs["emails"] = []any{map[string]any{"value": "in.place@y.example", "type": "work"}}
		return cur.Attrs, nil, nil
	}); err != nil {
		t.Fatal(err)
	}
	if got := f.get(dir, scim.UserType, u.ID); got.String("title") != "Lead" || got.String("userName") != "alice.smith" {
		t.Errorf("after updates: %s", jsonDoc(got.Attrs))
	}
	// The columns and tables that filters use follow the document.
	for filter, want := range map[string]int{
		`userName eq "alice.smith"`:            1,
		`userName eq "Alice"`:                  0,
		`emails.value eq "in.place@y.example"`: 1,
		`emails.value eq "a.smith@y.example"`:  0,
		`emails.value eq "alice@x.example"`:    0,
		`title eq "Lead"`:                      1,
	} {
		if got := f.find(dir, scim.UserType, filter); len(got) != want {
			t.Errorf("after updates, %s matched %d users, want %d", filter, len(got), want)
		}
	}

	g := f.group(dir, "eng")
	g2, err := f.Store.Update(f.ctx, dir, scim.GroupType, g.ID, 0, false, func(cur *scim.Resource) (map[string]any, []scim.MemberOp, error) {
		return scim.ApplyPatch(f.rt(scim.GroupType), cur.Attrs, []scim.PatchOp{replace("displayName", "engineering")})
	})
	if err != nil {
		t.Fatal(err)
	}
	if g2.Members != nil || g2.Version != 2 || g2.String("displayName") != "engineering" {
		t.Errorf("group Update(withMembers=false) = v%d %s members %v; want v2, renamed, Members nil", g2.Version, jsonDoc(g2.Attrs), g2.Members)
	}
}

// testLastModifiedMonotonic checks that lastModified strictly increases on
// every update even when the clock stalls or steps back (NTP corrections,
// a coarse clock): incremental readers use `meta.lastModified gt` and would
// otherwise miss a change.
func testLastModifiedMonotonic(f *fixture) {
	t, dir := f.t, f.A.Dir.ID
	c := f.clock(day(time.March, 1))
	prev := f.user(dir, "alice")
	g := f.group(dir, "eng", prev.ID)
	for i, now := range []time.Time{day(time.March, 1), day(time.March, 1), day(time.February, 1)} {
		c.Set(now)
		r := f.mustPatch(dir, scim.UserType, prev.ID, replace("title", strings.Repeat("x", i+1)))
		if !r.LastModified.After(prev.LastModified) {
			t.Errorf("update %d at %v: lastModified %v is not after %v", i, now, r.LastModified, prev.LastModified)
		}
		prev = r
	}
	gr := f.mustChangeMembers(dir, g.ID, clearMembers())
	if !gr.LastModified.After(g.LastModified) {
		t.Errorf("group update with a stalled clock: lastModified %v is not after %v", gr.LastModified, g.LastModified)
	}
}

func testUpdateAborted(f *fixture) {
	t, dir := f.t, f.A.Dir.ID
	u := f.create(dir, scim.UserType, aliceDoc)
	_, err := f.Store.Update(f.ctx, dir, scim.UserType, u.ID, 0, true, func(cur *scim.Resource) (map[string]any, []scim.MemberOp, error) {
		return nil, nil, errAbort
	})
	if !errors.Is(err, errAbort) {
		t.Errorf("Update returned %v, want the UpdateFunc's error", err)
	}
	f.wantUnchanged("refused update", dir, u)

	// A PATCH that fails validation is an application error, passed through.
	_, err = f.patch(dir, scim.UserType, u.ID, 0, scim.PatchOp{Op: "remove", Path: "userName"})
	wantError(t, "PATCH removing userName", err, roster.EINVALID, roster.ScimInvalidValue)
	f.wantUnchanged("invalid PATCH", dir, u)
}

// testNoopUpdate checks that an update that changes nothing writes
// nothing: the version, and so the ETag a client holds, and lastModified,
// which IdPs poll with `meta.lastModified gt`, stay as they are. Entra
// re-sends attributes it has sent before on every cycle.
func testNoopUpdate(f *fixture) {
	t, dir := f.t, f.A.Dir.ID
	u := f.create(dir, scim.UserType, aliceDoc)
	other := f.user(dir, "bob")
	g := f.group(dir, "eng", u.ID)
	u = f.get(dir, scim.UserType, u.ID)
	for _, c := range []struct {
		what string
		r    *scim.Resource
		ops  []scim.PatchOp
	}{
		{"replace active with its value", u, []scim.PatchOp{replace("active", true)}},
		{"replace title with its value", u, []scim.PatchOp{replace("title", "Engineer"), replace("emails[type eq \"work\"].value", "alice@x.example")}},
		{"add an existing member", g, []scim.PatchOp{{Op: "add", Path: "members", Value: []any{map[string]any{"value": u.ID}}}}},
		{"remove a member that does not exist", g, []scim.PatchOp{{Op: "remove", Path: `members[value eq "nonexistent"]`}}},
		{"remove a non-member", g, []scim.PatchOp{{Op: "remove", Path: `members[value eq "` + other.ID + `"]`}}},
		{"replace displayName with its value", g, []scim.PatchOp{replace("displayName", "eng")}},
	} {
		r := f.mustPatch(dir, c.r.Type, c.r.ID, c.ops...)
		if r.Version != c.r.Version || !r.LastModified.Equal(c.r.LastModified) || !r.Created.Equal(c.r.Created) {
			t.Errorf("%s: Update returned version %d, lastModified %v; want %d, %v", c.what, r.Version, r.LastModified, c.r.Version, c.r.LastModified)
		}
		if !equalJSON(r.Attrs, c.r.Attrs) {
			t.Errorf("%s: Update returned %s, want %s", c.what, jsonDoc(r.Attrs), jsonDoc(c.r.Attrs))
		}
		if c.r.Type == scim.GroupType && !slices.Equal(memberIDs(r.Members), []string{u.ID}) {
			t.Errorf("%s: Update returned members %v, want [%s]", c.what, memberIDs(r.Members), u.ID)
		}
		if c.r.Type == scim.UserType && (len(r.Groups) != 1 || r.Groups[0].Value != g.ID) {
			t.Errorf("%s: Update returned groups %v, want [%s]", c.what, r.Groups, g.ID)
		}
		f.wantUnchanged(c.what, dir, c.r)
		f.wantUnchanged(c.what+" (the member)", dir, u)
	}
	// A real change after no-ops gets the next version.
	if r := f.mustPatch(dir, scim.UserType, u.ID, replace("active", false)); r.Version != u.Version+1 {
		t.Errorf("a change after no-ops: version %d, want %d", r.Version, u.Version+1)
	}
}

func testDelete(f *fixture) {
	t, dir := f.t, f.A.Dir.ID
	u := f.create(dir, scim.UserType, aliceDoc)
	keep := f.user(dir, "bob")
	if err := f.Store.Delete(f.ctx, dir, scim.UserType, u.ID, 0); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	r, err := f.Store.Get(f.ctx, dir, scim.UserType, u.ID, true)
	wantNotFound(t, "Get after Delete", r, err)
	wantError(t, "second Delete", f.Store.Delete(f.ctx, dir, scim.UserType, u.ID, 0), roster.ENOTFOUND, "")
	called := false
	r, err = f.Store.Update(f.ctx, dir, scim.UserType, u.ID, 0, true, func(cur *scim.Resource) (map[string]any, []scim.MemberOp, error) {
		called = true
		return cur.Attrs, nil, nil
	})
	wantNotFound(t, "Update after Delete", r, err)
	if called {
		t.Error("Update called the UpdateFunc of a deleted resource")
	}
	if got := f.find(dir, scim.UserType, ""); len(got) != 1 || got[0] != keep.ID {
		t.Errorf("List after Delete = %v, want only %s", got, keep.ID)
	}
	if got := f.find(dir, scim.UserType, `emails.value eq "alice@x.example"`); len(got) != 0 {
		t.Errorf("the deleted user's email still matches: %v", got)
	}
	// The userName is free again.
	if again := f.create(dir, scim.UserType, aliceDoc); again.ID == u.ID {
		t.Errorf("a new user reused the deleted id %s", u.ID)
	}
}

func testNotFound(f *fixture) {
	t, dir := f.t, f.A.Dir.ID
	u := f.user(dir, "alice")
	g := f.group(dir, "eng")
	missing := roster.NewID()
	for _, c := range []struct{ what, typ, id string }{
		{"unknown user id", scim.UserType, missing},
		{"unknown group id", scim.GroupType, missing},
		{"a group's id as a User", scim.UserType, g.ID},
		{"a user's id as a Group", scim.GroupType, u.ID},
		{"empty id", scim.UserType, ""},
	} {
		r, err := f.Store.Get(f.ctx, dir, c.typ, c.id, true)
		wantNotFound(t, "Get "+c.what, r, err)
		r, err = f.patch(dir, c.typ, c.id, 0, replace("displayName", "x"))
		wantNotFound(t, "Update "+c.what, r, err)
		wantError(t, "Delete "+c.what, f.Store.Delete(f.ctx, dir, c.typ, c.id, 0), roster.ENOTFOUND, "")
	}
	// The wrong-type deletes above removed nothing.
	f.get(dir, scim.UserType, u.ID)
	f.get(dir, scim.GroupType, g.ID)
}

func testIfMatch(f *fixture) {
	t, dir := f.t, f.A.Dir.ID
	u := f.user(dir, "alice")
	v2, err := f.patch(dir, scim.UserType, u.ID, 1, replace("title", "Lead"))
	if err != nil || v2.Version != 2 {
		t.Fatalf("PATCH with the current version: %v (version %v)", err, v2)
	}
	called := false
	_, err = f.Store.Update(f.ctx, dir, scim.UserType, u.ID, 1, true, func(cur *scim.Resource) (map[string]any, []scim.MemberOp, error) {
		called = true
		return cur.Attrs, nil, nil
	})
	wantError(t, "Update with a stale If-Match", err, roster.EPRECONDITION, "")
	if called {
		t.Error("Update called the UpdateFunc despite a stale If-Match")
	}
	f.wantUnchanged("stale If-Match", dir, v2)
	wantError(t, "Delete with a stale If-Match", f.Store.Delete(f.ctx, dir, scim.UserType, u.ID, 1), roster.EPRECONDITION, "")
	f.wantUnchanged("stale If-Match on Delete", dir, v2)

	g := f.group(dir, "eng", u.ID)
	_, err = f.Store.Update(f.ctx, dir, scim.GroupType, g.ID, 7, true, func(cur *scim.Resource) (map[string]any, []scim.MemberOp, error) {
		return cur.Attrs, []scim.MemberOp{clearMembers()}, nil
	})
	wantError(t, "member change with a stale If-Match", err, roster.EPRECONDITION, "")
	f.wantUnchanged("stale If-Match on members", dir, g)

	// Joining eng gave alice a new version.
	if cur := f.get(dir, scim.UserType, u.ID); cur.Version <= v2.Version {
		t.Errorf("alice joined a group but kept version %d", cur.Version)
	} else if err := f.Store.Delete(f.ctx, dir, scim.UserType, u.ID, cur.Version); err != nil {
		t.Errorf("Delete with the current version: %v", err)
	}
}

func testUserNameUnique(f *fixture) {
	t, dir := f.t, f.A.Dir.ID
	alice := f.user(dir, "Alice")
	for _, name := range []string{"Alice", "alice", "ALICE"} {
		_, err := f.tryCreate(dir, scim.UserType, jsonDoc(map[string]any{"userName": name}))
		wantError(t, "Create userName "+name, err, roster.ECONFLICT, roster.ScimUniqueness)
	}
	bob := f.user(dir, "bob")
	_, err := f.patch(dir, scim.UserType, bob.ID, 0, replace("userName", "aLiCe"), replace("title", "x"))
	wantError(t, "rename bob to aLiCe", err, roster.ECONFLICT, roster.ScimUniqueness)
	f.wantUnchanged("conflicting rename", dir, bob)
	if got := f.find(dir, scim.UserType, `userName eq "bob"`); len(got) != 1 {
		t.Errorf("after a failed rename, userName eq bob matched %v", got)
	}

	// Not a conflict: a case change of one's own name, the same name in
	// another directory, a group of that name, two users sharing a
	// displayName, a name freed by a delete.
	f.mustPatch(dir, scim.UserType, alice.ID, replace("userName", "ALICE"))
	f.user(f.B.Dir.ID, "alice")
	f.group(dir, "alice")
	f.mustPatch(dir, scim.UserType, bob.ID, replace("displayName", "Same"))
	f.mustPatch(dir, scim.UserType, alice.ID, replace("displayName", "same"))
	if err := f.Store.Delete(f.ctx, dir, scim.UserType, alice.ID, 0); err != nil {
		t.Fatal(err)
	}
	f.user(dir, "alice")
}

func testGroupNameUnique(f *fixture) {
	t, dir := f.t, f.A.Dir.ID
	eng := f.group(dir, "Eng")
	_, err := f.tryCreate(dir, scim.GroupType, groupDoc("eNG"))
	wantError(t, "Create group eNG", err, roster.ECONFLICT, roster.ScimUniqueness)
	ops := f.group(dir, "ops")
	_, err = f.patch(dir, scim.GroupType, ops.ID, 0, replace("displayName", "ENG"))
	wantError(t, "rename ops to ENG", err, roster.ECONFLICT, roster.ScimUniqueness)
	f.wantUnchanged("conflicting group rename", dir, ops)
	f.group(f.B.Dir.ID, "eng")
	f.user(dir, "eng")
	f.mustPatch(dir, scim.GroupType, eng.ID, replace("displayName", "ENG"))
}
