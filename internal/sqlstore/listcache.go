package sqlstore

import (
	"container/list"
	"context"
	"database/sql"
	"errors"
	"slices"
	"sort"
	"sync"
)

// Bounds of a ListCache.
const (
	// listStmtsMax caps the statements a ListCache keeps prepared. A
	// list's SQL varies with the structure of its filter and sort only
	// (values are bound), so a server sees few; once the cap is reached,
	// other statements run unprepared, as on PostgreSQL.
	listStmtsMax = 64
	// listsMax caps the lists whose positions are kept, least recently
	// used out first, and listMarksMax the positions kept of one list: at
	// 1,000,000 resources, a page then steps over about 1,000 entries at
	// most once the list has been read across.
	listsMax     = 256
	listMarksMax = 1024
	// listHop is the step of a walk to a page far from every mark
	// (ListSQL.Hops): the most a page steps over with OFFSET after one.
	listHop = 1024
)

// ListCache is what List keeps in memory from one call to the next, for
// one store (ListWith): the statements of lists prepared once on its read
// pool, and where pages of unfiltered lists ended (marks), so that a page
// is read from the index after the rid of the nearest mark before it
// instead of stepping over every earlier entry with OFFSET: a sequential
// pager's next page (startIndex 1, 101, 201, …) starts at a mark, and
// pages anywhere in a list that has been read across step over few
// entries. The sqlite package keeps one per database; it needs the
// resource_counts table (Dialect.ResourceCounts), whose removed column
// tells whether a remembered position still holds.
type ListCache struct {
	mu     sync.Mutex
	stmts  map[string]*sql.Stmt
	lists  map[listKey]*list.Element
	lru    list.List // of *listMarks, most recently used first
	closed bool
}

// NewListCache returns an empty cache.
func NewListCache() *ListCache {
	return &ListCache{stmts: map[string]*sql.Stmt{}, lists: map[listKey]*list.Element{}}
}

// Close closes the prepared statements; the cache prepares no more.
func (c *ListCache) Close() error {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	var errs []error
	for q, st := range c.stmts {
		errs = append(errs, st.Close())
		delete(c.stmts, q)
	}
	return errors.Join(errs...)
}

// stmt returns the statement of query prepared on db, preparing it on
// first use if prepare is set, or nil: no cache, not prepared yet, the
// cache is full or closed, or preparing failed (running the query
// unprepared then reports the error). Preparing takes a connection from
// db's pool, so it is never done while holding one in a transaction:
// with every connection held by transactions waiting to prepare, none
// would ever be free (see prepare). Statements are never evicted, so one
// that a caller holds is never closed under it (but by Close, with the
// store).
func (c *ListCache) stmt(ctx context.Context, db *sql.DB, query string, prepare bool) *sql.Stmt {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	st, ok := c.stmts[query]
	full := c.closed || len(c.stmts) >= listStmtsMax
	c.mu.Unlock()
	if ok || full || !prepare {
		return st
	}
	st, err := db.PrepareContext(ctx, query)
	if err != nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if prev, ok := c.stmts[query]; ok || c.closed || len(c.stmts) >= listStmtsMax {
		st.Close()
		return prev
	}
	c.stmts[query] = st
	return st
}

// querier runs one query: a prepared statement (*sql.Stmt), or SQL text
// on a pool or transaction (sqlText).
type querier interface {
	QueryContext(ctx context.Context, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, args ...any) *sql.Row
}

// sqlText is a query run as text on a *sql.DB or *sql.Tx.
type sqlText struct {
	on interface {
		QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
		QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	}
	query string
}

func (t sqlText) QueryContext(ctx context.Context, args ...any) (*sql.Rows, error) {
	return t.on.QueryContext(ctx, t.query, args...)
}

func (t sqlText) QueryRowContext(ctx context.Context, args ...any) *sql.Row {
	return t.on.QueryRowContext(ctx, t.query, args...)
}

// prepare prepares the queries that a transaction is about to run, before
// it takes its connection; "" entries are skipped.
func (c *ListCache) prepare(ctx context.Context, db *sql.DB, queries ...string) {
	for _, q := range queries {
		if q != "" {
			c.stmt(ctx, db, q, true)
		}
	}
}

