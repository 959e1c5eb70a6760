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

// requestLogSchema creates the request log's tables in requests.db.
//
//go:embed requestlog.sql
var requestLogSchema string

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
	// log is the request log's store, on LogFileName: its commits would
	// otherwise be in the WAL that every SCIM read goes through.
	log               *sqlstore.Store
	logWrite, logRead *sql.DB
}

// FileName is the database file inside the data directory.
const FileName = "roster.db"

// LogFileName is the request log's database file, beside FileName.
const LogFileName = "requests.db"

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
	// The writer keeps a 32 MB page cache (cache_size is per connection):
	// the pages its index updates touch stay in memory between commits.
	// Each read connection gets 8 MB: there are up to 8 of them, the OS
	// page cache holds the file anyway, and with 32 MB each a burst of
	// large reads (list pages deep in a directory) held 8 × 32 MB.
	w, r, err := openFile(filepath.Join(dir, FileName), "&_pragma=foreign_keys(ON)", 32000, 8000, 8)
	if err != nil {
		return nil, err
	}
	db := &DB{Store: sqlstore.New(dialect, w, r, reg), write: w, read: r, reg: reg, lists: sqlstore.NewListCache()}
	// The request log is read by admins now and then: two readers.
	lw, lr, err := openFile(filepath.Join(dir, LogFileName), "", 8000, 2000, 2)
	if err != nil {
		db.Close()
		return nil, err
	}
	db.log, db.logWrite, db.logRead = sqlstore.New(dialect, lw, lr, reg), lw, lr
	if _, err := lw.ExecContext(ctx, requestLogSchema); err != nil {
		db.Close()
		return nil, fmt.Errorf("%s: %w", LogFileName, err)
	}
	if err := db.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// openFile opens the writer and reader pools of one database file, with
