package oauthhttp_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/roster-scim/roster"
	"github.com/roster-scim/roster/oauthhttp"
	"github.com/roster-scim/roster/scim"
	"github.com/roster-scim/roster/scimhttp"
	"github.com/roster-scim/roster/sqlite"
)

// clock is the one time source of the store and the token endpoint, so
// that a test can move both past a token's expiry at once.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// syncBuffer collects log output written from server goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// env is a Roster server as `roster serve` would mount it: the token
// endpoint and the SCIM API behind one ServeMux, on a real SQLite store.
type env struct {
	t     *testing.T
	db    *sqlite.DB
	data  string // the data directory
	clock *clock
	logs  *syncBuffer
	srv   *httptest.Server
	store *failingStore
	org   string // organization of directory dir
	dir   string // directory A
}

// failingStore lets a test make CreateAccessToken fail, to reach the
// internal-error path a healthy database never takes.
type failingStore struct {
	roster.AdminStore
	mu   sync.Mutex
	fail error
}

func (s *failingStore) CreateAccessToken(ctx context.Context, t *roster.AccessToken) error {
	s.mu.Lock()
	err := s.fail
	s.mu.Unlock()
	if err != nil {
		return err
	}
	return s.AdminStore.CreateAccessToken(ctx, t)
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	data := t.TempDir()
	db, err := sqlite.Open(ctx, data, scim.NewRegistry())
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	clk := &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	db.Now = clk.Now

	_, hash := roster.NewSecret()
	b := &roster.Bootstrap{
		Org: roster.Organization{ID: roster.NewID(), Name: "Test organization"},
		Dir: roster.Directory{ID: roster.NewID(), Name: "Test directory"},
		Key: roster.APIKey{ID: roster.NewID(), Name: "initial key", SecretHash: hash, Users: roster.PrivWrite, Groups: roster.PrivWrite},
	}
	b.Dir.OrgID, b.Key.OrgID = b.Org.ID, b.Org.ID
	if err := db.Bootstrap(ctx, b); err != nil {
		t.Fatalf("bootstrap: %v", err)
	}

	e := &env{t: t, db: db, data: data, clock: clk, logs: &syncBuffer{}, store: &failingStore{AdminStore: db}, org: b.Org.ID, dir: b.Dir.ID}
	log := slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	prom := prometheus.NewRegistry()
	scimSrv := scimhttp.New(db, db, nil, log, prom, scimhttp.DefaultConfig())
	mux := http.NewServeMux()
	mux.Handle(oauthhttp.Path, oauthhttp.New(e.store, log, clk.Now))
	mux.Handle("/", scimSrv.Handler(prom))
	e.srv = httptest.NewServer(mux)
	t.Cleanup(e.srv.Close)
	return e
}

// addDirectory adds a directory to an organization ("" for a new one).
func (e *env) addDirectory(org string) (orgID, dirID string) {
	e.t.Helper()
	ctx := context.Background()
	if org == "" {
		o := &roster.Organization{ID: roster.NewID(), Name: "Other organization"}
		if err := e.db.CreateOrganization(ctx, o); err != nil {
			e.t.Fatal(err)
		}
		org = o.ID
	}
	d := &roster.Directory{ID: roster.NewID(), OrgID: org, Name: "Another directory", Profile: "generic"}
	if err := e.db.CreateDirectory(ctx, d); err != nil {
		e.t.Fatal(err)
	}
	return org, d.ID
}

// addClient creates an OAuth client of a directory with one new secret.
func (e *env) addClient(org, dir string, ttl time.Duration, users, groups string) (clientID, secret string, s roster.OAuthSecret) {
	e.t.Helper()
	secret, s = roster.NewClientSecret()
	c := &roster.OAuthClient{ID: roster.NewID(), OrgID: org, DirectoryID: dir, Name: "Entra", Users: users, Groups: groups, TokenTTL: ttl, Secrets: []roster.OAuthSecret{s}}
	if err := e.db.CreateOAuthClient(context.Background(), c); err != nil {
		e.t.Fatalf("create OAuth client: %v", err)
	}
	return c.ID, secret, c.Secrets[0]
}

// result is one HTTP exchange.
type result struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

