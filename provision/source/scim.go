package source

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/roster-scim/roster/provision"
	"github.com/roster-scim/roster/provision/scimclient"
)

// Lister lists a SCIM server's resources: the engine's SCIM client. List
// pages through resourceType ("Users" or "Groups") with filter ("" for
// all) and attributes (nil for the server's defaults) and calls fn with
// each resource, decoded with UseNumber; fn's error stops it and is
// returned.
type Lister interface {
	List(ctx context.Context, resourceType, filter string, attributes []string, fn func(map[string]any) error) error
}

// EnterpriseUser is the URN of SCIM's enterprise user extension (RFC 7643
// section 4.3).
const EnterpriseUser = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

// SCIM is a source that reads another SCIM 2.0 server: an initial cycle
// lists every user and group, an incremental one only those whose
// meta.lastModified is after the watermark. A changed-since query cannot
// see deletions; the engine finds those with ListIDs.
//
// Each object's attributes are the SCIM attributes flattened to paths
// (name.givenName, emails[type eq "work"].value, the enterprise
// extension's as urn:…:User:department) together with the Entra names
// derived from them (givenName, mail, department, manager, …), so that
// both SCIM-style and Entra's default mappings read them.
type SCIM struct {
	// Now is the clock the watermark is bounded by; nil means time.Now.
	Now func() time.Time

	l Lister
}

var (
	_ provision.Source    = (*SCIM)(nil)
	_ provision.Confirmer = (*SCIM)(nil)
	_ provision.IDLister  = (*SCIM)(nil)
)

// NewSCIM returns a SCIM source that reads through l.
func NewSCIM(l Lister) *SCIM { return &SCIM{l: l, Now: time.Now} }

// Read lists users, then groups: all of them when since is "", else those
// with meta.lastModified after since.
//
// The watermark is the latest meta.lastModified seen, as the server wrote
// it, but never later than one second before the Read started: an object
// written while the Read ran may carry the same timestamp as the last one
// seen, to the second, and a "gt" filter from that timestamp would miss it
// for good. Reading an object twice costs a comparison; missing one costs a
// wrong target. When nothing was seen the watermark stays since, or, for
// an initial read, becomes that same start time less a second.
func (s *SCIM) Read(ctx context.Context, since string, emit func(provision.Object) error) (provision.ReadResult, error) {
	now := s.Now
	if now == nil {
		now = time.Now
	}
	limit := now().Add(-time.Second)
	filter := ""
	if since != "" {
		// A SCIM filter's string is a JSON string.
		q, _ := json.Marshal(since)
		filter = "meta.lastModified gt " + string(q)
	}
	var latest string
	var latestT time.Time
	for _, kind := range []provision.Kind{provision.User, provision.Group} {
		err := s.list(ctx, kind, filter, nil, func(res map[string]any) error {
			o, err := toObject(kind, res)
			if err != nil {
				return err
			}
			if meta, ok := res["meta"].(map[string]any); ok {
				// A timestamp that does not parse only keeps the
				// watermark lower: the next cycle reads more, never less.
				if lm, ok := meta["lastModified"].(string); ok {
					if t, err := time.Parse(time.RFC3339Nano, lm); err == nil && t.After(latestT) {
						latest, latestT = lm, t
					}
				}
			}
			return emit(o)
		})
		if err != nil {
			return provision.ReadResult{}, err
		}
	}
	wm := latest
	switch {
	case latest == "" && since != "":
		wm = since
	case latest == "" || latestT.After(limit):
		wm = limit.UTC().Format(time.RFC3339)
	}
	return provision.ReadResult{Watermark: wm, Full: since == ""}, nil
}

// ListIDs lists the id of every object of kind.
// Getter is what Exists needs of the Lister: the engine's SCIM client
// has it.
type Getter interface {
	Get(ctx context.Context, resourceType, id string, excludedAttributes ...string) (scimclient.Resource, error)
}

// Exists reports whether the source still has an object, by GET: 404
// means gone. Without a Getter it answers false, trusting the listing.
func (s *SCIM) Exists(ctx context.Context, kind provision.Kind, id string) (bool, error) {
	g, ok := s.l.(Getter)
	if !ok {
		return false, nil
	}
	_, err := g.Get(ctx, string(kind)+"s", id, "members")
	switch {
	case err == nil:
		return true, nil
	case scimclient.IsNotFound(err):
		return false, nil
	}
	return false, err
}

