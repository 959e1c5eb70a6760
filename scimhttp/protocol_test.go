package scimhttp_test

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/roster-scim/roster/scim"
	"github.com/roster-scim/roster/scimhttp"
)

// TestContentTypes checks that every SCIM response is application/scim+json
// and that application/json requests (Postman, scripts) are accepted.
func TestContentTypes(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	for _, ct := range []string{"application/json", "application/json; charset=utf-8", "Application/SCIM+JSON; charset=UTF-8", ""} {
		t.Run("request "+ct, func(t *testing.T) {
			name := fmt.Sprintf("ct-%d@example.com", len(ct))
			status, header, body := h.do(t, "POST", "/Users", `{"userName":"`+name+`"}`, "Content-Type", ct)
			if status != http.StatusCreated {
				t.Fatalf("POST with Content-Type %q: %d %v", ct, status, body)
			}
			wantSCIMJSON(t, header)
			status, header, _ = h.do(t, "PATCH", "/Users/"+str(body, "id"), patchBody(`{"op":"add","path":"nickName","value":"x"}`), "Content-Type", ct)
			if status != http.StatusOK {
				t.Fatalf("PATCH with Content-Type %q: %d", ct, status)
			}
			wantSCIMJSON(t, header)
		})
	}
	for _, path := range []string{"/Users", "/Groups", "/ServiceProviderConfig", "/ResourceTypes", "/Schemas", "/Nothing"} {
		_, header, _ := h.do(t, "GET", path, "")
		if !strings.HasPrefix(header.Get("Content-Type"), "application/scim+json") {
			t.Errorf("GET %s: Content-Type %q", path, header.Get("Content-Type"))
		}
	}
}

func wantSCIMJSON(t *testing.T, header http.Header) {
	t.Helper()
	if ct := header.Get("Content-Type"); !strings.HasPrefix(ct, "application/scim+json") {
		t.Errorf("Content-Type = %q, want application/scim+json", ct)
	}
}

// TestEndpointNames checks that endpoint names match case-insensitively and
// with a trailing slash, as clients spell them in every way.
func TestEndpointNames(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	user := h.createUser(t, "alice@example.com")
	group := h.createGroup(t, "Engineering", user)
	for _, tc := range []struct {
		path   string
		wantID string // id of a single resource, or "" for a list
	}{
		{"/users", ""}, {"/USERS/", ""}, {"/Users/", ""}, {"/uSeRs", ""},
		{"/groups", ""}, {"/GROUPS/", ""},
		{"/users/" + user, user}, {"/USERS/" + user + "/", user},
		{"/groups/" + group, group}, {"/Groups/" + group + "/", group},
		{"/serviceproviderconfig", ""}, {"/SERVICEPROVIDERCONFIG/", ""},
		{"/resourcetypes", ""}, {"/resourcetypes/user", "User"}, {"/RESOURCETYPES/GROUP/", "Group"},
		{"/schemas/", ""}, {"/SCHEMAS/" + strings.ToUpper(scim.UserSchema), scim.UserSchema},
	} {
		t.Run(tc.path, func(t *testing.T) {
			body := h.mustDo(t, http.StatusOK, "GET", tc.path, "")
			if tc.wantID != "" && str(body, "id") != tc.wantID {
				t.Errorf("id = %q, want %q", str(body, "id"), tc.wantID)
			}
		})
	}
	if body := h.mustDo(t, http.StatusOK, "POST", "/USERS/.search", `{"filter":"userName eq \"alice@example.com\""}`); body["totalResults"] != 1.0 {
		t.Errorf("POST /USERS/.search: %v", body)
	}
	// Bulk and /Me are not offered: 501 says so, where 404 would suggest a wrong URL.
	for _, path := range []string{"/Bulk", "/Me"} {
		status, header, body := h.do(t, "POST", path, `{}`)
		assertSCIMError(t, status, header, body, http.StatusNotImplemented, "")
	}
}

