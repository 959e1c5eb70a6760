package manage_test

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/roster-scim/roster"
	"github.com/roster-scim/roster/manage"
	"github.com/roster-scim/roster/scim"
	"github.com/roster-scim/roster/sqlite"
)

// world is a store with two organizations, each with two org admins, a
// key, a directory accepting it, and an OAuth client with one secret, all
// made through the service as the server admin.
type world struct {
	t   *testing.T
	ctx context.Context
	db  *sqlite.DB
	svc *manage.Service
	// root is the server admin created by Bootstrap.
	root *manage.Session
	A, B org
}

// org is one organization's objects and its admin's session.
type org struct {
	ID        string
	Admin     *roster.Admin
	AdminTok  string
	As        *manage.Session
	Key       *manage.NewKey
	Dir       *roster.Directory
	Client    *manage.NewOAuthClient
	SecretID  string // the client's first secret
	JobID     string // a provisioning job, with a provisioning log
	KeySecret string
	// Colleague is a second admin of the organization, the one callsOn
	// revokes: an admin may not revoke itself.
	Colleague    *roster.Admin
	ColleagueTok string
}

// newWorld opens a store in t.TempDir() and bootstraps it the way
// `roster init` does, with a server admin.
func newWorld(t *testing.T) *world {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, t.TempDir(), scim.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	b, _, _ := manage.NewBootstrap()
	if err := db.Bootstrap(ctx, b); err != nil {
		t.Fatal(err)
	}
	svc := manage.New(db)
	svc.Requests = db
	svc.Jobs = db
	svc.Profiles = nil // the built-in profiles
	w := &world{t: t, ctx: ctx, db: db, svc: svc, root: svc.As(b.Admin)}
	w.A, w.B = w.newOrg("Org A"), w.newOrg("Org B")
	return w
}

func (w *world) newOrg(name string) org {
	w.t.Helper()
	o, err := w.root.CreateOrganization(w.ctx, manage.OrganizationInput{Name: name})
	if err != nil {
		w.t.Fatalf("CreateOrganization: %v", err)
	}
	a, err := w.root.CreateAdmin(w.ctx, o.ID, manage.AdminInput{Name: name + " admin"})
	if err != nil {
		w.t.Fatalf("CreateAdmin: %v", err)
	}
	col, err := w.root.CreateAdmin(w.ctx, o.ID, manage.AdminInput{Name: name + " colleague"})
	if err != nil {
		w.t.Fatalf("CreateAdmin: %v", err)
	}
	k, err := w.root.CreateKey(w.ctx, o.ID, manage.KeyInput{Name: name + " key"})
	if err != nil {
		w.t.Fatalf("CreateKey: %v", err)
	}
	d, err := w.root.CreateDirectory(w.ctx, o.ID, manage.DirectoryInput{Name: name + " Entra", KeyIDs: []string{k.Key.ID}})
	if err != nil {
		w.t.Fatalf("CreateDirectory: %v", err)
	}
	c, err := w.root.CreateOAuthClient(w.ctx, o.ID, d.ID, manage.OAuthClientInput{Name: name + " client"})
	if err != nil {
		w.t.Fatalf("CreateOAuthClient: %v", err)
	}
	return org{ID: o.ID, Admin: a.Admin, AdminTok: a.Secret, As: w.svc.As(a.Admin), Key: k, KeySecret: k.Secret, Dir: d, Client: c, SecretID: c.SecretID,
		Colleague: col.Admin, ColleagueTok: col.Secret, JobID: w.newJob(o.ID)}
}

func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	if got := roster.ErrorCode(err); got != code {
		t.Errorf("%s: error %v (code %q), want code %q", what, err, got, code)
	}
}

func ptr[T any](v T) *T { return &v }

