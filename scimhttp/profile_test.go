package scimhttp_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/roster-scim/roster/scim"
)

// Users each built-in profile takes, as Entra would send them.
const (
	mncUser  = `{"userName":"m@example.com","active":true,"name":{"givenName":"Mia","familyName":"Nash"},"phoneNumbers":[{"type":"work","value":"+16175551212"}]}`
	mcUser   = `{"userName":"c@example.com","externalId":"c","name":{"givenName":"Cy","familyName":"Cole"},"emails":[{"type":"work","value":"c@example.com","primary":true}]}`
	wpUser   = `{"userName":"w@example.com","emails":[{"type":"work","value":"w@example.com","primary":true}]}`
	mwaUser  = `{"userName":"a@example.com","externalId":"a"}`
	rfcUser  = `{"userName":"g@example.com","nickName":"g"}`
	wpFBExts = `"urn:scim:schemas:extension:facebook:auth_method:1.0":{"auth_method":"password"},` +
		`"urn:scim:schemas:extension:facebook:frontline:1.0":{"is_frontline":"True"},` +
		`"urn:scim:schemas:extension:facebook:starttermdates:1.0":{"startDate":1700000000}`
)

// without returns a user document less one attribute, for required tests.
func without(t *testing.T, user string, drop func(m map[string]any)) string {
	t.Helper()
	m := decode(t, user)
	drop(m)
	return mustJSON(t, m)
}

// decode parses a JSON object of a test.
func decode(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatalf("test JSON %s: %v", s, err)
	}
	return m
}

// TestProfileRequired checks, for every built-in profile, that a user it
// takes is created and that one missing a required attribute gets a 400
// that names the attribute.
func TestProfileRequired(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		profile, user string
		drop          func(map[string]any)
		want          string
	}{
		{"generic", rfcUser, func(m map[string]any) { delete(m, "userName") }, "userName is required for a User"},
		{"meta-networks-connector", mncUser, func(m map[string]any) { delete(m["name"].(map[string]any), "familyName") },
			"name.familyName is required by profile meta-networks-connector"},
		{"meta-work-accounts", mwaUser, func(m map[string]any) { delete(m, "userName") }, "userName is required for a User"},
		{"mycompliance", mcUser, func(m map[string]any) { delete(m, "externalId") }, "externalId is required by profile mycompliance"},
		{"mycompliance", mcUser, func(m map[string]any) { m["emails"] = []any{map[string]any{"type": "home", "value": "c@example.com"}} },
			`emails[type eq "work"].value is required by profile mycompliance`},
		{"workplace", wpUser, func(m map[string]any) { delete(m, "emails") }, `emails[type eq "work"].value is required by profile workplace`},
	} {
		t.Run(tc.profile+" "+tc.want, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, withProfile(tc.profile, nil))
			status, header, body := h.do(t, "POST", "/Users", without(t, tc.user, tc.drop))
			assertSCIMError(t, status, header, body, http.StatusBadRequest, "invalidValue")
			if str(body, "detail") != tc.want {
				t.Errorf("detail %q, want %q", str(body, "detail"), tc.want)
			}
			h.mustDo(t, http.StatusCreated, "POST", "/Users", tc.user)
		})
	}
}

// TestProfileE164 checks Meta Networks Connector's E.164 rule on work phone
// numbers, on create and on PATCH, and that other profiles do not apply it.
func TestProfileE164(t *testing.T) {
	t.Parallel()
	h := newHarness(t, withProfile("meta-networks-connector", nil))
	bad := strings.Replace(mncUser, "+16175551212", "555-1234", 1)
	status, header, body := h.do(t, "POST", "/Users", bad)
	assertSCIMError(t, status, header, body, http.StatusBadRequest, "invalidValue")
	want := `phoneNumbers[type eq "work"].value "555-1234" must be an E.164 number such as +14155550100 (profile meta-networks-connector)`
	if str(body, "detail") != want {
		t.Errorf("detail %q, want %q", str(body, "detail"), want)
	}
	id := str(h.mustDo(t, http.StatusCreated, "POST", "/Users", mncUser), "id")
	before := h.snapshot(t, "/Users/"+id)
	status, header, body = h.do(t, "PATCH", "/Users/"+id, patchBody(`{"op":"Replace","path":"phoneNumbers[type eq \"work\"].value","value":"0617 555 1212"}`))
	assertSCIMError(t, status, header, body, http.StatusBadRequest, "invalidValue")
	h.unchanged(t, "/Users/"+id, before)
	// A mobile number is not supported: it is dropped, never validated.
	got := h.mustDo(t, http.StatusOK, "PATCH", "/Users/"+id, patchBody(`{"op":"Add","path":"phoneNumbers[type eq \"mobile\"].value","value":"555"}`))
	if phones, _ := got["phoneNumbers"].([]any); len(phones) != 1 || str(got, "phoneNumbers/0/value") != "+16175551212" {
		t.Errorf("phoneNumbers after adding a mobile: %v", got["phoneNumbers"])
	}

	w := newHarness(t, withProfile("workplace", nil))
	w.mustDo(t, http.StatusCreated, "POST", "/Users", strings.Replace(wpUser, `"emails"`, `"phoneNumbers":[{"type":"work","value":"555-1234"}],"emails"`, 1))
}

