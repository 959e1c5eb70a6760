package scimhttp

import (
	"net/http"
	"strings"

	"github.com/roster-scim/roster"
	"github.com/roster-scim/roster/scim"
)

func (s *Server) spConfig(w http.ResponseWriter, r *http.Request, t *tenant) error {
	writeJSON(w, http.StatusOK, map[string]any{
		"schemas":          []string{scim.SPConfigSchema},
		"documentationUri": "https://github.com/roster-scim/roster#readme",
		"patch":            map[string]any{"supported": true},
		"bulk":             map[string]any{"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
		"filter":           map[string]any{"supported": true, "maxResults": s.cfg.MaxResults},
		"changePassword":   map[string]any{"supported": false},
		"sort":             map[string]any{"supported": true},
		"etag":             map[string]any{"supported": true},
		"authenticationSchemes": []any{map[string]any{
			"type": "oauthbearertoken", "name": "OAuth Bearer Token", "primary": true,
			"description": "An API key, or an access token from the OAuth 2.0 client-credentials token endpoint " +
				"/v1/oauth/token, sent as Authorization: Bearer <token>.",
		}},
		"meta": map[string]any{"resourceType": "ServiceProviderConfig", "location": t.base + "/ServiceProviderConfig"},
	})
	return nil
}

func (s *Server) renderResourceType(rt *scim.ResourceType, base string) map[string]any {
	return map[string]any{
		"schemas":          []string{scim.ResourceTypeURN},
		"id":               rt.ID,
		"name":             rt.Name,
		"endpoint":         rt.Endpoint,
		"description":      rt.Desc,
		"schema":           rt.SchemaURN,
		"schemaExtensions": rt.Extensions,
		"meta":             map[string]any{"resourceType": "ResourceType", "location": base + "/ResourceTypes/" + rt.Name},
	}
}

// resourceTypes lists the resource types of the directory's profile, so an
// IdP reading them sees what the app takes (Workplace: no Groups).
func (s *Server) resourceTypes(w http.ResponseWriter, r *http.Request, t *tenant) error {
	var out []any
	for _, rt := range t.profile.Registry().ResourceTypes {
		out = append(out, s.renderResourceType(rt, t.base))
	}
	writeList(w, out)
	return nil
}

func (s *Server) resourceType(w http.ResponseWriter, r *http.Request, t *tenant) error {
	reg := t.profile.Registry()
	rt := reg.ResourceType(t.id)
	if rt == nil {
		var names []string
		for _, rt := range reg.ResourceTypes {
			names = append(names, rt.Name)
		}
		return roster.Errorf(roster.ENOTFOUND, "no resource type %q; this directory has %s", t.id, strings.Join(names, " and "))
	}
	writeJSON(w, http.StatusOK, s.renderResourceType(rt, t.base))
	return nil
}

func renderSchema(sc *scim.Schema, p *scim.Profile, base string) map[string]any {
	attrs := sc.Attributes
	for _, rt := range p.Registry().ResourceTypes {
		if rt.SchemaURN == sc.ID {
			// RFC 7643 keeps id, externalId and meta out of the resource
			// schemas, but schema discovery (Entra's gallery validator
			// among them) looks for every mapped attribute there, and
			// Entra maps externalId by default.
			attrs = append(commonAttributes(p, rt.Name), attrs...)
		}
	}
	return map[string]any{
		"schemas":     []string{scim.SchemaURN},
		"id":          sc.ID,
		"name":        sc.Name,
		"description": sc.Description,
		"attributes":  attrs,
		"meta":        map[string]any{"resourceType": "Schema", "location": base + "/Schemas/" + sc.ID},
	}
}

// schemas lists the schemas of the directory's profile: supported
// attributes only, with the profile's required ones marked.
// commonAttributes returns id and meta, and externalId when the profile
// supports it, marked required when the profile requires it.
func commonAttributes(p *scim.Profile, rtName string) []*scim.Attribute {
	out := []*scim.Attribute{scim.Common("id")}
	rp := p.ResourceTypes[rtName]
	if rp != nil && (listed(rp.Supported, "*") || listed(rp.Supported, "externalId")) {
		ext := *scim.Common("externalId")
		ext.Required = listed(rp.Required, "externalId")
		out = append(out, &ext)
	}
	return append(out, scim.Common("meta"))
}

func listed(list []string, name string) bool {
	for _, v := range list {
		if strings.EqualFold(v, name) {
			return true
		}
	}
	return false
}

func (s *Server) schemas(w http.ResponseWriter, r *http.Request, t *tenant) error {
	var out []any
	for _, sc := range t.profile.Registry().Schemas {
		out = append(out, renderSchema(sc, t.profile, t.base))
	}
	writeList(w, out)
	return nil
}

func (s *Server) schema(w http.ResponseWriter, r *http.Request, t *tenant) error {
	sc := t.profile.Registry().Schema(strings.TrimSpace(t.id))
	if sc == nil {
		return roster.Errorf(roster.ENOTFOUND, "no schema %q; see /Schemas for the list", t.id)
	}
	writeJSON(w, http.StatusOK, renderSchema(sc, t.profile, t.base))
	return nil
}

func writeList(w http.ResponseWriter, items []any) {
	writeJSON(w, http.StatusOK, map[string]any{
		"schemas": []string{scim.ListResponseURN}, "totalResults": len(items),
		"startIndex": 1, "itemsPerPage": len(items), "Resources": items,
	})
}

// unimplemented answers /Bulk and /Me, which Roster does not offer (and
// advertises as unsupported), with 501 rather than a misleading 404.
func (s *Server) unimplemented(w http.ResponseWriter, r *http.Request, t *tenant) error {
	return roster.Errorf(roster.ENOTIMPL, "%s is not supported by this server; see /ServiceProviderConfig", r.URL.Path)
}
