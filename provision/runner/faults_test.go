package runner_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/roster-scim/roster/internal/faults"
	"github.com/roster-scim/roster/provision"
	"github.com/roster-scim/roster/provision/runner"
	"github.com/roster-scim/roster/provision/scimclient"
	"github.com/roster-scim/roster/scimhttp"
)

// serverLog sits between the fault injector and the real handler, so it
// sees what the target really did, including the writes whose answers the
// injector then dropped: every 201 to a POST, and every write.
type serverLog struct {
	mu      sync.Mutex
	created map[string][]string // resource type -> ids of objects created, in order
	writes  []string
}

func (l *serverLog) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		l.mu.Lock()
		if r.Method != http.MethodGet {
			l.writes = append(l.writes, r.Method+" "+r.URL.Path)
		}
		if r.Method == http.MethodPost && rec.Code == http.StatusCreated {
			var v struct{ ID string }
			json.Unmarshal(rec.Body.Bytes(), &v)
			rt := r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]
			l.created[rt] = append(l.created[rt], v.ID)
		}
		l.mu.Unlock()
		maps.Copy(w.Header(), rec.Header())
		w.WriteHeader(rec.Code)
		w.Write(rec.Body.Bytes())
	})
}

// takeWrites returns and forgets the writes so far.
func (l *serverLog) takeWrites() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	w := l.writes
	l.writes = nil
	return w
}

// faultyTarget is a SCIM target behind a fault injector: the engine talks
// to url, the test checks the outcome through direct, which has no faults.
type faultyTarget struct {
	url, direct, token string
	inj                *faults.Injector
	log                *serverLog
}

func newFaultyTarget(t *testing.T, h http.Handler, base, token string, cfg faults.Config) *faultyTarget {
	t.Helper()
	ft := &faultyTarget{token: token, log: &serverLog{created: map[string][]string{}}}
	logged := ft.log.wrap(h)
	ft.inj = faults.Wrap(logged, cfg)
	faulty := httptest.NewServer(ft.inj)
	t.Cleanup(faulty.Close)
	direct := httptest.NewServer(h)
	t.Cleanup(direct.Close)
	ft.url, ft.direct = faulty.URL+base, direct.URL+base
	return ft
}

// startFaultyRoster is a real Roster server behind faults; Roster keeps
// userName and displayName unique.
func startFaultyRoster(t *testing.T, cfg faults.Config) *faultyTarget {
	t.Helper()
	db := openDB(t)
	dirID, secret, _ := bootstrap(t, db)
	prom := prometheus.NewRegistry()
	srv := scimhttp.New(db, db, nil, slog.New(slog.DiscardHandler), prom, scimhttp.DefaultConfig())
	return newFaultyTarget(t, srv.Handler(prom), "/v1/scim/"+dirID, secret, cfg)
}

// startFaultyFake is a permissive SCIM app behind faults: it stores
// whatever it is sent, duplicates included, so a blindly resent create
// shows as a second object.
func startFaultyFake(t *testing.T, cfg faults.Config) *faultyTarget {
	t.Helper()
	return newFaultyTarget(t, newPermissive(), "/scim", "fake-token", cfg)
}

