package postgres

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/roster-scim/roster"
	"github.com/roster-scim/roster/scim"
)

// columns are the indexed values derived from a document; nil is NULL.
type columns struct {
	nameCI, label string
	displayCI     *string
	externalID    *string
}

func columnsOf(typ string, attrs map[string]any) columns {
	var c columns
	s := func(k string) string { v, _ := attrs[k].(string); return v }
	if typ == scim.UserType {
		c.nameCI = strings.ToLower(s("userName"))
		c.label = s("userName")
		if d := s("displayName"); d != "" {
			ci := strings.ToLower(d)
			c.displayCI = &ci
			c.label = d
		}
	} else {
		c.nameCI = strings.ToLower(s("displayName"))
		c.label = s("displayName")
	}
	if e := s("externalId"); e != "" {
		c.externalID = &e
	}
	return c
}

func uniquenessError(typ string) error {
	if typ == scim.UserType {
		return roster.SCIMErrorf(roster.ScimUniqueness, "userName is already taken in this directory (userName is unique, case-insensitively)")
	}
	return roster.SCIMErrorf(roster.ScimUniqueness, "a group with this displayName already exists in this directory")
}

// badText turns PostgreSQL's refusal of the NUL character, which neither
// text nor JSONB can hold (SQLite can), into a SCIM invalidValue error
// rather than a server error; other errors pass through.
func badText(err error) error {
	var e *pgconn.PgError
	if errors.As(err, &e) && (e.Code == "22P05" || e.Code == "22021") {
		return roster.SCIMErrorf(roster.ScimInvalidValue, "values cannot contain the NUL character (U+0000)")
	}
	return err
}

// retryable reports whether a transaction failed only because another
// transaction got in its way (deadlock or serialization failure), so that
// running it again can succeed.
func retryable(err error) bool {
	var e *pgconn.PgError
	return errors.As(err, &e) && (e.Code == "40P01" || e.Code == "40001")
}

// writeTx runs fn in a read-write transaction, committing when it returns
// nil, and runs it again, a few times, when PostgreSQL aborted it to break
// a deadlock between replicas or transactions that lock the same rows in
// another order (a group update bumping a user being deleted).
func (db *DB) writeTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	var err error
	for range 5 {
		if err = db.inTx(ctx, fn); !retryable(err) {
			return err
		}
	}
	return err
}