// TestValidation checks that every input rule answers EINVALID and
// creates nothing.
func TestValidation(t *testing.T) {
	w := newWorld(t)
	ctx, s, a := w.ctx, w.root, w.A
	long := strings.Repeat("x", 201)
	calls := []struct {
		name string
		call func() error
	}{
		{"org: empty name", func() error { _, err := s.CreateOrganization(ctx, manage.OrganizationInput{}); return err }},
		{"org: blank name", func() error {
			_, err := s.CreateOrganization(ctx, manage.OrganizationInput{Name: " \t"})
			return err
		}},
		{"org: long name", func() error { _, err := s.CreateOrganization(ctx, manage.OrganizationInput{Name: long}); return err }},
		{"admin: empty name", func() error { _, err := s.CreateAdmin(ctx, a.ID, manage.AdminInput{}); return err }},
		{"admin: revoke itself", func() error { _, err := a.As.RevokeAdmin(ctx, a.ID, a.Admin.ID); return err }},
		{"key: empty name", func() error { _, err := s.CreateKey(ctx, a.ID, manage.KeyInput{}); return err }},
		{"key: long name", func() error { _, err := s.CreateKey(ctx, a.ID, manage.KeyInput{Name: long}); return err }},
		{"key: bad users privilege", func() error {
			_, err := s.CreateKey(ctx, a.ID, manage.KeyInput{Name: "k", Users: "admin"})
			return err
		}},
		{"key: bad groups privilege", func() error {
			_, err := s.CreateKey(ctx, a.ID, manage.KeyInput{Name: "k", Groups: "READ"})
			return err
		}},
		{"key: expires_in not a duration", func() error {
			_, err := s.CreateKey(ctx, a.ID, manage.KeyInput{Name: "k", ExpiresIn: "next year"})
			return err
		}},
		{"key: expires_in without unit", func() error {
			_, err := s.CreateKey(ctx, a.ID, manage.KeyInput{Name: "k", ExpiresIn: "30"})
			return err
		}},
		{"key: expires_in negative", func() error {
			_, err := s.CreateKey(ctx, a.ID, manage.KeyInput{Name: "k", ExpiresIn: "-1h"})
			return err
		}},
		{"key: expires_in zero", func() error {
			_, err := s.CreateKey(ctx, a.ID, manage.KeyInput{Name: "k", ExpiresIn: "0s"})
			return err
		}},
		{"dir: empty name", func() error { _, err := s.CreateDirectory(ctx, a.ID, manage.DirectoryInput{}); return err }},
		{"dir: unknown profile", func() error {
			_, err := s.CreateDirectory(ctx, a.ID, manage.DirectoryInput{Name: "d", Profile: "okta-special"})
			return err
		}},
		{"dir: unknown key", func() error {
			_, err := s.CreateDirectory(ctx, a.ID, manage.DirectoryInput{Name: "d", KeyIDs: []string{roster.NewID()}})
			return err
		}},
		{"dir: another organization's key", func() error {
			_, err := s.CreateDirectory(ctx, a.ID, manage.DirectoryInput{Name: "d", KeyIDs: []string{w.B.Key.Key.ID}})
			return err
		}},
		{"dir update: empty name", func() error {
			_, err := s.UpdateDirectory(ctx, a.ID, a.Dir.ID, manage.DirectoryUpdate{Name: ptr("")})
			return err
		}},
		{"dir update: unknown profile", func() error {
			_, err := s.UpdateDirectory(ctx, a.ID, a.Dir.ID, manage.DirectoryUpdate{Profile: ptr("nope")})
			return err
		}},
		{"dir update: another organization's key", func() error {
			_, err := s.UpdateDirectory(ctx, a.ID, a.Dir.ID, manage.DirectoryUpdate{KeyIDs: &[]string{a.Key.Key.ID, w.B.Key.Key.ID}})
			return err
		}},
		{"client: empty name", func() error {
			_, err := s.CreateOAuthClient(ctx, a.ID, a.Dir.ID, manage.OAuthClientInput{})
			return err
		}},
		{"client: bad privilege", func() error {
			_, err := s.CreateOAuthClient(ctx, a.ID, a.Dir.ID, manage.OAuthClientInput{Name: "c", Groups: "all"})
			return err
		}},
		{"client: token_ttl below 1h", func() error {
			_, err := s.CreateOAuthClient(ctx, a.ID, a.Dir.ID, manage.OAuthClientInput{Name: "c", TokenTTL: "59m59s"})
			return err
		}},
		{"client: token_ttl above 6h", func() error {
			_, err := s.CreateOAuthClient(ctx, a.ID, a.Dir.ID, manage.OAuthClientInput{Name: "c", TokenTTL: "6h0m1s"})
			return err
		}},
		{"client: token_ttl in seconds", func() error {
			_, err := s.CreateOAuthClient(ctx, a.ID, a.Dir.ID, manage.OAuthClientInput{Name: "c", TokenTTL: "3600"})
			return err
		}},
		{"client: token_ttl negative", func() error {
			_, err := s.CreateOAuthClient(ctx, a.ID, a.Dir.ID, manage.OAuthClientInput{Name: "c", TokenTTL: "-2h"})
			return err
		}},
		{"secret: bad expires_in", func() error {
			_, err := s.AddOAuthSecret(ctx, a.ID, a.Client.Client.ID, manage.SecretInput{ExpiresIn: "-5m"})
			return err
		}},
	}
	for _, c := range calls {
		wantCode(t, c.name, c.call(), roster.EINVALID)
	}

	// Nothing was created or changed by the refused calls.
	if orgs, _ := s.ListOrganizations(ctx); len(orgs) != 3 {
		t.Errorf("%d organizations after refused creates, want 3", len(orgs))
	}
	if ks, _ := s.ListKeys(ctx, a.ID); len(ks) != 1 {
		t.Errorf("%d keys after refused creates, want 1", len(ks))
	}
	if ds, _ := s.ListDirectories(ctx, a.ID); len(ds) != 1 {
		t.Errorf("%d directories after refused creates, want 1", len(ds))
	}
	if d, _ := s.GetDirectory(ctx, a.ID, a.Dir.ID); d.Name != a.Dir.Name || d.Profile != "generic" || !slices.Equal(d.KeyIDs, []string{a.Key.Key.ID}) {
		t.Errorf("refused updates changed the directory: %+v", d)
	}
	if cs, _ := s.ListOAuthClients(ctx, a.ID, a.Dir.ID); len(cs) != 1 || len(cs[0].Secrets) != 1 {
		t.Errorf("refused creates left clients %+v", cs)
	}

	// The edges of the ranges are allowed.
	for _, ttl := range []string{"1h", "6h", "90m", "5h59m"} {
		if _, err := s.CreateOAuthClient(ctx, a.ID, a.Dir.ID, manage.OAuthClientInput{Name: "c " + ttl, TokenTTL: ttl}); err != nil {
			t.Errorf("token_ttl %s: %v", ttl, err)
		}
	}
	for _, p := range []string{roster.PrivNone, roster.PrivRead, roster.PrivWrite} {
		if _, err := s.CreateKey(ctx, a.ID, manage.KeyInput{Name: "k " + p, Users: p, Groups: p}); err != nil {
			t.Errorf("privilege %s: %v", p, err)
		}
	}
	if _, err := s.CreateDirectory(ctx, a.ID, manage.DirectoryInput{Name: "d", Profile: "mycompliance"}); err != nil {
		t.Errorf("a known profile: %v", err)
	}
	if _, err := s.CreateKey(ctx, a.ID, manage.KeyInput{Name: strings.Repeat("x", 200)}); err != nil {
		t.Errorf("a name of 200 characters: %v", err)
	}
	// The limit counts characters, not bytes: "Zürich" is not longer than
	// "Zurich".
	if _, err := s.CreateKey(ctx, a.ID, manage.KeyInput{Name: strings.Repeat("ü", 200)}); err != nil {
		t.Errorf("a name of 200 two-byte characters: %v", err)
	}
	_, err := s.CreateKey(ctx, a.ID, manage.KeyInput{Name: strings.Repeat("ü", 201)})
	wantCode(t, "a name of 201 two-byte characters", err, roster.EINVALID)
}

