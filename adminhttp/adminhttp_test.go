package adminhttp

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/roster-scim/roster"
	"github.com/roster-scim/roster/manage"
	"github.com/roster-scim/roster/oauthhttp"
	"github.com/roster-scim/roster/scim"
	"github.com/roster-scim/roster/scimhttp"
	"github.com/roster-scim/roster/sqlite"
)

// server is the whole Roster HTTP server, SCIM and admin API, on a real
// SQLite store in t.TempDir(), built as `roster serve` builds it.
type server struct {
	t   *testing.T
	url string
	db  *sqlite.DB
	// root is the server admin's token, created by Bootstrap as by
	// `roster init`.
	root string
	// first is what Bootstrap created: an organization, a directory and
	// its key's secret.
	firstOrg, firstDir, firstKey string
	// skew moves the store's clock, to expire keys without waiting.
	skew atomic.Int64
}

func newServer(t *testing.T) *server {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, t.TempDir(), scim.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	s := &server{t: t, db: db}
	db.Now = func() time.Time { return time.Now().Add(time.Duration(s.skew.Load())) }

	b, secret, adminSecret := manage.NewBootstrap()
	if err := db.Bootstrap(ctx, b); err != nil {
		t.Fatal(err)
	}
	s.root, s.firstOrg, s.firstDir, s.firstKey = adminSecret, b.Org.ID, b.Dir.ID, secret

	log := slog.New(slog.DiscardHandler)
	prom := prometheus.NewRegistry()
	srv := scimhttp.New(db, db, nil, log, prom, scimhttp.DefaultConfig())
	svc := manage.New(db)
	svc.Requests = db
	svc.Jobs = db
	srv.Mount("/v1/admin/", New(svc, db, log))
	srv.Mount(oauthhttp.Path, oauthhttp.New(db, log, db.Now))
	hs := httptest.NewServer(srv.Handler(prom))
	t.Cleanup(hs.Close)
	s.url = hs.URL
	return s
}

// response is an answer with its body read.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r *response) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("answer %d is not JSON: %v\n%s", r.status, err, r.body)
	}
}

// request sends a request with an Authorization header (none when auth is
// ""). body is sent as is when it is a string, else as JSON.
func (s *server) request(method, path, auth string, body any) *response {
	s.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			s.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, s.url+path, rd)
	if err != nil {
		s.t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		s.t.Fatal(err)
	}
	return &response{status: resp.StatusCode, header: resp.Header, body: b}
}

// admin sends an admin API request with a bearer token.
func (s *server) admin(method, path, token string, body any) *response {
	s.t.Helper()
	return s.request(method, path, "Bearer "+token, body)
}

// must sends an admin request that must answer want, and decodes the
// answer into out when out is not nil.
func (s *server) must(method, path, token string, body any, want int, out any) {
	s.t.Helper()
	r := s.admin(method, path, token, body)
	if r.status != want {
		s.t.Fatalf("%s %s: %d, want %d\n%s", method, path, r.status, want, r.body)
	}
	if out != nil {
		r.decode(s.t, out)
	}
}

// wantError checks an admin API error answer: status, JSON body with the
// code and a message, and a challenge on 401.
func wantError(t *testing.T, what string, r *response, status int, code string) {
	t.Helper()
	if r.status != status {
		t.Errorf("%s: status %d, want %d\n%s", what, r.status, status, r.body)
		return
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("%s: Content-Type %q, want application/json", what, ct)
	}
	var e ErrorBody
	if err := json.Unmarshal(r.body, &e); err != nil || e.Error.Code != code || e.Error.Message == "" {
		t.Errorf("%s: body %s, want {\"error\":{\"code\":%q,\"message\":...}}", what, r.body, code)
	}
	if status == http.StatusUnauthorized && !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") {
		t.Errorf("%s: 401 without a Bearer challenge (WWW-Authenticate %q)", what, r.header.Get("WWW-Authenticate"))
	}
}

// ids names the objects a route's path parameters refer to.
type ids map[string]string

var param = regexp.MustCompile(`\{([a-z]+)\}`)

// fill replaces the {name} parameters of a route path.
func fill(path string, v ids) string {
	return param.ReplaceAllStringFunc(path, func(m string) string {
		id, ok := v[m[1:len(m)-1]]
		if !ok {
			panic("no value for " + m + " in " + path)
		}
		return id
	})
}

// orgObjects is one organization with one of each object, made through the
// admin API.
type orgObjects struct {
	ids
	adminToken string // an admin of this organization
	keySecret  string
}

// newOrg creates an organization with an admin, a key, a directory that
// accepts it, and an OAuth client, as the server admin.
func (s *server) newOrg(name string) orgObjects {
	s.t.Helper()
	var o roster.Organization
	s.must("POST", "/v1/admin/organizations", s.root, map[string]any{"name": name}, 201, &o)
	var a manage.NewAdmin
	s.must("POST", "/v1/admin/organizations/"+o.ID+"/admins", s.root, map[string]any{"name": name + " admin"}, 201, &a)
	var k manage.NewKey
	s.must("POST", "/v1/admin/organizations/"+o.ID+"/keys", s.root, map[string]any{"name": name + " key"}, 201, &k)
	var d roster.Directory
	s.must("POST", "/v1/admin/organizations/"+o.ID+"/directories", s.root, map[string]any{"name": name + " Entra", "key_ids": []string{k.Key.ID}}, 201, &d)
	var c manage.NewOAuthClient
	s.must("POST", "/v1/admin/organizations/"+o.ID+"/directories/"+d.ID+"/oauth-clients", s.root, map[string]any{"name": name + " client"}, 201, &c)
	job := s.newJob(o.ID, "hr")
	return orgObjects{
		ids:        ids{"org": o.ID, "admin": a.Admin.ID, "key": k.Key.ID, "dir": d.ID, "client": c.Client.ID, "secret": c.SecretID, "name": "generic", "job": job},
		adminToken: a.Secret, keySecret: k.Secret,
	}
}

// validBody is a body each writing route accepts.
func validBody(rt route, v ids) any {
	switch {
	case strings.HasSuffix(rt.path, "/organizations"):
		return map[string]any{"name": "org"}
	case strings.HasSuffix(rt.path, "/admins"):
		return map[string]any{"name": "admin"}
	case strings.HasSuffix(rt.path, "/keys"):
		return map[string]any{"name": "key", "users": "read", "groups": "none"}
	case strings.HasSuffix(rt.path, "/directories"):
		return map[string]any{"name": "dir", "key_ids": []string{v["key"]}}
	case strings.HasSuffix(rt.path, "{dir}"):
		return map[string]any{"name": "renamed", "key_ids": []string{v["key"]}}
	case strings.HasSuffix(rt.path, "/oauth-clients"):
		return map[string]any{"name": "client", "token_ttl": "2h"}
	case strings.HasSuffix(rt.path, "/secrets"):
		return map[string]any{"expires_in": "720h"}
	}
	return nil
}

