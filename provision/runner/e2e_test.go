package runner_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/roster-scim/roster"
	"github.com/roster-scim/roster/provision"
	"github.com/roster-scim/roster/provision/runner"
	"github.com/roster-scim/roster/scim"
	"github.com/roster-scim/roster/scimhttp"
	"github.com/roster-scim/roster/sqlite"
)

// target is a real Roster server on SQLite, the app a job provisions
// into, behind a recorder of the requests it gets.
type target struct {
	url, token string
	mu         sync.Mutex
	requests   []recorded
	// hook, when set, runs before each request; tests use it to cut a
	// cycle short.
	hook func(r *http.Request)
}

type recorded struct {
	method, path, body string
}

func (tg *target) ServeHTTP(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		tg.mu.Lock()
		tg.requests = append(tg.requests, recorded{r.Method, r.URL.Path, string(body)})
		hook := tg.hook
		tg.mu.Unlock()
		if hook != nil {
			hook(r)
		}
		next.ServeHTTP(w, r)
	})
}

// writes returns and forgets the write requests received so far.
func (tg *target) writes() []recorded {
	tg.mu.Lock()
	defer tg.mu.Unlock()
	var out []recorded
	for _, r := range tg.requests {
		if r.method != http.MethodGet {
			out = append(out, r)
		}
	}
	tg.requests = nil
	return out
}

