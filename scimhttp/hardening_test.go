package scimhttp_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestMalformedQuery checks that a query string that does not decode is a
// 400: dropping a broken filter would list every user to a matching query.
func TestMalformedQuery(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.createUser(t, "alice@example.com")
	h.createUser(t, "bob@example.com")
	for _, tc := range []struct{ query, scimType string }{
		{"filter=userName%20eq%20%22nobody%ZZ%22", "invalidFilter"},
		{"filter=userName%20eq%20%22nobody%22;x", "invalidFilter"},
		{"count=%ZZ", "invalidValue"},
	} {
		r := h.request(t, "GET", h.base+"/Users?"+tc.query, "")
		assertSCIMError(t, r.status, r.header, r.body, http.StatusBadRequest, tc.scimType)
	}
}

// TestInvalidUTF8Body checks that a body with invalid UTF-8 is refused
// rather than stored with replacement characters.
func TestInvalidUTF8Body(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	status, header, body := h.do(t, "POST", "/Users", "{\"userName\":\"bad\xff\xfeutf\"}")
	assertSCIMError(t, status, header, body, http.StatusBadRequest, "invalidSyntax")
	if list := h.mustDo(t, http.StatusOK, "GET", "/Users", ""); list["totalResults"] != 0.0 {
		t.Errorf("a user was stored: %v", list)
	}
}

// TestPathsWithoutRedirects checks that a tenant URL entered with a
// trailing slash (//Users) works, and that the bare tenant URL answers in
// SCIM JSON rather than with the ServeMux's HTML redirect.
func TestPathsWithoutRedirects(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	r := h.request(t, "POST", h.base+"//Users", `{"userName":"alice@example.com"}`)
	if r.status != http.StatusCreated {
		t.Fatalf("POST //Users: %d %s", r.status, r.raw)
	}
	r = h.request(t, "GET", h.base, "")
	assertSCIMError(t, r.status, r.header, r.body, http.StatusNotFound, "")
	r = h.request(t, "POST", strings.TrimSuffix(h.base, "/v1/scim/"+h.dir)+"/healthz", "{}")
	assertSCIMError(t, r.status, r.header, r.body, http.StatusMethodNotAllowed, "")
	if allow := r.header.Get("Allow"); allow != "GET, HEAD" {
		t.Errorf("Allow = %q", allow)
	}
}

// TestHugeNumbers checks that out-of-range paging numbers are clamped, and
// that a search body may write an integral count as 1.0.
func TestHugeNumbers(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.createUser(t, "alice@example.com")
	h.createUser(t, "bob@example.com")
	if body := h.mustDo(t, http.StatusOK, "GET", "/Users?count=99999999999999999999", ""); len(body["Resources"].([]any)) != 2 {
		t.Errorf("huge count: %v", body)
	}
	if body := h.mustDo(t, http.StatusOK, "GET", "/Users?startIndex=99999999999999999999", ""); len(body["Resources"].([]any)) != 0 || body["totalResults"] != 2.0 {
		t.Errorf("huge startIndex: %v", body)
	}
	if body := h.mustDo(t, http.StatusOK, "POST", "/Users/.search", `{"count":1.0}`); len(body["Resources"].([]any)) != 1 {
		t.Errorf("count 1.0: %v", body)
	}
}

// TestUnstorableText sends ids and filter values with a NUL character or
// invalid UTF-8, which PostgreSQL refuses as query arguments: every store
// must answer them with a SCIM error, never a 500.
func TestUnstorableText(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.createUser(t, "alice@example.com")
	for _, path := range []string{"/v1/scim/%00/Users", "/v1/scim/%FF/Users", "/v1/scim/x%00y/Groups/abc"} {
		r := h.doRoot(t, "GET", path, "")
		assertSCIMError(t, r.status, r.header, r.body, http.StatusNotFound, "")
	}
	for _, path := range []string{"/Users/%00", "/Users/%FF%FE", "/Groups/a%00b"} {
		status, header, body := h.do(t, "GET", path, "")
		assertSCIMError(t, status, header, body, http.StatusNotFound, "")
		status, header, body = h.do(t, "DELETE", path, "")
		assertSCIMError(t, status, header, body, http.StatusNotFound, "")
	}
	for _, filter := range []string{`userName eq "a\u0000b"`, "userName eq \"\xff\"", `emails[value co "\u0000"]`} {
		status, header, body := h.do(t, "GET", "/Users?filter="+url.QueryEscape(filter), "")
		assertSCIMError(t, status, header, body, http.StatusBadRequest, "invalidFilter")
	}
	status, header, body := h.do(t, "POST", "/Users/.search", `{"filter":"userName eq \"a\u0000\""}`)
	assertSCIMError(t, status, header, body, http.StatusBadRequest, "invalidFilter")
}

