package postgres

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/roster-scim/roster"
)

var requestLogColumns = []string{"time", "org_id", "directory_id", "credential_kind", "credential_id", "credential_name",
	"method", "route", "resource_type", "resource_id", "summary", "status", "scim_type", "latency", "request_id", "body"}

// AppendRequests stores a batch of entries with one COPY: a single
// statement, so the batch is stored whole or not at all, and one round trip
// and one commit however many entries it holds.
func (db *DB) AppendRequests(ctx context.Context, entries []roster.RequestEntry) error {
	if len(entries) == 0 {
		return nil
	}
	for i := range entries {
		if entries[i].OrgID == "" || entries[i].DirectoryID == "" {
			return roster.Errorf(roster.EINVALID, "request log entry %d has no organization or directory", i)
		}
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

// QueryRequests returns an organization's entries matching q, newest first.
func (db *DB) QueryRequests(ctx context.Context, q roster.RequestQuery) ([]roster.RequestEntry, error) {
	query, args, err := requestsSQL(q)
	if err != nil {
		return nil, err
	}
	rows, err := db.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []roster.RequestEntry{}
	for rows.Next() {
		var e roster.RequestEntry
		var t, latency int64
		var status int32
		var resourceID, body *string
		if err := rows.Scan(&e.ID, &t, &e.OrgID, &e.DirectoryID, &e.CredentialKind, &e.CredentialID, &e.CredentialName,
			&e.Method, &e.Route, &e.ResourceType, &resourceID, &e.Summary, &status, &e.SCIMType, &latency, &e.RequestID, &body); err != nil {
			return nil, err
		}
		e.Time, e.Latency, e.Status = fromMicros(t), time.Duration(latency)*time.Microsecond, int(status)
		if resourceID != nil {
			e.ResourceID = *resourceID
		}
		if body != nil {
			e.Body = *body
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// requestsSQL builds the statement of QueryRequests. Every filter is an SQL
// argument, and the org_id term is in every statement, so that no filter
// combination reaches another organization's entries.
func requestsSQL(q roster.RequestQuery) (string, []any, error) {
	switch {
	case q.OrgID == "":
		return "", nil, roster.Errorf(roster.EINVALID, "a request log query needs an organization")
	case q.StatusClass < 0 || q.StatusClass > 5:
		return "", nil, roster.Errorf(roster.EINVALID, "status class must be 1 to 5 (as in 4xx), got %d", q.StatusClass)
	case q.Limit < 0:
		return "", nil, roster.Errorf(roster.EINVALID, "limit must not be negative, got %d", q.Limit)
	}
	var where []string
	var args []any
	// arg adds an argument and returns its placeholder.
	arg := func(a any) string {
		args = append(args, a)
		return "$" + strconv.Itoa(len(args))
	}
	org := arg(q.OrgID)
	where = append(where, "org_id = "+org)
	if q.DirectoryID != "" {
		where = append(where, "directory_id = "+arg(q.DirectoryID))
	}
	if !q.Since.IsZero() {
		where = append(where, "time >= "+arg(micros(q.Since)))
	}
	if !q.Until.IsZero() {
		where = append(where, "time < "+arg(micros(q.Until)))
	}
	if q.Status != 0 {
		where = append(where, "status = "+arg(int32(q.Status)))
	}
	if q.StatusClass != 0 {
		where = append(where, "status >= "+arg(int32(q.StatusClass*100))+" AND status < "+arg(int32(q.StatusClass*100+100)))
	}
	if q.ResourceID != "" {
		where = append(where, "resource_id = "+arg(q.ResourceID))
	}
	if q.Operation != "" {
		// strpos rather than LIKE: the operation is matched literally, so
		// "%" and "_" in it need no escaping.
		where = append(where, "strpos(lower(summary), lower("+arg(q.Operation)+"::text)) > 0")
	}
	if q.Before > 0 {
		// The cursor is the last entry of the previous page. Its (time, id)
		// is looked up within the organization, so another organization's
		// entry id selects nothing.
		where = append(where, "(time, id) < (SELECT time, id FROM request_log WHERE id = "+arg(q.Before)+" AND org_id = "+org+")")
	}
	limit := q.Limit
	if limit == 0 {
		limit = roster.DefaultRequestLimit
	}
	limit = min(limit, roster.MaxRequestLimit)
	query := selectRequests + ` WHERE ` + strings.Join(where, " AND ") + ` ORDER BY time DESC, id DESC LIMIT ` + arg(int64(limit))
	return query, args, nil
}

const selectRequests = `SELECT id, time, org_id, directory_id, credential_kind, credential_id, credential_name,
	method, route, resource_type, resource_id, summary, status, scim_type, latency, request_id, body FROM request_log`

// pruneChunk is how many entries one pruning statement deletes: small
// enough that each deletion holds its row locks and WAL burst briefly, not
// for the time it takes to delete a month of traffic.
const pruneChunk = 2000

// PruneRequests deletes entries older than before, a chunk per statement
// (each its own transaction).
func (db *DB) PruneRequests(ctx context.Context, before time.Time) (int64, error) {
	var total int64
	for {
		tag, err := db.pool.Exec(ctx, `DELETE FROM request_log WHERE id IN (SELECT id FROM request_log WHERE time < $1 LIMIT $2)`, micros(before), int64(pruneChunk))
		if err != nil {
			return total, err
		}
		n := tag.RowsAffected()
		total += n
		if n < pruneChunk {
			return total, nil
		}
	}
}

// SetBodyCapture switches body capture for one directory of an organization.
func (db *DB) SetBodyCapture(ctx context.Context, orgID, dirID string, on bool) error {
	tag, err := db.pool.Exec(ctx, `UPDATE directories SET capture_bodies = $1 WHERE id = $2 AND org_id = $3`, on, dirID, orgID)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return notFound("directory (IdP configuration)", dirID)
	}
	return nil
}
