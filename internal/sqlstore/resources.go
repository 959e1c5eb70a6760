package sqlstore

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/roster-scim/roster"
	"github.com/roster-scim/roster/scim"
)

var _ scim.Store = (*Store)(nil)

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

// storeError turns a failed resource write into the SCIM error a client
// can act on: a uniqueness conflict or a value the database cannot store.
func (d *Dialect) storeError(typ string, err error) error {
	switch {
	case err == nil:
		return nil
	case d.IsUnique(err) && typ == scim.UserType:
		return roster.SCIMErrorf(roster.ScimUniqueness, "userName is already taken in this directory (userName is unique, case-insensitively)")
	case d.IsUnique(err):
		return roster.SCIMErrorf(roster.ScimUniqueness, "a group with this displayName already exists in this directory")
	}
	return d.badValue(err)
}

// badValue passes err through the dialect's BadValue.
func (d *Dialect) badValue(err error) error {
	if d.BadValue == nil {
		return err
	}
	return d.BadValue(err)
}

// Create inserts a resource and its memberships in one transaction.
func (s *Store) Create(ctx context.Context, dir string, r *scim.Resource, members []string) (*scim.Resource, error) {
	var out *scim.Resource
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		now := s.now()
		out = &scim.Resource{Type: r.Type, ID: roster.NewID(), Attrs: r.Attrs, Created: now, LastModified: now, Version: 1}
		rid, err := InsertResource(ctx, s.d, tx, dir, out)
		if err != nil || r.Type != scim.GroupType {
			return err
		}
		if _, err := s.d.applyMemberOps(ctx, tx, dir, rid, []scim.MemberOp{{Op: "add", IDs: members}}, now); err != nil {
			return err
		}
		out.Members, err = s.d.loadMembers(ctx, tx, rid)
		return err
	})
	if err != nil {
		return nil, err
	}
	s.noteCreated()
	return out, nil
}

// InsertResource writes a new resource, whose id and times are set, with
// its indexed columns and emails, and returns its rid. Create uses it; so
// do the benchmarks, to seed large directories in one transaction.
func InsertResource(ctx context.Context, d *Dialect, tx *sql.Tx, dir string, r *scim.Resource) (int64, error) {
	doc, err := json.Marshal(r.Attrs)
	if err != nil {
		return 0, err
	}
	c := columnsOf(r.Type, r.Attrs)
	var rid int64
	err = tx.QueryRowContext(ctx, d.Rebind(`
		INSERT INTO resources (dir_id, type, id, name_ci, display_ci, label, external_id, created, modified, version, doc)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING rid`),
		dir, r.Type, r.ID, c.nameCI, c.displayCI, c.label, c.externalID, micros(r.Created), micros(r.LastModified), r.Version, d.Doc(doc)).Scan(&rid)
	if d.IsForeignKey(err) {
		// The only foreign key is dir_id: the directory was deleted
		// (perhaps through another replica) after this request was
		// authenticated.
		return 0, notFound("directory (IdP configuration)", dir)
	} else if err != nil {
		return 0, d.storeError(r.Type, err)
	}
	if r.Type == scim.UserType {
		if err := d.writeEmails(ctx, tx, dir, rid, r.Attrs, false); err != nil {
			return 0, err
		}
	}
	return rid, nil
}

