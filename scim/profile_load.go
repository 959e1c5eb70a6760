package scim

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/roster-scim/roster"
	"go.yaml.in/yaml/v3"
)

// builtinFiles are the built-in profiles, one YAML file each, named after
// the profile. They are YAML so that each can cite the seed document its
// attribute table comes from.
//
//go:embed profiles/*.yaml
var builtinFiles embed.FS

// builtins parses the built-in profiles once. A broken one is a bug in this
// package, caught by its tests, so it panics rather than burden every
// caller with an error that cannot happen in a released binary.
var builtins = sync.OnceValue(func() []*Profile {
	names, err := builtinFiles.ReadDir("profiles")
	if err != nil {
		panic(err)
	}
	var out []*Profile
	for _, e := range names {
		data, err := builtinFiles.ReadFile("profiles/" + e.Name())
		if err != nil {
			panic(err)
		}
		p, err := ParseProfile(data, "yaml")
		if err == nil && p.Name+".yaml" != e.Name() {
			err = fmt.Errorf("the file is named %s", e.Name())
		}
		if err != nil {
			panic(fmt.Sprintf("built-in profile %s: %v", e.Name(), err))
		}
		out = append(out, p)
	}
	// The default first, the app presets in name order after it.
	slices.SortStableFunc(out, func(a, b *Profile) int {
		if (a.Name == DefaultProfile) != (b.Name == DefaultProfile) {
			if a.Name == DefaultProfile {
				return -1
			}
			return 1
		}
		return strings.Compare(a.Name, b.Name)
	})
	return out
})

// BuiltinProfiles returns the profiles Roster ships: generic (the default)
// and one preset per app of the seed documents. The profiles are shared and
// must not be changed.
func BuiltinProfiles() []*Profile {
	return slices.Clone(builtins())
}

// LoadProfile reads a custom profile from a .json, .yaml or .yml file.
// Errors name the file and the offending field, e.g.
// `profile acme.yaml: resourceTypes.User.required[1]: "name.givenNam" names
// no attribute of User`.
func LoadProfile(path string) (*Profile, error) {
	format := strings.TrimPrefix(strings.ToLower(filepath.Ext(path)), ".")
	if format == "yml" {
		format = "yaml"
	}
	if format != "json" && format != "yaml" {
		return nil, fmt.Errorf("profile %s: unknown file type %q; use .json, .yaml or .yml", path, filepath.Ext(path))
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("profile: %w", err)
	}
	p, err := ParseProfile(data, format)
	if err != nil {
		return nil, fmt.Errorf("profile %s: %w", path, err)
	}
	return p, nil
}

// ParseProfile parses and compiles a profile document; format is "json" or
// "yaml". YAML is read into plain values and decoded as JSON, so that both
// formats have one set of field names and one set of checks.
func ParseProfile(data []byte, format string) (*Profile, error) {
	switch format {
	case "json":
	case "yaml":
		var doc any
		if err := yaml.Unmarshal(data, &doc); err != nil {
			return nil, err
		}
		var err error
		if data, err = json.Marshal(doc); err != nil {
			return nil, fmt.Errorf("YAML keys must be plain strings: %w", err)
		}
	default:
		return nil, fmt.Errorf("unknown profile format %q; use json or yaml", format)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields() // a misspelt "requird" must not silently require nothing
	var p Profile
	if err := dec.Decode(&p); err != nil {
		var syn *json.SyntaxError
		switch {
		case errors.Is(err, io.EOF):
			return nil, errors.New("the file is empty")
		case errors.As(err, &syn):
			return nil, fmt.Errorf("line %d: %w", 1+bytes.Count(data[:syn.Offset], []byte("\n")), err)
		}
		return nil, err
	}
	if dec.More() {
		return nil, errors.New("data after the profile object")
	}
	if err := p.compile(); err != nil {
		return nil, err
	}
	return &p, nil
}

// profileName is what a profile name may be: it is typed on command lines
// and stored with directories.
var profileName = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)

