package scimhttp_test

import (
	"net/http"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/roster-scim/roster"
	"github.com/roster-scim/roster/scim"
	"github.com/roster-scim/roster/scimhttp"
)

// errorCase is a request that must fail with a SCIM error and leave the
// directory as it was.
type errorCase struct {
	name          string
	method, path  string
	body          string
	headers       []string
	status        int
	scimType      string
	detailHas     []string // substrings the detail must contain
	header, value string   // a response header that must start with value
}

// fixture is what the error tests act on: a user with a work email, a
// second user, and a group holding the first user.
type fixture struct {
	user, other, group string
}

func newFixture(t *testing.T, h *harness) fixture {
	t.Helper()
	f := fixture{
		user:  h.createUser(t, "alice@example.com", `"emails":[{"type":"work","value":"alice@example.com","primary":true}]`, `"name":{"givenName":"Alice"}`),
		other: h.createUser(t, "bob@example.com"),
	}
	f.group = h.createGroup(t, "Engineering", f.user)
	return f
}

// runErrorCases runs each case and checks the error body, then checks that
// the user, the group and both lists read exactly as before: a failed
// request changes nothing, not even meta.version.
func runErrorCases(t *testing.T, h *harness, f fixture, cases []errorCase) {
	t.Helper()
	watched := []string{"/Users/" + f.user, "/Users/" + f.other, "/Groups/" + f.group, "/Users", "/Groups"}
	before := map[string]string{}
	for _, p := range watched {
		before[p] = h.snapshot(t, p)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, header, body := h.do(t, tc.method, tc.path, tc.body, tc.headers...)
			assertSCIMError(t, status, header, body, tc.status, tc.scimType)
			detail, _ := body["detail"].(string)
			for _, s := range tc.detailHas {
				if !strings.Contains(detail, s) {
					t.Errorf("detail %q does not mention %q", detail, s)
				}
			}
			if tc.header != "" && !strings.HasPrefix(header.Get(tc.header), tc.value) {
				t.Errorf("%s = %q, want prefix %q", tc.header, header.Get(tc.header), tc.value)
			}
			if header.Get("X-Request-Id") == "" {
				t.Error("no X-Request-Id on an error response")
			}
			for _, p := range watched {
				h.unchanged(t, p, before[p])
			}
		})
	}
}

func patchBody(ops ...string) string {
	return `{"schemas":["` + scim.PatchOpURN + `"],"Operations":[` + strings.Join(ops, ",") + `]}`
}

