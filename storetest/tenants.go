package storetest

import (
	"slices"
	"time"

	"github.com/roster-scim/roster"
	"github.com/roster-scim/roster/scim"
)

// testIsolation checks that directory B cannot reach directory A's
// resources by any method, even when it knows their ids: ids leak through
// logs and support tickets, so they must not work as capabilities.
func testIsolation(f *fixture) {
	t, a, b := f.t, f.A.Dir.ID, f.B.Dir.ID
	ua := f.create(a, scim.UserType, aliceDoc)
	ga := f.group(a, "eng", ua.ID)
	ua = f.get(a, scim.UserType, ua.ID) // joining eng gave alice a new version
	ub := f.user(b, "bob")
	gb := f.group(b, "eng", ub.ID)

	for _, r := range []*scim.Resource{ua, ga} {
		got, err := f.Store.Get(f.ctx, b, r.Type, r.ID, true)
		wantNotFound(t, "Get "+r.Type+" of A from B", got, err)
		got, err = f.patch(b, r.Type, r.ID, 0, replace("displayName", "stolen"))
		wantNotFound(t, "Update "+r.Type+" of A from B", got, err)
		wantError(t, "Delete "+r.Type+" of A from B", f.Store.Delete(f.ctx, b, r.Type, r.ID, 0), roster.ENOTFOUND, "")
		if got := f.find(b, r.Type, `id eq "`+r.ID+`"`); len(got) != 0 {
			t.Errorf("B finds %s of A by id: %v", r.Type, got)
		}
	}
	f.wantUnchanged("A's user after B's attempts", a, ua)
	f.wantUnchanged("A's group after B's attempts", a, ga)

	for filter, want := range map[string][]string{
		``:                                  {ub.ID},
		`userName eq "alice"`:               {},
		`emails.value eq "alice@x.example"`: {},
		`externalId eq "ext-Alice"`:         {},
	} {
		if got := f.find(b, scim.UserType, filter); !slices.Equal(got, want) {
			t.Errorf("B's users matching %q: %v, want %v", filter, got, want)
		}
	}
	if got := f.find(b, scim.GroupType, `members eq "`+ua.ID+`"`); len(got) != 0 {
		t.Errorf("B's groups containing A's user: %v", got)
	}
	if got := f.find(b, scim.GroupType, ""); !slices.Equal(got, []string{gb.ID}) {
		t.Errorf("B's groups: %v, want only its own", got)
	}

	_, err := f.changeMembers(b, gb.ID, addMembers(ua.ID))
	wantError(t, "B adds A's user to its group", err, roster.EINVALID, roster.ScimInvalidValue)
	_, err = f.changeMembers(b, gb.ID, addMembers(ga.ID))
	wantError(t, "B adds A's group to its group", err, roster.EINVALID, roster.ScimInvalidValue)
	f.wantUnchanged("B's group after adding foreign members", b, gb)
	_, err = f.tryCreate(b, scim.GroupType, groupDoc("ops", ua.ID))
	wantError(t, "B creates a group with A's user", err, roster.EINVALID, roster.ScimInvalidValue)

	// Removing a foreign id is a no-op, not a way to touch A.
	f.mustChangeMembers(b, gb.ID, removeMembers(ua.ID))
	f.wantUnchanged("A's group after B removed A's user from B's group", a, ga)
}

func testAdmin(f *fixture) {
	t := f.t
	ok, err := f.Admin.Initialized(f.ctx)
	if err != nil || !ok {
		t.Errorf("Initialized = %v, %v; want true", ok, err)
	}
	again := NewTenant("again")
	wantError(t, "second Bootstrap", f.Admin.Bootstrap(f.ctx, &again.Bootstrap), roster.ECONFLICT, "")
	d, err := f.Admin.FindDirectory(f.ctx, again.Dir.ID)
	if d != nil {
		t.Errorf("a refused Bootstrap left directory %+v", d)
	}
	wantError(t, "FindDirectory of a refused Bootstrap", err, roster.ENOTFOUND, "")

	for _, ten := range []Tenant{f.A, f.B} {
		d, err := f.Admin.FindDirectory(f.ctx, ten.Dir.ID)
		if err != nil {
			t.Fatalf("FindDirectory %s: %v", ten.Dir.ID, err)
		}
		if d.ID != ten.Dir.ID || d.OrgID != ten.Org.ID || d.Name != ten.Dir.Name || d.Created.IsZero() {
			t.Errorf("FindDirectory = %+v, want %+v", d, ten.Dir)
		}
	}
	if f.A.Org.ID == f.B.Org.ID {
		t.Error("tenants A and B share an organization")
	}
}

func testAuthenticate(f *fixture) {
	t, a, b := f.t, f.A, f.B
	k, err := f.Admin.Authenticate(f.ctx, a.Dir.ID, roster.HashSecret(a.Secret))
	if err != nil {
		t.Fatalf("Authenticate with the right key: %v", err)
	}
	if k.ID != a.Key.ID || k.OrgID != a.Org.ID || k.Users != a.Key.Users || k.Groups != a.Key.Groups || k.Kind != "key" {
		t.Errorf("Authenticate = %+v, want key %+v", k, a.Key)
	}
	deny := func(what, dir string, hash []byte) {
		t.Helper()
		k, err := f.Admin.Authenticate(f.ctx, dir, hash)
		if k != nil {
			t.Errorf("%s: returned key %s", what, k.ID)
		}
		wantError(t, what, err, roster.EUNAUTHORIZED, "")
	}
	deny("wrong secret", a.Dir.ID, roster.HashSecret(a.Secret+"x"))
	deny("empty hash", a.Dir.ID, nil)
	deny("B's key on A's directory", a.Dir.ID, roster.HashSecret(b.Secret))
	deny("A's key on B's directory", b.Dir.ID, roster.HashSecret(a.Secret))
	deny("unknown directory", roster.NewID(), roster.HashSecret(a.Secret))

	if f.SetKey == nil {
		t.Skip("keys cannot be revoked or expired (Stores.SetKey is nil)")
	}
	set := func(revoked bool, expires *time.Time) {
		t.Helper()
		if err := f.SetKey(a.Key.ID, revoked, expires); err != nil {
			t.Fatal(err)
		}
	}
	future, past := time.Now().Add(time.Hour), time.Now().Add(-time.Second)
	set(false, &future)
	if k, err := f.Admin.Authenticate(f.ctx, a.Dir.ID, roster.HashSecret(a.Secret)); err != nil || k.ID != a.Key.ID {
		t.Errorf("key expiring in an hour: %+v, %v", k, err)
	}
	set(false, &past)
	deny("expired key", a.Dir.ID, roster.HashSecret(a.Secret))
	set(true, nil)
	deny("revoked key", a.Dir.ID, roster.HashSecret(a.Secret))
	if _, err := f.Admin.Authenticate(f.ctx, b.Dir.ID, roster.HashSecret(b.Secret)); err != nil {
		t.Errorf("revoking A's key locked out B: %v", err)
	}
}