func TestDefaults(t *testing.T) {
	w := newWorld(t)
	ctx, s, a := w.ctx, w.root, w.A
	k := a.Key.Key
	if k.Users != roster.PrivWrite || k.Groups != roster.PrivWrite || k.Expires != nil || k.Revoked || k.OrgID != a.ID {
		t.Errorf("a key created with defaults: %+v; want write/write, no expiry", k)
	}
	k2, err := s.CreateKey(ctx, a.ID, manage.KeyInput{Name: "read users", Users: roster.PrivRead})
	if err != nil || k2.Key.Users != roster.PrivRead || k2.Key.Groups != roster.PrivWrite {
		t.Errorf("a key with only users set: %+v, %v; groups must default to write", k2, err)
	}
	if a.Dir.Profile != "generic" || a.Dir.KeyIDs == nil || a.Dir.OrgID != a.ID || a.Dir.Created.IsZero() {
		t.Errorf("a directory created with defaults: %+v", a.Dir)
	}
	d, err := s.CreateDirectory(ctx, a.ID, manage.DirectoryInput{Name: "no keys"})
	if err != nil || d.KeyIDs == nil || len(d.KeyIDs) != 0 {
		t.Errorf("a directory without keys: %+v, %v; want an empty key list", d, err)
	}
	c := a.Client.Client
	if c.Users != roster.PrivWrite || c.Groups != roster.PrivWrite || c.TokenTTL != roster.DefaultTokenTTL || c.DirectoryID != a.Dir.ID {
		t.Errorf("a client created with defaults: %+v", c)
	}
	stored, err := w.db.FindOAuthClient(ctx, c.ID)
	if err != nil || stored.TokenTTL != time.Hour {
		t.Errorf("stored client: %+v, %v; want a token lifetime of 1h", stored, err)
	}
	c2, err := s.CreateOAuthClient(ctx, a.ID, a.Dir.ID, manage.OAuthClientInput{Name: "long", TokenTTL: "6h", Users: roster.PrivRead, Groups: roster.PrivNone})
	if err != nil {
		t.Fatal(err)
	}
	if stored, _ := w.db.FindOAuthClient(ctx, c2.Client.ID); stored == nil || stored.TokenTTL != 6*time.Hour || stored.Users != roster.PrivRead || stored.Groups != roster.PrivNone {
		t.Errorf("stored client with 6h: %+v", stored)
	}
}

// TestExpiry checks that expires_in counts from the service's clock.
func TestExpiry(t *testing.T) {
	w := newWorld(t)
	now := time.Date(2031, 5, 6, 7, 8, 9, 0, time.UTC)
	w.svc.Now = func() time.Time { return now }
	k, err := w.root.CreateKey(w.ctx, w.A.ID, manage.KeyInput{Name: "yearly", ExpiresIn: "8760h"})
	if err != nil {
		t.Fatal(err)
	}
	want := now.Add(8760 * time.Hour)
	if k.Key.Expires == nil || !k.Key.Expires.Equal(want) {
		t.Errorf("Expires = %v, want %v", k.Key.Expires, want)
	}
	if got, _ := w.root.GetKey(w.ctx, w.A.ID, k.Key.ID); got == nil || got.Expires == nil || !got.Expires.Equal(want) {
		t.Errorf("stored Expires = %+v, want %v", got, want)
	}
	s, err := w.root.AddOAuthSecret(w.ctx, w.A.ID, w.A.Client.Client.ID, manage.SecretInput{ExpiresIn: "720h"})
	if err != nil {
		t.Fatal(err)
	}
	c, _ := w.db.FindOAuthClient(w.ctx, w.A.Client.Client.ID)
	for _, sec := range c.Secrets {
		if sec.ID == s.SecretID && (sec.Expires == nil || !sec.Expires.Equal(now.Add(720*time.Hour))) {
			t.Errorf("secret expires %v, want %v", sec.Expires, now.Add(720*time.Hour))
		}
	}
}

// call is one API method called on one organization's objects.
type call struct {
	method string
	fn     func(ctx context.Context, api manage.API) error
}

