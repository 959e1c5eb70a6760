package reqlog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/roster-scim/roster"
)

// memStore is a RequestLogStore in memory. Each AppendRequests call is
// one batch; with gate set, AppendRequests waits for a receive on it, so a
// test can hold the writer still.
type memStore struct {
	mu      sync.Mutex
	batches [][]roster.RequestEntry
	prunes  []time.Time
	fail    error
	gate    chan struct{}
	entered chan struct{} // receives once per AppendRequests call, when set
}

func (s *memStore) AppendRequests(ctx context.Context, entries []roster.RequestEntry) error {
	if s.entered != nil {
		s.entered <- struct{}{}
	}
	if s.gate != nil {
		<-s.gate
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return s.fail
	}
	s.batches = append(s.batches, entries)
	return nil
}

func (s *memStore) PruneRequests(ctx context.Context, before time.Time) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.prunes = append(s.prunes, before)
	return 3, nil
}

func (s *memStore) entries() []roster.RequestEntry {
	s.mu.Lock()
	defer s.mu.Unlock()
	var all []roster.RequestEntry
	for _, b := range s.batches {
		all = append(all, b...)
	}
	return all
}

// directories is a DirectoryFunc over a fixed set.
func directories(ds ...*roster.Directory) DirectoryFunc {
	return func(ctx context.Context, id string) (*roster.Directory, error) {
		for _, d := range ds {
			if d.ID == id {
				c := *d
				return &c, nil
			}
		}
		return nil, roster.Errorf(roster.ENOTFOUND, "no directory %q", id)
	}
}

var (
	dirA = &roster.Directory{ID: "dir-a", OrgID: "org-a"}
	dirC = &roster.Directory{ID: "dir-c", OrgID: "org-c", CaptureBodies: true}
)

func entry(dir, org string, n int) roster.RequestEntry {
	e := roster.RequestEntry{Time: time.Unix(int64(n), 0), OrgID: org, DirectoryID: dir, CredentialKind: "key", CredentialID: "k1",
		Method: "POST", Route: "/v1/scim/{idp}/Users", ResourceType: "User", Status: 201, RequestID: fmt.Sprint("r", n)}
	if org == "" {
		e.CredentialKind, e.CredentialID, e.Status = "", "", 401
	}
	return e
}

func newTestRecorder(t *testing.T, store *memStore, opts Options) (*Recorder, *bytes.Buffer) {
	t.Helper()
	var logs bytes.Buffer
	if opts.FlushInterval == 0 {
		opts.FlushInterval = time.Hour // tests flush by size or Close unless they ask otherwise
	}
	r := NewRecorder(store, directories(dirA, dirC), slog.New(slog.NewTextHandler(&logs, nil)), opts)
	t.Cleanup(func() { r.Close() })
	return r, &logs
}

// TestRecorderEntries checks what a flushed entry holds: the summary, the
// organization of an unauthenticated request, a redacted body only with
// capture on, and nothing for an unknown directory.
func TestRecorderEntries(t *testing.T) {
	store := &memStore{}
	r, _ := newTestRecorder(t, store, Options{})
	body := []byte(`{"userName":"alice@example.com","password":"hunter2","active":false}`)
	r.Record(entry("dir-a", "org-a", 1), "", body)
	r.Record(entry("dir-c", "org-c", 2), "", body)
	r.Record(entry("dir-c", "", 3), "", nil)
	r.Record(entry("dir-unknown", "", 4), "", nil)
	long := entry("dir-a", "org-a", 5)
	long.ResourceID, long.Method = strings.Repeat("x", 1000), strings.Repeat("M", 100)
	r.Record(long, "", nil)
	r.Close()

	got := store.entries()
	if len(got) != 4 {
		t.Fatalf("stored %d entries, want 4 (the unknown directory's dropped): %+v", len(got), got)
	}
	for _, e := range got {
		if strings.Contains(e.Summary+e.Body, "hunter2") || strings.Contains(e.Summary, "alice") {
			t.Errorf("entry %s leaks a value: summary %q, body %q", e.RequestID, e.Summary, e.Body)
		}
	}
	if e := got[0]; e.Summary != "POST create User active=false" || e.Body != "" {
		t.Errorf("capture off: summary %q, body %q", e.Summary, e.Body)
	}
	if e := got[1]; e.Body != `{"active":false,"password":"[REDACTED]","userName":"alice@example.com"}` {
		t.Errorf("capture on: body %q", e.Body)
	}
	if e := got[2]; e.OrgID != "org-c" || e.Status != 401 || e.Body != "" {
		t.Errorf("unauthenticated request: %+v, want org-c from its directory", e)
	}
	if e := got[3]; len(e.ResourceID) > 128 || len(e.Method) > 16 {
		t.Errorf("oversized fields stored: resource id of %d bytes, method of %d", len(e.ResourceID), len(e.Method))
	}
}

