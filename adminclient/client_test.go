package adminclient_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/roster-scim/roster"
	"github.com/roster-scim/roster/adminclient"
	"github.com/roster-scim/roster/adminhttp"
	"github.com/roster-scim/roster/manage"
	"github.com/roster-scim/roster/scim"
	"github.com/roster-scim/roster/scimhttp"
	"github.com/roster-scim/roster/sqlite"
)

// env is a running Roster (SCIM and admin API, as `roster serve` builds
// it) on a real store, a client for it as the server admin, and the same
// service used locally, to compare the two.
type env struct {
	t      *testing.T
	ctx    context.Context
	url    string
	db     *sqlite.DB
	token  string
	remote *adminclient.Client
	local  *manage.Session
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, t.TempDir(), scim.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	b, _, adminSecret := manage.NewBootstrap()
	if err := db.Bootstrap(ctx, b); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	prom := prometheus.NewRegistry()
	svc := manage.New(db)
	svc.Requests = db
	svc.Jobs = db
	srv := scimhttp.New(db, db, nil, log, prom, scimhttp.DefaultConfig())
	srv.Mount("/v1/admin/", adminhttp.New(svc, db, log))
	hs := httptest.NewServer(srv.Handler(prom))
	t.Cleanup(hs.Close)
	return &env{t: t, ctx: ctx, url: hs.URL, db: db, token: adminSecret,
		remote: adminclient.New(hs.URL+"/", adminSecret, hs.Client()), local: svc.As(b.Admin)}
}

// same fails unless remote and local encode to the same JSON: the client
// must hand callers what the service would have handed them.
func same(t *testing.T, what string, remote, local any) {
	t.Helper()
	r, _ := json.Marshal(remote)
	l, _ := json.Marshal(local)
	if string(r) != string(l) {
		t.Errorf("%s over HTTP:\n%s\nlocally:\n%s", what, r, l)
	}
}

func must[T any](t *testing.T, what string) func(v T, err error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return v
	}
}

