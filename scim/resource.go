package scim

import (
	"encoding/json"
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
	out := map[string]any{}
	var members []string
	for k, v := range body {
		if v == nil {
			continue
		}
		t, ok := lookupKey(rt, k)
		if !ok {
			continue // unknown attributes are ignored, never stored (RFC 7644 §3.3)
		}
		if t.WholeExt {
			obj, isObj := v.(map[string]any)
			if !isObj {
				return nil, nil, roster.SCIMErrorf(roster.ScimInvalidValue, "%s must be a JSON object", t.Ext)
			}
			ext := map[string]any{}
			for ek, ev := range obj {
				et, ok := rt.Lookup(Path{URN: t.Ext, Attr: ek})
				if !ok || ev == nil || et.Sub != nil {
					continue
				}
				if err := setNormalized(ext, et.Attr, ev, t.Ext+":"+et.Attr.Name); err != nil {
					return nil, nil, err
				}
			}
			if len(ext) > 0 {
				out[t.Ext] = ext
			}
			continue
		}
		if t.Common && t.Attr.Name != "externalId" {
			continue // id, meta and schemas are the server's
		}
		if rt.Name == GroupType && t.Ext == "" && t.Attr.Name == "members" {
			ids, err := memberIDs(v)
			if err != nil {
				return nil, nil, err
			}
			members = append(members, ids...)
			continue
		}
		if t.Sub != nil {
			// A dotted key such as "name.givenName" in a document body.
			if err := setSubValue(out, t, v); err != nil {
				return nil, nil, err
			}
			continue
		}
		if err := setNormalized(container(out, t.Ext), t.Attr, v, t.Path().String()); err != nil {
			return nil, nil, err
		}
		if t.Ext != "" && len(out[t.Ext].(map[string]any)) == 0 {
			delete(out, t.Ext)
		}
	}
	return out, members, nil
}

// lookupKey resolves a document key, which may be a plain name, a dotted
// `attr.sub`, a URN-qualified attribute or a whole extension URN.
func lookupKey(rt *ResourceType, k string) (Target, bool) {
	p, err := ParsePatchPath(k)
	if err != nil || p.Filter != nil {
		return Target{}, false
	}
	return rt.Lookup(p.Path)
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

func setSubValue(doc map[string]any, t Target, v any) error {
	c := container(doc, t.Ext)
	parent, _ := c[t.Attr.Name].(map[string]any)
	if t.Attr.MultiValued {
		return roster.SCIMErrorf(roster.ScimInvalidPath, "%q is multi-valued: use a filter such as %s[type eq \"work\"].%s", t.Path().String(), t.Attr.Name, t.Sub.Name)
	}
	if parent == nil {
		parent = map[string]any{}
	}
	if err := setNormalized(parent, t.Sub, v, t.Path().String()); err != nil {
		return err
	}
	if len(parent) == 0 {
		delete(c, t.Attr.Name)
	} else {
		c[t.Attr.Name] = parent
	}
	if t.Ext != "" && len(c) == 0 {
		delete(doc, t.Ext)
	}
	return nil
}

// setNormalized coerces v to attribute a and stores it in m under the
// canonical name, or deletes the name when the value is empty.
func setNormalized(m map[string]any, a *Attribute, v any, where string) error {
	if a.Mutability == ReadOnly {
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
		return out, nil
	}
	return normalizeSingle(a, v, where)
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
		for k, sv := range obj {
			sub := a.Sub(k)
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
		for k, sv := range m {
			if sub := a.Sub(k); sub != nil && sub.Mutability != ReadOnly && sv != nil {
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
func unpackRole(obj map[string]any) map[string]any {
	s, ok := obj["value"].(string)
	if !ok || !strings.HasPrefix(strings.TrimSpace(s), "{") {
		return obj
	}
	var inner map[string]any
	if json.Unmarshal([]byte(s), &inner) != nil {
		return obj
	}
	out := map[string]any{}
	for k, v := range obj {
		out[k] = v
	}
	out["value"] = inner["value"]
	if d, ok := inner["displayName"]; ok && out["display"] == nil {
		out["display"] = d
	}
	return out
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
		for k, mv := range obj {
			if strings.EqualFold(k, "value") {
				id = mv
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
