package postgres

import (
	"context"
	"errors"
	"github.com/roster-scim/roster/postgres/pgtest"
	"net/url"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/roster-scim/roster/scim"
)

// TestMigrationsConcurrent opens one empty schema from several goroutines
// at once, as replicas starting together do, then once more: the advisory
// lock lets one apply each migration and the others find it recorded.
func TestMigrationsConcurrent(t *testing.T) {
	u := pgtest.URL(t) // a fresh, empty schema; skips when no server is reachable
	ctx := context.Background()
	const replicas = 4
	errs := make(chan error, replicas)
	for range replicas {
		go func() {
			db, err := Open(ctx, u, scim.NewRegistry())
			if err == nil {
				db.Close()
			}
			errs <- err
		}()
	}
	for range replicas {
		if err := <-errs; err != nil {
			t.Fatalf("concurrent Open: %v", err)
		}
	}
	db, err := Open(ctx, u, scim.NewRegistry())
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer db.Close()
	names, _ := migrationFS.ReadDir("migrations")
	var n int
	if err := db.pool.QueryRow(ctx, `SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != len(names) {
		t.Errorf("schema_migrations has %d rows, want %d", n, len(names))
	}
}

// TestStatementTimeout checks that statements are bounded by default, and
// that a connection string's own statement_timeout wins.
func TestStatementTimeout(t *testing.T) {
	db := MustOpen(t)
	ctx := context.Background()
	var got string
	if err := db.pool.QueryRow(ctx, `SHOW statement_timeout`).Scan(&got); err != nil {
		t.Fatal(err)
	}
	if got != "1min" {
		t.Errorf("default statement_timeout = %q, want 1min (%s)", got, DefaultStatementTimeout)
	}

	u, err := url.Parse(pgtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("statement_timeout", "100ms")
	u.RawQuery = q.Encode()
	short, err := Connect(ctx, u.String(), scim.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	defer short.Close()
	_, err = short.pool.Exec(ctx, `SELECT pg_sleep(5)`)
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "57014" { // query_canceled
		t.Errorf("pg_sleep(5) with statement_timeout=100ms: %v, want SQLSTATE 57014", err)
	}
}
