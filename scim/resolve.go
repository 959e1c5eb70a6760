package scim

import (
	"encoding/json"
	"strings"
	"unicode/utf8"

	"github.com/roster-scim/roster"
)

// Target is an attribute resolved against a resource type: which schema it
// belongs to, the attribute and, for `attr.sub`, the sub-attribute. Names in
// a Target are canonical (the schema's spelling).
type Target struct {
	// Ext is the canonical extension URN the attribute lives under, or ""
	// for core and common attributes.
	Ext string
	// Common is true for id, externalId, meta and schemas, which the store
	// keeps in columns rather than in the document.
	Common bool
	Attr   *Attribute
	Sub    *Attribute // nil when the path has no sub-attribute
	// WholeExt is set when the path names a whole extension schema
	// (`urn:...:enterprise:2.0:User`); Attr and Sub are then nil.
	WholeExt bool
}

// Path returns the canonical path of the target, URN-qualified for
// extension attributes.
func (t Target) Path() Path {
	if t.WholeExt {
		i := strings.LastIndex(t.Ext, ":")
		return Path{URN: t.Ext[:i], Attr: t.Ext[i+1:]}
	}
	p := Path{URN: t.Ext, Attr: t.Attr.Name}
	if t.Sub != nil {
		p.Sub = t.Sub.Name
	}
	return p
}

// Lookup resolves a path against the resource type. Unqualified names are
// looked up in the core schema, then in the common attributes, then in each
// extension, so that Entra's bare `manager` finds the enterprise manager.
// It returns ok=false when the path names no attribute.
func (rt *ResourceType) Lookup(p Path) (Target, bool) {
	var t Target
	switch {
	case p.URN == "":
		if t.Attr = rt.Core.Attr(p.Attr); t.Attr == nil {
			if t.Attr = Common(p.Attr); t.Attr != nil {
				t.Common = true
			}
		}
		for _, ext := range rt.Ext {
			if t.Attr != nil {
				break
			}
			if t.Attr = ext.Attr(p.Attr); t.Attr != nil {
				t.Ext = ext.ID
			}
		}
	case strings.EqualFold(p.URN, rt.SchemaURN):
		if t.Attr = rt.Core.Attr(p.Attr); t.Attr == nil {
			if t.Attr = Common(p.Attr); t.Attr != nil {
				t.Common = true
			}
		}
	default:
		if ext := rt.Extension(p.URN + ":" + p.Attr); ext != nil && p.Sub == "" {
			return Target{Ext: ext.ID, WholeExt: true}, true
		}
		if ext := rt.Extension(p.URN); ext != nil {
			t.Ext, t.Attr = ext.ID, ext.Attr(p.Attr)
		}
	}
	if t.Attr == nil {
		return Target{}, false
	}
	if p.Sub != "" {
		if t.Sub = t.Attr.Sub(p.Sub); t.Sub == nil {
			return Target{}, false
		}
	}
	return t, true
}

// ResolveFilter checks every attribute of a filter against the resource type
// and returns a copy whose paths use canonical names, so that compilers can
// switch on exact strings. A comparison on a complex attribute without a
// sub-attribute (`members eq "u"`, `emails co "@x"`) is read as a comparison
// on its `value` sub-attribute, as RFC 7644 §3.4.2.2 describes for
// multi-valued attributes. Unknown attributes are invalidFilter errors.
func (rt *ResourceType) ResolveFilter(e Expr) (Expr, error) {
	return rt.resolve(e, nil)
}

func (rt *ResourceType) resolve(e Expr, parent *Target) (Expr, error) {
	switch e := e.(type) {
	case *LogicalExpr:
		l, err := rt.resolve(e.Left, parent)
		if err != nil {
			return nil, err
		}
		r, err := rt.resolve(e.Right, parent)
		if err != nil {
			return nil, err
		}
		return &LogicalExpr{Op: e.Op, Left: l, Right: r}, nil
	case *NotExpr:
		x, err := rt.resolve(e.X, parent)
		if err != nil {
			return nil, err
		}
		return &NotExpr{X: x}, nil
	case *ValuePathExpr:
		if parent != nil {
			return nil, roster.SCIMErrorf(roster.ScimInvalidFilter, "value filters cannot be nested: %q", e.Path.String())
		}
		t, ok := rt.Lookup(e.Path)
		if !ok || t.WholeExt || t.Attr.Type != TypeComplex {
			return nil, roster.SCIMErrorf(roster.ScimInvalidFilter, "%q is not a complex attribute of %s, so it cannot take a [filter]", e.Path.String(), rt.Name)
		}
		inner, err := rt.resolve(e.Filter, &t)
		if err != nil {
			return nil, err
		}
		return &ValuePathExpr{Path: t.Path(), Filter: inner}, nil
	case *CompareExpr:
		var t Target
		if parent != nil {
			sub := parent.Attr.Sub(e.Path.Attr)
			if sub == nil || e.Path.URN != "" || e.Path.Sub != "" {
				return nil, roster.SCIMErrorf(roster.ScimInvalidFilter, "%q is not a sub-attribute of %q", e.Path.String(), parent.Attr.Name)
			}
			t = Target{Ext: parent.Ext, Common: parent.Common, Attr: parent.Attr, Sub: sub}
			return &CompareExpr{Path: Path{Attr: sub.Name}, Op: e.Op, Value: e.Value}, checkCompare(rt, t, e)
		}
		t, ok := rt.Lookup(e.Path)
		if !ok || t.WholeExt {
			return nil, roster.SCIMErrorf(roster.ScimInvalidFilter, "unknown attribute %q in filter: %s has no such attribute", e.Path.String(), rt.Name)
		}
		if t.Sub == nil && t.Attr.Type == TypeComplex {
			if t.Sub = t.Attr.Sub("value"); t.Sub == nil && e.Op != "pr" {
				return nil, roster.SCIMErrorf(roster.ScimInvalidFilter, "%q is a complex attribute: compare one of its sub-attributes, e.g. %s.%s", e.Path.String(), t.Attr.Name, t.Attr.SubAttributes[0].Name)
			}
		}
		return &CompareExpr{Path: t.Path(), Op: e.Op, Value: e.Value}, checkCompare(rt, t, e)
	}
	return nil, roster.SCIMErrorf(roster.ScimInvalidFilter, "empty filter")
}

