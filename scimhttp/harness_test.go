package scimhttp_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/roster-scim/roster"
	"github.com/roster-scim/roster/scim"
	"github.com/roster-scim/roster/scimhttp"
	"github.com/roster-scim/roster/sqlite"
)

// harness is one Roster HTTP server on a real store (SQLite in t.TempDir(),
// or PostgreSQL in a schema of its own: see withPostgres), bootstrapped with
// one directory and a read/write key, exactly as `roster serve` builds it.
// Tests talk to it over real HTTP.
type harness struct {
	srv   *httptest.Server
	base  string // tenant URL: srv.URL + "/v1/scim/" + dir
	dir   string // IdP ID of directory A
	token string // read/write key of directory A
	logs  *syncBuffer

	// Directory B, set only with withSecondDirectory: a directory of a
	// second organization in the same store.
	dirB, tokenB string
}

// testStore is what the harness needs of a store: *sqlite.DB and
// *postgres.DB both are one.
type testStore interface {
	scim.Store
	roster.AdminStore
	roster.RequestLogStore
}

// harnessConfig collects what the options change.
type harnessConfig struct {
	// open opens an empty store; nil is SQLite in t.TempDir().
	open      func(t testing.TB, reg *scim.Registry) testStore
	cfg       scimhttp.Config
	wrapStore func(scim.Store) scim.Store
	privB     *[2]string // users and groups privileges of directory B's key
	profile   string     // directory A's attribute profile; "" is generic
	profiles  *scim.ProfileSet
	// setup runs before the server starts, e.g. withRequestLog, with the
	// harness's store, whichever it is.
	setup func(t *testing.T, srv *scimhttp.Server, db testStore)
}

type harnessOption func(*harnessConfig)

// withConfig changes the HTTP layer's settings (a small MaxBodyBytes, a
// small MaxResults) so that limits are cheap to reach.
func withConfig(f func(*scimhttp.Config)) harnessOption {
	return func(c *harnessConfig) { f(&c.cfg) }
}

// withStore wraps the resource store, e.g. with one that fails, to reach
// the error paths a healthy database never takes.
func withStore(wrap func(scim.Store) scim.Store) harnessOption {
	return func(c *harnessConfig) { c.wrapStore = wrap }
}

// withSecondDirectory adds directory B whose only key has the given
// privileges, for tenant isolation and privilege tests.
func withSecondDirectory(users, groups string) harnessOption {
	return func(c *harnessConfig) { c.privB = &[2]string{users, groups} }
}

// withProfile gives directory A an attribute profile, from the built-in
// ones or from set (which may be nil).
func withProfile(name string, set *scim.ProfileSet) harnessOption {
	return func(c *harnessConfig) { c.profile, c.profiles = name, set }
}

// testConfig is DefaultConfig with pages small enough to reach MaxResults
// with a handful of users.
func testConfig() scimhttp.Config {
	cfg := scimhttp.DefaultConfig()
	cfg.MaxResults = 50
	cfg.DefaultCount = 20
	cfg.MaxBodyBytes = 64 << 10
	return cfg
}

