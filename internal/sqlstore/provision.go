package sqlstore

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/roster-scim/roster"
	"github.com/roster-scim/roster/provision"
)

var _ provision.StateStore = (*Store)(nil)

const (
	// provisionPage is how many rows UnseenLinks and ExportedMembers read
	// per query. Each page is read to the end and its statement closed
	// before fn sees a row, so that no read stays open while fn writes
	// (on SQLite an open read would pin the WAL; on PostgreSQL it would
	// hold a connection).
	provisionPage = 1000
	// provisionBatch is how many rows one multi-row INSERT or IN list
	// carries: 11 link columns × 200 = 2,200 arguments, well under both
	// databases' limits (32,766 and 65,535).
	provisionBatch = 200
	// DefaultLogLimit and MaxLogLimit bound a QueryLog page.
	DefaultLogLimit = 100
	MaxLogLimit     = 1000
)

// ---- jobs ----

const selectJobs = `SELECT id, org_id, name, definition, enabled, created, updated FROM provision_jobs`

func scanJob(row interface{ Scan(...any) error }) (*provision.JobRecord, error) {
	j := &provision.JobRecord{}
	var def string
	var created, updated int64
	err := row.Scan(&j.ID, &j.OrgID, &j.Name, &def, &j.Enabled, &created, &updated)
	j.Definition, j.Created, j.Updated = []byte(def), fromMicros(created), fromMicros(updated)
	return j, err
}

// CreateJob stores a new job, with a new id when j.ID is "", and sets
// j.Created and j.Updated.
func (s *Store) CreateJob(ctx context.Context, j *provision.JobRecord) error {
	if j.OrgID == "" || j.Name == "" {
		return roster.Errorf(roster.EINVALID, "a provisioning job needs an organization and a name")
	}
	if j.ID == "" {
		j.ID = roster.NewID()
	}
	now := s.now()
	_, err := s.w.ExecContext(ctx, s.q(`INSERT INTO provision_jobs (id, org_id, name, definition, enabled, created, updated) VALUES (?, ?, ?, ?, ?, ?, ?)`),
		j.ID, j.OrgID, j.Name, string(j.Definition), j.Enabled, micros(now), micros(now))
	switch {
	case err != nil && s.d.IsUnique(err):
		return roster.Errorf(roster.ECONFLICT, "the organization already has a provisioning job named %q", j.Name)
	case err != nil && s.d.IsForeignKey != nil && s.d.IsForeignKey(err):
		return notFound("organization", j.OrgID)
	case err != nil:
		return err
	}
	j.Created, j.Updated = now, now
	return nil
}

// UpdateJob replaces a job's definition and Enabled and sets j.Updated;
// its name, organization and creation time stay (j.Name and j.Created are
// set to the stored ones).
func (s *Store) UpdateJob(ctx context.Context, j *provision.JobRecord) error {
	now := s.now()
	var created int64
	var name string
	err := s.w.QueryRowContext(ctx, s.q(`UPDATE provision_jobs SET definition = ?, enabled = ?, updated = ? WHERE id = ? AND org_id = ? RETURNING name, created`),
		string(j.Definition), j.Enabled, micros(now), j.ID, j.OrgID).Scan(&name, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return notFound("provisioning job", j.ID)
	} else if err != nil {
		return err
	}
	j.Name, j.Created, j.Updated = name, fromMicros(created), now
	return nil
}

