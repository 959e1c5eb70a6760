package storetest

import (
	"context"
	"slices"
	"time"

	"github.com/roster-scim/roster"
	"github.com/roster-scim/roster/scim"
)

// adminTests are the AdminStore conformance tests: the admin side's
// objects (organizations, keys, directories, OAuth clients, admins) and how
// SCIM credentials authenticate. Run runs them next to the resource tests.
var adminTests = []struct {
	name string
	fn   func(f *fixture)
}{
	{"AdminOrganizations", testAdminOrganizations},
	{"AdminKeys", testAdminKeys},
	{"AdminKeysIsolation", testAdminKeysIsolation},
	{"AdminDirectories", testAdminDirectories},
	{"AdminDirectoryIsolation", testAdminDirectoryIsolation},
	{"AdminDeleteDirectory", testAdminDeleteDirectory},
	{"AdminOAuthClients", testAdminOAuthClients},
	{"AdminAccessTokens", testAdminAccessTokens},
	{"AdminAdmins", testAdminAdmins},
	{"AdminRevokeAdmins", testAdminRevokeAdmins},
	{"AuthenticateRotation", testAuthenticateRotation},
	{"AuthenticateRevokedExpired", testAuthenticateRevokedExpired},
	{"AuthenticateUnattached", testAuthenticateUnattached},
	{"AuthenticateLastUsed", testAuthenticateLastUsed},
	{"AuthenticateCachedChanges", testAuthenticateCachedChanges},
}

// newKey stores a new key of an organization and returns it with its
// secret.
func (f *fixture) newKey(orgID, name, users, groups string, expires *time.Time) (*roster.APIKey, string) {
	f.t.Helper()
	secret, hash := roster.NewSecret()
	k := &roster.APIKey{ID: roster.NewID(), OrgID: orgID, Name: name, Description: name + " description",
		SecretHash: hash, Users: users, Groups: groups, Expires: expires}
	if err := f.Admin.CreateAPIKey(f.ctx, k); err != nil {
		f.t.Fatalf("CreateAPIKey %s: %v", name, err)
	}
	if k.Created.IsZero() {
		f.t.Errorf("CreateAPIKey %s did not set Created", name)
	}
	return k, secret
}

// newDirectory stores a new directory of an organization accepting keys.
func (f *fixture) newDirectory(orgID, name string, keyIDs ...string) *roster.Directory {
	f.t.Helper()
	d := &roster.Directory{ID: roster.NewID(), OrgID: orgID, Name: name, Icon: "https://x.example/" + name + ".png", Profile: "generic", KeyIDs: keyIDs}
	if d.KeyIDs == nil {
		d.KeyIDs = []string{}
	}
	if err := f.Admin.CreateDirectory(f.ctx, d); err != nil {
		f.t.Fatalf("CreateDirectory %s: %v", name, err)
	}
	return d
}

func (f *fixture) findKey(orgID, id string) *roster.APIKey {
	f.t.Helper()
	k, err := f.Admin.FindAPIKey(f.ctx, orgID, id)
	if err != nil {
		f.t.Fatalf("FindAPIKey %s: %v", id, err)
	}
	return k
}

func (f *fixture) findDirectory(id string) *roster.Directory {
	f.t.Helper()
	d, err := f.Admin.FindDirectory(f.ctx, id)
	if err != nil {
		f.t.Fatalf("FindDirectory %s: %v", id, err)
	}
	return d
}

// authOK authenticates a secret on a directory and checks which credential
// it is.
func (f *fixture) authOK(what, dirID, secret, wantID string) *roster.Credential {
	f.t.Helper()
	c, err := f.Admin.Authenticate(f.ctx, dirID, roster.HashSecret(secret))
	if err != nil {
		f.t.Errorf("%s: Authenticate: %v", what, err)
		return nil
	}
	if c.ID != wantID {
		f.t.Errorf("%s: Authenticate returned credential %s, want %s", what, c.ID, wantID)
	}
	if a, ok := f.Admin.(directoryAuthenticator); ok {
		// Twice: the second answer comes from the cache the first filled.
		for i := range 2 {
			c, d, err := a.AuthenticateDirectory(f.ctx, dirID, roster.HashSecret(secret))
			if err != nil || c.ID != wantID || d.ID != dirID {
				f.t.Errorf("%s: AuthenticateDirectory (call %d) = %+v, %+v, %v; want credential %s on directory %s", what, i+1, c, d, err, wantID, dirID)
			}
		}
	}
	return c
}

// directoryAuthenticator is the cached authentication of the SQL stores
// (sqlstore.Store.AuthenticateDirectory), which the HTTP layer prefers.
// Every authOK and authDenied of the suite also goes through it, right
// after whatever change the test made, so each rule is checked against an
// answer the cache already holds.
type directoryAuthenticator interface {
	AuthenticateDirectory(ctx context.Context, dirID string, hash []byte) (*roster.Credential, *roster.Directory, error)
}

// authDenied checks that a secret gets EUNAUTHORIZED and no credential.
func (f *fixture) authDenied(what, dirID, secret string) {
	f.t.Helper()
	c, err := f.Admin.Authenticate(f.ctx, dirID, roster.HashSecret(secret))
	if c != nil {
		f.t.Errorf("%s: Authenticate returned credential %s with error %v", what, c.ID, err)
	}
	wantError(f.t, what, err, roster.EUNAUTHORIZED, "")
	if a, ok := f.Admin.(directoryAuthenticator); ok {
		c, d, err := a.AuthenticateDirectory(f.ctx, dirID, roster.HashSecret(secret))
		if c != nil || d != nil {
			f.t.Errorf("%s: AuthenticateDirectory returned %+v, %+v with error %v", what, c, d, err)
		}
		wantError(f.t, what+" (AuthenticateDirectory)", err, roster.EUNAUTHORIZED, "")
	}
}

func keyIDs(ks []*roster.APIKey) []string {
	out := []string{}
	for _, k := range ks {
		out = append(out, k.ID)
	}
	slices.Sort(out)
	return out
}

func dirIDs(ds []*roster.Directory) []string {
	out := []string{}
	for _, d := range ds {
		out = append(out, d.ID)
	}
	slices.Sort(out)
	return out
}

