package sqlstore

import (
	"context"
	"sync/atomic"
	"time"
)

// firstAnalyze is the number of resources this process creates before it
// first refreshes the planner's statistics; each later refresh waits for
// four times as many.
const firstAnalyze = 1000

// statsKeeper refreshes the query planner's statistics while a directory
// grows from nothing. PostgreSQL plans without statistics until autovacuum
// first analyzes a table, a minute or more after the writes began; until
// then it estimates a userName match and a walk of the whole directory in
// creation order alike, may take the walk (measured: 25 ms against 0.1 ms
// at 10,000 users), and an identity provider's first cycle into a new
// database runs its matching queries as scans. Refreshing after 1,000,
// 4,000, 16,000, … creates bounds that window to the first thousand, at a
// cost of a few ANALYZE runs per process over its life.
type statsKeeper struct {
	created atomic.Int64
	next    atomic.Int64
	running atomic.Bool
}

// noteCreated counts one created resource and starts the dialect's
// Analyze statement in the background when the count reaches the next
// threshold. A failed or skipped refresh costs nothing but the plans that
// autovacuum would fix anyway, so its error is dropped.
func (s *Store) noteCreated() {
	if s.d.Analyze == "" {
		return
	}
	k := &s.stats
	k.next.CompareAndSwap(0, firstAnalyze)
	n := k.created.Add(1)
	next := k.next.Load()
	if n < next || !k.next.CompareAndSwap(next, next*4) || !k.running.CompareAndSwap(false, true) {
		return
	}
	go func() {
		defer k.running.Store(false)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		s.w.ExecContext(ctx, s.d.Analyze)
	}()
}
