package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/roster-scim/roster"
	"github.com/roster-scim/roster/scim"
)

// queryer is what both *sql.DB and *sql.Tx offer, so that reads can run
// inside a write transaction or on the reader pool.
type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// columns are the indexed values derived from a document.
type columns struct {
	nameCI, label string
	displayCI     sql.NullString
	externalID    sql.NullString
}

func columnsOf(typ string, attrs map[string]any) columns {
	var c columns
	s := func(k string) string { v, _ := attrs[k].(string); return v }
	if typ == scim.UserType {
		c.nameCI = strings.ToLower(s("userName"))
		c.label = s("userName")
		if d := s("displayName"); d != "" {
			c.displayCI = sql.NullString{String: strings.ToLower(d), Valid: true}
			c.label = d
		}
	} else {
		c.nameCI = strings.ToLower(s("displayName"))
		c.label = s("displayName")
	}
	if e := s("externalId"); e != "" {
		c.externalID = sql.NullString{String: e, Valid: true}
	}
	return c
}

func uniquenessError(typ string) error {
	if typ == scim.UserType {
		return roster.SCIMErrorf(roster.ScimUniqueness, "userName is already taken in this directory (userName is unique, case-insensitively)")
	}
	return roster.SCIMErrorf(roster.ScimUniqueness, "a group with this displayName already exists in this directory")
}

// Create inserts a resource and its memberships in one transaction.
func (db *DB) Create(ctx context.Context, dir string, r *scim.Resource, members []string) (*scim.Resource, error) {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	now := db.now()
	out := &scim.Resource{Type: r.Type, ID: roster.NewID(), Attrs: r.Attrs, Created: now, LastModified: now, Version: 1}
	rid, err := insertResource(ctx, tx, dir, out)
	if err != nil {
		return nil, err
	}
	if r.Type == scim.GroupType {
		if _, err := applyMemberOps(ctx, tx, dir, rid, []scim.MemberOp{{Op: "add", IDs: members}}, now); err != nil {
			return nil, err
		}
		if out.Members, err = loadMembers(ctx, tx, rid); err != nil {
			return nil, err
		}
	}
	return out, tx.Commit()
}