// Create inserts a resource and its memberships in one transaction.
func (db *DB) Create(ctx context.Context, dir string, r *scim.Resource, members []string) (*scim.Resource, error) {
	var out *scim.Resource
	err := db.writeTx(ctx, func(tx pgx.Tx) error {
		now := db.now()
		out = &scim.Resource{Type: r.Type, ID: roster.NewID(), Attrs: r.Attrs, Created: now, LastModified: now, Version: 1}
		rid, err := insertResource(ctx, tx, dir, out)
		if err != nil {
			return err
		}
		if r.Type == scim.GroupType {
			if _, err := applyMemberOps(ctx, tx, dir, rid, []scim.MemberOp{{Op: "add", IDs: members}}, now); err != nil {
				return err
			}
			if out.Members, err = loadMembers(ctx, tx, rid); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// insertResource writes a new resource, whose id and times are set, with
// its indexed columns and emails, and returns its rid.
func insertResource(ctx context.Context, tx queryer, dir string, r *scim.Resource) (int64, error) {
	doc, err := json.Marshal(r.Attrs)
	if err != nil {
		return 0, err
	}
	c := columnsOf(r.Type, r.Attrs)
	var rid int64
	err = tx.QueryRow(ctx, `
		INSERT INTO resources (dir_id, type, id, name_ci, display_ci, label, external_id, created, modified, version, doc)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING rid`,
		dir, r.Type, r.ID, c.nameCI, c.displayCI, c.label, c.externalID, micros(r.Created), micros(r.LastModified), r.Version, string(doc)).Scan(&rid)
	var pe *pgconn.PgError
	if isUnique(err) {
		return 0, uniquenessError(r.Type)
	} else if errors.As(err, &pe) && pe.Code == "23503" {
		// The only foreign key is dir_id: DeleteDirectory (through
		// another replica) removed the directory after this request was
		// authenticated.
		return 0, notFound("directory (IdP configuration)", dir)
	} else if err != nil {
		return 0, badText(err)
	}
	if r.Type == scim.UserType {
		if err := writeEmails(ctx, tx, dir, rid, r.Attrs, false); err != nil {
			return 0, err
		}
	}
	return rid, nil
}

// writeEmails mirrors a user's emails into the emails table.
func writeEmails(ctx context.Context, tx queryer, dir string, rid int64, attrs map[string]any, replace bool) error {
	if replace {
		if _, err := tx.Exec(ctx, `DELETE FROM emails WHERE rid = $1`, rid); err != nil {
			return err
		}
	}
	list, _ := attrs["emails"].([]any)
	for _, e := range list {
		m, _ := e.(map[string]any)
		v, _ := m["value"].(string)
		if v == "" {
			continue
		}
		var typ, display *string
		if t, ok := m["type"].(string); ok {
			t = strings.ToLower(t)
			typ = &t
		}
		if d, ok := m["display"].(string); ok {
			display = &d
		}
		primary, _ := m["primary"].(bool)
		if _, err := tx.Exec(ctx, `INSERT INTO emails (rid, dir_id, value_ci, type_ci, display, is_primary) VALUES ($1, $2, $3, $4, $5, $6)`,
			rid, dir, strings.ToLower(v), typ, display, primary); err != nil {
			return badText(err)
		}
	}
	return nil
}

// applyMemberOps applies membership changes in order and reports whether
// any membership row was actually inserted or deleted: adding a member
// twice or removing a non-member changes nothing. Each id costs one
// indexed lookup and one row, whatever the size of the group.
//
// A user who joins or leaves the group gets a new version and lastModified
// (at least now), since its groups attribute changed. Each user is bumped
// once per call; a clear bumps every member in one UPDATE. A group added
// or removed as a member is not bumped: Groups have no groups attribute.
func applyMemberOps(ctx context.Context, tx queryer, dir string, groupRID int64, ops []scim.MemberOp, now time.Time) (bool, error) {
	changed := false
	bumped := map[int64]bool{}
	for _, op := range ops {
		if op.Op == "clear" {
			if err := bumpMembers(ctx, tx, groupRID, now, bumped); err != nil {
				return false, err
			}
			tag, err := tx.Exec(ctx, `DELETE FROM memberships WHERE group_rid = $1`, groupRID)
			if err != nil {
				return false, err
			}
			if tag.RowsAffected() > 0 {
				changed = true
			}
			continue
		}
		ids := op.IDs
		if op.Filter != nil {
			var err error
			if ids, err = filteredMembers(ctx, tx, groupRID, op.Filter); err != nil {
				return false, err
			}
		}
		for _, id := range ids {
			var rid int64
			var typ string
			// FOR KEY SHARE holds the member until commit, as the foreign
			// key check of the insert below would, but earlier: a member
			// being deleted by another transaction (another replica) is
			// waited for and then not found, which is invalidValue, rather
			// than found here and refused by the foreign key (a 500).
			err := tx.QueryRow(ctx, `SELECT rid, type FROM resources WHERE dir_id = $1 AND id = $2 FOR KEY SHARE`, dir, id).Scan(&rid, &typ)
			if isNoRows(err) {
				if op.Op == "remove" {
					continue // removing a non-member is a no-op
				}
				return false, roster.SCIMErrorf(roster.ScimInvalidValue, "member %q does not exist in this directory", id)
			} else if err != nil {
				return false, err
			}
			var tag pgconn.CommandTag
			if op.Op == "remove" {
				tag, err = tx.Exec(ctx, `DELETE FROM memberships WHERE group_rid = $1 AND member_rid = $2`, groupRID, rid)
			} else if rid == groupRID {
				return false, roster.SCIMErrorf(roster.ScimInvalidValue, "a group cannot be a member of itself (%q)", id)
			} else {
				tag, err = tx.Exec(ctx, `INSERT INTO memberships (group_rid, member_rid) VALUES ($1, $2) ON CONFLICT DO NOTHING`, groupRID, rid)
			}
			if err != nil {
				return false, err
			}
			if tag.RowsAffected() == 0 {
				continue
			}
			changed = true
			if typ != scim.UserType || bumped[rid] {
				continue
			}
			bumped[rid] = true
			if _, err := tx.Exec(ctx, `UPDATE resources SET version = version + 1, modified = greatest(modified + 1, $1) WHERE rid = $2`,
				micros(now), rid); err != nil {
				return false, err
			}
		}
	}
	return changed, nil
}

// bumpMembers gives every user that is a member of a group a new version
// and lastModified, in one statement, before the group's memberships are
// all deleted. When bumped is not nil, it records the users, so that
// applyMemberOps does not bump them again.
func bumpMembers(ctx context.Context, tx queryer, groupRID int64, now time.Time, bumped map[int64]bool) error {
	rows, err := tx.Query(ctx, `UPDATE resources SET version = version + 1, modified = greatest(modified + 1, $1)
		WHERE rid IN (SELECT member_rid FROM memberships WHERE group_rid = $2) AND type = $3 RETURNING rid`,
		micros(now), groupRID, scim.UserType)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var rid int64
		if err := rows.Scan(&rid); err != nil {
			return err
		}
		if bumped != nil {
			bumped[rid] = true
		}
	}
	return rows.Err()
}

// filteredMembers returns the ids of the members that a members value
// filter selects. It reads the whole group, which only filters other than
// `value eq` need.
func filteredMembers(ctx context.Context, tx queryer, groupRID int64, f scim.Expr) ([]string, error) {
	ms, err := loadMembers(ctx, tx, groupRID)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, m := range ms {
		if scim.MatchMember(f, m) {
			ids = append(ids, m.Value)
		}
	}
	return ids, nil
}

func loadMembers(ctx context.Context, q queryer, groupRID int64) ([]scim.Member, error) {
	return loadRefs(ctx, q, `SELECT x.id, x.type, x.label FROM memberships m JOIN resources x ON x.rid = m.member_rid
		WHERE m.group_rid = $1 ORDER BY m.member_rid`, groupRID)
}

func loadGroups(ctx context.Context, q queryer, userRID int64) ([]scim.Member, error) {
	return loadRefs(ctx, q, `SELECT g.id, g.type, g.label FROM memberships m JOIN resources g ON g.rid = m.group_rid
		WHERE m.member_rid = $1 ORDER BY m.group_rid`, userRID)
}

func loadRefs(ctx context.Context, q queryer, query string, rid int64) ([]scim.Member, error) {
	rows, err := q.Query(ctx, query, rid)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []scim.Member{}
	for rows.Next() {
		var m scim.Member
		if err := rows.Scan(&m.Value, &m.Type, &m.Display); err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// selectResource reads doc as text, so that it decodes with UseNumber.
const selectResource = `SELECT r.rid, r.type, r.id, r.created, r.modified, r.version, r.doc::text FROM resources r`

func scanResource(row interface{ Scan(...any) error }) (*scim.Resource, int64, error) {
	var r scim.Resource
	var rid, created, modified int64
	var doc string
	if err := row.Scan(&rid, &r.Type, &r.ID, &created, &modified, &r.Version, &doc); err != nil {
		return nil, 0, err
	}
	r.Created, r.LastModified = fromMicros(created), fromMicros(modified)
	dec := json.NewDecoder(strings.NewReader(doc))
	dec.UseNumber()
	if err := dec.Decode(&r.Attrs); err != nil {
		return nil, 0, fmt.Errorf("decode resource %s: %w", r.ID, err)
	}
	return &r, rid, nil
}

// load reads one resource with its members (groups, when asked) or its
// groups (users). forUpdate locks its row until the transaction ends, so
// that writers through any replica take turns on one resource.
func (db *DB) load(ctx context.Context, q queryer, dir, typ, id string, withMembers, forUpdate bool) (*scim.Resource, int64, error) {
	query := selectResource + ` WHERE r.dir_id = $1 AND r.id = $2 AND r.type = $3`
	if forUpdate {
		query += ` FOR UPDATE`
	}
	r, rid, err := scanResource(q.QueryRow(ctx, query, dir, id, typ))
	if isNoRows(err) {
		return nil, 0, roster.Errorf(roster.ENOTFOUND, "%s %q not found", typ, id)
	} else if err != nil {
		return nil, 0, err
	}
	return r, rid, db.loadRelations(ctx, q, r, rid, withMembers)
}

func (db *DB) loadRelations(ctx context.Context, q queryer, r *scim.Resource, rid int64, withMembers bool) (err error) {
	switch {
	case r.Type == scim.GroupType && withMembers:
		r.Members, err = loadMembers(ctx, q, rid)
	case r.Type == scim.UserType:
		r.Groups, err = loadGroups(ctx, q, rid)
	}
	return err
}

// Get returns one resource, read in one snapshot with its relations.
func (db *DB) Get(ctx context.Context, dir, typ, id string, withMembers bool) (*scim.Resource, error) {
	tx, err := db.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, err
	}
	defer tx.Rollback(ctx)
	r, _, err := db.load(ctx, tx, dir, typ, id, withMembers, false)
	return r, err
}

// Update applies fn to the current resource inside one write transaction,
// with the resource's row locked. An update that changes nothing, neither
// the document nor a membership row, writes nothing and returns the
// resource as it is, with its version and lastModified.
func (db *DB) Update(ctx context.Context, dir, typ, id string, ifMatch int64, withMembers bool, fn scim.UpdateFunc) (*scim.Resource, error) {
	var out *scim.Resource
	err := db.writeTx(ctx, func(tx pgx.Tx) error {
		var err error
		out, err = db.update(ctx, tx, dir, typ, id, ifMatch, withMembers, fn)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (db *DB) update(ctx context.Context, tx pgx.Tx, dir, typ, id string, ifMatch int64, withMembers bool, fn scim.UpdateFunc) (*scim.Resource, error) {
	cur, rid, err := db.load(ctx, tx, dir, typ, id, false, true)
	if err != nil {
		return nil, err
	}
	if ifMatch != 0 && ifMatch != cur.Version {
		return nil, roster.Errorf(roster.EPRECONDITION, "%s %q has changed (version %d, If-Match asked for %d); read it again", typ, id, cur.Version, ifMatch)
	}
	// The old document is encoded before fn runs, since fn may change cur
	// in place.
	oldDoc, err := json.Marshal(cur.Attrs)
	if err != nil {
		return nil, err
	}
	oldEmails, _ := json.Marshal(cur.Attrs["emails"])
	attrs, ops, err := fn(cur)
	if err != nil {
		return nil, err
	}
	doc, err := json.Marshal(attrs)
	if err != nil {
		return nil, err
	}
	now := db.now()
	if !now.After(cur.LastModified) {
		// Keep lastModified strictly increasing so incremental readers
		// using `meta.lastModified gt` never miss a change.
		now = cur.LastModified.Add(1000)
	}
	// Memberships first: whether a row changed decides whether there is
	// anything to write.
	membersChanged, err := applyMemberOps(ctx, tx, dir, rid, ops, now)
	if err != nil {
		return nil, err
	}
	if !membersChanged && bytes.Equal(doc, oldDoc) {
		out := &scim.Resource{Type: typ, ID: id, Attrs: attrs, Created: cur.Created, LastModified: cur.LastModified, Version: cur.Version}
		return out, db.loadRelations(ctx, tx, out, rid, withMembers)
	}
	c := columnsOf(typ, attrs)
	_, err = tx.Exec(ctx, `UPDATE resources SET name_ci = $1, display_ci = $2, label = $3, external_id = $4, modified = $5, version = version + 1, doc = $6 WHERE rid = $7`,
		c.nameCI, c.displayCI, c.label, c.externalID, micros(now), string(doc), rid)
	if isUnique(err) {
		return nil, uniquenessError(typ)
	} else if err != nil {
		return nil, badText(err)
	}
	// Most PATCHes leave the emails alone; rewriting their rows would
	// touch more indexes for nothing.
	if newEmails, _ := json.Marshal(attrs["emails"]); typ == scim.UserType && !bytes.Equal(oldEmails, newEmails) {
		if err := writeEmails(ctx, tx, dir, rid, attrs, true); err != nil {
			return nil, err
		}
	}
	out := &scim.Resource{Type: typ, ID: id, Attrs: attrs, Created: cur.Created, LastModified: now, Version: cur.Version + 1}
	if err := db.loadRelations(ctx, tx, out, rid, withMembers); err != nil {
		return nil, err
	}
	return out, nil
}

// Delete removes a resource; the foreign keys cascade to its emails and
// memberships. Groups that lose the member get a new version, since their
// membership changed, and so do the users of a deleted group, since their
// groups changed.
func (db *DB) Delete(ctx context.Context, dir, typ, id string, ifMatch int64) error {
	return db.writeTx(ctx, func(tx pgx.Tx) error {
		// The groups holding the resource are locked before it, in rid
		// order: group writes lock a group and then its members, so a
		// delete taking them the other way round deadlocked with them
		// (across replicas too) often enough to exhaust writeTx's retries.
		if _, err := tx.Exec(ctx, `SELECT 1 FROM resources WHERE rid IN (SELECT m.group_rid FROM memberships m JOIN resources r ON r.rid = m.member_rid
			WHERE r.dir_id = $1 AND r.id = $2 AND r.type = $3) ORDER BY rid FOR UPDATE`, dir, id, typ); err != nil {
			return err
		}
		var rid, version int64
		err := tx.QueryRow(ctx, `SELECT rid, version FROM resources WHERE dir_id = $1 AND id = $2 AND type = $3 FOR UPDATE`, dir, id, typ).Scan(&rid, &version)
		if isNoRows(err) {
			return roster.Errorf(roster.ENOTFOUND, "%s %q not found", typ, id)
		} else if err != nil {
			return err
		}
		if ifMatch != 0 && ifMatch != version {
			return roster.Errorf(roster.EPRECONDITION, "%s %q has changed (version %d, If-Match asked for %d); read it again", typ, id, version, ifMatch)
		}
		now := db.now()
		if _, err := tx.Exec(ctx, `UPDATE resources SET version = version + 1, modified = greatest(modified + 1, $1)
			WHERE rid IN (SELECT group_rid FROM memberships WHERE member_rid = $2)`, micros(now), rid); err != nil {
			return err
		}
		if typ == scim.GroupType {
			if err := bumpMembers(ctx, tx, rid, now, nil); err != nil {
				return err
			}
		}
		_, err = tx.Exec(ctx, `DELETE FROM resources WHERE rid = $1`, rid)
		return err
	})
}

// List runs a filter in the database and returns one page.
func (db *DB) List(ctx context.Context, dir, typ string, q scim.ListQuery) (*scim.ListResult, error) {
	lq, err := db.listSQL(dir, typ, q)
	if err != nil {
		return nil, err
	}
	// Page and count in one read-only transaction, so both see one
	// snapshot.
	tx, err := db.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, err
	}
	defer tx.Rollback(ctx)
	res := &scim.ListResult{Resources: []*scim.Resource{}}
	var rids []int64
	if q.Count > 0 {
		if res.Resources, rids, err = readPage(ctx, tx, lq); err != nil {
			return nil, err
		}
	}
	// A page that is short but not empty, or an empty first page, gives
	// the total without counting.
	start, n := max(q.StartIndex, 1), len(res.Resources)
	if q.Count > 0 && n < q.Count && (n > 0 || start == 1) {
		res.Total = start - 1 + n
	} else if err := tx.QueryRow(ctx, lq.count, lq.countArgs...).Scan(&res.Total); err != nil {
		return nil, err
	}
	for i, r := range res.Resources {
		if err := db.loadRelations(ctx, tx, r, rids[i], q.WithMembers); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// readPage runs the page query of a list and returns its resources with
// their rids, never nil.
func readPage(ctx context.Context, tx pgx.Tx, lq listQuery) ([]*scim.Resource, []int64, error) {
	rows, err := tx.Query(ctx, lq.page, lq.pageArgs...)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	out, rids := []*scim.Resource{}, []int64{}
	for rows.Next() {
		r, rid, err := scanResource(rows)
		if err != nil {
			return nil, nil, err
		}
		out = append(out, r)
		rids = append(rids, rid)
	}
	return out, rids, rows.Err()
}

// listQuery holds the two statements of one List call with their
// arguments: the total count and one page.
type listQuery struct {
	count     string
	countArgs []any
	page      string
	pageArgs  []any
}

// listSQL builds the statements List runs. It is separate from List so that
// a query-plan test can check the exact SQL the store executes. The count
// statement's arguments are a prefix of the page statement's: one compiler
// numbers the placeholders of both.
func (db *DB) listSQL(dir, typ string, q scim.ListQuery) (listQuery, error) {
	rt := db.reg.ResourceType(typ)
	if rt == nil {
		return listQuery{}, fmt.Errorf("list: unknown resource type %q", typ)
	}
	c := &compiler{rt: rt, dir: dir}
	base := ` WHERE r.dir_id = ` + c.arg(dir) + ` AND r.type = ` + c.arg(typ)
	if q.Filter != nil {
		where, err := c.expr(q.Filter)
		if err != nil {
			return listQuery{}, err
		}
		base += ` AND ` + where
	}
	countArgs := append([]any(nil), c.args...)
	order := c.orderBy(q)
	start := max(q.StartIndex, 1)
	limit := c.arg(q.Count)
	offset := c.arg(start - 1)
	return listQuery{
		count:     `SELECT count(*) FROM resources r` + base,
		countArgs: countArgs,
		page:      selectResource + base + ` ORDER BY ` + order + ` LIMIT ` + limit + ` OFFSET ` + offset,
		pageArgs:  c.args,
	}, nil
}