// TestRoundTrip calls every method of the client and checks each answer
// against the store, through the local service.
func TestRoundTrip(t *testing.T) {
	e := newEnv(t)
	ctx, c, l := e.ctx, e.remote, e.local

	o := must[*roster.Organization](t, "CreateOrganization")(c.CreateOrganization(ctx, manage.OrganizationInput{Name: "Acme"}))
	if o.ID == "" || o.Name != "Acme" || o.Created.IsZero() {
		t.Errorf("CreateOrganization = %+v", o)
	}
	same(t, "GetOrganization", must[*roster.Organization](t, "GetOrganization")(c.GetOrganization(ctx, o.ID)), o)
	same(t, "ListOrganizations", must[[]*roster.Organization](t, "ListOrganizations")(c.ListOrganizations(ctx)),
		must[[]*roster.Organization](t, "local ListOrganizations")(l.ListOrganizations(ctx)))

	na := must[*manage.NewAdmin](t, "CreateAdmin")(c.CreateAdmin(ctx, o.ID, manage.AdminInput{Name: "ops"}))
	if na.Admin.OrgID != o.ID || na.Admin.Name != "ops" || na.Secret == "" {
		t.Errorf("CreateAdmin = %+v", na)
	}
	orgAdmin := adminclient.New(e.url, na.Secret, nil)
	if orgs, err := orgAdmin.ListOrganizations(ctx); err != nil || len(orgs) != 1 || orgs[0].ID != o.ID {
		t.Errorf("the new admin's token lists %+v, %v; want only its organization", orgs, err)
	}
	na2 := must[*manage.NewAdmin](t, "CreateAdmin")(orgAdmin.CreateAdmin(ctx, o.ID, manage.AdminInput{Name: "ops 2"}))
	admins := must[[]*roster.Admin](t, "ListAdmins")(c.ListAdmins(ctx, o.ID))
	if len(admins) != 2 || admins[0].ID != na.Admin.ID || admins[1].ID != na2.Admin.ID || admins[0].Revoked || admins[1].Revoked {
		t.Errorf("ListAdmins = %+v, want ops and ops 2, active", admins)
	}
	same(t, "ListAdmins", admins, must[[]*roster.Admin](t, "local ListAdmins")(l.ListAdmins(ctx, o.ID)))
	same(t, "ListAdmins as the org admin", must[[]*roster.Admin](t, "ListAdmins")(orgAdmin.ListAdmins(ctx, o.ID)), admins)
	ra := must[*roster.Admin](t, "RevokeAdmin")(orgAdmin.RevokeAdmin(ctx, o.ID, na2.Admin.ID))
	if !ra.Revoked || ra.ID != na2.Admin.ID || ra.OrgID != o.ID || ra.Name != "ops 2" {
		t.Errorf("RevokeAdmin = %+v", ra)
	}
	same(t, "RevokeAdmin", []*roster.Admin{admins[0], ra}, must[[]*roster.Admin](t, "local ListAdmins")(l.ListAdmins(ctx, o.ID)))
	if _, err := adminclient.New(e.url, na2.Secret, nil).ListOrganizations(ctx); roster.ErrorCode(err) != roster.EUNAUTHORIZED {
		t.Errorf("the revoked admin's token: %v; want EUNAUTHORIZED", err)
	}
	_, err := orgAdmin.RevokeAdmin(ctx, o.ID, na.Admin.ID)
	wantError(t, "an admin revoking itself", err, roster.EINVALID, "")
	if !strings.Contains(roster.ErrorMessage(err), "itself") {
		t.Errorf("the self-revocation error %q does not say why", roster.ErrorMessage(err))
	}

	nk := must[*manage.NewKey](t, "CreateKey")(c.CreateKey(ctx, o.ID, manage.KeyInput{Name: "entra", Description: "Entra ID", Users: "read", Groups: "none", ExpiresIn: "720h"}))
	if nk.Secret == "" || nk.Key.Users != "read" || nk.Key.Groups != "none" || nk.Key.Expires == nil || nk.Key.Description != "Entra ID" {
		t.Errorf("CreateKey = %+v", nk)
	}
	localKey := must[*roster.APIKey](t, "local GetKey")(l.GetKey(ctx, o.ID, nk.Key.ID))
	same(t, "CreateKey's key", nk.Key, localKey)
	same(t, "GetKey", must[*roster.APIKey](t, "GetKey")(c.GetKey(ctx, o.ID, nk.Key.ID)), localKey)
	same(t, "ListKeys", must[[]*roster.APIKey](t, "ListKeys")(c.ListKeys(ctx, o.ID)), must[[]*roster.APIKey](t, "local ListKeys")(l.ListKeys(ctx, o.ID)))
	if cred, err := e.db.Authenticate(ctx, "nowhere", roster.HashSecret(nk.Secret)); cred != nil || err == nil {
		t.Errorf("a key attached to no directory authenticated: %+v", cred)
	}
	nk2 := must[*manage.NewKey](t, "CreateKey")(c.CreateKey(ctx, o.ID, manage.KeyInput{Name: "rotation"}))

	d := must[*roster.Directory](t, "CreateDirectory")(c.CreateDirectory(ctx, o.ID, manage.DirectoryInput{Name: "Entra", Icon: "https://x.example/e.png", KeyIDs: []string{nk.Key.ID}}))
	localDir := must[*roster.Directory](t, "local GetDirectory")(l.GetDirectory(ctx, o.ID, d.ID))
	same(t, "CreateDirectory", d, localDir)
	same(t, "GetDirectory", must[*roster.Directory](t, "GetDirectory")(c.GetDirectory(ctx, o.ID, d.ID)), localDir)
	same(t, "ListDirectories", must[[]*roster.Directory](t, "ListDirectories")(c.ListDirectories(ctx, o.ID)),
		must[[]*roster.Directory](t, "local ListDirectories")(l.ListDirectories(ctx, o.ID)))
	name, keys := "Entra prod", []string{nk.Key.ID, nk2.Key.ID}
	u := must[*roster.Directory](t, "UpdateDirectory")(c.UpdateDirectory(ctx, o.ID, d.ID, manage.DirectoryUpdate{Name: &name, KeyIDs: &keys}))
	if u.Name != name || u.Icon != d.Icon || len(u.KeyIDs) != 2 {
		t.Errorf("UpdateDirectory = %+v", u)
	}
	same(t, "UpdateDirectory", u, must[*roster.Directory](t, "local GetDirectory")(l.GetDirectory(ctx, o.ID, d.ID)))
	// An update that sets nothing changes nothing.
	same(t, "an empty UpdateDirectory", must[*roster.Directory](t, "UpdateDirectory")(c.UpdateDirectory(ctx, o.ID, d.ID, manage.DirectoryUpdate{})), u)
	if cred, err := e.db.Authenticate(ctx, d.ID, roster.HashSecret(nk2.Secret)); err != nil || cred.ID != nk2.Key.ID {
		t.Errorf("the second key on the directory: %+v, %v", cred, err)
	}

	nc := must[*manage.NewOAuthClient](t, "CreateOAuthClient")(c.CreateOAuthClient(ctx, o.ID, d.ID, manage.OAuthClientInput{Name: "Entra OAuth", Users: "write", Groups: "read", TokenTTL: "2h"}))
	if nc.Secret == "" || nc.SecretID == "" || nc.Client.DirectoryID != d.ID || nc.Client.Users != "write" || nc.Client.Groups != "read" {
		t.Errorf("CreateOAuthClient = %+v", nc)
	}
	stored, err := e.db.FindOAuthClient(ctx, nc.Client.ID)
	if err != nil || len(stored.Secrets) != 1 || string(stored.Secrets[0].Hash) != string(roster.HashSecret(nc.Secret)) {
		t.Errorf("the stored client does not hold the returned secret: %+v, %v", stored, err)
	}
	same(t, "ListOAuthClients", must[[]*roster.OAuthClient](t, "ListOAuthClients")(c.ListOAuthClients(ctx, o.ID, d.ID)),
		must[[]*roster.OAuthClient](t, "local ListOAuthClients")(l.ListOAuthClients(ctx, o.ID, d.ID)))
	ns := must[*manage.NewOAuthSecret](t, "AddOAuthSecret")(c.AddOAuthSecret(ctx, o.ID, nc.Client.ID, manage.SecretInput{ExpiresIn: "24h"}))
	if ns.Secret == "" || ns.SecretID == "" {
		t.Errorf("AddOAuthSecret = %+v", ns)
	}
	if err := c.RevokeOAuthSecret(ctx, o.ID, nc.Client.ID, nc.SecretID); err != nil {
		t.Fatalf("RevokeOAuthSecret: %v", err)
	}
	clients := must[[]*roster.OAuthClient](t, "ListOAuthClients")(c.ListOAuthClients(ctx, o.ID, d.ID))
	if len(clients) != 1 || len(clients[0].Secrets) != 2 {
		t.Fatalf("clients after adding a secret: %+v", clients)
	}
	for _, s := range clients[0].Secrets {
		if s.Revoked != (s.ID == nc.SecretID) || (s.ID == ns.SecretID) == (s.Expires == nil) {
			t.Errorf("secret %+v after rotation", s)
		}
	}

	rk := must[*roster.APIKey](t, "RevokeKey")(c.RevokeKey(ctx, o.ID, nk.Key.ID))
	if !rk.Revoked {
		t.Errorf("RevokeKey = %+v", rk)
	}
	same(t, "RevokeKey", rk, must[*roster.APIKey](t, "local GetKey")(l.GetKey(ctx, o.ID, nk.Key.ID)))
	if err := c.DeleteDirectory(ctx, o.ID, d.ID); err != nil {
		t.Fatalf("DeleteDirectory: %v", err)
	}
	if _, err := l.GetDirectory(ctx, o.ID, d.ID); roster.ErrorCode(err) != roster.ENOTFOUND {
		t.Errorf("the directory after DeleteDirectory: %v", err)
	}
}