func hasBody(rt route) bool { return rt.method == "POST" || rt.method == "PATCH" }

// wantRoutes is every admin endpoint the issue asks for: organizations,
// admins, keys, IdP configurations and OAuth clients. The route list must
// have them all, and nothing else untested.
var wantRoutes = []string{
	"GET /v1/admin/organizations",
	"POST /v1/admin/organizations",
	"GET /v1/admin/organizations/{org}",
	"GET /v1/admin/organizations/{org}/admins",
	"POST /v1/admin/organizations/{org}/admins",
	"DELETE /v1/admin/organizations/{org}/admins/{admin}",
	"GET /v1/admin/organizations/{org}/keys",
	"POST /v1/admin/organizations/{org}/keys",
	"GET /v1/admin/organizations/{org}/keys/{key}",
	"DELETE /v1/admin/organizations/{org}/keys/{key}",
	"GET /v1/admin/organizations/{org}/directories",
	"POST /v1/admin/organizations/{org}/directories",
	"GET /v1/admin/organizations/{org}/directories/{dir}",
	"PATCH /v1/admin/organizations/{org}/directories/{dir}",
	"DELETE /v1/admin/organizations/{org}/directories/{dir}",
	"GET /v1/admin/organizations/{org}/directories/{dir}/oauth-clients",
	"POST /v1/admin/organizations/{org}/directories/{dir}/oauth-clients",
	"POST /v1/admin/organizations/{org}/oauth-clients/{client}/secrets",
	"DELETE /v1/admin/organizations/{org}/oauth-clients/{client}/secrets/{secret}",
	"GET /v1/admin/organizations/{org}/requests",
	"GET /v1/admin/organizations/{org}/jobs",
	"GET /v1/admin/organizations/{org}/jobs/{job}",
	"GET /v1/admin/organizations/{org}/jobs/{job}/logs",
	"GET /v1/admin/profiles",
	"GET /v1/admin/profiles/{name}",
	"GET /v1/admin/server-admins",
	"POST /v1/admin/server-admins",
	"DELETE /v1/admin/server-admins/{admin}",
}

func routeNames() []string {
	var out []string
	for _, rt := range routes {
		out = append(out, rt.method+" "+rt.path)
	}
	return out
}