func (e *env) do(req *http.Request) result {
	e.t.Helper()
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := result{status: resp.StatusCode, header: resp.Header, raw: string(raw)}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &r.body); err != nil {
			e.t.Fatalf("response body is not a JSON object: %v\n%s", err, raw)
		}
	}
	return r
}

// tokenRequest builds a token request. basic, when not nil, holds the id
// and secret to send as HTTP Basic, form-urlencoded as RFC 6749 §2.3.1 says.
func (e *env) tokenRequest(form url.Values, basic *[2]string) *http.Request {
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+oauthhttp.Path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if basic != nil {
		req.SetBasicAuth(url.QueryEscape(basic[0]), url.QueryEscape(basic[1]))
	}
	return req
}

// postToken gets a token with client_secret_post and fails the test
// unless it is issued.
func (e *env) postToken(clientID, secret string) (token string, res result) {
	e.t.Helper()
	res = e.do(e.tokenRequest(url.Values{"grant_type": {"client_credentials"}, "client_id": {clientID}, "client_secret": {secret}}, nil))
	if res.status != http.StatusOK {
		e.t.Fatalf("token request: status %d, want 200: %s", res.status, res.raw)
	}
	token, _ = res.body["access_token"].(string)
	return token, res
}

// scimStatus is the status of GET /Users in a directory with a bearer token.
func (e *env) scimStatus(dir, token string) int {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/v1/scim/"+dir+"/Users", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	return e.do(req).status
}

// checkTokenResponse checks the RFC 6749 §5.1 shape of a success.
func checkTokenResponse(t *testing.T, res result, wantTTL time.Duration) {
	t.Helper()
	if ct := res.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	if got := res.header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", got)
	}
	if got := res.header.Get("Pragma"); got != "no-cache" {
		t.Errorf("Pragma = %q, want no-cache", got)
	}
	if tok, _ := res.body["access_token"].(string); !strings.HasPrefix(tok, oauthhttp.TokenPrefix) || len(tok) < len(oauthhttp.TokenPrefix)+26 {
		t.Errorf("access_token = %q, want %s followed by 26 random characters", tok, oauthhttp.TokenPrefix)
	}
	if res.body["token_type"] != "Bearer" {
		t.Errorf("token_type = %v, want Bearer", res.body["token_type"])
	}
	if got, want := res.body["expires_in"], float64(wantTTL/time.Second); got != want {
		t.Errorf("expires_in = %v, want %v", got, want)
	}
	if _, ok := res.body["refresh_token"]; ok {
		t.Error("client credentials responses must not carry a refresh_token (RFC 6749 §4.4.3)")
	}
}

func TestClientSecretPost(t *testing.T) {
	e := newEnv(t)
	id, secret, _ := e.addClient(e.org, e.dir, 0, roster.PrivWrite, roster.PrivWrite)
	token, res := e.postToken(id, secret)
	checkTokenResponse(t, res, roster.DefaultTokenTTL)
	if got := e.scimStatus(e.dir, token); got != http.StatusOK {
		t.Errorf("GET /Users with the access token: %d, want 200", got)
	}
}

func TestClientSecretBasic(t *testing.T) {
	e := newEnv(t)
	id, secret, _ := e.addClient(e.org, e.dir, 2*time.Hour, roster.PrivRead, roster.PrivNone)
	res := e.do(e.tokenRequest(url.Values{"grant_type": {"client_credentials"}}, &[2]string{id, secret}))
	if res.status != http.StatusOK {
		t.Fatalf("status %d: %s", res.status, res.raw)
	}
	checkTokenResponse(t, res, 2*time.Hour)
	if got := e.scimStatus(e.dir, res.body["access_token"].(string)); got != http.StatusOK {
		t.Errorf("GET /Users with the access token: %d, want 200", got)
	}

	// A client_id in the body as well is tolerated when it is the same one.
	res = e.do(e.tokenRequest(url.Values{"grant_type": {"client_credentials"}, "client_id": {id}}, &[2]string{id, secret}))
	if res.status != http.StatusOK {
		t.Errorf("Basic plus the same client_id in the body: status %d: %s", res.status, res.raw)
	}

	// Clients that skip the §2.3.1 encoding still work: Roster's ids and
	// secrets contain nothing it would change.
	req := e.tokenRequest(url.Values{"grant_type": {"client_credentials"}}, nil)
	req.Header.Set("Authorization", "basic "+base64.StdEncoding.EncodeToString([]byte(id+":"+secret)))
	if res := e.do(req); res.status != http.StatusOK {
		t.Errorf("unencoded Basic with a lower-case scheme: status %d: %s", res.status, res.raw)
	}
}

