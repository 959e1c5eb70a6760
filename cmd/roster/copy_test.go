package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roster-scim/roster/postgres"
	"github.com/roster-scim/roster/postgres/pgtest"
	"github.com/roster-scim/roster/provision"
	"github.com/roster-scim/roster/scim"
	"github.com/roster-scim/roster/sqlite"
)

// TestCopyToPostgres fills a data directory through the real code paths
// (init, admin commands, SCIM and OAuth requests to a server on it), copies
// it into PostgreSQL, and checks that a server on PostgreSQL answers the
// same GETs with the same bodies and ETags to the old credentials, that the
// admin commands list the same objects and request log on both stores, that
// the source did not change, and that new rows get fresh ids.
func TestCopyToPostgres(t *testing.T) {
	u := pgtest.URL(t)
	dir := t.TempDir()
	first := initDir(t, dir)
	local := func(args ...string) []byte {
		t.Helper()
		code, out, errs := run(t, append(args, "--data", dir, "--json")...)
		if code != 0 {
			t.Fatalf("roster %v: exit %d: %s", args, code, errs)
		}
		return []byte(out)
	}
	org, idp := first.OrgID, first.IdPID
	local("idp", "update", "--org", org, "--id", idp, "--capture-bodies", "true")
	var revoked struct{ Key struct{ ID string } }
	mustJSON(t, local("key", "create", "--org", org, "--name", "old", "--users", "read", "--groups", "none", "--expires-in", "8760h"), &revoked)
	local("key", "revoke", "--org", org, "--id", revoked.Key.ID)
	local("admin", "create", "--org", org, "--name", "ops")
	var client struct {
		Client struct {
			ID string `json:"client_id"`
		}
		Secret string `json:"client_secret"`
	}
	mustJSON(t, local("oauth", "create", "--org", org, "--idp", idp, "--name", "okta"), &client)

	addr, stop := startStoppable(t, &Config{Data: dir, Addr: "127.0.0.1:0", LogLevel: "error", LogFormat: "json"})
	c := &scimClient{t: t, base: "http://" + addr + first.SCIMPath, token: first.Token}
	var users []string
	for i := range 25 {
		body := fmt.Sprintf(`{"userName":"user%02d@example.com","externalId":"ext-%d","displayName":"User %d","active":true,`+
			`"emails":[{"type":"work","value":"user%02d@example.com","primary":true}],"name":{"givenName":"U","familyName":"N%d"}}`, i, i, i, i, i)
		users = append(users, c.create("/Users", body))
	}
	var groups []string
	for g := range 3 {
		var members []string
		for _, id := range users[g*5 : g*5+8] {
			members = append(members, fmt.Sprintf(`{"value":%q}`, id))
		}
		groups = append(groups, c.create("/Groups", fmt.Sprintf(`{"displayName":"Group %d","externalId":"g-%d","members":[%s]}`, g, g, strings.Join(members, ","))))
	}
	c.do("PATCH", "/Users/"+users[3], `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"active","value":false}]}`, http.StatusOK)
	c.do("PATCH", "/Groups/"+groups[0], `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"remove","path":"members[value eq \"`+users[0]+`\"]"}]}`, http.StatusNoContent)
	c.do("DELETE", "/Users/"+users[24], "", http.StatusNoContent)
	c.do("POST", "/Users", `{"userName":"user01@example.com"}`, http.StatusConflict)
	c.do("POST", "/Users", `{"displayName":"no userName"}`, http.StatusBadRequest)
	access := oauthToken(t, "http://"+addr, client.Client.ID, client.Secret)
	(&scimClient{t: t, base: c.base, token: access}).do("GET", "/Users?count=1", "", http.StatusOK)

	// What the old server answers: lists, single resources and ETags.
	paths := []string{"/Users?count=100", "/Groups", "/Users?filter=" + url.QueryEscape(`emails[type eq "work"].value eq "user07@example.com"`),
		"/Users?filter=" + url.QueryEscape(`externalId eq "ext-3"`), "/Users/" + users[3], "/Users/" + users[0], "/Groups/" + groups[0],
		"/Groups/" + groups[2] + "?excludedAttributes=members", "/Users?sortBy=userName&sortOrder=descending&startIndex=3&count=4"}
	before := map[string]string{}
	for _, p := range paths {
		before[p] = c.get(p)
	}
	stop() // flushes the request log
	oldBase := c.base

	jobID := seedProvision(t, dir, org)
	src := openSQLite(t, dir)
	sqliteProv := provisionSnapshot(t, src, org, jobID)
	src.Close()

	db := filepath.Join(dir, sqlite.FileName)
	sum := fileSum(t, db)
	code, out, errs := run(t, "copy", "--from", dir, "--to", u, "--json")
	if code != 0 {
		t.Fatalf("copy: exit %d: %s", code, errs)
	}
	var res copyResult
	mustJSON(t, []byte(out), &res)
	counts := map[string]int64{}
	for _, tc := range res.Tables {
		if tc.Source != tc.Target {
			t.Errorf("%s: source %d, target %d", tc.Table, tc.Source, tc.Target)
		}
		counts[tc.Table] = tc.Target
	}
	want := map[string]int64{"organizations": 1, "directories": 1, "api_keys": 2, "directory_keys": 1, "admins": 2,
		"oauth_clients": 1, "oauth_secrets": 1, "access_tokens": 1, "resources": 24 + 3, "emails": 24, "memberships": 3*8 - 1,
		"provision_jobs": 2, "provision_state": 1, "provision_links": 3, "provision_members": 2, "provision_leases": 1, "provision_log": 3}
	for table, n := range want {
		if counts[table] != n {
			t.Errorf("%s: %d rows copied, want %d", table, counts[table], n)
		}
	}
	if counts["request_log"] < 30 || len(res.Tables) != 18 || res.From != dir || res.To == "" || res.Replaced {
		t.Errorf("copy result: %+v", res)
	}
	if fileSum(t, db) != sum {
		t.Error("copy changed the source database")
	}

	// The provisioning store reads the same jobs and state from both, and
	// the lease is still held; new log entries take ids after the copied.
	pg, err := postgres.Connect(context.Background(), u, scim.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	if got := provisionSnapshot(t, pg, org, jobID); !reflect.DeepEqual(got, sqliteProv) {
		t.Errorf("provisioning differs:\nsqlite:   %+v\npostgres: %+v", sqliteProv, got)
	}
	if ok, err := pg.AcquireLease(context.Background(), jobID, "other replica", time.Minute); err != nil || ok {
		t.Errorf("the copied lease: AcquireLease by another holder = %v, %v; want false", ok, err)
	}
	entry := &provision.LogEntry{JobID: jobID, Cycle: "c3", Kind: provision.User, SourceID: "s1", Action: provision.Skip, Status: provision.Skipped}
	if err := pg.AppendLog(context.Background(), []*provision.LogEntry{entry}); err != nil || entry.ID <= sqliteProv.Log[0].ID {
		t.Errorf("new log entry id %d after copied %d: %v", entry.ID, sqliteProv.Log[0].ID, err)
	}
	pg.Close()

	// The admin commands read the same objects and request log from both.
	for _, args := range [][]string{
		{"org", "list"}, {"key", "list", "--org", org}, {"idp", "list", "--org", org}, {"admin", "list", "--org", org},
		{"admin", "list", "--server-admins"}, {"oauth", "list", "--org", org, "--idp", idp},
		{"logs", "--org", org, "--idp", idp, "--limit", "1000"},
	} {
		a := local(args...)
		code, b, errs := run(t, append(args, "--database", u, "--json")...)
		if code != 0 {
			t.Fatalf("roster %v --database: %s", args, errs)
		}
		if !bytes.Equal(a, []byte(b)) {
			t.Errorf("roster %v differs:\nsqlite:   %s\npostgres: %s", args, a, b)
		}
	}

	// A server on PostgreSQL answers the same, to the same token.
	addr, stop = startStoppable(t, &Config{Database: u, Addr: "127.0.0.1:0", LogLevel: "error", LogFormat: "json", NoMigrate: true})
	c.base = "http://" + addr + first.SCIMPath
	for _, p := range paths {
		got := strings.ReplaceAll(c.get(p), c.base, oldBase)
		if got != before[p] {
			t.Errorf("GET %s differs:\nsqlite:   %s\npostgres: %s", p, before[p], got)
		}
	}
	(&scimClient{t: t, base: c.base, token: access}).do("GET", "/Users?count=1", "", http.StatusOK)
	fresh := oauthToken(t, "http://"+addr, client.Client.ID, client.Secret)
	(&scimClient{t: t, base: c.base, token: fresh}).do("GET", "/Users?count=1", "", http.StatusOK)
	req, _ := http.NewRequest("GET", "http://"+addr+"/v1/admin/organizations", nil)
	req.Header.Set("Authorization", "Bearer "+first.AdminToken)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("admin token on PostgreSQL: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	// New rows take ids after the copied ones (the sequences moved on).
	id := c.create("/Users", `{"userName":"new@example.com"}`)
	c.do("PATCH", "/Groups/"+groups[1], `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"members","value":[{"value":"`+id+`"}]}]}`, http.StatusNoContent)
	stop()
	var logs []map[string]any
	code, out, errs = run(t, "logs", "--database", u, "--org", org, "--idp", idp, "--limit", "1000", "--json")
	if code != 0 {
		t.Fatal(errs)
	}
	mustJSON(t, []byte(out), &logs)
	// Each SCIM request to the new server is logged: the GETs, the two with
	// the OAuth tokens, the POST and the PATCH.
	if got, want := int64(len(logs)), counts["request_log"]+int64(len(paths))+4; got != want {
		t.Errorf("request log on PostgreSQL: %d entries, want %d", got, want)
	}
}

// TestCopyRefusesNonEmptyTarget checks that copy leaves a target with data
// alone unless --force is given, that --force replaces it, and that a copy
// failing halfway writes nothing, even with --force.
func TestCopyRefusesNonEmptyTarget(t *testing.T) {
	u := pgtest.URL(t)
	a, b := t.TempDir(), t.TempDir()
	initDir(t, a)
	initDir(t, b)
	orgs := func(args ...string) string {
		t.Helper()
		code, out, errs := run(t, append([]string{"org", "list", "--json"}, args...)...)
		if code != 0 {
			t.Fatal(errs)
		}
		return out
	}
	// --from and --to from the environment, the URL from a file.
	urlFile := filepath.Join(t.TempDir(), "url")
	if err := os.WriteFile(urlFile, []byte(u+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"ROSTER_DATA": a, "ROSTER_DATABASE_URL_FILE": urlFile}
	var stdout, stderr bytes.Buffer
	if code := Run(context.Background(), []string{"copy"}, &stdout, &stderr, func(k string) string { return env[k] }); code != 0 {
		t.Fatalf("copy into an empty database: %s", stderr.String())
	}
	if orgs("--database", u) != orgs("--data", a) {
		t.Fatal("the copy does not hold the source's organization")
	}

	code, out, errs := run(t, "copy", "--from", b, "--to", u)
	if code != 1 || out != "" || !strings.Contains(errs, "already holds data (") || !strings.Contains(errs, "organizations: 1") ||
		!strings.Contains(errs, "nothing was written") || !strings.Contains(errs, "--force") {
		t.Fatalf("copy into a database with data: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	if orgs("--database", u) != orgs("--data", a) {
		t.Fatal("a refused copy changed the target")
	}

	// A source whose rows the target rejects: admins come late in the
	// order, so much is copied (and the target truncated) before it fails.
	bad := t.TempDir()
	copyDataDir(t, b, bad)
	sqlExec(t, bad, `UPDATE admins SET created = 1.5`)
	code, _, errs = run(t, "copy", "--from", bad, "--to", u, "--force")
	if code != 1 || !strings.Contains(errs, "copy admins: row 1, column created") || !strings.Contains(errs, "rolled back") {
		t.Fatalf("copy of a bad source: exit %d: %s", code, errs)
	}
	if orgs("--database", u) != orgs("--data", a) {
		t.Fatal("a failed copy changed the target")
	}

	if code, out, errs := run(t, "copy", "--from", b, "--to", u, "--force"); code != 0 || !strings.Contains(out, "the counts match") {
		t.Fatalf("copy --force: exit %d: %s%s", code, out, errs)
	}
	if orgs("--database", u) != orgs("--data", b) {
		t.Fatal("copy --force did not replace the target's data")
	}
}

// TestCopyUsage covers the mistakes copy reports before it touches a
// database: missing flags (exit 2) and sources it will not read.
func TestCopyUsage(t *testing.T) {
	outdated := t.TempDir()
	initDir(t, outdated)
	sqlExec(t, outdated, `DELETE FROM schema_migrations WHERE name = 'migrations/0004_admin_revocation.sql'`)
	notRoster := t.TempDir()
	sqlExec(t, notRoster, `CREATE TABLE t (x)`)
	const to = "postgres://nobody@127.0.0.1:1/none"
	tests := []struct {
		name     string
		args     []string
		code     int
		contains []string
	}{
		{"help", []string{"copy", "--help"}, 0, []string{"-force", "TRUNCATE", "read-only"}},
		{"listed", []string{"--help"}, 0, []string{"copy "}},
		{"no from", []string{"copy", "--to", to}, 2, []string{"needs --from", "hint: roster copy --from"}},
		{"no to", []string{"copy", "--from", outdated}, 2, []string{"needs --to", "hint:"}},
		{"missing source", []string{"copy", "--from", filepath.Join(notRoster, "nope"), "--to", to}, 1, []string{"no roster database in"}},
		{"not roster", []string{"copy", "--from", notRoster, "--to", to}, 1, []string{"not a roster database"}},
		{"outdated", []string{"copy", "--from", outdated, "--to", to}, 1, []string{"0004_admin_revocation.sql", "roster migrate --data " + outdated}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errs := run(t, tt.args...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d; stderr: %s", code, tt.code, errs)
			}
			for _, s := range tt.contains {
				if !strings.Contains(out+errs, s) {
					t.Errorf("output lacks %q:\n%s%s", s, out, errs)
				}
			}
		})
	}
}

func initDir(t *testing.T, dir string) initResult {
	t.Helper()
	code, out, errs := run(t, "init", "--data", dir, "--json")
	if code != 0 {
		t.Fatalf("init: %s", errs)
	}
	var res initResult
	mustJSON(t, []byte(out), &res)
	return res
}

func mustJSON(t *testing.T, b []byte, v any) {
	t.Helper()
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
}

func fileSum(t *testing.T, path string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

// sqlExec changes a data directory's database behind the store's back.
func sqlExec(t *testing.T, dir, query string) {
	t.Helper()
	db, err := sql.Open("sqlite", filepath.Join(dir, sqlite.FileName))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(query); err != nil {
		t.Fatal(err)
	}
}

// copyDataDir copies the database of a closed data directory.
func copyDataDir(t *testing.T, from, to string) {
	t.Helper()
	for _, name := range []string{sqlite.FileName, sqlite.LogFileName} {
		b, err := os.ReadFile(filepath.Join(from, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(to, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// startStoppable runs serve in-process and returns its address and a stop
// function that waits for serve to return; it also stops at the end of the
// test.
func startStoppable(t *testing.T, cfg *Config) (string, func()) {
	t.Helper()
	if err := cfg.applyEnvNumbers(func(string) string { return "" }); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready, done := make(chan string, 1), make(chan error, 1)
	log, _ := newLogger(cfg, io.Discard)
	go func() { done <- serve(ctx, cfg, log, io.Discard, ready) }()
	select {
	case addr := <-ready:
		stop := sync.OnceFunc(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("serve: %v", err)
			}
		})
		t.Cleanup(stop)
		return addr, stop
	case err := <-done:
		cancel()
		t.Fatalf("serve: %v", err)
	}
	return "", nil
}

// scimClient sends SCIM requests with a bearer token.
type scimClient struct {
	t           *testing.T
	base, token string
}

func (c *scimClient) send(method, path, body string) (int, string, http.Header) {
	c.t.Helper()
	req, _ := http.NewRequest(method, c.base+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+c.token)
	if body != "" {
		req.Header.Set("Content-Type", "application/scim+json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

func (c *scimClient) do(method, path, body string, want int) string {
	c.t.Helper()
	code, b, _ := c.send(method, path, body)
	if code != want {
		c.t.Fatalf("%s %s: %d, want %d: %s", method, path, code, want, b)
	}
	return b
}

// get returns the status, ETag and body of a GET, to compare servers.
func (c *scimClient) get(path string) string {
	c.t.Helper()
	code, b, h := c.send("GET", path, "")
	return fmt.Sprintf("%d %s\n%s", code, h.Get("ETag"), b)
}

func (c *scimClient) create(path, body string) string {
	c.t.Helper()
	var r struct{ ID string }
	mustJSON(c.t, []byte(c.do("POST", path, body, http.StatusCreated)), &r)
	return r.ID
}

// oauthToken gets an access token with the client credentials grant.
func oauthToken(t *testing.T, server, id, secret string) string {
	t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret}}
	resp, err := http.PostForm(server+"/v1/oauth/token", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("token: %d %s", resp.StatusCode, b)
	}
	mustJSON(t, b, &tok)
	return tok.AccessToken
}

// TestRedactURL: the copy's output names the target without any password.
func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://u:s3cret@h:5432/db?sslmode=require": "postgres://u:xxxxx@h:5432/db?sslmode=require",
		"postgres://u@h/db?password=s3cret":             "postgres://u@h/db?password=xxxxx",
		"postgresql://u@h/db?sslpassword=s3cret&x=1":    "postgresql://u@h/db?sslpassword=xxxxx&x=1",
		"host=h user=u password=s3cret":                 "the PostgreSQL database",
	} {
		if got := redactURL(in); got != want || strings.Contains(got, "s3cret") {
			t.Errorf("redactURL(%q) = %q, want %q", in, got, want)
		}
	}
}

// openSQLite opens the store of a data directory, closed when the test ends
// or by the caller.
func openSQLite(t *testing.T, dir string) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(context.Background(), dir, scim.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// seedProvision stores two provisioning jobs of org in the data directory,
// one of them with state, links, members, a lease and log entries, and
// returns that one's id.
func seedProvision(t *testing.T, dir, org string) string {
	t.Helper()
	ctx := context.Background()
	db := openSQLite(t, dir)
	defer db.Close()
	job := &provision.JobRecord{OrgID: org, Name: "entra", Definition: []byte(`{"source":{"type":"csv"},"target":{"secret":"sealed"}}`), Enabled: true}
	idle := &provision.JobRecord{OrgID: org, Name: "idle", Definition: []byte(`{}`)}
	retry := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	for _, err := range []error{
		db.CreateJob(ctx, job),
		db.CreateJob(ctx, idle),
		db.PutJobState(ctx, job.ID, provision.JobState{Watermark: "w2", Cycle: "c2", Running: true, Started: retry.Add(-time.Hour),
			Counts: provision.Counts{Created: 2, Failed: 1}}),
		db.PutLinks(ctx, job.ID, []*provision.Link{
			{Kind: provision.User, SourceID: "s1", TargetID: "t1", SourceHash: "h1", Exported: []byte(`{"userName":"a"}`), State: provision.Active, Cycle: "c2"},
			{Kind: provision.User, SourceID: "s2", SourceHash: "h2", State: provision.Pending, Failures: 3, Error: "HTTP 500", RetryAt: retry, Cycle: "c2"},
			{Kind: provision.Group, SourceID: "g1", TargetID: "tg1", State: provision.Active, Cycle: "c1"},
		}),
		db.ChangeMembers(ctx, job.ID, "g1", []string{"s1", "s2"}, nil),
		db.AppendLog(ctx, []*provision.LogEntry{
			{JobID: job.ID, Cycle: "c2", Time: retry, Kind: provision.User, SourceID: "s1", TargetID: "t1", Action: provision.Create, Status: provision.Success,
				Steps: []provision.Step{{Name: "action", Status: provision.Success, Detail: "created"}}, Modified: map[string]any{"userName": "a"}},
			{JobID: job.ID, Cycle: "c2", Time: retry, Kind: provision.User, SourceID: "s2", Action: provision.Create, Status: provision.Failure, Error: "HTTP 500"},
			{JobID: job.ID, Cycle: "c2", Time: retry, Kind: provision.Group, SourceID: "g1", TargetID: "tg1", Action: provision.Update, Status: provision.Success},
		}),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	if ok, err := db.AcquireLease(ctx, job.ID, "replica-1", time.Hour); err != nil || !ok {
		t.Fatalf("AcquireLease: %v, %v", ok, err)
	}
	return job.ID
}

// provisionState is what a store holds of an organization's provisioning.
type provisionState struct {
	Jobs    []*provision.JobRecord
	State   provision.JobState
	Links   map[string]*provision.Link
	Groups  map[string]*provision.Link
	Members []string
	Counts  map[provision.Kind]map[provision.LinkState]int
	Log     []*provision.LogEntry
}

func provisionSnapshot(t *testing.T, s provision.StateStore, org, jobID string) provisionState {
	t.Helper()
	ctx := context.Background()
	var p provisionState
	var err error
	check := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	p.Jobs, err = s.ListJobs(ctx, org)
	check(err)
	p.State, err = s.JobState(ctx, jobID)
	check(err)
	p.Links, err = s.Links(ctx, jobID, provision.User, []string{"s1", "s2"})
	check(err)
	p.Groups, err = s.Links(ctx, jobID, provision.Group, []string{"g1"})
	check(err)
	check(s.ExportedMembers(ctx, jobID, "g1", func(id string) error { p.Members = append(p.Members, id); return nil }))
	sort.Strings(p.Members)
	p.Counts, err = s.CountLinks(ctx, jobID)
	check(err)
	p.Log, err = s.QueryLog(ctx, provision.LogQuery{JobID: jobID})
	check(err)
	if len(p.Jobs) != 2 || len(p.Links) != 2 || len(p.Members) != 2 || len(p.Log) != 3 {
		t.Fatalf("provisioning snapshot is incomplete: %+v", p)
	}
	return p
}
