package postgres

import (
	"context"
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/roster-scim/roster"
)

var _ roster.UnavailableChecker = (*DB)(nil)

// The messages of the EUNAVAILABLE errors. They say what happened and what
// to do, and never quote the driver's error, which names hosts and users.
var (
	errDatabaseDown = &roster.Error{Code: roster.EUNAVAILABLE,
		Message: "the database is temporarily unavailable; retry the request later (see Retry-After)"}
	errStatementTimeout = &roster.Error{Code: roster.EUNAVAILABLE,
		Message: "the request took longer than the database statement timeout and was stopped; retry it later, and if a list keeps failing, ask for a smaller page (count) or a narrower filter"}
)

// Unavailable implements roster.UnavailableChecker: it returns an
// EUNAVAILABLE error when err, returned by one of the store's methods, means
// that the database cannot answer for now, and nil otherwise. The HTTP
// layers answer such errors with 503 and Retry-After, instead of 500, so
// that clients see a transient failure to retry rather than a bug; the pool
// reconnects on its own once the database is back, so no restart is needed. This one method
// classifies, rather than every store method converting its errors, so that
// the store's methods stay plain and no failure path can be missed.
func (db *DB) Unavailable(err error) *roster.Error {
	switch {
	case err == nil:
		return nil
	case errors.As(err, new(*pgconn.ConnectError)) && !errors.Is(err, context.Canceled):
		// Checked before the deadline below: a connection attempt that
		// ran into the URL's connect_timeout also matches
		// context.DeadlineExceeded (net's timeout error says so), yet
		// says the database cannot be reached.
		return errDatabaseDown
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		// The request's own context ended: the client went away, or the
		// caller's deadline passed. Neither says anything about the
		// database, and pgx reports both this way (a cancellation is never
		// turned into the server's query_canceled).
		return nil
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case pe.Code == "57014":
			// query_canceled without a context error: the statement
			// timeout stopped a runaway query (or an operator cancelled
			// it with pg_cancel_backend). The query holds no connection
			// or lock any more; retrying later may well succeed.
			return errStatementTimeout
		case strings.HasPrefix(pe.Code, "08"), // connection_exception
			pe.Code == "57P01", // admin_shutdown: the server is stopping, or pg_terminate_backend
			pe.Code == "57P02", // crash_shutdown
			pe.Code == "57P03", // cannot_connect_now: starting up or in recovery
			pe.Code == "57P04", // database_dropped
			pe.Code == "57P05", // idle_session_timeout ended the connection
			pe.Code == "25006", // read_only_sql_transaction: a primary demoted by a failover
			pe.Code == "53300": // too_many_connections
			return errDatabaseDown
		}
		// Anything else the server answered is about the statement (a
		// constraint, a bug), not about the server being unreachable,
		// unless it came while connecting (below).
		var ce *pgconn.ConnectError
		if !errors.As(err, &ce) {
			return nil
		}
	}
	if unreachable(err) {
		return errDatabaseDown
	}
	return nil
}

// unreachable reports whether err says the database could not be reached or
// the connection broke: a failed connection attempt (refused, reset, a
// server that is starting, a password it no longer accepts: all mean this
// replica cannot serve until someone or something fixes the database), a
// network error, or a connection closed under a query.
func unreachable(err error) bool {
	var ce *pgconn.ConnectError
	var ne net.Error
	return errors.As(err, &ce) ||
		pgconn.SafeToRetry(err) || // failed before anything was sent
		errors.Is(err, pgconn.ErrConnClosed) ||
		// database/sql gives up with a bare ErrBadConn when its retries on
		// fresh connections fail the same way; pgx's adapter also returns
		// it for a connection that broke before anything was sent.
		errors.Is(err, driver.ErrBadConn) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, net.ErrClosed) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.As(err, &ne)
}
