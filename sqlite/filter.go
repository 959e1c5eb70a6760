package sqlite

import (
	"encoding/json"
	"strings"
	"unicode/utf8"

	"github.com/roster-scim/roster"
	"github.com/roster-scim/roster/scim"
)

// operand is one side of a comparison in SQL: an expression and the way its
// values are stored.
type operand struct {
	sql  string
	args []any
	// kind: "text", "ci" (text stored lower-cased by Go), "bool",
	// "number", "micros" (a time column), "datetime" (RFC 3339 text).
	kind string
	// exact is false when text compares case-insensitively.
	exact bool
}

// compiler turns a resolved filter into a WHERE fragment with every value
// passed as an argument, never written into the SQL text.
type compiler struct {
	rt   *scim.ResourceType
	dir  string
	args []any
}

func compileFilter(rt *scim.ResourceType, dir string, e scim.Expr) (string, []any, error) {
	if e == nil {
		return "", nil, nil
	}
	c := &compiler{rt: rt, dir: dir}
	s, err := c.expr(e)
	return s, c.args, err
}

func (c *compiler) expr(e scim.Expr) (string, error) {
	switch e := e.(type) {
	case *scim.LogicalExpr:
		l, err := c.expr(e.Left)
		if err != nil {
			return "", err
		}
		r, err := c.expr(e.Right)
		if err != nil {
			return "", err
		}
		return "(" + l + " " + strings.ToUpper(e.Op) + " " + r + ")", nil
	case *scim.NotExpr:
		x, err := c.expr(e.X)
		if err != nil {
			return "", err
		}
		// SQL's NOT NULL is NULL; a filter's not() of "no match" is a match.
		return "NOT COALESCE(" + x + ", 0)", nil
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
					return "1", nil
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

// inner compiles the filter inside brackets against the element operands.
func (c *compiler) inner(e scim.Expr, t scim.Target, elem func(*scim.Attribute) operand) (string, error) {
	switch e := e.(type) {
	case *scim.LogicalExpr:
		l, err := c.inner(e.Left, t, elem)
		if err != nil {
			return "", err
		}
		r, err := c.inner(e.Right, t, elem)
		if err != nil {
			return "", err
		}
		return "(" + l + " " + strings.ToUpper(e.Op) + " " + r + ")", nil
	case *scim.NotExpr:
		x, err := c.inner(e.X, t, elem)
		if err != nil {
			return "", err
		}
		return "NOT COALESCE(" + x + ", 0)", nil
	case *scim.CompareExpr:
		sub := t.Attr.Sub(e.Path.Attr)
		if sub == nil {
			return "", roster.SCIMErrorf(roster.ScimInvalidFilter, "%q is not a sub-attribute of %s", e.Path.Attr, t.Attr.Name)
		}
		return c.cmp(elem(sub), e.Op, e.Value)
	}
	return "", roster.SCIMErrorf(roster.ScimInvalidFilter, "value filters cannot be nested")
}

func (c *compiler) arg(v any) string {
	c.args = append(c.args, v)
	return "?"
}

// jsonPath returns the SQLite JSON path of an attribute in the document.
func jsonPath(t scim.Target) string {
	p := "$"
	if t.Ext != "" {
		p += `."` + t.Ext + `"`
	}
	p += `."` + t.Attr.Name + `"`
	if t.Sub != nil && !t.Attr.MultiValued {
		p += `."` + t.Sub.Name + `"`
	}
	return p
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
		return operand{sql: "r.id", kind: "text", exact: true}, nil
	case path == "externalId":
		return operand{sql: "r.external_id", kind: "text", exact: true}, nil
	case path == "meta.created":
		return operand{sql: "r.created", kind: "micros"}, nil
	case path == "meta.lastModified":
		return operand{sql: "r.modified", kind: "micros"}, nil
	case path == "meta.resourceType":
		return operand{sql: "r.type", kind: "text", exact: false}, nil
	case t.Common:
		return operand{}, roster.SCIMErrorf(roster.ScimInvalidFilter, "filtering on %s is not supported; filter on id, externalId, meta.created or meta.lastModified", path)
	case user && path == "userName", !user && path == "displayName":
		return operand{sql: "r.name_ci", kind: "ci"}, nil
	case user && path == "displayName":
		return operand{sql: "r.display_ci", kind: "ci"}, nil
	}
	leaf := t.Leaf()
	if leaf.Type == scim.TypeComplex {
		return operand{sql: "json_type(r.doc, " + c.arg(jsonPath(t)) + ")", kind: "text", exact: true}, nil
	}
	return operand{sql: "json_extract(r.doc, " + c.arg(jsonPath(t)) + ")", kind: kindOf(leaf), exact: leaf.CaseExact}, nil
}

// multi compiles a condition on the elements of a multi-valued complex
// attribute: "some element satisfies cond". emails, members and groups have
// tables of their own and use them; others are read with json_each.
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
				return operand{sql: "x.type", kind: "text"}
			case "display":
				return operand{sql: "x.label", kind: "text"}
			}
			return operand{sql: "NULL", kind: "text"}
		})
		return prefix + s + ")", err
	}
	pathArg := c.arg(jsonPath(scim.Target{Ext: t.Ext, Attr: t.Attr}))
	prefix := "EXISTS (SELECT 1 FROM json_each(r.doc, " + pathArg + ") j WHERE "
	s, err := cond(t.Sub, func(sub *scim.Attribute) operand {
		return operand{sql: "json_extract(j.value, " + c.arg(`$."`+sub.Name+`"`) + ")", kind: kindOf(sub), exact: sub.CaseExact}
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
	for _, a := range o.args {
		c.args = append(c.args, a)
	}
	x := o.sql
	if op == "pr" {
		if o.kind == "text" || o.kind == "ci" {
			return "(" + x + " IS NOT NULL AND " + x + " <> '')", nil
		}
		return "(" + x + " IS NOT NULL)", nil
	}
	if v == nil {
		switch op {
		case "eq":
			return "(" + x + " IS NULL)", nil
		case "ne":
			return "(" + x + " IS NOT NULL)", nil
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
		if b {
			arg = 1
		} else {
			arg = 0
		}
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
			x, s = "lower("+x+")", asciiLower(s)
		}
		if op == "co" || op == "sw" || op == "ew" {
			return c.textMatch(x, op, s), nil
		}
		arg = s
	}
	switch op {
	case "eq":
		return "(" + x + " = " + c.arg(arg) + ")", nil
	case "ne":
		return "(" + x + " IS NULL OR " + x + " <> " + c.arg(arg) + ")", nil
	case "gt":
		return "(" + x + " > " + c.arg(arg) + ")", nil
	case "ge":
		return "(" + x + " >= " + c.arg(arg) + ")", nil
	case "lt":
		return "(" + x + " < " + c.arg(arg) + ")", nil
	case "le":
		return "(" + x + " <= " + c.arg(arg) + ")", nil
	}
	return "", roster.SCIMErrorf(roster.ScimInvalidFilter, "operator %s does not apply to this attribute", op)
}

// textMatch compiles co, sw and ew without LIKE, whose ASCII case folding
// would break caseExact. sw is a range so that it can use an index.
func (c *compiler) textMatch(x, op, s string) string {
	switch op {
	case "co":
		return "(instr(" + x + ", " + c.arg(s) + ") > 0)"
	case "sw":
		return "(" + x + " >= " + c.arg(s) + " AND " + x + " < " + c.arg(s+"\U0010FFFF") + ")"
	}
	return "(substr(" + x + ", " + c.arg(-utf8.RuneCountInString(s)) + ") = " + c.arg(s) + ")"
}

// asciiLower lowers ASCII letters only, matching SQLite's lower().
func asciiLower(s string) string {
	b := []byte(s)
	for i, ch := range b {
		if 'A' <= ch && ch <= 'Z' {
			b[i] = ch + 32
		}
	}
	return string(b)
}

// orderBy returns the ORDER BY clause of a list; rid (creation order) breaks
// ties so that pages are stable.
func orderBy(rt *scim.ResourceType, q scim.ListQuery) (string, []any) {
	dir := " ASC"
	if q.Descending {
		dir = " DESC"
	}
	if q.SortBy == nil {
		return "r.rid" + dir, nil
	}
	c := &compiler{rt: rt}
	t := *q.SortBy
	var expr string
	if t.Attr.MultiValued {
		p := jsonPath(scim.Target{Ext: t.Ext, Attr: t.Attr}) + "[0]"
		if sub := t.Leaf(); t.Sub != nil || t.Attr.Sub("value") != nil {
			if t.Sub == nil {
				sub = t.Attr.Sub("value")
			}
			p += `."` + sub.Name + `"`
		}
		expr = "lower(json_extract(r.doc, " + c.arg(p) + "))"
	} else if o, err := c.single(t); err == nil {
		expr = o.sql
		if o.kind == "text" && !o.exact {
			expr = "lower(" + expr + ")"
		}
	} else {
		expr = "r.rid"
	}
	return expr + dir + ", r.rid" + dir, c.args
}