func TestRouteList(t *testing.T) {
	if got, want := slices.Sorted(slices.Values(routeNames())), slices.Sorted(slices.Values(wantRoutes)); !slices.Equal(got, want) {
		t.Errorf("routes:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestHappyPaths calls every route as the server admin, in an order that
// lets each find what it needs.
func TestHappyPaths(t *testing.T) {
	s := newServer(t)
	hit := map[string]bool{}
	v := ids{}
	call := func(method, pattern string, body any, want int, out any) {
		t.Helper()
		path := fill(pattern, v)
		r := s.admin(method, path, s.root, body)
		if r.status != want {
			t.Fatalf("%s %s: %d, want %d\n%s", method, path, r.status, want, r.body)
		}
		if cc := r.header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("%s %s: Cache-Control %q, want no-store", method, pattern, cc)
		}
		if want == http.StatusNoContent {
			if len(r.body) != 0 {
				t.Errorf("%s %s: 204 with a body: %s", method, pattern, r.body)
			}
		} else if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Errorf("%s %s: Content-Type %q", method, pattern, ct)
		}
		if out != nil {
			r.decode(t, out)
		}
		hit[method+" "+pattern] = true
	}

	var org roster.Organization
	call("POST", "/v1/admin/organizations", map[string]any{"name": "Acme"}, 201, &org)
	if org.ID == "" || org.Name != "Acme" || org.Created.IsZero() {
		t.Errorf("created organization %+v", org)
	}
	v["org"] = org.ID
	var orgs []roster.Organization
	call("GET", "/v1/admin/organizations", nil, 200, &orgs)
	if len(orgs) != 2 || orgs[1].ID != org.ID {
		t.Errorf("organizations %+v, want the first one and Acme", orgs)
	}
	var got roster.Organization
	call("GET", "/v1/admin/organizations/{org}", nil, 200, &got)
	if got.ID != org.ID || got.Name != "Acme" {
		t.Errorf("GET organization = %+v", got)
	}

	var na map[string]any
	call("POST", "/v1/admin/organizations/{org}/admins", map[string]any{"name": "ops"}, 201, &na)
	tok, _ := na["token"].(string)
	if adm, _ := na["admin"].(map[string]any); !strings.HasPrefix(tok, "rsa_") || adm["organization_id"] != org.ID || adm["name"] != "ops" {
		t.Errorf("created admin %v", na)
	}
	v["admin"], _ = na["admin"].(map[string]any)["id"].(string)
	var admins []map[string]any
	call("GET", "/v1/admin/organizations/{org}/admins", nil, 200, &admins)
	if len(admins) != 1 || admins[0]["id"] != v["admin"] || admins[0]["revoked"] != false || admins[0]["token"] != nil {
		t.Errorf("admins %v", admins)
	}
	var ra roster.Admin
	call("DELETE", "/v1/admin/organizations/{org}/admins/{admin}", nil, 200, &ra)
	if !ra.Revoked || ra.ID != v["admin"] || ra.OrgID != org.ID {
		t.Errorf("DELETE admin answered %+v; want the revoked admin", ra)
	}
	wantError(t, "the revoked admin's token", s.admin("GET", fill("/v1/admin/organizations/{org}", v), tok, nil), 401, roster.EUNAUTHORIZED)

	var nk manage.NewKey
	call("POST", "/v1/admin/organizations/{org}/keys", map[string]any{"name": "entra", "description": "Entra ID", "users": "read", "groups": "none", "expires_in": "8760h"}, 201, &nk)
	if !strings.HasPrefix(nk.Secret, "rst_") || nk.Key.Users != "read" || nk.Key.Groups != "none" || nk.Key.Expires == nil || nk.Key.Description != "Entra ID" {
		t.Errorf("created key %+v", nk)
	}
	v["key"] = nk.Key.ID
	var keys []map[string]any
	call("GET", "/v1/admin/organizations/{org}/keys", nil, 200, &keys)
	if len(keys) != 1 || keys[0]["id"] != nk.Key.ID {
		t.Errorf("keys %v", keys)
	}
	var key roster.APIKey
	call("GET", "/v1/admin/organizations/{org}/keys/{key}", nil, 200, &key)
	if key.ID != nk.Key.ID || key.Name != "entra" || key.Revoked {
		t.Errorf("GET key = %+v", key)
	}

	var d roster.Directory
	call("POST", "/v1/admin/organizations/{org}/directories", map[string]any{"name": "Entra", "icon": "https://x.example/e.png", "key_ids": []string{nk.Key.ID}}, 201, &d)
	if d.ID == "" || d.OrgID != org.ID || d.Profile != "generic" || !slices.Equal(d.KeyIDs, []string{nk.Key.ID}) || d.Icon != "https://x.example/e.png" {
		t.Errorf("created directory %+v", d)
	}
	v["dir"] = d.ID
	var dirs []roster.Directory
	call("GET", "/v1/admin/organizations/{org}/directories", nil, 200, &dirs)
	if len(dirs) != 1 || dirs[0].ID != d.ID {
		t.Errorf("directories %+v", dirs)
	}
	call("GET", "/v1/admin/organizations/{org}/directories/{dir}", nil, 200, &got)
	var upd roster.Directory
	call("PATCH", "/v1/admin/organizations/{org}/directories/{dir}", map[string]any{"name": "Entra prod"}, 200, &upd)
	if upd.Name != "Entra prod" || upd.Icon != d.Icon || !slices.Equal(upd.KeyIDs, d.KeyIDs) {
		t.Errorf("PATCH directory name = %+v; the other fields must stay", upd)
	}

	var nc map[string]any
	call("POST", "/v1/admin/organizations/{org}/directories/{dir}/oauth-clients", map[string]any{"name": "Entra OAuth", "users": "write", "groups": "read", "token_ttl": "2h"}, 201, &nc)
	client, _ := nc["client"].(map[string]any)
	if nc["client_secret"] == "" || nc["secret_id"] == "" || client["client_id"] == "" || client["directory_id"] != d.ID {
		t.Errorf("created client %v", nc)
	}
	v["client"], _ = client["client_id"].(string)
	var clients []roster.OAuthClient
	call("GET", "/v1/admin/organizations/{org}/directories/{dir}/oauth-clients", nil, 200, &clients)
	if len(clients) != 1 || clients[0].ID != v["client"] || len(clients[0].Secrets) != 1 {
		t.Errorf("clients %+v", clients)
	}
	var ns manage.NewOAuthSecret
	call("POST", "/v1/admin/organizations/{org}/oauth-clients/{client}/secrets", map[string]any{}, 201, &ns)
	if ns.Secret == "" || ns.SecretID == "" || ns.Secret == nc["client_secret"] {
		t.Errorf("added secret %+v", ns)
	}
	v["secret"], _ = nc["secret_id"].(string)
	call("DELETE", "/v1/admin/organizations/{org}/oauth-clients/{client}/secrets/{secret}", nil, 204, nil)
	call("GET", "/v1/admin/organizations/{org}/directories/{dir}/oauth-clients", nil, 200, &clients)
	for _, sec := range clients[0].Secrets {
		if sec.Revoked != (sec.ID == v["secret"]) {
			t.Errorf("after revoking %s: secret %s revoked = %v", v["secret"], sec.ID, sec.Revoked)
		}
	}

	var revoked roster.APIKey
	call("DELETE", "/v1/admin/organizations/{org}/keys/{key}", nil, 200, &revoked)
	if !revoked.Revoked || revoked.ID != nk.Key.ID {
		t.Errorf("DELETE key answered %+v; want the revoked key", revoked)
	}
	call("DELETE", "/v1/admin/organizations/{org}/directories/{dir}", nil, 204, nil)
	wantError(t, "GET a deleted directory", s.admin("GET", fill("/v1/admin/organizations/{org}/directories/{dir}", v), s.root, nil), 404, roster.ENOTFOUND)

	var entries []roster.RequestEntry
	call("GET", "/v1/admin/organizations/{org}/requests", nil, 200, &entries)
	wantError(t, "a bad status filter", s.admin("GET", fill("/v1/admin/organizations/{org}/requests?status=bogus", v), s.root, nil), 400, roster.EINVALID)

	v["job"] = s.newJob(org.ID, "hr")
	var jobs []manage.Job
	call("GET", "/v1/admin/organizations/{org}/jobs", nil, 200, &jobs)
	if len(jobs) != 1 || jobs[0].ID != v["job"] || jobs[0].Name != "hr" || jobs[0].Definition != nil {
		t.Errorf("jobs %+v", jobs)
	}
	var job manage.Job
	call("GET", "/v1/admin/organizations/{org}/jobs/{job}", nil, 200, &job)
	if job.ID != v["job"] || job.Definition == nil || job.Definition.Target.Token != "(hidden)" {
		t.Errorf("job %+v", job)
	}
	var page manage.JobLogPage
	call("GET", "/v1/admin/organizations/{org}/jobs/{job}/logs", nil, 200, &page)
	if len(page.Entries) != 5 || page.Next != 0 {
		t.Errorf("job log: %d entries, next %d", len(page.Entries), page.Next)
	}

	var sa manage.NewAdmin
	call("POST", "/v1/admin/server-admins", map[string]any{"name": "second operator"}, 201, &sa)
	var sas []roster.Admin
	call("GET", "/v1/admin/server-admins", nil, 200, &sas)
	if len(sas) < 2 || sa.Admin.OrgID != "" {
		t.Errorf("server admins %+v after creating %+v", sas, sa.Admin)
	}
	saved := v["admin"]
	v["admin"] = sa.Admin.ID
	var rsa roster.Admin
	call("DELETE", "/v1/admin/server-admins/{admin}", nil, 200, &rsa)
	if !rsa.Revoked {
		t.Errorf("revoked server admin %+v", rsa)
	}
	v["admin"] = saved

	var profiles []scim.Profile
	call("GET", "/v1/admin/profiles", nil, 200, &profiles)
	if len(profiles) < 5 || profiles[0].Name != "generic" {
		t.Errorf("profiles: %d, first %q; want the five built-ins, generic first", len(profiles), profiles[0].Name)
	}
	v["name"] = "meta-networks-connector"
	var p scim.Profile
	call("GET", "/v1/admin/profiles/{name}", nil, 200, &p)
	if p.Name != "meta-networks-connector" || p.ResourceTypes["User"] == nil {
		t.Errorf("profile %+v", p)
	}
	wantError(t, "GET an unknown profile", s.admin("GET", "/v1/admin/profiles/nope", s.root, nil), 404, roster.ENOTFOUND)

	for _, name := range routeNames() {
		if !hit[name] {
			t.Errorf("route %s has no happy-path test", name)
		}
	}
}

// TestAuthentication: every route needs an admin token; a SCIM key, a
// wrong token, another scheme or none gets 401 with a JSON error and a
// challenge, and changes nothing.
func TestAuthentication(t *testing.T) {
	s := newServer(t)
	o := s.newOrg("Acme")
	before := s.state(o.ids["org"])
	creds := map[string]string{
		"no Authorization":      "",
		"a SCIM key":            "Bearer " + s.firstKey,
		"the org's SCIM key":    "Bearer " + o.keySecret,
		"a wrong token":         "Bearer rsa_" + strings.Repeat("A", 26),
		"an empty bearer":       "Bearer ",
		"the token without":     s.root,
		"Basic":                 "Basic " + s.root,
		"the token with junk":   "Bearer " + s.root + "x",
		"a token with a prefix": "Bearer x" + s.root,
	}
	for _, rt := range routes {
		path := fill(rt.path, o.ids)
		for what, auth := range creds {
			r := s.request(rt.method, path, auth, validBody(rt, o.ids))
			wantError(t, rt.method+" "+rt.path+" with "+what, r, http.StatusUnauthorized, roster.EUNAUTHORIZED)
		}
	}
	if after := s.state(o.ids["org"]); after != before {
		t.Errorf("unauthenticated requests changed the organization:\n%s\nwas\n%s", after, before)
	}
	var orgs []roster.Organization
	s.must("GET", "/v1/admin/organizations", s.root, nil, 200, &orgs)
	if len(orgs) != 2 {
		t.Errorf("unauthenticated requests created organizations: %d", len(orgs))
	}
	// "bearer" is case-insensitive (RFC 9110 §11.1).
	if r := s.request("GET", "/v1/admin/organizations", "bearer "+s.root, nil); r.status != 200 {
		t.Errorf("lower-case bearer scheme: %d %s", r.status, r.body)
	}
	// And an admin token is no SCIM key.
	for _, tok := range []string{s.root, o.adminToken} {
		r := s.request("GET", "/v1/scim/"+s.firstDir+"/Users", "Bearer "+tok, nil)
		if r.status != 401 {
			t.Errorf("an admin token on the SCIM API: %d %s", r.status, r.body)
		}
	}
}

// state is an organization's admins, keys, directories and clients as the
// server admin sees them.
func (s *server) state(org string) string {
	s.t.Helper()
	var b strings.Builder
	for _, p := range []string{"/admins", "/keys", "/directories"} {
		r := s.admin("GET", "/v1/admin/organizations/"+org+p, s.root, nil)
		b.Write(r.body)
	}
	var dirs []roster.Directory
	s.must("GET", "/v1/admin/organizations/"+org+"/directories", s.root, nil, 200, &dirs)
	for _, d := range dirs {
		b.Write(s.admin("GET", "/v1/admin/organizations/"+org+"/directories/"+d.ID+"/oauth-clients", s.root, nil).body)
	}
	return b.String()
}

// TestOrgAdminIsolation: an organization admin gets 404 on every route of
// another organization, whether it names the other organization or its
// own organization with the other's object ids, and 403 on creating
// organizations.
func TestOrgAdminIsolation(t *testing.T) {
	s := newServer(t)
	a, b := s.newOrg("A"), s.newOrg("B")
	beforeA, beforeB := s.state(a.ids["org"]), s.state(b.ids["org"])
	for _, rt := range routes {
		if !strings.Contains(rt.path, "{org}") {
			continue
		}
		r := s.admin(rt.method, fill(rt.path, b.ids), a.adminToken, validBody(rt, b.ids))
		wantError(t, "A's admin: "+rt.method+" "+rt.path+" of B", r, http.StatusNotFound, roster.ENOTFOUND)

		if !strings.Contains(strings.TrimPrefix(rt.path, "/v1/admin/organizations/{org}"), "{") {
			continue // no object id: covered by the organization check
		}
		mixed := ids{"org": a.ids["org"], "admin": b.ids["admin"], "key": b.ids["key"], "dir": b.ids["dir"], "client": b.ids["client"], "secret": b.ids["secret"], "name": "generic", "job": b.ids["job"]}
		body := validBody(rt, a.ids)
		r = s.admin(rt.method, fill(rt.path, mixed), a.adminToken, body)
		wantError(t, "A's admin: "+rt.method+" "+rt.path+" of A with B's ids", r, http.StatusNotFound, roster.ENOTFOUND)
	}
	// A's directory naming B's key.
	r := s.admin("POST", fill("/v1/admin/organizations/{org}/directories", a.ids), a.adminToken, map[string]any{"name": "x", "key_ids": []string{b.ids["key"]}})
	wantError(t, "A's admin: a directory with B's key", r, http.StatusBadRequest, roster.EINVALID)
	r = s.admin("PATCH", fill("/v1/admin/organizations/{org}/directories/{dir}", a.ids), a.adminToken, map[string]any{"key_ids": []string{a.ids["key"], b.ids["key"]}})
	wantError(t, "A's admin: attaching B's key", r, http.StatusBadRequest, roster.EINVALID)

	r = s.admin("POST", "/v1/admin/organizations", a.adminToken, map[string]any{"name": "rogue"})
	wantError(t, "A's admin creates an organization", r, http.StatusForbidden, roster.EFORBIDDEN)
	var orgs []roster.Organization
	s.must("GET", "/v1/admin/organizations", a.adminToken, nil, 200, &orgs)
	if len(orgs) != 1 || orgs[0].ID != a.ids["org"] {
		t.Errorf("A's admin lists %+v, want only A", orgs)
	}
	wantError(t, "A's admin: an unknown organization", s.admin("GET", "/v1/admin/organizations/"+roster.NewID(), a.adminToken, nil), 404, roster.ENOTFOUND)

	if after := s.state(b.ids["org"]); after != beforeB {
		t.Errorf("A's admin changed B:\n%s\nwas\n%s", after, beforeB)
	}
	if after := s.state(a.ids["org"]); after != beforeA {
		t.Errorf("refused requests changed A:\n%s\nwas\n%s", after, beforeA)
	}
	// B's key still works on B's directory.
	if r := s.request("GET", "/v1/scim/"+b.ids["dir"]+"/Users", "Bearer "+b.keySecret, nil); r.status != 200 {
		t.Errorf("B's key after A's attempts: %d %s", r.status, r.body)
	}
	// A's admin can do everything on A.
	for _, rt := range routes {
		if !strings.Contains(rt.path, "{org}") || rt.method == "DELETE" {
			continue
		}
		if r := s.admin(rt.method, fill(rt.path, a.ids), a.adminToken, validBody(rt, a.ids)); r.status >= 300 {
			t.Errorf("A's admin: %s %s of A: %d %s", rt.method, rt.path, r.status, r.body)
		}
	}
}

// TestAdminRevocation: an organization admin lists its organization's
// admins and revokes a colleague, whose token then gets 401 on every
// route; revoking itself is refused with 400, so nobody locks themselves
// out by accident.
func TestAdminRevocation(t *testing.T) {
	s := newServer(t)
	a, b := s.newOrg("A"), s.newOrg("B")
	admins := fill("/v1/admin/organizations/{org}/admins", a.ids)
	var col manage.NewAdmin
	s.must("POST", admins, a.adminToken, map[string]any{"name": "colleague"}, 201, &col)
	var list []roster.Admin
	s.must("GET", admins, a.adminToken, nil, 200, &list)
	if len(list) != 2 || list[0].ID != a.ids["admin"] || list[1].ID != col.Admin.ID || list[0].Revoked || list[1].Revoked {
		t.Fatalf("A's admins %+v; want A's admin and the colleague, both active", list)
	}

	r := s.admin("DELETE", admins+"/"+a.ids["admin"], a.adminToken, nil)
	wantError(t, "A's admin revoking itself", r, http.StatusBadRequest, roster.EINVALID)
	if !strings.Contains(string(r.body), "itself") {
		t.Errorf("the self-revocation error does not say why: %s", r.body)
	}
	s.must("GET", admins, a.adminToken, nil, 200, nil)

	// The colleague works until it is revoked.
	s.must("GET", admins, col.Secret, nil, 200, nil)
	var revoked roster.Admin
	s.must("DELETE", admins+"/"+col.Admin.ID, a.adminToken, nil, 200, &revoked)
	if !revoked.Revoked || revoked.ID != col.Admin.ID || revoked.Name != "colleague" {
		t.Errorf("DELETE admin answered %+v", revoked)
	}
	for _, rt := range routes {
		r := s.request(rt.method, fill(rt.path, a.ids), "Bearer "+col.Secret, validBody(rt, a.ids))
		wantError(t, "the revoked colleague: "+rt.method+" "+rt.path, r, http.StatusUnauthorized, roster.EUNAUTHORIZED)
	}
	s.must("GET", admins, a.adminToken, nil, 200, &list)
	if len(list) != 2 || list[0].Revoked || !list[1].Revoked {
		t.Errorf("A's admins after revoking the colleague: %+v; want it listed as revoked", list)
	}
	// Revoking is idempotent, and other organizations are untouched.
	s.must("DELETE", admins+"/"+col.Admin.ID, a.adminToken, nil, 200, nil)
	wantError(t, "revoking an unknown admin", s.admin("DELETE", admins+"/"+roster.NewID(), a.adminToken, nil), 404, roster.ENOTFOUND)
	s.must("GET", fill("/v1/admin/organizations/{org}/admins", b.ids), b.adminToken, nil, 200, nil)

	// The server admin can revoke an organization's last admin.
	s.must("DELETE", admins+"/"+a.ids["admin"], s.root, nil, 200, &revoked)
	wantError(t, "A's admin after the server admin revoked it", s.admin("GET", admins, a.adminToken, nil), 401, roster.EUNAUTHORIZED)
}

// TestBadBodies: every route with a body refuses unknown fields, bad JSON
// and oversized bodies with a JSON error, and writes nothing.
func TestBadBodies(t *testing.T) {
	s := newServer(t)
	o := s.newOrg("Acme")
	before := s.state(o.ids["org"])
	for _, rt := range routes {
		if !hasBody(rt) {
			continue
		}
		path := fill(rt.path, o.ids)
		good, _ := json.Marshal(validBody(rt, o.ids))
		withUnknown := strings.Replace(string(good), "{", `{"no_such_option":true,`, 1)
		if rt.method == "POST" && strings.HasSuffix(rt.path, "/secrets") {
			withUnknown = `{"expires":"720h"}`
		}
		for what, body := range map[string]string{
			"an unknown field":          withUnknown,
			"a misspelt field":          strings.Replace(string(good), `"`, `"x`, 1),
			"not JSON":                  "name=x",
			"an array":                  `[{"name":"x"}]`,
			"a wrong type":              strings.Replace(string(good), "{", `{"name":7,`, 1),
			"an empty body":             "",
			"trailing data":             string(good) + `{"name":"second"}`,
			"a truncated object":        string(good)[:len(good)-1],
			"null key ids in a list":    strings.Replace(string(good), "{", `{"key_ids":[null, 5],`, 1),
			"a string instead of a map": `"name"`,
		} {
			r := s.admin(rt.method, path, s.root, body)
			wantError(t, rt.method+" "+rt.path+" with "+what, r, http.StatusBadRequest, roster.EINVALID)
		}
		big := `{"name":"` + strings.Repeat("x", maxBody) + `"}`
		wantError(t, rt.method+" "+rt.path+" with a body over the limit", s.admin(rt.method, path, s.root, big), http.StatusRequestEntityTooLarge, roster.ETOOLARGE)
	}
	if after := s.state(o.ids["org"]); after != before {
		t.Errorf("refused bodies changed the organization:\n%s\nwas\n%s", after, before)
	}
	var orgs []roster.Organization
	s.must("GET", "/v1/admin/organizations", s.root, nil, 200, &orgs)
	if len(orgs) != 2 {
		t.Errorf("refused bodies created organizations: %d", len(orgs))
	}
	// Validation errors of the service come back as 400 with its message.
	r := s.admin("POST", fill("/v1/admin/organizations/{org}/keys", o.ids), s.root, map[string]any{"name": "k", "users": "admin"})
	wantError(t, "a bad privilege", r, 400, roster.EINVALID)
	if !strings.Contains(string(r.body), "admin") {
		t.Errorf("the error does not name the bad value: %s", r.body)
	}
}

func TestUnknownEndpoints(t *testing.T) {
	s := newServer(t)
	for _, c := range []struct{ method, path string }{
		{"GET", "/v1/admin/"},
		{"GET", "/v1/admin/nope"},
		{"GET", "/v1/admin/organizations/" + s.firstOrg + "/nope"},
		{"PUT", "/v1/admin/organizations"},
		{"POST", "/v1/admin/organizations/" + s.firstOrg + "/keys/x/y"},
	} {
		r := s.admin(c.method, c.path, s.root, nil)
		if r.status != 404 && r.status != 405 {
			t.Errorf("%s %s: %d, want 404 or 405", c.method, c.path, r.status)
			continue
		}
		var e ErrorBody
		if err := json.Unmarshal(r.body, &e); err != nil || e.Error.Code == "" {
			t.Errorf("%s %s: body %s is not a JSON error", c.method, c.path, r.body)
		}
	}
}

// TestOpenAPI: the OpenAPI document is served without a token and lists
// every route with its method and path parameters.
func TestOpenAPI(t *testing.T) {
	s := newServer(t)
	r := s.request("GET", "/v1/admin/openapi.json", "", nil)
	if r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "application/json") {
		t.Fatalf("openapi.json: %d %s", r.status, r.header.Get("Content-Type"))
	}
	var doc struct {
		OpenAPI string                               `json:"openapi"`
		Paths   map[string]map[string]map[string]any `json:"paths"`
	}
	r.decode(t, &doc)
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Errorf("openapi = %q", doc.OpenAPI)
	}
	var listed []string
	for path, ops := range doc.Paths {
		for method, op := range ops {
			listed = append(listed, strings.ToUpper(method)+" "+path)
			if op["summary"] == "" || op["summary"] == nil {
				t.Errorf("%s %s has no summary", method, path)
			}
			params, _ := op["parameters"].([]any)
			if len(params) != len(param.FindAllString(path, -1)) {
				t.Errorf("%s %s declares %d parameters", method, path, len(params))
			}
		}
	}
	slices.Sort(listed)
	if want := slices.Sorted(slices.Values(wantRoutes)); !slices.Equal(listed, want) {
		t.Errorf("openapi.json lists:\n%s\nwant:\n%s", strings.Join(listed, "\n"), strings.Join(want, "\n"))
	}
}