// FindJob returns an organization's job by id or, failing that, by name.
func (s *Store) FindJob(ctx context.Context, orgID, nameOrID string) (*provision.JobRecord, error) {
	j, err := scanJob(s.r.QueryRowContext(ctx, s.q(selectJobs+` WHERE org_id = ? AND (id = ? OR name = ?) ORDER BY CASE WHEN id = ? THEN 0 ELSE 1 END LIMIT 1`),
		orgID, nameOrID, nameOrID, nameOrID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, roster.Errorf(roster.ENOTFOUND, "no provisioning job named %q or with that id", nameOrID)
	}
	if err != nil {
		return nil, err
	}
	return j, nil
}

// ListJobs returns an organization's jobs by name, or every job by
// organization and name when orgID is "".
func (s *Store) ListJobs(ctx context.Context, orgID string) ([]*provision.JobRecord, error) {
	if orgID == "" {
		return queryAll(ctx, s.r, selectJobs+` ORDER BY org_id`+s.d.ByteOrder+`, name`+s.d.ByteOrder, nil, scanJob)
	}
	return queryAll(ctx, s.r, s.q(selectJobs+` WHERE org_id = ? ORDER BY name`+s.d.ByteOrder), []any{orgID}, scanJob)
}

// DeleteJob deletes a job. Its state, links, members, lease and log
// reference it with ON DELETE CASCADE, so they go in the same statement.
func (s *Store) DeleteJob(ctx context.Context, orgID, id string) error {
	return s.writeTx(ctx, func(tx *sql.Tx) error {
		// A job's log and links grow with its directory.
		if s.d.NoTimeout != "" {
			if _, err := tx.ExecContext(ctx, s.d.NoTimeout); err != nil {
				return err
			}
		}
		n, err := affected(tx.ExecContext(ctx, s.q(`DELETE FROM provision_jobs WHERE id = ? AND org_id = ?`), id, orgID))
		if err == nil && n == 0 {
			return notFound("provisioning job", id)
		}
		return err
	})
}

// ---- job state ----

// JobState returns a job's state, the zero JobState when it has none.
func (s *Store) JobState(ctx context.Context, jobID string) (provision.JobState, error) {
	var st provision.JobState
	var started, finished sql.NullInt64
	var counts string
	err := s.r.QueryRowContext(ctx, s.q(`SELECT watermark, cycle, running, started, finished, counts FROM provision_state WHERE job_id = ?`), jobID).
		Scan(&st.Watermark, &st.Cycle, &st.Running, &started, &finished, &counts)
	if errors.Is(err, sql.ErrNoRows) {
		return provision.JobState{}, nil
	} else if err != nil {
		return st, err
	}
	st.Started, st.Finished = optTime(started), optTime(finished)
	if err := json.Unmarshal([]byte(counts), &st.Counts); err != nil {
		return st, err
	}
	return st, nil
}

// PutJobState stores a job's state. Times are kept to the microsecond.
func (s *Store) PutJobState(ctx context.Context, jobID string, st provision.JobState) error {
	counts, err := json.Marshal(st.Counts)
	if err != nil {
		return err
	}
	_, err = s.w.ExecContext(ctx, s.q(`INSERT INTO provision_state (job_id, watermark, cycle, running, started, finished, counts) VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (job_id) DO UPDATE SET watermark = excluded.watermark, cycle = excluded.cycle, running = excluded.running,
			started = excluded.started, finished = excluded.finished, counts = excluded.counts`),
		jobID, st.Watermark, st.Cycle, st.Running, optMicros(st.Started), optMicros(st.Finished), string(counts))
	return err
}

// ResetWatermark clears the watermark and leaves the rest of the state and
// the links.
func (s *Store) ResetWatermark(ctx context.Context, jobID string) error {
	_, err := s.w.ExecContext(ctx, s.q(`UPDATE provision_state SET watermark = '' WHERE job_id = ?`), jobID)
	return err
}

// ---- links ----

const linkColumns = `kind, source_id, target_id, source_hash, exported, state, failures, error, retry_at, cycle`

// The statements that read links and members, with ? placeholders,
// exported for the stores' query-plan tests.
const (
	// LinksSQL is followed by the list of source IDs: (?, ?, …).
	LinksSQL           = `SELECT ` + linkColumns + ` FROM provision_links WHERE job_id = ? AND kind = ? AND source_id IN `
	LinkByTargetSQL    = `SELECT ` + linkColumns + ` FROM provision_links WHERE job_id = ? AND kind = ? AND target_id = ? ORDER BY source_id LIMIT 1`
	UnseenLinksSQL     = `SELECT ` + linkColumns + ` FROM provision_links WHERE job_id = ? AND kind = ? AND source_id > ? AND cycle <> ? ORDER BY source_id LIMIT ?`
	ExportedMembersSQL = `SELECT member_source_id FROM provision_members WHERE job_id = ? AND group_source_id = ? AND member_source_id > ? ORDER BY member_source_id LIMIT ?`
)

func scanLink(row interface{ Scan(...any) error }) (*provision.Link, error) {
	l := &provision.Link{}
	var kind, state string
	var retry sql.NullInt64
	err := row.Scan(&kind, &l.SourceID, &l.TargetID, &l.SourceHash, &l.Exported, &state, &l.Failures, &l.Error, &retry, &l.Cycle)
	l.Kind, l.State, l.RetryAt = provision.Kind(kind), provision.LinkState(state), optTime(retry)
	if len(l.Exported) == 0 {
		l.Exported = nil
	}
	return l, err
}

// Links returns the links of the given source objects that exist, querying
// provisionBatch ids at a time.
func (s *Store) Links(ctx context.Context, jobID string, kind provision.Kind, sourceIDs []string) (map[string]*provision.Link, error) {
	out := make(map[string]*provision.Link, len(sourceIDs))
	for batch := range chunks(sourceIDs, provisionBatch) {
		args := append([]any{jobID, string(kind)}, strArgs(batch)...)
		links, err := queryAll(ctx, s.r, s.q(LinksSQL+`(`+marks(len(batch))+`)`), args, scanLink)
		if err != nil {
			return nil, err
		}
		for _, l := range links {
			out[l.SourceID] = l
		}
	}
	return out, nil
}

// LinkByTarget returns the link of a target object.
func (s *Store) LinkByTarget(ctx context.Context, jobID string, kind provision.Kind, targetID string) (*provision.Link, error) {
	if targetID == "" {
		return nil, roster.Errorf(roster.ENOTFOUND, "no %s linked to an empty target id", kind)
	}
	l, err := scanLink(s.r.QueryRowContext(ctx, s.q(LinkByTargetSQL),
		jobID, string(kind), targetID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, roster.Errorf(roster.ENOTFOUND, "no %s linked to target id %q", kind, targetID)
	} else if err != nil {
		return nil, err
	}
	return l, nil
}

// PutLinks inserts or replaces links in one transaction, provisionBatch
// rows per statement. Of links with the same kind and source ID, the last
// one wins.
func (s *Store) PutLinks(ctx context.Context, jobID string, links []*provision.Link) error {
	type key struct{ kind, id string }
	at := make(map[key]int, len(links))
	uniq := make([]*provision.Link, 0, len(links))
	for i, l := range links {
		if l == nil || l.SourceID == "" || l.Kind == "" {
			return roster.Errorf(roster.EINVALID, "link %d has no kind or source id", i)
		}
		k := key{string(l.Kind), l.SourceID}
		if j, ok := at[k]; ok {
			uniq[j] = l
			continue
		}
		at[k] = len(uniq)
		uniq = append(uniq, l)
	}
	if len(uniq) == 0 {
		return nil
	}
	const row = `(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	return s.writeTx(ctx, func(tx *sql.Tx) error {
		for batch := range chunks(uniq, provisionBatch) {
			args := make([]any, 0, 11*len(batch))
			for _, l := range batch {
				var exported any
				if len(l.Exported) > 0 {
					exported = l.Exported
				}
				args = append(args, jobID, string(l.Kind), l.SourceID, l.TargetID, l.SourceHash, exported, string(l.State),
					l.Failures, plainText(l.Error), optMicros(l.RetryAt), l.Cycle)
			}
			_, err := tx.ExecContext(ctx, s.q(`INSERT INTO provision_links (job_id, `+linkColumns+`) VALUES `+repeat(row, len(batch))+`
				ON CONFLICT (job_id, kind, source_id) DO UPDATE SET target_id = excluded.target_id, source_hash = excluded.source_hash,
					exported = excluded.exported, state = excluded.state, failures = excluded.failures, error = excluded.error,
					retry_at = excluded.retry_at, cycle = excluded.cycle`), args...)
			if err != nil {
				return err
			}
		}
		return nil
	})
}

// DeleteLinks removes links, in one transaction, with the memberships
// recorded for them: those exported to a deleted group, and those of a
// deleted member in any group. The object is gone from the target, and so
// are its memberships there; were the rows kept, an object created again
// under the same source ID would be taken for a member already.
func (s *Store) DeleteLinks(ctx context.Context, jobID string, kind provision.Kind, sourceIDs []string) error {
	if len(sourceIDs) == 0 {
		return nil
	}
	return s.writeTx(ctx, func(tx *sql.Tx) error {
		for batch := range chunks(sourceIDs, provisionBatch) {
			in := marks(len(batch))
			ids := strArgs(batch)
			if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM provision_links WHERE job_id = ? AND kind = ? AND source_id IN (`+in+`)`), append([]any{jobID, string(kind)}, ids...)...); err != nil {
				return err
			}
			if kind == provision.Group {
				if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM provision_members WHERE job_id = ? AND group_source_id IN (`+in+`)`), append([]any{jobID}, ids...)...); err != nil {
					return err
				}
			}
			if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM provision_members WHERE job_id = ? AND member_source_id IN (`+in+`)`), append([]any{jobID}, ids...)...); err != nil {
				return err
			}
		}
		return nil
	})
}