// querier returns how to run a read query in tx, or on db when tx is nil:
// through its prepared statement when the cache has one (in tx, only one
// prepared before: see stmt), as text otherwise.
func (c *ListCache) querier(ctx context.Context, db *sql.DB, tx *sql.Tx, query string) querier {
	st := c.stmt(ctx, db, query, tx == nil)
	switch {
	case st != nil && tx != nil:
		return tx.StmtContext(ctx, st)
	case st != nil:
		return st
	case tx != nil:
		return sqlText{tx, query}
	}
	return sqlText{db, query}
}

// query runs a read query (see querier).
func (c *ListCache) query(ctx context.Context, db *sql.DB, tx *sql.Tx, query string, args ...any) (*sql.Rows, error) {
	return c.querier(ctx, db, tx, query).QueryContext(ctx, args...)
}

// queryRow is query for one row.
func (c *ListCache) queryRow(ctx context.Context, db *sql.DB, tx *sql.Tx, query string, args ...any) *sql.Row {
	return c.querier(ctx, db, tx, query).QueryRowContext(ctx, args...)
}

// listKey names one unfiltered list: the resources of type typ in
// directory dir, in rid order.
type listKey struct{ dir, typ string }

// mark is a known position in a list: pos resources of the list have a
// rid up to rid, so the resources from position pos+1 on are those after
// rid. Pages leave one where they end.
type mark struct {
	pos int
	rid int64
}

// listMarks are the marks of one list, sorted by position, all read while
// the directory's removed counter (resource_counts) was removed. While
// the counter is unchanged no resource of the list was deleted, and since
// a new resource takes a rid larger than every existing one, the
// resources up to a mark's rid, and so its position, are the same. A
// deletion anywhere makes every mark of the list unusable.
type listMarks struct {
	key     listKey
	removed int64
	marks   []mark
}

// nearest returns the mark of key's list with the largest position up to
// pos, if one was read with the same removed counter.
func (c *ListCache) nearest(key listKey, removed int64, pos int) (mark, bool) {
	if c == nil {
		return mark{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.lists[key]
	if !ok {
		return mark{}, false
	}
	c.lru.MoveToFront(e)
	l := e.Value.(*listMarks)
	i := sort.Search(len(l.marks), func(i int) bool { return l.marks[i].pos > pos })
	if l.removed != removed || i == 0 {
		return mark{}, false
	}
	return l.marks[i-1], true
}

// mark records a position of key's list read with the removed counter
// removed. A newer counter drops the list's marks; an older one (a
// snapshot that began before a deletion) is ignored. Past listMarksMax a
// list drops the mark whose neighbours are closest, so that the marks
// kept spread over the list and the distance a page steps over with
// OFFSET from the nearest stays small.
func (c *ListCache) mark(key listKey, removed int64, m mark) {
	if c == nil || m.pos <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	var l *listMarks
	if e, ok := c.lists[key]; ok {
		c.lru.MoveToFront(e)
		l = e.Value.(*listMarks)
	} else {
		l = &listMarks{key: key, removed: removed}
		c.lists[key] = c.lru.PushFront(l)
		for c.lru.Len() > listsMax {
			last := c.lru.Back()
			delete(c.lists, last.Value.(*listMarks).key)
			c.lru.Remove(last)
		}
	}
	switch {
	case removed < l.removed:
		return
	case removed > l.removed:
		l.removed, l.marks = removed, l.marks[:0]
	}
	i := sort.Search(len(l.marks), func(i int) bool { return l.marks[i].pos >= m.pos })
	if i < len(l.marks) && l.marks[i].pos == m.pos {
		l.marks[i] = m
		return
	}
	l.marks = slices.Insert(l.marks, i, m)
	if len(l.marks) > listMarksMax {
		// Never the first or the last: they bound the list as far as it
		// has been read.
		drop, gap := 1, l.marks[2].pos-l.marks[0].pos
		for j := 2; j < len(l.marks)-1; j++ {
			if g := l.marks[j+1].pos - l.marks[j-1].pos; g < gap {
				drop, gap = j, g
			}
		}
		l.marks = slices.Delete(l.marks, drop, drop+1)
	}
}