// scimCall sends a SCIM request with a bearer token.
func (s *server) scimCall(method, dir, path, token string, body any) *response {
	s.t.Helper()
	return s.request(method, "/v1/scim/"+dir+path, "Bearer "+token, body)
}

// wantSCIM checks a SCIM answer's status and, for errors, the SCIM error
// body (RFC 7644 §3.12).
func wantSCIM(t *testing.T, what string, r *response, status int) {
	t.Helper()
	if r.status != status {
		t.Errorf("%s: status %d, want %d\n%s", what, r.status, status, r.body)
		return
	}
	if status < 400 {
		return
	}
	var e struct {
		Schemas []string `json:"schemas"`
		Status  string   `json:"status"`
		Detail  string   `json:"detail"`
	}
	if err := json.Unmarshal(r.body, &e); err != nil || !slices.Contains(e.Schemas, scim.ErrorURN) || e.Status != strconv.Itoa(status) || e.Detail == "" {
		t.Errorf("%s: not a SCIM error body: %s", what, r.body)
	}
	if status == 401 && !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") {
		t.Errorf("%s: 401 without a Bearer challenge", what)
	}
}

// TestKeyLifecycle drives a key from creation to revocation and expiry
// over HTTP, checking what the SCIM API makes of it at each step.
func TestKeyLifecycle(t *testing.T) {
	s := newServer(t)
	var org roster.Organization
	s.must("POST", "/v1/admin/organizations", s.root, map[string]any{"name": "Acme"}, 201, &org)
	base := "/v1/admin/organizations/" + org.ID

	var k1 manage.NewKey
	s.must("POST", base+"/keys", s.root, map[string]any{"name": "read users", "users": "read", "groups": "none"}, 201, &k1)
	var dir roster.Directory
	s.must("POST", base+"/directories", s.root, map[string]any{"name": "Entra", "key_ids": []string{k1.Key.ID}}, 201, &dir)
	user := map[string]any{"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:User"}, "userName": "alice@acme.example"}

	wantSCIM(t, "read key: GET /Users", s.scimCall("GET", dir.ID, "/Users", k1.Secret, nil), 200)
	wantSCIM(t, "read key: POST /Users", s.scimCall("POST", dir.ID, "/Users", k1.Secret, user), 403)
	wantSCIM(t, "read key: GET /Groups", s.scimCall("GET", dir.ID, "/Groups", k1.Secret, nil), 403)
	wantSCIM(t, "read key: POST /Groups", s.scimCall("POST", dir.ID, "/Groups", k1.Secret, map[string]any{"displayName": "eng"}), 403)

	// Rotation: a second key, both attached, both work.
	var k2 manage.NewKey
	s.must("POST", base+"/keys", s.root, map[string]any{"name": "rotation"}, 201, &k2)
	var upd roster.Directory
	s.must("PATCH", base+"/directories/"+dir.ID, s.root, map[string]any{"key_ids": []string{k1.Key.ID, k2.Key.ID}}, 200, &upd)
	if len(upd.KeyIDs) != 2 {
		t.Fatalf("directory keys after attaching two: %v", upd.KeyIDs)
	}
	wantSCIM(t, "first key after rotation: GET /Users", s.scimCall("GET", dir.ID, "/Users", k1.Secret, nil), 200)
	wantSCIM(t, "second key: POST /Users", s.scimCall("POST", dir.ID, "/Users", k2.Secret, user), 201)
	wantSCIM(t, "second key: GET /Groups", s.scimCall("GET", dir.ID, "/Groups", k2.Secret, nil), 200)

	// Use shows in last_used.
	var got roster.APIKey
	s.must("GET", base+"/keys/"+k2.Key.ID, s.root, nil, 200, &got)
	if got.LastUsed == nil {
		t.Error("last_used is not set after the key was used")
	}

	// Revoke the first: 401 for it, the second unaffected.
	var revoked roster.APIKey
	s.must("DELETE", base+"/keys/"+k1.Key.ID, s.root, nil, 200, &revoked)
	if !revoked.Revoked {
		t.Errorf("DELETE key answered %+v", revoked)
	}
	wantSCIM(t, "revoked key: GET /Users", s.scimCall("GET", dir.ID, "/Users", k1.Secret, nil), 401)
	wantSCIM(t, "second key after revoking the first", s.scimCall("GET", dir.ID, "/Users", k2.Secret, nil), 200)

	// A key can only expire in the future.
	wantError(t, "expires_in in the past", s.admin("POST", base+"/keys", s.root, map[string]any{"name": "past", "expires_in": "-1h"}), 400, roster.EINVALID)
	var k3 manage.NewKey
	s.must("POST", base+"/keys", s.root, map[string]any{"name": "short", "expires_in": "1h"}, 201, &k3)
	s.must("PATCH", base+"/directories/"+dir.ID, s.root, map[string]any{"key_ids": []string{k2.Key.ID, k3.Key.ID}}, 200, nil)
	wantSCIM(t, "a key expiring in an hour", s.scimCall("GET", dir.ID, "/Users", k3.Secret, nil), 200)
	s.skew.Store(int64(2 * time.Hour))
	wantSCIM(t, "the key two hours later", s.scimCall("GET", dir.ID, "/Users", k3.Secret, nil), 401)
	wantSCIM(t, "a key without expiry two hours later", s.scimCall("GET", dir.ID, "/Users", k2.Secret, nil), 200)
	wantSCIM(t, "a revoked, detached key", s.scimCall("GET", dir.ID, "/Users", k1.Secret, nil), 401)

	// Another organization's key, unknown secrets and missing ones: 401.
	var other roster.Organization
	s.must("POST", "/v1/admin/organizations", s.root, map[string]any{"name": "Other"}, 201, &other)
	var kb manage.NewKey
	s.must("POST", "/v1/admin/organizations/"+other.ID+"/keys", s.root, map[string]any{"name": "other key"}, 201, &kb)
	var dirB roster.Directory
	s.must("POST", "/v1/admin/organizations/"+other.ID+"/directories", s.root, map[string]any{"name": "other", "key_ids": []string{kb.Key.ID}}, 201, &dirB)
	wantSCIM(t, "the other organization's key on its own directory", s.scimCall("GET", dirB.ID, "/Users", kb.Secret, nil), 200)
	wantError(t, "attaching the other organization's key", s.admin("PATCH", base+"/directories/"+dir.ID, s.root, map[string]any{"key_ids": []string{k2.Key.ID, kb.Key.ID}}), 400, roster.EINVALID)
	for what, tok := range map[string]string{
		"another organization's key": kb.Secret,
		"the bootstrap key":          s.firstKey,
		"an unknown secret":          "rst_" + strings.Repeat("Z", 26),
		"the admin token":            s.root,
	} {
		wantSCIM(t, what+" on the directory", s.scimCall("GET", dir.ID, "/Users", tok, nil), 401)
		wantSCIM(t, what+" writing", s.scimCall("POST", dir.ID, "/Users", tok, user), 401)
	}
	wantSCIM(t, "this directory's key on the other organization's", s.scimCall("GET", dirB.ID, "/Users", k2.Secret, nil), 401)
	wantSCIM(t, "no credentials", s.request("GET", "/v1/scim/"+dir.ID+"/Users", "", nil), 401)

	// Deleting the directory ends access through it.
	s.must("DELETE", base+"/directories/"+dir.ID, s.root, nil, 204, nil)
	wantSCIM(t, "a deleted directory", s.scimCall("GET", dir.ID, "/Users", k2.Secret, nil), 401)
}