// UnseenLinks calls fn with the links of the kind whose cycle is not cycle,
// in source ID order, provisionPage at a time: each page is one query from
// where the last ended (keyset paging on the primary key), read in full
// before fn is called, so that fn may write to the store, even change or
// delete the links it is given, and no read stays open meanwhile.
func (s *Store) UnseenLinks(ctx context.Context, jobID string, kind provision.Kind, cycle string, fn func(*provision.Link) error) error {
	after := ""
	for {
		page, err := queryAll(ctx, s.r, s.q(UnseenLinksSQL),
			[]any{jobID, string(kind), after, cycle, provisionPage}, scanLink)
		if err != nil {
			return err
		}
		for _, l := range page {
			if err := fn(l); err != nil {
				return err
			}
		}
		if len(page) < provisionPage {
			return nil
		}
		after = page[len(page)-1].SourceID
	}
}

// CountLinks counts a job's links by kind and state.
func (s *Store) CountLinks(ctx context.Context, jobID string) (map[provision.Kind]map[provision.LinkState]int, error) {
	rows, err := s.r.QueryContext(ctx, s.q(`SELECT kind, state, count(*) FROM provision_links WHERE job_id = ? GROUP BY kind, state`), jobID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[provision.Kind]map[provision.LinkState]int{}
	for rows.Next() {
		var kind, state string
		var n int
		if err := rows.Scan(&kind, &state, &n); err != nil {
			return nil, err
		}
		if out[provision.Kind(kind)] == nil {
			out[provision.Kind(kind)] = map[provision.LinkState]int{}
		}
		out[provision.Kind(kind)][provision.LinkState(state)] = n
	}
	return out, rows.Err()
}

// ---- members ----

// ExportedMembers calls fn with a group's exported members, in source ID
// order, a page at a time as UnseenLinks does.
func (s *Store) ExportedMembers(ctx context.Context, jobID, groupSourceID string, fn func(memberSourceID string) error) error {
	after := ""
	for {
		page, err := queryAll(ctx, s.r, s.q(ExportedMembersSQL),
			[]any{jobID, groupSourceID, after, provisionPage}, func(row interface{ Scan(...any) error }) (string, error) {
				var id string
				err := row.Scan(&id)
				return id, err
			})
		if err != nil {
			return err
		}
		for _, id := range page {
			if err := fn(id); err != nil {
				return err
			}
		}
		if len(page) < provisionPage {
			return nil
		}
		after = page[len(page)-1]
	}
}

// MemberOf returns the groups whose exported members include a member,
// through the provision_members_member index.
func (s *Store) MemberOf(ctx context.Context, jobID, memberSourceID string) ([]string, error) {
	return queryAll(ctx, s.r, s.q(`SELECT group_source_id FROM provision_members WHERE job_id = ? AND member_source_id = ? ORDER BY group_source_id`+s.d.ByteOrder),
		[]any{jobID, memberSourceID}, func(row interface{ Scan(...any) error }) (string, error) {
			var id string
			err := row.Scan(&id)
			return id, err
		})
}

// ChangeMembers records members added to and removed from a group's
// export, in one transaction. Additions are applied first, so a member in
// both lists ends up not recorded: the engine then adds it again rather
// than take it for exported when it may not be. Adding a recorded member
// or removing an unrecorded one is not an error.
func (s *Store) ChangeMembers(ctx context.Context, jobID, groupSourceID string, add, remove []string) error {
	if len(add) == 0 && len(remove) == 0 {
		return nil
	}
	if groupSourceID == "" || slices.Contains(add, "") {
		return roster.Errorf(roster.EINVALID, "a membership needs a group and a member source id")
	}
	add = dedupe(add)
	return s.writeTx(ctx, func(tx *sql.Tx) error {
		for batch := range chunks(add, provisionBatch) {
			args := make([]any, 0, 3*len(batch))
			for _, id := range batch {
				args = append(args, jobID, groupSourceID, id)
			}
			if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO provision_members (job_id, group_source_id, member_source_id) VALUES `+
				repeat(`(?, ?, ?)`, len(batch))+` ON CONFLICT (job_id, group_source_id, member_source_id) DO NOTHING`), args...); err != nil {
				return err
			}
		}
		for batch := range chunks(remove, provisionBatch) {
			if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM provision_members WHERE job_id = ? AND group_source_id = ? AND member_source_id IN (`+marks(len(batch))+`)`),
				append([]any{jobID, groupSourceID}, strArgs(batch)...)...); err != nil {
				return err
			}
		}
		return nil
	})
}

