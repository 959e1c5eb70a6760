package sqlstore

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/roster-scim/roster"
)

var _ roster.RequestLogStore = (*Store)(nil)

// CheckRequests returns an error if an entry of a batch to append lacks
// its organization or directory.
func CheckRequests(entries []roster.RequestEntry) error {
	for i := range entries {
		if entries[i].OrgID == "" || entries[i].DirectoryID == "" {
			return roster.Errorf(roster.EINVALID, "request log entry %d has no organization or directory", i)
		}
	}
	return nil
}

// AppendRequests stores a batch of entries in one transaction with one
// prepared statement: the recorder batches so that the log costs the
// single writer one commit (one fsync) per batch, not one per request.
func (s *Store) AppendRequests(ctx context.Context, entries []roster.RequestEntry) error {
	if err := CheckRequests(entries); err != nil || len(entries) == 0 {
		return err
	}
	return s.writeTx(ctx, func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx, s.q(`INSERT INTO request_log (time, org_id, directory_id, credential_kind, credential_id, credential_name,
			method, route, resource_type, resource_id, summary, status, scim_type, latency, request_id, body)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`))
		if err != nil {
			return err
		}
		defer stmt.Close()
		for _, e := range entries {
			if _, err := stmt.ExecContext(ctx, micros(e.Time), e.OrgID, e.DirectoryID, e.CredentialKind, e.CredentialID, e.CredentialName,
				e.Method, e.Route, e.ResourceType, nullString(e.ResourceID), e.Summary, e.Status, e.SCIMType,
				e.Latency.Microseconds(), e.RequestID, nullString(e.Body)); err != nil {
				return err
			}
		}
		return nil
	})
}

// QueryRequests returns an organization's entries matching q, newest first.
func (s *Store) QueryRequests(ctx context.Context, q roster.RequestQuery) ([]roster.RequestEntry, error) {
	query, args, err := s.d.RequestsSQL(q)
	if err != nil {
		return nil, err
	}
	rows, err := s.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []roster.RequestEntry{}
	for rows.Next() {
		var e roster.RequestEntry
		var t, latency int64
		var resourceID, body sql.NullString
		if err := rows.Scan(&e.ID, &t, &e.OrgID, &e.DirectoryID, &e.CredentialKind, &e.CredentialID, &e.CredentialName,
			&e.Method, &e.Route, &e.ResourceType, &resourceID, &e.Summary, &e.Status, &e.SCIMType, &latency, &e.RequestID, &body); err != nil {
			return nil, err
		}
		e.Time, e.Latency = fromMicros(t), time.Duration(latency)*time.Microsecond
		e.ResourceID, e.Body = resourceID.String, body.String
		out = append(out, e)
	}
	return out, rows.Err()
}

// RequestsSQL builds the statement of QueryRequests. Every filter is an SQL
// argument, and the org_id term is in every statement, so that no filter
// combination reaches another organization's entries.
func (d *Dialect) RequestsSQL(q roster.RequestQuery) (string, []any, error) {
	switch {
	case q.OrgID == "":
		return "", nil, roster.Errorf(roster.EINVALID, "a request log query needs an organization")
	case q.StatusClass < 0 || q.StatusClass > 5:
		return "", nil, roster.Errorf(roster.EINVALID, "status class must be 1 to 5 (as in 4xx), got %d", q.StatusClass)
	case q.Limit < 0:
		return "", nil, roster.Errorf(roster.EINVALID, "limit must not be negative, got %d", q.Limit)
	}
	where := []string{"org_id = ?"}
	args := []any{q.OrgID}
	add := func(term string, a ...any) {
		where = append(where, term)
		args = append(args, a...)
	}
	if q.DirectoryID != "" {
		add("directory_id = ?", q.DirectoryID)
	}
	if !q.Since.IsZero() {
		add("time >= ?", micros(q.Since))
	}
	if !q.Until.IsZero() {
		add("time < ?", micros(q.Until))
	}
	if q.Status != 0 {
		add("status = ?", q.Status)
	}
	if q.StatusClass != 0 {
		add("status >= ? AND status < ?", q.StatusClass*100, q.StatusClass*100+100)
	}
	if q.ResourceID != "" {
		add("resource_id = ?", q.ResourceID)
	}
	if q.Operation != "" {
		// Instr rather than LIKE: the operation is matched literally, so
		// "%" and "_" in it need no escaping.
		add(d.Instr+"(lower(summary), lower(?"+d.TextArg+")) > 0", q.Operation)
	}
	if q.Before > 0 {
		// The cursor is the last entry of the previous page. Its (time, id)
		// is looked up within the organization, so another organization's
		// entry id selects nothing.
		add("(time, id) < (SELECT time, id FROM request_log WHERE id = ? AND org_id = ?)", q.Before, q.OrgID)
	}
	limit := q.Limit
	if limit == 0 {
		limit = roster.DefaultRequestLimit
	}
	limit = min(limit, roster.MaxRequestLimit)
	query := selectRequests + ` WHERE ` + strings.Join(where, " AND ") + ` ORDER BY time DESC, id DESC LIMIT ?`
	return d.Rebind(query), append(args, limit), nil
}

const selectRequests = `SELECT id, time, org_id, directory_id, credential_kind, credential_id, credential_name,
	method, route, resource_type, resource_id, summary, status, scim_type, latency, request_id, body FROM request_log`

// pruneChunk is how many entries one pruning statement deletes, each its
// own transaction: small enough that writes queued behind it wait
// milliseconds, and its row locks and WAL burst are brief, not the time it
// takes to delete a month of traffic.
const pruneChunk = 2000

// PruneRequests deletes entries older than before, a chunk per transaction.
func (s *Store) PruneRequests(ctx context.Context, before time.Time) (int64, error) {
	return s.prune(ctx, "request_log", before)
}

// PruneLog deletes provisioning-log entries older than before, a chunk per
// transaction.
func (s *Store) PruneLog(ctx context.Context, before time.Time) (int64, error) {
	return s.prune(ctx, "provision_log", before)
}

// prune deletes the rows of a log table (an id and a time column) older
// than before, pruneChunk rows per statement.
func (s *Store) prune(ctx context.Context, table string, before time.Time) (int64, error) {
	var total int64
	for {
		n, err := affected(s.w.ExecContext(ctx, s.q(`DELETE FROM `+table+` WHERE id IN (SELECT id FROM `+table+` WHERE time < ? LIMIT ?)`), micros(before), pruneChunk))
		total += n
		if err != nil || n < pruneChunk {
			return total, err
		}
	}
}

// SetBodyCapture switches body capture for one directory of an organization.
func (s *Store) SetBodyCapture(ctx context.Context, orgID, dirID string, on bool) error {
	n, err := affected(s.w.ExecContext(ctx, s.q(`UPDATE directories SET capture_bodies = ? WHERE id = ? AND org_id = ?`), on, dirID, orgID))
	if err == nil && n == 0 {
		return notFound("directory (IdP configuration)", dirID)
	}
	return err
}