// compile checks the exported fields and builds the rules and the
// advertised registry from them.
func (p *Profile) compile() error {
	if p.Name == "" {
		return errors.New("name: missing; give the profile a name such as \"acme-hr\"")
	}
	if !profileName.MatchString(p.Name) {
		return fmt.Errorf("name: %q may hold only lower-case letters, digits and dashes", p.Name)
	}
	if len(p.ResourceTypes) == 0 {
		return errors.New("resourceTypes: missing; give the rules for User and/or Group")
	}
	base := NewRegistry()
	p.types = map[string]*typeRules{}
	p.advertised = &Registry{}
	// Keys in the base registry's order, so that /Schemas lists User first.
	for _, brt := range base.ResourceTypes {
		var key string
		for k := range p.ResourceTypes {
			if strings.EqualFold(k, brt.Name) {
				key = k
			}
		}
		if key == "" {
			continue
		}
		rp := p.ResourceTypes[key]
		if rp == nil {
			return fmt.Errorf("resourceTypes.%s: empty", key)
		}
		tr, err := compileType(rp, brt, "resourceTypes."+key)
		if err != nil {
			return err
		}
		p.types[brt.Name] = tr
		adv := tr.advertise()
		p.advertised.ResourceTypes = append(p.advertised.ResourceTypes, adv)
		for _, s := range append([]*Schema{adv.Core}, adv.Ext...) {
			if p.advertised.Schema(s.ID) == nil {
				p.advertised.Schemas = append(p.advertised.Schemas, s)
			}
		}
	}
	for k := range p.ResourceTypes {
		if base.ResourceType(k) == nil {
			return fmt.Errorf("resourceTypes.%s: unknown resource type; use User or Group", k)
		}
	}
	return nil
}

// compileType compiles the rules of one resource type. base is a fresh
// copy from NewRegistry, so the profile may own it. where prefixes errors.
func compileType(rp *ResourceProfile, base *ResourceType, where string) (*typeRules, error) {
	rt := *base
	rt.Ext = nil
	for i, s := range rp.Extensions {
		w := fmt.Sprintf("%s.extensions[%d]", where, i)
		if err := checkSchema(s, w); err != nil {
			return nil, err
		}
		if rt.Extension(s.ID) != nil || base.Extension(s.ID) != nil || strings.EqualFold(s.ID, base.SchemaURN) {
			return nil, fmt.Errorf("%s.id: %s is already a schema of %s", w, s.ID, base.Name)
		}
		rt.Ext = append(rt.Ext, s)
	}
	// The profile's extensions first, so that an unqualified name (Entra's
	// bare "manager") finds the profile's attribute before the RFC one.
	rt.Ext = append(rt.Ext, base.Ext...)
	rt.Extensions = []SchemaExtension{}
	for _, s := range rt.Ext {
		rt.Extensions = append(rt.Extensions, SchemaExtension{Schema: s.ID})
	}
	tr := &typeRules{rt: &rt, supported: map[string][]profilePath{}}

	var err error
	if tr.allSupported, err = wildcard(rp.Supported, where+".supported"); err != nil {
		return nil, err
	}
	if len(rp.Supported) == 0 {
		return nil, fmt.Errorf("%s.supported: missing; list the attributes the application takes, or \"*\" for all", where)
	}
	for i, s := range rp.Supported {
		if tr.allSupported {
			break
		}
		pp, err := tr.path(s, fmt.Sprintf("%s.supported[%d]", where, i), true)
		if err != nil {
			return nil, err
		}
		if pp.t.WholeExt {
			tr.supported[attrKey(pp.t.Ext, "")] = append(tr.supported[attrKey(pp.t.Ext, "")], pp)
		} else {
			tr.supported[attrKey(pp.t.Ext, pp.t.Attr.Name)] = append(tr.supported[attrKey(pp.t.Ext, pp.t.Attr.Name)], pp)
		}
	}
	// Group members are always supported: membership is what group
	// provisioning is for. Listing them here makes /Schemas show them.
	if base.Name == GroupType && !tr.allSupported {
		members := profilePath{text: "members", t: Target{Attr: base.Core.Attr("members")}}
		tr.supported[attrKey("", "members")] = append(tr.supported[attrKey("", "members")], members)
	}
	// The RFC's required attributes (userName, a group's displayName) are
	// what the store identifies a resource by.
	for _, a := range base.Core.Attributes {
		if a.Required && !tr.supports(profilePath{t: Target{Attr: a}}) {
			return nil, fmt.Errorf("%s.supported: must include %s, which identifies a %s", where, a.Name, base.Name)
		}
	}
	for i, s := range rp.Required {
		pp, err := tr.supportedPath(s, fmt.Sprintf("%s.required[%d]", where, i))
		if err != nil {
			return nil, err
		}
		tr.required = append(tr.required, pp)
	}
	if tr.allFilterable, err = wildcard(rp.Filterable, where+".filterable"); err != nil {
		return nil, err
	}
	for i, s := range rp.Filterable {
		if tr.allFilterable {
			break
		}
		pp, err := tr.filterablePath(s, base, fmt.Sprintf("%s.filterable[%d]", where, i))
		if err != nil {
			return nil, err
		}
		tr.filterable = append(tr.filterable, pp)
	}
	for i, r := range rp.Rules {
		vr, err := tr.rule(r, fmt.Sprintf("%s.rules[%d]", where, i))
		if err != nil {
			return nil, err
		}
		tr.rules = append(tr.rules, vr)
	}
	for i, m := range rp.MemberTypes {
		w := fmt.Sprintf("%s.memberTypes[%d]", where, i)
		switch {
		case base.Name != GroupType:
			return nil, fmt.Errorf("%s: only Group has members", w)
		case strings.EqualFold(m, UserType):
			tr.memberTypes = append(tr.memberTypes, UserType)
		case strings.EqualFold(m, GroupType):
			tr.memberTypes = append(tr.memberTypes, GroupType)
		default:
			return nil, fmt.Errorf("%s: %q is no member type; use User or Group", w, m)
		}
	}
	return tr, nil
}