// newHarness starts a server and stops it when the test ends.
func newHarness(t *testing.T, opts ...harnessOption) *harness {
	t.Helper()
	hc := harnessConfig{cfg: testConfig()}
	for _, o := range opts {
		o(&hc)
	}
	if hc.open == nil && onPostgres(t) {
		hc.open = openPostgres
	}
	reg := scim.NewRegistry()
	var db testStore
	if hc.open == nil {
		db = openSQLite(t, reg)
	} else {
		db = hc.open(t, reg)
	}
	dirA, tokenA := bootstrap(t, db, roster.PrivWrite, roster.PrivWrite)
	h := &harness{dir: dirA, token: tokenA, logs: &syncBuffer{}}

	var store scim.Store = db
	if hc.privB != nil {
		h.dirB, h.tokenB = addOrganization(t, db, hc.privB[0], hc.privB[1])
	}
	if hc.wrapStore != nil {
		store = hc.wrapStore(store)
	}
	if hc.profile != "" {
		setDirectoryProfile(t, db, dirA, hc.profile)
	}
	log := slog.New(slog.NewJSONHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	prom := prometheus.NewRegistry()
	srv := scimhttp.New(store, db, hc.profiles, log, prom, hc.cfg)
	if hc.setup != nil {
		hc.setup(t, srv, db)
	}
	h.srv = httptest.NewServer(srv.Handler(prom))
	t.Cleanup(h.srv.Close)
	h.base = h.srv.URL + "/v1/scim/" + h.dir
	return h
}

// openDirectory opens a store in a new data directory and bootstraps it the
// way cmd/roster does, with a key of the given privileges.
func openDirectory(t testing.TB, reg *scim.Registry, users, groups string) (db *sqlite.DB, dir, token string) {
	t.Helper()
	db = openSQLite(t, reg)
	dir, token = bootstrap(t, db, users, groups)
	return db, dir, token
}

// openSQLite opens an empty SQLite store in a new data directory.
func openSQLite(t testing.TB, reg *scim.Registry) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(context.Background(), t.TempDir(), reg)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// bootstrap initializes an empty store the way cmd/roster does, with a
// key of the given privileges, and returns the directory and the key.
func bootstrap(t testing.TB, db roster.AdminStore, users, groups string) (dir, token string) {
	t.Helper()
	ctx := context.Background()
	secret, hash := roster.NewSecret()
	b := &roster.Bootstrap{
		Org: roster.Organization{ID: roster.NewID(), Name: "Test organization"},
		Dir: roster.Directory{ID: roster.NewID(), Name: "Test directory"},
		Key: roster.APIKey{ID: roster.NewID(), Name: "test key", SecretHash: hash, Users: users, Groups: groups},
	}
	b.Dir.OrgID, b.Key.OrgID = b.Org.ID, b.Org.ID
	if err := db.Bootstrap(ctx, b); err != nil {
		t.Fatalf("bootstrap: %v", err)
	}
	return b.Dir.ID, secret
}

// addOrganization creates a second organization with one directory and a
// key of the given privileges, through the store's admin methods.
func addOrganization(t *testing.T, db roster.AdminStore, users, groups string) (dir, token string) {
	t.Helper()
	ctx := context.Background()
	org := &roster.Organization{ID: roster.NewID(), Name: "Other organization"}
	secret, hash := roster.NewSecret()
	key := &roster.APIKey{ID: roster.NewID(), OrgID: org.ID, Name: "other key", SecretHash: hash, Users: users, Groups: groups}
	d := &roster.Directory{ID: roster.NewID(), OrgID: org.ID, Name: "Other directory", Profile: "generic", KeyIDs: []string{key.ID}}
	for _, err := range []error{db.CreateOrganization(ctx, org), db.CreateAPIKey(ctx, key), db.CreateDirectory(ctx, d)} {
		if err != nil {
			t.Fatalf("add organization: %v", err)
		}
	}
	return d.ID, secret
}

// response is one HTTP exchange as the tests see it.
type response struct {
	status int
	header http.Header
	raw    []byte
	body   map[string]any // nil when the body is empty or not a JSON object
}

// request sends a request to an absolute URL. headers are name/value
// pairs; a request carries the directory's bearer token and, with a body,
// Content-Type application/scim+json, unless headers set them (an empty
// value removes the header).
func (h *harness) request(t *testing.T, method, url, body string, headers ...string) response {
	t.Helper()
	if len(headers)%2 != 0 {
		t.Fatalf("headers must be name/value pairs, got %q", headers)
	}
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatalf("new request %s %s: %v", method, url, err)
	}
	req.Header.Set("Authorization", "Bearer "+h.token)
	if body != "" {
		req.Header.Set("Content-Type", "application/scim+json")
	}
	for i := 0; i < len(headers); i += 2 {
		if headers[i+1] == "" {
			req.Header.Del(headers[i])
		} else {
			req.Header.Set(headers[i], headers[i+1])
		}
	}
	res, err := h.srv.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, url, err)
	}
	out := response{status: res.StatusCode, header: res.Header, raw: raw}
	if len(bytes.TrimSpace(raw)) > 0 {
		_ = json.Unmarshal(raw, &out.body) // non-JSON bodies (metrics) stay nil
	}
	return out
}

// do sends a request to path under directory A's tenant URL (e.g.
// "/Users?filter=..."), with the helper's conventions for headers.
func (h *harness) do(t *testing.T, method, path, body string, headers ...string) (int, http.Header, map[string]any) {
	t.Helper()
	r := h.request(t, method, h.base+path, body, headers...)
	return r.status, r.header, r.body
}

// doRoot is do for paths outside the tenant URL (/healthz, /metrics, or
// another directory's /v1/scim/...).
func (h *harness) doRoot(t *testing.T, method, path, body string, headers ...string) response {
	t.Helper()
	return h.request(t, method, h.srv.URL+path, body, headers...)
}

// mustDo is do that fails the test unless the status is want.
func (h *harness) mustDo(t *testing.T, want int, method, path, body string, headers ...string) map[string]any {
	t.Helper()
	r := h.request(t, method, h.base+path, body, headers...)
	if r.status != want {
		t.Fatalf("%s %s: status %d, want %d; body: %s", method, path, r.status, want, r.raw)
	}
	return r.body
}

// createUser posts a minimal user and returns its id.
func (h *harness) createUser(t *testing.T, userName string, extra ...string) string {
	t.Helper()
	body := `{"schemas":["` + scim.UserSchema + `"],"userName":` + strconv.Quote(userName) + `,"active":true`
	for _, e := range extra {
		body += "," + e
	}
	return str(h.mustDo(t, http.StatusCreated, "POST", "/Users", body+"}"), "id")
}

// createGroup posts a group with the given members and returns its id.
func (h *harness) createGroup(t *testing.T, displayName string, memberIDs ...string) string {
	t.Helper()
	members := make([]map[string]string, 0, len(memberIDs))
	for _, id := range memberIDs {
		members = append(members, map[string]string{"value": id})
	}
	body := mustJSON(t, map[string]any{"schemas": []string{scim.GroupSchema}, "displayName": displayName, "members": members})
	return str(h.mustDo(t, http.StatusCreated, "POST", "/Groups", body), "id")
}

