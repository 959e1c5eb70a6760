package postgres

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/roster-scim/roster"
	"github.com/roster-scim/roster/postgres/pgtest"
	"github.com/roster-scim/roster/scim"
)

// TestUnavailableClassifies checks which errors mean "the database cannot
// answer for now" (503) and which do not (500 or the error's own code).
func TestUnavailableClassifies(t *testing.T) {
	pg := func(code string) error { return fmt.Errorf("query: %w", &pgconn.PgError{Code: code}) }
	dial := &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	for _, tc := range []struct {
		name string
		err  error
		want *roster.Error
	}{
		{"nil", nil, nil},
		{"connection_failure", pg("08006"), errDatabaseDown},
		{"connection_does_not_exist", pg("08003"), errDatabaseDown},
		{"admin_shutdown", pg("57P01"), errDatabaseDown},
		{"crash_shutdown", pg("57P02"), errDatabaseDown},
		{"cannot_connect_now", pg("57P03"), errDatabaseDown},
		{"too_many_connections", pg("53300"), errDatabaseDown},
		{"statement timeout", pg("57014"), errStatementTimeout},
		{"connect error", &pgconn.ConnectError{Config: &pgconn.Config{}}, errDatabaseDown},
		{"dial refused", fmt.Errorf("acquire: %w", dial), errDatabaseDown},
		{"unexpected EOF", fmt.Errorf("receive: %w", io.ErrUnexpectedEOF), errDatabaseDown},
		{"reset", fmt.Errorf("read: %w", syscall.ECONNRESET), errDatabaseDown},
		{"conn closed", fmt.Errorf("query: %w", pgconn.ErrConnClosed), errDatabaseDown},
		{"database_dropped", pg("57P04"), errDatabaseDown},
		{"read-only after a failover", pg("25006"), errDatabaseDown},
		{"database/sql out of connections to retry on", fmt.Errorf("query: %w", driver.ErrBadConn), errDatabaseDown},
		{"unique violation", pg("23505"), nil},
		{"syntax error", pg("42601"), nil},
		{"client went away", fmt.Errorf("query: %w", context.Canceled), nil},
		{"client went away while connecting", errors.Join(dial, context.Canceled), nil},
		{"caller's deadline", fmt.Errorf("query: %w", context.DeadlineExceeded), nil},
		{"a bug", errors.New("scan: wrong number of columns"), nil},
	} {
		if got := (&DB{}).Unavailable(tc.err); got != tc.want {
			t.Errorf("%s: Unavailable(%v) = %v, want %v", tc.name, tc.err, got, tc.want)
		}
	}
	if got := roster.Unavailable(pg("08006"), &DB{}); got == nil || got.Code != roster.EUNAVAILABLE {
		t.Errorf("roster.Unavailable with the store: %v", got)
	}
	if got := roster.Unavailable(roster.Errorf(roster.ENOTFOUND, "no"), &DB{}); got != nil {
		t.Errorf("an application error was reclassified: %v", got)
	}
	for _, e := range []*roster.Error{errDatabaseDown, errStatementTimeout} {
		if e.Code != roster.EUNAVAILABLE || e.SCIMType != "" {
			t.Errorf("%v: want code %s and no scimType", e, roster.EUNAVAILABLE)
		}
	}
}

// TestStatementTimeoutIsUnavailable checks that a runaway query stopped by
// the statement timeout (TestStatementTimeout checks the setting) is
// classified as unavailable, while a query the caller cancels is not.
func TestStatementTimeoutIsUnavailable(t *testing.T) {
	u := pgtest.URL(t)
	ctx := context.Background()
	db, err := Connect(ctx, u+"&statement_timeout=100ms", scim.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// Without the timeout this runs for an hour; the test would hit go
	// test's own timeout rather than pass.
	_, err = db.pool.Exec(ctx, `SELECT pg_sleep(3600)`)
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "57014" {
		t.Fatalf("runaway query: %v, want SQLSTATE 57014", err)
	}
	if got := db.Unavailable(err); got != errStatementTimeout {
		t.Errorf("Unavailable(statement timeout) = %v", got)
	}

	// A request whose client went away cancels its query; that is not an
	// outage.
	cctx, cancel := context.WithCancel(ctx)
	go func() { time.Sleep(20 * time.Millisecond); cancel() }()
	_, err = db.pool.Exec(cctx, `SELECT pg_sleep(3600)`)
	if err == nil {
		t.Fatal("a cancelled query succeeded")
	}
	if got := db.Unavailable(err); got != nil {
		t.Errorf("Unavailable(cancelled by the caller: %v) = %v, want nil", err, got)
	}
}

// TestReconnectsAfterOutage cuts the connection to the database under a
// store and restores it: store calls fail with errors classified as
// unavailable while it is down, and succeed again on the same pool once it
// is back.
func TestReconnectsAfterOutage(t *testing.T) {
	u := pgtest.URL(t)
	ctx := context.Background()
	if db, err := Open(ctx, u, scim.NewRegistry()); err != nil {
		t.Fatal(err)
	} else {
		db.Close()
	}
	proxy, pu := pgtest.NewProxy(t, u)
	db, err := Connect(ctx, pu, scim.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ListOrganizations(ctx); err != nil {
		t.Fatal(err)
	}

	proxy.Stop()
	// The first call finds the pooled connection broken, the next ones
	// cannot connect; both are outages.
	for i := range 3 {
		_, err := db.ListOrganizations(ctx)
		if got := db.Unavailable(err); got != errDatabaseDown {
			t.Fatalf("call %d with the database gone: %v, classified %v", i, err, got)
		}
		if err := db.Ping(ctx); db.Unavailable(err) != errDatabaseDown {
			t.Fatalf("Ping with the database gone: %v", err)
		}
	}

	proxy.Start()
	var last error
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if _, last = db.ListOrganizations(ctx); last == nil {
			return
		}
	}
	t.Fatalf("the store did not recover once the database was back: %v", last)
}

// TestConnectTimeoutIsUnavailable connects to a server that accepts the
// connection and never answers, with connect_timeout set, as the docs
// advise: the timeout must read as the database being down (503), though
// it also matches context.DeadlineExceeded.
func TestConnectTimeoutIsUnavailable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close() // held open, never answered
		}
	}()
	_, err = pgconn.Connect(context.Background(), "postgres://x@"+ln.Addr().String()+"/x?sslmode=disable&connect_timeout=1")
	if err == nil {
		t.Fatal("connected to a server that never answers")
	}
	if got := (&DB{}).Unavailable(err); got != errDatabaseDown {
		t.Fatalf("Unavailable(%v) = %v, want %v", err, got, errDatabaseDown)
	}
}