// TestSearch checks POST /.search (RFC 7644 §3.4.3) with a filter,
// attributes and count, and that it needs only the read privilege.
func TestSearch(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	for _, n := range []string{"a", "b", "c", "d"} {
		h.createUser(t, n+"@search.example.com", `"displayName":"Search `+n+`"`)
	}
	h.createUser(t, "other@example.com")
	body := h.mustDo(t, http.StatusOK, "POST", "/Users/.search", `{
		"schemas": ["`+scim.SearchRequestURN+`"],
		"attributes": ["userName"],
		"filter": "userName ew \"@search.example.com\"",
		"sortBy": "userName", "sortOrder": "descending",
		"startIndex": 2, "count": 2}`)
	if body["totalResults"] != 4.0 || body["startIndex"] != 2.0 || body["itemsPerPage"] != 2.0 {
		t.Fatalf("search page: %v", body)
	}
	for i, want := range []string{"c@search.example.com", "b@search.example.com"} {
		r := dig(body, fmt.Sprintf("Resources/%d", i)).(map[string]any)
		if r["userName"] != want || hasKey(r, "displayName") || r["id"] == nil {
			t.Errorf("Resources[%d] = %v, want only id, schemas and userName %q", i, r, want)
		}
	}
	body = h.mustDo(t, http.StatusOK, "POST", "/Groups/.search", `{"excludedAttributes":["members"]}`)
	if body["totalResults"] != 0.0 {
		t.Errorf("group search: %v", body)
	}
}

// TestSorting checks sortBy and sortOrder on the list endpoint.
func TestSorting(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	for _, n := range []string{"bravo", "alpha", "Charlie"} {
		h.createUser(t, n+"@example.com")
	}
	names := func(query string) []string {
		var out []string
		for _, r := range h.mustDo(t, http.StatusOK, "GET", "/Users?attributes=userName&"+query, "")["Resources"].([]any) {
			out = append(out, str(r.(map[string]any), "userName"))
		}
		return out
	}
	for query, want := range map[string][]string{
		"":                                     {"bravo@example.com", "alpha@example.com", "Charlie@example.com"},
		"sortBy=userName":                      {"alpha@example.com", "bravo@example.com", "Charlie@example.com"},
		"sortBy=userName&sortOrder=ascending":  {"alpha@example.com", "bravo@example.com", "Charlie@example.com"},
		"sortBy=USERNAME&sortOrder=Descending": {"Charlie@example.com", "bravo@example.com", "alpha@example.com"},
		"sortBy=meta.created&sortOrder=descending": {"Charlie@example.com", "alpha@example.com", "bravo@example.com"},
	} {
		if got := names(query); !slices.Equal(got, want) {
			t.Errorf("?%s: %v, want %v", query, got, want)
		}
	}
}

// TestPaging checks count and startIndex edge cases: count=0 asks only for
// the total, a count above MaxResults is capped, no count means
// DefaultCount, and the pages of a walk neither overlap nor miss anyone.
func TestPaging(t *testing.T) {
	t.Parallel()
	h := newHarness(t, withConfig(func(c *scimhttp.Config) { c.MaxResults, c.DefaultCount = 4, 3 }))
	var all []string
	for i := range 7 {
		all = append(all, h.createUser(t, fmt.Sprintf("user%d@example.com", i)))
	}
	for _, tc := range []struct {
		query                    string
		startIndex, itemsPerPage float64
	}{
		{"count=0", 1, 0},
		{"count=0&filter=userName+sw+%22user%22", 1, 0},
		{"count=100", 1, 4},
		{"", 1, 3},
		{"startIndex=0&count=2", 1, 2},
		{"startIndex=-5&count=2", 1, 2},
		{"count=-1", 1, 0},
		{"startIndex=7", 7, 1},
		{"startIndex=8", 8, 0},
	} {
		t.Run(tc.query, func(t *testing.T) {
			body := h.mustDo(t, http.StatusOK, "GET", "/Users?"+tc.query, "")
			res, ok := body["Resources"].([]any)
			if !ok || body["totalResults"] != 7.0 || body["startIndex"] != tc.startIndex || body["itemsPerPage"] != tc.itemsPerPage || float64(len(res)) != tc.itemsPerPage {
				t.Errorf("got totalResults %v startIndex %v itemsPerPage %v and %d Resources; want 7, %v, %v",
					body["totalResults"], body["startIndex"], body["itemsPerPage"], len(res), tc.startIndex, tc.itemsPerPage)
			}
		})
	}
	var walked []string
	for start := 1; start <= len(all); start += 2 {
		walked = append(walked, resourceIDs(h.mustDo(t, http.StatusOK, "GET", fmt.Sprintf("/Users?startIndex=%d&count=2", start), ""))...)
	}
	if !slices.Equal(walked, all) {
		t.Errorf("walking pages of 2 gave %v, want %v", walked, all)
	}
	spc := h.mustDo(t, http.StatusOK, "GET", "/ServiceProviderConfig", "")
	if dig(spc, "filter/maxResults") != 4.0 {
		t.Errorf("filter.maxResults = %v, want the configured 4", dig(spc, "filter/maxResults"))
	}
}

