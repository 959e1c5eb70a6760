package scim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/roster-scim/roster"
)

// Helpers shared by the resource, PATCH, render and resolve tests. They
// carry an "rsc" prefix because other test files of the package are written
// concurrently and short names collide.

var rscReg = NewRegistry()

func rscUser() *ResourceType  { return rscReg.ResourceType(UserType) }
func rscGroup() *ResourceType { return rscReg.ResourceType(GroupType) }

// rscEnt is the enterprise extension URN, short enough for table rows.
const rscEnt = EnterpriseSchema

// rscJSON decodes a JSON value the way the HTTP layer and the store do, with
// numbers as json.Number. "$ENT" in the text stands for the enterprise
// extension URN, which would otherwise make table rows unreadable.
func rscJSON(tb testing.TB, s string) any {
	tb.Helper()
	dec := json.NewDecoder(strings.NewReader(strings.ReplaceAll(s, "$ENT", rscEnt)))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		tb.Fatalf("bad test JSON %s: %v", s, err)
	}
	return v
}

// rscDoc decodes a JSON object.
func rscDoc(tb testing.TB, s string) map[string]any {
	tb.Helper()
	m, ok := rscJSON(tb, s).(map[string]any)
	if !ok {
		tb.Fatalf("test JSON is not an object: %s", s)
	}
	return m
}

// rscText renders a value as indented JSON with sorted keys, for failure
// messages and for before/after snapshots.
func rscText(v any) string {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return "<unmarshalable: " + err.Error() + ">"
	}
	return string(b)
}

// rscSame fails unless got and want are deeply equal. For two objects it
// reports only the top-level keys that differ, which keeps failures of
// whole-document comparisons readable.
func rscSame(tb testing.TB, what string, got, want any) {
	tb.Helper()
	if reflect.DeepEqual(got, want) {
		return
	}
	gm, ok1 := got.(map[string]any)
	wm, ok2 := want.(map[string]any)
	if !ok1 || !ok2 {
		tb.Errorf("%s:\ngot  %s\nwant %s", what, rscText(got), rscText(want))
		return
	}
	keys := map[string]bool{}
	for k := range gm {
		keys[k] = true
	}
	for k := range wm {
		keys[k] = true
	}
	var diff strings.Builder
	for _, k := range slices.Sorted(maps.Keys(keys)) {
		g, gok := gm[k]
		w, wok := wm[k]
		if gok != wok || !reflect.DeepEqual(g, w) {
			fmt.Fprintf(&diff, "\n%q:\n  got  %s\n  want %s", k, rscShow(g, gok), rscShow(w, wok))
		}
	}
	tb.Errorf("%s differs in%s", what, diff.String())
}

