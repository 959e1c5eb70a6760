// Package reqlog records every SCIM request to a directory in the request
// log, off the request path: a request hands its entry to a bounded queue
// and goes on; one goroutine summarizes, redacts and writes entries in
// batches, and another prunes entries older than the retention.
//
// Logging must never slow down or serialize SCIM writes, so when the queue
// is full an entry is dropped and counted rather than waited for, and the
// log costs the store's single writer one transaction per batch instead of
// one per request.
package reqlog

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/roster-scim/roster"
)

// Store is what the recorder needs of a roster.RequestLogStore.
type Store interface {
	AppendRequests(ctx context.Context, entries []roster.RequestEntry) error
	PruneRequests(ctx context.Context, before time.Time) (int64, error)
}

// DirectoryFunc finds a directory by id, returning an ENOTFOUND error for
// an unknown one; roster.AdminStore.FindDirectory is one.
type DirectoryFunc func(ctx context.Context, id string) (*roster.Directory, error)

// Options tune a Recorder. Zero fields take the defaults.
type Options struct {
	// QueueSize is how many entries wait for the writer before new ones
	// are dropped. The default, 8192, holds many seconds of an IdP's
	// fastest provisioning.
	QueueSize int
	// BatchSize and FlushInterval bound a batch: it is written when it
	// holds BatchSize entries (default 256) or FlushInterval after its
	// first entry (default 200 ms), whichever comes first.
	BatchSize     int
	FlushInterval time.Duration
	// Retention is how long entries are kept (default 30 days), and
	// PruneInterval how often older ones are deleted (default 1 hour,
	// and once at start).
	Retention     time.Duration
	PruneInterval time.Duration
	// MaxBodyBytes is the most of a redacted body that is stored (default
	// 64 KiB); a longer one is cut and marked.
	MaxBodyBytes int
	// Registerer, when set, receives the recorder's counters.
	Registerer prometheus.Registerer
	// Now is the clock that retention counts from; tests replace it.
	Now func() time.Time
}

func (o *Options) setDefaults() {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	defDur := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&o.QueueSize, 8192)
	def(&o.BatchSize, 256)
	def(&o.MaxBodyBytes, 64<<10)
	defDur(&o.FlushInterval, 200*time.Millisecond)
	defDur(&o.Retention, 30*24*time.Hour)
	defDur(&o.PruneInterval, time.Hour)
	if o.Now == nil {
		o.Now = time.Now
	}
}

// writeTimeout bounds one batch write, so that a wedged database cannot
// stop the writer (and, through a full queue, logging) for good.
const writeTimeout = 30 * time.Second

// Recorder records requests asynchronously. Its methods are safe for
// concurrent use.
type Recorder struct {
	store Store
	dirs  DirectoryFunc
	log   *slog.Logger
	opts  Options

	queue  chan item
	quit   chan struct{}
	cancel context.CancelFunc // stops a prune in progress
	wg     sync.WaitGroup
	once   sync.Once
	closed atomic.Bool

	dropped atomic.Int64 // entries not queued: queue full, or recorder closed
	failed  atomic.Int64 // entries lost to a failed write
	pruned  atomic.Int64
}

// item is an entry as the request path hands it over: the summary and the
// stored body are still to be made from the raw query and body.
type item struct {
	e     roster.RequestEntry
	query string
	body  []byte
}

// NewRecorder starts a recorder's goroutines; Close stops them.
func NewRecorder(store Store, dirs DirectoryFunc, log *slog.Logger, opts Options) *Recorder {
	opts.setDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	r := &Recorder{store: store, dirs: dirs, log: log, opts: opts, cancel: cancel,
		queue: make(chan item, opts.QueueSize), quit: make(chan struct{})}
	if reg := opts.Registerer; reg != nil {
		counter := func(name, help string, v *atomic.Int64) prometheus.Collector {
			return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, func() float64 { return float64(v.Load()) })
		}
		reg.MustRegister(
			counter("roster_request_log_dropped_total", "Request log entries dropped because the queue was full.", &r.dropped),
			counter("roster_request_log_write_failures_total", "Request log entries lost because writing their batch failed.", &r.failed),
			counter("roster_request_log_pruned_total", "Request log entries deleted after the retention period.", &r.pruned),
		)
	}
	r.wg.Add(2)
	go r.write()
	go r.prune(ctx)
	return r
}

// Record queues a request for the log and returns at once. rawQuery and
// body are the request's (body as far as the handler read it); the
// recorder keeps body, so the caller must not reuse it. When the queue is
// full, or the recorder is closed, the entry is dropped and counted.
//
// An entry without OrgID (a request that failed authentication) takes the
// organization of its directory, and is dropped when the directory does
// not exist: nobody could read it, and anyone could write it.
func (r *Recorder) Record(e roster.RequestEntry, rawQuery string, body []byte) {
	if r.closed.Load() {
		r.dropped.Add(1)
		return
	}
	select {
	case r.queue <- item{e: e, query: rawQuery, body: body}:
	default:
		r.dropped.Add(1)
	}
}