// TestProfileWorkplaceExtensions round-trips Workplace's extension schemas:
// Entra's "True" becomes a boolean, startDate stays an integer, the legacy
// dotted enterprise 1.0 key is read, Entra's bare "manager" lands in the
// enterprise 1.0 extension, and /Schemas and /ResourceTypes show them (and
// no Groups).
func TestProfileWorkplaceExtensions(t *testing.T) {
	t.Parallel()
	h := newHarness(t, withProfile("workplace", nil))
	user := strings.TrimSuffix(wpUser, "}") + `,` + wpFBExts +
		`,"urn:scim:schemas:extension:enterprise:1.0":{"department":"Sales"},"manager":"boss-id"` +
		`,"urn:scim:schemas:extension:enterprise:1.0.division":"EMEA"}`
	id := str(h.mustDo(t, http.StatusCreated, "POST", "/Users", user), "id")
	got := h.mustDo(t, http.StatusOK, "GET", "/Users/"+id, "")
	for path, want := range map[string]any{
		"urn:scim:schemas:extension:facebook:frontline:1.0/is_frontline":     true,
		"urn:scim:schemas:extension:facebook:starttermdates:1.0/startDate":   1700000000.0,
		"urn:scim:schemas:extension:facebook:auth_method:1.0/auth_method":    "password",
		"urn:scim:schemas:extension:enterprise:1.0/department":               "Sales",
		"urn:scim:schemas:extension:enterprise:1.0/division":                 "EMEA",
		"urn:scim:schemas:extension:enterprise:1.0/manager/value":            "boss-id",
		"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User/manager": nil,
	} {
		if v := dig(got, path); v != want {
			t.Errorf("GET %s = %#v, want %#v", path, v, want)
		}
	}
	schemas, _ := got["schemas"].([]any)
	for _, urn := range []string{"urn:scim:schemas:extension:facebook:frontline:1.0", "urn:scim:schemas:extension:enterprise:1.0"} {
		if !slices.Contains(schemas, any(urn)) {
			t.Errorf("schemas %v lacks %s", schemas, urn)
		}
	}

	// Entra's PATCH forms: a URN-qualified path, and a path-less replace
	// keyed by a whole extension.
	h.mustDo(t, http.StatusOK, "PATCH", "/Users/"+id, patchBody(
		`{"op":"Replace","path":"urn:scim:schemas:extension:facebook:frontline:1.0:is_frontline","value":"False"}`,
		`{"op":"replace","value":{"urn:scim:schemas:extension:facebook:starttermdates:1.0":{"startDate":1700000001}}}`))
	got = h.mustDo(t, http.StatusOK, "GET", "/Users/"+id, "")
	if dig(got, "urn:scim:schemas:extension:facebook:frontline:1.0/is_frontline") != false ||
		dig(got, "urn:scim:schemas:extension:facebook:starttermdates:1.0/startDate") != 1700000001.0 {
		t.Errorf("after PATCH: %v", got)
	}
	status, header, body := h.do(t, "PATCH", "/Users/"+id, patchBody(`{"op":"replace","path":"urn:scim:schemas:extension:facebook:starttermdates:1.0:startDate","value":"soon"}`))
	assertSCIMError(t, status, header, body, http.StatusBadRequest, "invalidValue")

	list := h.mustDo(t, http.StatusOK, "GET", "/Schemas", "")
	types := map[string]string{}
	for _, s := range list["Resources"].([]any) {
		sm := s.(map[string]any)
		for _, a := range sm["attributes"].([]any) {
			am := a.(map[string]any)
			types[str(sm, "id")+":"+str(am, "name")] = str(am, "type")
		}
	}
	for attr, typ := range map[string]string{
		"urn:scim:schemas:extension:facebook:frontline:1.0:is_frontline":   "boolean",
		"urn:scim:schemas:extension:facebook:starttermdates:1.0:startDate": "integer",
		"urn:scim:schemas:extension:facebook:auth_method:1.0:auth_method":  "string",
		scim.UserSchema + ":userName":                                      "string",
		scim.UserSchema + ":nickName":                                      "",
	} {
		if types[attr] != typ {
			t.Errorf("/Schemas: %s has type %q, want %q", attr, types[attr], typ)
		}
	}
	rts := h.mustDo(t, http.StatusOK, "GET", "/ResourceTypes", "")
	if rts["totalResults"] != 1.0 || str(rts, "Resources/0/name") != "User" || len(dig(rts, "Resources/0/schemaExtensions").([]any)) != 4 {
		t.Errorf("/ResourceTypes: %v", rts)
	}
	for _, path := range []string{"/Groups", "/ResourceTypes/Group", "/Schemas/" + scim.GroupSchema} {
		status, header, body := h.do(t, "GET", path, "")
		assertSCIMError(t, status, header, body, http.StatusNotFound, "")
	}
}