func TestErrors(t *testing.T) {
	t.Parallel()
	h := newHarness(t, withConfig(func(c *scimhttp.Config) { c.MaxBodyBytes = 2048 }))
	f := newFixture(t, h)
	u, g := "/Users/"+f.user, "/Groups/"+f.group
	big := `{"userName":"` + strings.Repeat("x", 4096) + `"}`
	runErrorCases(t, h, f, []errorCase{
		// Routing.
		{name: "unknown SCIM endpoint", method: "GET", path: "/Widgets", status: 404},
		{name: "too deep a path", method: "GET", path: u + "/extra", status: 404},
		{name: "unknown user id", method: "GET", path: "/Users/does-not-exist", status: 404},
		{name: "a group id on the Users endpoint", method: "GET", path: "/Users/" + f.group, status: 404},
		{name: "unknown resource type", method: "GET", path: "/ResourceTypes/Widget", status: 404},
		{name: "unknown schema", method: "GET", path: "/Schemas/urn:example:nothing", status: 404},
		{name: "DELETE on a collection", method: "DELETE", path: "/Users", status: 405, header: "Allow", value: "GET"},
		{name: "PUT on ServiceProviderConfig", method: "PUT", path: "/ServiceProviderConfig", body: `{}`, status: 405, header: "Allow", value: "GET"},
		{name: "GET on .search", method: "GET", path: "/Users/.search", status: 405, header: "Allow", value: "POST"},
		{name: "POST on an item", method: "POST", path: u, body: `{}`, status: 405, header: "Allow", value: "GET"},

		// Authentication.
		{name: "no credentials", method: "GET", path: u, headers: []string{"Authorization", ""}, status: 401, header: "WWW-Authenticate", value: "Bearer"},
		{name: "no credentials on a write", method: "DELETE", path: u, headers: []string{"Authorization", ""}, status: 401, header: "WWW-Authenticate", value: "Bearer"},
		{name: "wrong token", method: "GET", path: "/Users", headers: []string{"Authorization", "Bearer rst_not-a-key"}, status: 401, header: "WWW-Authenticate", value: "Bearer"},
		{name: "wrong token on a write", method: "PATCH", path: u, body: patchBody(`{"op":"replace","path":"active","value":false}`), headers: []string{"Authorization", "Bearer rst_not-a-key"}, status: 401},
		{name: "Basic scheme with the right secret", method: "GET", path: "/Users", headers: []string{"Authorization", "Basic " + h.token}, status: 401, header: "WWW-Authenticate", value: "Bearer"},
		{name: "bearer without a token", method: "GET", path: "/Users", headers: []string{"Authorization", "Bearer "}, status: 401},
		{name: "the token without a scheme", method: "GET", path: "/Users", headers: []string{"Authorization", h.token}, status: 401},
		{name: "discovery needs credentials too", method: "GET", path: "/Schemas", headers: []string{"Authorization", ""}, status: 401},

		// Bodies.
		{name: "body over the limit on POST", method: "POST", path: "/Users", body: big, status: 413, detailHas: []string{"2048"}},
		{name: "body over the limit on PATCH", method: "PATCH", path: u, body: patchBody(`{"op":"replace","path":"nickName","value":"` + strings.Repeat("y", 4096) + `"}`), status: 413},
		{name: "body over the limit on PUT", method: "PUT", path: u, body: big, status: 413},
		{name: "malformed JSON on POST", method: "POST", path: "/Users", body: `{"userName": "carol@example.com",`, status: 400, scimType: roster.ScimInvalidSyntax},
		{name: "malformed JSON on PATCH", method: "PATCH", path: u, body: `{"Operations": [ {"op": "replace"`, status: 400, scimType: roster.ScimInvalidSyntax},
		{name: "a JSON array instead of an object", method: "POST", path: "/Users", body: `[{"userName":"carol@example.com"}]`, status: 400, scimType: roster.ScimInvalidSyntax},
		{name: "JSON null", method: "POST", path: "/Users", body: `null`, status: 400, scimType: roster.ScimInvalidSyntax},
		{name: "empty body", method: "PUT", path: u, body: " ", status: 400, scimType: roster.ScimInvalidSyntax},
		{name: "trailing data after the object", method: "POST", path: "/Users", body: `{"userName":"carol@example.com"} {"userName":"dave@example.com"}`, status: 400, scimType: roster.ScimInvalidSyntax},
		{name: "unsupported Content-Type", method: "POST", path: "/Users", body: `{"userName":"carol@example.com"}`, headers: []string{"Content-Type", "text/plain"}, status: 415},
		{name: "form Content-Type on PATCH", method: "PATCH", path: u, body: patchBody(`{"op":"replace","path":"active","value":false}`), headers: []string{"Content-Type", "application/x-www-form-urlencoded"}, status: 415},

		// Values.
		{name: "userName is a number", method: "POST", path: "/Users", body: `{"userName":42}`, status: 400, scimType: roster.ScimInvalidValue, detailHas: []string{"userName"}},
		{name: "userName missing", method: "POST", path: "/Users", body: `{"displayName":"Carol"}`, status: 400, scimType: roster.ScimInvalidValue, detailHas: []string{"userName"}},
		{name: "active is not a boolean", method: "PATCH", path: u, body: patchBody(`{"op":"replace","path":"active","value":"maybe"}`), status: 400, scimType: roster.ScimInvalidValue, detailHas: []string{"active"}},
		{name: "emails is a number on PUT", method: "PUT", path: u, body: `{"userName":"alice@example.com","emails":7}`, status: 400, scimType: roster.ScimInvalidValue},
		{name: "Operations is not an array", method: "PATCH", path: u, body: `{"Operations":"replace"}`, status: 400, scimType: roster.ScimInvalidValue},
		{name: "no operations", method: "PATCH", path: u, body: patchBody(), status: 400, scimType: roster.ScimInvalidValue},
		{name: "unknown op", method: "PATCH", path: u, body: patchBody(`{"op":"merge","path":"nickName","value":"x"}`), status: 400, scimType: roster.ScimInvalidValue},
		{name: "count is not a number", method: "GET", path: "/Users?count=ten", status: 400, scimType: roster.ScimInvalidValue},
		{name: "unknown sortOrder", method: "GET", path: "/Users?sortBy=userName&sortOrder=sideways", status: 400, scimType: roster.ScimInvalidValue},
		{name: "sortBy names nothing", method: "GET", path: "/Users?sortBy=shoeSize", status: 400, scimType: roster.ScimInvalidValue},
		{name: "renaming to a taken userName", method: "PATCH", path: u, body: patchBody(`{"op":"replace","path":"userName","value":"BOB@example.com"}`), status: 409, scimType: roster.ScimUniqueness},

		// PATCH paths.
		{name: "path names no attribute", method: "PATCH", path: u, body: patchBody(`{"op":"replace","path":"shoeSize","value":"42"}`), status: 400, scimType: roster.ScimInvalidPath, detailHas: []string{"shoeSize"}},
		{name: "path names no sub-attribute", method: "PATCH", path: u, body: patchBody(`{"op":"replace","path":"name.nickName","value":"x"}`), status: 400, scimType: roster.ScimInvalidPath},
		{name: "malformed path", method: "PATCH", path: u, body: patchBody(`{"op":"replace","path":"emails[type eq","value":"x"}`), status: 400, scimType: roster.ScimInvalidPath},
		{name: "remove without a path", method: "PATCH", path: u, body: patchBody(`{"op":"remove"}`), status: 400, scimType: roster.ScimNoTarget},
		{name: "replace on a filter that matches nothing and cannot seed", method: "PATCH", path: u, body: patchBody(`{"op":"replace","path":"emails[value sw \"nobody\"].type","value":"home"}`), status: 400, scimType: roster.ScimNoTarget},
		{name: "read-only attribute", method: "PATCH", path: u, body: patchBody(`{"op":"replace","path":"id","value":"x"}`), status: 400, scimType: roster.ScimMutability},
		{name: "a later bad op undoes an earlier good one", method: "PATCH", path: u, body: patchBody(`{"op":"replace","path":"nickName","value":"Al"}`, `{"op":"replace","path":"shoeSize","value":"42"}`), status: 400, scimType: roster.ScimInvalidPath, detailHas: []string{"Operations[1]"}},

		// Filters.
		{name: "filter ends early", method: "GET", path: "/Users?filter=userName+eq", status: 400, scimType: roster.ScimInvalidFilter, detailHas: []string{"position"}},
		{name: "filter with a stray token", method: "GET", path: "/Users?filter=userName+eq+%22a%22+banana", status: 400, scimType: roster.ScimInvalidFilter, detailHas: []string{"position 17"}},
		{name: "filter with an unknown operator", method: "GET", path: "/Users?filter=userName+is+%22a%22", status: 400, scimType: roster.ScimInvalidFilter, detailHas: []string{"position"}},
		{name: "filter with an unterminated string", method: "GET", path: "/Groups?filter=displayName+eq+%22abc", status: 400, scimType: roster.ScimInvalidFilter, detailHas: []string{"position"}},
		{name: "filter on an unknown attribute", method: "GET", path: "/Users?filter=shoeSize+eq+%2242%22", status: 400, scimType: roster.ScimInvalidFilter, detailHas: []string{"shoeSize"}},
		{name: "filter on an unknown sub-attribute", method: "GET", path: "/Users?filter=emails%5Bcolour+eq+%22red%22%5D", status: 400, scimType: roster.ScimInvalidFilter},
		{name: "filter in a search body", method: "POST", path: "/Users/.search", body: `{"filter":"userName eq"}`, status: 400, scimType: roster.ScimInvalidFilter, detailHas: []string{"position"}},

		// Members.
		{name: "adding a member that does not exist applies nothing", method: "PATCH", path: g,
			body:   patchBody(`{"op":"replace","path":"displayName","value":"Renamed"}`, `{"op":"add","path":"members","value":[{"value":"`+f.other+`"},{"value":"no-such-user"}]}`),
			status: 400, scimType: roster.ScimInvalidValue, detailHas: []string{"no-such-user"}},
		{name: "creating a group with a member that does not exist creates nothing", method: "POST", path: "/Groups",
			body:   `{"displayName":"Ghosts","members":[{"value":"` + f.other + `"},{"value":"no-such-user"}]}`,
			status: 400, scimType: roster.ScimInvalidValue, detailHas: []string{"no-such-user"}},
		{name: "PUT of a group with a member that does not exist keeps the old members", method: "PUT", path: g,
			body:   `{"displayName":"Engineering","members":[{"value":"no-such-user"}]}`,
			status: 400, scimType: roster.ScimInvalidValue, detailHas: []string{"no-such-user"}},
		{name: "a member without a value", method: "PATCH", path: g, body: patchBody(`{"op":"add","path":"members","value":[{"display":"x"}]}`), status: 400, scimType: roster.ScimInvalidValue},
		{name: "a group cannot contain itself", method: "PATCH", path: g, body: patchBody(`{"op":"add","path":"members","value":[{"value":"` + f.group + `"}]}`), status: 400, scimType: roster.ScimInvalidValue},

		// Preconditions: Roster issues W/"<version>"; none of these is current.
		{name: "stale If-Match on PUT", method: "PUT", path: u, body: `{"userName":"alice@example.com"}`, headers: []string{"If-Match", `W/"0"`}, status: 412},
		{name: "stale If-Match on PATCH", method: "PATCH", path: u, body: patchBody(`{"op":"replace","path":"active","value":false}`), headers: []string{"If-Match", `W/"7"`}, status: 412},
		{name: "stale If-Match on a group PATCH", method: "PATCH", path: g, body: patchBody(`{"op":"remove","path":"members"}`), headers: []string{"If-Match", `W/"9"`}, status: 412},
		{name: "stale If-Match on DELETE", method: "DELETE", path: u, headers: []string{"If-Match", `W/"99"`}, status: 412},
		{name: "an ETag Roster never issued on DELETE", method: "DELETE", path: g, headers: []string{"If-Match", `"abc"`}, status: 412},
	})
}

