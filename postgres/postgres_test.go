package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/roster-scim/roster"
	"github.com/roster-scim/roster/scim"
	"github.com/roster-scim/roster/storetest"
)

// defaultTestURL is the test database of .ci/run: a local PostgreSQL with
// trust authentication and a database named test.
const defaultTestURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// testURL returns the connection string of the test database.
func testURL() string {
	if u := os.Getenv("ROSTER_TEST_DATABASE_URL"); u != "" {
		return u
	}
	return defaultTestURL
}

// MustOpen opens the store in a schema of its own, created for the test
// and dropped when it ends, so that tests run in parallel on one database.
// Without a reachable server the test is skipped, or fails under CI.
func MustOpen(tb testing.TB) *DB {
	tb.Helper()
	db, _ := mustOpenURL(tb)
	return db
}

// mustOpenURL is MustOpen that also returns the connection string of the
// test's schema, so that a test can open a second store on it, as a second
// replica would.
func mustOpenURL(tb testing.TB) (*DB, string) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	base := testURL()
	admin, err := pgx.Connect(ctx, base)
	if err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("PostgreSQL at %s is not reachable: %v", redact(base), err)
		}
		tb.Skipf("PostgreSQL tests skipped: cannot connect to %s (%v). To run them, start PostgreSQL with a database named test "+
			"and trust auth on 127.0.0.1:5432 (.ci/run does), or point ROSTER_TEST_DATABASE_URL at a database where the tests may "+
			"create schemas, e.g. ROSTER_TEST_DATABASE_URL='postgres://user:pass@host:5432/db?sslmode=disable' go test ./postgres/; "+
			"CI=true turns this skip into a failure", redact(base), err)
	}
	defer admin.Close(context.Background())
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		tb.Fatal(err)
	}
	schema := "t_" + hex.EncodeToString(b[:])
	if _, err := admin.Exec(ctx, `CREATE SCHEMA `+schema); err != nil {
		tb.Fatalf("create schema %s: %v", schema, err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			tb.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, `DROP SCHEMA `+schema+` CASCADE`); err != nil {
			tb.Errorf("drop schema %s: %v", schema, err)
		}
	})
	u, err := withSearchPath(base, schema)
	if err != nil {
		tb.Fatal(err)
	}
	db, err := Open(ctx, u, scim.NewRegistry())
	if err != nil {
		tb.Fatalf("open %s: %v", redact(u), err)
	}
	// Registered after the schema's cleanup, so it runs first: the pool
	// is closed before the schema is dropped.
	tb.Cleanup(func() { db.Close() })
	return db, u
}

// mustOpenReplica opens another store on the schema at u.
func mustOpenReplica(tb testing.TB, u string) *DB {
	tb.Helper()
	db, err := Open(context.Background(), u, scim.NewRegistry())
	if err != nil {
		tb.Fatalf("open %s: %v", redact(u), err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// withSearchPath returns the connection string u with the search_path set
// to schema in the startup options, and a small pool, since many tests
// run in parallel against one server.
func withSearchPath(u, schema string) (string, error) {
	p, err := url.Parse(u)
	if err != nil {
		return "", err
	}
	q := p.Query()
	q.Set("options", "-csearch_path="+schema)
	if q.Get("pool_max_conns") == "" {
		q.Set("pool_max_conns", "4")
	}
	p.RawQuery = q.Encode()
	return p.String(), nil
}

// redact hides a password in a connection URL for messages.
func redact(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "(unparsable connection string)"
	}
	return p.Redacted()
}

// mustAddTenant stores a new organization with a directory and a key. The
// AdminStore interface creates only the first organization (Bootstrap), and
// tests need a second one for isolation.
func mustAddTenant(tb testing.TB, db *DB, name string) storetest.Tenant {
	tb.Helper()
	ten := storetest.NewTenant(name)
	ctx := context.Background()
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		return insertTenant(ctx, tx, &ten.Bootstrap, db.now())
	})
	if err != nil {
		tb.Fatalf("insert tenant %s: %v", name, err)
	}
	return ten
}

// openStores is the storetest contract for PostgreSQL, as for SQLite:
// tenant A through Bootstrap, tenant B inserted directly, and the clock
// and keys changed through the DB's fields and tables.
func openStores(t *testing.T) storetest.Stores {
	db := MustOpen(t)
	a := storetest.NewTenant("Org A")
	if err := db.Bootstrap(context.Background(), &a.Bootstrap); err != nil {
		t.Fatalf("Bootstrap: %v", err)
	}
	return storetest.Stores{
		Store:  db,
		Admin:  db,
		A:      a,
		B:      mustAddTenant(t, db, "Org B"),
		SetNow: func(now func() time.Time) { db.Now = now },
		SetKey: func(keyID string, revoked bool, expires *time.Time) error {
			var exp *int64
			if expires != nil {
				n := micros(*expires)
				exp = &n
			}
			_, err := db.pool.Exec(context.Background(), `UPDATE api_keys SET revoked = $1, expires = $2 WHERE id = $3`, revoked, exp, keyID)
			return err
		},
	}
}

func TestStore(t *testing.T) {
	storetest.Run(t, openStores)
}

// TestNULCharacter checks that a value PostgreSQL cannot store, a string
// with U+0000, is refused as an invalid value, not a server error.
func TestNULCharacter(t *testing.T) {
	ctx := context.Background()
	db := MustOpen(t)
	ten := mustAddTenant(t, db, "nul")
	_, err := db.Create(ctx, ten.Dir.ID, &scim.Resource{Type: scim.UserType, Attrs: map[string]any{"userName": "a\x00b"}}, nil)
	if roster.ErrorCode(err) != roster.EINVALID {
		t.Errorf("userName with NUL: %v, want %s", err, roster.EINVALID)
	}
	_, err = db.Create(ctx, ten.Dir.ID, &scim.Resource{Type: scim.UserType, Attrs: map[string]any{"userName": "ok", "title": "a\x00b"}}, nil)
	if roster.ErrorCode(err) != roster.EINVALID {
		t.Errorf("title with NUL: %v, want %s", err, roster.EINVALID)
	}
}