func (s *SCIM) ListIDs(ctx context.Context, kind provision.Kind, emit func(id string) error) error {
	return s.list(ctx, kind, "", []string{"id"}, func(res map[string]any) error {
		id, err := resourceID(kind, res)
		if err != nil {
			return err
		}
		return emit(id)
	})
}

// list runs the Lister for kind, naming the resource type in its errors
// but returning fn's own errors as they are.
func (s *SCIM) list(ctx context.Context, kind provision.Kind, filter string, attributes []string, fn func(map[string]any) error) error {
	var rt string
	switch kind {
	case provision.User:
		rt = "Users"
	case provision.Group:
		rt = "Groups"
	default:
		return fmt.Errorf("SCIM source: unknown kind %q", kind)
	}
	var fnErr error
	err := s.l.List(ctx, rt, filter, attributes, func(res map[string]any) error {
		fnErr = fn(res)
		return fnErr
	})
	if err != nil && fnErr != nil && errors.Is(err, fnErr) {
		return fnErr
	}
	if err != nil {
		return fmt.Errorf("SCIM source: listing %s: %w", rt, err)
	}
	return nil
}

// resourceID returns a resource's id, which every object must have: it is
// the anchor the engine links by.
func resourceID(kind provision.Kind, res map[string]any) (string, error) {
	switch id := res["id"].(type) {
	case string:
		if id != "" {
			return id, nil
		}
	case json.Number:
		return string(id), nil
	}
	return "", fmt.Errorf("SCIM source: a %s from the SCIM server has no id", strings.ToLower(string(kind)))
}

// toObject converts a SCIM resource into a source object.
func toObject(kind provision.Kind, res map[string]any) (provision.Object, error) {
	id, err := resourceID(kind, res)
	if err != nil {
		return provision.Object{}, err
	}
	o := provision.Object{Kind: kind, ID: id, Attrs: map[string]any{}}
	for k, v := range res {
		switch {
		case k == "schemas":
			// Structure, not data.
		case kind == provision.Group && k == "members":
			// Members, not an attribute: a group's may be 100,000 long.
		case isURN(k):
			ext, ok := v.(map[string]any)
			if !ok {
				flatten(o.Attrs, k, v)
				continue
			}
			for sk, sv := range ext {
				flatten(o.Attrs, k+":"+sk, sv)
			}
		default:
			flatten(o.Attrs, k, v)
		}
	}
	if kind == provision.Group {
		for _, m := range list(res["members"]) {
			mm, _ := m.(map[string]any)
			mid := text(mm["value"])
			if mid == "" {
				return provision.Object{}, fmt.Errorf("SCIM source: group %q has a member without a value (the member's id)", id)
			}
			o.Members = append(o.Members, mid)
		}
		o.Members = dedupe(o.Members)
	}
	entraNames(kind, id, res, o.Attrs)
	return o, nil
}

func isURN(k string) bool { return len(k) > 4 && strings.EqualFold(k[:4], "urn:") }

// flatten stores v at path: a complex value as path.sub for each
// sub-attribute, and also at path itself when it has a value (so that
// urn:…:manager is the manager's id); a multi-valued complex one as the
// list of its values, primary first, and each typed value's
// sub-attributes at path[type eq "work"].sub, the paths Entra's SCIM
// mappings use. Types are lowercased, as SCIM compares them without case.
func flatten(attrs map[string]any, path string, v any) {
	switch v := v.(type) {
	case nil:
	case map[string]any:
		if val, ok := v["value"]; ok && isSimple(val) {
			attrs[path] = val
		}
		for sk, sv := range v {
			flatten(attrs, path+"."+sk, sv)
		}
	case []any:
		if !slices.ContainsFunc(v, func(e any) bool { _, ok := e.(map[string]any); return ok }) {
			if len(v) > 0 {
				attrs[path] = v
			}
			return
		}
		var values []any
		typed := map[string]bool{}
		for _, e := range primaryFirst(v) {
			m, ok := e.(map[string]any)
			if !ok {
				continue
			}
			if val, ok := m["value"]; ok && isSimple(val) {
				values = append(values, val)
			}
			t := strings.ToLower(text(m["type"]))
			if t == "" || typed[t] {
				continue
			}
			typed[t] = true
			for sk, sv := range m {
				if sk != "type" {
					flatten(attrs, fmt.Sprintf("%s[type eq %q].%s", path, t, sk), sv)
				}
			}
		}
		if len(values) > 0 {
			attrs[path] = values
		}
	default:
		attrs[path] = v
	}
}

