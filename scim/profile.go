package scim

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/roster-scim/roster"
)

// DefaultProfile is the profile of a directory that names none: the RFC
// schemas with everything supported, which is what Roster served before
// profiles existed.
const DefaultProfile = "generic"

// Profile is an attribute profile: the part of SCIM one application takes.
// Each app in Entra's gallery publishes an attribute table (which attributes
// it supports, which it requires, which it can filter on); a profile
// reproduces that table so that Roster answers an IdP the way the app
// would, and so that /Schemas tells the IdP the truth.
//
// The exported fields are the file format (JSON or YAML, see LoadProfile);
// a Profile is compiled when it is loaded and read-only afterwards, so one
// value serves concurrent requests.
type Profile struct {
	// Name is how a directory refers to the profile.
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// ResourceTypes holds the rules per resource type ("User", "Group").
	// A resource type that is missing is not served: Workplace takes no
	// groups, so its /Groups answers 404.
	ResourceTypes map[string]*ResourceProfile `json:"resourceTypes"`

	types      map[string]*typeRules // compiled ResourceTypes, by canonical name
	advertised *Registry
}

// ResourceProfile is what a profile says about one resource type. Paths are
// attribute paths as IdPs write them in attribute mappings: `userName`,
// `name.givenName`, `emails[type eq "work"].value`,
// `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department`.
type ResourceProfile struct {
	// Extensions are extension schemas the application adds, such as
	// Workplace's urn:scim:schemas:extension:facebook:frontline:1.0.
	Extensions []*Schema `json:"extensions,omitempty"`
	// Supported lists what the application stores; everything else a
	// client sends is dropped, as unknown attributes are, and reported so
	// that the request log can say why a value did not stick. ["*"]
	// supports every attribute. A value filter keeps only the matching
	// values: `phoneNumbers[type eq "work"].value` drops a mobile number.
	// Group members are always supported.
	Supported []string `json:"supported"`
	// Required lists attributes a resource must have after every write.
	Required []string `json:"required,omitempty"`
	// Filterable lists the attributes list filters may use; ["*"] allows
	// all. id is always filterable: IdPs probe resources by id.
	Filterable []string `json:"filterable,omitempty"`
	// Rules constrain the values of string attributes.
	Rules []Rule `json:"rules,omitempty"`
	// MemberTypes lists the resource types a group's members may be
	// ("User", "Group"); empty allows both.
	MemberTypes []string `json:"memberTypes,omitempty"`
}

// Rule constrains the values at an attribute path: either a named Format
// or a regular expression Pattern.
type Rule struct {
	Attribute string `json:"attribute"`
	// Format is a named rule; "e164" is the only one so far.
	Format string `json:"format,omitempty"`
	// Pattern is a Go regular expression values must match; anchor it
	// (^…$) to constrain the whole value.
	Pattern string `json:"pattern,omitempty"`
}

// formats are the named rules: a pattern and how a violation is explained.
var formats = map[string]struct{ pattern, must string }{
	// E.164: a plus, a country code that does not start with 0, at most
	// 15 digits in all. Meta Networks Connector asks for it (seed 000).
	"e164": {`^\+[1-9]\d{1,14}$`, "must be an E.164 number such as +14155550100"},
}

// typeRules is a ResourceProfile compiled against its resource type.
type typeRules struct {
	// rt is what requests are parsed against: every attribute Roster
	// knows plus the profile's extensions, so that an unsupported
	// attribute is recognised (and reported) rather than unknown.
	rt            *ResourceType
	allSupported  bool
	allFilterable bool
	// supported holds the supported paths by attrKey; a whole extension
	// is under attrKey(ext, "").
	supported   map[string][]profilePath
	required    []profilePath
	filterable  []profilePath
	rules       []valueRule
	memberTypes []string // nil: any
}

// profilePath is one attribute path of a profile, resolved.
type profilePath struct {
	text   string // as written in the profile, for messages
	t      Target
	filter Expr // the resolved value filter, or nil
}

// valueRule is a compiled Rule.
type valueRule struct {
	path profilePath
	re   *regexp.Regexp
	must string // how a violation is explained
}

// attrKey indexes supported paths by extension and attribute name (both
// canonical, as resolved).
func attrKey(ext, attr string) string { return ext + "\x00" + attr }

// rules returns the compiled rules of a resource type, or nil when the
// profile does not serve it.
func (p *Profile) rules(rt *ResourceType) *typeRules {
	if rt == nil {
		return nil
	}
	return p.types[rt.Name]
}

// ResourceType returns the resource type requests to a directory with this
// profile are parsed against, or nil when the profile does not serve it.
// It knows every attribute (so that unsupported ones can be reported, see
// Prune) plus the profile's extensions; /ResourceTypes shows Registry's.
func (p *Profile) ResourceType(name string) *ResourceType {
	for _, tr := range p.types {
		if strings.EqualFold(tr.rt.Name, name) {
			return tr.rt
		}
	}
	return nil
}