// TestBasicFormURLEncoding uses an id and secret with the characters that
// RFC 6749 §2.3.1 encoding exists for: a colon, a plus, a percent sign, a
// space and non-ASCII text.
func TestBasicFormURLEncoding(t *testing.T) {
	e := newEnv(t)
	id, secret := "entra:client+1 ü%", "s3cret:with+plus %25 and ü"
	s := roster.OAuthSecret{ID: roster.NewID(), Hash: roster.HashSecret(secret)}
	c := &roster.OAuthClient{ID: id, OrgID: e.org, DirectoryID: e.dir, Name: "odd", Users: roster.PrivRead, Groups: roster.PrivRead, Secrets: []roster.OAuthSecret{s}}
	if err := e.db.CreateOAuthClient(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	res := e.do(e.tokenRequest(url.Values{"grant_type": {"client_credentials"}}, &[2]string{id, secret}))
	if res.status != http.StatusOK {
		t.Fatalf("encoded Basic: status %d: %s", res.status, res.raw)
	}
	if got := e.scimStatus(e.dir, res.body["access_token"].(string)); got != http.StatusOK {
		t.Errorf("GET /Users: %d, want 200", got)
	}
	// The same pair in the body needs no extra encoding.
	e.postToken(id, secret)
}

func TestScopeIsEchoed(t *testing.T) {
	e := newEnv(t)
	id, secret, _ := e.addClient(e.org, e.dir, 0, roster.PrivWrite, roster.PrivWrite)
	res := e.do(e.tokenRequest(url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret}, "scope": {"api://roster/.default"}}, nil))
	if res.status != http.StatusOK || res.body["scope"] != "api://roster/.default" {
		t.Errorf("status %d, scope %v; want 200 and the requested scope", res.status, res.body["scope"])
	}
	_, res = e.postToken(id, secret)
	if _, ok := res.body["scope"]; ok {
		t.Errorf("scope present without one requested: %s", res.raw)
	}
}

// TestTokenIsBoundToItsDirectory checks isolation: a token opens only its
// client's directory, not another of the same organization nor one of
// another organization.
func TestTokenIsBoundToItsDirectory(t *testing.T) {
	e := newEnv(t)
	_, sameOrgDir := e.addDirectory(e.org)
	otherOrg, otherOrgDir := e.addDirectory("")
	id, secret, _ := e.addClient(e.org, e.dir, 0, roster.PrivWrite, roster.PrivWrite)
	token, _ := e.postToken(id, secret)
	for name, dir := range map[string]string{"same organization": sameOrgDir, "other organization": otherOrgDir} {
		if got := e.scimStatus(dir, token); got != http.StatusUnauthorized {
			t.Errorf("%s: GET /Users with directory A's token: %d, want 401", name, got)
		}
	}
	// And the other organization's own client works only there.
	idB, secretB, _ := e.addClient(otherOrg, otherOrgDir, 0, roster.PrivRead, roster.PrivRead)
	tokenB, _ := e.postToken(idB, secretB)
	if got := e.scimStatus(otherOrgDir, tokenB); got != http.StatusOK {
		t.Errorf("directory B's token on directory B: %d, want 200", got)
	}
	if got := e.scimStatus(e.dir, tokenB); got != http.StatusUnauthorized {
		t.Errorf("directory B's token on directory A: %d, want 401", got)
	}
}