// checker lists a target's resources without faults.
func (ft *faultyTarget) list(t *testing.T, rt string) []map[string]any {
	t.Helper()
	c, err := scimclient.New(scimclient.Config{BaseURL: ft.direct, Token: ft.token})
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	if err := c.List(context.Background(), rt, "", nil, func(r map[string]any) error { out = append(out, r); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

// population is a CSV of n users in groups G0..G4 with managers: user i
// reports to the first user of its block of ten.
func population(n int) (rows string, members map[string][]string, manager map[string]string) {
	var b strings.Builder
	members, manager = map[string][]string{}, map[string]string{}
	for i := 1; i <= n; i++ {
		name := fmt.Sprintf("u%03d@example.com", i)
		groups := []string{fmt.Sprintf("G%d", i%5)}
		if i%2 == 0 {
			groups = append(groups, fmt.Sprintf("G%d", (i+1)%5))
		}
		for _, g := range groups {
			members[g] = append(members[g], name)
		}
		mgr := ""
		if boss := (i-1)/10*10 + 1; boss != i {
			mgr = strconv.Itoa(boss)
			manager[name] = fmt.Sprintf("u%03d@example.com", boss)
		}
		fmt.Fprintf(&b, "%d,%s,Given%d,Sur%d,Title %d,%s,Dept%d,%s,true,%s\n", i, name, i, i, i, name, i%3, mgr, strings.Join(groups, ";"))
	}
	for _, m := range members {
		sort.Strings(m)
	}
	return b.String(), members, manager
}

// directJob is a job saved in a fresh state store whose cycles the test
// runs through Engine.Run with a SCIM client it configures itself: the
// job has no setting for the client's backoff, and the defaults (500ms,
// 5 attempts) would make a faulty target slow to test.
type directJob struct {
	t      *testing.T
	store  provision.StateStore
	r      *runner.Runner
	engine *provision.Engine
	rec    *provision.JobRecord
	job    *provision.Job
	client scimclient.Config
}

func newDirectJob(t *testing.T, def string, client scimclient.Config) *directJob {
	t.Helper()
	state := openDB(t)
	_, _, org := bootstrap(t, state)
	return newDirectJobOn(t, state, org, def, client)
}

func newDirectJobOn(t *testing.T, state provision.StateStore, org, def string, client scimclient.Config) *directJob {
	t.Helper()
	sealer, _ := provision.NewSealer(make([]byte, provision.KeySize))
	d := &directJob{t: t, store: state, engine: &provision.Engine{Store: state, Holder: "test"}, client: client}
	d.r = &runner.Runner{Store: state, Sealer: sealer, Engine: d.engine}
	j, err := provision.LoadJob(strings.NewReader(def), "job.json", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if d.rec, err = d.r.Save(context.Background(), org, j, false); err != nil {
		t.Fatal(err)
	}
	if _, d.job, err = d.r.Load(context.Background(), org, j.Name); err != nil {
		t.Fatal(err)
	}
	return d
}

func (d *directJob) cycleWith(ctx context.Context, e *provision.Engine) (*provision.Summary, error) {
	src, err := d.r.Source(d.job)
	if err != nil {
		d.t.Fatal(err)
	}
	tgt, err := scimclient.New(d.client)
	if err != nil {
		d.t.Fatal(err)
	}
	return e.Run(ctx, provision.Cycle{Record: d.rec, Job: d.job, Source: src, Target: tgt})
}

func (d *directJob) cycle() *provision.Summary {
	d.t.Helper()
	s, err := d.cycleWith(context.Background(), d.engine)
	if err != nil {
		d.t.Fatalf("cycle: %v", err)
	}
	return s
}

// faultRates are the faults of the convergence tests: about a third of
// the requests fail one way or another, and some are slow.
var faultRates = faults.Config{Seed: 7, TooMany: 0.10, RetryAfter: "0", ServerError: 0.10, Drop: 0.05, DropAfter: 0.05,
	Slow: 0.05, Delay: 30 * time.Millisecond}

func TestFaultsConvergeRoster(t *testing.T) {
	t.Parallel()
	testConverge(t, startFaultyRoster(t, faultRates))
}

// TestFaultsConvergePermissive runs against a target that does not
// enforce unique userNames or displayNames, where only the engine and its
// client stand between a dropped answer and a duplicate.
func TestFaultsConvergePermissive(t *testing.T) {
	t.Parallel()
	testConverge(t, startFaultyFake(t, faultRates))
}

func testConverge(t *testing.T, ft *faultyTarget) {
	const n = 200
	rows, wantMembers, wantManager := population(n)
	dir := t.TempDir()
	csv := filepath.Join(dir, "users.csv")
	if err := os.WriteFile(csv, []byte(header+rows), 0o600); err != nil {
		t.Fatal(err)
	}
	def := fmt.Sprintf(`{"name": "hr", "source": {"type": "file", "path": %q, "groups_column": "groups"},
		"target": {"url": %q, "token": %q, "concurrency": 8}}`, csv, ft.url, ft.token)
	// Three attempts per request: some objects fail in a cycle and the
	// next cycles must finish them.
	d := newDirectJob(t, def, scimclient.Config{BaseURL: ft.url, Token: ft.token, Concurrency: 8,
		MaxAttempts: 3, Backoff: 2 * time.Millisecond, Timeout: 5 * time.Second})

	converged := false
	for i := 1; i <= 10 && !converged; i++ {
		s, err := d.cycleWith(context.Background(), d.engine)
		if err != nil {
			t.Logf("cycle %d failed: %v", i, err)
			continue
		}
		t.Logf("cycle %d: %+v", i, s.Counts)
		converged = s.Counts.Failed == 0
	}
	t.Logf("faults injected: %v", ft.inj.Stats())
	if !converged {
		t.Fatal("no cycle of 10 ended without failures")
	}
	st := ft.inj.Stats()
	if st[faults.KindDropAfter] == 0 || st[faults.KindDrop] == 0 || st[faults.KindTooMany] == 0 || st[faults.KindServerError] == 0 {
		t.Errorf("not every kind of fault happened: %v", st)
	}

	// Healed, the target gets not a single write.
	ft.inj.SetConfig(faults.Config{})
	ft.log.takeWrites()
	s := d.cycle()
	if w := ft.log.takeWrites(); len(w) != 0 || s.Counts != (provision.Counts{}) {
		t.Errorf("the cycle after convergence: %+v, wrote %v", s.Counts, w)
	}

	// Exactly the source's users, once each.
	users := ft.list(t, "Users")
	byName := map[string]map[string]any{}
	nameOf := map[string]string{}
	for _, u := range users {
		name := u["userName"].(string)
		if byName[name] != nil {
			t.Errorf("user %s exists twice", name)
		}
		byName[name] = u
		nameOf[u["id"].(string)] = name
	}
	if len(users) != n || len(byName) != n {
		t.Errorf("the target has %d users (%d userNames), want %d", len(users), len(byName), n)
	}
	for i := 1; i <= n; i++ {
		if byName[fmt.Sprintf("u%03d@example.com", i)] == nil {
			t.Errorf("u%03d is missing", i)
		}
	}
	// Managers.
	for name, mgr := range wantManager {
		u := byName[name]
		if u == nil {
			continue
		}
		ext, _ := u[provision.EnterpriseURN].(map[string]any)
		m, _ := ext["manager"].(map[string]any)
		if m == nil || nameOf[fmt.Sprint(m["value"])] != mgr {
			t.Errorf("%s's manager is %v, want %s", name, ext["manager"], mgr)
		}
	}
	// Groups, once each, with exactly their members.
	groups := ft.list(t, "Groups")
	if len(groups) != len(wantMembers) {
		t.Errorf("the target has %d groups, want %d", len(groups), len(wantMembers))
	}
	seenGroup := map[string]bool{}
	for _, g := range groups {
		name := g["displayName"].(string)
		if seenGroup[name] {
			t.Errorf("group %s exists twice", name)
		}
		seenGroup[name] = true
		var got []string
		ms, _ := g["members"].([]any)
		for _, m := range ms {
			got = append(got, nameOf[fmt.Sprint(m.(map[string]any)["value"])])
		}
		sort.Strings(got)
		if strings.Join(got, ",") != strings.Join(wantMembers[name], ",") {
			t.Errorf("group %s has %d members %v, want %d", name, len(got), got, len(wantMembers[name]))
		}
	}

	// The target created each object once: every 201 it sent, answer
	// dropped or not, is an object that still exists and that exactly one
	// link points at.
	ft.log.mu.Lock()
	created := map[string][]string{"Users": ft.log.created["Users"], "Groups": ft.log.created["Groups"]}
	ft.log.mu.Unlock()
	if len(created["Users"]) != n || len(created["Groups"]) != len(wantMembers) {
		t.Errorf("the target created %d users and %d groups, want %d and %d", len(created["Users"]), len(created["Groups"]), n, len(wantMembers))
	}
	ids := make([]string, n)
	for i := range ids {
		ids[i] = strconv.Itoa(i + 1)
	}
	links, err := d.store.Links(context.Background(), d.rec.ID, provision.User, ids)
	if err != nil {
		t.Fatal(err)
	}
	linked := map[string]int{}
	for _, l := range links {
		linked[l.TargetID]++
	}
	for _, id := range created["Users"] {
		if linked[id] != 1 {
			t.Errorf("created user %s (%s) is linked %d times", id, nameOf[id], linked[id])
		}
	}
	if len(links) != n || len(linked) != n {
		t.Errorf("%d user links to %d target users, want %d", len(links), len(linked), n)
	}
}

// permissive is a SCIM app that accepts anything: no uniqueness, no
// schema checks. It understands the filters the engine sends (attr eq
// "value"), paging, and the PATCH operations the engine uses.
type permissive struct {
	mu   sync.Mutex
	next int
	objs map[string]map[string]map[string]any // resource type -> id -> resource
	ids  map[string][]string                  // resource type -> ids in creation order
}

func newPermissive() *permissive {
	return &permissive{objs: map[string]map[string]map[string]any{"Users": {}, "Groups": {}}, ids: map[string][]string{}}
}

var eqFilter = regexp.MustCompile(`^(\S+) eq "((?:[^"\\]|\\.)*)"$`)

func (p *permissive) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	defer p.mu.Unlock()
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/scim/"), "/")
	rt := parts[0]
	objs := p.objs[rt]
	if objs == nil {
		http.NotFound(w, r)
		return
	}
	reply := func(status int, v any) {
		w.Header().Set("Content-Type", "application/scim+json")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(v)
	}
	if len(parts) == 1 {
		switch r.Method {
		case http.MethodGet:
			var match []any
			var attr, want string
			if f := r.URL.Query().Get("filter"); f != "" {
				m := eqFilter.FindStringSubmatch(f)
				if m == nil {
					reply(400, map[string]any{"status": "400", "scimType": "invalidFilter", "detail": f})
					return
				}
				attr, want = m[1], m[2]
			}
			for _, id := range p.ids[rt] {
				o, ok := objs[id]
				if ok && (attr == "" || fmt.Sprint(getPath(o, attr)) == want) {
					match = append(match, o)
				}
			}
			start, _ := strconv.Atoi(r.URL.Query().Get("startIndex"))
			start = max(start, 1)
			count, err := strconv.Atoi(r.URL.Query().Get("count"))
			if err != nil {
				count = 100
			}
			page := match[min(start-1, len(match)):min(start-1+count, len(match))]
			reply(200, map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:ListResponse"},
				"totalResults": len(match), "startIndex": start, "itemsPerPage": len(page), "Resources": append([]any{}, page...)})
		case http.MethodPost:
			var o map[string]any
			if err := json.NewDecoder(r.Body).Decode(&o); err != nil {
				reply(400, map[string]any{"status": "400", "detail": err.Error()})
				return
			}
			p.next++
			id := fmt.Sprintf("%s-%d", strings.ToLower(rt[:1]), p.next)
			o["id"] = id
			objs[id] = o
			p.ids[rt] = append(p.ids[rt], id)
			reply(201, o)
		default:
			w.WriteHeader(405)
		}
		return
	}
	o, ok := objs[parts[1]]
	if !ok {
		reply(404, map[string]any{"status": "404", "detail": "not found"})
		return
	}
	switch r.Method {
	case http.MethodGet:
		reply(200, o)
	case http.MethodDelete:
		delete(objs, parts[1])
		w.WriteHeader(204)
	case http.MethodPatch:
		var body struct {
			Operations []struct {
				Op    string
				Path  string
				Value any
			}
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			reply(400, map[string]any{"status": "400", "detail": err.Error()})
			return
		}
		for _, op := range body.Operations {
			switch {
			case op.Path == "members" && strings.EqualFold(op.Op, "add"):
				have := map[string]bool{}
				ms, _ := o["members"].([]any)
				for _, m := range ms {
					have[fmt.Sprint(m.(map[string]any)["value"])] = true
				}
				for _, m := range op.Value.([]any) {
					if v := fmt.Sprint(m.(map[string]any)["value"]); !have[v] {
						have[v] = true
						ms = append(ms, m)
					}
				}
				o["members"] = ms
			case strings.HasPrefix(op.Path, "members[value eq "):
				v := strings.Trim(strings.TrimSuffix(strings.TrimPrefix(op.Path, "members[value eq "), "]"), `"`)
				ms, _ := o["members"].([]any)
				var keep []any
				for _, m := range ms {
					if fmt.Sprint(m.(map[string]any)["value"]) != v {
						keep = append(keep, m)
					}
				}
				o["members"] = keep
			default:
				setPath(o, op.Path, op.Value)
			}
		}
		w.WriteHeader(204)
	default:
		w.WriteHeader(405)
	}
}

// getPath and setPath handle attr, attr.sub and urn:...:attr, enough for
// the filters and PATCHes the convergence test causes.
func getPath(o map[string]any, path string) any {
	if i := strings.LastIndex(path, ":"); i > 0 {
		ext, _ := o[path[:i]].(map[string]any)
		return ext[path[i+1:]]
	}
	if a, sub, ok := strings.Cut(path, "."); ok && !strings.Contains(a, "[") {
		m, _ := o[a].(map[string]any)
		return m[sub]
	}
	return o[path]
}

func setPath(o map[string]any, path string, v any) {
	if i := strings.LastIndex(path, ":"); i > 0 {
		ext, _ := o[path[:i]].(map[string]any)
		if ext == nil {
			ext = map[string]any{}
			o[path[:i]] = ext
		}
		ext[path[i+1:]] = v
		return
	}
	if a, sub, ok := strings.Cut(path, "."); ok && !strings.Contains(a, "[") {
		m, _ := o[a].(map[string]any)
		if m == nil {
			m = map[string]any{}
			o[a] = m
		}
		m[sub] = v
		return
	}
	o[path] = v
}
