package sqlstore

import (
	"encoding/json"
	"strings"
	"unicode/utf8"

	"github.com/roster-scim/roster"
	"github.com/roster-scim/roster/scim"
)

// ListSQL holds the two statements of one List call with their arguments:
// the total count and one page. The count's arguments are a prefix of the
// page's: one compiler numbers the placeholders of both.
type ListSQL struct {
	Count     string
	CountArgs []any
	Page      string
	PageArgs  []any
	// After is a page of the resources after a given rid, for a list in
	// the default order (rid ascending): read from the index at the rid
	// (see ListCache), stepping over fewer entries with OFFSET than Page
	// does. Its arguments are CountArgs, the rid, the page size and the
	// offset after the rid (AfterArgs). "" when the list is sorted
	// otherwise.
	After string
	// Hops walks an unfiltered list in rid order from a given rid, a
	// fixed number of resources at a time, and returns where each step
	// lands: (n, rid) for n = step, 2·step, … up to a limit, each the rid
	// of the resource n positions after the start (HopsArgs). One walk
	// over the index, no slower than OFFSET's over the same entries, that
	// leaves positions (ListCache's marks) all along the way. "" unless
	// the list is unfiltered in the default order.
	Hops string
	// Unfiltered is set when the list has no filter, so that its total
	// is the directory's count of the type.
	Unfiltered bool
	// Groups is set when Page and After return each user's groups as
	// an eighth column (Dialect.GroupsOf), read by readPage.
	Groups bool
}

// HopsArgs returns the arguments of Hops for steps of step resources
// after rid, up to limit resources after it.
func (l ListSQL) HopsArgs(rid int64, step, limit int) []any {
	return []any{rid, step, l.CountArgs[0], l.CountArgs[1], step - 1, step, limit}
}

// AfterArgs returns the arguments of After for the page of count
// resources that starts offset resources after rid.
func (l ListSQL) AfterArgs(rid int64, count, offset int) []any {
	return append(append(make([]any, 0, len(l.CountArgs)+3), l.CountArgs...), rid, count, offset)
}

// ListSQL builds the statements that list the resources of type rt in
// directory dir, filtered, sorted and paged as q asks. List runs them; the
// query-plan tests explain them.
func (d *Dialect) ListSQL(rt *scim.ResourceType, dir string, q scim.ListQuery) (ListSQL, error) {
	c := &compiler{d: d, rt: rt, dir: dir}
	hint := ""
	if emailDriven(rt, q.Filter) {
		hint = d.NoIndex
	}
	base := ` WHERE ` + hint + `r.dir_id = ` + c.arg(dir) + ` AND ` + hint + `r.type = ` + c.arg(rt.Name)
	if q.Filter != nil {
		where, err := c.expr(q.Filter)
		if err != nil {
			return ListSQL{}, err
		}
		base += ` AND ` + where
	}
	countArgs := append([]any(nil), c.args...)
	count := `SELECT count(*) FROM resources r` + base
	if q.Filter == nil && d.ResourceCounts {
		// One primary-key read instead of a walk of the directory.
		count = `SELECT coalesce((SELECT n FROM resource_counts WHERE dir_id = ` + d.Param(1) + ` AND type = ` + d.Param(2) + `), 0)`
	}
	// Not with sortBy: a sort that no index serves computes every
	// column of every matching row before it keeps a page, and the
	// groups would be read for all of them.
	sel, groups := selectResource, rt.Name == scim.UserType && d.GroupsOf != "" && q.SortBy == nil
	if groups {
		sel = selectResourceWith(", " + d.GroupsOf)
	}
	after, hops := "", ""
	if q.SortBy == nil && !q.Descending {
		after = sel + base + ` AND r.rid > ` + d.Param(len(countArgs)+1) + ` ORDER BY r.rid ASC LIMIT ` + d.Param(len(countArgs)+2) + ` OFFSET ` + d.Param(len(countArgs)+3)
		if q.Filter == nil {
			// Placeholders numbered in the order they appear, as
			// HopsArgs gives the values.
			p := d.Param
			hops = `WITH RECURSIVE hops(n, rid) AS (SELECT 0, ` + p(1) + ` UNION ALL SELECT n + ` + p(2) + `,
				(SELECT r.rid FROM resources r WHERE r.dir_id = ` + p(3) + ` AND r.type = ` + p(4) + ` AND r.rid > hops.rid ORDER BY r.rid LIMIT 1 OFFSET ` + p(5) + `)
				FROM hops WHERE n + ` + p(6) + ` <= ` + p(7) + ` AND rid IS NOT NULL)
				SELECT n, rid FROM hops WHERE n > 0 AND rid IS NOT NULL`
		}
	}
	order := c.orderBy(q)
	start := max(q.StartIndex, 1)
	limit := c.arg(q.Count)
	offset := c.arg(start - 1)
	return ListSQL{
		Count:      count,
		CountArgs:  countArgs,
		Page:       sel + base + ` ORDER BY ` + order + ` LIMIT ` + limit + ` OFFSET ` + offset,
		PageArgs:   c.args,
		After:      after,
		Hops:       hops,
		Unfiltered: q.Filter == nil,
		Groups:     groups,
	}, nil
}