func TestTokenExpires(t *testing.T) {
	for _, ttl := range []time.Duration{0, roster.MinTokenTTL, 90 * time.Minute, roster.MaxTokenTTL} {
		t.Run(ttl.String(), func(t *testing.T) {
			e := newEnv(t)
			id, secret, _ := e.addClient(e.org, e.dir, ttl, roster.PrivWrite, roster.PrivWrite)
			want := ttl
			if want == 0 {
				want = roster.DefaultTokenTTL
			}
			token, res := e.postToken(id, secret)
			checkTokenResponse(t, res, want)
			e.clock.Advance(want - time.Second)
			if got := e.scimStatus(e.dir, token); got != http.StatusOK {
				t.Errorf("one second before expiry: %d, want 200", got)
			}
			e.clock.Advance(time.Second)
			if got := e.scimStatus(e.dir, token); got != http.StatusUnauthorized {
				t.Errorf("at expiry: %d, want 401", got)
			}
			// A new token works again.
			token, _ = e.postToken(id, secret)
			if got := e.scimStatus(e.dir, token); got != http.StatusOK {
				t.Errorf("fresh token after expiry: %d, want 200", got)
			}
		})
	}
}

// TestOutOfRangeTTLIsClamped covers lifetimes stored without ValidTokenTTL: the
// endpoint clamps them instead of breaking the directory's provisioning.
func TestOutOfRangeTTLIsClamped(t *testing.T) {
	e := newEnv(t)
	for stored, want := range map[time.Duration]time.Duration{time.Minute: roster.MinTokenTTL, 24 * time.Hour: roster.MaxTokenTTL} {
		id, secret, _ := e.addClient(e.org, e.dir, stored, roster.PrivWrite, roster.PrivWrite)
		_, res := e.postToken(id, secret)
		checkTokenResponse(t, res, want)
	}
	if !strings.Contains(e.logs.String(), "clamped") {
		t.Error("clamping was not logged")
	}
}

// TestSecretRotation walks through rotating a secret without downtime: add
// a second secret, use both, revoke the first.
func TestSecretRotation(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	id, oldSecret, oldS := e.addClient(e.org, e.dir, 0, roster.PrivWrite, roster.PrivWrite)
	newSecret, newS := roster.NewClientSecret()
	if err := e.db.AddOAuthSecret(ctx, e.org, id, &newS); err != nil {
		t.Fatal(err)
	}
	oldToken, _ := e.postToken(id, oldSecret)
	newToken, _ := e.postToken(id, newSecret)
	for _, tok := range []string{oldToken, newToken} {
		if got := e.scimStatus(e.dir, tok); got != http.StatusOK {
			t.Errorf("token from either secret: %d, want 200", got)
		}
	}
	if err := e.db.RevokeOAuthSecret(ctx, e.org, id, oldS.ID); err != nil {
		t.Fatal(err)
	}
	res := e.do(e.tokenRequest(url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {oldSecret}}, nil))
	checkError(t, res, http.StatusUnauthorized, "invalid_client", "revoked")
	e.postToken(id, newSecret)
	// Tokens issued before the revocation live out their lifetime (the
	// store documents this); the lifetime bounds the exposure.
	if got := e.scimStatus(e.dir, oldToken); got != http.StatusOK {
		t.Errorf("token issued before revocation: %d, want 200", got)
	}
}

func TestExpiredSecret(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	id, _, _ := e.addClient(e.org, e.dir, 0, roster.PrivWrite, roster.PrivWrite)
	secret, s := roster.NewClientSecret()
	exp := e.clock.Now().Add(24 * time.Hour)
	s.Expires = &exp
	if err := e.db.AddOAuthSecret(ctx, e.org, id, &s); err != nil {
		t.Fatal(err)
	}
	e.postToken(id, secret)
	e.clock.Advance(24 * time.Hour)
	res := e.do(e.tokenRequest(url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret}}, nil))
	checkError(t, res, http.StatusUnauthorized, "invalid_client", "expired")
}