// ---- leases ----

// AcquireLease takes or renews the job's lease in one statement: the
// insert takes a free lease, and on conflict the update's condition lets
// only the holder or anyone after expiry in. On PostgreSQL ON CONFLICT
// makes a racing insert wait for the other and then evaluate the condition
// on the row it wrote; on SQLite writers take turns. Either way exactly
// one of two racing holders gets the lease.
func (s *Store) AcquireLease(ctx context.Context, jobID, holder string, ttl time.Duration) (bool, error) {
	if holder == "" || ttl <= 0 {
		return false, roster.Errorf(roster.EINVALID, "a lease needs a holder and a positive duration")
	}
	now := s.now()
	n, err := affected(s.w.ExecContext(ctx, s.q(`INSERT INTO provision_leases (job_id, holder, expires) VALUES (?, ?, ?)
		ON CONFLICT (job_id) DO UPDATE SET holder = excluded.holder, expires = excluded.expires
		WHERE provision_leases.holder = excluded.holder OR provision_leases.expires <= ?`),
		jobID, holder, micros(now.Add(ttl)), micros(now)))
	return n > 0, err
}

// ReleaseLease gives the lease up if holder has it.
func (s *Store) ReleaseLease(ctx context.Context, jobID, holder string) error {
	_, err := s.w.ExecContext(ctx, s.q(`DELETE FROM provision_leases WHERE job_id = ? AND holder = ?`), jobID, holder)
	return err
}