// Registry returns the schemas and resource types as the profile shows
// them on /Schemas and /ResourceTypes: only supported attributes, with the
// profile's required attributes marked required.
func (p *Profile) Registry() *Registry {
	return p.advertised
}

// MemberTypes returns the resource types a group's members may be, or nil
// when any is allowed. The HTTP layer looks up member types only when it
// has to, since the store's membership operations carry ids alone.
func (p *Profile) MemberTypes(rt *ResourceType) []string {
	if tr := p.rules(rt); tr != nil {
		return tr.memberTypes
	}
	return nil
}

// Prune returns attrs (a normalized document) without what the profile
// does not support, and the paths it dropped, sorted, such as
// `nickName` or `phoneNumbers[type eq "mobile"]`. RFC 7644 lets a server
// ignore attributes it does not support; the dropped paths are for the
// request log, which is where an administrator finds out why a value did
// not stick. Within a kept value of a multi-valued attribute, the
// sub-attributes its filter tests (type) and primary are kept too: they
// say which value it is. attrs is not changed.
func (p *Profile) Prune(rt *ResourceType, attrs map[string]any) (map[string]any, []string) {
	tr := p.rules(rt)
	if tr == nil || tr.allSupported {
		return attrs, nil
	}
	pr := &pruner{tr: tr}
	out := make(map[string]any, len(attrs))
	for _, k := range sortedKeys(attrs) {
		if ext := rt.Extension(k); ext != nil {
			m, _ := attrs[k].(map[string]any)
			kept := map[string]any{}
			for _, ak := range sortedKeys(m) {
				pr.attr(kept, Target{Ext: ext.ID, Attr: ext.Attr(ak)}, ak, m[ak])
			}
			if len(kept) > 0 {
				out[k] = kept
			}
			continue
		}
		t := Target{Attr: rt.Core.Attr(k)}
		if t.Attr == nil {
			t.Attr, t.Common = Common(k), true
		}
		pr.attr(out, t, k, attrs[k])
	}
	slices.Sort(pr.dropped)
	return out, slices.Compact(pr.dropped)
}

// pruner collects the dropped paths of one Prune.
type pruner struct {
	tr      *typeRules
	dropped []string
}

// attr copies the supported part of one attribute's value into dst.
func (pr *pruner) attr(dst map[string]any, t Target, key string, v any) {
	if t.Attr == nil { // not an attribute of the resource type: never stored
		pr.dropped = append(pr.dropped, key)
		return
	}
	entries, whole := pr.tr.entries(t.Ext, t.Attr.Name)
	switch {
	case whole:
		dst[key] = v
	case len(entries) == 0:
		pr.dropped = append(pr.dropped, t.Path().String())
	case t.Attr.MultiValued:
		var kept []any
		for _, e := range asList(v) {
			if el, ok := e.(map[string]any); ok {
				if k := pr.element(t, entries, el); k != nil {
					kept = append(kept, k)
				}
			}
		}
		if len(kept) > 0 {
			dst[key] = kept
		}
	default: // a single complex attribute with some sub-attributes supported
		m, _ := v.(map[string]any)
		if k := pr.subs(t.Path().String(), entries, m, nil); k != nil {
			dst[key] = k
		}
	}
}

// element returns the supported part of one value of a multi-valued
// attribute, or nil when no supported path takes it.
func (pr *pruner) element(t Target, entries []profilePath, el map[string]any) map[string]any {
	label := t.Path().String()
	if typ, ok := el["type"].(string); ok {
		label += fmt.Sprintf("[type eq %q]", typ)
	}
	var matched []profilePath
	for _, e := range entries {
		if e.filter == nil || matchElement(e.filter, el, t.Attr) {
			if e.t.Sub == nil {
				return el // the whole value is supported
			}
			matched = append(matched, e)
		}
	}
	if len(matched) == 0 {
		pr.dropped = append(pr.dropped, label)
		return nil
	}
	return pr.subs(label, matched, el, []string{"primary"})
}

// subs returns the sub-attributes of a complex value that the entries
// name, plus those their filters test and the extra ones, or nil when none
// of the named ones is there.
func (pr *pruner) subs(label string, entries []profilePath, m map[string]any, extra []string) map[string]any {
	named, keep := map[string]bool{}, map[string]bool{}
	for _, e := range entries {
		named[e.t.Sub.Name] = true
		for _, s := range filterSubs(e.filter) {
			keep[s] = true
		}
	}
	for _, s := range extra {
		keep[s] = true
	}
	out, data := map[string]any{}, false
	for _, k := range sortedKeys(m) {
		switch {
		case named[k]:
			out[k], data = m[k], true
		case keep[k]:
			out[k] = m[k]
		default:
			pr.dropped = append(pr.dropped, label+"."+k)
		}
	}
	if !data {
		return nil
	}
	return out
}

// filterSubs returns the sub-attribute names a resolved value filter tests.
func filterSubs(e Expr) []string {
	switch e := e.(type) {
	case *LogicalExpr:
		return append(filterSubs(e.Left), filterSubs(e.Right)...)
	case *NotExpr:
		return filterSubs(e.X)
	case *CompareExpr:
		return []string{e.Path.Attr}
	}
	return nil
}