// checkError checks an RFC 6749 §5.2 error response: status, code, a
// description containing want, the §5.2 character set, no SCIM error body,
// and no caching.
func checkError(t *testing.T, res result, status int, code, want string) {
	t.Helper()
	if res.status != status {
		t.Errorf("status = %d, want %d: %s", res.status, status, res.raw)
	}
	if res.body["error"] != code {
		t.Errorf("error = %v, want %s: %s", res.body["error"], code, res.raw)
	}
	desc, _ := res.body["error_description"].(string)
	if !strings.Contains(desc, want) {
		t.Errorf("error_description = %q, want it to mention %q", desc, want)
	}
	for _, c := range desc {
		if c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			t.Errorf("error_description has %q, outside the RFC 6749 §5.2 character set: %q", c, desc)
		}
	}
	if _, ok := res.body["schemas"]; ok {
		t.Errorf("the token endpoint answered with a SCIM error body: %s", res.raw)
	}
	if ct := res.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	if res.header.Get("Cache-Control") != "no-store" || res.header.Get("Pragma") != "no-cache" {
		t.Errorf("Cache-Control %q, Pragma %q; want no-store, no-cache", res.header.Get("Cache-Control"), res.header.Get("Pragma"))
	}
	if status == http.StatusUnauthorized && res.header.Get("WWW-Authenticate") != `Basic realm="roster"` {
		t.Errorf("WWW-Authenticate = %q, want Basic realm=\"roster\"", res.header.Get("WWW-Authenticate"))
	}
	if status != http.StatusUnauthorized && res.header.Get("WWW-Authenticate") != "" {
		t.Errorf("WWW-Authenticate on a %d: %q", status, res.header.Get("WWW-Authenticate"))
	}
}

