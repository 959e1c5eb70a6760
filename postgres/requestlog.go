package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/roster-scim/roster"
	"github.com/roster-scim/roster/internal/sqlstore"
)

var requestLogColumns = []string{"time", "org_id", "directory_id", "credential_kind", "credential_id", "credential_name",
	"method", "route", "resource_type", "resource_id", "summary", "status", "scim_type", "latency", "request_id", "body"}

// AppendRequests stores a batch of entries with one COPY: a single
// statement, so the batch is stored whole or not at all, and one round trip
// and one commit however many entries it holds. It replaces the shared
// store's, which inserts the entries one by one; the other request log
// methods are the shared store's.
func (db *DB) AppendRequests(ctx context.Context, entries []roster.RequestEntry) error {
	if err := sqlstore.CheckRequests(entries); err != nil || len(entries) == 0 {
		return err
	}
	rows := make([][]any, len(entries))
	for i, e := range entries {
		rows[i] = []any{micros(e.Time), e.OrgID, e.DirectoryID, e.CredentialKind, e.CredentialID, e.CredentialName,
			e.Method, e.Route, e.ResourceType, nullString(e.ResourceID), e.Summary, int32(e.Status), e.SCIMType,
			e.Latency.Microseconds(), e.RequestID, nullString(e.Body)}
	}
	_, err := db.pool.CopyFrom(ctx, pgx.Identifier{"request_log"}, requestLogColumns, pgx.CopyFromRows(rows))
	return err
}

// nullString is s as a nullable TEXT argument: "" stores NULL.
func nullString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