// TestErrorsOfOtherDirectories checks tenant isolation and key privileges
// with two directories: A (read/write key) and B (a key that may only
// read users).
func TestErrorsOfOtherDirectories(t *testing.T) {
	t.Parallel()
	h := newHarness(t, withSecondDirectory(roster.PrivRead, roster.PrivNone))
	f := newFixture(t, h)
	b := "/v1/scim/" + h.dirB
	bearerB := []string{"Authorization", "Bearer " + h.tokenB}

	// Directory B's key works on B for what it may do.
	if r := h.doRoot(t, "GET", b+"/Users", "", bearerB...); r.status != http.StatusOK {
		t.Fatalf("key B on directory B: %d %s", r.status, r.raw)
	}
	if r := h.doRoot(t, "POST", b+"/Users/.search", `{"filter":"userName pr"}`, bearerB...); r.status != http.StatusOK {
		t.Fatalf("a search is a read: %d %s", r.status, r.raw)
	}
	before := h.snapshot(t, "/Users/"+f.user)
	for _, tc := range []struct {
		name, method, path, body string
		headers                  []string
		status                   int
	}{
		{"token of A on B's URL", "GET", b + "/Users", "", nil, 401},
		{"token of A on B's URL, write", "POST", b + "/Users", `{"userName":"mallory@example.com"}`, nil, 401},
		{"token of B on A's URL", "GET", "/v1/scim/" + h.dir + "/Users/" + f.user, "", bearerB, 401},
		{"token of B deleting in A", "DELETE", "/v1/scim/" + h.dir + "/Users/" + f.user, "", bearerB, 401},
		{"token of A on a directory that does not exist", "GET", "/v1/scim/" + roster.NewID() + "/Users", "", nil, 401},
		{"A's user id on B's URL with B's key", "GET", b + "/Users/" + f.user, "", bearerB, 404},
		{"read-only key writes", "POST", b + "/Users", `{"userName":"mallory@example.com"}`, bearerB, 403},
		{"key without group privilege reads groups", "GET", b + "/Groups", "", bearerB, 403},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := h.doRoot(t, tc.method, tc.path, tc.body, tc.headers...)
			assertSCIMError(t, r.status, r.header, r.body, tc.status, "")
			if tc.status == 401 && !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("WWW-Authenticate = %q", r.header.Get("WWW-Authenticate"))
			}
		})
	}
	h.unchanged(t, "/Users/"+f.user, before)
	if r := h.doRoot(t, "GET", b+"/Users", "", bearerB...); len(resourceIDs(r.body)) != 0 {
		t.Errorf("directory B gained users: %s", r.raw)
	}
}