// TestProjection checks attributes and excludedAttributes on every kind of
// response that returns a resource.
func TestProjection(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	user := `{"userName":"alice@example.com","displayName":"Alice","title":"Engineer","name":{"givenName":"Alice","familyName":"Liddell"},
		"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"R&D"}}`
	only := func(t *testing.T, body map[string]any, keys ...string) {
		t.Helper()
		var got []string
		for k := range body {
			got = append(got, k)
		}
		if want := sortedCopy(append(keys, "id", "schemas")); !slices.Equal(sortedCopy(got), want) {
			t.Errorf("keys %v, want %v", sortedCopy(got), want)
		}
	}
	created := h.mustDo(t, http.StatusCreated, "POST", "/Users?attributes=userName,name.givenName", user)
	only(t, created, "userName", "name")
	if dig(created, "name/givenName") != "Alice" || hasKey(created["name"].(map[string]any), "familyName") {
		t.Errorf("POST ?attributes=name.givenName: name = %v", created["name"])
	}
	id := str(created, "id")

	only(t, h.mustDo(t, http.StatusOK, "GET", "/Users/"+id+"?attributes=displayName", ""), "displayName")
	only(t, h.mustDo(t, http.StatusOK, "GET", "/Users/"+id+"?attributes=urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", ""),
		scim.EnterpriseSchema)
	excluded := h.mustDo(t, http.StatusOK, "GET", "/Users/"+id+"?excludedAttributes=title,name.familyName,meta,id", "")
	if hasKey(excluded, "title") || hasKey(excluded, "meta") || !hasKey(excluded, "displayName") || hasKey(excluded["name"].(map[string]any), "familyName") {
		t.Errorf("excludedAttributes: %v", excluded)
	}
	if str(excluded, "id") != id {
		t.Errorf("id is returned always, even when excluded: %v", excluded)
	}

	list := h.mustDo(t, http.StatusOK, "GET", "/Users?attributes=title", "")
	only(t, dig(list, "Resources/0").(map[string]any), "title")
	list = h.mustDo(t, http.StatusOK, "GET", "/Users?excludedAttributes=name,urn:ietf:params:scim:schemas:extension:enterprise:2.0:User", "")
	if r := dig(list, "Resources/0").(map[string]any); hasKey(r, "name") || hasKey(r, scim.EnterpriseSchema) || !hasKey(r, "userName") {
		t.Errorf("list excludedAttributes: %v", r)
	}

	patched := h.mustDo(t, http.StatusOK, "PATCH", "/Users/"+id+"?attributes=nickName", patchBody(`{"op":"add","path":"nickName","value":"Ali"}`))
	only(t, patched, "nickName")
	put := h.mustDo(t, http.StatusOK, "PUT", "/Users/"+id+"?excludedAttributes=meta,userName", `{"userName":"alice@example.com","nickName":"Al"}`)
	only(t, put, "nickName")

	group := h.createGroup(t, "Engineering", id)
	// A group PATCH answers 204, unless the client asks for attributes.
	g := h.mustDo(t, http.StatusOK, "PATCH", "/Groups/"+group+"?attributes=members", patchBody(`{"op":"replace","path":"displayName","value":"Eng"}`))
	only(t, g, "members")
	if dig(g, "members/0/value") != id {
		t.Errorf("group PATCH ?attributes=members: %v", g)
	}
	g = h.mustDo(t, http.StatusOK, "PATCH", "/Groups/"+group+"?excludedAttributes=members", patchBody(`{"op":"replace","path":"displayName","value":"Eng2"}`))
	if hasKey(g, "members") || g["displayName"] != "Eng2" {
		t.Errorf("group PATCH ?excludedAttributes=members: %v", g)
	}
}