func isSimple(v any) bool {
	switch v.(type) {
	case string, json.Number, bool, float64:
		return true
	}
	return false
}

// entraNames adds the Entra ID (Microsoft Graph) names of a resource's
// attributes, for Entra's default mappings.
func entraNames(kind provision.Kind, id string, res map[string]any, attrs map[string]any) {
	set := func(name string, v any) {
		if v != nil && v != "" {
			attrs[name] = v
		}
	}
	attrs["objectId"] = id
	set("displayName", res["displayName"])
	set("mailNickname", res["externalId"])
	if kind == provision.Group {
		return
	}
	set("userPrincipalName", res["userName"])
	set("jobTitle", res["title"])
	if name, ok := res["name"].(map[string]any); ok {
		set("givenName", name["givenName"])
		set("surname", name["familyName"])
	}
	emails := list(res["emails"])
	set("mail", sub(firstOf(byType(emails, "work"), primary(emails), first(emails)), "value"))
	phones := list(res["phoneNumbers"])
	set("telephoneNumber", sub(byType(phones, "work"), "value"))
	set("mobile", sub(byType(phones, "mobile"), "value"))
	addresses := list(res["addresses"])
	if a := firstOf(byType(addresses, "work"), first(addresses)); a != nil {
		set("streetAddress", a["streetAddress"])
		set("city", a["locality"])
		set("state", a["region"])
		set("postalCode", a["postalCode"])
		set("country", a["country"])
	}
	if ext := extension(res, EnterpriseUser); ext != nil {
		set("employeeId", ext["employeeNumber"])
		set("department", ext["department"])
		switch m := ext["manager"].(type) {
		case map[string]any:
			set("manager", m["value"])
		case string:
			// Some servers send the manager's id alone.
			set("manager", m)
		}
	}
	enabled := true
	switch a := res["active"].(type) {
	case bool:
		enabled = a
	case string:
		// Some servers send "True" and "False".
		enabled = !strings.EqualFold(a, "false")
	}
	attrs["accountEnabled"] = enabled
}

// extension returns the object under a schema URN, which SCIM compares
// without case.
func extension(res map[string]any, urn string) map[string]any {
	if m, ok := res[urn].(map[string]any); ok {
		return m
	}
	for k, v := range res {
		if strings.EqualFold(k, urn) {
			m, _ := v.(map[string]any)
			return m
		}
	}
	return nil
}

func list(v any) []any { l, _ := v.([]any); return l }

// text returns a string or a number as text, else "".
func text(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case json.Number:
		return string(v)
	}
	return ""
}

// primaryFirst returns the values of a multi-valued attribute with the
// primary one first and the others in order.
func primaryFirst(values []any) []any {
	for i, e := range values {
		if isPrimary(e) {
			if i == 0 {
				return values
			}
			out := make([]any, 0, len(values))
			out = append(out, e)
			out = append(out, values[:i]...)
			return append(out, values[i+1:]...)
		}
	}
	return values
}

func isPrimary(e any) bool {
	m, _ := e.(map[string]any)
	switch p := m["primary"].(type) {
	case bool:
		return p
	case string:
		return strings.EqualFold(p, "true")
	}
	return false
}

// byType returns the first value of type t (without case), primary
// first.
func byType(values []any, t string) map[string]any {
	for _, e := range primaryFirst(values) {
		if m, ok := e.(map[string]any); ok && strings.EqualFold(text(m["type"]), t) {
			return m
		}
	}
	return nil
}

func primary(values []any) map[string]any {
	for _, e := range values {
		if isPrimary(e) {
			m, _ := e.(map[string]any)
			return m
		}
	}
	return nil
}

func first(values []any) map[string]any {
	for _, e := range values {
		if m, ok := e.(map[string]any); ok {
			return m
		}
	}
	return nil
}

func firstOf(ms ...map[string]any) map[string]any {
	for _, m := range ms {
		if m != nil {
			return m
		}
	}
	return nil
}

func sub(m map[string]any, name string) any {
	if m == nil {
		return nil
	}
	return m[name]
}