// TestPrivilegeCombinations: keys made through the admin API with each
// combination of privileges get exactly the SCIM access they name: reads
// (GET, .search) need read or write, writes need write, 403 otherwise.
func TestPrivilegeCombinations(t *testing.T) {
	s := newServer(t)
	base := "/v1/admin/organizations/" + s.firstOrg
	var dir roster.Directory
	s.must("POST", base+"/directories", s.root, map[string]any{"name": "privileges"}, 201, &dir)
	levels := []string{roster.PrivNone, roster.PrivRead, roster.PrivWrite}
	type key struct{ users, groups, secret, id string }
	var keys []key
	for _, u := range levels {
		for _, g := range levels {
			var nk manage.NewKey
			s.must("POST", base+"/keys", s.root, map[string]any{"name": u + "/" + g, "users": u, "groups": g}, 201, &nk)
			keys = append(keys, key{u, g, nk.Secret, nk.Key.ID})
		}
	}
	var all []string
	for _, k := range keys {
		all = append(all, k.id)
	}
	s.must("PATCH", base+"/directories/"+dir.ID, s.root, map[string]any{"key_ids": all}, 200, nil)

	status := func(priv string, write bool, ok int) int {
		if priv == roster.PrivWrite || !write && priv == roster.PrivRead {
			return ok
		}
		return http.StatusForbidden
	}
	search := map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:SearchRequest"}}
	for i, k := range keys {
		what := "users " + k.users + ", groups " + k.groups + ": "
		n := strconv.Itoa(i)
		wantSCIM(t, what+"GET /Users", s.scimCall("GET", dir.ID, "/Users", k.secret, nil), status(k.users, false, 200))
		wantSCIM(t, what+"POST /Users/.search", s.scimCall("POST", dir.ID, "/Users/.search", k.secret, search), status(k.users, false, 200))
		wantSCIM(t, what+"POST /Users", s.scimCall("POST", dir.ID, "/Users", k.secret, map[string]any{"userName": "user" + n}), status(k.users, true, 201))
		wantSCIM(t, what+"GET /Groups", s.scimCall("GET", dir.ID, "/Groups", k.secret, nil), status(k.groups, false, 200))
		wantSCIM(t, what+"POST /Groups/.search", s.scimCall("POST", dir.ID, "/Groups/.search", k.secret, search), status(k.groups, false, 200))
		wantSCIM(t, what+"POST /Groups", s.scimCall("POST", dir.ID, "/Groups", k.secret, map[string]any{"displayName": "group" + n}), status(k.groups, true, 201))
	}
}