// operand is one side of a comparison in SQL: an expression and the way its
// values are stored.
type operand struct {
	// sql is the expression, with ? where its args go; use binds them
	// (numbering the placeholders, where the dialect does) each time the
	// expression is written.
	sql  string
	args []any
	// kind: "text", "ci" (text stored lower-cased by Go), "bool",
	// "number", "micros" (a time column), "datetime" (RFC 3339 text).
	kind string
	// exact is false when text compares case-insensitively: the
	// expression is then folded (Dialect.Fold) and the value lowered by Go.
	exact bool
	// notNull is set for columns that always hold a value, so that sorting
	// needs no NULLS clause and can read an index in order.
	notNull bool
	// doc is set for values read from a JSON document, which no index
	// serves: ranges and sorting on its text compare bytes
	// (Dialect.Collate), whatever the database's collation. Columns keep
	// their own collation so that their indexes serve ranges and sorting.
	doc bool
}

// compiler turns a resolved filter into a WHERE fragment with every value
// passed as an argument, never written into the SQL text. One compiler
// numbers the placeholders of a whole statement.
type compiler struct {
	d    *Dialect
	rt   *scim.ResourceType
	dir  string
	args []any
}

func (c *compiler) expr(e scim.Expr) (string, error) {
	return c.boolean(e, c.leaf)
}

// boolean compiles and/or/not around the leaves that leaf compiles, so that
// a whole filter and the filter inside brackets treat logic and NULL alike.
func (c *compiler) boolean(e scim.Expr, leaf func(scim.Expr) (string, error)) (string, error) {
	switch e := e.(type) {
	case *scim.LogicalExpr:
		l, err := c.boolean(e.Left, leaf)
		if err != nil {
			return "", err
		}
		r, err := c.boolean(e.Right, leaf)
		if err != nil {
			return "", err
		}
		return "(" + l + " " + strings.ToUpper(e.Op) + " " + r + ")", nil
	case *scim.NotExpr:
		x, err := c.boolean(e.X, leaf)
		if err != nil {
			return "", err
		}
		// SQL's NOT NULL is NULL; a filter's not() of "no match" is a match.
		return "NOT COALESCE(" + x + ", " + c.d.False + ")", nil
	}
	return leaf(e)
}