// snapshot returns the raw body of a GET, to compare a resource before and
// after a request that must not change it (meta.version included).
func (h *harness) snapshot(t *testing.T, path string) string {
	t.Helper()
	r := h.request(t, "GET", h.base+path, "")
	if r.status != http.StatusOK {
		t.Fatalf("snapshot GET %s: status %d: %s", path, r.status, r.raw)
	}
	return string(r.raw)
}

// unchanged fails the test when path no longer reads as before.
func (h *harness) unchanged(t *testing.T, path, before string) {
	t.Helper()
	if after := h.snapshot(t, path); after != before {
		t.Errorf("GET %s changed:\nbefore: %s\nafter:  %s", path, before, after)
	}
}

// assertSCIMError checks an RFC 7644 §3.12 error: the Error schema, status
// as a string equal to the HTTP status, the scimType when one is expected,
// a non-empty detail, and the SCIM content type.
func assertSCIMError(t *testing.T, status int, header http.Header, body map[string]any, wantStatus int, wantType string) {
	t.Helper()
	if status != wantStatus {
		t.Fatalf("status %d, want %d; body: %v", status, wantStatus, body)
	}
	if body == nil {
		t.Fatalf("status %d with no JSON error body", status)
	}
	if s, _ := body["schemas"].([]any); len(s) != 1 || s[0] != scim.ErrorURN {
		t.Errorf("schemas = %v, want [%s]", body["schemas"], scim.ErrorURN)
	}
	if body["status"] != strconv.Itoa(wantStatus) {
		t.Errorf("status field = %#v, want the string %q", body["status"], strconv.Itoa(wantStatus))
	}
	if got, _ := body["scimType"].(string); got != wantType {
		t.Errorf("scimType = %q, want %q (detail: %v)", got, wantType, body["detail"])
	}
	if d, _ := body["detail"].(string); strings.TrimSpace(d) == "" {
		t.Errorf("detail is empty: %v", body)
	}
	if ct := header.Get("Content-Type"); !strings.HasPrefix(ct, "application/scim+json") {
		t.Errorf("Content-Type = %q, want application/scim+json", ct)
	}
}

// str reads a string at a slash-separated key path (not a JSON pointer:
// keys here never contain "/"), or "".
func str(m map[string]any, path string) string {
	s, _ := dig(m, path).(string)
	return s
}

// dig walks a slash-separated key path through objects and array indexes.
func dig(v any, path string) any {
	for _, k := range strings.Split(path, "/") {
		switch x := v.(type) {
		case map[string]any:
			v = x[k]
		case []any:
			i, err := strconv.Atoi(k)
			if err != nil || i < 0 || i >= len(x) {
				return nil
			}
			v = x[i]
		default:
			return nil
		}
	}
	return v
}

// resourceIDs returns the ids of a ListResponse's Resources, in order.
func resourceIDs(body map[string]any) []string {
	var ids []string
	list, _ := body["Resources"].([]any)
	for _, r := range list {
		ids = append(ids, str(r.(map[string]any), "id"))
	}
	return ids
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// jsonEqual compares two decoded JSON values.
func jsonEqual(a, b any) bool { return reflect.DeepEqual(a, b) }

// hasKey reports whether a JSON object has a key, whatever its value.
func hasKey(m map[string]any, key string) bool {
	_, ok := m[key]
	return ok
}

// syncBuffer is a bytes.Buffer safe for the server's goroutines to write
// while a test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// errDiskOnFire is the internal failure failingStore injects; its text must
// never reach a client.
var errDiskOnFire = errors.New("disk on fire")

// failingStore is a store whose reads fail with a plain (internal) error
// once fail is set, and whose Get panics once panics is set, to check that
// a 500 leaks nothing.
type failingStore struct {
	scim.Store
	fail, panics atomic.Bool
}

func (s *failingStore) Get(ctx context.Context, dir, typ, id string, withMembers bool) (*scim.Resource, error) {
	if s.panics.Load() {
		panic(errDiskOnFire)
	}
	if s.fail.Load() {
		return nil, errDiskOnFire
	}
	return s.Store.Get(ctx, dir, typ, id, withMembers)
}

func (s *failingStore) List(ctx context.Context, dir, typ string, q scim.ListQuery) (*scim.ListResult, error) {
	if s.fail.Load() {
		return nil, errDiskOnFire
	}
	return s.Store.List(ctx, dir, typ, q)
}

// sortedCopy returns a sorted copy, for order-insensitive comparisons.
func sortedCopy(s []string) []string {
	c := slices.Clone(s)
	slices.Sort(c)
	return c
}

// setDirectoryProfile gives a directory an attribute profile through the
// store's admin methods, as the admin API does, on either store.
func setDirectoryProfile(t *testing.T, db roster.AdminStore, dir, profile string) {
	t.Helper()
	ctx := context.Background()
	d, err := db.FindDirectory(ctx, dir)
	if err == nil {
		d.Profile = profile
		err = db.UpdateDirectory(ctx, d)
	}
	if err != nil {
		t.Fatalf("set profile %s: %v", profile, err)
	}
}