func testAdminOrganizations(f *fixture) {
	t := f.t
	orgs, err := f.Admin.ListOrganizations(f.ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range orgs {
		got = append(got, o.ID)
	}
	if !slices.Equal(sorted(got...), sorted(f.A.Org.ID, f.B.Org.ID)) {
		t.Errorf("ListOrganizations = %v, want A and B", got)
	}

	o := &roster.Organization{ID: roster.NewID(), Name: "Org C"}
	if err := f.Admin.CreateOrganization(f.ctx, o); err != nil {
		t.Fatalf("CreateOrganization: %v", err)
	}
	if o.Created.IsZero() {
		t.Error("CreateOrganization did not set Created")
	}
	found, err := f.Admin.FindOrganization(f.ctx, o.ID)
	if err != nil {
		t.Fatalf("FindOrganization: %v", err)
	}
	if found.ID != o.ID || found.Name != "Org C" || !found.Created.Equal(o.Created) {
		t.Errorf("FindOrganization = %+v, want %+v", found, o)
	}
	orgs, err = f.Admin.ListOrganizations(f.ctx)
	if err != nil || len(orgs) != 3 || orgs[2].ID != o.ID {
		t.Errorf("ListOrganizations after creating C = %d organizations (%v), want 3 with C last", len(orgs), err)
	}

	missing, err := f.Admin.FindOrganization(f.ctx, roster.NewID())
	if missing != nil {
		t.Errorf("FindOrganization of an unknown id returned %+v", missing)
	}
	wantError(t, "FindOrganization of an unknown id", err, roster.ENOTFOUND, "")
	// A new organization is empty: no keys, no directories.
	if ks, err := f.Admin.ListAPIKeys(f.ctx, o.ID); err != nil || len(ks) != 0 {
		t.Errorf("keys of a new organization: %v, %v", keyIDs(ks), err)
	}
	if ds, err := f.Admin.ListDirectories(f.ctx, o.ID); err != nil || len(ds) != 0 {
		t.Errorf("directories of a new organization: %v, %v", dirIDs(ds), err)
	}
}

func testAdminKeys(f *fixture) {
	t, org := f.t, f.A.Org.ID
	expires := time.Now().Add(30 * 24 * time.Hour).UTC().Truncate(time.Second)
	k, _ := f.newKey(org, "Entra", roster.PrivRead, roster.PrivNone, &expires)
	got := f.findKey(org, k.ID)
	if got.ID != k.ID || got.OrgID != org || got.Name != "Entra" || got.Description != "Entra description" ||
		got.Users != roster.PrivRead || got.Groups != roster.PrivNone || !got.Created.Equal(k.Created) ||
		got.Expires == nil || !got.Expires.Equal(expires) || got.LastUsed != nil || got.Revoked {
		t.Errorf("FindAPIKey = %+v, want %+v", got, k)
	}
	// What a create fills in is what a read returns, whatever precision the
	// store keeps times in: the admin API shows the created key at once.
	precise := time.Date(2031, 1, 2, 3, 4, 5, 123456789, time.FixedZone("CET", 3600))
	pk, _ := f.newKey(org, "precise", roster.PrivWrite, roster.PrivWrite, &precise)
	if got := f.findKey(org, pk.ID); got.Expires == nil || !got.Expires.Equal(*pk.Expires) || !got.Created.Equal(pk.Created) ||
		got.Expires.Sub(precise).Abs() >= time.Millisecond {
		t.Errorf("created key expires %v, created %v; read back %v, %v", pk.Expires, pk.Created, got.Expires, got.Created)
	}
	if err := f.Admin.RevokeAPIKey(f.ctx, org, pk.ID); err != nil {
		t.Fatal(err)
	}
	never, _ := f.newKey(org, "forever", roster.PrivWrite, roster.PrivWrite, nil)
	if got := f.findKey(org, never.ID); got.Expires != nil {
		t.Errorf("a key without expiry expires at %v", got.Expires)
	}

	ks, err := f.Admin.ListAPIKeys(f.ctx, org)
	if err != nil {
		t.Fatal(err)
	}
	if want := sorted(f.A.Key.ID, k.ID, pk.ID, never.ID); !slices.Equal(keyIDs(ks), want) {
		t.Errorf("ListAPIKeys(A) = %v, want %v", keyIDs(ks), want)
	}

	if err := f.Admin.RevokeAPIKey(f.ctx, org, k.ID); err != nil {
		t.Fatalf("RevokeAPIKey: %v", err)
	}
	if got := f.findKey(org, k.ID); !got.Revoked {
		t.Error("FindAPIKey after RevokeAPIKey: not revoked")
	}
	if err := f.Admin.RevokeAPIKey(f.ctx, org, k.ID); err != nil {
		t.Errorf("revoking a revoked key again: %v", err)
	}
	if got := f.findKey(org, never.ID); got.Revoked {
		t.Error("revoking one key revoked another")
	}
	ks, err = f.Admin.ListAPIKeys(f.ctx, org)
	if err != nil || len(ks) != 4 {
		t.Errorf("ListAPIKeys after revoking: %d keys (%v); revoked keys must stay listed", len(ks), err)
	}
	for _, kk := range ks {
		if kk.Revoked != (kk.ID == k.ID || kk.ID == pk.ID) {
			t.Errorf("ListAPIKeys: key %s revoked = %v", kk.Name, kk.Revoked)
		}
	}

	wantError(t, "RevokeAPIKey of an unknown key", f.Admin.RevokeAPIKey(f.ctx, org, roster.NewID()), roster.ENOTFOUND, "")
	_, err = f.Admin.FindAPIKey(f.ctx, org, roster.NewID())
	wantError(t, "FindAPIKey of an unknown key", err, roster.ENOTFOUND, "")
	bad := &roster.APIKey{ID: roster.NewID(), OrgID: roster.NewID(), Name: "orphan", SecretHash: roster.HashSecret("x"), Users: roster.PrivRead, Groups: roster.PrivRead}
	wantError(t, "CreateAPIKey for an unknown organization", f.Admin.CreateAPIKey(f.ctx, bad), roster.ENOTFOUND, "")
	if ks, err := f.Admin.ListAPIKeys(f.ctx, roster.NewID()); err != nil || len(ks) != 0 {
		t.Errorf("ListAPIKeys of an unknown organization = %v, %v; want none", keyIDs(ks), err)
	}
}

// testAdminKeysIsolation: an organization reaches another's keys by no
// method, even knowing their ids.
func testAdminKeysIsolation(f *fixture) {
	t, a, b := f.t, f.A, f.B
	ks, err := f.Admin.ListAPIKeys(f.ctx, b.Org.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(keyIDs(ks), []string{b.Key.ID}) {
		t.Errorf("ListAPIKeys(B) = %v, want only B's key %s", keyIDs(ks), b.Key.ID)
	}
	k, err := f.Admin.FindAPIKey(f.ctx, b.Org.ID, a.Key.ID)
	if k != nil {
		t.Errorf("FindAPIKey(B, A's key) returned %+v", k)
	}
	wantError(t, "FindAPIKey(B, A's key)", err, roster.ENOTFOUND, "")
	_, err = f.Admin.FindAPIKey(f.ctx, a.Org.ID, b.Key.ID)
	wantError(t, "FindAPIKey(A, B's key)", err, roster.ENOTFOUND, "")
	wantError(t, "RevokeAPIKey(B, A's key)", f.Admin.RevokeAPIKey(f.ctx, b.Org.ID, a.Key.ID), roster.ENOTFOUND, "")
	if got := f.findKey(a.Org.ID, a.Key.ID); got.Revoked {
		t.Error("B revoked A's key")
	}
	f.authOK("A's key after B tried to revoke it", a.Dir.ID, a.Secret, a.Key.ID)
}

func testAdminDirectories(f *fixture) {
	t, org := f.t, f.A.Org.ID
	k2, _ := f.newKey(org, "second", roster.PrivWrite, roster.PrivWrite, nil)
	d := f.newDirectory(org, "Okta", f.A.Key.ID, k2.ID)
	if d.Created.IsZero() {
		t.Error("CreateDirectory did not set Created")
	}
	got := f.findDirectory(d.ID)
	if got.ID != d.ID || got.OrgID != org || got.Name != "Okta" || got.Icon != d.Icon || got.Profile != "generic" ||
		!got.Created.Equal(d.Created) || !slices.Equal(sorted(got.KeyIDs...), sorted(f.A.Key.ID, k2.ID)) {
		t.Errorf("FindDirectory = %+v, want %+v", got, d)
	}
	empty := f.newDirectory(org, "no keys")
	if got := f.findDirectory(empty.ID); got.KeyIDs == nil || len(got.KeyIDs) != 0 {
		t.Errorf("a directory without keys has KeyIDs %#v, want an empty slice", got.KeyIDs)
	}

	ds, err := f.Admin.ListDirectories(f.ctx, org)
	if err != nil {
		t.Fatal(err)
	}
	if want := sorted(f.A.Dir.ID, d.ID, empty.ID); !slices.Equal(dirIDs(ds), want) {
		t.Errorf("ListDirectories(A) = %v, want %v", dirIDs(ds), want)
	}

	// Update replaces name, icon, profile and keys.
	d.Name, d.Icon, d.Profile, d.KeyIDs = "Okta prod", "", "mycompliance", []string{k2.ID}
	if err := f.Admin.UpdateDirectory(f.ctx, d); err != nil {
		t.Fatalf("UpdateDirectory: %v", err)
	}
	got = f.findDirectory(d.ID)
	if got.Name != "Okta prod" || got.Icon != "" || got.Profile != "mycompliance" || !slices.Equal(got.KeyIDs, []string{k2.ID}) || !got.Created.Equal(d.Created) {
		t.Errorf("FindDirectory after UpdateDirectory = %+v", got)
	}
	d.KeyIDs = []string{}
	if err := f.Admin.UpdateDirectory(f.ctx, d); err != nil {
		t.Fatalf("UpdateDirectory without keys: %v", err)
	}
	if got := f.findDirectory(d.ID); len(got.KeyIDs) != 0 {
		t.Errorf("UpdateDirectory with no keys left keys %v", got.KeyIDs)
	}

	unknownKey := &roster.Directory{ID: roster.NewID(), OrgID: org, Name: "bad", Profile: "generic", KeyIDs: []string{roster.NewID()}}
	wantError(t, "CreateDirectory with an unknown key", f.Admin.CreateDirectory(f.ctx, unknownKey), roster.EINVALID, "")
	noOrg := &roster.Directory{ID: roster.NewID(), OrgID: roster.NewID(), Name: "orphan", Profile: "generic", KeyIDs: []string{}}
	wantError(t, "CreateDirectory for an unknown organization", f.Admin.CreateDirectory(f.ctx, noOrg), roster.ENOTFOUND, "")
	gone := &roster.Directory{ID: roster.NewID(), OrgID: org, Name: "gone", Profile: "generic", KeyIDs: []string{}}
	wantError(t, "UpdateDirectory of an unknown directory", f.Admin.UpdateDirectory(f.ctx, gone), roster.ENOTFOUND, "")
	wantError(t, "DeleteDirectory of an unknown directory", f.Admin.DeleteDirectory(f.ctx, org, gone.ID), roster.ENOTFOUND, "")
	for _, id := range []string{unknownKey.ID, noOrg.ID, gone.ID} {
		if d, err := f.Admin.FindDirectory(f.ctx, id); d != nil || roster.ErrorCode(err) != roster.ENOTFOUND {
			t.Errorf("a refused create or update left directory %s: %+v, %v", id, d, err)
		}
	}
}

// testAdminDirectoryIsolation: a directory accepts only keys of its own
// organization, and one organization cannot change or delete another's.
func testAdminDirectoryIsolation(f *fixture) {
	t, a, b := f.t, f.A, f.B
	ds, err := f.Admin.ListDirectories(f.ctx, b.Org.ID)
	if err != nil || !slices.Equal(dirIDs(ds), []string{b.Dir.ID}) {
		t.Errorf("ListDirectories(B) = %v, %v; want only B's directory", dirIDs(ds), err)
	}

	withB := &roster.Directory{ID: roster.NewID(), OrgID: a.Org.ID, Name: "steals B's key", Profile: "generic", KeyIDs: []string{a.Key.ID, b.Key.ID}}
	wantError(t, "CreateDirectory of A with B's key", f.Admin.CreateDirectory(f.ctx, withB), roster.EINVALID, "")
	if d, err := f.Admin.FindDirectory(f.ctx, withB.ID); d != nil || roster.ErrorCode(err) != roster.ENOTFOUND {
		t.Errorf("a refused CreateDirectory left %+v, %v", d, err)
	}

	before := f.findDirectory(a.Dir.ID)
	upd := *before
	upd.Name, upd.KeyIDs = "renamed", []string{a.Key.ID, b.Key.ID}
	wantError(t, "UpdateDirectory of A adding B's key", f.Admin.UpdateDirectory(f.ctx, &upd), roster.EINVALID, "")
	if got := f.findDirectory(a.Dir.ID); got.Name != before.Name || !slices.Equal(got.KeyIDs, before.KeyIDs) {
		t.Errorf("a refused UpdateDirectory changed A's directory: %+v, was %+v", got, before)
	}
	f.authDenied("B's key on A's directory", a.Dir.ID, b.Secret)

	upd = *before
	upd.OrgID, upd.Name, upd.KeyIDs = b.Org.ID, "hijacked", []string{b.Key.ID}
	wantError(t, "UpdateDirectory of A's directory as B", f.Admin.UpdateDirectory(f.ctx, &upd), roster.ENOTFOUND, "")
	wantError(t, "DeleteDirectory of A's directory as B", f.Admin.DeleteDirectory(f.ctx, b.Org.ID, a.Dir.ID), roster.ENOTFOUND, "")
	got := f.findDirectory(a.Dir.ID)
	if got.OrgID != a.Org.ID || got.Name != before.Name || !slices.Equal(got.KeyIDs, before.KeyIDs) {
		t.Errorf("B changed A's directory: %+v, was %+v", got, before)
	}
	f.authOK("A's key after B's attempts", a.Dir.ID, a.Secret, a.Key.ID)
	f.authDenied("B's key on A's directory after B's attempts", a.Dir.ID, b.Secret)
}

// testAdminDeleteDirectory: deleting a directory deletes its users, groups
// and OAuth clients, and nothing of any other directory; its keys stay,
// since they belong to the organization.
func testAdminDeleteDirectory(f *fixture) {
	t, org := f.t, f.A.Org.ID
	d := f.newDirectory(org, "doomed", f.A.Key.ID)
	u := f.user(d.ID, "alice")
	g := f.group(d.ID, "eng", u.ID)
	keep := f.user(f.A.Dir.ID, "alice")
	keepGroup := f.group(f.A.Dir.ID, "eng", keep.ID)
	_, s := newOAuthSecret(nil)
	c := &roster.OAuthClient{ID: roster.NewID(), OrgID: org, DirectoryID: d.ID, Name: "doomed client",
		Users: roster.PrivWrite, Groups: roster.PrivWrite, TokenTTL: time.Hour, Secrets: []roster.OAuthSecret{s}}
	if err := f.Admin.CreateOAuthClient(f.ctx, c); err != nil {
		t.Fatal(err)
	}
	token := "rat_" + roster.NewID()
	if err := f.Admin.CreateAccessToken(f.ctx, &roster.AccessToken{Hash: roster.HashSecret(token), ClientID: c.ID, Expires: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	f.authOK("A's key on the doomed directory", d.ID, f.A.Secret, f.A.Key.ID)

	if err := f.Admin.DeleteDirectory(f.ctx, org, d.ID); err != nil {
		t.Fatalf("DeleteDirectory: %v", err)
	}
	if got, err := f.Admin.FindDirectory(f.ctx, d.ID); got != nil || roster.ErrorCode(err) != roster.ENOTFOUND {
		t.Errorf("FindDirectory after DeleteDirectory = %+v, %v", got, err)
	}
	for _, r := range []*scim.Resource{u, g} {
		got, err := f.Store.Get(f.ctx, d.ID, r.Type, r.ID, true)
		wantNotFound(t, r.Type+" of a deleted directory", got, err)
	}
	for _, typ := range []string{scim.UserType, scim.GroupType} {
		if res, err := f.Store.List(f.ctx, d.ID, typ, f.query(typ, "")); err == nil && res.Total != 0 {
			t.Errorf("a deleted directory still lists %d %ss", res.Total, typ)
		}
	}
	if got, err := f.Admin.FindOAuthClient(f.ctx, c.ID); got != nil || roster.ErrorCode(err) != roster.ENOTFOUND {
		t.Errorf("OAuth client of a deleted directory: %+v, %v", got, err)
	}
	f.authDenied("a key on a deleted directory", d.ID, f.A.Secret)
	f.authDenied("an access token of a deleted directory", d.ID, token)
	wantError(t, "deleting a deleted directory", f.Admin.DeleteDirectory(f.ctx, org, d.ID), roster.ENOTFOUND, "")

	// The organization's keys and other directory are untouched.
	f.findKey(org, f.A.Key.ID)
	f.authOK("A's key on its first directory", f.A.Dir.ID, f.A.Secret, f.A.Key.ID)
	f.get(f.A.Dir.ID, scim.UserType, keep.ID)
	if got := f.get(f.A.Dir.ID, scim.GroupType, keepGroup.ID); !slices.Equal(memberIDs(got.Members), []string{keep.ID}) {
		t.Errorf("the other directory's group lost members: %v", memberIDs(got.Members))
	}
	if ds, err := f.Admin.ListDirectories(f.ctx, org); err != nil || !slices.Equal(dirIDs(ds), []string{f.A.Dir.ID}) {
		t.Errorf("ListDirectories after delete = %v, %v", dirIDs(ds), err)
	}
}

// newOAuthSecret is a client secret as the admin side makes them.
func newOAuthSecret(expires *time.Time) (string, roster.OAuthSecret) {
	secret, hash := roster.NewSecret()
	return secret, roster.OAuthSecret{ID: roster.NewID(), Hash: hash, Expires: expires}
}

func testAdminOAuthClients(f *fixture) {
	t, a, b := f.t, f.A, f.B
	_, s1 := newOAuthSecret(nil)
	c := &roster.OAuthClient{ID: roster.NewID(), OrgID: a.Org.ID, DirectoryID: a.Dir.ID, Name: "Entra",
		Users: roster.PrivWrite, Groups: roster.PrivRead, TokenTTL: 2 * time.Hour, Secrets: []roster.OAuthSecret{s1}}
	if err := f.Admin.CreateOAuthClient(f.ctx, c); err != nil {
		t.Fatalf("CreateOAuthClient: %v", err)
	}
	if c.Created.IsZero() {
		t.Error("CreateOAuthClient did not set Created")
	}
	got, err := f.Admin.FindOAuthClient(f.ctx, c.ID)
	if err != nil {
		t.Fatalf("FindOAuthClient: %v", err)
	}
	if got.ID != c.ID || got.OrgID != a.Org.ID || got.DirectoryID != a.Dir.ID || got.Name != "Entra" ||
		got.Users != roster.PrivWrite || got.Groups != roster.PrivRead || got.TokenTTL != 2*time.Hour || !got.Created.Equal(c.Created) {
		t.Errorf("FindOAuthClient = %+v, want %+v", got, c)
	}
	if len(got.Secrets) != 1 || got.Secrets[0].ID != s1.ID || string(got.Secrets[0].Hash) != string(s1.Hash) ||
		got.Secrets[0].Revoked || got.Secrets[0].Created.IsZero() || got.Secrets[0].Expires != nil {
		t.Errorf("FindOAuthClient secrets = %+v, want %+v", got.Secrets, s1)
	}

	cs, err := f.Admin.ListOAuthClients(f.ctx, a.Org.ID, a.Dir.ID)
	if err != nil || len(cs) != 1 || cs[0].ID != c.ID || len(cs[0].Secrets) != 1 {
		t.Errorf("ListOAuthClients(A) = %+v, %v", cs, err)
	}
	if cs, err := f.Admin.ListOAuthClients(f.ctx, b.Org.ID, b.Dir.ID); err != nil || len(cs) != 0 {
		t.Errorf("ListOAuthClients(B) = %+v, %v; want none", cs, err)
	}
	if cs, err := f.Admin.ListOAuthClients(f.ctx, b.Org.ID, a.Dir.ID); len(cs) != 0 || err != nil && roster.ErrorCode(err) != roster.ENOTFOUND {
		t.Errorf("ListOAuthClients(B, A's directory) = %+v, %v; want none", cs, err)
	}

	// Isolation: B cannot create clients on A's directory or touch A's.
	_, sb := newOAuthSecret(nil)
	stolen := &roster.OAuthClient{ID: roster.NewID(), OrgID: b.Org.ID, DirectoryID: a.Dir.ID, Name: "stolen",
		Users: roster.PrivWrite, Groups: roster.PrivWrite, TokenTTL: time.Hour, Secrets: []roster.OAuthSecret{sb}}
	wantError(t, "CreateOAuthClient of B on A's directory", f.Admin.CreateOAuthClient(f.ctx, stolen), roster.ENOTFOUND, "")
	if got, err := f.Admin.FindOAuthClient(f.ctx, stolen.ID); got != nil || roster.ErrorCode(err) != roster.ENOTFOUND {
		t.Errorf("a refused CreateOAuthClient left %+v, %v", got, err)
	}
	_, s2 := newOAuthSecret(nil)
	wantError(t, "AddOAuthSecret as B to A's client", f.Admin.AddOAuthSecret(f.ctx, b.Org.ID, c.ID, &s2), roster.ENOTFOUND, "")
	wantError(t, "RevokeOAuthSecret as B of A's client", f.Admin.RevokeOAuthSecret(f.ctx, b.Org.ID, c.ID, s1.ID), roster.ENOTFOUND, "")
	wantError(t, "AddOAuthSecret to an unknown client", f.Admin.AddOAuthSecret(f.ctx, a.Org.ID, roster.NewID(), &s2), roster.ENOTFOUND, "")

	// Rotation: a second secret, then the first revoked.
	exp := time.Now().Add(time.Hour)
	_, s2 = newOAuthSecret(&exp)
	if err := f.Admin.AddOAuthSecret(f.ctx, a.Org.ID, c.ID, &s2); err != nil {
		t.Fatalf("AddOAuthSecret: %v", err)
	}
	if s2.Created.IsZero() || s2.Expires == nil || s2.Expires.Sub(exp).Abs() >= time.Millisecond {
		t.Errorf("AddOAuthSecret filled in %+v", s2)
	}
	exp = *s2.Expires // as the store keeps it
	if err := f.Admin.RevokeOAuthSecret(f.ctx, a.Org.ID, c.ID, s1.ID); err != nil {
		t.Fatalf("RevokeOAuthSecret: %v", err)
	}
	wantError(t, "RevokeOAuthSecret of an unknown secret", f.Admin.RevokeOAuthSecret(f.ctx, a.Org.ID, c.ID, roster.NewID()), roster.ENOTFOUND, "")
	got, err = f.Admin.FindOAuthClient(f.ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	revoked := map[string]bool{}
	for _, s := range got.Secrets {
		revoked[s.ID] = s.Revoked
		if s.ID == s2.ID && (s.Expires == nil || !s.Expires.Equal(exp) || !s.Created.Equal(s2.Created)) {
			t.Errorf("second secret expires %v, want %v", s.Expires, exp)
		}
	}
	if len(got.Secrets) != 2 || !revoked[s1.ID] || revoked[s2.ID] {
		t.Errorf("secrets after rotation: %+v; want the first revoked and the second active", got.Secrets)
	}

	// A secret of one client is not revocable through another.
	_, s3 := newOAuthSecret(nil)
	other := &roster.OAuthClient{ID: roster.NewID(), OrgID: a.Org.ID, DirectoryID: a.Dir.ID, Name: "other",
		Users: roster.PrivRead, Groups: roster.PrivRead, TokenTTL: time.Hour, Secrets: []roster.OAuthSecret{s3}}
	if err := f.Admin.CreateOAuthClient(f.ctx, other); err != nil {
		t.Fatal(err)
	}
	wantError(t, "RevokeOAuthSecret of c's secret through another client", f.Admin.RevokeOAuthSecret(f.ctx, a.Org.ID, other.ID, s2.ID), roster.ENOTFOUND, "")
	if cs, err := f.Admin.ListOAuthClients(f.ctx, a.Org.ID, a.Dir.ID); err != nil || len(cs) != 2 {
		t.Errorf("ListOAuthClients(A) with two clients: %d, %v", len(cs), err)
	}
	wantError(t, "FindOAuthClient of an unknown client", func() error { _, err := f.Admin.FindOAuthClient(f.ctx, roster.NewID()); return err }(), roster.ENOTFOUND, "")
}

// testAdminAccessTokens: an issued access token authenticates on its
// client's directory only, with the client's privileges, until it expires.
func testAdminAccessTokens(f *fixture) {
	t, a, b := f.t, f.A, f.B
	_, s := newOAuthSecret(nil)
	c := &roster.OAuthClient{ID: roster.NewID(), OrgID: a.Org.ID, DirectoryID: a.Dir.ID, Name: "Entra",
		Users: roster.PrivRead, Groups: roster.PrivNone, TokenTTL: time.Hour, Secrets: []roster.OAuthSecret{s}}
	if err := f.Admin.CreateOAuthClient(f.ctx, c); err != nil {
		t.Fatal(err)
	}
	live, dead := "rat_live"+roster.NewID(), "rat_dead"+roster.NewID()
	for tok, exp := range map[string]time.Time{live: time.Now().Add(time.Hour), dead: time.Now().Add(-time.Second)} {
		if err := f.Admin.CreateAccessToken(f.ctx, &roster.AccessToken{Hash: roster.HashSecret(tok), ClientID: c.ID, Expires: exp}); err != nil {
			t.Fatalf("CreateAccessToken: %v", err)
		}
	}
	cred := f.authOK("live access token", a.Dir.ID, live, c.ID)
	if cred != nil && (cred.Kind != "oauth" || cred.OrgID != a.Org.ID || cred.Users != roster.PrivRead || cred.Groups != roster.PrivNone || cred.Name != "Entra") {
		t.Errorf("access token credential = %+v", cred)
	}
	if cred != nil && (!cred.Allows(scim.UserType, false) || cred.Allows(scim.UserType, true) || cred.Allows(scim.GroupType, false)) {
		t.Errorf("access token privileges wrong: %+v", cred)
	}
	f.authDenied("expired access token", a.Dir.ID, dead)
	f.authDenied("access token on another organization's directory", b.Dir.ID, live)
	other := f.newDirectory(a.Org.ID, "other", a.Key.ID)
	f.authDenied("access token on another directory of the same organization", other.ID, live)
}

func testAdminAdmins(f *fixture) {
	t, a := f.t, f.A
	serverSecret, serverHash := roster.NewSecret()
	server := &roster.Admin{ID: roster.NewID(), Name: "root", SecretHash: serverHash}
	orgSecret, orgHash := roster.NewSecret()
	orgAdmin := &roster.Admin{ID: roster.NewID(), OrgID: a.Org.ID, Name: "A's admin", SecretHash: orgHash}
	for _, ad := range []*roster.Admin{server, orgAdmin} {
		if err := f.Admin.CreateAdmin(f.ctx, ad); err != nil {
			t.Fatalf("CreateAdmin %s: %v", ad.Name, err)
		}
		if ad.Created.IsZero() {
			t.Errorf("CreateAdmin %s did not set Created", ad.Name)
		}
	}
	for secret, want := range map[string]*roster.Admin{serverSecret: server, orgSecret: orgAdmin} {
		got, err := f.Admin.AuthenticateAdmin(f.ctx, roster.HashSecret(secret))
		if err != nil {
			t.Errorf("AuthenticateAdmin %s: %v", want.Name, err)
			continue
		}
		if got.ID != want.ID || got.OrgID != want.OrgID || got.Name != want.Name || !got.Created.Equal(want.Created) {
			t.Errorf("AuthenticateAdmin = %+v, want %+v", got, want)
		}
	}
	deny := func(what string, hash []byte) {
		t.Helper()
		got, err := f.Admin.AuthenticateAdmin(f.ctx, hash)
		if got != nil {
			t.Errorf("%s: AuthenticateAdmin returned %+v", what, got)
		}
		wantError(t, what, err, roster.EUNAUTHORIZED, "")
	}
	deny("wrong admin secret", roster.HashSecret(serverSecret+"x"))
	deny("empty hash", nil)
	deny("the secret itself instead of its hash", []byte(serverSecret))
	deny("a SCIM key's secret", roster.HashSecret(a.Secret))

	dup := &roster.Admin{ID: roster.NewID(), Name: "same secret", SecretHash: serverHash}
	wantError(t, "CreateAdmin with a stored secret", f.Admin.CreateAdmin(f.ctx, dup), roster.ECONFLICT, "")
	if got, err := f.Admin.AuthenticateAdmin(f.ctx, serverHash); err != nil || got.ID != server.ID {
		t.Errorf("after a refused duplicate, the secret authenticates %+v, %v; want the first admin", got, err)
	}
	// An admin secret is no SCIM key.
	f.authDenied("an admin secret on a directory", a.Dir.ID, orgSecret)
}

func adminIDs(as []*roster.Admin) []string {
	out := []string{}
	for _, a := range as {
		out = append(out, a.ID)
	}
	return out
}

// testAdminRevokeAdmins: admins are listed per organization (server admins
// under ""), a revoked admin's token stops authenticating at once while
// the admin stays listed, and no organization lists or revokes another's
// admins, even knowing their ids.
func testAdminRevokeAdmins(f *fixture) {
	t, a, b := f.t, f.A, f.B
	servers, err := f.Admin.ListAdmins(f.ctx, "")
	if err != nil {
		t.Fatalf("ListAdmins of server admins: %v", err)
	}
	newAdmin := func(orgID, name string) (*roster.Admin, string) {
		t.Helper()
		secret, hash := roster.NewSecret()
		ad := &roster.Admin{ID: roster.NewID(), OrgID: orgID, Name: name, SecretHash: hash}
		if err := f.Admin.CreateAdmin(f.ctx, ad); err != nil {
			t.Fatalf("CreateAdmin %s: %v", name, err)
		}
		return ad, secret
	}
	authOK := func(what, secret, wantID string) {
		t.Helper()
		if got, err := f.Admin.AuthenticateAdmin(f.ctx, roster.HashSecret(secret)); err != nil || got.ID != wantID || got.Revoked {
			t.Errorf("%s: AuthenticateAdmin = %+v, %v; want admin %s", what, got, err, wantID)
		}
	}
	authDenied := func(what, secret string) {
		t.Helper()
		got, err := f.Admin.AuthenticateAdmin(f.ctx, roster.HashSecret(secret))
		if got != nil {
			t.Errorf("%s: AuthenticateAdmin returned %+v", what, got)
		}
		wantError(t, what, err, roster.EUNAUTHORIZED, "")
	}
	root, rootSecret := newAdmin("", "root")
	a1, a1Secret := newAdmin(a.Org.ID, "A one")
	a2, a2Secret := newAdmin(a.Org.ID, "A two")
	b1, b1Secret := newAdmin(b.Org.ID, "B one")

	as, err := f.Admin.ListAdmins(f.ctx, a.Org.ID)
	if err != nil {
		t.Fatalf("ListAdmins(A): %v", err)
	}
	if !slices.Equal(adminIDs(as), []string{a1.ID, a2.ID}) {
		t.Errorf("ListAdmins(A) = %v, want A's two admins oldest first %v", adminIDs(as), []string{a1.ID, a2.ID})
	}
	for i, want := range []*roster.Admin{a1, a2} {
		if i < len(as) && (as[i].OrgID != a.Org.ID || as[i].Name != want.Name || !as[i].Created.Equal(want.Created) || as[i].Revoked) {
			t.Errorf("ListAdmins(A)[%d] = %+v, want %+v", i, as[i], want)
		}
	}
	if bs, err := f.Admin.ListAdmins(f.ctx, b.Org.ID); err != nil || !slices.Equal(adminIDs(bs), []string{b1.ID}) {
		t.Errorf("ListAdmins(B) = %v, %v; want only B's admin %s", adminIDs(bs), err, b1.ID)
	}
	if ss, err := f.Admin.ListAdmins(f.ctx, ""); err != nil || !slices.Equal(adminIDs(ss), append(adminIDs(servers), root.ID)) {
		t.Errorf("ListAdmins(\"\") = %v, %v; want the server admins %v and no organization's", adminIDs(ss), err, append(adminIDs(servers), root.ID))
	}
	if xs, err := f.Admin.ListAdmins(f.ctx, roster.NewID()); err != nil || len(xs) != 0 {
		t.Errorf("ListAdmins of an unknown organization = %v, %v; want none", adminIDs(xs), err)
	}

	// Nobody reaches an admin through another organization's id, nor an
	// organization admin through the server scope, nor the reverse.
	wantError(t, "RevokeAdmin(B, A's admin)", f.Admin.RevokeAdmin(f.ctx, b.Org.ID, a1.ID), roster.ENOTFOUND, "")
	wantError(t, "RevokeAdmin(\"\", A's admin)", f.Admin.RevokeAdmin(f.ctx, "", a1.ID), roster.ENOTFOUND, "")
	wantError(t, "RevokeAdmin(A, a server admin)", f.Admin.RevokeAdmin(f.ctx, a.Org.ID, root.ID), roster.ENOTFOUND, "")
	wantError(t, "RevokeAdmin of an unknown admin", f.Admin.RevokeAdmin(f.ctx, a.Org.ID, roster.NewID()), roster.ENOTFOUND, "")
	authOK("A's admin after B tried to revoke it", a1Secret, a1.ID)
	authOK("the server admin after A tried to revoke it", rootSecret, root.ID)

	if err := f.Admin.RevokeAdmin(f.ctx, a.Org.ID, a1.ID); err != nil {
		t.Fatalf("RevokeAdmin: %v", err)
	}
	authDenied("a revoked admin", a1Secret)
	authOK("the other admin of the organization", a2Secret, a2.ID)
	authOK("another organization's admin", b1Secret, b1.ID)
	if err := f.Admin.RevokeAdmin(f.ctx, a.Org.ID, a1.ID); err != nil {
		t.Errorf("revoking a revoked admin again: %v", err)
	}
	as, err = f.Admin.ListAdmins(f.ctx, a.Org.ID)
	if err != nil || len(as) != 2 {
		t.Fatalf("ListAdmins(A) after revoking: %d admins (%v); revoked admins must stay listed", len(as), err)
	}
	for _, ad := range as {
		if ad.Revoked != (ad.ID == a1.ID) {
			t.Errorf("ListAdmins(A): admin %s revoked = %v", ad.Name, ad.Revoked)
		}
	}

	// A server admin is revoked in the server scope.
	if err := f.Admin.RevokeAdmin(f.ctx, "", root.ID); err != nil {
		t.Fatalf("RevokeAdmin of a server admin: %v", err)
	}
	authDenied("a revoked server admin", rootSecret)

	// A revoked token cannot come back: storing its secret again is still
	// a conflict, so `serve` re-applying an old ROSTER_ADMIN_TOKEN does not
	// revive it.
	again := &roster.Admin{ID: roster.NewID(), Name: "root again", SecretHash: roster.HashSecret(rootSecret)}
	wantError(t, "CreateAdmin with a revoked admin's secret", f.Admin.CreateAdmin(f.ctx, again), roster.ECONFLICT, "")
	authDenied("a revoked server admin after re-creating it", rootSecret)
}

// testAuthenticateRotation: a directory accepts two active keys at once,
// so that an IdP switches keys without downtime.
func testAuthenticateRotation(f *fixture) {
	a := f.A
	k2, secret2 := f.newKey(a.Org.ID, "rotated in", roster.PrivRead, roster.PrivWrite, nil)
	d := f.findDirectory(a.Dir.ID)
	d.KeyIDs = []string{a.Key.ID, k2.ID}
	if err := f.Admin.UpdateDirectory(f.ctx, d); err != nil {
		f.t.Fatalf("UpdateDirectory with two keys: %v", err)
	}
	f.authOK("the first key after adding a second", a.Dir.ID, a.Secret, a.Key.ID)
	if c := f.authOK("the second key", a.Dir.ID, secret2, k2.ID); c != nil && (c.Kind != "key" || c.Users != roster.PrivRead || c.Groups != roster.PrivWrite || c.OrgID != a.Org.ID) {
		f.t.Errorf("second key's credential = %+v", c)
	}
	// Detaching the old key ends its access; the new one keeps working.
	d.KeyIDs = []string{k2.ID}
	if err := f.Admin.UpdateDirectory(f.ctx, d); err != nil {
		f.t.Fatal(err)
	}
	f.authDenied("a detached key", a.Dir.ID, a.Secret)
	f.authOK("the second key after detaching the first", a.Dir.ID, secret2, k2.ID)
}

func testAuthenticateRevokedExpired(f *fixture) {
	t, a := f.t, f.A
	k2, secret2 := f.newKey(a.Org.ID, "second", roster.PrivWrite, roster.PrivWrite, nil)
	past := time.Now().Add(-time.Minute)
	k3, secret3 := f.newKey(a.Org.ID, "expired", roster.PrivWrite, roster.PrivWrite, &past)
	soon := time.Now().Add(time.Hour)
	k4, secret4 := f.newKey(a.Org.ID, "expires soon", roster.PrivWrite, roster.PrivWrite, &soon)
	d := f.findDirectory(a.Dir.ID)
	d.KeyIDs = []string{a.Key.ID, k2.ID, k3.ID, k4.ID}
	if err := f.Admin.UpdateDirectory(f.ctx, d); err != nil {
		t.Fatal(err)
	}
	f.authOK("a key before revocation", a.Dir.ID, a.Secret, a.Key.ID)
	if err := f.Admin.RevokeAPIKey(f.ctx, a.Org.ID, a.Key.ID); err != nil {
		t.Fatal(err)
	}
	f.authDenied("a revoked key", a.Dir.ID, a.Secret)
	f.authOK("the other key after revoking the first", a.Dir.ID, secret2, k2.ID)
	f.authDenied("an expired key", a.Dir.ID, secret3)
	f.authOK("a key expiring in an hour", a.Dir.ID, secret4, k4.ID)
	if f.SetNow == nil {
		return
	}
	f.SetNow(func() time.Time { return soon.Add(time.Second) })
	f.authDenied("a key after its expiry", a.Dir.ID, secret4)
	f.authOK("a key without expiry, later", a.Dir.ID, secret2, k2.ID)
	f.SetNow(func() time.Time { return soon })
	f.authDenied("a key at the instant of its expiry", a.Dir.ID, secret4)
}

// testAuthenticateUnattached: a key works only on the directories that
// name it, even within its organization.
func testAuthenticateUnattached(f *fixture) {
	a := f.A
	k2, secret2 := f.newKey(a.Org.ID, "loose", roster.PrivWrite, roster.PrivWrite, nil)
	f.authDenied("a key of the organization not attached to the directory", a.Dir.ID, secret2)
	other := f.newDirectory(a.Org.ID, "other", k2.ID)
	f.authOK("the key on its own directory", other.ID, secret2, k2.ID)
	f.authDenied("the directory's key on a sibling directory", other.ID, a.Secret)
	f.authDenied("another organization's key", other.ID, f.B.Secret)
}

func testAuthenticateLastUsed(f *fixture) {
	t, a := f.t, f.A
	k2, secret2 := f.newKey(a.Org.ID, "fresh", roster.PrivWrite, roster.PrivWrite, nil)
	d := f.findDirectory(a.Dir.ID)
	d.KeyIDs = append(d.KeyIDs, k2.ID)
	if err := f.Admin.UpdateDirectory(f.ctx, d); err != nil {
		t.Fatal(err)
	}
	if got := f.findKey(a.Org.ID, k2.ID); got.LastUsed != nil {
		t.Errorf("a key never used has LastUsed %v", got.LastUsed)
	}
	f.authDenied("a wrong secret", a.Dir.ID, secret2+"x")
	if got := f.findKey(a.Org.ID, k2.ID); got.LastUsed != nil {
		t.Errorf("a failed authentication set LastUsed %v", got.LastUsed)
	}
	var at time.Time
	if f.SetNow != nil {
		at = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
		f.SetNow(func() time.Time { return at })
	}
	before := time.Now().Add(-time.Second)
	f.authOK("the fresh key", a.Dir.ID, secret2, k2.ID)
	got := f.findKey(a.Org.ID, k2.ID)
	switch {
	case got.LastUsed == nil:
		t.Error("LastUsed is nil after Authenticate")
	case !at.IsZero() && !got.LastUsed.Equal(at):
		t.Errorf("LastUsed = %v, want the store's clock %v", got.LastUsed, at)
	case at.IsZero() && got.LastUsed.Before(before):
		t.Errorf("LastUsed = %v, before the authentication at %v", got.LastUsed, before)
	}
	if other := f.findKey(a.Org.ID, a.Key.ID); other.LastUsed != nil {
		t.Errorf("using one key set LastUsed of another: %v", other.LastUsed)
	}
}

// testAuthenticateCachedChanges: what the cached authentication answers
// after each admin change that could alter it, each made once the old
// answer is cached.
func testAuthenticateCachedChanges(f *fixture) {
	t, a := f.t, f.A
	auth, ok := f.Admin.(directoryAuthenticator)
	if !ok {
		t.Skip("the store has no cached authentication")
	}
	k2, secret2 := f.newKey(a.Org.ID, "second", roster.PrivWrite, roster.PrivWrite, nil)
	other := f.newDirectory(a.Org.ID, "other", a.Key.ID, k2.ID)
	profile := func() string {
		t.Helper()
		_, d, err := auth.AuthenticateDirectory(f.ctx, other.ID, roster.HashSecret(a.Secret))
		if err != nil {
			t.Fatalf("AuthenticateDirectory: %v", err)
		}
		return d.Profile
	}
	if got := profile(); got != "generic" {
		t.Errorf("profile %q, want generic", got)
	}
	other.Profile = "mycompliance"
	if err := f.Admin.UpdateDirectory(f.ctx, other); err != nil {
		t.Fatal(err)
	}
	if got := profile(); got != "mycompliance" {
		t.Errorf("after the profile changed: profile %q, want mycompliance", got)
	}
	f.authOK("the second key", other.ID, secret2, k2.ID)
	other.KeyIDs = []string{a.Key.ID}
	if err := f.Admin.UpdateDirectory(f.ctx, other); err != nil {
		t.Fatal(err)
	}
	f.authDenied("a key removed from the directory", other.ID, secret2)
	f.authOK("the key left on the directory", other.ID, a.Secret, a.Key.ID)
	f.authOK("the key on its first directory", a.Dir.ID, a.Secret, a.Key.ID)
	if err := f.Admin.DeleteDirectory(f.ctx, a.Org.ID, other.ID); err != nil {
		t.Fatal(err)
	}
	f.authDenied("a deleted directory", other.ID, a.Secret)
	f.authOK("the key on its remaining directory", a.Dir.ID, a.Secret, a.Key.ID)
}