// page caches of writerKB and readerKB each and up to readers readers.
func openFile(path, pragmas string, writerKB, readerKB, readers int) (w, r *sql.DB, err error) {
	// busy_timeout must come first so that the connection waits rather than
	// fails while another connection switches the file to WAL.
	// synchronous(FULL) makes every acknowledged commit survive power loss,
	// not just a process crash: a 2xx from Roster means the change is on disk.
	// SQLite does not enforce foreign keys unless asked, for historical reasons.
	dsn := fileURI(path) + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)" +
		"&_pragma=temp_store(MEMORY)" + pragmas
	// Writers take the lock when the transaction starts (BEGIN IMMEDIATE), so
	// a read-then-write transaction never fails halfway on a busy database.
	w, err = sql.Open("sqlite", dsn+fmt.Sprintf("&_pragma=cache_size(-%d)&_txlock=immediate", writerKB))
	if err != nil {
		return nil, nil, fmt.Errorf("open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	r, err = sql.Open("sqlite", dsn+fmt.Sprintf("&_pragma=cache_size(-%d)&_pragma=query_only(ON)", readerKB))
	if err != nil {
		w.Close()
		return nil, nil, fmt.Errorf("open %s: %w", path, err)
	}
	r.SetMaxOpenConns(readers)
	// Idle connections stay open (database/sql keeps 2 by default): a
	// connection that is closed loses its page cache and its compiled
	// statements, and opening one runs every pragma again, under the very
	// bursts of reads an identity provider sends.
	r.SetMaxIdleConns(readers)
	return w, r, nil
}

// fileURI returns path as an SQLite URI (file:…). Without escaping, a "?"
// or "#" in the data directory's path ends the file name there, and
// roster.db and requests.db would both open the directory's parent.
func fileURI(path string) string {
	return "file:" + strings.NewReplacer("%", "%25", "?", "%3F", "#", "%23").Replace(path)
}

// AppendRequests, QueryRequests and PruneRequests use the request log's
// own file (LogFileName).
func (db *DB) AppendRequests(ctx context.Context, entries []roster.RequestEntry) error {
	return db.log.AppendRequests(ctx, entries)
}

// QueryRequests returns an organization's entries matching q, newest first.
func (db *DB) QueryRequests(ctx context.Context, q roster.RequestQuery) ([]roster.RequestEntry, error) {
	return db.log.QueryRequests(ctx, q)
}

// PruneRequests deletes entries older than before.
func (db *DB) PruneRequests(ctx context.Context, before time.Time) (int64, error) {
	return db.log.PruneRequests(ctx, before)
}

// List returns one page of a list (sqlstore.Store.ListWith), with the
// statements and page ends the database keeps between calls.
func (db *DB) List(ctx context.Context, dir, typ string, q scim.ListQuery) (*scim.ListResult, error) {
	return db.Store.ListWith(ctx, db.lists, dir, typ, q)
}

// Close closes the database.
func (db *DB) Close() error {
	errs := []error{db.lists.Close(), db.Store.Close()}
	if db.log != nil {
		errs = append(errs, db.log.Close())
	}
	return errors.Join(errs...)
}

// migrate runs each embedded migration not yet applied, each in its own
// transaction, recording it by name. Migrations are forward-only.
func (db *DB) migrate(ctx context.Context) error {
	if _, err := db.write.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	return sqlstore.EachMigration(migrationFS, func(name string, body []byte) error {
		if name == "migrations/0008_request_log_file.sql" {
			if err := db.moveRequestLog(ctx); err != nil {
				return err
			}
		}
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

// moveRequestLog copies the request log of a database from before
// migration 0008 into LogFileName, in one transaction, which the migration
// then drops from the main file. Copying skips the entries already there,
// so a move cut short (the process stopped before 0008 committed) is
// finished by the next start without duplicates.
func (db *DB) moveRequestLog(ctx context.Context) error {
	var n int
	if err := db.write.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'request_log'`).Scan(&n); err != nil || n == 0 {
		return err
	}
	conn, err := db.write.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	var path, mainPath string
	if err := db.logWrite.QueryRowContext(ctx, `SELECT file FROM pragma_database_list WHERE name = 'main'`).Scan(&path); err != nil {
		return err
	}
	if err := conn.QueryRowContext(ctx, `SELECT file FROM pragma_database_list WHERE name = 'main'`).Scan(&mainPath); err != nil {
		return err
	}
	if path == mainPath {
		// Dropping the table would then drop the log itself.
		return fmt.Errorf("the request log's database and the main one are the same file (%s); nothing was moved", path)
	}
	if _, err := conn.ExecContext(ctx, `ATTACH DATABASE ? AS log`, path); err != nil {
		return fmt.Errorf("attach %s: %w", LogFileName, err)
	}
	defer conn.ExecContext(context.Background(), `DETACH DATABASE log`)
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	// An entry is already there if an entry of the same request is
	// (request ids are random), whatever its id: ids can collide when an
	// old roster.db is restored beside a newer requests.db, and those
	// entries are added under new ids rather than lost.
	const cols = `time, org_id, directory_id, credential_kind, credential_id, credential_name, method, route,
		resource_type, resource_id, summary, status, scim_type, latency, request_id, body`
	const missing = ` FROM main.request_log m WHERE NOT EXISTS (SELECT 1 FROM log.request_log l
		WHERE l.request_id = m.request_id AND l.time = m.time AND l.org_id = m.org_id)`
	for _, stmt := range []string{
		`CREATE INDEX log.request_log_moving ON request_log(request_id)`,
		`INSERT INTO log.request_log (id, ` + cols + `) SELECT id, ` + cols + missing + ` AND NOT EXISTS (SELECT 1 FROM log.request_log l WHERE l.id = m.id)`,
		`INSERT INTO log.request_log (` + cols + `) SELECT ` + cols + missing + ` ORDER BY m.id`,
		`DROP INDEX log.request_log_moving`,
	} {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("copy the request log into %s: %w", LogFileName, err)
		}
	}
	return tx.Commit()
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