// ---- log ----

// AppendLog stores entries in one transaction with one prepared statement,
// and sets each entry's ID, and its Time when zero (to now).
func (s *Store) AppendLog(ctx context.Context, entries []*provision.LogEntry) error {
	for i, e := range entries {
		if e == nil || e.JobID == "" {
			return roster.Errorf(roster.EINVALID, "provisioning log entry %d has no job", i)
		}
	}
	if len(entries) == 0 {
		return nil
	}
	type row struct {
		steps    string
		modified sql.NullString
	}
	rows := make([]row, len(entries))
	for i, e := range entries {
		steps := e.Steps
		if steps == nil {
			steps = []provision.Step{}
		}
		b, err := json.Marshal(steps)
		if err != nil {
			return err
		}
		rows[i].steps = string(b)
		if e.Modified != nil {
			b, err := json.Marshal(e.Modified)
			if err != nil {
				return roster.Errorf(roster.EINVALID, "provisioning log entry %d: modified attributes: %v", i, err)
			}
			rows[i].modified = sql.NullString{String: string(b), Valid: true}
		}
	}
	now := s.now()
	ids := make([]int64, len(entries))
	times := make([]time.Time, len(entries))
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx, s.q(`INSERT INTO provision_log (job_id, cycle, time, kind, source_id, target_id, action, status, steps, modified, error)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`))
		if err != nil {
			return err
		}
		defer stmt.Close()
		for i, e := range entries {
			times[i] = e.Time
			if times[i].IsZero() {
				times[i] = now
			}
			if err := stmt.QueryRowContext(ctx, e.JobID, e.Cycle, micros(times[i]), string(e.Kind), e.SourceID, e.TargetID, string(e.Action), string(e.Status),
				rows[i].steps, rows[i].modified, plainText(e.Error)).Scan(&ids[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for i, e := range entries {
		e.ID, e.Time = ids[i], fromMicros(micros(times[i]))
	}
	return nil
}

// QueryLog returns a job's entries matching q, newest first.
func (s *Store) QueryLog(ctx context.Context, q provision.LogQuery) ([]*provision.LogEntry, error) {
	query, args, err := s.d.LogSQL(q)
	if err != nil {
		return nil, err
	}
	return queryAll(ctx, s.r, query, args, scanLogEntry)
}

// LogSQL builds the statement of QueryLog. Entries are ordered by id, the
// order they were appended in, which every index of provision_log ends
// with. The status term is a literal so that SQLite may use the partial
// index of failures.
func (d *Dialect) LogSQL(q provision.LogQuery) (string, []any, error) {
	switch {
	case q.JobID == "":
		return "", nil, roster.Errorf(roster.EINVALID, "a provisioning log query needs a job")
	case q.Limit < 0:
		return "", nil, roster.Errorf(roster.EINVALID, "limit must not be negative, got %d", q.Limit)
	case q.Before < 0:
		return "", nil, roster.Errorf(roster.EINVALID, "before must not be negative, got %d", q.Before)
	}
	where := []string{"job_id = ?"}
	args := []any{q.JobID}
	if q.SourceID != "" {
		// Written out per index, so that SQLite searches both the source
		// and the target index (MULTI-INDEX OR) rather than walk the job's
		// entries; PostgreSQL ORs two bitmap index scans either way.
		where = []string{"((job_id = ? AND source_id = ?) OR (job_id = ? AND target_id = ?))"}
		args = []any{q.JobID, q.SourceID, q.JobID, q.SourceID}
	}
	if q.Cycle != "" {
		where, args = append(where, "cycle = ?"), append(args, q.Cycle)
	}
	if q.Failed {
		where = append(where, "status = '"+string(provision.Failure)+"'")
	}
	if q.Before > 0 {
		where, args = append(where, "id < ?"), append(args, q.Before)
	}
	limit := q.Limit
	if limit == 0 {
		limit = DefaultLogLimit
	}
	limit = min(limit, MaxLogLimit)
	query := `SELECT id, job_id, cycle, time, kind, source_id, target_id, action, status, steps, modified, error FROM provision_log WHERE ` +
		strings.Join(where, " AND ") + ` ORDER BY id DESC LIMIT ?`
	return d.Rebind(query), append(args, limit), nil
}

func scanLogEntry(row interface{ Scan(...any) error }) (*provision.LogEntry, error) {
	e := &provision.LogEntry{}
	var t int64
	var kind, action, status, steps string
	var modified sql.NullString
	if err := row.Scan(&e.ID, &e.JobID, &e.Cycle, &t, &kind, &e.SourceID, &e.TargetID, &action, &status, &steps, &modified, &e.Error); err != nil {
		return nil, err
	}
	e.Time, e.Kind, e.Action, e.Status = fromMicros(t), provision.Kind(kind), provision.Action(action), provision.Status(status)
	if err := json.Unmarshal([]byte(steps), &e.Steps); err != nil {
		return nil, err
	}
	if modified.Valid {
		dec := json.NewDecoder(bytes.NewReader([]byte(modified.String)))
		dec.UseNumber() // as sources' attributes are decoded
		if err := dec.Decode(&e.Modified); err != nil {
			return nil, err
		}
	}
	return e, nil
}

// ---- helpers ----

// queryAll runs a query and returns what scan reads from each row, with the
// rows closed.
func queryAll[T any](ctx context.Context, db *sql.DB, query string, args []any, scan func(row interface{ Scan(...any) error }) (T, error)) ([]T, error) {
	rows, err := db.QueryContext(ctx, query, args...)
	return scanAll(rows, err, scan)
}

// optMicros stores a time that may be unset: NULL for the zero time.
func optMicros(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: micros(t), Valid: true}
}

// optTime reads what optMicros stored.
func optTime(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return fromMicros(n.Int64)
}

// plainText makes an error message, which may quote a target's response,
// storable in PostgreSQL's text (no NUL, valid UTF-8), the same way in
// both stores.
func plainText(s string) string {
	return strings.ToValidUTF8(strings.ReplaceAll(s, "\x00", "\uFFFD"), "\uFFFD")
}

// chunks yields s in slices of at most n elements.
func chunks[T any](s []T, n int) func(yield func([]T) bool) {
	return func(yield func([]T) bool) {
		for len(s) > 0 {
			k := min(n, len(s))
			if !yield(s[:k]) {
				return
			}
			s = s[k:]
		}
	}
}

// marks returns n comma-separated placeholders.
func marks(n int) string { return repeat("?", n) }

// repeat returns n copies of item, comma-separated.
func repeat(item string, n int) string {
	return strings.TrimSuffix(strings.Repeat(item+", ", n), ", ")
}

func strArgs(ids []string) []any {
	out := make([]any, len(ids))
	for i, id := range ids {
		out[i] = id
	}
	return out
}

func dedupe(ids []string) []string {
	seen := make(map[string]bool, len(ids))
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}