// wildcard reports whether a list is ["*"]; "*" among other entries is an
// error, since it would make them meaningless.
func wildcard(list []string, where string) (bool, error) {
	if !slices.Contains(list, "*") {
		return false, nil
	}
	if len(list) > 1 {
		return false, fmt.Errorf("%s: \"*\" must be the only entry", where)
	}
	return true, nil
}

// path resolves one attribute path of the profile. Value filters are
// allowed on multi-valued complex attributes only; whole extensions only
// when wholeExt is set (in supported).
func (tr *typeRules) path(text, where string, wholeExt bool) (profilePath, error) {
	text = strings.TrimSpace(text)
	t, filter, ok, err := resolveKey(tr.rt, text)
	switch {
	case err != nil:
		return profilePath{}, fmt.Errorf("%s: %q is not an attribute path: %s", where, text, roster.ErrorMessage(err))
	case !ok:
		return profilePath{}, fmt.Errorf("%s: %q names no attribute of %s", where, text, tr.rt.Name)
	case t.WholeExt && !wholeExt:
		return profilePath{}, fmt.Errorf("%s: %q is a whole extension; name one of its attributes", where, text)
	case t.WholeExt:
		return profilePath{text: text, t: t}, nil
	}
	if filter != nil {
		if !t.Attr.MultiValued || t.Attr.Type != TypeComplex {
			return profilePath{}, fmt.Errorf("%s: %q: only multi-valued complex attributes take a [filter]", where, text)
		}
		parent := Target{Ext: t.Ext, Attr: t.Attr}
		if filter, err = tr.rt.resolve(filter, &parent); err != nil {
			return profilePath{}, fmt.Errorf("%s: %q: %s", where, text, roster.ErrorMessage(err))
		}
	}
	return profilePath{text: text, t: t, filter: filter}, nil
}