// scimRoute is one SCIM endpoint with a body it accepts.
type scimRoute struct {
	method, path string
	body         any
}

// scimRoutes is every SCIM endpoint of a directory holding user u and
// group g.
func scimRoutes(u, g string) []scimRoute {
	search := map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:SearchRequest"}}
	patch := map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"},
		"Operations": []any{map[string]any{"op": "replace", "path": "displayName", "value": "stolen"}}}
	return []scimRoute{
		{"GET", "/Users", nil},
		{"POST", "/Users", map[string]any{"userName": "intruder"}},
		{"POST", "/Users/.search", search},
		{"GET", "/Users/" + u, nil},
		{"PUT", "/Users/" + u, map[string]any{"userName": "stolen"}},
		{"PATCH", "/Users/" + u, patch},
		{"DELETE", "/Users/" + u, nil},
		{"GET", "/Groups", nil},
		{"POST", "/Groups", map[string]any{"displayName": "intruders"}},
		{"POST", "/Groups/.search", search},
		{"GET", "/Groups/" + g, nil},
		{"PUT", "/Groups/" + g, map[string]any{"displayName": "stolen"}},
		{"PATCH", "/Groups/" + g, patch},
		{"DELETE", "/Groups/" + g, nil},
		{"GET", "/ServiceProviderConfig", nil},
		{"GET", "/ResourceTypes", nil},
		{"GET", "/ResourceTypes/User", nil},
		{"GET", "/Schemas", nil},
		{"GET", "/Schemas/urn:ietf:params:scim:schemas:core:2.0:User", nil},
	}
}

