package scimhttp

import (
	"context"
	"crypto/subtle"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/roster-scim/roster"
	"github.com/roster-scim/roster/scim"
)

// scimRoute is one endpoint of a directory. Pattern is the metrics label.
type scimRoute struct {
	pattern string
	method  string
	h       func(s *Server, w http.ResponseWriter, r *http.Request, t *tenant) error
}

// tenant is what a request to /v1/scim/{idp} is about: the directory and
// its attribute profile, the authenticated key, the resource type (as the
// profile parses it) and id in the path.
type tenant struct {
	dir     string
	cred    *roster.Credential
	profile *scim.Profile
	rt      *scim.ResourceType
	id      string
	base    string // absolute tenant URL, for meta.location and $ref
	// ignored lists the attributes of the request that the profile does
	// not support and that were dropped (scim.Profile.Prune), for the
	// request log: the client is not told, so the log is where an
	// administrator learns why a value did not stick.
	ignored []string
}

// route matches the path segments after /v1/scim/{idp}. Endpoint names match
// case-insensitively and a trailing slash is accepted.
func (s *Server) route(segs []string) (kind string, rt *scim.ResourceType, id string) {
	if len(segs) == 0 || len(segs) > 2 {
		return "", nil, ""
	}
	first := strings.ToLower(segs[0])
	switch first {
	case "users", "groups":
		// Trim the lower-cased name: "USERS" must find User too.
		rt = s.reg.ResourceType(strings.TrimSuffix(first, "s"))
		if len(segs) == 1 {
			return "collection", rt, ""
		}
		if strings.EqualFold(segs[1], ".search") {
			return "search", rt, ""
		}
		return "item", rt, segs[1]
	case "serviceproviderconfig":
		if len(segs) == 1 {
			return "spconfig", nil, ""
		}
	case "resourcetypes":
		if len(segs) == 1 {
			return "resourcetypes", nil, ""
		}
		return "resourcetype", nil, segs[1]
	case "bulk", "me":
		if len(segs) == 1 {
			return "unimplemented", nil, ""
		}
	case "schemas":
		if len(segs) == 1 {
			return "schemas", nil, ""
		}
		return "schema", nil, segs[1]
	}
	return "", nil, ""
}

// scimRoutes lists every SCIM endpoint by kind and method.
var scimRoutes = map[string][]scimRoute{
	"collection": {
		{"/v1/scim/{idp}/{type}", "GET", (*Server).list},
		{"/v1/scim/{idp}/{type}", "POST", (*Server).create},
	},
	"search": {{"/v1/scim/{idp}/{type}/.search", "POST", (*Server).search}},
	"item": {
		{"/v1/scim/{idp}/{type}/{id}", "GET", (*Server).get},
		{"/v1/scim/{idp}/{type}/{id}", "PUT", (*Server).replace},
		{"/v1/scim/{idp}/{type}/{id}", "PATCH", (*Server).patch},
		{"/v1/scim/{idp}/{type}/{id}", "DELETE", (*Server).delete},
	},
	"spconfig":      {{"/v1/scim/{idp}/ServiceProviderConfig", "GET", (*Server).spConfig}},
	"resourcetypes": {{"/v1/scim/{idp}/ResourceTypes", "GET", (*Server).resourceTypes}},
	"resourcetype":  {{"/v1/scim/{idp}/ResourceTypes/{name}", "GET", (*Server).resourceType}},
	"schemas":       {{"/v1/scim/{idp}/Schemas", "GET", (*Server).schemas}},
	"unimplemented": {
		{"/v1/scim/{idp}/{unimplemented}", "GET", (*Server).unimplemented},
		{"/v1/scim/{idp}/{unimplemented}", "POST", (*Server).unimplemented},
	},
	"schema": {{"/v1/scim/{idp}/Schemas/{urn}", "GET", (*Server).schema}},
}

// serveSCIM dispatches a request under /v1/scim/{idp}/.
func (s *Server) serveSCIM(w http.ResponseWriter, r *http.Request) {
	rest := strings.Trim(r.PathValue("rest"), "/")
	var segs []string
	if rest != "" {
		segs = strings.Split(rest, "/")
	}
	kind, rt, id := s.route(segs)
	routes := scimRoutes[kind]
	if len(routes) == 0 {
		s.wrap("/v1/scim/{idp}/unmatched", func(w http.ResponseWriter, r *http.Request) error {
			return roster.Errorf(roster.ENOTFOUND, "no SCIM endpoint at %s; use /Users, /Groups, /ServiceProviderConfig, /ResourceTypes or /Schemas", r.URL.Path)
		}).ServeHTTP(w, r)
		return
	}
	method := r.Method
	if method == http.MethodHead {
		method = http.MethodGet
	}
	// The metrics label names the resource type but never an id, so that
	// the number of series stays fixed.
	label := func(rr scimRoute) string {
		if rt == nil {
			return rr.pattern
		}
		return strings.Replace(rr.pattern, "{type}", rt.Endpoint[1:], 1)
	}
	// A search is a read whatever its method, so that a read-only key may
	// search; every other method but GET and HEAD writes.
	write := kind != "search" && method != http.MethodGet
	for _, rr := range routes {
		if rr.method != method {
			continue
		}
		s.wrap(label(rr), func(w http.ResponseWriter, r *http.Request) error {
			if !plainID(r.PathValue("idp")) || !plainID(id) {
				// No id Roster hands out holds these, and PostgreSQL
				// refuses them as query arguments: answer before the store.
				return roster.Errorf(roster.ENOTFOUND, "no such IdP configuration or resource: the id in %s contains a NUL character or invalid UTF-8", r.URL.EscapedPath())
			}
			t, err := s.authenticate(r, rt, id, write)
			if err != nil {
				return err
			}
			if err := checkQuery(r.URL.RawQuery); err != nil {
				return err
			}
			return rr.h(s, w, r, t)
		}).ServeHTTP(w, r)
		return
	}
	allowed := make([]string, 0, len(routes)+1)
	for _, rr := range routes {
		allowed = append(allowed, rr.method)
		if rr.method == http.MethodGet {
			allowed = append(allowed, http.MethodHead) // served as a GET without the body
		}
	}
	s.wrap(label(routes[0]), func(w http.ResponseWriter, r *http.Request) error {
		w.Header().Set("Allow", strings.Join(allowed, ", "))
		return roster.Errorf(roster.EMETHOD, "%s is not allowed here; allowed: %s", r.Method, strings.Join(allowed, ", "))
	}).ServeHTTP(w, r)
}