// Leaf returns the attribute a comparison finally applies to.
func (t Target) Leaf() *Attribute {
	if t.Sub != nil {
		return t.Sub
	}
	return t.Attr
}

// checkCompare rejects comparisons whose value cannot match the attribute's
// type, so that a client learns about `active eq "yes"` or `userName gt 5`
// instead of getting an empty list, or, worse, a list from a comparison of
// the number's text with the attribute's. null stays allowed with eq and ne:
// it tests whether the attribute has a value.
func checkCompare(rt *ResourceType, t Target, e *CompareExpr) error {
	a := t.Leaf()
	if e.Op == "pr" {
		return nil
	}
	if a.Type == TypeComplex {
		return roster.SCIMErrorf(roster.ScimInvalidFilter, "%q is a complex attribute and cannot be compared with %s", e.Path.String(), e.Op)
	}
	switch e.Op {
	case "co", "sw", "ew":
		if _, ok := e.Value.(string); !ok || a.Type == TypeBoolean {
			return roster.SCIMErrorf(roster.ScimInvalidFilter, "operator %s needs a string value and a string attribute (%q)", e.Op, e.Path.String())
		}
	case "gt", "ge", "lt", "le":
		if a.Type == TypeBoolean || e.Value == nil {
			return roster.SCIMErrorf(roster.ScimInvalidFilter, "operator %s cannot compare %q with %v", e.Op, e.Path.String(), e.Value)
		}
	}
	if e.Value == nil {
		return nil // eq null, ne null: the operators above refused null
	}
	if v, ok := e.Value.(string); ok && (strings.ContainsRune(v, 0) || !utf8.ValidString(v)) {
		// PostgreSQL refuses such a value as a query argument, so one store
		// would fail where the other answers: both refuse it here.
		return roster.SCIMErrorf(roster.ScimInvalidFilter, "the value compared with %q contains a NUL character or invalid UTF-8; filter values must be UTF-8 text", e.Path.String())
	}
	switch a.Type {
	case TypeBoolean:
		if _, ok := AsBool(e.Value); !ok {
			return roster.SCIMErrorf(roster.ScimInvalidFilter, "%q is a boolean: compare it with true or false", e.Path.String())
		}
	case TypeDateTime:
		if s, ok := e.Value.(string); !ok || !validDateTime(s) {
			return roster.SCIMErrorf(roster.ScimInvalidFilter, "%q is a dateTime: compare it with a string like \"2024-01-31T12:00:00Z\"", e.Path.String())
		}
	case TypeInteger, TypeDecimal:
		if _, ok := e.Value.(json.Number); !ok {
			return roster.SCIMErrorf(roster.ScimInvalidFilter, "%q is %s attribute: compare it with a number, not %s", e.Path.String(), article(a.Type), valueText(e.Value))
		}
	default: // string, reference, binary
		if _, ok := e.Value.(string); !ok {
			return roster.SCIMErrorf(roster.ScimInvalidFilter, "%q is %s attribute: compare it with a quoted string, not %s", e.Path.String(), article(a.Type), valueText(e.Value))
		}
	}
	return nil
}

// valueText writes a comparison value as it appears in a filter, so that
// an error quotes the client's own value: 5, true, "5".
func valueText(v any) string {
	var b strings.Builder
	filterFormatValue(&b, v)
	return b.String()
}

// article returns an attribute type with its indefinite article.
func article(typ string) string {
	if typ == TypeInteger {
		return "an " + typ
	}
	return "a " + typ
}