// TestInternalErrorLeaksNothing provokes a store failure: the client sees
// "internal error" and the request id, never the cause; the log has both.
func TestInternalErrorLeaksNothing(t *testing.T) {
	t.Parallel()
	var fs *failingStore
	h := newHarness(t, withStore(func(s scim.Store) scim.Store {
		fs = &failingStore{Store: s}
		return fs
	}))
	id := h.createUser(t, "alice@example.com")
	for _, tc := range []struct {
		name string
		mode *atomic.Bool
		path string
	}{
		{"store error on get", &fs.fail, "/Users/" + id},
		{"store error on list", &fs.fail, "/Users?filter=userName+eq+%22alice%40example.com%22"},
		{"panic in a handler", &fs.panics, "/Users/" + id},
	} {
		tc.mode.Store(true)
		status, header, body := h.do(t, "GET", tc.path, "")
		tc.mode.Store(false)
		assertSCIMError(t, status, header, body, http.StatusInternalServerError, "")
		detail, _ := body["detail"].(string)
		reqID := header.Get("X-Request-Id")
		if strings.Contains(detail, errDiskOnFire.Error()) || !strings.Contains(detail, "internal error") || reqID == "" || !strings.Contains(detail, reqID) {
			t.Errorf("%s: detail = %q, want \"internal error\" with request id %q and no cause", tc.name, detail, reqID)
		}
		if logs := h.logs.String(); !regexp.MustCompile(`"request_id":"` + reqID + `".*` + errDiskOnFire.Error()).MatchString(logs) {
			t.Errorf("%s: the log does not record the cause with request id %s:\n%s", tc.name, reqID, logs)
		}
	}
	h.mustDo(t, http.StatusOK, "GET", "/Users/"+id, "") // the server survived the panic
}
