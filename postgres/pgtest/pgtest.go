// Package pgtest gives tests a PostgreSQL schema of their own on the test
// server, so that the store, HTTP and command tests of every package can run
// on PostgreSQL in parallel on one database.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
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

// URL creates a schema for the test, drops it when the test ends, and
// returns a connection string whose search_path is that schema. Without a
// reachable server the test is skipped with instructions, or fails when
// CI=true. Close pools opened on the URL before the test ends (register
// their Cleanup after calling URL, so that they run first).
func URL(tb testing.TB) string {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	base := testURL()
	admin, err := pgx.Connect(ctx, base)
	if err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("PostgreSQL at %s is not reachable: %v", Redact(base), err)
		}
		tb.Skipf("PostgreSQL tests skipped: cannot connect to %s (%v). To run them, start PostgreSQL with a database named test "+
			"and trust auth on 127.0.0.1:5432 (.ci/run does), or point ROSTER_TEST_DATABASE_URL at a database where the tests may "+
			"create schemas, e.g. ROSTER_TEST_DATABASE_URL='postgres://user:pass@host:5432/db?sslmode=disable' go test ./...; "+
			"CI=true turns this skip into a failure", Redact(base), err)
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
	return u
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

// Redact hides a password in a connection URL for messages.
func Redact(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "(unparsable connection string)"
	}
	return p.Redacted()
}