// leaf compiles a comparison or a value path of a whole filter.
func (c *compiler) leaf(e scim.Expr) (string, error) {
	switch e := e.(type) {
	case *scim.ValuePathExpr:
		t, _ := c.rt.Lookup(e.Path)
		return c.multi(t, func(sub *scim.Attribute, elem func(*scim.Attribute) operand) (string, error) {
			return c.inner(e.Filter, t, elem)
		})
	case *scim.CompareExpr:
		t, ok := c.rt.Lookup(e.Path)
		if !ok {
			return "", roster.SCIMErrorf(roster.ScimInvalidFilter, "unknown attribute %q", e.Path.String())
		}
		if s, ok := c.memberProbe(t, e.Op, e.Value); ok {
			return s, nil
		}
		if t.Attr.MultiValued && t.Attr.Type == scim.TypeComplex {
			return c.multi(t, func(sub *scim.Attribute, elem func(*scim.Attribute) operand) (string, error) {
				if sub == nil { // `members pr`
					return c.d.True, nil
				}
				return c.cmp(elem(sub), e.Op, e.Value)
			})
		}
		o, err := c.single(t)
		if err != nil {
			return "", err
		}
		return c.cmp(o, e.Op, e.Value)
	}
	return "", roster.SCIMErrorf(roster.ScimInvalidFilter, "empty filter")
}

// emailDriven reports whether a top-level conjunct of a Users filter pins
// emails.value with eq or sw, so that the emails_value index finds the few
// users that can match. Without statistics SQLite's planner rates the
// (dir_id, type) prefix of an index above `rid IN (subquery)` and would
// read every user of the directory; ListSQL then takes the directory terms
// off the indexes (Dialect.NoIndex).
func emailDriven(rt *scim.ResourceType, e scim.Expr) bool {
	if rt.Name != scim.UserType {
		return false
	}
	var pins func(e scim.Expr, inEmails bool) bool
	pins = func(e scim.Expr, inEmails bool) bool {
		switch e := e.(type) {
		case *scim.LogicalExpr:
			return e.Op == "and" && (pins(e.Left, inEmails) || pins(e.Right, inEmails))
		case *scim.ValuePathExpr:
			return !inEmails && isEmails(e.Path) && pins(e.Filter, true)
		case *scim.CompareExpr:
			value := inEmails && e.Path.Attr == "value" || !inEmails && isEmails(e.Path) && e.Path.Sub == "value"
			return value && (e.Op == "eq" || e.Op == "sw") && e.Value != nil
		}
		return false
	}
	return pins(e, false)
}

// isEmails reports whether a resolved path names the core emails attribute.
func isEmails(p scim.Path) bool {
	return p.URN == "" && p.Attr == "emails"
}

// inner compiles the filter inside brackets against the element operands.
func (c *compiler) inner(e scim.Expr, t scim.Target, elem func(*scim.Attribute) operand) (string, error) {
	return c.boolean(e, func(e scim.Expr) (string, error) {
		cmp, ok := e.(*scim.CompareExpr)
		if !ok {
			return "", roster.SCIMErrorf(roster.ScimInvalidFilter, "value filters cannot be nested")
		}
		sub := t.Attr.Sub(cmp.Path.Attr)
		if sub == nil {
			return "", roster.SCIMErrorf(roster.ScimInvalidFilter, "%q is not a sub-attribute of %s", cmp.Path.Attr, t.Attr.Name)
		}
		return c.cmp(elem(sub), cmp.Op, cmp.Value)
	})
}

// arg binds v and returns its placeholder.
func (c *compiler) arg(v any) string {
	c.args = append(c.args, v)
	return c.d.Param(len(c.args))
}