// supportedPath resolves a path of required or rules, which must name data
// the profile supports: requiring a value that would be dropped could never
// be met.
func (tr *typeRules) supportedPath(text, where string) (profilePath, error) {
	pp, err := tr.path(text, where, false)
	if err != nil {
		return pp, err
	}
	if pp.t.Common && pp.t.Attr.Name != "externalId" {
		return pp, fmt.Errorf("%s: %s is assigned by the server", where, pp.text)
	}
	if !tr.supports(pp) {
		return pp, fmt.Errorf("%s: %q is not in supported", where, pp.text)
	}
	return pp, nil
}

// filterablePath resolves a filterable path. It must be supported (or a
// common attribute such as meta.lastModified) and known to the base
// registry, because the store compiles filters against the RFC schemas.
func (tr *typeRules) filterablePath(text string, base *ResourceType, where string) (profilePath, error) {
	pp, err := tr.path(text, where, false)
	if err != nil {
		return pp, err
	}
	if !pp.t.Common && !tr.supports(pp) {
		return pp, fmt.Errorf("%s: %q is not in supported", where, pp.text)
	}
	if _, ok := base.Lookup(pp.t.Path()); !ok {
		return pp, fmt.Errorf("%s: %q cannot be filtered on: filters run on core, enterprise 2.0 and common attributes only", where, pp.text)
	}
	return pp, nil
}

// supports reports whether the supported paths cover pp: the same
// attribute, and the same sub-attribute and filter unless the supported
// entry has none.
func (tr *typeRules) supports(pp profilePath) bool {
	entries, whole := tr.entries(pp.t.Ext, pp.t.Attr.Name)
	if whole {
		return true
	}
	for _, e := range entries {
		if e.t.Sub != nil && (pp.t.Sub == nil || e.t.Sub.Name != pp.t.Sub.Name) {
			continue
		}
		if e.filter != nil && (pp.filter == nil || FormatFilter(e.filter) != FormatFilter(pp.filter)) {
			continue
		}
		return true
	}
	return false
}

// rule compiles one value rule.
func (tr *typeRules) rule(r Rule, where string) (valueRule, error) {
	pp, err := tr.supportedPath(r.Attribute, where+".attribute")
	if err != nil {
		return valueRule{}, err
	}
	if leaf := pp.t.Leaf(); leaf.Type != TypeString && leaf.Type != TypeReference {
		return valueRule{}, fmt.Errorf("%s.attribute: %s is a %s; rules apply to strings", where, pp.text, leaf.Type)
	}
	switch {
	case (r.Format == "") == (r.Pattern == ""):
		return valueRule{}, fmt.Errorf("%s: give either format or pattern", where)
	case r.Format != "":
		f, ok := formats[strings.ToLower(r.Format)]
		if !ok {
			return valueRule{}, fmt.Errorf("%s.format: unknown format %q; known: e164", where, r.Format)
		}
		return valueRule{path: pp, re: regexp.MustCompile(f.pattern), must: f.must}, nil
	}
	re, err := regexp.Compile(r.Pattern)
	if err != nil {
		return valueRule{}, fmt.Errorf("%s.pattern: %v", where, err)
	}
	return valueRule{path: pp, re: re, must: "must match " + r.Pattern}, nil
}

// attrName is what RFC 7643 §2.1 allows as an attribute name, plus "$ref".
var attrName = regexp.MustCompile(`^(\$ref|[A-Za-z][A-Za-z0-9_-]*)$`)

// checkSchema checks an extension schema of a profile file and fills in the
// characteristics RFC 7643 §2.2 gives as defaults.
func checkSchema(s *Schema, where string) error {
	if s == nil {
		return fmt.Errorf("%s: empty", where)
	}
	if !strings.HasPrefix(strings.ToLower(s.ID), "urn:") {
		return fmt.Errorf("%s.id: %q must be a URN such as urn:example:params:scim:schemas:extension:acme:2.0:User", where, s.ID)
	}
	if s.Name == "" {
		s.Name = s.ID[strings.LastIndex(s.ID, ":")+1:]
	}
	if len(s.Attributes) == 0 {
		return fmt.Errorf("%s.attributes: missing", where)
	}
	return checkAttrs(s.Attributes, where+".attributes", true)
}

var attrTypes = []string{TypeString, TypeBoolean, TypeDecimal, TypeInteger, TypeDateTime, TypeReference, TypeComplex, TypeBinary}