// TestTypeErrorsSpeakJSON checks that a wrong JSON type is described in
// JSON terms, not with Go type names.
func TestTypeErrorsSpeakJSON(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	id := h.createUser(t, "alice@example.com")
	status, header, body := h.do(t, "PATCH", "/Users/"+id, `{"Operations":{}}`)
	assertSCIMError(t, status, header, body, http.StatusBadRequest, "invalidValue")
	if d, _ := body["detail"].(string); !strings.Contains(d, "must be an array") || strings.Contains(d, "scim.") {
		t.Errorf("detail %q", d)
	}
}

// TestSchemasListCommonAttributes checks that schema discovery shows
// externalId, which Entra maps by default, on both core schemas.
func TestSchemasListCommonAttributes(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	for _, urn := range []string{"urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:core:2.0:Group"} {
		body := h.mustDo(t, http.StatusOK, "GET", "/Schemas/"+urn, "")
		names := map[string]bool{}
		for _, a := range body["attributes"].([]any) {
			names[a.(map[string]any)["name"].(string)] = true
		}
		for _, want := range []string{"id", "externalId", "meta"} {
			if !names[want] {
				t.Errorf("%s does not list %s", urn, want)
			}
		}
	}
}

// TestRemoveMembersByFilter checks member removal by value filters other
// than `value eq` (RFC 7644 §3.5.2.2): by type and by display name.
func TestRemoveMembersByFilter(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ada := h.createUser(t, "ada@example.com", `"displayName":"Ada"`)
	bob := h.createUser(t, "bob@example.com", `"displayName":"Bob"`)
	sub := h.createGroup(t, "Subgroup")
	g := h.createGroup(t, "Engineering", ada, bob, sub)
	members := func() []string {
		var ids []string
		for _, m := range h.mustDo(t, http.StatusOK, "GET", "/Groups/"+g, "")["members"].([]any) {
			ids = append(ids, m.(map[string]any)["value"].(string))
		}
		return ids
	}
	h.mustDo(t, http.StatusNoContent, "PATCH", "/Groups/"+g, patchBody(`{"op":"remove","path":"members[type eq \"Group\"]"}`))
	if got := members(); len(got) != 2 || got[0] != ada || got[1] != bob {
		t.Fatalf("after removing groups: %v, want [ada bob]", got)
	}
	h.mustDo(t, http.StatusNoContent, "PATCH", "/Groups/"+g, patchBody(`{"op":"remove","path":"members[display eq \"ADA\" or value eq \"nobody\"]"}`))
	if got := members(); len(got) != 1 || got[0] != bob {
		t.Fatalf("after removing Ada by display: %v, want [bob]", got)
	}
	status, header, body := h.do(t, "PATCH", "/Groups/"+g, patchBody(`{"op":"remove","path":"members[nickName eq \"x\"]"}`))
	assertSCIMError(t, status, header, body, http.StatusBadRequest, "invalidPath")
}

// TestSchemasFollowProfileForExternalID checks that schema discovery lists
// externalId only where the profile supports it, marked required where the
// profile requires it.
func TestSchemasFollowProfileForExternalID(t *testing.T) {
	t.Parallel()
	for profile, want := range map[string]string{"mycompliance": "required", "meta-networks-connector": "absent", "generic": "optional"} {
		h := newHarness(t, withProfile(profile, nil))
		body := h.mustDo(t, http.StatusOK, "GET", "/Schemas/urn:ietf:params:scim:schemas:core:2.0:User", "")
		got := "absent"
		for _, a := range body["attributes"].([]any) {
			if m := a.(map[string]any); m["name"] == "externalId" {
				got = map[bool]string{true: "required", false: "optional"}[m["required"] == true]
			}
		}
		if got != want {
			t.Errorf("%s: externalId is %s in /Schemas, want %s", profile, got, want)
		}
	}
}