func TestErrors(t *testing.T) {
	e := newEnv(t)
	id, secret, _ := e.addClient(e.org, e.dir, 0, roster.PrivWrite, roster.PrivWrite)
	noPriv, noPrivSecret, _ := e.addClient(e.org, e.dir, 0, roster.PrivNone, roster.PrivNone)
	_, otherSecret, _ := e.addClient(e.org, e.dir, 0, roster.PrivWrite, roster.PrivWrite)
	cc := "client_credentials"
	post := func(kv ...string) url.Values {
		v := url.Values{}
		for i := 0; i < len(kv); i += 2 {
			v.Add(kv[i], kv[i+1])
		}
		return v
	}
	basic := func(id, secret string) *[2]string { return &[2]string{id, secret} }
	withHeader := func(name, value string) func(*http.Request) {
		return func(r *http.Request) { r.Header.Set(name, value) }
	}

	tests := []struct {
		name   string
		form   url.Values
		basic  *[2]string
		modify func(*http.Request)
		status int
		code   string
		want   string // part of error_description
	}{
		{name: "GET", form: post("grant_type", cc, "client_id", id, "client_secret", secret),
			modify: func(r *http.Request) { r.Method = http.MethodGet }, status: 405, code: "invalid_request", want: "POST only"},
		{name: "PUT", form: post("grant_type", cc, "client_id", id, "client_secret", secret),
			modify: func(r *http.Request) { r.Method = http.MethodPut }, status: 405, code: "invalid_request", want: "POST only"},
		{name: "JSON body", form: post("grant_type", cc, "client_id", id, "client_secret", secret),
			modify: withHeader("Content-Type", "application/json"), status: 400, code: "invalid_request", want: "application/x-www-form-urlencoded"},
		{name: "no content type", form: post("grant_type", cc, "client_id", id, "client_secret", secret),
			modify: func(r *http.Request) { r.Header.Del("Content-Type") }, status: 400, code: "invalid_request", want: "got Content-Type none"},
		{name: "malformed form", form: post("grant_type", cc),
			modify: func(r *http.Request) { setBody(r, "grant_type=client_credentials&client_id=%zz") }, status: 400, code: "invalid_request", want: "not valid"},
		{name: "body too large", form: post("grant_type", cc),
			modify: func(r *http.Request) { setBody(r, "scope="+strings.Repeat("a", 20<<10)) }, status: 400, code: "invalid_request", want: "larger than"},
		{name: "repeated parameter", form: post("grant_type", cc, "grant_type", cc, "client_id", id, "client_secret", secret),
			status: 400, code: "invalid_request", want: "grant_type' appears 2 times"},
		{name: "secret in the URL", form: post("grant_type", cc, "client_id", id),
			modify: func(r *http.Request) { r.URL.RawQuery = "client_secret=" + url.QueryEscape(secret) }, status: 400, code: "invalid_request", want: "URL"},
		{name: "parameters in the URL", form: post(),
			modify: func(r *http.Request) {
				r.URL.RawQuery = "grant_type=client_credentials"
				r.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(id+":"+secret)))
			}, status: 400, code: "invalid_request", want: "request body"},
		{name: "missing grant_type", form: post("client_id", id, "client_secret", secret),
			status: 400, code: "invalid_request", want: "grant_type is missing"},
		{name: "empty grant_type", form: post("grant_type", "", "client_id", id, "client_secret", secret),
			status: 400, code: "invalid_request", want: "grant_type is missing"},
		{name: "password grant", form: post("grant_type", "password", "username", "u", "password", "p", "client_id", id, "client_secret", secret),
			status: 400, code: "unsupported_grant_type", want: "'password' is not supported"},
		{name: "authorization code grant", form: post("grant_type", "authorization_code", "code", "x", "client_id", id, "client_secret", secret),
			status: 400, code: "unsupported_grant_type", want: "client_credentials only"},
		{name: "quoted grant type is shown safely", form: post("grant_type", `a"b\c`, "client_id", id, "client_secret", secret),
			status: 400, code: "unsupported_grant_type", want: "'a?b?c'"},
		{name: "both methods", form: post("grant_type", cc, "client_id", id, "client_secret", secret), basic: basic(id, secret),
			status: 400, code: "invalid_request", want: "use one method only"},
		{name: "Basic and a different body client_id", form: post("grant_type", cc, "client_id", "someone-else"), basic: basic(id, secret),
			status: 400, code: "invalid_request", want: "differs"},
		{name: "no client authentication", form: post("grant_type", cc),
			status: 401, code: "invalid_client", want: "client authentication is missing"},
		{name: "client_id without secret", form: post("grant_type", cc, "client_id", id),
			status: 401, code: "invalid_client", want: "client_secret is missing"},
		{name: "secret without client_id", form: post("grant_type", cc, "client_secret", secret),
			status: 401, code: "invalid_client", want: "client_id is missing"},
		{name: "unknown client, post", form: post("grant_type", cc, "client_id", roster.NewID(), "client_secret", secret),
			status: 401, code: "invalid_client", want: "no OAuth client has this client_id"},
		{name: "unknown client, Basic", form: post("grant_type", cc), basic: basic(roster.NewID(), secret),
			status: 401, code: "invalid_client", want: "no OAuth client has this client_id"},
		{name: "wrong secret, post", form: post("grant_type", cc, "client_id", id, "client_secret", secret+"x"),
			status: 401, code: "invalid_client", want: "not valid for this client_id"},
		{name: "wrong secret, Basic", form: post("grant_type", cc), basic: basic(id, "rst_wrong"),
			status: 401, code: "invalid_client", want: "not valid for this client_id"},
		{name: "another client's secret", form: post("grant_type", cc, "client_id", id, "client_secret", otherSecret),
			status: 401, code: "invalid_client", want: "not valid for this client_id"},
		{name: "Basic without secret", form: post("grant_type", cc), basic: basic(id, ""),
			status: 401, code: "invalid_client", want: "need both"},
		{name: "malformed Basic", form: post("grant_type", cc), modify: withHeader("Authorization", "Basic !!!not-base64"),
			status: 401, code: "invalid_client", want: "malformed"},
		{name: "Basic not form-urlencoded", form: post("grant_type", cc),
			modify: withHeader("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(id+":50%off"))),
			status: 401, code: "invalid_client", want: "form-urlencoded"},
		{name: "Bearer instead of client auth", form: post("grant_type", cc, "client_id", id, "client_secret", secret),
			modify: withHeader("Authorization", "Bearer "+secret), status: 401, code: "invalid_client", want: "'Bearer' is not supported"},
		{name: "client assertion", form: post("grant_type", cc, "client_id", id, "client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer", "client_assertion", "eyJ..."),
			status: 401, code: "invalid_client", want: "client assertions"},
		{name: "client without privileges", form: post("grant_type", cc, "client_id", noPriv, "client_secret", noPrivSecret),
			status: 400, code: "unauthorized_client", want: "no privilege"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := e.tokenRequest(tt.form, tt.basic)
			if tt.modify != nil {
				tt.modify(req)
			}
			res := e.do(req)
			checkError(t, res, tt.status, tt.code, tt.want)
			if tt.status == 405 && res.header.Get("Allow") != "POST" {
				t.Errorf("Allow = %q, want POST", res.header.Get("Allow"))
			}
		})
	}
}