// callsOn returns a call of every API method but CreateOrganization and
// ListOrganizations, aimed at the objects named by o (orgID may differ from
// the objects' organization, to mix one organization's id with another's
// objects). Destructive calls come last.
func callsOn(orgID string, o org) []call {
	keyID, dirID, clientID, adminID := o.Key.Key.ID, o.Dir.ID, o.Client.Client.ID, o.Colleague.ID
	return []call{
		{"GetOrganization", func(ctx context.Context, api manage.API) error {
			_, err := api.GetOrganization(ctx, orgID)
			return err
		}},
		{"CreateAdmin", func(ctx context.Context, api manage.API) error {
			_, err := api.CreateAdmin(ctx, orgID, manage.AdminInput{Name: "intruder"})
			return err
		}},
		{"ListAdmins", func(ctx context.Context, api manage.API) error { _, err := api.ListAdmins(ctx, orgID); return err }},
		{"CreateKey", func(ctx context.Context, api manage.API) error {
			_, err := api.CreateKey(ctx, orgID, manage.KeyInput{Name: "intruder"})
			return err
		}},
		{"ListKeys", func(ctx context.Context, api manage.API) error { _, err := api.ListKeys(ctx, orgID); return err }},
		{"GetKey", func(ctx context.Context, api manage.API) error { _, err := api.GetKey(ctx, orgID, keyID); return err }},
		{"CreateDirectory", func(ctx context.Context, api manage.API) error {
			_, err := api.CreateDirectory(ctx, orgID, manage.DirectoryInput{Name: "intruder", KeyIDs: []string{keyID}})
			return err
		}},
		{"ListDirectories", func(ctx context.Context, api manage.API) error {
			_, err := api.ListDirectories(ctx, orgID)
			return err
		}},
		{"GetDirectory", func(ctx context.Context, api manage.API) error {
			_, err := api.GetDirectory(ctx, orgID, dirID)
			return err
		}},
		{"UpdateDirectory", func(ctx context.Context, api manage.API) error {
			_, err := api.UpdateDirectory(ctx, orgID, dirID, manage.DirectoryUpdate{Name: ptr("renamed"), KeyIDs: &[]string{keyID}})
			return err
		}},
		{"CreateOAuthClient", func(ctx context.Context, api manage.API) error {
			_, err := api.CreateOAuthClient(ctx, orgID, dirID, manage.OAuthClientInput{Name: "intruder"})
			return err
		}},
		{"ListOAuthClients", func(ctx context.Context, api manage.API) error {
			_, err := api.ListOAuthClients(ctx, orgID, dirID)
			return err
		}},
		{"ListJobs", func(ctx context.Context, api manage.API) error { _, err := api.ListJobs(ctx, orgID); return err }},
		{"GetJob", func(ctx context.Context, api manage.API) error { _, err := api.GetJob(ctx, orgID, o.JobID); return err }},
		{"QueryJobLog", func(ctx context.Context, api manage.API) error {
			_, err := api.QueryJobLog(ctx, orgID, o.JobID, manage.JobLogFilter{Failed: true})
			return err
		}},
		{"AddOAuthSecret", func(ctx context.Context, api manage.API) error {
			_, err := api.AddOAuthSecret(ctx, orgID, clientID, manage.SecretInput{})
			return err
		}},
		{"RevokeOAuthSecret", func(ctx context.Context, api manage.API) error {
			return api.RevokeOAuthSecret(ctx, orgID, clientID, o.SecretID)
		}},
		{"RevokeAdmin", func(ctx context.Context, api manage.API) error {
			_, err := api.RevokeAdmin(ctx, orgID, adminID)
			return err
		}},
		{"RevokeKey", func(ctx context.Context, api manage.API) error {
			_, err := api.RevokeKey(ctx, orgID, keyID)
			return err
		}},
		{"DeleteDirectory", func(ctx context.Context, api manage.API) error { return api.DeleteDirectory(ctx, orgID, dirID) }},
	}
}

// apiMethods lists the methods of manage.API, so that the isolation tests
// notice a method added without a test.
func apiMethods() []string {
	typ := reflect.TypeFor[manage.API]()
	var out []string
	for i := range typ.NumMethod() {
		out = append(out, typ.Method(i).Name)
	}
	return out
}

// snapshot is everything an organization has, to show that refused calls
// changed nothing.
func (w *world) snapshot(o org) string {
	w.t.Helper()
	var b strings.Builder
	as, _ := w.root.ListAdmins(w.ctx, o.ID)
	ks, _ := w.root.ListKeys(w.ctx, o.ID)
	ds, _ := w.root.ListDirectories(w.ctx, o.ID)
	enc := json.NewEncoder(&b)
	_ = enc.Encode(as)
	_ = enc.Encode(ks)
	_ = enc.Encode(ds)
	for _, d := range ds {
		cs, _ := w.root.ListOAuthClients(w.ctx, o.ID, d.ID)
		_ = enc.Encode(cs)
	}
	return b.String()
}

// TestOrgAdminIsolation: an organization admin reaches nothing of another
// organization, by its id or by the ids of its objects, and answers look
// as if the objects did not exist.
func TestOrgAdminIsolation(t *testing.T) {
	w := newWorld(t)
	ctx, a, b := w.ctx, w.A, w.B
	before := w.snapshot(b)
	beforeA := w.snapshot(a)

	covered := map[string]bool{}
	for _, c := range callsOn(b.ID, b) {
		covered[c.method] = true
		wantCode(t, "A's admin: "+c.method+" on B", c.fn(ctx, a.As), roster.ENOTFOUND)
	}
	// A's own organization id with B's objects.
	for _, c := range callsOn(a.ID, b) {
		switch c.method {
		case "GetOrganization", "CreateAdmin", "ListAdmins", "CreateKey", "ListKeys", "ListDirectories", "ListJobs":
			continue // no object id of B in these
		case "CreateDirectory":
			// B's key id in A's directory is not a key of A.
			wantCode(t, "A's admin: CreateDirectory with B's key", c.fn(ctx, a.As), roster.EINVALID)
			continue
		}
		wantCode(t, "A's admin: "+c.method+" on A with B's object ids", c.fn(ctx, a.As), roster.ENOTFOUND)
		// The server admin gets the same answer: ids are scoped by the
		// organization in the path, whoever asks.
		wantCode(t, "server admin: "+c.method+" on A with B's object ids", c.fn(ctx, w.root), roster.ENOTFOUND)
	}

	// Only server admins create organizations, and an org admin lists only
	// its own.
	_, err := a.As.CreateOrganization(ctx, manage.OrganizationInput{Name: "rogue"})
	wantCode(t, "A's admin creates an organization", err, roster.EFORBIDDEN)
	_, err = a.As.CreateOrganization(ctx, manage.OrganizationInput{})
	wantCode(t, "A's admin creates an organization without a name", err, roster.EFORBIDDEN)
	covered["CreateOrganization"] = true
	orgs, err := a.As.ListOrganizations(ctx)
	if err != nil || len(orgs) != 1 || orgs[0].ID != a.ID {
		t.Errorf("A's admin lists organizations %+v, %v; want only A", orgs, err)
	}
	covered["ListOrganizations"] = true
	if all, _ := w.root.ListOrganizations(ctx); len(all) != 3 {
		t.Errorf("the server admin lists %d organizations, want 3 (default, A, B)", len(all))
	}

	// Invalid input on another organization is still ENOTFOUND: the
	// answer must not depend on whether B exists.
	_, err = a.As.CreateKey(ctx, b.ID, manage.KeyInput{Users: "bogus"})
	wantCode(t, "A's admin: invalid CreateKey on B", err, roster.ENOTFOUND)
	_, err = a.As.GetOrganization(ctx, roster.NewID())
	wantCode(t, "A's admin: unknown organization", err, roster.ENOTFOUND)

	// Profiles are server configuration, the same for every admin.
	if ps, err := a.As.ListProfiles(ctx); err != nil || len(ps) < 5 {
		t.Errorf("A's admin lists profiles: %d, %v", len(ps), err)
	}
	if p, err := a.As.GetProfile(ctx, "mycompliance"); err != nil || p.Name != "mycompliance" {
		t.Errorf("A's admin gets a profile: %v, %v", p, err)
	}
	_, err = a.As.GetProfile(ctx, "nope")
	wantCode(t, "unknown profile", err, roster.ENOTFOUND)
	covered["ListProfiles"], covered["GetProfile"] = true, true
	_, err = a.As.QueryRequests(ctx, b.ID, manage.RequestFilter{})
	wantCode(t, "A's admin reads B's request log", err, roster.ENOTFOUND)
	if es, err := a.As.QueryRequests(ctx, a.ID, manage.RequestFilter{Status: "4xx", Since: "1h"}); err != nil || es == nil {
		t.Errorf("A's admin reads its own request log: %v, %v", es, err)
	}
	_, err = a.As.QueryRequests(ctx, a.ID, manage.RequestFilter{Status: "bogus"})
	wantCode(t, "a bad status filter", err, roster.EINVALID)
	_, err = a.As.QueryRequests(ctx, a.ID, manage.RequestFilter{Since: "yesterday"})
	wantCode(t, "a bad since", err, roster.EINVALID)
	covered["QueryRequests"] = true

	for _, m := range apiMethods() {
		if !covered[m] {
			t.Errorf("manage.API.%s has no isolation test", m)
		}
	}
	if after := w.snapshot(b); after != before {
		t.Errorf("A's admin changed B:\n%s\nwas\n%s", after, before)
	}
	if after := w.snapshot(a); after != beforeA {
		t.Errorf("refused calls changed A:\n%s\nwas\n%s", after, beforeA)
	}
	if _, err := w.db.Authenticate(ctx, b.Dir.ID, roster.HashSecret(b.KeySecret)); err != nil {
		t.Errorf("B's key after A's attempts: %v", err)
	}
}