// TestPatchResponses checks the status and body of PATCH: users answer 200
// with the resource, groups 204 with no body, both with the new ETag.
func TestPatchResponses(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	user := h.createUser(t, "alice@example.com")
	group := h.createGroup(t, "Engineering")

	r := h.request(t, "PATCH", h.base+"/Users/"+user, patchBody(`{"op":"replace","path":"active","value":false}`))
	if r.status != http.StatusOK || str(r.body, "id") != user || r.body["active"] != false {
		t.Fatalf("user PATCH: %d %s", r.status, r.raw)
	}
	if r.header.Get("ETag") != str(r.body, "meta/version") || r.header.Get("ETag") != `W/"2"` {
		t.Errorf("user PATCH ETag %q, meta.version %q", r.header.Get("ETag"), str(r.body, "meta/version"))
	}

	r = h.request(t, "PATCH", h.base+"/Groups/"+group, patchBody(`{"op":"add","path":"members","value":[{"value":"`+user+`"}]}`))
	if r.status != http.StatusNoContent || len(r.raw) != 0 {
		t.Fatalf("group PATCH: %d %q", r.status, r.raw)
	}
	etag := r.header.Get("ETag")
	if got := h.mustDo(t, http.StatusOK, "GET", "/Groups/"+group, ""); str(got, "meta/version") != etag || etag != `W/"2"` {
		t.Errorf("group PATCH ETag %q, stored version %q", etag, str(got, "meta/version"))
	}
}

// TestETags checks ETag = meta.version on every response with a resource,
// If-None-Match (304) and If-Match with the current ETag (success).
func TestETags(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	created := h.request(t, "POST", h.base+"/Users", `{"userName":"alice@example.com"}`)
	id := str(created.body, "id")
	check := func(what string, r response) {
		t.Helper()
		if etag := r.header.Get("ETag"); etag == "" || etag != str(r.body, "meta/version") {
			t.Errorf("%s: ETag %q, meta.version %q", what, etag, str(r.body, "meta/version"))
		}
	}
	check("POST", created)
	get := h.request(t, "GET", h.base+"/Users/"+id, "")
	check("GET", get)
	etag := get.header.Get("ETag")

	for _, inm := range []string{etag, `"1"`, `W/"3", ` + etag, "*"} {
		r := h.request(t, "GET", h.base+"/Users/"+id, "", "If-None-Match", inm)
		if r.status != http.StatusNotModified || len(r.raw) != 0 || r.header.Get("ETag") != etag {
			t.Errorf("If-None-Match %s: %d %q ETag %q, want 304 with no body", inm, r.status, r.raw, r.header.Get("ETag"))
		}
	}
	if r := h.request(t, "GET", h.base+"/Users/"+id, "", "If-None-Match", `W/"99"`); r.status != http.StatusOK {
		t.Errorf("If-None-Match with another version: %d", r.status)
	}

	put := h.request(t, "PUT", h.base+"/Users/"+id, `{"userName":"alice@example.com","nickName":"Al"}`, "If-Match", etag)
	if put.status != http.StatusOK {
		t.Fatalf("PUT If-Match current: %d %s", put.status, put.raw)
	}
	check("PUT", put)
	patch := h.request(t, "PATCH", h.base+"/Users/"+id, patchBody(`{"op":"replace","path":"nickName","value":"Ali"}`), "If-Match", put.header.Get("ETag"))
	if patch.status != http.StatusOK {
		t.Fatalf("PATCH If-Match current: %d %s", patch.status, patch.raw)
	}
	check("PATCH", patch)
	if r := h.request(t, "PATCH", h.base+"/Users/"+id, patchBody(`{"op":"replace","path":"nickName","value":"A"}`), "If-Match", "*"); r.status != http.StatusOK {
		t.Errorf("If-Match *: %d", r.status)
	}
	listed := h.request(t, "PATCH", h.base+"/Users/"+id, patchBody(`{"op":"replace","path":"nickName","value":"B"}`), "If-Match", `W/"1", `+h.request(t, "GET", h.base+"/Users/"+id, "").header.Get("ETag"))
	if listed.status != http.StatusOK {
		t.Errorf("If-Match with a list holding the current ETag: %d %s", listed.status, listed.raw)
	}
	if r := h.request(t, "PATCH", h.base+"/Users/"+id, patchBody(`{"op":"replace","path":"nickName","value":"C"}`), "If-Match", `W/"1", W/"2"`); r.status != http.StatusPreconditionFailed {
		t.Errorf("If-Match with a list of stale ETags: %d, want 412", r.status)
	}
	if r := h.request(t, "DELETE", h.base+"/Users/"+id, "", "If-Match", etag); r.status != http.StatusPreconditionFailed {
		t.Errorf("DELETE with the first ETag after three writes: %d, want 412", r.status)
	}
	cur := h.request(t, "GET", h.base+"/Users/"+id, "").header.Get("ETag")
	if r := h.request(t, "DELETE", h.base+"/Users/"+id, "", "If-Match", cur); r.status != http.StatusNoContent {
		t.Errorf("DELETE If-Match current: %d %s", r.status, r.raw)
	}
}