// checkAttrs checks attribute definitions; complex ones are allowed at the
// top level only, as RFC 7643 §2.3.8 says.
func checkAttrs(attrs []*Attribute, where string, top bool) error {
	seen := map[string]bool{}
	for i, a := range attrs {
		w := fmt.Sprintf("%s[%d]", where, i)
		switch {
		case a == nil:
			return fmt.Errorf("%s: empty", w)
		case !attrName.MatchString(a.Name):
			return fmt.Errorf("%s.name: %q is no attribute name (a letter, then letters, digits, _ or -)", w, a.Name)
		case seen[strings.ToLower(a.Name)]:
			return fmt.Errorf("%s.name: %q is defined twice", w, a.Name)
		case !slices.Contains(attrTypes, a.Type):
			return fmt.Errorf("%s.type: %q is no SCIM type; use one of %s", w, a.Type, strings.Join(attrTypes, ", "))
		case a.Required:
			return fmt.Errorf("%s.required: list required attributes in the resource type's required instead", w)
		case a.Type == TypeComplex && !top:
			return fmt.Errorf("%s.type: a sub-attribute cannot be complex", w)
		case a.Type == TypeComplex && len(a.SubAttributes) == 0:
			return fmt.Errorf("%s.subAttributes: a complex attribute needs sub-attributes", w)
		case a.Type != TypeComplex && len(a.SubAttributes) > 0:
			return fmt.Errorf("%s.subAttributes: only complex attributes have sub-attributes", w)
		}
		seen[strings.ToLower(a.Name)] = true
		for _, c := range []struct {
			field string
			v     *string
			def   string
			ok    []string
		}{
			{"mutability", &a.Mutability, ReadWrite, []string{ReadOnly, ReadWrite, Immutable, WriteOnly}},
			{"returned", &a.Returned, ReturnedDefault, []string{ReturnedAlways, ReturnedNever, ReturnedDefault, ReturnedRequest}},
			{"uniqueness", &a.Uniqueness, "none", []string{"none", "server", "global"}},
		} {
			if *c.v == "" {
				*c.v = c.def
			} else if !slices.Contains(c.ok, *c.v) {
				return fmt.Errorf("%s.%s: %q is not one of %s", w, c.field, *c.v, strings.Join(c.ok, ", "))
			}
		}
		if err := checkAttrs(a.SubAttributes, w+".subAttributes", false); err != nil {
			return err
		}
	}
	return nil
}

// advertise builds the resource type /ResourceTypes shows: only supported
// attributes, required ones marked.
func (tr *typeRules) advertise() *ResourceType {
	rt := *tr.rt
	rt.Core = tr.schema(tr.rt.Core, "")
	rt.Ext, rt.Extensions = nil, []SchemaExtension{}
	for _, s := range tr.rt.Ext {
		if ps := tr.schema(s, s.ID); len(ps.Attributes) > 0 {
			required := slices.ContainsFunc(tr.required, func(pp profilePath) bool { return pp.t.Ext == s.ID })
			rt.Ext = append(rt.Ext, ps)
			rt.Extensions = append(rt.Extensions, SchemaExtension{Schema: s.ID, Required: required})
		}
	}
	return &rt
}

// schema returns a copy of s with the supported attributes only.
func (tr *typeRules) schema(s *Schema, ext string) *Schema {
	out := &Schema{ID: s.ID, Name: s.Name, Description: s.Description, Attributes: []*Attribute{}}
	for _, a := range s.Attributes {
		entries, whole := tr.entries(ext, a.Name)
		switch {
		case whole:
			out.Attributes = append(out.Attributes, a.clone())
		case len(entries) > 0:
			out.Attributes = append(out.Attributes, supportedSubs(a, entries))
		}
	}
	for _, pp := range tr.required {
		if a := out.Attr(pp.t.Attr.Name); a != nil && pp.t.Ext == ext {
			a.Required = true
			if pp.t.Sub != nil {
				a.Sub(pp.t.Sub.Name).Required = true
			}
		}
	}
	return out
}