// TestNoExistenceOracle: another organization's objects get the very
// answer that ids of no object get, so an admin cannot probe which ids
// exist.
func TestNoExistenceOracle(t *testing.T) {
	w := newWorld(t)
	a, b := w.A, w.B
	ghost := org{ID: roster.NewID(), Key: &manage.NewKey{Key: &roster.APIKey{ID: roster.NewID()}}, Dir: &roster.Directory{ID: roster.NewID()},
		Client: &manage.NewOAuthClient{Client: &roster.OAuthClient{ID: roster.NewID()}}, SecretID: roster.NewID(), Colleague: &roster.Admin{ID: roster.NewID()}, JobID: roster.NewID()}
	norm := func(err error, o org) string {
		m := roster.ErrorCode(err) + ": " + roster.ErrorMessage(err)
		for _, id := range []string{o.ID, o.Key.Key.ID, o.Dir.ID, o.Client.Client.ID, o.SecretID, o.Colleague.ID, o.JobID} {
			m = strings.ReplaceAll(m, id, "<id>")
		}
		return m
	}
	for _, orgID := range []struct{ b, ghost string }{{b.ID, ghost.ID}, {a.ID, a.ID}} {
		real, fake := callsOn(orgID.b, b), callsOn(orgID.ghost, ghost)
		for i := range real {
			if orgID.b == a.ID {
				switch real[i].method {
				case "GetOrganization", "CreateAdmin", "ListAdmins", "CreateKey", "ListKeys", "ListDirectories", "ListJobs":
					continue // no object id: these succeed on A
				case "CreateDirectory":
					continue // names a key, which is EINVALID either way
				}
			}
			got, want := norm(real[i].fn(w.ctx, a.As), b), norm(fake[i].fn(w.ctx, a.As), ghost)
			if got != want || !strings.HasPrefix(got, roster.ENOTFOUND) {
				t.Errorf("%s with B's ids: %q; with unknown ids: %q", real[i].method, got, want)
			}
		}
	}
}

// TestOrgAdminOwnOrganization: an organization admin can do everything
// but create organizations on its own organization.
func TestOrgAdminOwnOrganization(t *testing.T) {
	w := newWorld(t)
	for _, c := range callsOn(w.A.ID, w.A) {
		if err := c.fn(w.ctx, w.A.As); err != nil {
			t.Errorf("A's admin: %s on A: %v", c.method, err)
		}
	}
	if ds, _ := w.root.ListDirectories(w.ctx, w.A.ID); len(ds) != 1 || ds[0].Name != "intruder" {
		t.Errorf("directories of A after the calls: %+v; want only the one created", ds)
	}
	if k, _ := w.root.GetKey(w.ctx, w.A.ID, w.A.Key.Key.ID); k == nil || !k.Revoked {
		t.Errorf("A's key after RevokeKey: %+v", k)
	}
	if _, err := w.db.AuthenticateAdmin(w.ctx, roster.HashSecret(w.A.ColleagueTok)); roster.ErrorCode(err) != roster.EUNAUTHORIZED {
		t.Errorf("A's colleague after RevokeAdmin: %v; want its token refused", err)
	}
	// The admin created by an org admin is an admin of that organization.
	na, err := w.A.As.CreateAdmin(w.ctx, w.A.ID, manage.AdminInput{Name: "colleague"})
	if err != nil {
		t.Fatal(err)
	}
	if na.Admin.OrgID != w.A.ID {
		t.Errorf("an org admin created admin %+v, want one of its organization", na.Admin)
	}
	got, err := w.db.AuthenticateAdmin(w.ctx, roster.HashSecret(na.Secret))
	if err != nil || got.OrgID != w.A.ID {
		t.Errorf("the new admin's token: %+v, %v", got, err)
	}
}

