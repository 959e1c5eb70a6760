package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	_ "modernc.org/sqlite"
)

// These tests run group commit on SQLite files, opened as the sqlite
// package opens its database (one writer connection, BEGIN IMMEDIATE,
// WAL, synchronous=FULL), with a table of their own: the sqlite package's
// tests run it through the real Store.

const gcSchema = `
CREATE TABLE IF NOT EXISTS kv (k TEXT PRIMARY KEY, v TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS parent (id INTEGER PRIMARY KEY);
CREATE TABLE IF NOT EXISTS child (id INTEGER PRIMARY KEY, parent INTEGER NOT NULL REFERENCES parent (id));`

// openGC opens a store with group commit on the database file path.
func openGC(t *testing.T, path string) *Store {
	t.Helper()
	dsn := "file:" + path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=foreign_keys(ON)"
	w, err := sql.Open("sqlite", dsn+"&_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	w.SetMaxOpenConns(1)
	r, err := sql.Open("sqlite", dsn+"&_pragma=query_only(ON)")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Exec(gcSchema); err != nil {
		t.Fatal(err)
	}
	s := New(&Dialect{Param: func(int) string { return "?" }, GroupCommit: true}, w, r, nil)
	if s.gc == nil {
		t.Fatal("GroupCommit is set but the store has no group commit")
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// holdWriter takes the store's only writer connection, so that the calls
// made until release queue up and run as batches.
func holdWriter(t *testing.T, s *Store) (release func()) {
	t.Helper()
	conn, err := s.w.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return func() { conn.Close() }
}

// waitQueued waits until n calls are queued.
func waitQueued(t *testing.T, s *Store, n int) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(time.Millisecond) {
		s.gc.mu.Lock()
		got := len(s.gc.queue)
		s.gc.mu.Unlock()
		if got == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d calls queued, want %d", got, n)
		}
	}
}

// recordBatches records the size of each batch.
func recordBatches(s *Store) func() []int {
	var mu sync.Mutex
	var sizes []int
	s.gc.taken = func(n int) { mu.Lock(); sizes = append(sizes, n); mu.Unlock() }
	return func() []int { mu.Lock(); defer mu.Unlock(); return slices.Clone(sizes) }
}

// readKV returns the rows of kv.
func readKV(t *testing.T, s *Store) map[string]string {
	t.Helper()
	rows, err := s.r.Query(`SELECT k, v FROM kv`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	m := map[string]string{}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			t.Fatal(err)
		}
		m[k] = v
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return m
}

func insertKV(ctx context.Context, tx *sql.Tx, k, v string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO kv (k, v) VALUES (?, ?)`, k, v)
	return err
}

// call is one writeTx call of a test: what it returned or panicked with.
type call struct {
	err   error
	panic any
}

// runCalls starts fns[i] through writeTx in its own goroutine, each
// once the previous one is queued, while the writer is held, and returns
// their results once all returned. With n calls queued before the writer
// is released, the batches are deterministic: the first maxBatch calls in
// order, then the next ones.
func runCalls(t *testing.T, s *Store, ctxs []context.Context, fns []func(context.Context, *sql.Tx) error) []call {
	t.Helper()
	release := holdWriter(t, s)
	out := make([]call, len(fns))
	var wg sync.WaitGroup
	for i, fn := range fns {
		ctx := context.Background()
		if ctxs != nil && ctxs[i] != nil {
			ctx = ctxs[i]
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { out[i].panic = recover() }()
			out[i].err = s.writeTx(ctx, func(tx *sql.Tx) error { return fn(ctx, tx) })
		}()
		waitQueued(t, s, i+1)
	}
	release()
	wg.Wait()
	return out
}

// TestGroupCommit runs a mix of succeeding and failing calls in batches and
// checks, after reopening the database, that each success is there, that
// each failure left nothing, and that each caller got its own result.
func TestGroupCommit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gc.db")
	s := openGC(t, path)
	batches := recordBatches(s)

	// 150 calls on 100 keys: keys 0 to 49 have two callers, i and i+100.
	// Callers with i%7 == 3 insert their row and then fail, as a
	// validation error found after a write would.
	const n = 150
	key := func(i int) string { return fmt.Sprintf("k%03d", i%100) }
	invalid := func(i int) bool { return i%7 == 3 }
	fns := make([]func(context.Context, *sql.Tx) error, n)
	for i := range fns {
		fns[i] = func(ctx context.Context, tx *sql.Tx) error {
			if err := insertKV(ctx, tx, key(i), fmt.Sprint("caller ", i)); err != nil {
				return err
			}
			if invalid(i) {
				return fmt.Errorf("caller %d: invalid", i)
			}
			return nil
		}
	}
	res := runCalls(t, s, nil, fns)
	if got, want := batches(), []int{64, 64, 22}; !slices.Equal(got, want) {
		t.Errorf("batches %v, want %v", got, want)
	}

	s.Close()
	s = openGC(t, path)
	rows := readKV(t, s)
	for k := range 100 {
		// The callers of the key that do not fail on their own, in the
		// order they ran.
		var valid []int
		for _, i := range []int{k, k + 100} {
			if i < n && !invalid(i) {
				valid = append(valid, i)
			}
		}
		v, ok := rows[key(k)]
		if len(valid) == 0 {
			if ok {
				t.Errorf("%s = %q: every caller of the key failed", key(k), v)
			}
			continue
		}
		if want := fmt.Sprint("caller ", valid[0]); v != want {
			t.Errorf("%s = %q (present %v), want %q", key(k), v, ok, want)
		}
	}
	for i, r := range res {
		// first: no caller of the key succeeded before i.
		switch first := i < 100 || invalid(i-100); {
		case r.panic != nil:
			t.Errorf("caller %d panicked: %v", i, r.panic)
		case invalid(i) && first:
			if r.err == nil || r.err.Error() != fmt.Sprintf("caller %d: invalid", i) {
				t.Errorf("caller %d: %v, want its own validation error", i, r.err)
			}
		case first && r.err != nil:
			t.Errorf("caller %d: %v", i, r.err)
		case !first && (r.err == nil || !strings.Contains(r.err.Error(), "UNIQUE")):
			t.Errorf("caller %d: %v, want a UNIQUE violation", i, r.err)
		}
	}
}

// TestGroupCommitLoneCall checks that a call with no other waiting runs
// alone, and the outcomes of a lone call.
func TestGroupCommitLoneCall(t *testing.T) {
	s := openGC(t, filepath.Join(t.TempDir(), "gc.db"))
	batches := recordBatches(s)
	ctx := context.Background()
	if err := s.writeTx(ctx, func(tx *sql.Tx) error { return insertKV(ctx, tx, "a", "1") }); err != nil {
		t.Fatal(err)
	}
	errNo := errors.New("no")
	if err := s.writeTx(ctx, func(tx *sql.Tx) error { insertKV(ctx, tx, "b", "1"); return errNo }); err != errNo {
		t.Fatalf("got %v, want %v", err, errNo)
	}
	if err := s.writeTx(ctx, func(tx *sql.Tx) error { return insertKV(ctx, tx, "a", "2") }); err == nil || !strings.Contains(err.Error(), "UNIQUE") {
		t.Fatalf("got %v, want a UNIQUE violation", err)
	}
	if got := readKV(t, s); len(got) != 1 || got["a"] != "1" {
		t.Errorf("rows %v, want a=1", got)
	}
	if got := batches(); !slices.Equal(got, []int{1, 1, 1}) {
		t.Errorf("batches %v, want three of one", got)
	}
}

// TestGroupCommitCommitFails checks that every caller of a batch whose
// COMMIT fails gets the error, and that nothing of the batch stays.
func TestGroupCommitCommitFails(t *testing.T) {
	errNo := errors.New("no")
	fns := func(failing map[int]func(context.Context, *sql.Tx) error) []func(context.Context, *sql.Tx) error {
		fns := make([]func(context.Context, *sql.Tx) error, 10)
		for i := range fns {
			fns[i] = failing[i]
			if fns[i] == nil {
				fns[i] = func(ctx context.Context, tx *sql.Tx) error { return insertKV(ctx, tx, fmt.Sprint("k", i), "v") }
			}
		}
		return fns
	}
	check := func(t *testing.T, s *Store, res []call, want func(error) bool) {
		t.Helper()
		for i, r := range res {
			if r.panic != nil || !want(r.err) {
				t.Errorf("caller %d: %v (panic %v), want the commit's error", i, r.err, r.panic)
			}
		}
		if got := readKV(t, s); len(got) != 0 {
			t.Errorf("rows %v after a failed commit", got)
		}
		// The store goes on.
		ctx := context.Background()
		if err := s.writeTx(ctx, func(tx *sql.Tx) error { return insertKV(ctx, tx, "after", "v") }); err != nil {
			t.Fatal(err)
		}
		if got := readKV(t, s); len(got) != 1 {
			t.Errorf("rows %v, want after", got)
		}
	}

	t.Run("injected", func(t *testing.T) {
		s := openGC(t, filepath.Join(t.TempDir(), "gc.db"))
		errCommit := errors.New("injected commit failure")
		s.gc.commit = func(tx *sql.Tx) error { tx.Rollback(); return errCommit }
		res := runCalls(t, s, nil, fns(map[int]func(context.Context, *sql.Tx) error{
			5: func(context.Context, *sql.Tx) error { return errNo },
		}))
		s.gc.commit = (*sql.Tx).Commit
		check(t, s, res, func(err error) bool { return errors.Is(err, errCommit) })
	})

	// A deferred foreign key violation is checked at COMMIT, not at the
	// savepoint's RELEASE: one call makes the whole batch's COMMIT fail.
	t.Run("deferred foreign key", func(t *testing.T) {
		s := openGC(t, filepath.Join(t.TempDir(), "gc.db"))
		res := runCalls(t, s, nil, fns(map[int]func(context.Context, *sql.Tx) error{
			3: func(ctx context.Context, tx *sql.Tx) error {
				if _, err := tx.ExecContext(ctx, `PRAGMA defer_foreign_keys = ON`); err != nil {
					return err
				}
				_, err := tx.ExecContext(ctx, `INSERT INTO child (id, parent) VALUES (1, 999)`)
				return err
			},
			5: func(context.Context, *sql.Tx) error { return errNo },
		}))
		check(t, s, res, func(err error) bool { return err != nil && strings.Contains(err.Error(), "FOREIGN KEY") })
	})
}

// TestGroupCommitPanic checks that a panicking fn panics in its caller's
// goroutine, leaves nothing, and does not affect the rest of its batch.
func TestGroupCommitPanic(t *testing.T) {
	s := openGC(t, filepath.Join(t.TempDir(), "gc.db"))
	fns := make([]func(context.Context, *sql.Tx) error, 5)
	for i := range fns {
		fns[i] = func(ctx context.Context, tx *sql.Tx) error {
			if err := insertKV(ctx, tx, fmt.Sprint("k", i), "v"); err != nil {
				return err
			}
			if i == 2 {
				panic("boom")
			}
			return nil
		}
	}
	res := runCalls(t, s, nil, fns)
	for i, r := range res {
		if i != 2 {
			if r.err != nil || r.panic != nil {
				t.Errorf("caller %d: %v (panic %v)", i, r.err, r.panic)
			}
			continue
		}
		p, ok := r.panic.(*TxPanic)
		if !ok || p.Value != "boom" {
			t.Errorf("caller 2 panicked with %#v, want a *TxPanic of boom", r.panic)
		}
	}
	if got := readKV(t, s); len(got) != 4 || got["k2"] != "" {
		t.Errorf("rows %v, want all but k2", got)
	}

	// A lone call that panics.
	func() {
		defer func() {
			if p, ok := recover().(*TxPanic); !ok || p.Value != "alone" {
				t.Errorf("lone call panicked with %#v", p)
			}
		}()
		ctx := context.Background()
		s.writeTx(ctx, func(tx *sql.Tx) error { insertKV(ctx, tx, "alone", "v"); panic("alone") })
	}()
	ctx := context.Background()
	if err := s.writeTx(ctx, func(tx *sql.Tx) error { return insertKV(ctx, tx, "after", "v") }); err != nil {
		t.Fatal(err)
	}
	if got := readKV(t, s); len(got) != 5 || got["alone"] != "" || got["after"] != "v" {
		t.Errorf("rows %v, want k0, k1, k3, k4 and after", got)
	}
}

// TestGroupCommitLostTransaction checks the calls of a batch whose
// transaction SQLite rolled back while one fn ran (as it does after some
// I/O errors or an interrupted statement; here the fn runs ROLLBACK): that
// fn's caller gets an error, and the other calls run again in a new batch.
func TestGroupCommitLostTransaction(t *testing.T) {
	s := openGC(t, filepath.Join(t.TempDir(), "gc.db"))
	batches := recordBatches(s)
	errLost := errors.New("lost")
	errNo := errors.New("no")
	fns := make([]func(context.Context, *sql.Tx) error, 7)
	for i := range fns {
		fns[i] = func(ctx context.Context, tx *sql.Tx) error {
			if err := insertKV(ctx, tx, fmt.Sprint("k", i), "v"); err != nil {
				return err
			}
			switch i {
			case 1: // fails on its own; runs again, fails again
				return errNo
			case 2, 4:
				if _, err := tx.ExecContext(ctx, `ROLLBACK`); err != nil {
					return err
				}
				if i == 2 {
					return errLost
				}
				// 4 does not notice.
			}
			return nil
		}
	}
	res := runCalls(t, s, nil, fns)
	for i, r := range res {
		var ok bool
		switch i {
		case 1:
			ok = r.err == errNo
		case 2:
			ok = r.err == errLost
		case 4:
			ok = r.err != nil
		default:
			ok = r.err == nil
		}
		if !ok || r.panic != nil {
			t.Errorf("caller %d: %v (panic %v)", i, r.err, r.panic)
		}
	}
	// Each lost batch settles the call that lost it and runs the others
	// again.
	if got, want := batches(), []int{7, 6, 5}; !slices.Equal(got, want) {
		t.Errorf("batches %v, want %v", got, want)
	}
	got := readKV(t, s)
	if len(got) != 4 || got["k1"] != "" || got["k2"] != "" || got["k4"] != "" {
		t.Errorf("rows %v, want k0, k3, k5 and k6", got)
	}
}

// TestGroupCommitCancel checks the callers whose context ends: before their
// call ran, they return the context's error and their fn never runs; once
// it ran, they wait for the COMMIT and get its result.
func TestGroupCommitCancel(t *testing.T) {
	s := openGC(t, filepath.Join(t.TempDir(), "gc.db"))
	release := holdWriter(t, s)

	// A gives up while queued.
	ctxA, cancelA := context.WithCancel(context.Background())
	var ranA bool
	doneA := make(chan error)
	go func() {
		doneA <- s.writeTx(ctxA, func(tx *sql.Tx) error { ranA = true; return insertKV(ctxA, tx, "a", "v") })
	}()
	waitQueued(t, s, 1)

	// B's context ends while C's fn runs, after C and B were taken in
	// one batch; C's own context ends once its fn wrote, and D's too,
	// but D's ends after its fn.
	ctxB, cancelB := context.WithCancel(context.Background())
	ctxC, cancelC := context.WithCancel(context.Background())
	var ranB bool
	var wg sync.WaitGroup
	var errB, errC error
	wg.Add(2)
	go func() {
		defer wg.Done()
		errC = s.writeTx(ctxC, func(tx *sql.Tx) error {
			err := insertKV(ctxC, tx, "c", "v")
			cancelB()
			cancelC()
			return err
		})
	}()
	waitQueued(t, s, 2)
	go func() {
		defer wg.Done()
		errB = s.writeTx(ctxB, func(tx *sql.Tx) error { ranB = true; return insertKV(ctxB, tx, "b", "v") })
	}()
	waitQueued(t, s, 3)

	cancelA()
	if err := <-doneA; err != context.Canceled {
		t.Errorf("A: %v, want %v", err, context.Canceled)
	}
	waitQueued(t, s, 2)
	release()
	wg.Wait()
	if ranA || ranB {
		t.Errorf("fn ran for a caller that gave up before: A %v, B %v", ranA, ranB)
	}
	if errB != context.Canceled {
		t.Errorf("B: %v, want %v", errB, context.Canceled)
	}
	if errC != nil {
		t.Errorf("C: %v, want nil: its work was committed", errC)
	}
	if got := readKV(t, s); len(got) != 1 || got["c"] != "v" {
		t.Errorf("rows %v, want c", got)
	}

	// A context that has ended already.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.writeTx(ctx, func(tx *sql.Tx) error { t.Error("fn ran"); return nil }); err != context.Canceled {
		t.Errorf("got %v, want %v", err, context.Canceled)
	}
}

// TestGroupCommitConcurrent runs writers that do not wait for each other:
// whatever the batches, every call's result matches the database.
func TestGroupCommitConcurrent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gc.db")
	s := openGC(t, path)
	const workers, each = 16, 40
	var mu sync.Mutex
	results := map[string]error{} // by caller
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := context.Background()
			for j := range each {
				caller := fmt.Sprintf("w%d-%d", w, j)
				// Two workers share each key, and every fifth call fails.
				k := fmt.Sprintf("k%d-%d", w/2, j)
				err := s.writeTx(ctx, func(tx *sql.Tx) error {
					if err := insertKV(ctx, tx, k, caller); err != nil {
						return err
					}
					if j%5 == 4 {
						return errors.New("invalid")
					}
					return nil
				})
				mu.Lock()
				results[caller] = err
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	s.Close()
	s = openGC(t, path)
	rows := readKV(t, s)
	owners := map[string]string{}
	for caller, err := range results {
		if err == nil {
			var w, j int
			fmt.Sscanf(caller, "w%d-%d", &w, &j)
			k := fmt.Sprintf("k%d-%d", w/2, j)
			if rows[k] != caller {
				t.Errorf("%s succeeded, but %s = %q", caller, k, rows[k])
			}
			if prev, dup := owners[k]; dup {
				t.Errorf("%s and %s both succeeded on %s", prev, caller, k)
			}
			owners[k] = caller
		}
	}
	for k, v := range rows {
		if results[v] != nil || owners[k] != v {
			t.Errorf("%s = %q, whose call failed (%v)", k, v, results[v])
		}
	}
	if len(owners) != workers/2*each*4/5 {
		t.Errorf("%d keys written, want %d", len(owners), workers/2*each*4/5)
	}
}

// TestGroupCommitInterrupted cancels a caller's context while its
// statement runs: SQLite interrupts the statement and rolls back the whole
// transaction (as modernc.org/sqlite v1.62 does), and the other calls of
// the batch run again. Whether or not SQLite rolls back, the others
// succeed and the interrupted call leaves nothing.
func TestGroupCommitInterrupted(t *testing.T) {
	s := openGC(t, filepath.Join(t.TempDir(), "gc.db"))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	res := runCalls(t, s, []context.Context{nil, ctx, nil}, []func(context.Context, *sql.Tx) error{
		func(ctx context.Context, tx *sql.Tx) error { return insertKV(ctx, tx, "first", "v") },
		func(ctx context.Context, tx *sql.Tx) error {
			// A statement that runs until it is interrupted.
			time.AfterFunc(20*time.Millisecond, cancel)
			_, err := tx.ExecContext(ctx, `WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) INSERT INTO kv SELECT 'x' || x, 'v' FROM c`)
			return err
		},
		func(ctx context.Context, tx *sql.Tx) error { return insertKV(ctx, tx, "third", "v") },
	})
	if res[0].err != nil || res[2].err != nil || res[1].err == nil {
		t.Errorf("results %+v, want the second call alone to fail", res)
	}
	if got := readKV(t, s); len(got) != 2 || got["first"] != "v" || got["third"] != "v" {
		t.Errorf("%d rows, want first and third", len(got))
	}
}