// wantError checks that err is a *roster.Error with the code and, when
// message is not "", the message.
func wantError(t *testing.T, what string, err error, code, message string) {
	t.Helper()
	var re *roster.Error
	if !errors.As(err, &re) {
		t.Errorf("%s: error %v (%T), want a *roster.Error", what, err, err)
		return
	}
	if re.Code != code || message != "" && re.Message != message || re.Message == "" {
		t.Errorf("%s: %v, want code %q message %q", what, re, code, message)
	}
}

// TestErrors: errors come back as *roster.Error with the code and message
// the service gives locally.
func TestErrors(t *testing.T) {
	e := newEnv(t)
	ctx, c, l := e.ctx, e.remote, e.local
	o := must[*roster.Organization](t, "CreateOrganization")(c.CreateOrganization(ctx, manage.OrganizationInput{Name: "Acme"}))
	d := must[*roster.Directory](t, "CreateDirectory")(c.CreateDirectory(ctx, o.ID, manage.DirectoryInput{Name: "Entra"}))
	other := must[*roster.Organization](t, "CreateOrganization")(c.CreateOrganization(ctx, manage.OrganizationInput{Name: "Other"}))
	na := must[*manage.NewAdmin](t, "CreateAdmin")(c.CreateAdmin(ctx, other.ID, manage.AdminInput{Name: "other admin"}))
	unknown := roster.NewID()

	// Each call fails the same way over HTTP as locally.
	calls := []struct {
		what string
		code string
		call func(api manage.API) error
	}{
		{"GetOrganization unknown", roster.ENOTFOUND, func(api manage.API) error { _, err := api.GetOrganization(ctx, unknown); return err }},
		{"CreateOrganization without a name", roster.EINVALID, func(api manage.API) error {
			_, err := api.CreateOrganization(ctx, manage.OrganizationInput{})
			return err
		}},
		{"CreateAdmin without a name", roster.EINVALID, func(api manage.API) error {
			_, err := api.CreateAdmin(ctx, o.ID, manage.AdminInput{})
			return err
		}},
		{"CreateKey with a bad privilege", roster.EINVALID, func(api manage.API) error {
			_, err := api.CreateKey(ctx, o.ID, manage.KeyInput{Name: "k", Users: "admin"})
			return err
		}},
		{"CreateKey with a bad expiry", roster.EINVALID, func(api manage.API) error {
			_, err := api.CreateKey(ctx, o.ID, manage.KeyInput{Name: "k", ExpiresIn: "-1h"})
			return err
		}},
		{"ListAdmins unknown", roster.ENOTFOUND, func(api manage.API) error { _, err := api.ListAdmins(ctx, unknown); return err }},
		{"RevokeAdmin unknown", roster.ENOTFOUND, func(api manage.API) error { _, err := api.RevokeAdmin(ctx, o.ID, unknown); return err }},
		{"RevokeAdmin of another organization", roster.ENOTFOUND, func(api manage.API) error {
			_, err := api.RevokeAdmin(ctx, o.ID, na.Admin.ID)
			return err
		}},
		{"ListKeys unknown", roster.ENOTFOUND, func(api manage.API) error { _, err := api.ListKeys(ctx, unknown); return err }},
		{"GetKey unknown", roster.ENOTFOUND, func(api manage.API) error { _, err := api.GetKey(ctx, o.ID, unknown); return err }},
		{"RevokeKey unknown", roster.ENOTFOUND, func(api manage.API) error { _, err := api.RevokeKey(ctx, o.ID, unknown); return err }},
		{"CreateDirectory with an unknown profile", roster.EINVALID, func(api manage.API) error {
			_, err := api.CreateDirectory(ctx, o.ID, manage.DirectoryInput{Name: "d", Profile: "nope"})
			return err
		}},
		{"CreateDirectory with an unknown key", roster.EINVALID, func(api manage.API) error {
			_, err := api.CreateDirectory(ctx, o.ID, manage.DirectoryInput{Name: "d", KeyIDs: []string{unknown}})
			return err
		}},
		{"ListDirectories unknown", roster.ENOTFOUND, func(api manage.API) error { _, err := api.ListDirectories(ctx, unknown); return err }},
		{"GetDirectory unknown", roster.ENOTFOUND, func(api manage.API) error { _, err := api.GetDirectory(ctx, o.ID, unknown); return err }},
		{"GetDirectory of another organization", roster.ENOTFOUND, func(api manage.API) error { _, err := api.GetDirectory(ctx, other.ID, d.ID); return err }},
		{"UpdateDirectory with an empty name", roster.EINVALID, func(api manage.API) error {
			empty := ""
			_, err := api.UpdateDirectory(ctx, o.ID, d.ID, manage.DirectoryUpdate{Name: &empty})
			return err
		}},
		{"DeleteDirectory unknown", roster.ENOTFOUND, func(api manage.API) error { return api.DeleteDirectory(ctx, o.ID, unknown) }},
		{"CreateOAuthClient with a bad lifetime", roster.EINVALID, func(api manage.API) error {
			_, err := api.CreateOAuthClient(ctx, o.ID, d.ID, manage.OAuthClientInput{Name: "c", TokenTTL: "7h"})
			return err
		}},
		{"ListOAuthClients unknown directory", roster.ENOTFOUND, func(api manage.API) error { _, err := api.ListOAuthClients(ctx, o.ID, unknown); return err }},
		{"AddOAuthSecret unknown client", roster.ENOTFOUND, func(api manage.API) error {
			_, err := api.AddOAuthSecret(ctx, o.ID, unknown, manage.SecretInput{})
			return err
		}},
		{"RevokeOAuthSecret unknown", roster.ENOTFOUND, func(api manage.API) error { return api.RevokeOAuthSecret(ctx, o.ID, unknown, unknown) }},
		// Ids that are not one path segment as they stand.
		{"GetOrganization empty id", roster.ENOTFOUND, func(api manage.API) error { _, err := api.GetOrganization(ctx, ""); return err }},
		{"ListKeys empty id", roster.ENOTFOUND, func(api manage.API) error { _, err := api.ListKeys(ctx, ""); return err }},
		{"GetKey ..", roster.ENOTFOUND, func(api manage.API) error { _, err := api.GetKey(ctx, o.ID, ".."); return err }},
		{"GetKey .", roster.ENOTFOUND, func(api manage.API) error { _, err := api.GetKey(ctx, o.ID, "."); return err }},
		{"RevokeKey empty id", roster.ENOTFOUND, func(api manage.API) error { _, err := api.RevokeKey(ctx, o.ID, ""); return err }},
		{"RevokeAdmin empty id", roster.ENOTFOUND, func(api manage.API) error { _, err := api.RevokeAdmin(ctx, o.ID, ""); return err }},
		{"RevokeAdmin ..", roster.ENOTFOUND, func(api manage.API) error { _, err := api.RevokeAdmin(ctx, o.ID, ".."); return err }},
		{"CreateKey on ..", roster.ENOTFOUND, func(api manage.API) error {
			_, err := api.CreateKey(ctx, "..", manage.KeyInput{Name: "k"})
			return err
		}},
		{"DeleteDirectory ..", roster.ENOTFOUND, func(api manage.API) error { return api.DeleteDirectory(ctx, o.ID, "..") }},
		{"GetKey with a slash", roster.ENOTFOUND, func(api manage.API) error { _, err := api.GetKey(ctx, o.ID, "a/b"); return err }},
		{"GetKey with a query", roster.ENOTFOUND, func(api manage.API) error { _, err := api.GetKey(ctx, o.ID, "a?b=c#d"); return err }},
		{"GetDirectory with an escaped slash", roster.ENOTFOUND, func(api manage.API) error { _, err := api.GetDirectory(ctx, o.ID, "x%2Fy"); return err }},
		{"RevokeOAuthSecret with spaces", roster.ENOTFOUND, func(api manage.API) error { return api.RevokeOAuthSecret(ctx, o.ID, "a b", "c d") }},
	}
	for _, cc := range calls {
		localErr := cc.call(l)
		if roster.ErrorCode(localErr) != cc.code {
			t.Errorf("%s locally: %v, want code %q", cc.what, localErr, cc.code)
		}
		wantError(t, cc.what, cc.call(c), cc.code, roster.ErrorMessage(localErr))
	}

	// The server's answers to who is asking.
	_, err := adminclient.New(e.url, na.Secret, nil).CreateOrganization(ctx, manage.OrganizationInput{Name: "rogue"})
	wantError(t, "an org admin creating an organization", err, roster.EFORBIDDEN, "")
	_, err = adminclient.New(e.url, na.Secret, nil).GetOrganization(ctx, o.ID)
	wantError(t, "an org admin reading another organization", err, roster.ENOTFOUND, "")
	_, err = adminclient.New(e.url, "rsa_wrong", nil).ListOrganizations(ctx)
	wantError(t, "a wrong token", err, roster.EUNAUTHORIZED, "")
	_, err = adminclient.New(e.url, "", nil).ListOrganizations(ctx)
	wantError(t, "no token", err, roster.EUNAUTHORIZED, "")
	if keys, err := l.ListKeys(ctx, o.ID); err != nil || len(keys) != 0 {
		t.Errorf("failed calls created keys: %+v, %v", keys, err)
	}
}