// TestServerAdmin: the server admin and the local command line reach
// every organization.
func TestServerAdmin(t *testing.T) {
	w := newWorld(t)
	for _, s := range []*manage.Session{w.root, w.svc.As(manage.ServerAdmin)} {
		for _, o := range []org{w.A, w.B} {
			if _, err := s.GetOrganization(w.ctx, o.ID); err != nil {
				t.Errorf("server admin: GetOrganization %s: %v", o.ID, err)
			}
			if ks, err := s.ListKeys(w.ctx, o.ID); err != nil || len(ks) != 1 || ks[0].ID != o.Key.Key.ID {
				t.Errorf("server admin: ListKeys %s = %+v, %v", o.ID, ks, err)
			}
		}
		_, err := s.GetOrganization(w.ctx, roster.NewID())
		wantCode(t, "server admin: unknown organization", err, roster.ENOTFOUND)
		// Organization "" is the server admins, whom server admins manage.
		na, err := s.CreateAdmin(w.ctx, "", manage.AdminInput{Name: "another server admin"})
		if err != nil || na.Admin.OrgID != "" || na.Secret == "" {
			t.Fatalf("server admin: CreateAdmin of a server admin: %+v, %v", na, err)
		}
		if ra, err := s.RevokeAdmin(w.ctx, "", na.Admin.ID); err != nil || !ra.Revoked {
			t.Errorf("server admin: RevokeAdmin of a server admin: %+v, %v", ra, err)
		}
	}
}

// TestSecretsShownOnce: secrets come back from the create call only, are
// stored as hashes, and appear in no list or get.
func TestSecretsShownOnce(t *testing.T) {
	w := newWorld(t)
	ctx, s, a := w.ctx, w.root, w.A

	if !strings.HasPrefix(a.KeySecret, "rst_") || !strings.HasPrefix(a.AdminTok, "rsa_") || !strings.HasPrefix(a.Client.Secret, "rst_") {
		t.Errorf("secret prefixes: key %q, admin %q, client %q", a.KeySecret[:4], a.AdminTok[:4], a.Client.Secret[:4])
	}
	// Each secret works where it belongs, and only there.
	if c, err := w.db.Authenticate(ctx, a.Dir.ID, roster.HashSecret(a.KeySecret)); err != nil || c.ID != a.Key.Key.ID {
		t.Errorf("the new key's secret on its directory: %+v, %v", c, err)
	}
	if ad, err := w.db.AuthenticateAdmin(ctx, roster.HashSecret(a.AdminTok)); err != nil || ad.ID != a.Admin.ID || ad.OrgID != a.ID {
		t.Errorf("the new admin's token: %+v, %v", ad, err)
	}
	if _, err := w.db.AuthenticateAdmin(ctx, roster.HashSecret(a.KeySecret)); roster.ErrorCode(err) != roster.EUNAUTHORIZED {
		t.Errorf("a SCIM key as an admin token: %v", err)
	}
	if _, err := w.db.Authenticate(ctx, a.Dir.ID, roster.HashSecret(a.AdminTok)); roster.ErrorCode(err) != roster.EUNAUTHORIZED {
		t.Errorf("an admin token as a SCIM key: %v", err)
	}
	stored, _ := w.db.FindOAuthClient(ctx, a.Client.Client.ID)
	if stored == nil || len(stored.Secrets) != 1 || stored.Secrets[0].ID != a.SecretID ||
		string(stored.Secrets[0].Hash) != string(roster.HashSecret(a.Client.Secret)) {
		t.Errorf("stored client secret does not hash the returned one: %+v", stored)
	}
	ns, err := s.AddOAuthSecret(ctx, a.ID, a.Client.Client.ID, manage.SecretInput{})
	if err != nil {
		t.Fatal(err)
	}
	if ns.Secret == a.Client.Secret || !strings.HasPrefix(ns.Secret, "rst_") || ns.SecretID == "" {
		t.Errorf("AddOAuthSecret = %+v", ns)
	}

	// The create answers carry the secret under one documented name.
	for what, v := range map[string]any{"NewKey": a.Key, "NewAdmin": &manage.NewAdmin{Admin: a.Admin, Secret: a.AdminTok}} {
		m := jsonMap(t, v)
		if m["token"] == "" || m["token"] == nil {
			t.Errorf("%s JSON has no token: %v", what, m)
		}
	}
	if m := jsonMap(t, a.Client); m["client_secret"] != a.Client.Secret || m["secret_id"] != a.SecretID {
		t.Errorf("NewOAuthClient JSON = %v", m)
	}

	// Everything read back later carries neither the secrets nor their
	// hashes, in any encoding.
	keys, _ := s.ListKeys(ctx, a.ID)
	key, _ := s.GetKey(ctx, a.ID, a.Key.Key.ID)
	clients, _ := s.ListOAuthClients(ctx, a.ID, a.Dir.ID)
	dirs, _ := s.ListDirectories(ctx, a.ID)
	admins, _ := s.ListAdmins(ctx, a.ID)
	for what, v := range map[string]any{
		"ListAdmins": admins, "ListKeys": keys, "GetKey": key, "NewKey.Key": a.Key.Key, "ListOAuthClients": clients,
		"NewOAuthClient.Client": a.Client.Client, "NewAdmin.Admin": a.Admin, "ListDirectories": dirs,
	} {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		for _, secret := range []string{a.KeySecret, a.AdminTok, a.Client.Secret, ns.Secret} {
			h := roster.HashSecret(secret)
			for _, leak := range []string{secret, secret[4:], hex.EncodeToString(h), base64.StdEncoding.EncodeToString(h)} {
				if strings.Contains(string(b), leak) {
					t.Errorf("%s JSON contains a secret or its hash: %s", what, b)
				}
			}
		}
		for _, field := range []string{"secret", "secret_hash", "hash", "token", "SecretHash", "Hash", "client_secret"} {
			if strings.Contains(string(b), `"`+field+`":`) {
				t.Errorf("%s JSON has a field %q: %s", what, field, b)
			}
		}
	}
	// The key JSON has exactly the documented fields.
	k := jsonMap(t, key)
	for f := range k {
		if !slices.Contains([]string{"id", "organization_id", "name", "description", "users", "groups", "created", "expires", "last_used", "revoked"}, f) {
			t.Errorf("APIKey JSON has an undocumented field %q", f)
		}
	}
	if len(keys) != 1 || keys[0].SecretHash != nil || key.SecretHash != nil {
		t.Errorf("keys read back carry hashes: %+v, %+v", keys, key)
	}
	// So has the admin JSON.
	for f := range jsonMap(t, admins[0]) {
		if !slices.Contains([]string{"id", "organization_id", "name", "created", "revoked"}, f) {
			t.Errorf("Admin JSON has an undocumented field %q", f)
		}
	}
}

