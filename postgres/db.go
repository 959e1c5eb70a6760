// Package postgres is Roster's PostgreSQL store, for several stateless
// replicas behind a load balancer. It mirrors the sqlite package: the same
// tables and columns, raw SQL, embedded forward-only migrations. The
// store's SQL is shared with the sqlite package (internal/sqlstore, through
// pgx's database/sql adapter); what PostgreSQL spells differently is in
// dialect.go.
//
// Helpers shared inside the package (defined in db.go unless noted):
//
//	Open = Connect + db.Migrate; db.Ping; DefaultStatementTimeout
//	queryer            interface{Exec, Query, QueryRow} with pgx signatures;
//	                   both *pgxpool.Pool (db.pool) and pgx.Tx satisfy it
//	db.pool            the *pgxpool.Pool; db.reg the *scim.Registry
//	db.now()           current time, UTC, truncated to the microsecond
//	micros(t) int64    time to Unix microseconds (the stored form)
//	fromMicros(n)      Unix microseconds to a UTC time.Time
//	isUnique(err)      err is a unique violation (SQLSTATE 23505)
//	isNoRows(err)      err is pgx.ErrNoRows
//	db.inTx(ctx, fn)   runs fn in a transaction, committing when it returns nil
//	nullString(s)      (requestlog.go) "" as NULL
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/roster-scim/roster"
	"github.com/roster-scim/roster/internal/sqlstore"
	"github.com/roster-scim/roster/scim"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// Compile-time checks that DB implements the store interfaces.
var (
	_ roster.AdminStore      = (*DB)(nil)
	_ roster.RequestLogStore = (*DB)(nil)
	_ scim.Store             = (*DB)(nil)
)

// DB is the PostgreSQL store. Unlike SQLite, PostgreSQL takes concurrent
// writers, so one pool serves reads and writes. The store's SQL is shared
// with the sqlite package (sqlstore.Store, with Now, the clock tests
// replace), through pgx's database/sql adapter on the same pool.
type DB struct {
	*sqlstore.Store
	pool *pgxpool.Pool
	reg  *scim.Registry
}

// queryer is what both the pool and a transaction offer, so that helpers
// run either inside a transaction or on their own.
type queryer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

var (
	_ queryer = (*pgxpool.Pool)(nil)
	_ queryer = (pgx.Tx)(nil)
)

// migrationLock is the key of the advisory lock that serializes migrations
// across replicas starting together ("migr" in ASCII). The lock's second
// key is the schema, so replicas of one schema migrate once while separate
// schemas (tests, or several Rosters on one database) do not queue.
const migrationLock int32 = 0x6d696772

// bootstrapLock is the advisory lock key that serializes Bootstrap across
// replicas ("boot" in ASCII), keyed by schema as migrationLock is (see
// dialect.Bootstrap).
const bootstrapLock int32 = 0x626f6f74

// DefaultStatementTimeout bounds every statement, so that a runaway query
// fails instead of holding a connection and its locks. A connection string
// that sets statement_timeout itself (e.g. ?statement_timeout=5s, or 0 for
// none) keeps its own value. Migrations and directory deletion lift it for
// their transaction, since their work grows with the data.
const DefaultStatementTimeout = "60s"

// Open connects to the database at url (a PostgreSQL connection string or
// URL, as pgxpool.ParseConfig reads it), checks the connection and applies
// pending migrations. It is Connect followed by Migrate.
func Open(ctx context.Context, url string, reg *scim.Registry) (*DB, error) {
	db, err := Connect(ctx, url, reg)
	if err != nil {
		return nil, err
	}
	if err := db.Migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// Connect connects to the database at url and checks the connection, but
// applies no migrations: for `serve` told not to migrate, when `roster
// migrate` runs them as a separate deployment step.
func Connect(ctx context.Context, url string, reg *scim.Registry) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// A parse error quotes the connection string, and pgx redacts the
		// password on a best-effort basis only, so it is not passed on.
		return nil, errors.New("postgres: cannot parse the connection string; expected postgres://user:password@host:port/database?options or key=value pairs")
	}
	if _, ok := cfg.ConnConfig.RuntimeParams["statement_timeout"]; !ok {
		cfg.ConnConfig.RuntimeParams["statement_timeout"] = DefaultStatementTimeout
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: connect: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: connect: %w", err)
	}
	sqlDB := stdlib.OpenDBFromPool(pool)
	return &DB{Store: sqlstore.New(dialect, sqlDB, sqlDB, reg), pool: pool, reg: reg}, nil
}

// Close closes the database/sql adapter, then the pool, waiting for
// connections in use to be returned.
func (db *DB) Close() error {
	err := db.Store.Close()
	db.pool.Close()
	return err
}

// Ping checks that the database answers, for readiness probes.
func (db *DB) Ping(ctx context.Context) error { return db.pool.Ping(ctx) }

// Migrate runs each embedded migration not yet applied, each in its own
// transaction, recording it by name. Migrations are forward-only. Replicas
// may run it at the same time: each migration is applied once.
func (db *DB) Migrate(ctx context.Context) error {
	if err := sqlstore.EachMigration(migrationFS, func(name string, body []byte) error {
		return db.migrateFile(ctx, name, body)
	}); err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	return nil
}

// migrateFile applies one migration. The transaction first takes an
// advisory lock, held until it ends, so that of several replicas starting
// together one applies the migration and the others, once they get the
// lock, find it recorded. CREATE TABLE IF NOT EXISTS alone would race.
func (db *DB) migrateFile(ctx context.Context, name string, body []byte) error {
	return db.inTx(ctx, func(tx pgx.Tx) error {
		// Waiting for another replica's migration, and the migration
		// itself, may take longer than the statement timeout.
		if _, err := tx.Exec(ctx, `SET LOCAL statement_timeout = 0`); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, hashtext(current_schema()))`, migrationLock); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied BIGINT NOT NULL)`); err != nil {
			return err
		}
		var done bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE name = $1)`, name).Scan(&done); err != nil || done {
			return err
		}
		// Without arguments pgx sends the text with the simple protocol,
		// which runs several statements.
		if _, err := tx.Exec(ctx, string(body)); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO schema_migrations (name, applied) VALUES ($1, $2)`, name, time.Now().Unix())
		return err
	})
}

// inTx runs fn in a transaction and commits it if fn returns nil; otherwise
// the transaction is rolled back and fn's error returned.
func (db *DB) inTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	tx, err := db.pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx)
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

// isUnique reports whether err is a unique violation, by its SQLSTATE
// rather than by its message.
func isUnique(err error) bool {
	var e *pgconn.PgError
	return errors.As(err, &e) && e.Code == "23505"
}

// isNoRows reports whether err says a single-row query found nothing.
func isNoRows(err error) bool { return errors.Is(err, pgx.ErrNoRows) }

func micros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(n int64) time.Time { return time.UnixMicro(n).UTC() }

func (db *DB) now() time.Time { return db.Now().UTC().Truncate(time.Microsecond) }