func bootstrap(t *testing.T, db bootstrapper) (dirID, secret string, orgID string) {
	t.Helper()
	secret, hash := roster.NewSecret()
	b := &roster.Bootstrap{
		Org: roster.Organization{ID: roster.NewID(), Name: "Org"},
		Dir: roster.Directory{ID: roster.NewID(), Name: "Directory"},
		Key: roster.APIKey{ID: roster.NewID(), Name: "key", SecretHash: hash, Users: roster.PrivWrite, Groups: roster.PrivWrite},
	}
	b.Dir.OrgID, b.Key.OrgID = b.Org.ID, b.Org.ID
	if err := db.Bootstrap(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	return b.Dir.ID, secret, b.Org.ID
}

func openDB(t *testing.T) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(context.Background(), t.TempDir(), scim.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func startTarget(t *testing.T) *target {
	t.Helper()
	db := openDB(t)
	dirID, secret, _ := bootstrap(t, db)
	prom := prometheus.NewRegistry()
	srv := scimhttp.New(db, db, nil, slog.New(slog.DiscardHandler), prom, scimhttp.DefaultConfig())
	tg := &target{token: secret}
	ts := httptest.NewServer(tg.ServeHTTP(srv.Handler(prom)))
	t.Cleanup(ts.Close)
	tg.url = ts.URL + "/v1/scim/" + dirID
	return tg
}

// get reads the target directly.
func (tg *target) get(t *testing.T, path string) map[string]any {
	t.Helper()
	req, _ := http.NewRequest("GET", tg.url+path, nil)
	req.Header.Set("Authorization", "Bearer "+tg.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v map[string]any
	json.NewDecoder(resp.Body).Decode(&v)
	tg.mu.Lock()
	tg.requests = tg.requests[:len(tg.requests)-1] // not the engine's
	tg.mu.Unlock()
	return v
}

// users returns the target's users by userName.
func (tg *target) users(t *testing.T) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for _, r := range tg.get(t, "/Users?count=1000")["Resources"].([]any) {
		u := r.(map[string]any)
		out[u["userName"].(string)] = u
	}
	return out
}

// members returns a target group's members' userNames, sorted.
func (tg *target) members(t *testing.T, displayName string) []string {
	t.Helper()
	byID := map[string]string{}
	for name, u := range tg.users(t) {
		byID[u["id"].(string)] = name
	}
	list := tg.get(t, `/Groups?filter=displayName+eq+"`+displayName+`"`)["Resources"].([]any)
	if len(list) != 1 {
		t.Fatalf("%d groups named %s", len(list), displayName)
	}
	var out []string
	ms, _ := list[0].(map[string]any)["members"].([]any)
	for _, m := range ms {
		out = append(out, byID[m.(map[string]any)["value"].(string)])
	}
	sort.Strings(out)
	return out
}

// fixture is a job from a CSV file into a target, with its state in a
// separate Roster store.
type fixture struct {
	t      *testing.T
	tg     *target
	r      *runner.Runner
	org    string
	csv    string
	job    *provision.Job
	engine *provision.Engine
}

const header = "id,userPrincipalName,givenName,surname,jobTitle,mail,department,manager,accountEnabled,groups\n"

func newFixture(t *testing.T, rows string) *fixture {
	t.Helper()
	return newFixtureWith(t, rows, "")
}

// newFixtureWith is newFixture with more of the job definition: extra is
// inserted as JSON members, such as `"on_delete": "disable"`.
func newFixtureWith(t *testing.T, rows, extra string) *fixture {
	t.Helper()
	tg := startTarget(t)
	state := openDB(t)
	_, _, org := bootstrap(t, state)
	dir := t.TempDir()
	f := &fixture{t: t, tg: tg, org: org, csv: filepath.Join(dir, "users.csv")}
	f.write(rows)
	key := make([]byte, provision.KeySize)
	sealer, _ := provision.NewSealer(key)
	f.engine = &provision.Engine{Store: state, Holder: "test"}
	f.r = &runner.Runner{Store: state, Sealer: sealer, Engine: f.engine}
	def := fmt.Sprintf(`{"name": "hr", "source": {"type": "file", "path": %q, "groups_column": "groups"},
		"target": {"url": %q, "token": %q, "concurrency": 4}%s}`, f.csv, tg.url, tg.token, extra)
	j, err := provision.LoadJob(strings.NewReader(def), "job.json", dir)
	if err != nil {
		t.Fatal(err)
	}
	f.job = j
	if _, err := f.r.Save(context.Background(), org, j, false); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) write(rows string) {
	f.t.Helper()
	if err := os.WriteFile(f.csv, []byte(header+rows), 0o600); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) run(ctx context.Context) *provision.Summary {
	f.t.Helper()
	s, err := f.r.Run(ctx, f.org, "hr", runner.RunOptions{})
	if err != nil {
		f.t.Fatalf("run: %v", err)
	}
	return s
}

const people = `1,ada@example.com,Ada,Lovelace,Countess,ada@example.com,Math,3,true,Analysts;Everyone
2,alan@example.com,Alan,Turing,Fellow,alan@example.com,Math,3,true,Analysts;Everyone
3,charles@example.com,Charles,Babbage,Inventor,charles@example.com,Engines,,true,Everyone
4,grace@example.com,Grace,Hopper,Admiral,grace@example.com,Navy,3,true,Everyone
`

func TestFileToRoster(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, people)

	// The initial cycle creates users, then groups without members, then
	// sets managers and adds members.
	s := f.run(ctx)
	if s.Counts.Created != 6 || s.Counts.Failed != 0 {
		t.Fatalf("initial cycle: %+v", s.Counts)
	}
	users := f.tg.users(t)
	if len(users) != 4 {
		t.Fatalf("target has %d users, want 4", len(users))
	}
	ada := users["ada@example.com"]
	if ada["title"] != "Countess" || ada["active"] != true || ada["name"].(map[string]any)["formatted"] != "Ada Lovelace" {
		t.Errorf("ada: %v", ada)
	}
	ent := ada[provision.EnterpriseURN].(map[string]any)
	if mgr, _ := ent["manager"].(map[string]any); mgr == nil || mgr["value"] != users["charles@example.com"]["id"] {
		t.Errorf("ada's manager: %v, want charles %v", ent["manager"], users["charles@example.com"]["id"])
	}
	if got := f.tg.members(t, "Analysts"); strings.Join(got, ",") != "ada@example.com,alan@example.com" {
		t.Errorf("Analysts: %v", got)
	}
	if got := f.tg.members(t, "Everyone"); len(got) != 4 {
		t.Errorf("Everyone: %v", got)
	}
	for _, w := range f.tg.writes() {
		if w.method == "POST" && strings.HasSuffix(w.path, "/Groups") && strings.Contains(w.body, `"members":[{`) {
			t.Errorf("a group was created with members: %s", w.body)
		}
	}

	// Nothing changed: no write at all.
	s = f.run(ctx)
	if w := f.tg.writes(); len(w) != 0 || s.Unchanged != 6 {
		t.Fatalf("no-change cycle sent %d writes (%v); unchanged %d", len(w), w, s.Unchanged)
	}

	// One attribute changed: one PATCH of that attribute only.
	f.write(strings.Replace(people, "Countess", "Enchantress", 1))
	f.run(ctx)
	w := f.tg.writes()
	if len(w) != 1 || w[0].method != "PATCH" || !strings.Contains(w[0].body, `"path":"title"`) || strings.Count(w[0].body, `"op"`) != 1 {
		t.Fatalf("title change sent %v", w)
	}

	// Disabled in the source: disabled in the target and out of groups.
	f.write(strings.Replace(strings.Replace(people, "Countess", "Enchantress", 1), "Alan,Turing,Fellow,alan@example.com,Math,3,true", "Alan,Turing,Fellow,alan@example.com,Math,3,false", 1))
	s = f.run(ctx)
	if s.Counts.Disabled != 1 {
		t.Errorf("disable cycle: %+v", s.Counts)
	}
	if alan := f.tg.users(t)["alan@example.com"]; alan["active"] != false {
		t.Errorf("alan still active: %v", alan)
	}
	if got := f.tg.members(t, "Analysts"); strings.Join(got, ",") != "ada@example.com" {
		t.Errorf("Analysts after alan's disabling: %v", got)
	}

	// Deleted in the source: deleted in the target; moved between groups.
	rows := strings.Replace(people, "Countess", "Enchantress", 1)
	rows = strings.Replace(rows, "2,alan@example.com,Alan,Turing,Fellow,alan@example.com,Math,3,true,Analysts;Everyone\n", "", 1)
	rows = strings.Replace(rows, "Navy,3,true,Everyone", "Navy,3,true,Everyone;Analysts", 1)
	f.write(rows)
	s = f.run(ctx)
	if s.Counts.Deleted != 1 || s.Counts.Failed != 0 {
		t.Errorf("delete cycle: %+v", s.Counts)
	}
	if _, ok := f.tg.users(t)["alan@example.com"]; ok {
		t.Error("alan was not deleted")
	}
	if got := f.tg.members(t, "Analysts"); strings.Join(got, ",") != "ada@example.com,grace@example.com" {
		t.Errorf("Analysts after grace joined: %v", got)
	}
	f.tg.writes()
	if s = f.run(ctx); s.Counts != (provision.Counts{}) {
		t.Errorf("cycle after the changes: %+v", s.Counts)
	}
	if w := f.tg.writes(); len(w) != 0 {
		t.Errorf("cycle after the changes wrote %v", w)
	}
}

// TestInterruptedCycle cuts an initial cycle short after a few creates;
// the next run continues it and nothing is created twice.
func TestInterruptedCycle(t *testing.T) {
	var rows strings.Builder
	for i := range 40 {
		fmt.Fprintf(&rows, "%d,u%d@example.com,U,%d,,,,,true,Everyone\n", i+1, i, i)
	}
	f := newFixture(t, rows.String())
	ctx, cancel := context.WithCancel(context.Background())
	var n int
	var mu sync.Mutex
	f.tg.hook = func(r *http.Request) {
		if r.Method == "POST" {
			mu.Lock()
			if n++; n == 10 {
				cancel()
			}
			mu.Unlock()
		}
	}
	if _, err := f.r.Run(ctx, f.org, "hr", runner.RunOptions{}); err == nil {
		t.Fatal("the cut cycle did not fail")
	}
	f.tg.hook = nil
	s := f.run(context.Background())
	if s.Counts.Failed != 0 {
		t.Fatalf("continued cycle: %+v", s.Counts)
	}
	if got := len(f.tg.users(t)); got != 40 {
		t.Fatalf("target has %d users, want 40", got)
	}
	if got := f.tg.members(t, "Everyone"); len(got) != 40 {
		t.Errorf("Everyone has %d members", len(got))
	}
}
