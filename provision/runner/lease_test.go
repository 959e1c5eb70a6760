package runner_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roster-scim/roster"
	"github.com/roster-scim/roster/postgres"
	"github.com/roster-scim/roster/postgres/pgtest"
	"github.com/roster-scim/roster/provision"
	"github.com/roster-scim/roster/provision/runner"
	"github.com/roster-scim/roster/scim"
)

type bootstrapper interface {
	Bootstrap(ctx context.Context, b *roster.Bootstrap) error
}

// addOrg stores an organization for the jobs.
func addOrg(t *testing.T, db bootstrapper) string {
	t.Helper()
	_, _, org := bootstrap(t, db)
	return org
}

// replicaStores returns two state stores on one database, as two
// replicas of Roster have, and an organization in it.
type replicaStores func(t *testing.T) (a, b provision.StateStore, org string)

func sqliteReplicas(t *testing.T) (provision.StateStore, provision.StateStore, string) {
	db := openDB(t) // one SQLite database is one process's: both engines share it
	return db, db, addOrg(t, db)
}

func postgresReplicas(t *testing.T) (provision.StateStore, provision.StateStore, string) {
	u := pgtest.URL(t) // fails, not skips, with CI=true when PostgreSQL is down
	open := func() *postgres.DB {
		db, err := postgres.Open(context.Background(), u, scim.NewRegistry())
		if err != nil {
			t.Fatalf("open %s: %v", pgtest.Redact(u), err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	a, b := open(), open()
	return a, b, addOrg(t, a)
}

// replica is one Roster process: its own store connection and engine.
type replica struct {
	r *runner.Runner
	e *provision.Engine
}

// leaseFixture is a job from a CSV of n users into a Roster target, and
// two replicas that may run it.
type leaseFixture struct {
	tg    *target
	org   string
	a, b  replica
	store provision.StateStore
	rec   *provision.JobRecord
	n     int
}

func newLeaseFixture(t *testing.T, stores replicaStores, n int) *leaseFixture {
	t.Helper()
	sa, sb, org := stores(t)
	tg := startTarget(t)
	var rows strings.Builder
	for i := range n {
		fmt.Fprintf(&rows, "%d,u%d@example.com,U,%d,,,,,true,Everyone\n", i+1, i, i)
	}
	csv := filepath.Join(t.TempDir(), "users.csv")
	if err := os.WriteFile(csv, []byte(header+rows.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	sealer, _ := provision.NewSealer(make([]byte, provision.KeySize))
	mk := func(s provision.StateStore, holder string) replica {
		e := &provision.Engine{Store: s, Holder: holder}
		return replica{r: &runner.Runner{Store: s, Sealer: sealer, Engine: e}, e: e}
	}
	f := &leaseFixture{tg: tg, org: org, a: mk(sa, "replica-a"), b: mk(sb, "replica-b"), store: sa, n: n}
	def := fmt.Sprintf(`{"name": "hr", "source": {"type": "file", "path": %q, "groups_column": "groups"},
		"target": {"url": %q, "token": %q, "concurrency": 4}}`, csv, tg.url, tg.token)
	j, err := provision.LoadJob(strings.NewReader(def), "job.json", "")
	if err != nil {
		t.Fatal(err)
	}
	if f.rec, err = f.a.r.Save(context.Background(), org, j, false); err != nil {
		t.Fatal(err)
	}
	return f
}

// check asserts that the target has the n users once each, all in
// Everyone, and that the job's links point at distinct target users.
func (f *leaseFixture) check(t *testing.T) {
	t.Helper()
	users := f.tg.users(t)
	if len(users) != f.n {
		t.Errorf("the target has %d users, want %d", len(users), f.n)
	}
	posts := 0
	f.tg.mu.Lock()
	for _, r := range f.tg.requests {
		if r.method == "POST" && strings.HasSuffix(r.path, "/Users") {
			posts++
		}
	}
	f.tg.mu.Unlock()
	if got := f.tg.members(t, "Everyone"); len(got) != f.n {
		t.Errorf("Everyone has %d members, want %d", len(got), f.n)
	}
	ids := make([]string, f.n)
	for i := range ids {
		ids[i] = fmt.Sprint(i + 1)
	}
	links, err := f.store.Links(context.Background(), f.rec.ID, provision.User, ids)
	if err != nil {
		t.Fatal(err)
	}
	targets := map[string]bool{}
	for _, l := range links {
		if l.TargetID == "" || l.State != provision.Active {
			t.Errorf("link %s: %+v", l.SourceID, l)
		}
		targets[l.TargetID] = true
	}
	if len(links) != f.n || len(targets) != f.n {
		t.Errorf("%d links to %d target users, want %d", len(links), len(targets), f.n)
	}
	t.Logf("%d user POSTs reached the target for %d users (requests of a cut cycle may have been cancelled unanswered)", posts, f.n)
}

func TestLeaseSQLite(t *testing.T) {
	t.Parallel()
	testLeases(t, sqliteReplicas)
}

func TestLeasePostgres(t *testing.T) {
	t.Parallel()
	testLeases(t, postgresReplicas)
}

func testLeases(t *testing.T, stores replicaStores) {
	t.Run("concurrent", func(t *testing.T) {
		t.Parallel()
		testConcurrentReplicas(t, stores)
	})
	t.Run("takeover", func(t *testing.T) {
		t.Parallel()
		testTakeover(t, stores)
	})
}

// testConcurrentReplicas starts the job on two replicas at once: one runs
// the cycle, the other is refused with ErrLeaseHeld while it runs.
func testConcurrentReplicas(t *testing.T, stores replicaStores) {
	f := newLeaseFixture(t, stores, 20)
	// The target holds the first write back until one replica has given
	// up, so that the cycles overlap for sure.
	refused := make(chan struct{})
	var once sync.Once
	f.tg.hook = func(r *http.Request) {
		if r.Method != http.MethodGet {
			select {
			case <-refused:
			case <-time.After(5 * time.Second):
			}
		}
	}
	type result struct {
		who string
		s   *provision.Summary
		err error
	}
	results := make(chan result, 2)
	start := make(chan struct{})
	for _, rep := range []replica{f.a, f.b} {
		go func() {
			<-start
			s, err := rep.r.Run(context.Background(), f.org, "hr", runner.RunOptions{})
			if errors.Is(err, provision.ErrLeaseHeld) {
				once.Do(func() { close(refused) })
			}
			results <- result{rep.e.Holder, s, err}
		}()
	}
	close(start)
	var ran, held []result
	for range 2 {
		r := <-results
		switch {
		case errors.Is(r.err, provision.ErrLeaseHeld):
			held = append(held, r)
		case r.err != nil:
			t.Fatalf("%s: %v", r.who, r.err)
		default:
			ran = append(ran, r)
		}
	}
	if len(ran) != 1 || len(held) != 1 {
		t.Fatalf("%d replicas ran the cycle and %d were refused; want 1 and 1", len(ran), len(held))
	}
	if c := ran[0].s.Counts; c.Created != f.n+1 || c.Failed != 0 {
		t.Errorf("%s's cycle: %+v", ran[0].who, c)
	}
	f.check(t)

	// The lease was given up: either replica runs the next cycle.
	f.tg.hook = nil
	if _, err := f.b.r.Run(context.Background(), f.org, "hr", runner.RunOptions{}); err != nil {
		t.Errorf("the next cycle on replica b: %v", err)
	}
	if _, err := f.a.r.Run(context.Background(), f.org, "hr", runner.RunOptions{}); err != nil {
		t.Errorf("the next cycle on replica a: %v", err)
	}
}

// testTakeover kills a replica in the middle of a cycle, as far as the
// database can tell: its lease stays until it expires and the job state
// says the cycle is running. Another replica is refused until the lease
// expires, then continues the same cycle, creating nothing twice.
func testTakeover(t *testing.T, stores replicaStores) {
	ctx := context.Background()
	f := newLeaseFixture(t, stores, 40)
	dead := &provision.Engine{Store: f.store, Holder: "dead"}
	deadRunner := *f.a.r
	deadRunner.Engine = dead
	cut, cancel := context.WithCancel(ctx)
	var mu sync.Mutex
	posts := 0
	f.tg.hook = func(r *http.Request) {
		if r.Method == http.MethodPost {
			mu.Lock()
			if posts++; posts == 15 {
				cancel()
			}
			mu.Unlock()
		}
	}
	if _, err := deadRunner.Run(cut, f.org, "hr", runner.RunOptions{}); err == nil {
		t.Fatal("the cut cycle did not fail")
	}
	f.tg.hook = nil
	// A killed process does not give its lease up: take it again for the
	// dead holder, with a short TTL, as it stood when the process died.
	const ttl = 400 * time.Millisecond
	if ok, err := f.store.AcquireLease(ctx, f.rec.ID, "dead", ttl); err != nil || !ok {
		t.Fatalf("acquire for dead: %v %v", ok, err)
	}
	st, err := f.store.JobState(ctx, f.rec.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !st.Running || st.Cycle == "" || st.Watermark != "" {
		t.Fatalf("the interrupted cycle's state: %+v", st)
	}
	if n := len(f.tg.users(t)); n == 0 || n == f.n {
		t.Fatalf("the interrupted cycle created %d users: not a partial cycle", n)
	}

	if _, err := f.b.r.Run(ctx, f.org, "hr", runner.RunOptions{}); !errors.Is(err, provision.ErrLeaseHeld) {
		t.Fatalf("replica b while the dead replica's lease lasts: %v, want ErrLeaseHeld", err)
	}
	time.Sleep(ttl + 100*time.Millisecond)
	s, err := f.b.r.Run(ctx, f.org, "hr", runner.RunOptions{})
	if err != nil {
		t.Fatalf("replica b after the lease expired: %v", err)
	}
	if s.Cycle != st.Cycle || s.Counts.Failed != 0 {
		t.Errorf("replica b ran cycle %s (%+v); want the interrupted cycle %s continued", s.Cycle, s.Counts, st.Cycle)
	}
	f.check(t)
	if st, _ := f.store.JobState(ctx, f.rec.ID); st.Running || st.Watermark == "" || st.Cycle != s.Cycle {
		t.Errorf("after the takeover the job state is %+v", st)
	}
	// And the dead holder's lease is gone: replica a runs the next cycle,
	// which has nothing to do.
	f.tg.writes()
	if s, err := f.a.r.Run(ctx, f.org, "hr", runner.RunOptions{}); err != nil || s.Counts != (provision.Counts{}) {
		t.Errorf("next cycle on replica a: %v %+v", err, s)
	}
	if w := f.tg.writes(); len(w) != 0 {
		t.Errorf("the cycle after the takeover wrote %v", w)
	}
}