// insertResource writes a new resource, whose id and times are set, with
// its indexed columns and emails, and returns its rid. Create uses it; so
// do the benchmarks, to seed large directories in one transaction.
func insertResource(ctx context.Context, tx queryer, dir string, r *scim.Resource) (int64, error) {
	doc, err := json.Marshal(r.Attrs)
	if err != nil {
		return 0, err
	}
	c := columnsOf(r.Type, r.Attrs)
	var rid int64
	err = tx.QueryRowContext(ctx, `
		INSERT INTO resources (dir_id, type, id, name_ci, display_ci, label, external_id, created, modified, version, doc)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING rid`,
		dir, r.Type, r.ID, c.nameCI, c.displayCI, c.label, c.externalID, micros(r.Created), micros(r.LastModified), r.Version, doc).Scan(&rid)
	if isUnique(err) {
		return 0, uniquenessError(r.Type)
	} else if err != nil {
		return 0, err
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
		if _, err := tx.ExecContext(ctx, `DELETE FROM emails WHERE rid = ?`, rid); err != nil {
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
		var typ, display sql.NullString
		if t, ok := m["type"].(string); ok {
			typ = sql.NullString{String: strings.ToLower(t), Valid: true}
		}
		if d, ok := m["display"].(string); ok {
			display = sql.NullString{String: d, Valid: true}
		}
		primary, _ := m["primary"].(bool)
		if _, err := tx.ExecContext(ctx, `INSERT INTO emails (rid, dir_id, value_ci, type_ci, display, is_primary) VALUES (?, ?, ?, ?, ?, ?)`,
			rid, dir, strings.ToLower(v), typ, display, primary); err != nil {
			return err
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
// (at least now), since its groups attribute changed: its ETag must not go
// stale, and an IdP polling `meta.lastModified gt` must see the change.
// That is one more UPDATE by rid per changed user, so adding k members
// stays O(k); a clear bumps every member in one UPDATE. Each user is
// bumped once per call, so a replace (clear, then add) that re-adds a
// member costs no second UPDATE. A group added or removed as a member is
// not bumped: Groups have no groups attribute, so nothing of it changed.
func applyMemberOps(ctx context.Context, tx queryer, dir string, groupRID int64, ops []scim.MemberOp, now time.Time) (bool, error) {
	changed := false
	bumped := map[int64]bool{}
	for _, op := range ops {
		if op.Op == "clear" {
			if err := bumpMembers(ctx, tx, groupRID, now, bumped); err != nil {
				return false, err
			}
			res, err := tx.ExecContext(ctx, `DELETE FROM memberships WHERE group_rid = ?`, groupRID)
			if err != nil {
				return false, err
			}
			if n, err := res.RowsAffected(); err != nil {
				return false, err
			} else if n > 0 {
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
			err := tx.QueryRowContext(ctx, `SELECT rid, type FROM resources WHERE dir_id = ? AND id = ?`, dir, id).Scan(&rid, &typ)
			if errors.Is(err, sql.ErrNoRows) {
				if op.Op == "remove" {
					continue // removing a non-member is a no-op
				}
				return false, roster.SCIMErrorf(roster.ScimInvalidValue, "member %q does not exist in this directory", id)
			} else if err != nil {
				return false, err
			}
			var res sql.Result
			if op.Op == "remove" {
				res, err = tx.ExecContext(ctx, `DELETE FROM memberships WHERE group_rid = ? AND member_rid = ?`, groupRID, rid)
			} else if rid == groupRID {
				return false, roster.SCIMErrorf(roster.ScimInvalidValue, "a group cannot be a member of itself (%q)", id)
			} else {
				res, err = tx.ExecContext(ctx, `INSERT OR IGNORE INTO memberships (group_rid, member_rid) VALUES (?, ?)`, groupRID, rid)
			}
			if err != nil {
				return false, err
			}
			if n, err := res.RowsAffected(); err != nil {
				return false, err
			} else if n == 0 {
				continue
			}
			changed = true
			if typ != scim.UserType || bumped[rid] {
				continue
			}
			bumped[rid] = true
			if _, err := tx.ExecContext(ctx, `UPDATE resources SET version = version + 1, modified = max(modified + 1, ?) WHERE rid = ?`,
				micros(now), rid); err != nil {
				return false, err
			}
		}
	}
	return changed, nil
}

// bumpMembers gives every user that is a member of a group a new version
// and lastModified, in one statement, before the group's memberships are
// all deleted; a clear or the group's deletion changes their groups. When
// bumped is not nil, it records the users, so that applyMemberOps does not
// bump them again.
func bumpMembers(ctx context.Context, tx queryer, groupRID int64, now time.Time, bumped map[int64]bool) error {
	rows, err := tx.QueryContext(ctx, `UPDATE resources SET version = version + 1, modified = max(modified + 1, ?)
		WHERE rid IN (SELECT member_rid FROM memberships WHERE group_rid = ?) AND type = ? RETURNING rid`,
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
		WHERE m.group_rid = ? ORDER BY m.member_rid`, groupRID)
}

func loadGroups(ctx context.Context, q queryer, userRID int64) ([]scim.Member, error) {
	return loadRefs(ctx, q, `SELECT g.id, g.type, g.label FROM memberships m JOIN resources g ON g.rid = m.group_rid
		WHERE m.member_rid = ? ORDER BY m.group_rid`, userRID)
}

func loadRefs(ctx context.Context, q queryer, query string, rid int64) ([]scim.Member, error) {
	rows, err := q.QueryContext(ctx, query, rid)
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

const selectResource = `SELECT r.rid, r.type, r.id, r.created, r.modified, r.version, r.doc FROM resources r`

func scanResource(row interface{ Scan(...any) error }) (*scim.Resource, int64, error) {
	var r scim.Resource
	var rid, created, modified int64
	var doc []byte
	if err := row.Scan(&rid, &r.Type, &r.ID, &created, &modified, &r.Version, &doc); err != nil {
		return nil, 0, err
	}
	r.Created, r.LastModified = fromMicros(created), fromMicros(modified)
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	if err := dec.Decode(&r.Attrs); err != nil {
		return nil, 0, fmt.Errorf("decode resource %s: %w", r.ID, err)
	}
	return &r, rid, nil
}

// load reads one resource with its members (groups, when asked) or its
// groups (users).
func (db *DB) load(ctx context.Context, q queryer, dir, typ, id string, withMembers bool) (*scim.Resource, int64, error) {
	r, rid, err := scanResource(q.QueryRowContext(ctx, selectResource+` WHERE r.dir_id = ? AND r.id = ? AND r.type = ?`, dir, id, typ))
	if errors.Is(err, sql.ErrNoRows) {
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

// Get returns one resource.
func (db *DB) Get(ctx context.Context, dir, typ, id string, withMembers bool) (*scim.Resource, error) {
	r, _, err := db.load(ctx, db.read, dir, typ, id, withMembers)
	return r, err
}

// Update applies fn to the current resource inside one write transaction.
// An update that changes nothing, neither the document nor a membership
// row (replacing active with its value, adding an existing member, removing
// a non-member), writes nothing and returns the resource as it is, with its
// version and lastModified: the ETag a client holds stays valid, and IdPs
// polling `meta.lastModified gt` see no change that is not one.
func (db *DB) Update(ctx context.Context, dir, typ, id string, ifMatch int64, withMembers bool, fn scim.UpdateFunc) (*scim.Resource, error) {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	cur, rid, err := db.load(ctx, tx, dir, typ, id, false)
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
	_, err = tx.ExecContext(ctx, `UPDATE resources SET name_ci = ?, display_ci = ?, label = ?, external_id = ?, modified = ?, version = version + 1, doc = ? WHERE rid = ?`,
		c.nameCI, c.displayCI, c.label, c.externalID, micros(now), doc, rid)
	if isUnique(err) {
		return nil, uniquenessError(typ)
	} else if err != nil {
		return nil, err
	}
	// Most PATCHes leave the emails alone; rewriting their rows would
	// touch three more indexes for nothing.
	if newEmails, _ := json.Marshal(attrs["emails"]); typ == scim.UserType && !bytes.Equal(oldEmails, newEmails) {
		if err := writeEmails(ctx, tx, dir, rid, attrs, true); err != nil {
			return nil, err
		}
	}
	out := &scim.Resource{Type: typ, ID: id, Attrs: attrs, Created: cur.Created, LastModified: now, Version: cur.Version + 1}
	if err := db.loadRelations(ctx, tx, out, rid, withMembers); err != nil {
		return nil, err
	}
	return out, tx.Commit()
}

// Delete removes a resource; the foreign keys cascade to its emails and
// memberships. Groups that lose the member get a new version, since their
// membership changed, and so do the users of a deleted group, since their
// groups changed.
func (db *DB) Delete(ctx context.Context, dir, typ, id string, ifMatch int64) error {
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var rid, version, modified int64
	err = tx.QueryRowContext(ctx, `SELECT rid, version, modified FROM resources WHERE dir_id = ? AND id = ? AND type = ?`, dir, id, typ).Scan(&rid, &version, &modified)
	if errors.Is(err, sql.ErrNoRows) {
		return roster.Errorf(roster.ENOTFOUND, "%s %q not found", typ, id)
	} else if err != nil {
		return err
	}
	if ifMatch != 0 && ifMatch != version {
		return roster.Errorf(roster.EPRECONDITION, "%s %q has changed (version %d, If-Match asked for %d); read it again", typ, id, version, ifMatch)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE resources SET version = version + 1, modified = max(modified + 1, ?)
		WHERE rid IN (SELECT group_rid FROM memberships WHERE member_rid = ?)`, micros(db.now()), rid); err != nil {
		return err
	}
	if typ == scim.GroupType {
		if err := bumpMembers(ctx, tx, rid, db.now(), nil); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM resources WHERE rid = ?`, rid); err != nil {
		return err
	}
	return tx.Commit()
}

// List runs a filter in the database and returns one page.
func (db *DB) List(ctx context.Context, dir, typ string, q scim.ListQuery) (*scim.ListResult, error) {
	lq, err := db.listSQL(dir, typ, q)
	if err != nil {
		return nil, err
	}
	// Page and count in one read transaction, so both see one snapshot.
	tx, err := db.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	res := &scim.ListResult{Resources: []*scim.Resource{}}
	var rids []int64
	if q.Count > 0 {
		if res.Resources, rids, err = readPage(ctx, tx, lq); err != nil {
			return nil, err
		}
	}
	// A page that is short but not empty, or an empty first page, gives
	// the total without counting, so the matching queries IdPs send on
	// every cycle (userName eq "…": one result or none) run one statement.
	start, n := max(q.StartIndex, 1), len(res.Resources)
	if q.Count > 0 && n < q.Count && (n > 0 || start == 1) {
		res.Total = start - 1 + n
	} else if err := tx.QueryRowContext(ctx, lq.count, lq.countArgs...).Scan(&res.Total); err != nil {
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
func readPage(ctx context.Context, tx *sql.Tx, lq listQuery) ([]*scim.Resource, []int64, error) {
	rows, err := tx.QueryContext(ctx, lq.page, lq.pageArgs...)
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
// the query-plan test checks the exact SQL the store executes.
func (db *DB) listSQL(dir, typ string, q scim.ListQuery) (listQuery, error) {
	rt := db.reg.ResourceType(typ)
	if rt == nil {
		return listQuery{}, fmt.Errorf("list: unknown resource type %q", typ)
	}
	l, err := dialect.ListSQL(rt, dir, q, selectResource)
	return listQuery{count: l.Count, countArgs: l.CountArgs, page: l.Page, pageArgs: l.PageArgs}, err
}