func setBody(r *http.Request, body string) {
	r.Body = io.NopCloser(strings.NewReader(body))
	r.ContentLength = int64(len(body))
}

// TestInternalError checks that a store failure is a 500 with an OAuth
// body, a request id to quote, and the cause only in the log.
func TestInternalError(t *testing.T) {
	e := newEnv(t)
	id, secret, _ := e.addClient(e.org, e.dir, 0, roster.PrivWrite, roster.PrivWrite)
	e.store.mu.Lock()
	e.store.fail = errors.New("disk on fire")
	e.store.mu.Unlock()
	res := e.do(e.tokenRequest(url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret}}, nil))
	checkError(t, res, http.StatusInternalServerError, "server_error", "quote request id "+res.header.Get("X-Request-Id"))
	if strings.Contains(res.raw, "disk on fire") {
		t.Errorf("internal error leaked to the client: %s", res.raw)
	}
	if !strings.Contains(e.logs.String(), "disk on fire") {
		t.Error("internal error missing from the log")
	}
}

// TestSecretsStayOutOfLogsAndStore checks that neither the client secret
// nor an issued token is written to the log or, in clear, to the data
// directory.
func TestSecretsStayOutOfLogsAndStore(t *testing.T) {
	e := newEnv(t)
	id, secret, _ := e.addClient(e.org, e.dir, 0, roster.PrivWrite, roster.PrivWrite)
	token, _ := e.postToken(id, secret)
	res := e.do(e.tokenRequest(url.Values{"grant_type": {"client_credentials"}}, &[2]string{id, secret}))
	token2, _ := res.body["access_token"].(string)
	e.do(e.tokenRequest(url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret + "x"}}, nil))
	e.do(e.tokenRequest(url.Values{"grant_type": {"client_credentials"}, "client_id": {secret}, "client_secret": {secret}}, nil))
	e.scimStatus(e.dir, token)

	logs := e.logs.String()
	if !strings.Contains(logs, `"client_id":"`+id+`"`) {
		t.Errorf("the log should name the client: %s", logs)
	}
	for name, s := range map[string]string{"secret": secret, "token": token, "basic token": token2} {
		if strings.Contains(logs, s) || strings.Contains(logs, s[4:]) {
			t.Errorf("the log contains the %s", name)
		}
	}
	e.db.Close() // flush the WAL so every byte is in the files we read
	files, _ := filepath.Glob(filepath.Join(e.data, "*"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for name, s := range map[string]string{"secret": secret, "token": token, "basic token": token2} {
			if bytes.Contains(b, []byte(s[4:])) {
				t.Errorf("%s holds the %s in clear", filepath.Base(f), name)
			}
		}
	}
}

func TestValidTTL(t *testing.T) {
	for d, ok := range map[time.Duration]bool{
		0: false, time.Second: false, 59 * time.Minute: false, time.Hour: true, 90 * time.Minute: true,
		6 * time.Hour: true, 6*time.Hour + time.Second: false, 2*time.Hour + time.Millisecond: false, -time.Hour: false,
	} {
		err := roster.ValidTokenTTL(d)
		if (err == nil) != ok {
			t.Errorf("ValidTTL(%s) = %v, want ok=%v", d, err, ok)
		}
		if err != nil && roster.ErrorCode(err) != roster.EINVALID {
			t.Errorf("ValidTTL(%s) code = %s, want %s", d, roster.ErrorCode(err), roster.EINVALID)
		}
	}
	if err := roster.ValidTokenTTL(roster.DefaultTokenTTL); err != nil {
		t.Errorf("DefaultTTL is not valid: %v", err)
	}
}

func TestNewClientSecret(t *testing.T) {
	s1, o1 := roster.NewClientSecret()
	s2, o2 := roster.NewClientSecret()
	if s1 == s2 || o1.ID == o2.ID || o1.ID == "" {
		t.Fatal("NewClientSecret repeats itself")
	}
	if !strings.HasPrefix(s1, "rst_") || !bytes.Equal(o1.Hash, roster.HashSecret(s1)) {
		t.Errorf("secret %q does not have the rst_ prefix or its hash", s1)
	}
	if o1.Revoked || o1.Expires != nil {
		t.Error("a new secret must be active and without expiry")
	}
}