// Dropped returns how many entries were dropped because the queue was full
// or the recorder closed.
func (r *Recorder) Dropped() int64 { return r.dropped.Load() }

// Failed returns how many entries were lost because their batch could not
// be written.
func (r *Recorder) Failed() int64 { return r.failed.Load() }

// Close writes the queued entries and stops the recorder. Call it after
// the HTTP server has stopped: entries recorded later are dropped.
func (r *Recorder) Close() error {
	r.once.Do(func() {
		r.closed.Store(true)
		r.cancel()
		close(r.quit)
	})
	r.wg.Wait()
	return nil
}

// write is the writer goroutine: it collects batches and writes them.
func (r *Recorder) write() {
	defer r.wg.Done()
	batch := make([]item, 0, r.opts.BatchSize)
	timer := time.NewTimer(time.Hour) // armed when a batch starts
	timer.Stop()
	for {
		select {
		case it := <-r.queue:
			if len(batch) == 0 {
				timer.Reset(r.opts.FlushInterval)
			}
			if batch = append(batch, it); len(batch) >= r.opts.BatchSize {
				timer.Stop()
				batch = r.flush(batch)
			}
		case <-timer.C:
			batch = r.flush(batch)
		case <-r.quit:
			timer.Stop()
			for {
				select {
				case it := <-r.queue:
					if batch = append(batch, it); len(batch) >= r.opts.BatchSize {
						batch = r.flush(batch)
					}
				default:
					r.flush(batch)
					return
				}
			}
		}
	}
}

// flush turns a batch into entries and writes them, returning the batch
// emptied for reuse. Directories are looked up once per batch, so a change
// of body capture applies within one flush interval.
func (r *Recorder) flush(batch []item) []item {
	if len(batch) == 0 {
		return batch
	}
	ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
	defer cancel()
	dirs := map[string]*roster.Directory{}
	entries := make([]roster.RequestEntry, 0, len(batch))
	for i := range batch {
		it := &batch[i]
		d, ok := dirs[it.e.DirectoryID]
		if !ok {
			d = r.directory(ctx, it.e.DirectoryID)
			dirs[it.e.DirectoryID] = d
		}
		e := it.e
		if e.OrgID == "" {
			if d == nil {
				continue
			}
			e.OrgID = d.OrgID
		}
		e.Summary = Summarize(&e, it.query, it.body)
		if d != nil && d.CaptureBodies && d.OrgID == e.OrgID && len(it.body) > 0 {
			e.Body = captureBody(it.body, r.opts.MaxBodyBytes)
		}
		e.Method = truncate(e.Method, 16)
		e.ResourceID = truncate(e.ResourceID, 128) // a client may send any path; Roster's ids are 36 bytes
		entries = append(entries, e)
		*it = item{} // let the body go before the next batch fills the array
	}
	if err := r.store.AppendRequests(ctx, entries); err != nil {
		r.failed.Add(int64(len(entries)))
		r.log.LogAttrs(ctx, slog.LevelError, "request log write failed", slog.Int("entries", len(entries)), slog.Any("error", err))
	}
	return batch[:0]
}

// directory returns the directory or nil. A lookup error other than "not
// found" is logged: the entry is still written if it can be, without its
// body, which is the safe side of body capture.
func (r *Recorder) directory(ctx context.Context, id string) *roster.Directory {
	d, err := r.dirs(ctx, id)
	if err != nil {
		if roster.ErrorCode(err) != roster.ENOTFOUND {
			r.log.LogAttrs(ctx, slog.LevelWarn, "request log: directory lookup failed", slog.String("directory_id", id), slog.Any("error", err))
		}
		return nil
	}
	return d
}

// prune is the pruning goroutine: once at start, then every PruneInterval.
func (r *Recorder) prune(ctx context.Context) {
	defer r.wg.Done()
	tick := time.NewTicker(r.opts.PruneInterval)
	defer tick.Stop()
	for {
		n, err := r.store.PruneRequests(ctx, r.opts.Now().Add(-r.opts.Retention))
		r.pruned.Add(n)
		if err != nil && ctx.Err() == nil {
			r.log.LogAttrs(ctx, slog.LevelError, "request log pruning failed", slog.Any("error", err))
		} else if n > 0 {
			r.log.LogAttrs(ctx, slog.LevelInfo, "request log pruned", slog.Int64("entries", n), slog.Duration("retention", r.opts.Retention))
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