// TestProfileMemberTypes checks that MyCompliance groups take users only,
// on create, PUT and PATCH.
func TestProfileMemberTypes(t *testing.T) {
	t.Parallel()
	h := newHarness(t, withProfile("mycompliance", nil))
	user := str(h.mustDo(t, http.StatusCreated, "POST", "/Users", mcUser), "id")
	users := h.createGroup(t, "Users", user)
	other := h.createGroup(t, "Other")
	want := `member "` + users + `" is a Group, but profile mycompliance takes only User members`
	for _, tc := range []struct{ method, path, body string }{
		{"POST", "/Groups", mustJSON(t, map[string]any{"displayName": "Nested", "members": []any{map[string]any{"value": users}}})},
		{"PUT", "/Groups/" + other, mustJSON(t, map[string]any{"displayName": "Other", "members": []any{map[string]any{"value": user}, map[string]any{"value": users}}})},
		{"PATCH", "/Groups/" + other, patchBody(`{"op":"Add","path":"members","value":[{"value":"` + users + `"}]}`)},
	} {
		status, header, body := h.do(t, tc.method, tc.path, tc.body)
		assertSCIMError(t, status, header, body, http.StatusBadRequest, "invalidValue")
		if str(body, "detail") != want {
			t.Errorf("%s %s: detail %q, want %q", tc.method, tc.path, str(body, "detail"), want)
		}
	}
	h.mustDo(t, http.StatusNoContent, "PATCH", "/Groups/"+other, patchBody(`{"op":"Add","path":"members","value":[{"value":"`+user+`"}]}`))

	// Groups of groups stay possible where the profile allows them.
	g := newHarness(t)
	g.createGroup(t, "Nested", g.createGroup(t, "Inner"))
}

// TestProfileFilterable checks that a filter on an attribute the profile
// cannot filter on is an invalidFilter error listing the ones it can, and
// that Entra's matching queries and probes pass.
func TestProfileFilterable(t *testing.T) {
	t.Parallel()
	h := newHarness(t, withProfile("meta-networks-connector", nil))
	h.mustDo(t, http.StatusCreated, "POST", "/Users", mncUser)
	status, header, body := h.do(t, "GET", "/Users?filter="+url.QueryEscape(`name.familyName eq "Nash"`), "")
	assertSCIMError(t, status, header, body, http.StatusBadRequest, "invalidFilter")
	if d := str(body, "detail"); !strings.Contains(d, "name.familyName") || !strings.HasSuffix(d, "filterable attributes: id, userName") {
		t.Errorf("detail %q", d)
	}
	status, header, body = h.do(t, "POST", "/Users/.search", `{"filter":"active eq true"}`)
	assertSCIMError(t, status, header, body, http.StatusBadRequest, "invalidFilter")
	if got := h.mustDo(t, http.StatusOK, "GET", "/Users?filter="+url.QueryEscape(`userName eq "M@EXAMPLE.COM"`), ""); got["totalResults"] != 1.0 {
		t.Errorf("userName filter: %v", got)
	}
	h.mustDo(t, http.StatusOK, "GET", "/Groups?excludedAttributes=members&filter="+url.QueryEscape(`displayName eq "x"`), "")
	h.mustDo(t, http.StatusOK, "GET", "/Groups?attributes=id&filter="+url.QueryEscape(`id eq "g" and members eq "u"`), "")
}