// TestHead checks that HEAD answers like GET without a body.
func TestHead(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	id := h.createUser(t, "alice@example.com")
	for _, path := range []string{"/Users/" + id, "/Users?filter=userName+eq+%22alice%40example.com%22", "/ServiceProviderConfig", "/Users/missing"} {
		get := h.request(t, "GET", h.base+path, "")
		head := h.request(t, "HEAD", h.base+path, "")
		if head.status != get.status || len(head.raw) != 0 || head.header.Get("Content-Type") != get.header.Get("Content-Type") || head.header.Get("ETag") != get.header.Get("ETag") {
			t.Errorf("HEAD %s: %d %q %v; GET: %d %v", path, head.status, head.raw, head.header, get.status, get.header)
		}
	}
	if r := h.doRoot(t, "HEAD", "/healthz", ""); r.status != http.StatusOK {
		t.Errorf("HEAD /healthz: %d", r.status)
	}
	// HEAD is allowed wherever GET is.
	r := h.request(t, "DELETE", h.base+"/Users", "")
	if allow := r.header.Get("Allow"); !strings.Contains(allow, "HEAD") {
		t.Errorf("Allow = %q, want HEAD listed with GET", allow)
	}
}

// TestRequestID checks that every response carries X-Request-Id, that a
// sane client id is kept (to correlate with a proxy) and a hostile one
// replaced.
func TestRequestID(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	for _, r := range []response{
		h.request(t, "GET", h.base+"/Users", ""),
		h.request(t, "GET", h.base+"/Users/missing", ""),
		h.request(t, "GET", h.base+"/Users", "", "Authorization", ""),
		h.request(t, "DELETE", h.base+"/Users", ""),
		h.request(t, "POST", h.base+"/Users", `{"userName":"a@example.com"}`),
		h.doRoot(t, "GET", "/healthz", ""),
		h.doRoot(t, "GET", "/metrics", ""),
		h.doRoot(t, "GET", "/nothing/here", ""),
	} {
		if r.header.Get("X-Request-Id") == "" {
			t.Errorf("no X-Request-Id on a %d response: %v", r.status, r.header)
		}
	}
	if got := h.request(t, "GET", h.base+"/Users", "", "X-Request-Id", "lb-1234").header.Get("X-Request-Id"); got != "lb-1234" {
		t.Errorf("client request id replaced: %q", got)
	}
	if got := h.request(t, "GET", h.base+"/Users", "", "X-Request-Id", "bad id\twith spaces").header.Get("X-Request-Id"); got == "" || strings.ContainsAny(got, " \t") {
		t.Errorf("hostile request id kept: %q", got)
	}
}

