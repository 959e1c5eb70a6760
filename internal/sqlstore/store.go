package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/roster-scim/roster"
	"github.com/roster-scim/roster/scim"
)

// Store implements scim.Store, roster.AdminStore and
// roster.RequestLogStore on database/sql, for both databases. The sqlite
// and postgres DB types embed it; PostgreSQL reaches it through pgx's
// database/sql adapter (stdlib.OpenDBFromPool) on the same pool that its
// pgx-native code uses. database/sql rather than an adapter interface of
// our own: SQLite already speaks it, the adapter costs pgx one interface
// call per statement, and the shared code needs no wrapper types. What
// the databases do differently stays: SQLite writes through a
// one-connection pool (w) and reads through another (r), so a write
// transaction excludes other writers; PostgreSQL has one pool for both,
// locks the rows it updates (Dialect.ForUpdate) and runs a transaction
// again when it lost a deadlock (Dialect.Retryable).
type Store struct {
	d    *Dialect
	w, r *sql.DB
	reg  *scim.Registry

	// touched remembers when each API key's last_used was written.
	touched sync.Map
	// stmts holds the read statements prepared once (Dialect.Prepare),
	// by query text.
	stmts sync.Map
	// auth caches verified credentials (AuthenticateDirectory).
	auth authCache
	// stats refreshes the planner's statistics as directories grow.
	stats statsKeeper
	// gc batches the write transactions (Dialect.GroupCommit); nil
	// without.
	gc *groupCommit

	// Now returns the current time; tests replace it.
	Now func() time.Time
}

// New returns a store that writes through w and reads through r.
func New(d *Dialect, w, r *sql.DB, reg *scim.Registry) *Store {
	s := &Store{d: d, w: w, r: r, reg: reg, Now: time.Now}
	if d.GroupCommit {
		s.gc = newGroupCommit(w)
	}
	return s
}

// Close closes the store's database/sql pools (one for PostgreSQL, where
// the pgx pool beneath stays open for its owner to close).
func (s *Store) Close() error {
	s.stmts.Range(func(_, st any) bool { st.(*sql.Stmt).Close(); return true })
	if s.r == s.w {
		return s.w.Close()
	}
	return errors.Join(s.r.Close(), s.w.Close())
}

func (s *Store) now() time.Time { return s.Now().UTC().Truncate(time.Microsecond) }

// readRow runs a one-row read query on the read pool, through a statement
// prepared once when the dialect allows it. For the queries of every
// request only: the cache holds one statement per distinct query text.
func (s *Store) readRow(ctx context.Context, query string, args ...any) *sql.Row {
	if !s.d.Prepare {
		return s.r.QueryRowContext(ctx, query, args...)
	}
	if st, ok := s.stmts.Load(query); ok {
		return st.(*sql.Stmt).QueryRowContext(ctx, args...)
	}
	st, err := s.r.PrepareContext(ctx, query)
	if err != nil {
		return s.r.QueryRowContext(ctx, query, args...) // reports the error
	}
	if prev, loaded := s.stmts.LoadOrStore(query, st); loaded {
		st.Close()
		st = prev.(*sql.Stmt)
	}
	return st.QueryRowContext(ctx, args...)
}

// q returns a statement written with ? placeholders in the dialect's.
func (s *Store) q(query string) string { return s.d.Rebind(query) }

// Rebind numbers the ? placeholders of query in the dialect's style. The
// statements it is given hold no ? in string literals.
func (d *Dialect) Rebind(query string) string {
	if d.Param(1) == "?" {
		return query
	}
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			b.WriteString(d.Param(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// writeTx runs fn in a write transaction, committing when it returns nil,
// and runs it again, a few times, when the dialect says it failed only
// because of another transaction (a deadlock between replicas). With
// Dialect.GroupCommit, fn shares its transaction and its COMMIT with the
// other calls waiting for the writer, each in its own savepoint (see
// groupcommit.go): fn must not commit or roll back the transaction itself,
// and may be run again, as the retries already require, if SQLite rolls
// the whole batch back because of another call's error.
func (s *Store) writeTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	if s.gc != nil {
		return s.gc.do(ctx, fn)
	}
	var err error
	for range 5 {
		if err = inTx(ctx, s.w, nil, fn); s.d.Retryable == nil || !s.d.Retryable(err) {
			return err
		}
	}
	return err
}

// readTx runs fn in a read-only transaction, so that its statements see one
// snapshot.
func (s *Store) readTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	return inTx(ctx, s.r, s.d.ReadTx, fn)
}

func inTx(ctx context.Context, db *sql.DB, opts *sql.TxOptions, fn func(tx *sql.Tx) error) error {
	tx, err := db.BeginTx(ctx, opts)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// affected returns how many rows a statement changed, or err.
func affected(res sql.Result, err error) (int64, error) {
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// notFound is the error of a missing admin object.
func notFound(what, id string) error {
	return roster.Errorf(roster.ENOTFOUND, "no %s with id %q", what, id)
}

func micros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(n int64) time.Time { return time.UnixMicro(n).UTC() }

func nullString(s string) sql.NullString {
	return sql.NullString{String: s, Valid: s != ""}
}

// EachMigration calls apply with the name and text of each migration in
// fsys (migrations/*.sql), in name order, and stops at the first error.
// Each store applies a migration in its own transaction and records it.
func EachMigration(fsys fs.FS, apply func(name string, body []byte) error) error {
	names, err := fs.Glob(fsys, "migrations/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	for _, name := range names {
		body, err := fs.ReadFile(fsys, name)
		if err == nil {
			err = apply(name, body)
		}
		if err != nil {
			return fmt.Errorf("migration %s: %w", name, err)
		}
	}
	return nil
}