// token gets an OAuth access token for a client, with the secret in the
// form body or as HTTP Basic.
func (s *server) token(clientID, secret string, basic bool) (*response, string) {
	s.t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}}
	if !basic {
		form.Set("client_id", clientID)
		form.Set("client_secret", secret)
	}
	req, err := http.NewRequest("POST", s.url+oauthhttp.Path, strings.NewReader(form.Encode()))
	if err != nil {
		s.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if basic {
		req.SetBasicAuth(url.QueryEscape(clientID), url.QueryEscape(secret))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	r := &response{status: resp.StatusCode, header: resp.Header, body: b}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	_ = json.Unmarshal(b, &tok)
	return r, tok.AccessToken
}

// TestForeignCredentials: every SCIM route of a directory answers 401 with
// a SCIM error body to another organization's key and access token, and to
// this organization's revoked, expired and unattached keys; nothing in the
// directory changes.
func TestForeignCredentials(t *testing.T) {
	s := newServer(t)
	a, b := s.newOrg("A"), s.newOrg("B")
	var u, g map[string]any
	r := s.scimCall("POST", a.ids["dir"], "/Users", a.keySecret, map[string]any{"userName": "alice"})
	r.decode(t, &u)
	r = s.scimCall("POST", a.ids["dir"], "/Groups", a.keySecret, map[string]any{"displayName": "eng", "members": []any{map[string]any{"value": u["id"]}}})
	r.decode(t, &g)
	uid, gid := u["id"].(string), g["id"].(string)

	// B's OAuth client secret is in B's orgObjects only as an id; make a
	// client whose secret we know.
	var bc manage.NewOAuthClient
	s.must("POST", fill("/v1/admin/organizations/{org}/directories/{dir}/oauth-clients", b.ids), s.root, map[string]any{"name": "B oauth"}, 201, &bc)
	tr, bToken := s.token(bc.Client.ID, bc.Secret, false)
	if tr.status != 200 || bToken == "" {
		t.Fatalf("B's token: %d %s", tr.status, tr.body)
	}
	wantSCIM(t, "B's access token on B", s.scimCall("GET", b.ids["dir"], "/Users", bToken, nil), 200)

	base := fill("/v1/admin/organizations/{org}", a.ids)
	mk := func(name, expires string) manage.NewKey {
		body := map[string]any{"name": name}
		if expires != "" {
			body["expires_in"] = expires
		}
		var nk manage.NewKey
		s.must("POST", base+"/keys", s.root, body, 201, &nk)
		return nk
	}
	revoked, expiring, loose := mk("revoked", ""), mk("expiring", "1h"), mk("loose", "")
	s.must("PATCH", base+"/directories/"+a.ids["dir"], s.root, map[string]any{"key_ids": []string{a.ids["key"], revoked.Key.ID, expiring.Key.ID}}, 200, nil)
	wantSCIM(t, "the expiring key before it expires", s.scimCall("GET", a.ids["dir"], "/Users", expiring.Secret, nil), 200)
	s.must("DELETE", base+"/keys/"+revoked.Key.ID, s.root, nil, 200, nil)
	s.skew.Store(int64(90 * time.Minute))

	before := s.scimCall("GET", a.ids["dir"], "/Groups/"+gid, a.keySecret, nil).body
	for what, tok := range map[string]string{
		"B's key":                b.keySecret,
		"B's access token":       bToken,
		"a revoked key":          revoked.Secret,
		"an expired key":         expiring.Secret,
		"a key of A not on it":   loose.Secret,
		"B's OAuth secret":       bc.Secret,
		"A's admin token":        a.adminToken,
		"the server admin token": s.root,
	} {
		for _, rt := range scimRoutes(uid, gid) {
			r := s.scimCall(rt.method, a.ids["dir"], rt.path, tok, rt.body)
			wantSCIM(t, what+": "+rt.method+" "+rt.path, r, 401)
		}
	}
	wantSCIM(t, "A's key after the attempts", s.scimCall("GET", a.ids["dir"], "/Users/"+uid, a.keySecret, nil), 200)
	if after := s.scimCall("GET", a.ids["dir"], "/Groups/"+gid, a.keySecret, nil).body; string(after) != string(before) {
		t.Errorf("A's group changed:\n%s\nwas\n%s", after, before)
	}
	var list struct {
		TotalResults int `json:"totalResults"`
	}
	s.scimCall("GET", a.ids["dir"], "/Users", a.keySecret, nil).decode(t, &list)
	if list.TotalResults != 1 {
		t.Errorf("A's directory holds %d users after the attempts, want 1", list.TotalResults)
	}
}

// TestOAuthClientFlow: an OAuth client made through the admin API gets
// tokens with the lifetime and privileges the admin gave it, on its own
// directory only, and secrets rotate through the admin API.
func TestOAuthClientFlow(t *testing.T) {
	s := newServer(t)
	a, b := s.newOrg("A"), s.newOrg("B")
	clients := fill("/v1/admin/organizations/{org}/directories/{dir}/oauth-clients", a.ids)
	var nc manage.NewOAuthClient
	s.must("POST", clients, s.root, map[string]any{"name": "Entra", "users": "write", "groups": "read", "token_ttl": "2h"}, 201, &nc)

	for _, basic := range []bool{false, true} {
		r, tok := s.token(nc.Client.ID, nc.Secret, basic)
		var body struct {
			TokenType string `json:"token_type"`
			ExpiresIn int    `json:"expires_in"`
		}
		r.decode(t, &body)
		if r.status != 200 || tok == "" || body.TokenType != "Bearer" || body.ExpiresIn != 7200 {
			t.Fatalf("token (basic %v): %d %s; want a Bearer token for 7200 s", basic, r.status, r.body)
		}
		wantSCIM(t, "access token: GET /Users", s.scimCall("GET", a.ids["dir"], "/Users", tok, nil), 200)
		wantSCIM(t, "access token: GET /Groups", s.scimCall("GET", a.ids["dir"], "/Groups", tok, nil), 200)
		wantSCIM(t, "access token: POST /Groups", s.scimCall("POST", a.ids["dir"], "/Groups", tok, map[string]any{"displayName": "g" + strconv.FormatBool(basic)}), 403)
		wantSCIM(t, "access token on B's directory", s.scimCall("GET", b.ids["dir"], "/Users", tok, nil), 401)
		wantSCIM(t, "access token on A's other key's directory", s.scimCall("GET", s.firstDir, "/Users", tok, nil), 401)
	}

	// Rotation through the admin API.
	var ns manage.NewOAuthSecret
	s.must("POST", fill("/v1/admin/organizations/{org}/oauth-clients/", a.ids)+nc.Client.ID+"/secrets", s.root, map[string]any{}, 201, &ns)
	if r, _ := s.token(nc.Client.ID, ns.Secret, false); r.status != 200 {
		t.Errorf("the added secret: %d %s", r.status, r.body)
	}
	s.must("DELETE", fill("/v1/admin/organizations/{org}/oauth-clients/", a.ids)+nc.Client.ID+"/secrets/"+nc.SecretID, s.root, nil, 204, nil)
	if r, _ := s.token(nc.Client.ID, nc.Secret, false); r.status != 401 {
		t.Errorf("a revoked secret: %d %s, want 401", r.status, r.body)
	}
	if r, _ := s.token(nc.Client.ID, ns.Secret, true); r.status != 200 {
		t.Errorf("the remaining secret after revoking the first: %d %s", r.status, r.body)
	}
	// B's admin cannot see or rotate A's client.
	r := s.admin("POST", fill("/v1/admin/organizations/{org}/oauth-clients/", b.ids)+nc.Client.ID+"/secrets", b.adminToken, map[string]any{})
	wantError(t, "B's admin adding a secret to A's client", r, 404, roster.ENOTFOUND)
	r = s.admin("GET", clients, b.adminToken, nil)
	wantError(t, "B's admin listing A's clients", r, 404, roster.ENOTFOUND)
}

// TestUnplainText: ids and query values with a NUL character or invalid
// UTF-8 are refused before they reach the store, where PostgreSQL would
// reject them as query arguments (a 500).
func TestUnplainText(t *testing.T) {
	s := newServer(t)
	for _, path := range []string{
		"/v1/admin/organizations/%00",
		"/v1/admin/organizations/%FF",
		"/v1/admin/organizations/" + s.firstOrg + "/keys/a%00b",
		"/v1/admin/organizations/" + s.firstOrg + "/directories/%C3%28",
		"/v1/admin/organizations/" + s.firstOrg + "/requests?directory=%00",
	} {
		wantError(t, "GET "+path, s.admin("GET", path, s.root, nil), http.StatusBadRequest, roster.EINVALID)
	}
	if r := s.request("GET", "/v1/admin/organizations/%00", "", nil); r.status != http.StatusUnauthorized {
		t.Errorf("without a token: %d, want 401 before the id is looked at", r.status)
	}
}