// TestHealthAndMetrics checks /healthz and that /metrics labels requests
// by route pattern, never by raw path (one series per user id would grow
// without bound).
func TestHealthAndMetrics(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	if r := h.doRoot(t, "GET", "/healthz", "", "Authorization", ""); r.status != http.StatusOK || r.body["status"] != "ok" {
		t.Errorf("/healthz: %d %s", r.status, r.raw)
	}
	id := h.createUser(t, "alice@example.com")
	h.mustDo(t, http.StatusOK, "GET", "/Users/"+id, "")
	h.mustDo(t, http.StatusOK, "GET", "/users/"+id+"/", "")
	h.do(t, "PUT", "/Schemas", "")
	h.do(t, "PUT", "/Users", "")
	r := h.doRoot(t, "GET", "/metrics", "", "Authorization", "")
	text := string(r.raw)
	if r.status != http.StatusOK {
		t.Fatalf("/metrics: %d", r.status)
	}
	for _, want := range []string{
		`roster_http_requests_total{method="GET",route="/v1/scim/{idp}/Users/{id}",status="200"} 2`,
		`roster_http_requests_total{method="POST",route="/v1/scim/{idp}/Users",status="201"} 1`,
		`roster_http_requests_total{method="PUT",route="/v1/scim/{idp}/Users",status="405"} 1`,
		`roster_http_requests_total{method="PUT",route="/v1/scim/{idp}/Schemas",status="405"} 1`,
		`roster_http_request_duration_seconds_bucket{method="GET",route="/v1/scim/{idp}/Users/{id}",status="200",le="+Inf"} 2`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	for _, leak := range []string{id, h.dir, "{type}"} {
		if strings.Contains(text, leak) {
			t.Errorf("/metrics contains %q: routes must be patterns", leak)
		}
	}
}

// TestDiscovery checks the three discovery endpoints Entra and the gallery
// validator read.
func TestDiscovery(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	spc := h.mustDo(t, http.StatusOK, "GET", "/ServiceProviderConfig", "")
	for path, want := range map[string]any{
		"schemas/0": scim.SPConfigSchema, "patch/supported": true, "bulk/supported": false,
		"filter/supported": true, "filter/maxResults": float64(testConfig().MaxResults), "etag/supported": true,
		"sort/supported": true, "changePassword/supported": false, "authenticationSchemes/0/type": "oauthbearertoken",
	} {
		if got := dig(spc, path); got != want {
			t.Errorf("ServiceProviderConfig %s = %v, want %v", path, got, want)
		}
	}

	rts := h.mustDo(t, http.StatusOK, "GET", "/ResourceTypes", "")
	if dig(rts, "schemas/0") != scim.ListResponseURN || rts["totalResults"] != 2.0 {
		t.Errorf("/ResourceTypes: %v", rts)
	}
	user := h.mustDo(t, http.StatusOK, "GET", "/ResourceTypes/User", "")
	if user["endpoint"] != "/Users" || user["schema"] != scim.UserSchema || dig(user, "schemaExtensions/0/schema") != scim.EnterpriseSchema ||
		!strings.HasSuffix(str(user, "meta/location"), "/v1/scim/"+h.dir+"/ResourceTypes/User") {
		t.Errorf("/ResourceTypes/User: %v", user)
	}

	schemas := h.mustDo(t, http.StatusOK, "GET", "/Schemas", "")
	if dig(schemas, "schemas/0") != scim.ListResponseURN {
		t.Errorf("/Schemas is not a ListResponse: %v", schemas["schemas"])
	}
	byID := map[string]map[string]any{}
	for _, s := range schemas["Resources"].([]any) {
		byID[str(s.(map[string]any), "id")] = s.(map[string]any)
	}
	if byID[scim.GroupSchema] == nil || byID[scim.EnterpriseSchema] == nil || str(byID[scim.UserSchema], "description") != "User Account" {
		t.Errorf("/Schemas lacks the Group schema or the User Account description: %v", sortedKeys(byID))
	}
	ent := h.mustDo(t, http.StatusOK, "GET", "/Schemas/"+scim.EnterpriseSchema, "")
	if ent["id"] != scim.EnterpriseSchema || !strings.Contains(string(mustJSON(t, ent)), `"name":"manager"`) {
		t.Errorf("/Schemas/<enterprise>: %v", ent)
	}
	// Nulls are omitted and mutability is camelCase, as the validator wants.
	raw := h.request(t, "GET", h.base+"/Schemas", "").raw
	if strings.Contains(string(raw), "null") || !strings.Contains(string(raw), `"readWrite"`) {
		t.Errorf("/Schemas has nulls or lacks readWrite")
	}
}

func sortedKeys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return sortedCopy(out)
}

