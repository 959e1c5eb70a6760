// Package sqlite is Roster's embedded store: SQLite through the cgo-free
// modernc.org/sqlite driver, in WAL mode, in the data directory.
package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/roster-scim/roster"
	"github.com/roster-scim/roster/internal/sqlstore"
	"github.com/roster-scim/roster/scim"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// Compile-time checks that DB implements the store interfaces.
var (
	_ roster.AdminStore      = (*DB)(nil)
	_ roster.RequestLogStore = (*DB)(nil)
	_ scim.Store             = (*DB)(nil)
)

// DB is the SQLite store. Writes go through a single-connection pool, since
// SQLite allows one writer at a time and queuing in Go is cheaper than
// retrying on SQLITE_BUSY; reads use a separate pool and run concurrently
// thanks to WAL. The store's SQL is shared with the postgres package
// (sqlstore.Store, with Now, the clock tests replace).
type DB struct {
	*sqlstore.Store
	write *sql.DB
	read  *sql.DB
	reg   *scim.Registry
	// lists keeps List's prepared statements and the ends of recent
	// pages (sqlstore.ListCache).
	lists *sqlstore.ListCache
}

// FileName is the database file inside the data directory.
const FileName = "roster.db"

// foldFunc is the SQL name of the function that lowers text the way Go's
// strings.ToLower does (see fold).
const foldFunc = "roster_fold"

// registerFold registers foldFunc with the driver. The driver adds it to
// the connections it opens afterwards and refuses a second registration of
// a name, so it runs once per process, before Open opens a connection.
// It is registered as deterministic, as lower() is, so that SQLite may
// evaluate a call on constant arguments once and allow it in index
// expressions. NULL stays NULL and numbers pass through; a blob is lowered
// as text, as lower() does.
var registerFold = sync.OnceValue(func() error {
	return sqlite.RegisterDeterministicScalarFunction(foldFunc, 1, func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
		switch v := args[0].(type) {
		case string:
			return strings.ToLower(v), nil
		case []byte:
			return strings.ToLower(string(v)), nil
		}
		return args[0], nil
	})
})

// Open opens (creating if needed) the database in dir and applies pending
// migrations.
func Open(ctx context.Context, dir string, reg *scim.Registry) (*DB, error) {
	if err := registerFold(); err != nil {
		return nil, fmt.Errorf("register %s: %w", foldFunc, err)
	}
	path := filepath.Join(dir, FileName)
	// busy_timeout must come first so that the connection waits rather than
	// fails while another connection switches the file to WAL.
	// synchronous(FULL) makes every acknowledged commit survive power loss,
	// not just a process crash: a 2xx from Roster means the change is on disk.
	// SQLite does not enforce foreign keys unless asked, for historical reasons.
	dsn := "file:" + path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)" +
		"&_pragma=foreign_keys(ON)&_pragma=temp_store(MEMORY)"
	// Writers take the lock when the transaction starts (BEGIN IMMEDIATE), so
	// a read-then-write transaction never fails halfway on a busy database.
	// The writer keeps a 32 MB page cache (cache_size is per connection):
	// the pages its index updates touch stay in memory between commits.
	w, err := sql.Open("sqlite", dsn+"&_pragma=cache_size(-32000)&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	// Each read connection gets 8 MB: there are up to 8 of them, the OS
	// page cache holds the file anyway, and with 32 MB each a burst of
	// large reads (list pages deep in a directory) held 8 × 32 MB.
	r, err := sql.Open("sqlite", dsn+"&_pragma=cache_size(-8000)&_pragma=query_only(ON)")
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	r.SetMaxOpenConns(8)
	// Idle connections stay open (database/sql keeps 2 by default): a
	// connection that is closed loses its page cache and its compiled
	// statements, and opening one runs every pragma again, under the very
	// bursts of reads an identity provider sends.
	r.SetMaxIdleConns(8)
	db := &DB{Store: sqlstore.New(dialect, w, r, reg), write: w, read: r, reg: reg, lists: sqlstore.NewListCache()}
	if err := db.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// List returns one page of a list (sqlstore.Store.ListWith), with the
// statements and page ends the database keeps between calls.
func (db *DB) List(ctx context.Context, dir, typ string, q scim.ListQuery) (*scim.ListResult, error) {
	return db.Store.ListWith(ctx, db.lists, dir, typ, q)
}

// Close closes the database.
func (db *DB) Close() error {
	return errors.Join(db.lists.Close(), db.Store.Close())
}

// migrate runs each embedded migration not yet applied, each in its own
// transaction, recording it by name. Migrations are forward-only.
func (db *DB) migrate(ctx context.Context) error {
	if _, err := db.write.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	return sqlstore.EachMigration(migrationFS, func(name string, body []byte) error {
		tx, err := db.write.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer tx.Rollback()
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE name = ?`, name).Scan(&n); err != nil || n > 0 {
			return err
		}
		if _, err := tx.ExecContext(ctx, string(body)); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (name, applied) VALUES (?, ?)`, name, time.Now().Unix()); err != nil {
			return err
		}
		return tx.Commit()
	})
}

// isUnique reports whether err is a UNIQUE constraint violation, by its
// extended result code rather than by its message.
func isUnique(err error) bool {
	var e *sqlite.Error
	return errors.As(err, &e) && e.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE
}

func isForeignKey(err error) bool {
	var e *sqlite.Error
	return errors.As(err, &e) && e.Code() == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
}

func micros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(n int64) time.Time { return time.UnixMicro(n).UTC() }

func (db *DB) now() time.Time { return db.Now().UTC().Truncate(time.Microsecond) }