// supportedSubs returns a copy of a complex attribute with the
// sub-attributes Prune keeps. When every entry filters on type, type's
// canonical values become the filtered ones, so that /Schemas says that
// only work phone numbers are taken.
func supportedSubs(a *Attribute, entries []profilePath) *Attribute {
	keep, types, allTyped := map[string]bool{"primary": a.MultiValued}, []string{}, true
	for _, e := range entries {
		if e.t.Sub == nil {
			return a.clone()
		}
		keep[e.t.Sub.Name] = true
		for _, s := range filterSubs(e.filter) {
			keep[s] = true
		}
		seed, _ := seedFromFilter(e.filter)
		typ, ok := seed["type"].(string)
		allTyped = allTyped && ok
		types = append(types, typ)
	}
	c := *a
	c.SubAttributes = nil
	for _, s := range a.SubAttributes {
		if keep[s.Name] {
			sc := s.clone()
			if sc.Name == "type" && allTyped {
				slices.Sort(types)
				sc.CanonicalValues = slices.Compact(types)
			}
			c.SubAttributes = append(c.SubAttributes, sc)
		}
	}
	return &c
}

// clone returns a deep copy, so that a profile's advertised schema can mark
// attributes required without changing the shared definitions.
func (a *Attribute) clone() *Attribute {
	c := *a
	c.CanonicalValues = slices.Clone(a.CanonicalValues)
	c.ReferenceTypes = slices.Clone(a.ReferenceTypes)
	c.SubAttributes = nil
	for _, s := range a.SubAttributes {
		c.SubAttributes = append(c.SubAttributes, s.clone())
	}
	return &c
}

// ProfileSet is the profiles a server offers: the built-in ones and custom
// ones loaded at start. A nil or zero ProfileSet offers the built-in ones.
// It is filled before the server starts and only read afterwards, so it
// needs no lock. It is a flag.Value (see Set) so that a command's
// --profiles flag can fill it.
type ProfileSet struct {
	custom []*Profile
	files  []string
}

// NewProfileSet returns the built-in profiles plus custom ones.
func NewProfileSet(custom ...*Profile) (*ProfileSet, error) {
	s := &ProfileSet{}
	for _, p := range custom {
		if err := s.Add(p); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Add adds a custom profile. Its name must be new: a directory's profile
// must mean one thing, so a custom profile cannot shadow a built-in one.
func (s *ProfileSet) Add(p *Profile) error {
	if s.Lookup(p.Name) != nil {
		return fmt.Errorf("profile %q already exists; give the custom profile another name", p.Name)
	}
	s.custom = append(s.custom, p)
	return nil
}

// Lookup returns the profile with the given name, or nil. "" is the
// default profile, the one directories created before profiles existed
// have.
func (s *ProfileSet) Lookup(name string) *Profile {
	if name == "" {
		name = DefaultProfile
	}
	var custom []*Profile
	if s != nil {
		custom = s.custom
	}
	// Every SCIM request looks its profile up: no copies here.
	for _, list := range [][]*Profile{builtins(), custom} {
		for _, p := range list {
			if strings.EqualFold(p.Name, name) {
				return p
			}
		}
	}
	return nil
}

// All returns the built-in profiles, then the custom ones.
func (s *ProfileSet) All() []*Profile {
	out := BuiltinProfiles()
	if s != nil {
		out = append(out, s.custom...)
	}
	return out
}

// Set loads custom profile files, comma-separated, and adds them; it makes
// a ProfileSet a flag.Value, so the flag may also be repeated.
func (s *ProfileSet) Set(files string) error {
	for _, f := range strings.Split(files, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		p, err := LoadProfile(f)
		if err != nil {
			return err
		}
		if err := s.Add(p); err != nil {
			return fmt.Errorf("profile %s: %w", f, err)
		}
		s.files = append(s.files, f)
	}
	return nil
}

// String returns the custom profile files loaded, comma-separated.
func (s *ProfileSet) String() string {
	if s == nil {
		return ""
	}
	return strings.Join(s.files, ",")
}
