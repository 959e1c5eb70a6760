package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"runtime/debug"
	"sync"
)

// Group commit (Dialect.GroupCommit, SQLite): the write transactions that
// wait for the single writer connection run in one transaction, each inside
// its own savepoint, and share one COMMIT, so that one fsync makes all of
// them durable. Without it, concurrent writes queue for the connection and
// each pays its own fsync: at 8 clients the p99 of a create or a member
// change was 25–28 ms, almost all of it waiting in that queue
// (docs/benchmarks.md, "One million users").
//
// What each caller sees does not change:
//
//   - it gets nil only once the COMMIT that holds its work has succeeded,
//     and every caller of a batch whose COMMIT failed gets that error (and
//     its work is rolled back);
//   - a failing fn (a uniqueness conflict, a validation error) is rolled
//     back to its savepoint, so it neither leaves anything behind nor
//     affects the others; its error too is returned only after the COMMIT,
//     since it may come from reading another caller's uncommitted write;
//   - each fn sees the writes of the calls before it in the batch, exactly
//     as it would had they committed just before it: the batch is the
//     serial order in which the calls would have run anyway;
//   - nothing waits on purpose: the batch is whatever is already queued
//     when the connection frees up (at most maxBatch calls), and a lone
//     call runs as it did before, without savepoints.
//
// PostgreSQL does not need it: its writers run concurrently and commit in
// parallel (and its writeTx runs a transaction again after a deadlock,
// which does not mix with sharing one).

// maxBatch bounds the calls sharing one transaction: a larger batch makes
// the first of them wait longer for the others' work.
const maxBatch = 64

// groupCommit queues the write transactions of one store and runs them in
// batches on its writer pool. A committer goroutine runs while there are
// calls queued and ends when the queue is empty, so there is nothing to
// stop when the store closes.
type groupCommit struct {
	db *sql.DB
	// commit commits a batch's transaction; tests replace it to make a
	// COMMIT fail.
	commit func(tx *sql.Tx) error
	// taken, when set, is called with the size of each batch; for tests.
	taken func(n int)

	mu      sync.Mutex
	queue   []*gcCall // calls whose fn has not run, in arrival order
	running bool      // a committer goroutine is running
}

// gcCall is one writeTx call.
type gcCall struct {
	ctx context.Context
	fn  func(tx *sql.Tx) error

	queued bool // in groupCommit.queue; guarded by groupCommit.mu

	// Set by the committer before it closes done.
	done  chan struct{}
	err   error
	panic *TxPanic
}

// TxPanic is the value with which writeTx panics again, in its caller's
// goroutine, when fn panicked in a batch (in the committer's goroutine,
// which recovers so that the other calls of the batch go on).
type TxPanic struct {
	Value any    // what fn panicked with
	Stack []byte // the committer's stack when fn panicked
}

func (p *TxPanic) Error() string {
	return fmt.Sprintf("panic in a write transaction: %v\n\n%s", p.Value, p.Stack)
}

// Unwrap returns the value fn panicked with if it is an error.
func (p *TxPanic) Unwrap() error {
	err, _ := p.Value.(error)
	return err
}

func newGroupCommit(db *sql.DB) *groupCommit {
	return &groupCommit{db: db, commit: (*sql.Tx).Commit}
}

// do runs fn in a batch and returns its result once the batch committed.
// A caller whose ctx ends while its call is queued returns ctx.Err() and
// its fn never runs; once fn ran, the caller waits for the COMMIT, since
// its work may be committed.
func (g *groupCommit) do(ctx context.Context, fn func(tx *sql.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c := &gcCall{ctx: ctx, fn: fn, done: make(chan struct{})}
	g.mu.Lock()
	c.queued = true
	g.queue = append(g.queue, c)
	if !g.running {
		g.running = true
		go g.run()
	}
	g.mu.Unlock()
	select {
	case <-c.done:
	case <-ctx.Done():
		g.mu.Lock()
		if c.queued {
			g.remove(c)
			g.mu.Unlock()
			return ctx.Err()
		}
		g.mu.Unlock()
		<-c.done
	}
	if c.panic != nil {
		panic(c.panic)
	}
	return c.err
}

// remove takes c out of the queue; g.mu is held.
func (g *groupCommit) remove(c *gcCall) {
	for i, q := range g.queue {
		if q == c {
			g.queue = append(g.queue[:i], g.queue[i+1:]...)
			break
		}
	}
	c.queued = false
}

// run is the committer: it runs batches until the queue is empty.
func (g *groupCommit) run() {
	for {
		g.mu.Lock()
		if len(g.queue) == 0 {
			g.running = false
			g.mu.Unlock()
			return
		}
		g.mu.Unlock()
		// The batch is taken once the transaction has the connection, so
		// that it holds every call that arrived while the connection was
		// busy. The transaction does not end with any caller's context:
		// its COMMIT is every caller's.
		tx, err := g.db.BeginTx(context.Background(), nil)
		batch := g.take()
		switch {
		case err != nil:
			for _, c := range batch {
				c.finish(err)
			}
		case len(batch) == 0: // every queued caller gave up
			tx.Rollback()
		case len(batch) == 1:
			g.runOne(tx, batch[0])
		default:
			g.runBatch(tx, batch)
		}
	}
}

// take removes up to maxBatch calls from the head of the queue.
func (g *groupCommit) take() []*gcCall {
	g.mu.Lock()
	defer g.mu.Unlock()
	n := min(len(g.queue), maxBatch)
	batch := make([]*gcCall, n)
	copy(batch, g.queue)
	g.queue = append(g.queue[:0], g.queue[n:]...)
	for _, c := range batch {
		c.queued = false
	}
	if g.taken != nil {
		g.taken(n)
	}
	return batch
}

// requeue puts calls whose work was rolled back with their batch back at
// the head of the queue, in order, to run again in a new batch: none was
// acknowledged, and their callers may give up again while they wait.
func (g *groupCommit) requeue(calls []*gcCall) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, c := range calls {
		c.err, c.queued = nil, true
	}
	g.queue = append(calls[:len(calls):len(calls)], g.queue...)
}