// TestNotRoster: answers that are not the admin API's become plain errors
// that name the status, not *roster.Error.
func TestNotRoster(t *testing.T) {
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/v1/admin/organizations":
			http.Error(w, "bad gateway", http.StatusBadGateway)
		default:
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"404"}`))
		}
	}))
	defer hs.Close()
	c := adminclient.New(hs.URL, "rsa_x", nil)
	for what, call := range map[string]func() error{
		"a proxy error":   func() error { _, err := c.ListOrganizations(context.Background()); return err },
		"a JSON non-body": func() error { _, err := c.GetOrganization(context.Background(), "x"); return err },
	} {
		err := call()
		var re *roster.Error
		if err == nil || errors.As(err, &re) {
			t.Errorf("%s: %v; want a plain error", what, err)
			continue
		}
		if !strings.Contains(err.Error(), "admin API") || !strings.ContainsAny(err.Error(), "45") {
			t.Errorf("%s: %q does not say what answered", what, err)
		}
	}
	hs.Close()
	if _, err := c.ListOrganizations(context.Background()); err == nil {
		t.Error("a server that is down: no error")
	}
}

// TestConcurrentCalls: one client serves concurrent callers (its path
// handling must not share state between calls).
func TestConcurrentCalls(t *testing.T) {
	e := newEnv(t)
	o := must[*roster.Organization](t, "CreateOrganization")(e.remote.CreateOrganization(e.ctx, manage.OrganizationInput{Name: "Acme"}))
	errs := make(chan error, 16)
	for i := range 16 {
		go func() {
			k, err := e.remote.CreateKey(e.ctx, o.ID, manage.KeyInput{Name: "k" + string(rune('a'+i))})
			if err == nil {
				_, err = e.remote.GetKey(e.ctx, o.ID, k.Key.ID)
			}
			errs <- err
		}()
	}
	for range 16 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	keys, _ := e.local.ListKeys(e.ctx, o.ID)
	names := []string{}
	for _, k := range keys {
		names = append(names, k.Name)
	}
	if len(slices.Compact(slices.Sorted(slices.Values(names)))) != 16 {
		t.Errorf("keys after 16 concurrent creates: %v", names)
	}
}