// TestServerOwnedAttributes checks that what the server owns cannot be set
// by a client: id and meta on POST and PUT, groups on a user.
func TestServerOwnedAttributes(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	const fakeID = "11111111-2222-4333-8444-555555555555"
	r := h.request(t, "POST", h.base+"/Users", `{"id":"`+fakeID+`","userName":"alice@example.com",
		"meta":{"resourceType":"Group","created":"2001-01-01T00:00:00Z","lastModified":"2001-01-01T00:00:00Z","version":"W/\"42\"","location":"https://evil.example/x"},
		"groups":[{"value":"`+fakeID+`"}],"schemas":["urn:example:bogus"]}`)
	if r.status != http.StatusCreated {
		t.Fatalf("POST: %d %s", r.status, r.raw)
	}
	id := str(r.body, "id")
	if id == fakeID || id == "" {
		t.Errorf("client id kept: %q", id)
	}
	if str(r.body, "meta/resourceType") != "User" || strings.HasPrefix(str(r.body, "meta/created"), "2001") ||
		str(r.body, "meta/version") != `W/"1"` || !strings.HasPrefix(str(r.body, "meta/location"), h.base+"/Users/"+id) ||
		r.header.Get("Location") != h.base+"/Users/"+id {
		t.Errorf("client meta kept: %v, Location %q", r.body["meta"], r.header.Get("Location"))
	}
	if hasKey(r.body, "groups") || dig(r.body, "schemas/0") != scim.UserSchema {
		t.Errorf("client groups or schemas kept: %s", r.raw)
	}
	if s, _, _ := h.do(t, "GET", "/Users/"+fakeID, ""); s != http.StatusNotFound {
		t.Errorf("a resource exists at the client's id: %d", s)
	}
	put := h.mustDo(t, http.StatusOK, "PUT", "/Users/"+id, `{"id":"`+fakeID+`","userName":"alice@example.com","meta":{"created":"2001-01-01T00:00:00Z"}}`)
	if str(put, "id") != id || strings.HasPrefix(str(put, "meta/created"), "2001") || str(put, "meta/created") != str(r.body, "meta/created") {
		t.Errorf("PUT changed server-owned attributes: %v", put)
	}
}

// TestPasswordNeverReturned checks that a password, which Okta sends on
// create, is never returned (RFC 7643: returned "never").
func TestPasswordNeverReturned(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	const secret = "s3cr3t-Pa55word"
	r := h.request(t, "POST", h.base+"/Users", `{"userName":"alice@example.com","password":"`+secret+`"}`)
	id := str(r.body, "id")
	responses := []response{r,
		h.request(t, "GET", h.base+"/Users/"+id, ""),
		h.request(t, "GET", h.base+"/Users/"+id+"?attributes=password", ""),
		h.request(t, "GET", h.base+"/Users?filter=userName+eq+%22alice%40example.com%22", ""),
		h.request(t, "PATCH", h.base+"/Users/"+id, patchBody(`{"op":"replace","path":"password","value":"`+secret+`2"}`)),
		h.request(t, "PUT", h.base+"/Users/"+id, `{"userName":"alice@example.com","password":"`+secret+`3"}`),
	}
	for i, r := range responses {
		if r.status >= 300 {
			t.Errorf("response %d: status %d: %s", i, r.status, r.raw)
		}
		if strings.Contains(string(r.raw), secret) || strings.Contains(string(r.raw), `"password"`) {
			t.Errorf("response %d returns the password: %s", i, r.raw)
		}
	}
}