// TestProfileUnsupportedDropped checks that attributes a profile does not
// support are ignored on POST, PUT and PATCH, as unknown attributes are,
// rather than refused.
func TestProfileUnsupportedDropped(t *testing.T) {
	t.Parallel()
	h := newHarness(t, withProfile("meta-networks-connector", nil))
	extra := `,"nickName":"mia","externalId":"x1","emails":[{"type":"work","value":"m@example.com"}],` +
		`"phoneNumbers":[{"type":"work","value":"+16175551212"},{"type":"mobile","value":"+16175550000"}],` +
		`"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"Sales"}}`
	user := strings.Replace(mncUser, `,"phoneNumbers":[{"type":"work","value":"+16175551212"}]}`, extra, 1)
	created := h.mustDo(t, http.StatusCreated, "POST", "/Users", user)
	id := str(created, "id")
	h.mustDo(t, http.StatusOK, "PATCH", "/Users/"+id, patchBody(
		`{"op":"Add","path":"emails[type eq \"work\"].value","value":"m@example.com"}`,
		`{"op":"Replace","path":"title","value":"CTO"}`,
		`{"op":"Replace","path":"active","value":"False"}`))
	h.mustDo(t, http.StatusOK, "PUT", "/Users/"+id, strings.Replace(user, `"nickName":"mia"`, `"nickName":"mia2"`, 1))
	got := h.mustDo(t, http.StatusOK, "GET", "/Users/"+id, "")
	for _, k := range []string{"nickName", "externalId", "emails", "title", scim.EnterpriseSchema} {
		if hasKey(got, k) {
			t.Errorf("unsupported %s stored: %v", k, got[k])
		}
	}
	if phones, _ := got["phoneNumbers"].([]any); len(phones) != 1 || str(got, "phoneNumbers/0/type") != "work" || str(got, "name/givenName") != "Mia" {
		t.Errorf("supported attributes lost: %v", got)
	}
}

// TestProfileCustom serves a directory with a custom profile loaded from a
// JSON file, and refuses a directory whose profile the server lacks.
func TestProfileCustom(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "acme.json")
	profile := `{"name":"acme","resourceTypes":{"User":{"supported":["userName","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:costCenter"],
		"required":["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:costCenter"]}}}`
	if err := os.WriteFile(path, []byte(profile), 0o600); err != nil {
		t.Fatal(err)
	}
	var set scim.ProfileSet
	if err := set.Set(path); err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, withProfile("acme", &set))
	status, header, body := h.do(t, "POST", "/Users", `{"userName":"a@example.com"}`)
	assertSCIMError(t, status, header, body, http.StatusBadRequest, "invalidValue")
	got := h.mustDo(t, http.StatusCreated, "POST", "/Users", `{"userName":"a@example.com","title":"x","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:costCenter":"C1"}`)
	if hasKey(got, "title") || str(got, scim.EnterpriseSchema+"/costCenter") != "C1" {
		t.Errorf("created: %v", got)
	}
	ext := h.mustDo(t, http.StatusOK, "GET", "/ResourceTypes/User", "")
	if dig(ext, "schemaExtensions/0/required") != true {
		t.Errorf("/ResourceTypes/User: %v", ext)
	}

	// The same directory on a server started without the file.
	lost := newHarness(t, withProfile("acme", nil))
	status, header, body = lost.do(t, "GET", "/Users", "")
	assertSCIMError(t, status, header, body, http.StatusInternalServerError, "")
	if !strings.Contains(lost.logs.String(), `uses profile \"acme\", which this server does not have`) {
		t.Errorf("the log does not explain the 500: %s", lost.logs.String())
	}
}
