package loadgen_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/roster-scim/roster"
	"github.com/roster-scim/roster/loadgen"
	"github.com/roster-scim/roster/scim"
	"github.com/roster-scim/roster/scimhttp"
	"github.com/roster-scim/roster/sqlite"
)

// server is a real Roster server on SQLite behind a counter of the
// requests it answers; fail, when set, answers a request instead.
type server struct {
	url, token string
	requests   atomic.Int64
	fail       func(r *http.Request) bool
}

func startServer(t *testing.T) *server {
	t.Helper()
	db, err := sqlite.Open(context.Background(), t.TempDir(), scim.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
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
	prom := prometheus.NewRegistry()
	h := scimhttp.New(db, db, nil, slog.New(slog.DiscardHandler), prom, scimhttp.DefaultConfig()).Handler(prom)
	s := &server{token: secret}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		if s.fail != nil && s.fail(r) {
			http.Error(w, "injected", http.StatusInternalServerError)
			return
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(ts.Close)
	s.url = ts.URL + "/v1/scim/" + b.Dir.ID
	return s
}

// total returns how many resources of a type the server holds.
func (s *server) total(t *testing.T, typ string) int {
	t.Helper()
	req, _ := http.NewRequest("GET", s.url+"/"+typ+"?count=1", nil)
	req.Header.Set("Authorization", "Bearer "+s.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v struct{ TotalResults int }
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		t.Fatal(err)
	}
	return v.TotalResults
}

func config(s *server) loadgen.Config {
	return loadgen.Config{URL: s.url, Token: s.token, Users: 50, Groups: 3, MembersPerGroup: 25, Concurrency: 4,
		Duration: 300 * time.Millisecond, Seed: 7}
}

func requestsIn(rep *loadgen.Report) int64 {
	var n int64
	for _, o := range rep.Preload.Ops {
		n += int64(o.Count)
	}
	for _, o := range rep.Ops {
		n += int64(o.Count)
	}
	n += int64(rep.Cleanup.Users + rep.Cleanup.Groups)
	for _, c := range rep.Cleanup.Errors {
		n += c
	}
	return n
}

func TestRunAgainstRoster(t *testing.T) {
	s := startServer(t)
	rep, err := loadgen.Run(context.Background(), config(s))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := requestsIn(rep), s.requests.Load(); got != want {
		t.Errorf("the report counts %d requests, the server answered %d", got, want)
	}
	if !rep.Server.Behaved {
		doc, _ := json.MarshalIndent(rep, "", "  ")
		t.Errorf("Roster did not behave:\n%s", doc)
	}
	p := rep.Preload
	if p.Users != 50 || p.Groups != 3 || p.Memberships != 75 || p.Ops["create_user"].Count != 50 || p.Ops["add_members"].Count != 9 || p.CreatesPerS <= 0 {
		t.Errorf("preload: %+v", p)
	}
	var sum uint64
	for _, name := range loadgen.OpNames() {
		o, ok := rep.Ops[name]
		if !ok {
			t.Errorf("no %s in the report", name)
		}
		sum += o.Count
		if o.Count > 0 && (o.P50MS <= 0 || o.P50MS > o.P95MS || o.P95MS > o.P99MS || o.P99MS > o.MaxMS || o.RPS <= 0) {
			t.Errorf("%s: %+v", name, o)
		}
	}
	if sum != rep.Overall.Count || sum == 0 || rep.Overall.Seconds < 0.3 {
		t.Errorf("ops add up to %d, overall %+v", sum, rep.Overall)
	}
	// 30% and 20% of the mix: absent from 100 requests once in 10^10 runs.
	if sum >= 100 && (rep.Ops["match_username"].Count == 0 || rep.Ops["patch_user_default"].Count == 0) {
		t.Errorf("the heaviest operations did not run: %+v", rep.Ops)
	}
	if rep.Cleanup.Kept || rep.Cleanup.Groups < 3 || rep.Cleanup.Users < 50 || len(rep.Cleanup.Errors) != 0 {
		t.Errorf("cleanup: %+v", rep.Cleanup)
	}
	if u, g := s.total(t, "Users"), s.total(t, "Groups"); u != 0 || g != 0 {
		t.Errorf("after the cleanup the server holds %d users and %d groups", u, g)
	}
	doc, _ := json.Marshal(rep)
	if strings.Contains(string(doc), s.token) {
		t.Error("the report holds the token")
	}
	if rep.Weights["match_username"] != 30 || len(rep.Weights) != len(loadgen.OpNames()) {
		t.Errorf("weights: %v", rep.Weights)
	}
}

func TestRunKeep(t *testing.T) {
	s := startServer(t)
	cfg := config(s)
	cfg.Keep, cfg.Users, cfg.Duration = true, 20, 100*time.Millisecond
	rep, err := loadgen.Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Cleanup.Kept || rep.Cleanup.Users < 20 {
		t.Fatalf("cleanup: %+v", rep.Cleanup)
	}
	if u, g := s.total(t, "Users"), s.total(t, "Groups"); u != rep.Cleanup.Users || g != rep.Cleanup.Groups {
		t.Errorf("the server holds %d users and %d groups, the report says %d and %d were kept", u, g, rep.Cleanup.Users, rep.Cleanup.Groups)
	}
}

func TestRunErrorsByStatus(t *testing.T) {
	s := startServer(t)
	// GET /Groups/{id} fails: only get_group_excluding_members sends it.
	s.fail = func(r *http.Request) bool { return r.Method == "GET" && strings.Contains(r.URL.Path, "/Groups/") }
	cfg := config(s)
	cfg.Duration = 500 * time.Millisecond
	rep, err := loadgen.Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Server.Behaved {
		t.Error("a server that answers 500 behaved")
	}
	for name, o := range rep.Ops {
		want := map[string]int64{}
		if name == "get_group_excluding_members" {
			want["500"] = int64(o.Count)
		}
		if len(o.Errors) != len(want) || o.Errors["500"] != want["500"] {
			t.Errorf("%s: %d requests, errors %v, want %v", name, o.Count, o.Errors, want)
		}
	}
	if rep.Overall.Errors["500"] != int64(rep.Ops["get_group_excluding_members"].Count) {
		t.Errorf("overall errors %v", rep.Overall.Errors)
	}
	if got, want := requestsIn(rep), s.requests.Load(); got != want {
		t.Errorf("the report counts %d requests, the server answered %d", got, want)
	}
}

func TestRunWrongToken(t *testing.T) {
	s := startServer(t)
	cfg := config(s)
	cfg.Token = "rst_wrong-secret"
	rep, err := loadgen.Run(context.Background(), cfg)
	if err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("err = %v, want the 401 of Test Connection", err)
	}
	if strings.Contains(err.Error(), cfg.Token) || rep.Preload.Ops["test_connection"].Errors["401"] != 1 || s.requests.Load() != 1 {
		t.Errorf("err %v, report %+v, %d requests", err, rep.Preload, s.requests.Load())
	}
}

func TestRunCancelled(t *testing.T) {
	s := startServer(t)
	cfg := config(s)
	cfg.Duration = time.Minute
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(300*time.Millisecond, cancel)
	rep, err := loadgen.Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Interrupted || rep.Overall.Seconds > 10 {
		t.Errorf("interrupted %v after %.1fs", rep.Interrupted, rep.Overall.Seconds)
	}
	if u, g := s.total(t, "Users"), s.total(t, "Groups"); u != 0 || g != 0 {
		t.Errorf("after an interrupted run the server holds %d users and %d groups", u, g)
	}
}