func rscShow(v any, ok bool) string {
	if !ok {
		return "(absent)"
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// rscErr fails unless err is a *roster.Error with the given SCIM type
// whose message contains frag.
func rscErr(tb testing.TB, err error, scimType, frag string) {
	tb.Helper()
	var re *roster.Error
	if !errors.As(err, &re) {
		tb.Fatalf("got error %v, want a *roster.Error with scimType %s", err, scimType)
	}
	if re.SCIMType != scimType || !strings.Contains(re.Message, frag) {
		tb.Errorf("got scimType %q message %q, want scimType %q and a message containing %q", re.SCIMType, re.Message, scimType, frag)
	}
}

// rscRoundTrip marshals a document and decodes it back as the store does.
func rscRoundTrip(tb testing.TB, doc map[string]any) map[string]any {
	tb.Helper()
	b, err := json.Marshal(doc)
	if err != nil {
		tb.Fatalf("document does not marshal: %v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var out map[string]any
	if err := dec.Decode(&out); err != nil {
		tb.Fatalf("document does not decode: %v", err)
	}
	return out
}

func TestNormalize(t *testing.T) {
	tests := []struct {
		name    string
		group   bool
		body    string
		want    string
		members []string
	}{
		{
			name: "attribute names are case-insensitive",
			body: `{"USERNAME": "bjensen", "Name": {"GivenName": "Barbara", "FAMILYNAME": "Jensen"},
				"EMAILS": [{"Value": "b@example.com", "TYPE": "work", "Primary": true}], "displayname": "Babs"}`,
			want: `{"userName": "bjensen", "name": {"givenName": "Barbara", "familyName": "Jensen"},
				"emails": [{"value": "b@example.com", "type": "work", "primary": true}], "displayName": "Babs"}`,
		},
		{
			name: "dotted keys build the complex attribute",
			body: `{"userName": "bjensen", "Name.GivenName": "Barbara", "name.familyName": "Jensen"}`,
			want: `{"userName": "bjensen", "name": {"givenName": "Barbara", "familyName": "Jensen"}}`,
		},
		{
			// Both spellings of one attribute: the more specific key wins,
			// whatever order Go's map iteration picks.
			name: "a dotted key refines the object it is part of",
			body: `{"userName": "bjensen", "Name.GivenName": "new", "name": {"givenName": "old", "familyName": "Jensen"}}`,
			want: `{"userName": "bjensen", "name": {"givenName": "new", "familyName": "Jensen"}}`,
		},
		{
			name: "URN-qualified core attribute",
			body: `{"urn:ietf:params:scim:schemas:core:2.0:User:userName": "bjensen"}`,
			want: `{"userName": "bjensen"}`,
		},
		{
			name: "unknown attributes are ignored and not stored",
			body: `{"userName": "bjensen", "favouriteColour": "blue", "name": {"givenName": "B", "nick": "x"},
				"urn:example:custom:1.0:User:costCentre": "x", "urn:example:custom:1.0:User": {"a": "b"},
				"$ENT:shoeSize": "9", "$ENT": {"shoeSize": "9", "department": "Eng"}}`,
			want: `{"userName": "bjensen", "name": {"givenName": "B"}, "$ENT": {"department": "Eng"}}`,
		},
		{
			name: "explicit null is absent",
			body: `{"userName": "bjensen", "addresses": null, "nickName": null, "name": {"givenName": null},
				"emails": [null, {"value": null}], "$ENT": {"manager": null, "department": null}}`,
			want: `{"userName": "bjensen"}`,
		},
		{
			name: "boolean strings in any case become booleans",
			body: `{"userName": "bjensen", "active": "True",
				"emails": [{"value": "a@example.com", "primary": "false"}, {"value": "b@example.com", "primary": "TRUE"}]}`,
			want: `{"userName": "bjensen", "active": true,
				"emails": [{"value": "a@example.com", "primary": false}, {"value": "b@example.com", "primary": true}]}`,
		},
		{
			name: "active false stays false",
			body: `{"userName": "bjensen", "active": "False"}`,
			want: `{"userName": "bjensen", "active": false}`,
		},
		{
			name: "id, meta, schemas and read-only attributes from the client are ignored",
			body: `{"id": "client-id", "schemas": ["` + UserSchema + `"], "meta": {"resourceType": "User", "created": "2020-01-01T00:00:00Z"},
				"meta.version": "W/\"9\"", "userName": "bjensen", "externalId": "ext-1", "groups": [{"value": "g1"}]}`,
			want: `{"userName": "bjensen", "externalId": "ext-1"}`,
		},
		{
			name: "password is never stored",
			body: `{"userName": "bjensen", "password": "t1meMa$heen"}`,
			want: `{"userName": "bjensen"}`,
		},
		{
			name: "enterprise extension whose URN is missing from schemas",
			body: `{"schemas": ["` + UserSchema + `"], "userName": "bjensen",
				"$ENT": {"department": "Eng", "employeeNumber": "701984"}}`,
			want: `{"userName": "bjensen", "$ENT": {"department": "Eng", "employeeNumber": "701984"}}`,
		},
		{
			name: "enterprise extension listed in schemas, URN in another case",
			body: `{"schemas": ["` + UserSchema + `", "$ENT"], "userName": "bjensen",
				"URN:IETF:PARAMS:SCIM:SCHEMAS:EXTENSION:ENTERPRISE:2.0:USER": {"Department": "Eng"}}`,
			want: `{"userName": "bjensen", "$ENT": {"department": "Eng"}}`,
		},
		{
			name: "extension object and URN-qualified keys merge",
			body: `{"userName": "bjensen", "$ENT": {"department": "Eng", "costCenter": "old"},
				"$ENT:employeeNumber": "701984", "$ENT:costCenter": "new"}`,
			want: `{"userName": "bjensen", "$ENT": {"department": "Eng", "employeeNumber": "701984", "costCenter": "new"}}`,
		},
		{
			name: "manager as a string",
			body: `{"userName": "bjensen", "$ENT": {"manager": "mgr-1"}}`,
			want: `{"userName": "bjensen", "$ENT": {"manager": {"value": "mgr-1"}}}`,
		},
		{
			name: "manager as an object; displayName is read-only",
			body: `{"userName": "bjensen", "$ENT": {"manager": {"Value": "mgr-1", "$ref": "../Users/mgr-1", "displayName": "Boss"}}}`,
			want: `{"userName": "bjensen", "$ENT": {"manager": {"value": "mgr-1", "$ref": "../Users/mgr-1"}}}`,
		},
		{
			name: "manager as an array",
			body: `{"userName": "bjensen", "$ENT": {"manager": [{"$ref": null, "value": "mgr-1"}]}}`,
			want: `{"userName": "bjensen", "$ENT": {"manager": {"value": "mgr-1"}}}`,
		},
		{
			name: "manager as the URN-qualified attribute",
			body: `{"userName": "bjensen", "$ENT:manager": "mgr-1"}`,
			want: `{"userName": "bjensen", "$ENT": {"manager": {"value": "mgr-1"}}}`,
		},
		{
			name: "empty manager forms are no manager",
			body: `{"userName": "bjensen", "$ENT": {"manager": ""}, "$ENT:manager": [null]}`,
			want: `{"userName": "bjensen"}`,
		},
		{
			name: "manager object with an empty value is no manager",
			body: `{"userName": "bjensen", "$ENT": {"manager": {"value": "", "$ref": "x"}, "department": "Eng"}}`,
			want: `{"userName": "bjensen", "$ENT": {"department": "Eng"}}`,
		},
		{
			name: "role as a JSON string (Entra default format)",
			body: `{"userName": "bjensen", "roles": [{"value": "{\"id\":\"8f1c\",\"value\":\"Admin\",\"displayName\":\"Administrator\"}"}]}`,
			want: `{"userName": "bjensen", "roles": [{"value": "Admin", "display": "Administrator"}]}`,
		},
		{
			name: "role as a JSON string keeps an explicit display",
			body: `{"userName": "bjensen", "roles": [{"value": "{\"value\":\"Admin\",\"displayName\":\"Administrator\"}", "display": "Mine"}]}`,
			want: `{"userName": "bjensen", "roles": [{"value": "Admin", "display": "Mine"}]}`,
		},
		{
			name: "role JSON string without a value is kept as sent",
			body: `{"userName": "bjensen", "roles": [{"value": "{\"id\":\"8f1c\"}"}]}`,
			want: `{"userName": "bjensen", "roles": [{"value": "{\"id\":\"8f1c\"}"}]}`,
		},
		{
			// Unpacking twice would make the stored value change each time
			// the document is normalized again.
			name: "role JSON string whose value is itself one is kept as sent",
			body: `{"userName": "bjensen", "roles": [{"value": "{\"value\":\"{\\\"value\\\":\\\"x\\\"}\"}"}]}`,
			want: `{"userName": "bjensen", "roles": [{"value": "{\"value\":\"{\\\"value\\\":\\\"x\\\"}\"}"}]}`,
		},
		{
			name: "role as Entra's POST sends it",
			body: `{"userName": "bjensen", "roles": [{"primary": "False", "type": "WindowsAzureActiveDirectoryRole", "value": "Reader"}]}`,
			want: `{"userName": "bjensen", "roles": [{"primary": false, "type": "WindowsAzureActiveDirectoryRole", "value": "Reader"}]}`,
		},
		{
			name: "a single value where a list belongs",
			body: `{"userName": "bjensen", "emails": {"value": "b@example.com"}}`,
			want: `{"userName": "bjensen", "emails": [{"value": "b@example.com"}]}`,
		},
		{
			// RFC 7643 §2.4: primary true appears at most once; the first wins.
			name: "only one primary value",
			body: `{"userName": "bjensen", "emails": [{"value": "a@example.com", "primary": true}, {"value": "b@example.com", "primary": "True"}]}`,
			want: `{"userName": "bjensen", "emails": [{"value": "a@example.com", "primary": true}, {"value": "b@example.com", "primary": false}]}`,
		},
		{
			name: "Entra create user (U2)",
			body: `{"schemas": ["` + UserSchema + `", "$ENT"],
				"externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef", "userName": "Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1",
				"active": true, "emails": [{"primary": true, "type": "work", "value": "Test_User_fd0ea19b@testuser.com"}],
				"meta": {"resourceType": "User"}, "name": {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"},
				"roles": [], "addresses": null, "title": "Tour Guide", "preferredLanguage": "en-US",
				"phoneNumbers": [{"type": "mobile", "value": "55555555555"}],
				"$ENT": {"department": "Tours", "manager": null}}`,
			want: `{"externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef", "userName": "Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1",
				"active": true, "emails": [{"primary": true, "type": "work", "value": "Test_User_fd0ea19b@testuser.com"}],
				"name": {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"},
				"title": "Tour Guide", "preferredLanguage": "en-US", "phoneNumbers": [{"type": "mobile", "value": "55555555555"}],
				"$ENT": {"department": "Tours"}}`,
		},
		{
			name:  "Entra create group (G1) with the Microsoft group schema",
			group: true,
			body: `{"schemas": ["` + GroupSchema + `", "` + MicrosoftGroupURN + `"],
				"externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159", "displayName": "Group1DisplayName", "meta": {"resourceType": "Group"}}`,
			want: `{"externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159", "displayName": "Group1DisplayName"}`,
		},
		{
			name:    "group members are returned as ids, in order",
			group:   true,
			body:    `{"displayName": "Eng", "MEMBERS": [{"value": "u2", "$ref": "https://h/Users/u2", "type": "User"}, {"Value": "u1", "display": "B"}]}`,
			want:    `{"displayName": "Eng"}`,
			members: []string{"u2", "u1"},
		},
		{
			name:    "a single member object",
			group:   true,
			body:    `{"displayName": "Eng", "members": {"value": "u1"}}`,
			want:    `{"displayName": "Eng"}`,
			members: []string{"u1"},
		},
		{
			name:  "user attributes on a group are unknown",
			group: true,
			body:  `{"displayName": "Eng", "userName": "x", "$ENT": {"department": "Eng"}}`,
			want:  `{"displayName": "Eng"}`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rt := rscUser()
			if tc.group {
				rt = rscGroup()
			}
			body := rscDoc(t, tc.body)
			before := rscText(body)
			got, members, err := Normalize(rt, body)
			if err != nil {
				t.Fatalf("Normalize: %v", err)
			}
			rscSame(t, "document", got, rscDoc(t, tc.want))
			if !slices.Equal(members, tc.members) {
				t.Errorf("members = %q, want %q", members, tc.members)
			}
			if after := rscText(body); after != before {
				t.Errorf("Normalize changed its input:\nbefore %s\nafter  %s", before, after)
			}
			// A canonical document normalizes to itself, so a stored
			// document can be run through Normalize again (PUT of a GET).
			again, _, err := Normalize(rt, rscRoundTrip(t, got))
			if err != nil {
				t.Fatalf("Normalize of the result: %v", err)
			}
			rscSame(t, "re-normalized document", again, got)
		})
	}
}

func TestNormalizeErrors(t *testing.T) {
	tests := []struct {
		name  string
		group bool
		body  string
		frag  string // expected in the message
	}{
		{name: "active yes", body: `{"userName": "b", "active": "yes"}`, frag: "active must be a boolean (true or false), got a string"},
		{name: "active number", body: `{"userName": "b", "active": 1}`, frag: "active must be a boolean"},
		{name: "emails string", body: `{"userName": "b", "emails": "x"}`, frag: "emails must be a JSON object, got a string"},
		{name: "emails list of strings", body: `{"userName": "b", "emails": ["a@example.com"]}`, frag: "emails must be a JSON object"},
		{name: "email value number", body: `{"userName": "b", "emails": [{"value": 5}]}`, frag: "emails.value must be a string, got a number"},
		{name: "email primary yes", body: `{"userName": "b", "emails": [{"value": "a", "primary": "yes"}]}`, frag: "emails.primary must be a boolean"},
		{name: "name number", body: `{"userName": "b", "name": 5}`, frag: "name must be a JSON object, got a number"},
		{name: "name sub-attribute array", body: `{"userName": "b", "name": {"givenName": ["B"]}}`, frag: "name.givenName must be a string, got an array"},
		{name: "dotted name sub-attribute", body: `{"userName": "b", "name.givenName": true}`, frag: "name.givenName must be a string, got a boolean"},
		{name: "userName object", body: `{"userName": {"value": "b"}}`, frag: "userName must be a string, got an object"},
		{name: "externalId number", body: `{"userName": "b", "externalId": 12}`, frag: "externalId must be a string"},
		{name: "extension not an object", body: `{"userName": "b", "$ENT": "Eng"}`, frag: rscEnt + " must be a JSON object"},
		{name: "extension attribute wrong type", body: `{"userName": "b", "$ENT": {"department": 5}}`, frag: rscEnt + ":department must be a string"},
		{name: "manager number", body: `{"userName": "b", "$ENT": {"manager": 5}}`, frag: "manager must be a manager id or an object with a value, got a number"},
		{name: "manager value number", body: `{"userName": "b", "$ENT": {"manager": {"value": 5}}}`, frag: "manager.value must be a string"},
		{name: "members of strings", group: true, body: `{"displayName": "g", "members": ["u1"]}`, frag: `members must be objects like {"value": "<id>"}`},
		{name: "member without value", group: true, body: `{"displayName": "g", "members": [{"display": "x"}]}`, frag: "non-empty string value"},
		{name: "member with empty value", group: true, body: `{"displayName": "g", "members": [{"value": ""}]}`, frag: "non-empty string value"},
		{name: "displayName number", group: true, body: `{"displayName": 5}`, frag: "displayName must be a string"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rt := rscUser()
			if tc.group {
				rt = rscGroup()
			}
			got, _, err := Normalize(rt, rscDoc(t, tc.body))
			rscErr(t, err, roster.ScimInvalidValue, tc.frag)
			if roster.ErrorCode(err) != roster.EINVALID {
				t.Errorf("code = %q, want %q", roster.ErrorCode(err), roster.EINVALID)
			}
			if got != nil {
				t.Errorf("got a document %v with the error", got)
			}
		})
	}
}

// A dotted key on a multi-valued attribute is ambiguous (which email?), so
// the client is told how to write it instead.
func TestNormalizeDottedMultiValued(t *testing.T) {
	_, _, err := Normalize(rscUser(), rscDoc(t, `{"userName": "b", "emails.value": "a@example.com"}`))
	rscErr(t, err, roster.ScimInvalidPath, `emails[type eq "work"].value`)
}

func TestCheckRequired(t *testing.T) {
	tests := []struct {
		name  string
		group bool
		body  string
		frag  string // "" when the document is valid
	}{
		{name: "user with userName", body: `{"userName": "b"}`},
		{name: "user without userName", body: `{"displayName": "B"}`, frag: "userName is required for a User"},
		{name: "user with null userName", body: `{"userName": null}`, frag: "userName is required"},
		{name: "user with empty userName", body: `{"userName": ""}`, frag: "userName is required"},
		{name: "user with blank userName", body: `{"userName": "  "}`, frag: "userName is required"},
		{name: "userName only in an unknown attribute", body: `{"user_name": "b"}`, frag: "userName is required"},
		{name: "group with displayName", group: true, body: `{"displayName": "Eng"}`},
		{name: "group without displayName", group: true, body: `{"externalId": "x", "members": [{"value": "u1"}]}`, frag: "displayName is required for a Group"},
		{name: "group with empty displayName", group: true, body: `{"displayName": ""}`, frag: "displayName is required"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rt := rscUser()
			if tc.group {
				rt = rscGroup()
			}
			attrs, _, err := Normalize(rt, rscDoc(t, tc.body))
			if err != nil {
				t.Fatalf("Normalize: %v", err)
			}
			err = CheckRequired(rt, attrs)
			if tc.frag == "" {
				if err != nil {
					t.Fatalf("CheckRequired: %v", err)
				}
				return
			}
			rscErr(t, err, roster.ScimInvalidValue, tc.frag)
		})
	}
}

// rscValues returns n distinct email values.
func rscValues(n int) []any {
	out := make([]any, n)
	for i := range out {
		out[i] = map[string]any{"value": fmt.Sprintf("user%04d@example.com", i)}
	}
	return out
}

func TestNormalizeValueLimit(t *testing.T) {
	if _, _, err := Normalize(rscUser(), map[string]any{"userName": "b", "emails": rscValues(maxValues)}); err != nil {
		t.Fatalf("%d emails: %v", maxValues, err)
	}
	_, _, err := Normalize(rscUser(), map[string]any{"userName": "b", "emails": rscValues(maxValues + 1)})
	rscErr(t, err, roster.ScimInvalidValue, "emails may hold at most 1000 values, got 1001")
}

func TestAsBool(t *testing.T) {
	tests := []struct {
		in     any
		want   bool
		wantOK bool
	}{
		{true, true, true},
		{false, false, true},
		{"True", true, true},
		{"FALSE", false, true},
		{" true ", true, true},
		{"yes", false, false},
		{"1", false, false},
		{json.Number("1"), false, false},
		{nil, false, false},
	}
	for _, tc := range tests {
		got, ok := AsBool(tc.in)
		if got != tc.want || ok != tc.wantOK {
			t.Errorf("AsBool(%#v) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.wantOK)
		}
	}
}

func TestNormalizeCaseDuplicates(t *testing.T) {
	rt := NewRegistry().ResourceType(UserType)
	for _, body := range []string{
		`{"userName": "a", "USERNAME": "b"}`,
		`{"userName": "a", "name": {"givenName": "A", "GivenName": "B"}}`,
		`{"userName": "a", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "x", "Department": "y"}}`,
	} {
		var m map[string]any
		if err := json.Unmarshal([]byte(body), &m); err != nil {
			t.Fatal(err)
		}
		_, _, err := Normalize(rt, m)
		if roster.ErrorSCIMType(err) != roster.ScimInvalidSyntax {
			t.Errorf("%s: error %v, want invalidSyntax", body, err)
		}
	}
}