// runOne runs a batch of one call as writeTx always did: fn in the
// transaction, committed if it returns nil, rolled back otherwise.
func (g *groupCommit) runOne(tx *sql.Tx, c *gcCall) {
	if err := c.ctx.Err(); err != nil {
		tx.Rollback()
		c.finish(err)
		return
	}
	if err := c.call(tx); err != nil || c.panic != nil {
		tx.Rollback()
		c.finish(err)
		return
	}
	c.finish(g.commit(tx))
}

// The savepoint statements do not end with a caller's context either.
const (
	savepoint  = `SAVEPOINT roster_call`
	release    = `RELEASE roster_call`
	rollbackTo = `ROLLBACK TO roster_call`
)

// runBatch runs each call's fn in its own savepoint of tx, then commits tx
// and gives each caller its result.
func (g *groupCommit) runBatch(tx *sql.Tx, batch []*gcCall) {
	bg := context.Background()
	// ran holds the calls whose fn ran in tx and whose result waits for the
	// COMMIT; ok counts those whose fn succeeded.
	ran := make([]*gcCall, 0, len(batch))
	ok := 0
	for i, c := range batch {
		if err := c.ctx.Err(); err != nil {
			c.finish(err) // its fn never ran
			continue
		}
		if _, err := tx.ExecContext(bg, savepoint); err != nil {
			g.abandon(tx, c, err, ran, batch[i+1:])
			return
		}
		err := c.call(tx)
		if err == nil && c.panic == nil {
			if _, err := tx.ExecContext(bg, release); err != nil {
				// SQLite rolled the whole transaction back while fn ran
				// (an I/O error, an interrupted statement…): the savepoint
				// is gone.
				g.abandon(tx, c, err, ran, batch[i+1:])
				return
			}
			ran = append(ran, c)
			ok++
			continue
		}
		// ROLLBACK TO undoes fn's work and leaves the savepoint open;
		// RELEASE closes it. Either fails if SQLite has already rolled
		// back the whole transaction.
		if _, rerr := tx.ExecContext(bg, rollbackTo); rerr != nil {
			g.abandon(tx, c, err, ran, batch[i+1:])
			return
		}
		if _, rerr := tx.ExecContext(bg, release); rerr != nil {
			g.abandon(tx, c, err, ran, batch[i+1:])
			return
		}
		if c.panic != nil {
			close(c.done) // a panic does not wait for the others
			continue
		}
		c.err = err
		ran = append(ran, c)
	}
	var err error
	if ok == 0 {
		tx.Rollback() // nothing to commit: every fn failed
	} else {
		err = g.commit(tx)
	}
	for _, c := range ran {
		if err != nil {
			c.err = err
		}
		close(c.done)
	}
}

// abandon ends a batch whose transaction SQLite rolled back (or that can
// no longer go on) while c's fn ran: c gets err, or its panic; the calls
// that ran before it, whose work went with the transaction, and those not
// yet run are queued again. c is not, so each abandoned batch settles at
// least one call.
func (g *groupCommit) abandon(tx *sql.Tx, c *gcCall, err error, ran, rest []*gcCall) {
	tx.Rollback()
	c.finish(err)
	again := make([]*gcCall, 0, len(ran)+len(rest))
	again = append(again, ran...)
	again = append(again, rest...)
	g.requeue(again)
}

// call runs fn, turning a panic into c.panic.
func (c *gcCall) call(tx *sql.Tx) (err error) {
	defer func() {
		if v := recover(); v != nil {
			c.panic = &TxPanic{Value: v, Stack: debug.Stack()}
			err = nil
		}
	}()
	return c.fn(tx)
}

// finish gives c its result.
func (c *gcCall) finish(err error) {
	c.err = err
	close(c.done)
}