// writeEmails mirrors a user's emails into the emails table.
func (d *Dialect) writeEmails(ctx context.Context, tx *sql.Tx, dir string, rid int64, attrs map[string]any, replace bool) error {
	if replace {
		if _, err := tx.ExecContext(ctx, d.Rebind(`DELETE FROM emails WHERE rid = ?`), rid); err != nil {
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
		if _, err := tx.ExecContext(ctx, d.Rebind(`INSERT INTO emails (rid, dir_id, value_ci, type_ci, display, is_primary) VALUES (?, ?, ?, ?, ?, ?)`),
			rid, dir, strings.ToLower(v), typ, display, primary); err != nil {
			return d.badValue(err)
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
func (d *Dialect) applyMemberOps(ctx context.Context, tx *sql.Tx, dir string, groupRID int64, ops []scim.MemberOp, now time.Time) (bool, error) {
	changed := false
	bumped := map[int64]bool{}
	for _, op := range ops {
		if op.Op == "clear" {
			if err := d.bumpMembers(ctx, tx, groupRID, now, bumped); err != nil {
				return false, err
			}
			n, err := affected(tx.ExecContext(ctx, d.Rebind(`DELETE FROM memberships WHERE group_rid = ?`), groupRID))
			if err != nil {
				return false, err
			}
			changed = changed || n > 0
			continue
		}
		ids := op.IDs
		if op.Filter != nil {
			var err error
			if ids, err = d.filteredMembers(ctx, tx, groupRID, op.Filter); err != nil {
				return false, err
			}
		}
		for _, id := range ids {
			var rid int64
			var typ string
			// KeyShare holds the member until commit: one being deleted
			// by another transaction (another replica) is waited for and
			// then not found, which is invalidValue, rather than found
			// here and refused by the foreign key of the insert below.
			err := tx.QueryRowContext(ctx, d.Rebind(`SELECT rid, type FROM resources WHERE dir_id = ? AND id = ?`+d.KeyShare), dir, id).Scan(&rid, &typ)
			if errors.Is(err, sql.ErrNoRows) {
				if op.Op == "remove" {
					continue // removing a non-member is a no-op
				}
				return false, roster.SCIMErrorf(roster.ScimInvalidValue, "member %q does not exist in this directory", id)
			} else if err != nil {
				return false, err
			}
			var n int64
			if op.Op == "remove" {
				n, err = affected(tx.ExecContext(ctx, d.Rebind(`DELETE FROM memberships WHERE group_rid = ? AND member_rid = ?`), groupRID, rid))
			} else if rid == groupRID {
				return false, roster.SCIMErrorf(roster.ScimInvalidValue, "a group cannot be a member of itself (%q)", id)
			} else {
				n, err = affected(tx.ExecContext(ctx, d.Rebind(`INSERT INTO memberships (group_rid, member_rid) VALUES (?, ?) ON CONFLICT DO NOTHING`), groupRID, rid))
			}
			if err != nil {
				return false, err
			} else if n == 0 {
				continue
			}
			changed = true
			if typ != scim.UserType || bumped[rid] {
				continue
			}
			bumped[rid] = true
			if _, err := tx.ExecContext(ctx, d.Rebind(`UPDATE resources SET version = version + 1, modified = `+d.Greatest+`(modified + 1, ?) WHERE rid = ?`),
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
func (d *Dialect) bumpMembers(ctx context.Context, tx *sql.Tx, groupRID int64, now time.Time, bumped map[int64]bool) error {
	rows, err := tx.QueryContext(ctx, d.Rebind(`UPDATE resources SET version = version + 1, modified = `+d.Greatest+`(modified + 1, ?)
		WHERE rid IN (SELECT member_rid FROM memberships WHERE group_rid = ?) AND type = ? RETURNING rid`),
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
func (d *Dialect) filteredMembers(ctx context.Context, tx *sql.Tx, groupRID int64, f scim.Expr) ([]string, error) {
	ms, err := d.loadMembers(ctx, tx, groupRID)
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

// The members of a group and the groups of a user, by rid.
const (
	membersQuery = `SELECT x.id, x.type, x.label FROM memberships m JOIN resources x ON x.rid = m.member_rid
		WHERE m.group_rid = ? ORDER BY m.member_rid`
	groupsQuery = `SELECT g.id, g.type, g.label FROM memberships m JOIN resources g ON g.rid = m.group_rid
		WHERE m.member_rid = ? ORDER BY m.group_rid`
)

func (d *Dialect) loadMembers(ctx context.Context, tx *sql.Tx, groupRID int64) ([]scim.Member, error) {
	return d.loadRefs(ctx, tx, membersQuery, groupRID)
}

func (d *Dialect) loadGroups(ctx context.Context, tx *sql.Tx, userRID int64) ([]scim.Member, error) {
	return d.loadRefs(ctx, tx, groupsQuery, userRID)
}

func (d *Dialect) loadRefs(ctx context.Context, tx *sql.Tx, query string, rid int64) ([]scim.Member, error) {
	rows, err := tx.QueryContext(ctx, d.Rebind(query), rid)
	return scanAll(rows, err, func(row interface{ Scan(...any) error }) (m scim.Member, err error) {
		return m, row.Scan(&m.Value, &m.Type, &m.Display)
	})
}

// selectResource reads resources r; the document as text, so that it
// decodes alike (decodeDoc) whatever the column's type.
const selectResource = `SELECT r.rid, r.type, r.id, r.created, r.modified, r.version, CAST(r.doc AS TEXT) FROM resources r`

// selectResourceWith is selectResource with more columns after the
// document.
func selectResourceWith(cols string) string {
	return strings.Replace(selectResource, " FROM ", cols+" FROM ", 1)
}

// scanResource reads one row of selectResource; extra receives the columns
// that follow the document (selectResourceWith).
func scanResource(row interface{ Scan(...any) error }, extra ...any) (*scim.Resource, int64, error) {
	var r scim.Resource
	var rid, created, modified int64
	var doc []byte
	if err := row.Scan(append([]any{&rid, &r.Type, &r.ID, &created, &modified, &r.Version, &doc}, extra...)...); err != nil {
		return nil, 0, err
	}
	r.Created, r.LastModified = fromMicros(created), fromMicros(modified)
	var err error
	if r.Attrs, err = decodeDoc(doc); err != nil {
		return nil, 0, fmt.Errorf("decode resource %s: %w", r.ID, err)
	}
	return &r, rid, nil
}

// load reads one resource with its members (groups, when asked) or its
// groups (users). forUpdate locks its row until the transaction ends
// (Dialect.ForUpdate), so that writers through any replica take turns on
// one resource.
func (d *Dialect) load(ctx context.Context, tx *sql.Tx, dir, typ, id string, withMembers, forUpdate bool) (*scim.Resource, int64, error) {
	query := selectResource + ` WHERE r.dir_id = ? AND r.id = ? AND r.type = ?`
	if forUpdate {
		query += d.ForUpdate
	}
	r, rid, err := scanResource(tx.QueryRowContext(ctx, d.Rebind(query), dir, id, typ))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, 0, roster.Errorf(roster.ENOTFOUND, "%s %q not found", typ, id)
	} else if err != nil {
		return nil, 0, err
	}
	return r, rid, d.loadRelations(ctx, tx, r, rid, withMembers)
}

func (d *Dialect) loadRelations(ctx context.Context, tx *sql.Tx, r *scim.Resource, rid int64, withMembers bool) (err error) {
	switch {
	case r.Type == scim.GroupType && withMembers:
		r.Members, err = d.loadMembers(ctx, tx, rid)
	case r.Type == scim.UserType:
		r.Groups, err = d.loadGroups(ctx, tx, rid)
	}
	return err
}

// Get returns one resource, read in one snapshot with its relations.
func (s *Store) Get(ctx context.Context, dir, typ, id string, withMembers bool) (r *scim.Resource, err error) {
	err = s.readTx(ctx, func(tx *sql.Tx) error {
		r, _, err = s.d.load(ctx, tx, dir, typ, id, withMembers, false)
		return err
	})
	return r, err
}

// Update applies fn to the current resource inside one write transaction,
// with the resource's row locked where the database locks rows. An update
// that changes nothing, neither the document nor a membership row
// (replacing active with its value, adding an existing member, removing a
// non-member), writes nothing and returns the resource as it is, with its
// version and lastModified: the ETag a client holds stays valid, and IdPs
// polling `meta.lastModified gt` see no change that is not one.
func (s *Store) Update(ctx context.Context, dir, typ, id string, ifMatch int64, withMembers bool, fn scim.UpdateFunc) (*scim.Resource, error) {
	var out *scim.Resource
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = s.update(ctx, tx, dir, typ, id, ifMatch, withMembers, fn)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (s *Store) update(ctx context.Context, tx *sql.Tx, dir, typ, id string, ifMatch int64, withMembers bool, fn scim.UpdateFunc) (*scim.Resource, error) {
	d := s.d
	cur, rid, err := d.load(ctx, tx, dir, typ, id, false, true)
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
	now := s.now()
	if !now.After(cur.LastModified) {
		// Keep lastModified strictly increasing so incremental readers
		// using `meta.lastModified gt` never miss a change.
		now = cur.LastModified.Add(1000)
	}
	// Memberships first: whether a row changed decides whether there is
	// anything to write.
	membersChanged, err := d.applyMemberOps(ctx, tx, dir, rid, ops, now)
	if err != nil {
		return nil, err
	}
	if !membersChanged && bytes.Equal(doc, oldDoc) {
		out := &scim.Resource{Type: typ, ID: id, Attrs: attrs, Created: cur.Created, LastModified: cur.LastModified, Version: cur.Version}
		return out, d.loadRelations(ctx, tx, out, rid, withMembers)
	}
	c := columnsOf(typ, attrs)
	_, err = tx.ExecContext(ctx, d.Rebind(`UPDATE resources SET name_ci = ?, display_ci = ?, label = ?, external_id = ?, modified = ?, version = version + 1, doc = ? WHERE rid = ?`),
		c.nameCI, c.displayCI, c.label, c.externalID, micros(now), d.Doc(doc), rid)
	if err != nil {
		return nil, d.storeError(typ, err)
	}
	// Most PATCHes leave the emails alone; rewriting their rows would
	// touch three more indexes for nothing.
	if newEmails, _ := json.Marshal(attrs["emails"]); typ == scim.UserType && !bytes.Equal(oldEmails, newEmails) {
		if err := d.writeEmails(ctx, tx, dir, rid, attrs, true); err != nil {
			return nil, err
		}
	}
	out := &scim.Resource{Type: typ, ID: id, Attrs: attrs, Created: cur.Created, LastModified: now, Version: cur.Version + 1}
	return out, d.loadRelations(ctx, tx, out, rid, withMembers)
}

// Delete removes a resource; the foreign keys cascade to its emails and
// memberships. Groups that lose the member get a new version, since their
// membership changed, and so do the users of a deleted group, since their
// groups changed.
func (s *Store) Delete(ctx context.Context, dir, typ, id string, ifMatch int64) error {
	d := s.d
	return s.writeTx(ctx, func(tx *sql.Tx) error {
		if d.ForUpdate != "" {
			// The groups holding the resource are locked before it, in
			// rid order: group writes lock a group and then its members,
			// so a delete taking them the other way round deadlocked with
			// them (across replicas too) often enough to exhaust
			// writeTx's retries.
			if _, err := tx.ExecContext(ctx, d.Rebind(`SELECT 1 FROM resources WHERE rid IN (SELECT m.group_rid FROM memberships m JOIN resources r ON r.rid = m.member_rid
				WHERE r.dir_id = ? AND r.id = ? AND r.type = ?) ORDER BY rid`+d.ForUpdate), dir, id, typ); err != nil {
				return err
			}
		}
		var rid, version int64
		err := tx.QueryRowContext(ctx, d.Rebind(`SELECT rid, version FROM resources WHERE dir_id = ? AND id = ? AND type = ?`+d.ForUpdate), dir, id, typ).Scan(&rid, &version)
		if errors.Is(err, sql.ErrNoRows) {
			return roster.Errorf(roster.ENOTFOUND, "%s %q not found", typ, id)
		} else if err != nil {
			return err
		}
		if ifMatch != 0 && ifMatch != version {
			return roster.Errorf(roster.EPRECONDITION, "%s %q has changed (version %d, If-Match asked for %d); read it again", typ, id, version, ifMatch)
		}
		now := s.now()
		if _, err := tx.ExecContext(ctx, d.Rebind(`UPDATE resources SET version = version + 1, modified = `+d.Greatest+`(modified + 1, ?)
			WHERE rid IN (SELECT group_rid FROM memberships WHERE member_rid = ?)`), micros(now), rid); err != nil {
			return err
		}
		if typ == scim.GroupType {
			if err := d.bumpMembers(ctx, tx, rid, now, nil); err != nil {
				return err
			}
		}
		_, err = tx.ExecContext(ctx, d.Rebind(`DELETE FROM resources WHERE rid = ?`), rid)
		return err
	})
}

// List runs a filter in the database and returns one page.
func (s *Store) List(ctx context.Context, dir, typ string, q scim.ListQuery) (*scim.ListResult, error) {
	return s.ListWith(ctx, nil, dir, typ, q)
}

// ListWith is List with the statements and page ends that c keeps from
// one call to the next (see ListCache); c is nil or this store's own.
func (s *Store) ListWith(ctx context.Context, c *ListCache, dir, typ string, q scim.ListQuery) (*scim.ListResult, error) {
	rt := s.reg.ResourceType(typ)
	if rt == nil {
		return nil, fmt.Errorf("list: unknown resource type %q", typ)
	}
	lq, err := s.d.ListSQL(rt, dir, q)
	if err != nil {
		return nil, err
	}
	start := max(q.StartIndex, 1)
	// A filtered first page is usually short (the matching queries IdPs
	// send on every cycle: userName eq "…", one result or none), so it
	// is first tried without a transaction.
	if c != nil && !lq.Unfiltered && start == 1 && q.Count > 0 {
		if res, err := s.listShort(ctx, c, lq, q); err != nil || res != nil {
			return res, err
		}
	}
	res := &scim.ListResult{Resources: []*scim.Resource{}}
	relations := s.d.Rebind(groupsQuery)
	if typ == scim.GroupType {
		relations = s.d.Rebind(membersQuery)
	}
	c.prepare(ctx, s.r, lq.Page, lq.Count, relations)
	if s.d.ResourceCounts {
		c.prepare(ctx, s.r, lq.After, lq.Hops, removedQuery)
	}
	// Page and count in one read transaction, so both see one snapshot.
	err = s.readTx(ctx, func(tx *sql.Tx) error {
		// An unfiltered page is read after the nearest mark before it
		// (where an earlier page ended), if no deletion moved the
		// positions since: a sequential pager's next page starts at one.
		page, args := lq.Page, lq.PageArgs
		seq := c != nil && s.d.ResourceCounts && lq.Unfiltered && lq.After != "" && q.Count > 0
		var removed int64
		if seq {
			err := c.queryRow(ctx, s.r, tx, removedQuery, dir, typ).Scan(&removed)
			if err != nil {
				return err
			}
			m, ok := c.nearest(listKey{dir, typ}, removed, start-1)
			if !ok {
				m = mark{rid: math.MinInt64} // before every resource
			}
			// Far from the nearest mark, walk there leaving marks, so
			// that the next pages in between step over few entries.
			if start-1-m.pos >= 2*listHop {
				if m, err = s.hop(ctx, c, tx, lq, listKey{dir, typ}, removed, m, start-1); err != nil {
					return err
				}
			}
			page, args = lq.After, lq.AfterArgs(m.rid, q.Count, start-1-m.pos)
		}
		var rids []int64
		if q.Count > 0 {
			rows, err := c.query(ctx, s.r, tx, page, args...)
			if res.Resources, rids, err = readPage(rows, err, lq.Groups); err != nil {
				return err
			}
		}
		// A page that is short but not empty, or an empty first page,
		// gives the total without counting.
		n := len(res.Resources)
		if q.Count > 0 && n < q.Count && (n > 0 || start == 1) {
			res.Total = start - 1 + n
		} else if err := c.queryRow(ctx, s.r, tx, lq.Count, lq.CountArgs...).Scan(&res.Total); err != nil {
			return err
		}
		if seq && n > 0 {
			c.mark(listKey{dir, typ}, removed, mark{pos: start - 1 + n, rid: rids[n-1]})
		}
		for i, r := range res.Resources {
			if lq.Groups {
				break
			}
			if err := s.listRelations(ctx, c, tx, r, rids[i], q.WithMembers); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// removedQuery reads the counter of deletions of a directory's resources
// of one type (Dialect.ResourceCounts; see ListCache).
const removedQuery = `SELECT coalesce((SELECT removed FROM resource_counts WHERE dir_id = ? AND type = ?), 0)`

// hop walks an unfiltered list from the mark from towards position pos,
// listHop resources at a time (ListSQL.Hops), marks where each step lands
// and returns the last mark reached.
func (s *Store) hop(ctx context.Context, c *ListCache, tx *sql.Tx, lq ListSQL, key listKey, removed int64, from mark, pos int) (mark, error) {
	rows, err := c.query(ctx, s.r, tx, lq.Hops, lq.HopsArgs(from.rid, listHop, pos-from.pos)...)
	if err != nil {
		return from, err
	}
	defer rows.Close()
	last := from
	for rows.Next() {
		var n int
		var rid int64
		if err := rows.Scan(&n, &rid); err != nil {
			return from, err
		}
		last = mark{pos: from.pos + n, rid: rid}
		c.mark(key, removed, last)
	}
	return last, rows.Err()
}

// listShort answers a filtered first page without a read transaction when
// the page comes back short, so that its length is the total: one
// statement is its own snapshot, users' groups included where the page
// reads them (ListSQL.Groups). Relations read apart (a group's members)
// take more statements, each its own snapshot: they are read, then each
// resource's version is read again, and since every membership change
// gives the user or group a new version, an unchanged version means that
// the relations read belong to the version the page read. It returns nil,
// and the caller reads in a transaction, when the page is full (a count
// is needed) or a version changed.
func (s *Store) listShort(ctx context.Context, c *ListCache, lq ListSQL, q scim.ListQuery) (*scim.ListResult, error) {
	rows, err := c.query(ctx, s.r, nil, lq.Page, lq.PageArgs...)
	rs, rids, err := readPage(rows, err, lq.Groups)
	if err != nil || len(rs) >= q.Count {
		return nil, err
	}
	for i, r := range rs {
		if lq.Groups || !s.hasRelations(r, q.WithMembers) {
			continue
		}
		if err := s.listRelations(ctx, c, nil, r, rids[i], q.WithMembers); err != nil {
			return nil, err
		}
		var version int64
		err := c.queryRow(ctx, s.r, nil, `SELECT version FROM resources WHERE rid = ?`, rids[i]).Scan(&version)
		if errors.Is(err, sql.ErrNoRows) || err == nil && version != r.Version {
			return nil, nil
		} else if err != nil {
			return nil, err
		}
	}
	return &scim.ListResult{Total: len(rs), Resources: rs}, nil
}

// hasRelations reports whether loadRelations reads anything for r.
func (s *Store) hasRelations(r *scim.Resource, withMembers bool) bool {
	return r.Type == scim.UserType || r.Type == scim.GroupType && withMembers
}

// listRelations is loadRelations through c's prepared statements, in tx
// or, when tx is nil, on the read pool.
func (s *Store) listRelations(ctx context.Context, c *ListCache, tx *sql.Tx, r *scim.Resource, rid int64, withMembers bool) error {
	if !s.hasRelations(r, withMembers) {
		return nil
	}
	query := s.d.Rebind(groupsQuery)
	if r.Type == scim.GroupType {
		query = s.d.Rebind(membersQuery)
	}
	rows, err := c.query(ctx, s.r, tx, query, rid)
	refs, err := scanAll(rows, err, func(row interface{ Scan(...any) error }) (m scim.Member, err error) {
		return m, row.Scan(&m.Value, &m.Type, &m.Display)
	})
	if r.Type == scim.GroupType {
		r.Members = refs
	} else {
		r.Groups = refs
	}
	return err
}

// readPage reads the rows of a list's page query and returns its
// resources with their rids, never nil; with groups, each row ends with
// the user's groups as JSON (Dialect.GroupsOf).
func readPage(rows *sql.Rows, err error, groups bool) ([]*scim.Resource, []int64, error) {
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	out, rids := []*scim.Resource{}, []int64{}
	var extra []any
	var refs []byte
	if groups {
		extra = []any{&refs}
	}
	for rows.Next() {
		r, rid, err := scanResource(rows, extra...)
		if err != nil {
			return nil, nil, err
		}
		if groups {
			if r.Groups, err = decodeRefs(refs); err != nil {
				return nil, nil, fmt.Errorf("decode groups of %s: %w", r.ID, err)
			}
		}
		out = append(out, r)
		rids = append(rids, rid)
	}
	return out, rids, rows.Err()
}

// decodeRefs decodes the [[id, type, label], …] of Dialect.GroupsOf; a
// null label is an empty display. No groups is an empty slice, as
// loadGroups returns.
func decodeRefs(b []byte) ([]scim.Member, error) {
	if len(b) == 0 || string(b) == "[]" {
		return []scim.Member{}, nil
	}
	var rows [][3]*string
	if err := json.Unmarshal(b, &rows); err != nil {
		return nil, err
	}
	out := make([]scim.Member, len(rows))
	for i, row := range rows {
		for j, dst := range []*string{&out[i].Value, &out[i].Type, &out[i].Display} {
			if row[j] != nil {
				*dst = *row[j]
			}
		}
	}
	return out, nil
}