// TestLogsHoldNoSecretsOrPersonalData checks that request logs carry the
// request id, method, route and status, but never the bearer token, a
// body value or a filter value (SCIM bodies and filters are personal data).
func TestLogsHoldNoSecretsOrPersonalData(t *testing.T) {
	t.Parallel()
	var fs *failingStore
	h := newHarness(t, withStore(func(s scim.Store) scim.Store {
		fs = &failingStore{Store: s}
		return fs
	}))
	const (
		userName = "carol.personal@example.com"
		email    = "carol.private@home.example"
		phone    = "+1 555 0199 7788"
	)
	id := h.createUser(t, userName, `"emails":[{"type":"home","value":"`+email+`"}]`, `"password":"hunter2-hunter2"`)
	h.do(t, "PATCH", "/Users/"+id, patchBody(`{"op":"add","path":"phoneNumbers","value":[{"type":"mobile","value":"`+phone+`"}]}`))
	h.do(t, "GET", "/Users?filter=userName+eq+%22"+strings.ReplaceAll(userName, "@", "%40")+"%22", "")
	h.do(t, "POST", "/Users", `{"userName":"`+userName+`"}`)                       // 409
	h.do(t, "POST", "/Users", `{"userName": "`+userName+`",`)                      // 400
	h.do(t, "GET", "/Users?filter=userName+eq+%22"+userName+"%22+junk", "")        // 400 invalidFilter
	h.do(t, "GET", "/Users", "", "Authorization", "Bearer rst_wrong-"+h.token[4:]) // 401
	fs.fail.Store(true)
	h.do(t, "GET", "/Users/"+id, "") // 500

	logs := h.logs.String()
	for _, secret := range []string{h.token, h.token[4:], userName, email, phone, "hunter2"} {
		if strings.Contains(logs, secret) {
			t.Errorf("the log contains %q:\n%s", secret, logs)
		}
	}
	if n := len(regexp.MustCompile(`"msg":"request"`).FindAllString(logs, -1)); n < 8 {
		t.Errorf("%d request log lines, want one per request:\n%s", n, logs)
	}
	for _, want := range []string{`"route":"/v1/scim/{idp}/Users/{id}"`, `"status":409`, `"status":500`, `"request_id":`} {
		if !strings.Contains(logs, want) {
			t.Errorf("the log lacks %s:\n%s", want, logs)
		}
	}
}

// membersProbe records whether the handler asked the store for members.
type membersProbe struct {
	scim.Store
	asked []bool
}

func (p *membersProbe) Get(ctx context.Context, dir, typ, id string, withMembers bool) (*scim.Resource, error) {
	p.asked = append(p.asked, withMembers)
	return p.Store.Get(ctx, dir, typ, id, withMembers)
}

func (p *membersProbe) List(ctx context.Context, dir, typ string, q scim.ListQuery) (*scim.ListResult, error) {
	p.asked = append(p.asked, q.WithMembers)
	return p.Store.List(ctx, dir, typ, q)
}

// TestExcludedMembersSkipsMembership checks that excludedAttributes=members
// (what Entra always sends) never makes the store read the membership table.
func TestExcludedMembersSkipsMembership(t *testing.T) {
	t.Parallel()
	probe := &membersProbe{}
	h := newHarness(t, withStore(func(s scim.Store) scim.Store { probe.Store = s; return probe }))
	g := h.createGroup(t, "Engineering", h.createUser(t, "alice@example.com"))
	for _, path := range []string{
		"/Groups/" + g + "?excludedAttributes=members",
		"/Groups?excludedAttributes=members&filter=displayName+eq+%22Engineering%22",
		"/Groups/" + g + "?attributes=displayName",
	} {
		probe.asked = nil
		body := h.mustDo(t, http.StatusOK, "GET", path, "")
		if len(probe.asked) != 1 || probe.asked[0] {
			t.Errorf("GET %s asked the store for members: %v", path, probe.asked)
		}
		if strings.Contains(mustJSON(t, body), `"members"`) {
			t.Errorf("GET %s returned members: %v", path, body)
		}
	}
	probe.asked = nil
	if body := h.mustDo(t, http.StatusOK, "GET", "/Groups/"+g, ""); len(probe.asked) != 1 || !probe.asked[0] || len(body["members"].([]any)) != 1 {
		t.Errorf("a plain GET must load members: asked %v, body %v", probe.asked, body)
	}
}