func jsonMap(t *testing.T, v any) map[string]any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestKeysAndDirectories(t *testing.T) {
	w := newWorld(t)
	ctx, s, a := w.ctx, w.root, w.A

	k2, err := s.CreateKey(ctx, a.ID, manage.KeyInput{Name: "rotation", Description: "for the 2025 rotation", Users: roster.PrivRead, Groups: roster.PrivNone})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.GetKey(ctx, a.ID, k2.Key.ID)
	if err != nil || got.Name != "rotation" || got.Description != "for the 2025 rotation" || got.Users != roster.PrivRead || got.Groups != roster.PrivNone || !got.Created.Equal(k2.Key.Created) {
		t.Errorf("GetKey = %+v, %v; want %+v", got, err, k2.Key)
	}
	ks, err := s.ListKeys(ctx, a.ID)
	if err != nil || len(ks) != 2 {
		t.Errorf("ListKeys = %d keys, %v", len(ks), err)
	}
	_, err = s.GetKey(ctx, a.ID, roster.NewID())
	wantCode(t, "GetKey of an unknown key", err, roster.ENOTFOUND)

	// Partial update: only the fields that are set change.
	d, err := s.UpdateDirectory(ctx, a.ID, a.Dir.ID, manage.DirectoryUpdate{KeyIDs: &[]string{a.Key.Key.ID, k2.Key.ID}})
	if err != nil {
		t.Fatal(err)
	}
	if d.Name != a.Dir.Name || d.Profile != "generic" || !slices.Equal(sortedCopy(d.KeyIDs), sortedCopy([]string{a.Key.Key.ID, k2.Key.ID})) {
		t.Errorf("UpdateDirectory keys only: %+v", d)
	}
	d, err = s.UpdateDirectory(ctx, a.ID, a.Dir.ID, manage.DirectoryUpdate{Name: ptr("Entra prod"), Icon: ptr("https://x.example/e.png"), Profile: ptr("mycompliance")})
	if err != nil {
		t.Fatal(err)
	}
	if d.Name != "Entra prod" || d.Icon != "https://x.example/e.png" || d.Profile != "mycompliance" || len(d.KeyIDs) != 2 {
		t.Errorf("UpdateDirectory name, icon, profile: %+v; keys must stay", d)
	}
	if got, _ := s.GetDirectory(ctx, a.ID, a.Dir.ID); !reflect.DeepEqual(got, d) {
		t.Errorf("GetDirectory = %+v, want the updated %+v", got, d)
	}
	d, err = s.UpdateDirectory(ctx, a.ID, a.Dir.ID, manage.DirectoryUpdate{KeyIDs: &[]string{}})
	if err != nil || len(d.KeyIDs) != 0 || d.Name != "Entra prod" {
		t.Errorf("UpdateDirectory clearing keys: %+v, %v", d, err)
	}
	d, err = s.UpdateDirectory(ctx, a.ID, a.Dir.ID, manage.DirectoryUpdate{})
	if err != nil || d.Name != "Entra prod" {
		t.Errorf("an empty update: %+v, %v", d, err)
	}

	rk, err := s.RevokeKey(ctx, a.ID, k2.Key.ID)
	if err != nil || !rk.Revoked || rk.ID != k2.Key.ID {
		t.Errorf("RevokeKey = %+v, %v", rk, err)
	}
	_, err = s.RevokeKey(ctx, a.ID, roster.NewID())
	wantCode(t, "RevokeKey of an unknown key", err, roster.ENOTFOUND)

	if err := s.DeleteDirectory(ctx, a.ID, a.Dir.ID); err != nil {
		t.Fatal(err)
	}
	_, err = s.GetDirectory(ctx, a.ID, a.Dir.ID)
	wantCode(t, "GetDirectory after delete", err, roster.ENOTFOUND)
	_, err = s.ListOAuthClients(ctx, a.ID, a.Dir.ID)
	wantCode(t, "ListOAuthClients of a deleted directory", err, roster.ENOTFOUND)
	wantCode(t, "RevokeOAuthSecret of a deleted directory's client", s.RevokeOAuthSecret(ctx, a.ID, a.Client.Client.ID, a.SecretID), roster.ENOTFOUND)
	wantCode(t, "DeleteDirectory twice", s.DeleteDirectory(ctx, a.ID, a.Dir.ID), roster.ENOTFOUND)
}

