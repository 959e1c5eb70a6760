package main

import (
	"crypto/rand"
	"fmt"
	"net/http"
	"reflect"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/elimity-com/scim"
	scimerrors "github.com/elimity-com/scim/errors"
	"github.com/elimity-com/scim/optional"
	"github.com/elimity-com/scim/schema"
	"github.com/scim2/filter-parser/v2"
)

// record is one stored resource.
type record struct {
	id       string
	attrs    scim.ResourceAttributes
	created  time.Time
	modified time.Time
	seq      uint64 // insertion order, for stable pagination
}

// store is an in-memory map of resources of one type guarded by a RWMutex.
// When the type has an attribute with server uniqueness, a second map from
// its lower-cased value to the holder's id enforces it without a scan.
type store struct {
	mu       sync.RWMutex
	byID     map[string]*record
	byUnique map[string]string // lower-cased value of unique → id
	seq      uint64
	unique   string // attribute with server uniqueness (case-insensitive), "" for none
}

func newStore(unique string) *store {
	return &store{byID: map[string]*record{}, byUnique: map[string]string{}, unique: unique}
}

// handler implements scim.ResourceHandler over a store.
type handler struct {
	store  *store
	schema schema.Schema
	ext    []schema.Schema
}

func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

func (rec *record) resource() scim.Resource {
	created, modified := rec.created, rec.modified
	res := scim.Resource{
		ID:         rec.id,
		Attributes: rec.attrs,
		Meta: scim.Meta{
			Created:      &created,
			LastModified: &modified,
			Version:      fmt.Sprintf(`W/"%d"`, modified.UnixNano()),
		},
	}
	if ext, ok := rec.attrs["externalId"].(string); ok {
		res.ExternalID = optional.NewString(ext)
	}
	return res
}

// uniqueKey returns the lower-cased value of attrs' unique attribute, if it
// has one.
func (s *store) uniqueKey(attrs scim.ResourceAttributes) (string, bool) {
	if s.unique == "" {
		return "", false
	}
	v, ok := attrs[s.unique].(string)
	if !ok {
		return "", false
	}
	return strings.ToLower(v), true
}

// conflict reports whether another record than id already holds attrs'
// unique value. The caller holds the lock.
func (s *store) conflict(id string, attrs scim.ResourceAttributes) bool {
	k, ok := s.uniqueKey(attrs)
	if !ok {
		return false
	}
	owner, taken := s.byUnique[k]
	return taken && owner != id
}

// reindex moves id's entry in byUnique from the value in old to the value in
// attrs (either may be nil). The caller holds the lock.
func (s *store) reindex(id string, old, attrs scim.ResourceAttributes) {
	if k, ok := s.uniqueKey(old); ok && s.byUnique[k] == id {
		delete(s.byUnique, k)
	}
	if k, ok := s.uniqueKey(attrs); ok {
		s.byUnique[k] = id
	}
}

func (h *handler) Create(_ *http.Request, attrs scim.ResourceAttributes) (scim.Resource, error) {
	s := h.store
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conflict("", attrs) {
		return scim.Resource{}, scimerrors.ScimErrorUniqueness
	}
	now := time.Now().UTC()
	s.seq++
	rec := &record{id: newID(), attrs: attrs, created: now, modified: now, seq: s.seq}
	s.byID[rec.id] = rec
	s.reindex(rec.id, nil, attrs)
	return rec.resource(), nil
}

func (h *handler) Get(_ *http.Request, id string) (scim.Resource, error) {
	s := h.store
	s.mu.RLock()
	defer s.mu.RUnlock()
	rec, ok := s.byID[id]
	if !ok {
		return scim.Resource{}, scimerrors.ScimErrorResourceNotFound(id)
	}
	return rec.resource(), nil
}

// GetAll filters with the library's filter.Validator (PassesFilter) and pages
// with the StartIndex/Count the library parsed.
func (h *handler) GetAll(_ *http.Request, params scim.ListRequestParams) (scim.Page, error) {
	s := h.store
	s.mu.RLock()
	defer s.mu.RUnlock()
	matched := make([]*record, 0)
	for _, rec := range s.byID {
		if params.FilterValidator != nil {
			// The filter may name the common attributes id and externalId,
			// so hand the validator the resource as the client sees it.
			view := make(map[string]interface{}, len(rec.attrs)+1)
			for k, v := range rec.attrs {
				view[k] = v
			}
			view["id"] = rec.id
			if params.FilterValidator.PassesFilter(view) != nil {
				continue
			}
		}
		matched = append(matched, rec)
	}
	sort.Slice(matched, func(i, j int) bool { return matched[i].seq < matched[j].seq })
	page := scim.Page{TotalResults: len(matched), Resources: []scim.Resource{}}
	start := params.StartIndex - 1
	for i := start; i < len(matched) && i < start+params.Count; i++ {
		page.Resources = append(page.Resources, matched[i].resource())
	}
	return page, nil
}

func (h *handler) Replace(_ *http.Request, id string, attrs scim.ResourceAttributes) (scim.Resource, error) {
	s := h.store
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := s.byID[id]
	if !ok {
		return scim.Resource{}, scimerrors.ScimErrorResourceNotFound(id)
	}
	if s.conflict(id, attrs) {
		return scim.Resource{}, scimerrors.ScimErrorUniqueness
	}
	s.reindex(id, rec.attrs, attrs)
	rec.attrs = attrs
	rec.modified = time.Now().UTC()
	return rec.resource(), nil
}

func (h *handler) Delete(_ *http.Request, id string) error {
	s := h.store
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := s.byID[id]
	if !ok {
		return scimerrors.ScimErrorResourceNotFound(id)
	}
	s.reindex(id, rec.attrs, nil)
	delete(s.byID, id)
	return nil
}

