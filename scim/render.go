package scim

import (
	"maps"
	"strings"
	"time"
)

// TimeFormat is how meta.created and meta.lastModified are written: RFC 3339
// in UTC with as many fractional digits as needed, so that a value read back
// from a response compares exactly in a `meta.lastModified gt` filter.
const TimeFormat = time.RFC3339Nano

// Render returns the SCIM JSON document of a resource. base is the tenant
// URL (scheme, host and /v1/scim/<idp>) used for meta.location and $ref.
//
// The document shares nested values with r.Attrs; Projection.Apply copies
// what it changes, so r can be rendered again or cached.
func Render(rt *ResourceType, r *Resource, base string) map[string]any {
	doc := make(map[string]any, len(r.Attrs)+4)
	var exts []string
	for k, v := range r.Attrs {
		if rt.Extension(k) != nil {
			// An extension is listed in schemas only when it has data.
			if m, _ := v.(map[string]any); len(m) == 0 {
				continue
			}
			exts = append(exts, k)
		} else if a := rt.Core.Attr(k); a != nil && discarded(a) {
			continue // never returned, even if an older version stored it
		}
		doc[k] = v
	}
	// The extensions in a stable order; the document's keys need none
	// (JSON objects are written with their keys sorted).
	schemas := make([]any, 1, 1+len(exts))
	schemas[0] = rt.SchemaURN
	for _, k := range sortKeys(exts) {
		schemas = append(schemas, k)
	}
	doc["schemas"] = schemas
	doc["id"] = r.ID
	if r.Members != nil {
		doc["members"] = renderMembers(r.Members, base)
	}
	if len(r.Groups) > 0 {
		doc["groups"] = renderGroups(r.Groups, base)
	}
	doc["meta"] = map[string]any{
		"resourceType": rt.Name,
		"created":      r.Created.UTC().Format(TimeFormat),
		"lastModified": r.LastModified.UTC().Format(TimeFormat),
		"location":     base + rt.Endpoint + "/" + r.ID,
		"version":      r.ETag(),
	}
	return doc
}

func renderMembers(ms []Member, base string) []any {
	out := make([]any, 0, len(ms))
	for _, m := range ms {
		e := map[string]any{"value": m.Value, "type": m.Type, "$ref": base + "/" + m.Type + "s/" + m.Value}
		if m.Display != "" {
			e["display"] = m.Display
		}
		out = append(out, e)
	}
	return out
}

// renderGroups renders a user's groups. Unlike a member's type, which is
// the member's resource type, a group's type is the kind of membership,
// "direct" or "indirect" (RFC 7643 §4.1.2). The store lists only the
// groups that have the user itself as a member, so every one is "direct";
// $ref still follows the group's resource type.
func renderGroups(gs []Member, base string) []any {
	out := renderMembers(gs, base)
	for _, e := range out {
		e.(map[string]any)["type"] = "direct"
	}
	return out
}

// Projection is the parsed `attributes` / `excludedAttributes` of a request
// (RFC 7644 §3.4.2.5 and §3.9). The zero value returns the default set.
type Projection struct {
	Attributes []Target
	Excluded   []Target
	// restricted records that the attributes parameter named something,
	// even if nothing this resource type knows: RFC 7644 §3.9 then returns
	// the minimum set (id, schemas), not the default one.
	restricted bool
}

// ParseProjection reads comma-separated attribute lists. Names that match
// no attribute are ignored, as RFC 7644 §3.9 lets a server do, because IdPs
// send lists written for other servers' schemas.
func (rt *ResourceType) ParseProjection(attributes, excluded string) Projection {
	attrs, named := rt.targets(attributes)
	ex, _ := rt.targets(excluded)
	return Projection{Attributes: attrs, Excluded: ex, restricted: named}
}

// targets resolves a comma-separated list and reports whether it named
// anything at all.
func (rt *ResourceType) targets(list string) (out []Target, named bool) {
	for _, name := range strings.Split(list, ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		named = true
		p, err := ParsePatchPath(name)
		if err != nil || p.Filter != nil {
			continue
		}
		if t, ok := rt.Lookup(p.Path); ok {
			out = append(out, t)
		}
	}
	return out, named
}