// TestRecorderBatches checks that entries are written BatchSize at a time,
// and a partial batch after FlushInterval.
func TestRecorderBatches(t *testing.T) {
	store := &memStore{}
	r, _ := newTestRecorder(t, store, Options{BatchSize: 4, FlushInterval: 20 * time.Millisecond})
	for i := range 10 {
		r.Record(entry("dir-a", "org-a", i), "", nil)
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(store.entries()) < 10 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	store.mu.Lock()
	var sizes []int
	for _, b := range store.batches {
		sizes = append(sizes, len(b))
	}
	store.mu.Unlock()
	if fmt.Sprint(sizes) != "[4 4 2]" {
		t.Errorf("batch sizes %v, want [4 4 2]", sizes)
	}
	for i, e := range store.entries() {
		if e.RequestID != fmt.Sprint("r", i) {
			t.Errorf("entry %d is %s: entries are stored in the order recorded", i, e.RequestID)
		}
	}
}

// TestRecorderDropsWhenFull holds the writer inside a store write and
// checks that Record neither blocks nor queues more than QueueSize, and
// that drops are counted, also in Prometheus.
func TestRecorderDropsWhenFull(t *testing.T) {
	store := &memStore{gate: make(chan struct{}), entered: make(chan struct{}, 10)}
	reg := prometheus.NewRegistry()
	r, _ := newTestRecorder(t, store, Options{QueueSize: 3, BatchSize: 1, Registerer: reg})
	r.Record(entry("dir-a", "org-a", 0), "", nil)
	<-store.entered // the writer holds entry 0 and waits on the gate
	done := make(chan struct{})
	go func() {
		for i := 1; i <= 10; i++ {
			r.Record(entry("dir-a", "org-a", i), "", nil)
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Record blocked on a full queue")
	}
	if got := r.Dropped(); got != 7 {
		t.Errorf("Dropped() = %d, want 7 (10 recorded, 3 queued)", got)
	}
	if got := metricValue(t, reg, "roster_request_log_dropped_total"); got != 7 {
		t.Errorf("roster_request_log_dropped_total = %v, want 7", got)
	}
	close(store.gate)
	r.Close()
	if got := len(store.entries()); got != 4 {
		t.Errorf("stored %d entries, want 4", got)
	}
}

// metricValue reads a counter from a registry.
func metricValue(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	t.Fatalf("metric %s is not registered", name)
	return 0
}

// TestRecorderCloseFlushes checks that Close writes a partial batch that
// the (hour-long) flush interval would not, and that Record after Close
// drops instead of panicking.
func TestRecorderCloseFlushes(t *testing.T) {
	store := &memStore{}
	r, _ := newTestRecorder(t, store, Options{})
	for i := range 5 {
		r.Record(entry("dir-a", "org-a", i), "", nil)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if got := len(store.entries()); got != 5 {
		t.Errorf("Close stored %d entries, want 5", got)
	}
	r.Record(entry("dir-a", "org-a", 9), "", nil)
	if r.Dropped() != 1 {
		t.Errorf("Record after Close: Dropped() = %d, want 1", r.Dropped())
	}
	if err := r.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestRecorderWriteFailure(t *testing.T) {
	store := &memStore{fail: errors.New("disk on fire")}
	r, logs := newTestRecorder(t, store, Options{})
	r.Record(entry("dir-a", "org-a", 1), "", nil)
	r.Record(entry("dir-a", "org-a", 2), "", nil)
	r.Close()
	if r.Failed() != 2 {
		t.Errorf("Failed() = %d, want 2", r.Failed())
	}
	if !strings.Contains(logs.String(), "disk on fire") {
		t.Errorf("the write error is not logged: %s", logs)
	}
}

// TestRecorderPrunes checks that pruning runs at start and then every
// PruneInterval, with the retention counted from the recorder's clock.
func TestRecorderPrunes(t *testing.T) {
	store := &memStore{}
	now := time.Date(2026, 3, 31, 0, 0, 0, 0, time.UTC)
	r, _ := newTestRecorder(t, store, Options{PruneInterval: 10 * time.Millisecond, Now: func() time.Time { return now }})
	deadline := time.Now().Add(10 * time.Second)
	for {
		store.mu.Lock()
		n := len(store.prunes)
		store.mu.Unlock()
		if n >= 2 || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	r.Close()
	store.mu.Lock()
	defer store.mu.Unlock()
	if len(store.prunes) < 2 {
		t.Fatalf("pruned %d times, want at least 2", len(store.prunes))
	}
	if want := now.Add(-30 * 24 * time.Hour); !store.prunes[0].Equal(want) {
		t.Errorf("pruned before %v, want %v (the default 30 days)", store.prunes[0], want)
	}
}