// Patch applies the operations the library has parsed and validated. The
// library leaves applying them to the handler; this applies plain attribute
// paths ("active", "name.familyName", "urn:...:User:employeeNumber"),
// path-less values (each key read as such a path) and "remove" with a value
// list on a multi-valued attribute (the listed values are removed). Paths with
// a value filter ("emails[type eq \"work\"].value") are not applied.
func (h *handler) Patch(_ *http.Request, id string, ops []scim.PatchOperation) (scim.Resource, error) {
	s := h.store
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := s.byID[id]
	if !ok {
		return scim.Resource{}, scimerrors.ScimErrorResourceNotFound(id)
	}
	attrs := deepCopy(rec.attrs).(map[string]interface{})
	for _, op := range ops {
		if op.Path == nil {
			values, _ := op.Value.(map[string]interface{})
			for key, v := range values {
				if _, isExt := h.extension(key); isExt {
					sub, _ := v.(map[string]interface{})
					for k, vv := range sub {
						p, err := filter.ParseAttrPath([]byte(key + ":" + k))
						if err != nil {
							return scim.Resource{}, scimerrors.ScimErrorInvalidPath
						}
						if err := h.apply(attrs, op.Op, filter.Path{AttributePath: p}, vv); err != nil {
							return scim.Resource{}, err
						}
					}
					continue
				}
				p, err := filter.ParsePath([]byte(key))
				if err != nil {
					return scim.Resource{}, scimerrors.ScimErrorInvalidPath
				}
				if err := h.apply(attrs, op.Op, p, v); err != nil {
					return scim.Resource{}, err
				}
			}
			continue
		}
		if err := h.apply(attrs, op.Op, *op.Path, op.Value); err != nil {
			return scim.Resource{}, err
		}
	}
	if s.conflict(id, attrs) {
		return scim.Resource{}, scimerrors.ScimErrorUniqueness
	}
	s.reindex(id, rec.attrs, attrs)
	rec.attrs = attrs
	rec.modified = time.Now().UTC()
	return rec.resource(), nil
}

func (h *handler) extension(uri string) (schema.Schema, bool) {
	for _, e := range h.ext {
		if strings.EqualFold(e.ID, uri) {
			return e, true
		}
	}
	return schema.Schema{}, false
}

// apply performs one operation on one path.
func (h *handler) apply(attrs map[string]interface{}, op string, p filter.Path, value interface{}) error {
	if p.ValueExpression != nil {
		return scimerrors.ScimErrorBadRequest("value filters in PATCH paths are not supported: " + p.String())
	}
	target := attrs
	ref := h.schema
	if uri := p.AttributePath.URI(); uri != "" && !strings.EqualFold(uri, h.schema.ID) {
		ext, ok := h.extension(uri)
		if !ok {
			return scimerrors.ScimErrorInvalidPath
		}
		ref = ext
		m, _ := attrs[ext.ID].(map[string]interface{})
		if m == nil {
			m = map[string]interface{}{}
			attrs[ext.ID] = m
		}
		target = m
	}
	attr, ok := ref.Attributes.ContainsAttribute(p.AttributePath.AttributeName)
	name := p.AttributePath.AttributeName
	if ok {
		name = attr.Name()
	} else if ref.ID == h.schema.ID && strings.EqualFold(name, "externalId") {
		name = "externalId"
	} else {
		return scimerrors.ScimErrorInvalidPath
	}

	if sub := p.AttributePath.SubAttributeName(); sub != "" {
		if sa, ok := attr.SubAttributes().ContainsAttribute(sub); ok {
			sub = sa.Name()
		}
		m, _ := target[name].(map[string]interface{})
		if m == nil {
			if op == scim.PatchOperationRemove {
				return nil
			}
			m = map[string]interface{}{}
			target[name] = m
		}
		if op == scim.PatchOperationRemove {
			delete(m, sub)
		} else {
			m[sub] = value
		}
		return nil
	}

	switch op {
	case scim.PatchOperationAdd:
		if ok && attr.MultiValued() {
			list, _ := target[name].([]interface{})
			add, _ := value.([]interface{})
			for _, v := range add {
				if !containsValue(list, v) {
					list = append(list, v)
				}
			}
			target[name] = list
			return nil
		}
		target[name] = value
	case scim.PatchOperationReplace:
		target[name] = value
	case scim.PatchOperationRemove:
		list, isList := target[name].([]interface{})
		drop, hasValues := value.([]interface{})
		if !isList || !hasValues {
			delete(target, name)
			return nil
		}
		kept := make([]interface{}, 0, len(list))
		for _, v := range list {
			if !containsValue(drop, v) {
				kept = append(kept, v)
			}
		}
		target[name] = kept
	}
	return nil
}

// containsValue reports whether list holds v, comparing complex values by
// their "value" sub-attribute when both have one.
func containsValue(list []interface{}, v interface{}) bool {
	vm, _ := v.(map[string]interface{})
	for _, e := range list {
		em, _ := e.(map[string]interface{})
		if vm != nil && em != nil && vm["value"] != nil {
			if vm["value"] == em["value"] {
				return true
			}
			continue
		}
		if reflect.DeepEqual(e, v) {
			return true
		}
	}
	return false
}

func deepCopy(v interface{}) interface{} {
	switch v := v.(type) {
	case scim.ResourceAttributes:
		return deepCopy(map[string]interface{}(v))
	case map[string]interface{}:
		m := make(map[string]interface{}, len(v))
		for k, e := range v {
			m[k] = deepCopy(e)
		}
		return m
	case []interface{}:
		l := make([]interface{}, len(v))
		for i, e := range v {
			l[i] = deepCopy(e)
		}
		return l
	default:
		return v
	}
}