// entries returns the supported paths of one attribute, and whether the
// attribute is supported as a whole (listed without a filter or a
// sub-attribute, or by its whole extension).
func (tr *typeRules) entries(ext, attr string) ([]profilePath, bool) {
	if tr.allSupported || len(tr.supported[attrKey(ext, "")]) > 0 {
		return nil, true
	}
	entries := tr.supported[attrKey(ext, attr)]
	for _, e := range entries {
		if e.t.Sub == nil && e.filter == nil {
			return nil, true
		}
	}
	return entries, false
}

// Validate checks a document about to be stored (after Normalize and
// Prune, or after ApplyPatch) against the profile: required attributes,
// value rules, and the types of the group members being added (members,
// with Type set; the caller looks types up only when MemberTypes is not
// nil). Errors are invalidValue and name the attribute, the rule and the
// profile, because an IdP administrator reads them in a provisioning log.
func (p *Profile) Validate(rt *ResourceType, attrs map[string]any, members ...Member) error {
	tr := p.rules(rt)
	if tr == nil {
		return nil
	}
	for _, rp := range tr.required {
		if len(rp.values(attrs)) == 0 {
			return roster.SCIMErrorf(roster.ScimInvalidValue, "%s is required by profile %s", rp.text, p.Name)
		}
	}
	for _, r := range tr.rules {
		for _, v := range r.path.values(attrs) {
			if s, ok := v.(string); ok && !r.re.MatchString(s) {
				return roster.SCIMErrorf(roster.ScimInvalidValue, "%s %q %s (profile %s)", r.path.text, s, r.must, p.Name)
			}
		}
	}
	for _, m := range members {
		if tr.memberTypes != nil && !slices.Contains(tr.memberTypes, m.Type) {
			return roster.SCIMErrorf(roster.ScimInvalidValue, "member %q is a %s, but profile %s takes only %s members",
				m.Value, m.Type, p.Name, strings.Join(tr.memberTypes, " and "))
		}
	}
	return nil
}

// values returns the non-empty values at the path in a normalized
// document: one per matching value of a multi-valued attribute.
func (pp profilePath) values(attrs map[string]any) []any {
	c := attrs
	if pp.t.Ext != "" {
		c, _ = attrs[pp.t.Ext].(map[string]any)
	}
	items := []any{c[pp.t.Attr.Name]}
	if pp.t.Attr.MultiValued {
		items = asList(items[0])
	}
	var out []any
	for _, v := range items {
		el, _ := v.(map[string]any)
		if pp.filter != nil && (el == nil || !matchElement(pp.filter, el, pp.t.Attr)) {
			continue
		}
		if pp.t.Sub != nil {
			v = el[pp.t.Sub.Name]
		}
		if s, isStr := v.(string); v == nil || isStr && strings.TrimSpace(s) == "" {
			continue
		}
		out = append(out, v)
	}
	return out
}

// CheckFilter rejects a resolved filter (ResourceType.ResolveFilter) that
// uses an attribute the profile does not let clients filter on, with an
// invalidFilter error that lists the ones it does: an IdP administrator
// picking a matching attribute needs that list.
func (p *Profile) CheckFilter(rt *ResourceType, e Expr) error {
	tr := p.rules(rt)
	if tr == nil || tr.allFilterable {
		return nil
	}
	var bad Path
	var walk func(e Expr, parent *Path) bool
	walk = func(e Expr, parent *Path) bool {
		switch e := e.(type) {
		case *LogicalExpr:
			return walk(e.Left, parent) && walk(e.Right, parent)
		case *NotExpr:
			return walk(e.X, parent)
		case *ValuePathExpr:
			return walk(e.Filter, &e.Path)
		case *CompareExpr:
			path := e.Path
			if parent != nil {
				path = Path{URN: parent.URN, Attr: parent.Attr, Sub: e.Path.Attr}
			}
			if !tr.canFilter(path) {
				bad = path
				return false
			}
		}
		return true
	}
	if walk(e, nil) {
		return nil
	}
	names := []string{"id"}
	for _, f := range tr.filterable {
		names = append(names, f.text)
	}
	return roster.SCIMErrorf(roster.ScimInvalidFilter, "filtering on %s is not supported by profile %s; filterable attributes: %s",
		bad.String(), p.Name, strings.Join(names, ", "))
}

// canFilter reports whether a canonical path is filterable. A filterable
// entry with a value filter also allows the sub-attributes it tests, so
// that `emails[type eq "work"].value` allows what Entra sends for it.
func (tr *typeRules) canFilter(path Path) bool {
	if path.URN == "" && path.Attr == "id" {
		return true
	}
	for _, f := range tr.filterable {
		if f.t.Ext != path.URN || f.t.Attr.Name != path.Attr {
			continue
		}
		if f.t.Sub == nil || f.t.Sub.Name == path.Sub || slices.Contains(filterSubs(f.filter), path.Sub) {
			return true
		}
	}
	return false
}