// TestAdmins: an organization's admins are listed, revoked ones too, and a
// revoked admin's token stops working at once; an admin cannot revoke
// itself, so nobody locks themselves out by accident.
func TestAdmins(t *testing.T) {
	w := newWorld(t)
	ctx, a := w.ctx, w.A
	ids := func(as []*roster.Admin) []string {
		var out []string
		for _, ad := range as {
			out = append(out, ad.ID)
		}
		return out
	}
	as, err := a.As.ListAdmins(ctx, a.ID)
	if err != nil || !slices.Equal(ids(as), []string{a.Admin.ID, a.Colleague.ID}) {
		t.Fatalf("ListAdmins(A) = %v, %v; want A's admin and colleague", ids(as), err)
	}
	if as[0].Name != a.Admin.Name || as[0].OrgID != a.ID || !as[0].Created.Equal(a.Admin.Created) || as[0].Revoked {
		t.Errorf("ListAdmins(A)[0] = %+v, want %+v", as[0], a.Admin)
	}
	same, err := w.root.ListAdmins(ctx, a.ID)
	if err != nil || !reflect.DeepEqual(same, as) {
		t.Errorf("the server admin lists A's admins %+v, %v; want what A's admin sees", same, err)
	}

	// Revoking oneself is refused with a message that says why, and the
	// token keeps working.
	_, err = a.As.RevokeAdmin(ctx, a.ID, a.Admin.ID)
	wantCode(t, "A's admin revokes itself", err, roster.EINVALID)
	if msg := roster.ErrorMessage(err); !strings.Contains(msg, "itself") {
		t.Errorf("the self-revocation error %q does not say why", msg)
	}
	if _, err := w.db.AuthenticateAdmin(ctx, roster.HashSecret(a.AdminTok)); err != nil {
		t.Errorf("A's admin after refusing its self-revocation: %v", err)
	}

	ra, err := a.As.RevokeAdmin(ctx, a.ID, a.Colleague.ID)
	if err != nil || ra.ID != a.Colleague.ID || !ra.Revoked || ra.OrgID != a.ID || ra.Name != a.Colleague.Name {
		t.Fatalf("RevokeAdmin(colleague) = %+v, %v; want the revoked colleague", ra, err)
	}
	if _, err := w.db.AuthenticateAdmin(ctx, roster.HashSecret(a.ColleagueTok)); roster.ErrorCode(err) != roster.EUNAUTHORIZED {
		t.Errorf("the revoked colleague's token: %v; want EUNAUTHORIZED", err)
	}
	if _, err := w.db.AuthenticateAdmin(ctx, roster.HashSecret(a.AdminTok)); err != nil {
		t.Errorf("A's admin after revoking its colleague: %v", err)
	}
	if _, err := w.db.AuthenticateAdmin(ctx, roster.HashSecret(w.B.ColleagueTok)); err != nil {
		t.Errorf("B's colleague after A revoked its own: %v", err)
	}
	as, _ = a.As.ListAdmins(ctx, a.ID)
	if len(as) != 2 || as[0].Revoked || !as[1].Revoked {
		t.Errorf("ListAdmins(A) after revoking the colleague: %+v; want it listed as revoked", as)
	}
	if again, err := a.As.RevokeAdmin(ctx, a.ID, a.Colleague.ID); err != nil || !again.Revoked {
		t.Errorf("revoking a revoked admin again: %+v, %v", again, err)
	}
	_, err = a.As.RevokeAdmin(ctx, a.ID, roster.NewID())
	wantCode(t, "RevokeAdmin of an unknown admin", err, roster.ENOTFOUND)

	// The server admin may revoke an organization's last admin: it can
	// always create another.
	if ra, err := w.root.RevokeAdmin(ctx, a.ID, a.Admin.ID); err != nil || !ra.Revoked {
		t.Errorf("the server admin revokes A's admin: %+v, %v", ra, err)
	}
	if _, err := w.db.AuthenticateAdmin(ctx, roster.HashSecret(a.AdminTok)); roster.ErrorCode(err) != roster.EUNAUTHORIZED {
		t.Errorf("A's admin after the server admin revoked it: %v", err)
	}
	// Organization "" is the server admins: listed by server admins,
	// forbidden to organization admins, and holding no org admin.
	if list, err := w.root.ListAdmins(ctx, ""); err != nil || len(list) == 0 {
		t.Errorf("the server admin lists server admins: %v, %v", list, err)
	}
	_, err = w.root.RevokeAdmin(ctx, "", w.A.Admin.ID)
	wantCode(t, "RevokeAdmin of an org admin as a server admin", err, roster.ENOTFOUND)
	_, err = w.B.As.ListAdmins(ctx, "")
	wantCode(t, "an org admin lists server admins", err, roster.EFORBIDDEN)
}

func sortedCopy(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return out
}

func TestOAuthClients(t *testing.T) {
	w := newWorld(t)
	ctx, s, a := w.ctx, w.root, w.A
	cs, err := s.ListOAuthClients(ctx, a.ID, a.Dir.ID)
	if err != nil || len(cs) != 1 || cs[0].ID != a.Client.Client.ID || len(cs[0].Secrets) != 1 {
		t.Fatalf("ListOAuthClients = %+v, %v", cs, err)
	}
	ns, err := s.AddOAuthSecret(ctx, a.ID, a.Client.Client.ID, manage.SecretInput{ExpiresIn: "24h"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeOAuthSecret(ctx, a.ID, a.Client.Client.ID, a.SecretID); err != nil {
		t.Fatal(err)
	}
	cs, _ = s.ListOAuthClients(ctx, a.ID, a.Dir.ID)
	state := map[string]bool{}
	for _, sec := range cs[0].Secrets {
		state[sec.ID] = sec.Revoked
	}
	if len(state) != 2 || !state[a.SecretID] || state[ns.SecretID] {
		t.Errorf("secrets after rotation: %+v", cs[0].Secrets)
	}
	wantCode(t, "RevokeOAuthSecret of an unknown secret", s.RevokeOAuthSecret(ctx, a.ID, a.Client.Client.ID, roster.NewID()), roster.ENOTFOUND)
	_, err = s.AddOAuthSecret(ctx, a.ID, roster.NewID(), manage.SecretInput{})
	wantCode(t, "AddOAuthSecret to an unknown client", err, roster.ENOTFOUND)
	_, err = s.CreateOAuthClient(ctx, a.ID, roster.NewID(), manage.OAuthClientInput{Name: "c"})
	wantCode(t, "CreateOAuthClient on an unknown directory", err, roster.ENOTFOUND)
}