// use writes an operand's expression and binds its arguments. Placeholders
// are positional, so an expression written twice (x IS NULL OR x <> ?)
// needs its arguments twice, in the order the text is built.
func (c *compiler) use(o operand) string {
	if len(o.args) == 0 {
		return o.sql
	}
	var b strings.Builder
	i := 0
	for _, r := range o.sql {
		if r == '?' && i < len(o.args) {
			b.WriteString(c.arg(o.args[i]))
			i++
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// ordered writes an operand for a range comparison or a sort.
func (c *compiler) ordered(o operand) string {
	if o.doc && c.d.Collate != nil && (o.kind == "text" || o.kind == "datetime") {
		return c.d.Collate(c.use(o))
	}
	return c.use(o)
}

// path returns the JSON path argument of an attribute in the document.
func (c *compiler) path(t scim.Target) any {
	keys := []string{}
	if t.Ext != "" {
		keys = append(keys, t.Ext)
	}
	keys = append(keys, t.Attr.Name)
	if t.Sub != nil && !t.Attr.MultiValued {
		keys = append(keys, t.Sub.Name)
	}
	return c.d.Path(keys...)
}

// extract returns the operand of the value of attribute a at path in the
// JSON expression doc.
func (c *compiler) extract(doc string, path any, a *scim.Attribute) operand {
	kind := kindOf(a)
	sql := c.d.Extract(doc, kind)
	args := make([]any, strings.Count(sql, "?"))
	for i := range args {
		args[i] = path
	}
	return operand{sql: sql, args: args, kind: kind, exact: a.CaseExact, doc: true}
}

func kindOf(a *scim.Attribute) string {
	switch a.Type {
	case scim.TypeBoolean:
		return "bool"
	case scim.TypeInteger, scim.TypeDecimal:
		return "number"
	case scim.TypeDateTime:
		return "datetime"
	}
	return "text"
}

// single returns the operand of a single-valued attribute: an indexed
// column where there is one, otherwise a JSON extraction.
func (c *compiler) single(t scim.Target) (operand, error) {
	user := c.rt.Name == scim.UserType
	switch path := t.Path().String(); {
	case path == "id":
		return operand{sql: "r.id", kind: "text", exact: true, notNull: true}, nil
	case path == "externalId":
		return operand{sql: "r.external_id", kind: "text", exact: true}, nil
	case path == "meta.created":
		return operand{sql: "r.created", kind: "micros", notNull: true}, nil
	case path == "meta.lastModified":
		return operand{sql: "r.modified", kind: "micros", notNull: true}, nil
	case path == "meta.resourceType":
		return operand{sql: "r.type", kind: "text", exact: false, notNull: true}, nil
	case t.Common:
		return operand{}, roster.SCIMErrorf(roster.ScimInvalidFilter, "filtering on %s is not supported; filter on id, externalId, meta.created or meta.lastModified", path)
	case user && path == "userName", !user && path == "displayName":
		return operand{sql: "r.name_ci", kind: "ci", notNull: true}, nil
	case user && path == "displayName":
		return operand{sql: "r.display_ci", kind: "ci"}, nil
	}
	leaf := t.Leaf()
	if leaf.Type == scim.TypeComplex {
		return operand{sql: c.d.TypeOf, args: []any{c.path(t)}, kind: "text", exact: true, doc: true}, nil
	}
	return c.extract("r.doc", c.path(t), leaf), nil
}

// elements returns the operand of the FROM item of the elements of a
// multi-valued attribute, as rows j.
func (c *compiler) elements(t scim.Target) operand {
	path := c.path(scim.Target{Ext: t.Ext, Attr: t.Attr})
	args := make([]any, strings.Count(c.d.Elements, "?"))
	for i := range args {
		args[i] = path
	}
	return operand{sql: c.d.Elements, args: args}
}

// multi compiles a condition on the elements of a multi-valued complex
// attribute: "some element satisfies cond". emails, members and groups have
// tables of their own and use them; others read the JSON array's elements.
func (c *compiler) multi(t scim.Target, cond func(sub *scim.Attribute, elem func(*scim.Attribute) operand) (string, error)) (string, error) {
	user := c.rt.Name == scim.UserType
	switch {
	case user && t.Ext == "" && t.Attr.Name == "emails":
		prefix := "r.rid IN (SELECT e.rid FROM emails e WHERE e.dir_id = " + c.arg(c.dir) + " AND "
		s, err := cond(t.Sub, func(sub *scim.Attribute) operand {
			switch sub.Name {
			case "value":
				return operand{sql: "e.value_ci", kind: "ci"}
			case "type":
				return operand{sql: "e.type_ci", kind: "ci"}
			case "primary":
				return operand{sql: "e.is_primary", kind: "bool"}
			}
			return operand{sql: "e.display", kind: "text"}
		})
		return prefix + s + ")", err
	case t.Ext == "" && (!user && t.Attr.Name == "members" || user && t.Attr.Name == "groups"):
		self, other := "m.group_rid", "m.member_rid"
		if user {
			self, other = other, self
		}
		prefix := "EXISTS (SELECT 1 FROM memberships m JOIN resources x ON x.rid = " + other + " WHERE " + self + " = r.rid AND "
		s, err := cond(t.Sub, func(sub *scim.Attribute) operand {
			switch sub.Name {
			case "value":
				return operand{sql: "x.id", kind: "text", exact: true}
			case "type":
				if user {
					// A user's groups are all direct (see
					// scim.Render), whatever x.type says.
					return operand{sql: "CAST('direct' AS TEXT)", kind: "ci"}
				}
				return operand{sql: "x.type", kind: "text"}
			case "display":
				return operand{sql: "x.label", kind: "text"}
			}
			return operand{sql: "CAST(NULL AS TEXT)", kind: "text"}
		})
		return prefix + s + ")", err
	}
	prefix := "EXISTS (SELECT 1 FROM " + c.use(c.elements(t)) + " WHERE "
	s, err := cond(t.Sub, func(sub *scim.Attribute) operand {
		return c.extract("j.value", c.d.Path(sub.Name), sub)
	})
	return prefix + s + ")", err
}

// memberProbe compiles Entra's membership probe `members eq "<id>"` (and
// `groups eq "<id>"` on users) into a primary-key lookup of one membership
// row, so that the probe costs the same on a group of ten or a million.
func (c *compiler) memberProbe(t scim.Target, op string, v any) (string, bool) {
	id, ok := v.(string)
	user := c.rt.Name == scim.UserType
	if !ok || op != "eq" || t.Ext != "" || t.Sub == nil || t.Sub.Name != "value" ||
		!(!user && t.Attr.Name == "members" || user && t.Attr.Name == "groups") {
		return "", false
	}
	other := "(SELECT x.rid FROM resources x WHERE x.dir_id = " + c.arg(c.dir) + " AND x.id = " + c.arg(id) + ")"
	if user {
		return "EXISTS (SELECT 1 FROM memberships m WHERE m.group_rid = " + other + " AND m.member_rid = r.rid)", true
	}
	return "EXISTS (SELECT 1 FROM memberships m WHERE m.group_rid = r.rid AND m.member_rid = " + other + ")", true
}

// cmp compiles `operand op value`.
func (c *compiler) cmp(o operand, op string, v any) (string, error) {
	if op == "pr" {
		if o.kind == "text" || o.kind == "ci" {
			return "(" + c.use(o) + " IS NOT NULL AND " + c.use(o) + " <> '')", nil
		}
		return "(" + c.use(o) + " IS NOT NULL)", nil
	}
	if v == nil {
		switch op {
		case "eq":
			return "(" + c.use(o) + " IS NULL)", nil
		case "ne":
			return "(" + c.use(o) + " IS NOT NULL)", nil
		}
		return "", roster.SCIMErrorf(roster.ScimInvalidFilter, "null can only be compared with eq or ne")
	}
	var arg any
	switch o.kind {
	case "bool":
		b, ok := scim.AsBool(v)
		if !ok {
			return "", roster.SCIMErrorf(roster.ScimInvalidFilter, "a boolean attribute must be compared with true or false")
		}
		// SQLite binds a bool as 1 or 0, which is how it stores booleans.
		arg = b
	case "number":
		n, ok := v.(json.Number)
		if !ok {
			return "", roster.SCIMErrorf(roster.ScimInvalidFilter, "a numeric attribute must be compared with a number")
		}
		f, err := n.Float64()
		if err != nil {
			return "", roster.SCIMErrorf(roster.ScimInvalidFilter, "%s is not a usable number", n)
		}
		arg = f
	case "micros":
		s, _ := v.(string)
		t, ok := scim.ParseDateTime(s)
		if !ok {
			return "", roster.SCIMErrorf(roster.ScimInvalidFilter, "meta times must be compared with a dateTime such as \"2024-01-31T12:00:00Z\", got %v", v)
		}
		arg = t.UnixMicro()
	default:
		s, ok := v.(string)
		if !ok {
			if b, isBool := v.(bool); isBool {
				s = map[bool]string{true: "true", false: "false"}[b]
			} else if n, isNum := v.(json.Number); isNum {
				s = n.String()
			}
		}
		switch {
		case o.kind == "ci":
			s = strings.ToLower(s)
		case !o.exact:
			o.sql, s = c.d.Fold(o.sql), strings.ToLower(s)
		}
		if op == "co" || op == "sw" || op == "ew" {
			return c.textMatch(o, op, s), nil
		}
		arg = s
	}
	// Go evaluates the calls of one expression left to right, so the
	// placeholders are bound in the order of the text.
	switch op {
	case "eq":
		return "(" + c.use(o) + " = " + c.arg(arg) + ")", nil
	case "ne":
		return "(" + c.use(o) + " IS NULL OR " + c.use(o) + " <> " + c.arg(arg) + ")", nil
	case "gt":
		return "(" + c.ordered(o) + " > " + c.arg(arg) + ")", nil
	case "ge":
		return "(" + c.ordered(o) + " >= " + c.arg(arg) + ")", nil
	case "lt":
		return "(" + c.ordered(o) + " < " + c.arg(arg) + ")", nil
	case "le":
		return "(" + c.ordered(o) + " <= " + c.arg(arg) + ")", nil
	}
	return "", roster.SCIMErrorf(roster.ScimInvalidFilter, "operator %s does not apply to this attribute", op)
}

// textMatch compiles co, sw and ew without LIKE, whose pattern characters
// would need escaping and whose ASCII case folding (SQLite's) would break
// caseExact. sw is a range so that it can use an index.
func (c *compiler) textMatch(o operand, op, s string) string {
	text := func(v any) string { return c.arg(v) + c.d.TextArg }
	switch op {
	case "co":
		return "(" + c.d.Instr + "(" + c.use(o) + ", " + text(s) + ") > 0)"
	case "sw":
		return "(" + c.ordered(o) + " >= " + text(s) + " AND " + c.ordered(o) + " < " + text(s+"\U0010FFFF") + ")"
	}
	if s == "" {
		// Every string ends with "" (and SQLite's substr(x, -0) is all of x).
		return "(" + c.use(o) + " IS NOT NULL)"
	}
	x := c.use(o)
	return "(" + c.d.Right(x, c.arg(utf8.RuneCountInString(s))) + " = " + text(s) + ")"
}

// orderBy returns the ORDER BY clause of a list; rid (creation order) breaks
// ties so that pages are stable. Resources without a value sort last when
// ascending and first when descending (RFC 7644 §3.4.2.3), so descending is
// exactly ascending reversed.
func (c *compiler) orderBy(q scim.ListQuery) string {
	dir, nulls := " ASC", " NULLS LAST"
	if q.Descending {
		dir, nulls = " DESC", " NULLS FIRST"
	}
	o, ok := operand{}, false
	if q.SortBy != nil {
		o, ok = c.sortKey(*q.SortBy)
	}
	if !ok {
		return "r.rid" + dir
	}
	expr := c.ordered(o) + dir
	if !o.notNull {
		expr += nulls
	}
	return expr + ", r.rid" + dir
}

// sortKey returns the value resources are sorted by. A multi-valued
// attribute sorts by its primary value, else its first (RFC 7644
// §3.4.2.3); strings that are not caseExact sort case-insensitively.
func (c *compiler) sortKey(t scim.Target) (operand, bool) {
	var o operand
	if t.Attr.MultiValued {
		sub := t.Sub
		if sub == nil {
			sub = t.Attr.Sub("value")
		}
		if sub == nil || t.Common {
			return operand{}, false
		}
		e, from := c.extract("j.value", c.d.Path(sub.Name), sub), c.elements(t)
		o = e
		o.sql = "(SELECT " + e.sql + " FROM " + from.sql + " ORDER BY " + c.d.PrimaryFirst + " LIMIT 1)"
		o.args = append(append([]any{}, e.args...), from.args...)
	} else {
		var err error
		if o, err = c.single(t); err != nil {
			return operand{}, false
		}
	}
	if o.kind == "text" && !o.exact {
		o.sql = c.d.Fold(o.sql)
	}
	return o, true
}