// only reports whether the projection returns just the listed attributes.
func (p Projection) only() bool {
	return len(p.Attributes) > 0 || p.restricted
}

// Wants reports whether the projection returns the named top-level core
// attribute, so that the store can skip loading group members when a
// client sends excludedAttributes=members.
func (p Projection) Wants(name string) bool {
	if p.only() {
		for _, t := range p.Attributes {
			if t.Ext == "" && !t.WholeExt && t.Attr.Name == name {
				return true
			}
		}
		return false
	}
	for _, t := range p.Excluded {
		if t.Ext == "" && !t.WholeExt && t.Attr.Name == name && t.Sub == nil {
			return false
		}
	}
	return true
}

// Apply filters a rendered document. Attributes returned "always" (id,
// schemas) survive both lists. It never changes a nested value in place,
// because those are shared with the resource the document was rendered from.
func (p Projection) Apply(doc map[string]any) map[string]any {
	if p.only() {
		out := map[string]any{"schemas": doc["schemas"], "id": doc["id"]}
		for _, t := range p.Attributes {
			copyTarget(out, doc, t)
		}
		return out
	}
	for _, t := range p.Excluded {
		if t.Attr != nil && t.Attr.Returned == ReturnedAlways {
			continue
		}
		removeTarget(doc, t)
	}
	return doc
}

// copyTarget copies t from src to dst. A map or list already in dst may be
// src's own (an earlier target copied the whole attribute), so one is cloned
// before a sub-attribute is written into it.
func copyTarget(dst, src map[string]any, t Target) {
	s, d := src, dst
	if t.Ext != "" {
		ext, ok := src[t.Ext].(map[string]any)
		if !ok {
			return
		}
		if t.WholeExt {
			dst[t.Ext] = ext
			return
		}
		s = ext
		d, _ = dst[t.Ext].(map[string]any)
		d = maps.Clone(d)
		if d == nil {
			d = map[string]any{}
		}
		dst[t.Ext] = d
	}
	v, ok := s[t.Attr.Name]
	if !ok {
		return
	}
	if t.Sub == nil {
		d[t.Attr.Name] = v
		return
	}
	switch v := v.(type) {
	case map[string]any:
		if sv, ok := v[t.Sub.Name]; ok {
			m, _ := d[t.Attr.Name].(map[string]any)
			m = maps.Clone(m)
			if m == nil {
				m = map[string]any{}
			}
			m[t.Sub.Name] = sv
			d[t.Attr.Name] = m
		}
	case []any:
		// Multi-valued: keep the sub-attribute of every element, merging
		// with sub-attributes already copied.
		prev, _ := d[t.Attr.Name].([]any)
		out := make([]any, len(v))
		for i, e := range v {
			var m map[string]any
			if i < len(prev) {
				m, _ = prev[i].(map[string]any)
			}
			m = maps.Clone(m)
			if m == nil {
				m = map[string]any{}
			}
			if em, ok := e.(map[string]any); ok {
				if sv, ok := em[t.Sub.Name]; ok {
					m[t.Sub.Name] = sv
				}
			}
			out[i] = m
		}
		d[t.Attr.Name] = out
	}
}

// removeTarget deletes t from a rendered document, cloning every map and
// list it changes below the top level.
func removeTarget(doc map[string]any, t Target) {
	m := doc
	if t.Ext != "" {
		if t.WholeExt {
			delete(doc, t.Ext)
			return
		}
		ext, ok := doc[t.Ext].(map[string]any)
		if !ok {
			return
		}
		m = maps.Clone(ext)
		defer setOrDelete(doc, t.Ext, m)
	}
	if t.Sub == nil {
		delete(m, t.Attr.Name)
		return
	}
	switch v := m[t.Attr.Name].(type) {
	case map[string]any:
		v = maps.Clone(v)
		delete(v, t.Sub.Name)
		setOrDelete(m, t.Attr.Name, v)
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			if em, ok := e.(map[string]any); ok {
				em = maps.Clone(em)
				delete(em, t.Sub.Name)
				e = em
			}
			out[i] = e
		}
		m[t.Attr.Name] = out
	}
}
