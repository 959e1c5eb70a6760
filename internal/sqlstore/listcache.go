package sqlstore

import (
	"container/list"
	"context"
	"database/sql"
	"errors"
	"sync"
)

// Bounds of a ListCache.
const (
	// listStmtsMax caps the statements a ListCache keeps prepared. A
	// list's SQL varies with the structure of its filter and sort only
	// (values are bound), so a server sees few; once the cap is reached,
	// other statements run unprepared, as on PostgreSQL.
	listStmtsMax = 64
	// listCursorsMax caps the remembered page ends, least recently used
	// out first.
	listCursorsMax = 1024
)

// ListCache is what List keeps in memory from one call to the next, for
// one store (ListWith): the statements of lists prepared once on its read
// pool, and where recent pages of unfiltered lists ended, so that a
// sequential pager's next page (startIndex 1, 101, 201, …) is read from
// the index at the last rid instead of stepping over every earlier entry
// with OFFSET. The sqlite package keeps one per database; it needs the
// resource_counts table (Dialect.ResourceCounts), whose removed column
// tells whether a remembered position still holds.
type ListCache struct {
	mu      sync.Mutex
	stmts   map[string]*sql.Stmt
	cursors map[cursorKey]*list.Element
	lru     list.List // of *cursor, most recently used first
	closed  bool
}

// NewListCache returns an empty cache.
func NewListCache() *ListCache {
	return &ListCache{stmts: map[string]*sql.Stmt{}, cursors: map[cursorKey]*list.Element{}}
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
// first use, or nil: no cache, the cache is full or closed, or preparing
// failed (running the query unprepared then reports the error).
// Statements are never evicted, so one that a caller holds is never
// closed under it (but by Close, with the store).
func (c *ListCache) stmt(ctx context.Context, db *sql.DB, query string) *sql.Stmt {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	st, ok := c.stmts[query]
	full := c.closed || len(c.stmts) >= listStmtsMax
	c.mu.Unlock()
	if ok || full {
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

// querier returns how to run a read query in tx, or on db when tx is nil:
// through its prepared statement when the cache has one, as text otherwise.
func (c *ListCache) querier(ctx context.Context, db *sql.DB, tx *sql.Tx, query string) querier {
	st := c.stmt(ctx, db, query)
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

// cursorKey names the end of one page of one list: the page of count
// resources of type typ in directory dir, unfiltered, in rid order, that
// ended at position end (1-based).
type cursorKey struct {
	dir, typ   string
	count, end int
}

// cursor is a remembered page end: the rid of its last resource, and the
// directory's removed counter (resource_counts) when it was read, in the
// same snapshot. While the counter is unchanged no resource of the
// directory and type was deleted, and since a new resource takes a rid
// larger than every existing one, the resources up to rid, and so their
// positions, are the same: the page after position end is the page
// after rid. A deletion anywhere makes the cursor unusable.
type cursor struct {
	key     cursorKey
	rid     int64
	removed int64
}

// cursor returns the remembered end of the page that ended at key.end.
func (c *ListCache) cursor(key cursorKey) (cursor, bool) {
	if c == nil {
		return cursor{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.cursors[key]
	if !ok {
		return cursor{}, false
	}
	c.lru.MoveToFront(e)
	return *e.Value.(*cursor), true
}

// remember records the end of a page.
func (c *ListCache) remember(cur cursor) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.cursors[cur.key]; ok {
		*e.Value.(*cursor) = cur
		c.lru.MoveToFront(e)
		return
	}
	c.cursors[cur.key] = c.lru.PushFront(&cur)
	for c.lru.Len() > listCursorsMax {
		last := c.lru.Back()
		delete(c.cursors, last.Value.(*cursor).key)
		c.lru.Remove(last)
	}
}
