package scim

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/roster-scim/roster"
)

// Resource is one stored User or Group. Attrs is the canonical document:
// attribute names spelled as in the schema, extension attributes under their
// schema URN, values already coerced to their declared types, and no
// id/meta/schemas (the store keeps those in columns). Group members are not
// in Attrs: they live in their own table and in Members when loaded.
type Resource struct {
	Type         string
	ID           string
	Attrs        map[string]any
	Members      []Member // groups only; nil unless the caller asked for members
	Groups       []Member // users only: the groups the user is a direct member of
	Created      time.Time
	LastModified time.Time
	Version      int64
}

// Member is one entry of a group's members, or of a user's groups.
type Member struct {
	Value   string // the member's (or group's) id
	Type    string // "User" or "Group"
	Display string
}

// String returns the string attribute at the top level of Attrs, or "".
func (r *Resource) String(name string) string {
	s, _ := r.Attrs[name].(string)
	return s
}

// ETag returns the weak entity tag of the resource's current version.
func (r *Resource) ETag() string {
	return `W/"` + itoa(r.Version) + `"`
}

func itoa(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// AsBool reads a boolean the way identity providers send them: a JSON
// boolean, or the strings "true"/"false" in any case (Entra sends "False").
func AsBool(v any) (bool, bool) {
	switch v := v.(type) {
	case bool:
		return v, true
	case string:
		switch strings.ToLower(strings.TrimSpace(v)) {
		case "true":
			return true, true
		case "false":
			return false, true
		}
	}
	return false, false
}

func validDateTime(s string) bool {
	_, err := time.Parse(time.RFC3339Nano, s)
	return err == nil
}

// ParseDateTime parses an xsd:dateTime value as SCIM uses it (RFC 3339).
func ParseDateTime(s string) (time.Time, bool) {
	t, err := time.Parse(time.RFC3339Nano, s)
	return t, err == nil
}

// Normalize turns a client document (POST or PUT body) into a canonical
// Attrs map. It ignores what clients may not set (id, meta, schemas,
// read-only attributes) and what the schema does not know, treats null and
// empty values as absent, accepts extension objects whether or not their URN
// is listed in schemas, and coerces "True"/"False" strings to booleans.
// Group members are returned separately, in the order given.
func Normalize(rt *ResourceType, body map[string]any) (map[string]any, []string, error) {
	if err := caseDuplicates(body); err != nil {
		return nil, nil, err
	}
	n := &normalizer{rt: rt, out: map[string]any{}}
	for _, k := range sortedKeys(body) {
		if err := n.set(k, body[k]); err != nil {
			return nil, nil, err
		}
	}
	if err := checkValueCounts(rt, n.out); err != nil {
		return nil, nil, err
	}
	return n.out, n.members, nil
}

// maxValues bounds the number of values of one multi-valued attribute. Real
// users have a handful of emails or roles; the bound keeps stored documents
// small and the work of every later PATCH on them bounded, whatever a client
// sends.
const maxValues = 1000

// checkValueCounts reports the first multi-valued attribute of doc with
// more than maxValues values, as an invalidValue error.
func checkValueCounts(rt *ResourceType, doc map[string]any) error {
	check := func(attrs []*Attribute, m map[string]any) error {
		for _, a := range attrs {
			if n := len(asList(m[a.Name])); a.MultiValued && n > maxValues {
				return roster.SCIMErrorf(roster.ScimInvalidValue, "%s may hold at most %d values, got %d", a.Name, maxValues, n)
			}
		}
		return nil
	}
	if err := check(rt.Core.Attributes, doc); err != nil {
		return err
	}
	for _, ext := range rt.Ext {
		m, _ := doc[ext.ID].(map[string]any)
		if err := check(ext.Attributes, m); err != nil {
			return err
		}
	}
	return nil
}

// normalizer accumulates the canonical document and the member ids of one
// Normalize call.
// caseDuplicates rejects an object with two keys that differ only in case,
// such as "userName" and "USERNAME": names are case-insensitive, so that is
// one attribute given twice, and which value should win is the client's
// call, not a guess of Roster's. Nested objects are checked too.
func caseDuplicates(obj map[string]any) error {
	seen := make(map[string]string, len(obj))
	for _, k := range sortedKeys(obj) {
		low := strings.ToLower(k)
		if prev, dup := seen[low]; dup {
			return roster.SCIMErrorf(roster.ScimInvalidSyntax, "%q and %q name the same attribute (names are case-insensitive); send it once", prev, k)
		}
		seen[low] = k
		if inner, ok := obj[k].(map[string]any); ok {
			if err := caseDuplicates(inner); err != nil {
				return err
			}
		}
	}
	return nil
}

type normalizer struct {
	rt      *ResourceType
	out     map[string]any
	members []string
}

// set stores the value of one document key. A key may be a plain name, a
// dotted `attr.sub`, a URN-qualified attribute or a whole extension URN.
func (n *normalizer) set(k string, v any) error {
	if v == nil {
		return nil
	}
	t, ok := lookupKey(n.rt, k)
	if !ok {
		return nil // unknown attributes are ignored, never stored (RFC 7644 §3.3)
	}
	switch {
	case t.WholeExt:
		obj, isObj := v.(map[string]any)
		if !isObj {
			return roster.SCIMErrorf(roster.ScimInvalidValue, "%s must be a JSON object", t.Ext)
		}
		// Each key of the extension object is one of its attributes, so it
		// goes through the same path as a URN-qualified key would, and the
		// two forms merge.
		for _, ek := range sortedKeys(obj) {
			if err := n.set(t.Ext+":"+ek, obj[ek]); err != nil {
				return err
			}
		}
		return nil
	case t.Common && t.Attr.Name != "externalId":
		return nil // id, meta and schemas are the server's
	case n.rt.Name == GroupType && t.Ext == "" && t.Attr.Name == "members":
		ids, err := memberIDs(v)
		if err != nil {
			return err
		}
		n.members = append(n.members, ids...)
		return nil
	}
	c := container(n.out, t.Ext)
	defer pruneExt(n.out, t.Ext)
	if t.Sub != nil {
		// A dotted key such as "name.givenName" in a document body.
		return setSubValue(c, t, v)
	}
	return setNormalized(c, t.Attr, v, t.Path().String())
}

// sortedKeys returns the keys of a client object in a fixed order, so that
// the result never depends on Go's map iteration order when two keys name
// the same attribute ("name" and "name.givenName", or an extension object
// and a URN-qualified attribute of it). Keys compare case-insensitively, so
// a whole attribute sorts before its parts and the more specific key, applied
// last, wins.
func sortedKeys(m map[string]any) []string {
	return sortKeys(slices.Collect(maps.Keys(m)))
}

// sortKeys sorts keys as sortedKeys does, in place, and returns them.
func sortKeys(keys []string) []string {
	slices.SortFunc(keys, func(a, b string) int {
		if c := strings.Compare(strings.ToLower(a), strings.ToLower(b)); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	return keys
}

// lookupKey resolves a document key, which may be a plain name, a dotted
// `attr.sub`, a URN-qualified attribute or a whole extension URN.
func lookupKey(rt *ResourceType, k string) (Target, bool) {
	t, filter, ok, err := resolveKey(rt, k)
	return t, ok && err == nil && filter == nil
}

// resolveKey resolves a document key or PATCH path. Extension URNs are
// matched before parsing, because two spellings of them are no attribute
// path: a whole extension whose URN ends in a version
// ("urn:scim:schemas:extension:facebook:frontline:1.0", a name segment may
// not start with a digit), and the legacy dot before an extension
// attribute that Entra still sends for Workplace
// ("urn:scim:schemas:extension:enterprise:1.0.department"). err is the
// parse error; ok is false when the path names no attribute.
func resolveKey(rt *ResourceType, k string) (t Target, filter Expr, ok bool, err error) {
	for _, ext := range rt.Ext {
		switch {
		case strings.EqualFold(k, ext.ID):
			return Target{Ext: ext.ID, WholeExt: true}, nil, true, nil
		case len(k) > len(ext.ID) && k[len(ext.ID)] == '.' && strings.EqualFold(k[:len(ext.ID)], ext.ID):
			k = ext.ID + ":" + k[len(ext.ID)+1:]
		}
	}
	p, err := ParsePatchPath(k)
	if err != nil {
		return Target{}, nil, false, err
	}
	t, ok = rt.Lookup(p.Path)
	return t, p.Filter, ok, nil
}

// container returns the map an attribute of the extension ext (or the core,
// for "") is stored in, creating it when needed.
func container(doc map[string]any, ext string) map[string]any {
	if ext == "" {
		return doc
	}
	m, ok := doc[ext].(map[string]any)
	if !ok {
		m = map[string]any{}
		doc[ext] = m
	}
	return m
}

// pruneExt drops the extension ext from doc when it holds nothing, so that
// an empty extension is neither stored nor listed in schemas.
func pruneExt(doc map[string]any, ext string) {
	if m, ok := doc[ext].(map[string]any); ok && len(m) == 0 {
		delete(doc, ext)
	}
}

// setSubValue sets (or, for a nil v, removes) the sub-attribute `attr.sub`
// of a single-valued complex attribute stored in c. The complex value is
// normalized as a whole afterwards, so that rules on the whole value hold:
// a manager whose value is cleared is no manager, not {"value": ""}.
func setSubValue(c map[string]any, t Target, v any) error {
	if t.Attr.MultiValued {
		return roster.SCIMErrorf(roster.ScimInvalidPath, "%q is multi-valued: use a filter such as %s[type eq \"work\"].%s", t.Path().String(), t.Attr.Name, t.Sub.Name)
	}
	merged := map[string]any{}
	if cur, ok := c[t.Attr.Name].(map[string]any); ok {
		maps.Copy(merged, cur)
	}
	merged[t.Sub.Name] = v
	p := t.Path()
	p.Sub = ""
	nv, err := normalizeSingle(t.Attr, merged, p.String())
	if err != nil {
		return err
	}
	setOrDelete(c, t.Attr.Name, nv)
	return nil
}

// discarded reports whether values of a are accepted and thrown away rather
// than stored. That is the password (writeOnly, returned never): Roster does
// not authenticate users, so it has no use for one, and a secret it never
// keeps cannot leak. Rejecting it instead would break Okta's password sync.
func discarded(a *Attribute) bool {
	return a.Returned == ReturnedNever
}

// setNormalized coerces v to attribute a and stores it in m under the
// canonical name, or deletes the name when the value is empty.
func setNormalized(m map[string]any, a *Attribute, v any, where string) error {
	if a.Mutability == ReadOnly || discarded(a) {
		return nil
	}
	nv, err := normalizeValue(a, v, where)
	if err != nil {
		return err
	}
	if nv == nil {
		delete(m, a.Name)
	} else {
		m[a.Name] = nv
	}
	return nil
}

// normalizeValue coerces a value to attribute a. It returns nil for values
// that mean "absent": null, "" for a manager, empty arrays and objects.
func normalizeValue(a *Attribute, v any, where string) (any, error) {
	if v == nil {
		return nil, nil
	}
	if a.MultiValued {
		list, ok := v.([]any)
		if !ok {
			list = []any{v} // a single value where a list belongs: be tolerant
		}
		var out []any
		for _, item := range list {
			nv, err := normalizeSingle(a, item, where)
			if err != nil {
				return nil, err
			}
			if nv != nil {
				out = append(out, nv)
			}
		}
		if len(out) == 0 {
			return nil, nil
		}
		keepOnePrimary(out, func(int) bool { return true })
		return out, nil
	}
	return normalizeSingle(a, v, where)
}

// keepOnePrimary enforces RFC 7643 §2.4: "primary": true appears at most
// once in a multi-valued attribute. The first primary value among those
// chosen (the values a request just wrote) keeps it and every other value
// gets false, which is what RFC 7644 §3.5.2 asks of a PATCH that sets
// primary on one value.
func keepOnePrimary(list []any, chosen func(i int) bool) {
	winner := -1
	for i, e := range list {
		if em, ok := e.(map[string]any); ok && em["primary"] == true && chosen(i) {
			winner = i
			break
		}
	}
	if winner < 0 {
		return
	}
	for i, e := range list {
		if em, ok := e.(map[string]any); ok && em["primary"] == true && i != winner {
			em["primary"] = false
		}
	}
}

func normalizeSingle(a *Attribute, v any, where string) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch a.Type {
	case TypeComplex:
		if a.Name == "manager" {
			return normalizeManager(a, v, where)
		}
		obj, ok := v.(map[string]any)
		if !ok {
			return nil, roster.SCIMErrorf(roster.ScimInvalidValue, "%s must be a JSON object, got %s", where, jsonKind(v))
		}
		if a.Name == "roles" {
			obj = unpackRole(obj)
		}
		out := map[string]any{}
		for _, k := range sortedKeys(obj) {
			sub, sv := a.Sub(k), obj[k]
			if sub == nil || sv == nil {
				continue
			}
			if err := setNormalized(out, sub, sv, where+"."+sub.Name); err != nil {
				return nil, err
			}
		}
		if len(out) == 0 {
			return nil, nil
		}
		return out, nil
	case TypeBoolean:
		b, ok := AsBool(v)
		if !ok {
			return nil, roster.SCIMErrorf(roster.ScimInvalidValue, "%s must be a boolean (true or false), got %s", where, jsonKind(v))
		}
		return b, nil
	case TypeInteger, TypeDecimal:
		n, ok := v.(json.Number)
		if !ok {
			return nil, roster.SCIMErrorf(roster.ScimInvalidValue, "%s must be a number, got %s", where, jsonKind(v))
		}
		if a.Type == TypeInteger {
			if _, err := n.Int64(); err != nil {
				return nil, roster.SCIMErrorf(roster.ScimInvalidValue, "%s must be an integer, got %s", where, n)
			}
		}
		return n, nil
	case TypeDateTime:
		s, ok := v.(string)
		if !ok || !validDateTime(s) {
			return nil, roster.SCIMErrorf(roster.ScimInvalidValue, "%s must be a dateTime such as \"2024-01-31T12:00:00Z\"", where)
		}
		return s, nil
	default: // string, reference, binary
		s, ok := v.(string)
		if !ok {
			return nil, roster.SCIMErrorf(roster.ScimInvalidValue, "%s must be a string, got %s", where, jsonKind(v))
		}
		return s, nil
	}
}

// normalizeManager accepts the forms Entra sends for the enterprise manager:
// a plain id string, an object with value, or an array of such objects. An
// empty string or empty value clears the manager.
func normalizeManager(a *Attribute, v any, where string) (any, error) {
	switch m := v.(type) {
	case nil:
		return nil, nil
	case string:
		if m == "" {
			return nil, nil
		}
		return map[string]any{"value": m}, nil
	case []any:
		if len(m) == 0 {
			return nil, nil
		}
		return normalizeManager(a, m[0], where)
	case map[string]any:
		out := map[string]any{}
		for _, k := range sortedKeys(m) {
			if sub, sv := a.Sub(k), m[k]; sub != nil && sub.Mutability != ReadOnly && sv != nil {
				s, ok := sv.(string)
				if !ok {
					return nil, roster.SCIMErrorf(roster.ScimInvalidValue, "%s.%s must be a string, got %s", where, sub.Name, jsonKind(sv))
				}
				if s != "" {
					out[sub.Name] = s
				}
			}
		}
		if out["value"] == nil {
			return nil, nil
		}
		return out, nil
	}
	return nil, roster.SCIMErrorf(roster.ScimInvalidValue, "%s must be a manager id or an object with a value, got %s", where, jsonKind(v))
}

// unpackRole reads Entra's default role format, where the role is a JSON
// object encoded as a string inside value:
// {"value": "{\"id\":\"…\",\"value\":\"Admin\",\"displayName\":\"Admin\"}"}.
// Any other string is an ordinary role value and is kept as sent. So is one
// whose inner value is itself such a string: unpacking happens at most once,
// so that normalizing a stored document again leaves it unchanged.
func unpackRole(obj map[string]any) map[string]any {
	var key string
	for _, k := range sortedKeys(obj) {
		if strings.EqualFold(k, "value") {
			key = k
		}
	}
	s, _ := obj[key].(string)
	inner, ok := roleJSON(s)
	if !ok {
		return obj
	}
	value := inner["value"].(string)
	if _, nested := roleJSON(value); nested {
		return obj
	}
	out := maps.Clone(obj)
	delete(out, key)
	out["value"] = value
	if d, ok := inner["displayName"]; ok && out["display"] == nil {
		out["display"] = d
	}
	return out
}

// roleJSON decodes s when it is a JSON object with a string value, the shape
// of Entra's JSON-string roles.
func roleJSON(s string) (map[string]any, bool) {
	if !strings.HasPrefix(strings.TrimSpace(s), "{") {
		return nil, false
	}
	var inner map[string]any
	if json.Unmarshal([]byte(s), &inner) != nil {
		return nil, false
	}
	_, ok := inner["value"].(string)
	return inner, ok
}

// memberIDs reads the ids of a members value: an array of {"value": id}
// objects (a single object is tolerated). Okta and Entra may add $ref, type
// and display; only value matters.
func memberIDs(v any) ([]string, error) {
	list, ok := v.([]any)
	if !ok {
		list = []any{v}
	}
	ids := make([]string, 0, len(list))
	for _, item := range list {
		obj, ok := item.(map[string]any)
		if !ok {
			return nil, roster.SCIMErrorf(roster.ScimInvalidValue, "members must be objects like {\"value\": \"<id>\"}, got %s", jsonKind(item))
		}
		var id any
		for _, k := range sortedKeys(obj) {
			if strings.EqualFold(k, "value") {
				id = obj[k]
			}
		}
		s, ok := id.(string)
		if !ok || s == "" {
			return nil, roster.SCIMErrorf(roster.ScimInvalidValue, "each member needs a non-empty string value (the member's id)")
		}
		ids = append(ids, s)
	}
	return ids, nil
}

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case string:
		return "a string"
	case json.Number, float64:
		return "a number"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return "an unsupported value"
}

// CheckRequired reports the first required attribute missing from a
// resource, as an invalidValue error.
func CheckRequired(rt *ResourceType, attrs map[string]any) error {
	for _, a := range rt.Core.Attributes {
		if s, isStr := attrs[a.Name].(string); a.Required && (attrs[a.Name] == nil || isStr && strings.TrimSpace(s) == "") {
			return roster.SCIMErrorf(roster.ScimInvalidValue, "%s is required for a %s", a.Name, rt.Name)
		}
	}
	return nil
}