// authenticate checks the bearer token against the keys the directory
// accepts, and the key's privilege (write or read) on the resource type of
// the request, and looks up the directory's attribute profile. Both are
// checked on every request, through a cache the store keeps coherent
// (AuthenticateDirectory), so that a revocation or a profile change made
// through the admin API applies at once, on every replica.
func (s *Server) authenticate(r *http.Request, rt *scim.ResourceType, id string, write bool) (*tenant, error) {
	h := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(strings.TrimSpace(h), " ")
	if h == "" {
		return nil, roster.Errorf(roster.EUNAUTHORIZED, "missing credentials: send Authorization: Bearer <token>")
	}
	if !ok || subtle.ConstantTimeCompare([]byte(strings.ToLower(scheme)), []byte("bearer")) != 1 || strings.TrimSpace(token) == "" {
		return nil, roster.Errorf(roster.EUNAUTHORIZED, "unsupported authorization scheme: send Authorization: Bearer <token>")
	}
	dir := r.PathValue("idp")
	key, d, err := s.credentials(r.Context(), dir, roster.HashSecret(strings.TrimSpace(token)))
	if err != nil {
		return nil, err
	}
	noteCredential(r.Context(), key)
	if rt != nil {
		if !key.Allows(rt.Name, write) {
			verb := "read"
			if write {
				verb = "write"
			}
			what := "API key"
			if key.Kind == "oauth" {
				what = "OAuth client"
			}
			return nil, roster.Errorf(roster.EFORBIDDEN, "the %s %q has no %s privilege on %ss", what, key.Name, verb, rt.Name)
		}
	}
	p := s.profs.Lookup(d.Profile)
	if p == nil {
		// A custom profile the server was started without: refusing is
		// safer than serving the directory with other rules.
		return nil, fmt.Errorf("directory %s uses profile %q, which this server does not have; start it with --profiles <file>", dir, d.Profile)
	}
	if rt != nil {
		name := rt.Name
		if rt = p.ResourceType(name); rt == nil {
			return nil, roster.Errorf(roster.ENOTFOUND, "this directory's profile %s has no %ss; see /ResourceTypes", p.Name, name)
		}
	}
	return &tenant{dir: dir, cred: key, profile: p, rt: rt, id: id, base: baseURL(r) + "/v1/scim/" + dir}, nil
}

// directoryAuthenticator is implemented by stores that answer
// authentication and the directory lookup together, from a cache they keep
// coherent (sqlstore.Store.AuthenticateDirectory).
type directoryAuthenticator interface {
	AuthenticateDirectory(ctx context.Context, dirID string, hash []byte) (*roster.Credential, *roster.Directory, error)
}

// credentials returns the credential whose secret hashes to hash, if the
// directory accepts it, and the directory.
func (s *Server) credentials(ctx context.Context, dir string, hash []byte) (*roster.Credential, *roster.Directory, error) {
	if a, ok := s.admin.(directoryAuthenticator); ok {
		return a.AuthenticateDirectory(ctx, dir, hash)
	}
	key, err := s.admin.Authenticate(ctx, dir, hash)
	if err != nil {
		return nil, nil, err
	}
	d, err := s.admin.FindDirectory(ctx, dir)
	return key, d, err
}

// baseURL is the scheme and host the client used. X-Forwarded-Proto is
// honoured so that meta.location is https behind a TLS-terminating proxy.
func baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https") {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// checkQuery rejects a query string that does not decode. Handlers read it
// with URL.Query, which drops what it cannot decode: a broken filter would
// silently become no filter, and a matching query would list every user.
func checkQuery(raw string) error {
	for _, part := range strings.Split(raw, "&") {
		key, value, _ := strings.Cut(part, "=")
		k, err1 := url.QueryUnescape(key)
		_, err2 := url.QueryUnescape(value)
		if err1 == nil && err2 == nil && !strings.Contains(part, ";") {
			continue
		}
		if strings.EqualFold(k, "filter") {
			return roster.SCIMErrorf(roster.ScimInvalidFilter, "the filter parameter is not correctly URL-encoded: encode %%, ; and spaces (as %%25, %%3B and %%20 or +)")
		}
		return roster.SCIMErrorf(roster.ScimInvalidValue, "the query string is not correctly URL-encoded near %q", part)
	}
	return nil
}

// plainID reports whether an id taken from the path can name something:
// valid UTF-8 without NUL characters.
func plainID(id string) bool { return utf8.ValidString(id) && !strings.ContainsRune(id, 0) }
