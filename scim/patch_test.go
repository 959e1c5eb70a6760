package scim

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/roster-scim/roster"
)

// ptUserDoc is the stored user most PATCH cases start from.
const ptUserDoc = `{
	"userName": "bjensen@example.com",
	"externalId": "ext-1",
	"displayName": "Babs Jensen",
	"nickName": "Babs",
	"active": true,
	"name": {"formatted": "Ms. Barbara J Jensen", "familyName": "Jensen", "givenName": "Barbara"},
	"emails": [
		{"value": "bjensen@example.com", "type": "work", "primary": true},
		{"value": "babs@jensen.org", "type": "home"}
	],
	"phoneNumbers": [{"value": "555-555-5555", "type": "work"}],
	"roles": [{"value": "Reader"}],
	"$ENT": {"employeeNumber": "701984", "department": "Tour Operations", "manager": {"value": "mgr-1"}}
}`

// ptGroupDoc is the stored group the group cases start from.
const ptGroupDoc = `{"displayName": "Tour Guides", "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159"}`

// ptRequest decodes a PATCH body as the HTTP layer does.
func ptRequest(tb testing.TB, body string) PatchRequest {
	tb.Helper()
	var req PatchRequest
	dec := json.NewDecoder(strings.NewReader(strings.ReplaceAll(body, "$ENT", rscEnt)))
	dec.UseNumber()
	if err := dec.Decode(&req); err != nil {
		tb.Fatalf("bad test PATCH body %s: %v", body, err)
	}
	return req
}

// ptOps decodes an Operations array, wrapped in a PatchOp body.
func ptOps(tb testing.TB, ops string) []PatchOp {
	tb.Helper()
	return ptRequest(tb, `{"schemas": ["`+PatchOpURN+`"], "Operations": `+ops+`}`).Operations
}

// ptMerge applies an RFC 7386 JSON merge patch: objects merge key by key,
// null deletes a key, and any other value (arrays included) replaces. The
// tables state each expected document as such a patch of the document the
// case starts from; the comparison itself is on the whole document.
func ptMerge(doc, patch any) any {
	pm, ok := patch.(map[string]any)
	if !ok {
		return patch
	}
	out := map[string]any{}
	if dm, ok := doc.(map[string]any); ok {
		for k, v := range dm {
			out[k] = v
		}
	}
	for k, v := range pm {
		if v == nil {
			delete(out, k)
			continue
		}
		out[k] = ptMerge(out[k], v)
	}
	return out
}

type ptCase struct {
	name    string
	group   bool
	doc     string // the stored document; "" for ptUserDoc or ptGroupDoc
	ops     string // the Operations array
	want    string // merge patch (ptMerge) from doc to the exact expected result
	members []MemberOp
}

func (tc ptCase) rt() *ResourceType {
	if tc.group {
		return rscGroup()
	}
	return rscUser()
}

func (tc ptCase) start() string {
	switch {
	case tc.doc != "":
		return tc.doc
	case tc.group:
		return ptGroupDoc
	}
	return ptUserDoc
}

// ptEntraCases are the PATCH requests of entra-scim-client.md §3 and §4 in
// both dialects: the default one and aadOptscim062020 ("flag").
var ptEntraCases = []ptCase{
	{
		name: "U4 replace the work email and the family name",
		ops: `[{"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "barbara@example.com"},
			{"op": "Replace", "path": "name.familyName", "value": "Smith"}]`,
		want: `{"emails": [{"value": "barbara@example.com", "type": "work", "primary": true}, {"value": "babs@jensen.org", "type": "home"}],
			"name": {"familyName": "Smith"}}`,
	},
	{
		name: "U4b Add on a missing work email creates it",
		doc:  `{"userName": "u", "emails": [{"value": "h@example.org", "type": "home"}]}`,
		ops:  `[{"op": "Add", "path": "emails[type eq \"work\"].value", "value": "w@example.com"}]`,
		want: `{"emails": [{"value": "h@example.org", "type": "home"}, {"type": "work", "value": "w@example.com"}]}`,
	},
	{
		name: "U4b add (flag) on a user without emails",
		doc:  `{"userName": "u"}`,
		ops:  `[{"op": "add", "path": "emails[type eq \"work\"].value", "value": "w@example.com"}]`,
		want: `{"emails": [{"type": "work", "value": "w@example.com"}]}`,
	},
	{
		name: "U4b Replace on a missing work email creates it too",
		doc:  `{"userName": "u"}`,
		ops:  `[{"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "w@example.com"}]`,
		want: `{"emails": [{"type": "work", "value": "w@example.com"}]}`,
	},
	{
		name: "U4b primary \"True\" on a missing work email",
		doc:  `{"userName": "u"}`,
		ops:  `[{"op": "Add", "path": "emails[type eq \"work\"].primary", "value": "True"}]`,
		want: `{"emails": [{"type": "work", "primary": true}]}`,
	},
	{
		name: "U4b value and primary of a new work email in one request",
		doc:  `{"userName": "u"}`,
		ops: `[{"op": "Add", "path": "emails[type eq \"work\"].value", "value": "w@example.com"},
			{"op": "Add", "path": "emails[type eq \"work\"].primary", "value": "True"}]`,
		want: `{"emails": [{"type": "work", "value": "w@example.com", "primary": true}]}`,
	},
	{
		name: "U4b mobile phone number",
		ops:  `[{"op": "Add", "path": "phoneNumbers[type eq \"mobile\"].value", "value": "555-555-0199"}]`,
		want: `{"phoneNumbers": [{"value": "555-555-5555", "type": "work"}, {"type": "mobile", "value": "555-555-0199"}]}`,
	},
	{
		name: "U4b work address, two sub-attributes",
		ops: `[{"op": "Add", "path": "addresses[type eq \"work\"].postalCode", "value": "98052"},
			{"op": "Add", "path": "addresses[type eq \"work\"].streetAddress", "value": "1 Microsoft Way"}]`,
		want: `{"addresses": [{"type": "work", "postalCode": "98052", "streetAddress": "1 Microsoft Way"}]}`,
	},
	{
		name: "primary \"True\" on the existing work email",
		ops:  `[{"op": "Replace", "path": "emails[type eq \"work\"].primary", "value": "True"}]`,
		want: `{}`,
	},
	{
		// RFC 7644 §3.5.2: making one value primary makes the others not.
		name: "primary on the home email takes it from the work email",
		ops:  `[{"op": "Replace", "path": "emails[type eq \"home\"].primary", "value": "True"}]`,
		want: `{"emails": [{"value": "bjensen@example.com", "type": "work", "primary": false},
			{"value": "babs@jensen.org", "type": "home", "primary": true}]}`,
	},
	{
		name: "U5 rename",
		ops:  `[{"op": "Replace", "path": "userName", "value": "barbara.jensen@example.com"}]`,
		want: `{"userName": "barbara.jensen@example.com"}`,
	},
	{
		name: "U5 Add a single-valued string",
		doc:  `{"userName": "u"}`,
		ops:  `[{"op": "Add", "path": "nickName", "value": "Babs"}]`,
		want: `{"nickName": "Babs"}`,
	},
	{
		name: "U5 add (flag) over an existing single value",
		ops:  `[{"op": "add", "path": "nickName", "value": "Barb"}]`,
		want: `{"nickName": "Barb"}`,
	},
	{
		name: "U6 disable with the string \"False\"",
		ops:  `[{"op": "Replace", "path": "active", "value": "False"}]`,
		want: `{"active": false}`,
	},
	{
		name: "U6 disable (flag) with false",
		ops:  `[{"op": "replace", "path": "active", "value": false}]`,
		want: `{"active": false}`,
	},
	{
		name: "U6 re-enable with \"True\"",
		doc:  `{"userName": "u", "active": false}`,
		ops:  `[{"op": "Replace", "path": "active", "value": "True"}]`,
		want: `{"active": true}`,
	},
	{
		name: "U7 one operation per attribute",
		ops: `[{"op": "Replace", "path": "displayName", "value": "Pvlo"},
			{"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "TestBcwqnm@test.microsoft.com"},
			{"op": "Replace", "path": "name.givenName", "value": "Gtfd"},
			{"op": "Replace", "path": "name.familyName", "value": "Pkqf"},
			{"op": "Replace", "path": "externalId", "value": "Eqpj"},
			{"op": "Replace", "path": "$ENT:employeeNumber", "value": "Eqpj"}]`,
		want: `{"displayName": "Pvlo", "externalId": "Eqpj", "name": {"givenName": "Gtfd", "familyName": "Pkqf"},
			"emails": [{"value": "TestBcwqnm@test.microsoft.com", "type": "work", "primary": true}, {"value": "babs@jensen.org", "type": "home"}],
			"$ENT": {"employeeNumber": "Eqpj"}}`,
	},
	{
		name: "U7b path-less replace with dotted and URN keys (flag)",
		ops: `[{"op": "replace", "path": "emails[type eq \"work\"].value", "value": "TestMhvaes@test.microsoft.com"},
			{"op": "replace", "value": {"displayName": "Bjfe", "name.givenName": "Kkom", "name.familyName": "Unua",
				"$ENT:employeeNumber": "Aklq"}}]`,
		want: `{"displayName": "Bjfe", "name": {"givenName": "Kkom", "familyName": "Unua"},
			"emails": [{"value": "TestMhvaes@test.microsoft.com", "type": "work", "primary": true}, {"value": "babs@jensen.org", "type": "home"}],
			"$ENT": {"employeeNumber": "Aklq"}}`,
	},
	{
		name: "U8 Add manager as an array",
		ops:  `[{"op": "Add", "path": "manager", "value": [{"$ref": "https://h/Users/mgr-2", "value": "mgr-2"}]}]`,
		want: `{"$ENT": {"manager": {"value": "mgr-2", "$ref": "https://h/Users/mgr-2"}}}`,
	},
	{
		name: "U8 Add manager by URN path as an object, user without extension",
		doc:  `{"userName": "u"}`,
		ops:  `[{"op": "Add", "path": "$ENT:manager", "value": {"value": "mgr-2"}}]`,
		want: `{"$ENT": {"manager": {"value": "mgr-2"}}}`,
	},
	{
		name: "U8 Replace manager with a plain id",
		ops:  `[{"op": "Replace", "path": "manager", "value": "mgr-3"}]`,
		want: `{"$ENT": {"manager": {"value": "mgr-3"}}}`,
	},
	{
		name: "U8 Replace manager with \"\" clears it",
		ops:  `[{"op": "Replace", "path": "manager", "value": ""}]`,
		want: `{"$ENT": {"manager": null}}`,
	},
	{
		name: "U8 clearing the last extension attribute drops the extension",
		doc:  `{"userName": "u", "$ENT": {"manager": {"value": "mgr-1"}}}`,
		ops:  `[{"op": "Replace", "path": "$ENT:manager", "value": ""}]`,
		want: `{"$ENT": null}`,
	},
	{
		name: "U8 manager.value \"\" clears the manager",
		ops:  `[{"op": "Replace", "path": "$ENT:manager.value", "value": ""}]`,
		want: `{"$ENT": {"manager": null}}`,
	},
	{
		name: "U8 Remove manager",
		ops:  `[{"op": "Remove", "path": "manager"}]`,
		want: `{"$ENT": {"manager": null}}`,
	},
	{
		name: "U9 Add a role whose value is a JSON string",
		ops:  `[{"op": "Add", "path": "roles", "value": [{"value": "{\"id\":\"8f1c\",\"value\":\"Admin\",\"displayName\":\"Admin\"}"}]}]`,
		want: `{"roles": [{"value": "Reader"}, {"value": "Admin", "display": "Admin"}]}`,
	},
	{
		name: "U9 replace roles (assertive mode)",
		ops: `[{"op": "replace", "path": "roles", "value": [{"primary": true, "type": "WindowsAzureActiveDirectoryRole",
			"display": "Admin", "value": "Admin"}]}]`,
		want: `{"roles": [{"primary": true, "type": "WindowsAzureActiveDirectoryRole", "display": "Admin", "value": "Admin"}]}`,
	},
	{
		name:  "G5 Replace displayName",
		group: true,
		ops:   `[{"op": "Replace", "path": "displayName", "value": "Tour Leads"}]`,
		want:  `{"displayName": "Tour Leads"}`,
	},
	{
		name:    "G6 Add several members",
		group:   true,
		ops:     `[{"op": "Add", "path": "members", "value": [{"$ref": null, "value": "u1"}, {"$ref": null, "value": "u2"}]}]`,
		want:    `{}`,
		members: []MemberOp{{Op: "add", IDs: []string{"u1", "u2"}}},
	},
	{
		name:    "G7 Remove members by value removes only those",
		group:   true,
		ops:     `[{"op": "Remove", "path": "members", "value": [{"$ref": null, "value": "u1091"}]}]`,
		want:    `{}`,
		members: []MemberOp{{Op: "remove", IDs: []string{"u1091"}}},
	},
	{
		name:    "G7b remove a member by path filter (flag)",
		group:   true,
		ops:     `[{"op": "remove", "path": "members[value eq \"7f4bc1a3-285e-48ae-8202-5accb43efb0e\"]"}]`,
		want:    `{}`,
		members: []MemberOp{{Op: "remove", IDs: []string{"7f4bc1a3-285e-48ae-8202-5accb43efb0e"}}},
	},
}

// ptCases are the other PATCH cases: RFC 7644 §3.5.2 semantics and what
// other clients send.
var ptCases = []ptCase{
	{
		name: "paths and op names are case-insensitive",
		ops: `[{"op": "REPLACE", "path": "EMAILS[TYPE eq \"WORK\"].VALUE", "value": "x@example.com"},
			{"op": "rePlace", "path": "Name.FamilyName", "value": "Smith"},
			{"op": "Replace", "path": "URN:IETF:PARAMS:SCIM:SCHEMAS:EXTENSION:ENTERPRISE:2.0:USER:Department", "value": "Eng"},
			{"op": "Replace", "path": "urn:ietf:params:scim:schemas:core:2.0:User:displayName", "value": "B"}]`,
		want: `{"emails": [{"value": "x@example.com", "type": "work", "primary": true}, {"value": "babs@jensen.org", "type": "home"}],
			"name": {"familyName": "Smith"}, "$ENT": {"department": "Eng"}, "displayName": "B"}`,
	},
	{
		name: "path-less replace merges a nested object",
		ops:  `[{"op": "replace", "value": {"name": {"givenName": "Babs"}}}]`,
		want: `{"name": {"givenName": "Babs"}}`,
	},
	{
		name: "path-less add with an extension object",
		ops:  `[{"op": "add", "value": {"$ENT": {"department": "Eng", "costCenter": "42"}}}]`,
		want: `{"$ENT": {"department": "Eng", "costCenter": "42"}}`,
	},
	{
		name: "path-less replace ignores id, meta, schemas and unknown keys (Okta)",
		ops: `[{"op": "replace", "value": {"id": "2819c223", "schemas": ["x"], "meta": {"version": "W/\"1\""},
			"favouriteColour": "blue", "active": false}}]`,
		want: `{"active": false}`,
	},
	{
		name: "path-less: a dotted key refines the object it is part of",
		ops:  `[{"op": "replace", "value": {"Name.GivenName": "B", "name": {"givenName": "A", "familyName": "F"}}}]`,
		want: `{"name": {"givenName": "B", "familyName": "F"}}`,
	},
	{
		name: "path-less: a key with a value filter is a path too",
		doc:  `{"userName": "u"}`,
		ops:  `[{"op": "add", "value": {"emails[type eq \"work\"].value": "w@example.com", "displayName": "U"}}]`,
		want: `{"emails": [{"type": "work", "value": "w@example.com"}], "displayName": "U"}`,
	},
	{
		name: "path-less replace with null clears",
		ops:  `[{"op": "replace", "value": {"nickName": null, "name.formatted": null}}]`,
		want: `{"nickName": null, "name": {"formatted": null}}`,
	},
	{
		name: "remove emails by value removes only the matching ones",
		ops:  `[{"op": "Remove", "path": "emails", "value": [{"value": "BABS@jensen.org"}]}]`,
		want: `{"emails": [{"value": "bjensen@example.com", "type": "work", "primary": true}]}`,
	},
	{
		name: "remove by value with a different type keeps the value",
		ops:  `[{"op": "Remove", "path": "emails", "value": [{"value": "babs@jensen.org", "type": "work"}]}]`,
		want: `{}`,
	},
	{
		name: "remove emails by filter",
		ops:  `[{"op": "remove", "path": "emails[type eq \"home\"]"}]`,
		want: `{"emails": [{"value": "bjensen@example.com", "type": "work", "primary": true}]}`,
	},
	{
		name: "remove with a filter that matches several",
		ops:  `[{"op": "remove", "path": "emails[value ew \"example.com\" or type eq \"home\"]"}]`,
		want: `{"emails": null}`,
	},
	{
		name: "remove with a filter that matches nothing is a no-op",
		ops:  `[{"op": "remove", "path": "emails[type eq \"other\"]"}]`,
		want: `{}`,
	},
	{
		name: "remove a sub-attribute of filtered values",
		ops:  `[{"op": "remove", "path": "emails[type eq \"work\"].primary"}]`,
		want: `{"emails": [{"value": "bjensen@example.com", "type": "work"}, {"value": "babs@jensen.org", "type": "home"}]}`,
	},
	{
		name: "remove a whole multi-valued attribute",
		ops:  `[{"op": "remove", "path": "phoneNumbers"}]`,
		want: `{"phoneNumbers": null}`,
	},
	{
		name: "remove optional attributes, present and absent",
		ops: `[{"op": "Remove", "path": "nickName"}, {"op": "Remove", "path": "title"},
			{"op": "Remove", "path": "name.givenName"}, {"op": "Remove", "path": "$ENT:employeeNumber"},
			{"op": "Remove", "path": "addresses[type eq \"work\"].postalCode"}]`,
		want: `{"nickName": null, "name": {"givenName": null}, "$ENT": {"employeeNumber": null}}`,
	},
	{
		name: "remove every sub-attribute of name removes name",
		ops: `[{"op": "remove", "path": "name.givenName"}, {"op": "remove", "path": "name.familyName"},
			{"op": "remove", "path": "name.formatted"}]`,
		want: `{"name": null}`,
	},
	{
		name: "remove the whole extension",
		ops:  `[{"op": "remove", "path": "$ENT"}]`,
		want: `{"$ENT": null}`,
	},
	{
		name: "add to a multi-valued attribute appends",
		ops:  `[{"op": "add", "path": "emails", "value": [{"value": "b@other.example", "type": "other"}]}]`,
		want: `{"emails": [{"value": "bjensen@example.com", "type": "work", "primary": true}, {"value": "babs@jensen.org", "type": "home"},
			{"value": "b@other.example", "type": "other"}]}`,
	},
	{
		name: "add of a value that is already there does not duplicate it",
		ops:  `[{"op": "add", "path": "roles", "value": [{"value": "Reader"}]}]`,
		want: `{}`,
	},
	{
		name: "add of a new primary value takes primary from the others",
		ops:  `[{"op": "add", "path": "emails", "value": [{"value": "b@other.example", "primary": true}]}]`,
		want: `{"emails": [{"value": "bjensen@example.com", "type": "work", "primary": false}, {"value": "babs@jensen.org", "type": "home"},
			{"value": "b@other.example", "primary": true}]}`,
	},
	{
		name: "replace a multi-valued attribute",
		ops:  `[{"op": "replace", "path": "emails", "value": [{"value": "only@example.com", "type": "work"}]}]`,
		want: `{"emails": [{"value": "only@example.com", "type": "work"}]}`,
	},
	{
		name: "replace with an empty array removes",
		ops:  `[{"op": "replace", "path": "roles", "value": []}]`,
		want: `{"roles": null}`,
	},
	{
		name: "replace of a complex attribute keeps the sub-attributes not given",
		ops:  `[{"op": "replace", "path": "name", "value": {"givenName": "Babs", "middleName": "J"}}]`,
		want: `{"name": {"givenName": "Babs", "middleName": "J"}}`,
	},
	{
		name: "replace of the extension by its URN merges",
		ops:  `[{"op": "replace", "path": "$ENT", "value": {"department": "Eng"}}]`,
		want: `{"$ENT": {"department": "Eng"}}`,
	},
	{
		name: "add to a filtered element merges into it",
		ops:  `[{"op": "add", "path": "emails[type eq \"work\"]", "value": {"display": "Work"}}]`,
		want: `{"emails": [{"value": "bjensen@example.com", "type": "work", "primary": true, "display": "Work"}, {"value": "babs@jensen.org", "type": "home"}]}`,
	},
	{
		name: "replace of a filtered element replaces it",
		ops:  `[{"op": "replace", "path": "emails[type eq \"work\"]", "value": {"value": "n@example.com", "type": "work"}}]`,
		want: `{"emails": [{"value": "n@example.com", "type": "work"}, {"value": "babs@jensen.org", "type": "home"}]}`,
	},
	{
		// The filter's equality terms survive a replace of the whole
		// element, so it goes on matching the path.
		name: "replace of a filtered element keeps the filter's terms",
		ops:  `[{"op": "replace", "path": "emails[type eq \"HOME\"]", "value": {"value": "n@example.com"}}]`,
		want: `{"emails": [{"value": "bjensen@example.com", "type": "work", "primary": true}, {"value": "n@example.com", "type": "home"}]}`,
	},
	{
		name: "replace of a filtered element that matches nothing creates it with the filter's terms",
		ops:  `[{"op": "replace", "path": "emails[type eq \"other\"]", "value": {"value": "o@example.com"}}]`,
		want: `{"emails": [{"value": "bjensen@example.com", "type": "work", "primary": true}, {"value": "babs@jensen.org", "type": "home"},
			{"value": "o@example.com", "type": "other"}]}`,
	},
	{
		name: "replace of a filtered element that matches nothing, retried, replaces what the first created",
		ops: `[{"op": "replace", "path": "emails[type eq \"other\"]", "value": {"value": "o@example.com"}},
			{"op": "replace", "path": "emails[type eq \"other\"]", "value": {"value": "o2@example.com"}}]`,
		want: `{"emails": [{"value": "bjensen@example.com", "type": "work", "primary": true}, {"value": "babs@jensen.org", "type": "home"},
			{"value": "o2@example.com", "type": "other"}]}`,
	},
	{
		name: "replace a sub-attribute of every value",
		ops:  `[{"op": "replace", "path": "phoneNumbers.type", "value": "mobile"}]`,
		want: `{"phoneNumbers": [{"value": "555-555-5555", "type": "mobile"}]}`,
	},
	{
		name: "replace externalId",
		ops:  `[{"op": "replace", "path": "externalId", "value": "ext-2"}]`,
		want: `{"externalId": "ext-2"}`,
	},
	{
		name: "password is accepted and never stored",
		ops:  `[{"op": "replace", "path": "password", "value": "t1meMa$heen"}, {"op": "replace", "value": {"password": "x"}}]`,
		want: `{}`,
	},
	{
		name:    "G replace members clears and adds",
		group:   true,
		ops:     `[{"op": "replace", "path": "members", "value": [{"value": "u3"}]}]`,
		want:    `{}`,
		members: []MemberOp{{Op: "clear"}, {Op: "add", IDs: []string{"u3"}}},
	},
	{
		name:    "G replace members with an empty array clears",
		group:   true,
		ops:     `[{"op": "replace", "path": "members", "value": []}]`,
		want:    `{}`,
		members: []MemberOp{{Op: "clear"}},
	},
	{
		name:    "G remove members without a value clears",
		group:   true,
		ops:     `[{"op": "Remove", "path": "members"}]`,
		want:    `{}`,
		members: []MemberOp{{Op: "clear"}},
	},
	{
		name:    "G remove members joined with or",
		group:   true,
		ops:     `[{"op": "remove", "path": "members[value eq \"u1\" or VALUE eq \"u2\"]"}]`,
		want:    `{}`,
		members: []MemberOp{{Op: "remove", IDs: []string{"u1", "u2"}}},
	},
	{
		name:    "G add one member object with Okta's display",
		group:   true,
		ops:     `[{"op": "add", "path": "members", "value": {"value": "u1", "display": "Babs"}}]`,
		want:    `{}`,
		members: []MemberOp{{Op: "add", IDs: []string{"u1"}}},
	},
	{
		name:    "G path-less replace of displayName and members",
		group:   true,
		ops:     `[{"op": "replace", "value": {"id": "g1", "displayName": "Leads", "members": [{"value": "u1"}]}}]`,
		want:    `{"displayName": "Leads"}`,
		members: []MemberOp{{Op: "clear"}, {Op: "add", IDs: []string{"u1"}}},
	},
	{
		name:  "G several operations keep their order",
		group: true,
		ops: `[{"op": "Add", "path": "members", "value": [{"value": "u1"}]},
			{"op": "Remove", "path": "members", "value": [{"value": "u2"}]},
			{"op": "Replace", "path": "externalId", "value": "oid-2"},
			{"op": "Add", "path": "members", "value": [{"value": "u3"}]}]`,
		want: `{"externalId": "oid-2"}`,
		members: []MemberOp{{Op: "add", IDs: []string{"u1"}}, {Op: "remove", IDs: []string{"u2"}},
			{Op: "add", IDs: []string{"u3"}}},
	},
}

func TestApplyPatch(t *testing.T) {
	for _, group := range [][]ptCase{ptEntraCases, ptCases} {
		for _, tc := range group {
			t.Run(tc.name, func(t *testing.T) {
				rt := tc.rt()
				doc := rscDoc(t, tc.start())
				before := rscText(doc)
				got, members, err := ApplyPatch(rt, doc, ptOps(t, tc.ops))
				if err != nil {
					t.Fatalf("ApplyPatch: %v", err)
				}
				want := ptMerge(rscDoc(t, tc.start()), rscJSON(t, tc.want))
				rscSame(t, "document", got, want)
				if !reflect.DeepEqual(members, tc.members) {
					t.Errorf("member ops = %+v, want %+v", members, tc.members)
				}
				if after := rscText(doc); after != before {
					t.Errorf("ApplyPatch changed its input:\nbefore %s\nafter  %s", before, after)
				}
				// The result is canonical: it survives the store's JSON round
				// trip and normalizes to itself.
				again, _, err := Normalize(rt, rscRoundTrip(t, got))
				if err != nil {
					t.Fatalf("Normalize of the result: %v", err)
				}
				rscSame(t, "re-normalized result", again, got)
			})
		}
	}
}

// TestApplyPatchDeterministic applies requests whose outcome would depend
// on map iteration order if the applier did not fix one.
func TestApplyPatchDeterministic(t *testing.T) {
	ops := ptOps(t, `[{"op": "replace", "value": {"name.givenName": "B", "name": {"givenName": "A"},
		"$ENT:department": "D2", "$ENT": {"department": "D1"}}}]`)
	want := ptMerge(rscDoc(t, ptUserDoc), rscJSON(t, `{"name": {"givenName": "B"}, "$ENT": {"department": "D2"}}`))
	for i := 0; i < 50 && !t.Failed(); i++ {
		got, _, err := ApplyPatch(rscUser(), rscDoc(t, ptUserDoc), ops)
		if err != nil {
			t.Fatal(err)
		}
		rscSame(t, fmt.Sprint("run ", i), got, want)
	}
}

func TestApplyPatchErrors(t *testing.T) {
	tests := []struct {
		name     string
		group    bool
		ops      string
		scimType string
		frag     string
	}{
		{name: "remove userName", ops: `[{"op": "Remove", "path": "userName"}]`,
			scimType: roster.ScimInvalidValue, frag: "userName is required for a User"},
		{name: "replace userName with empty", ops: `[{"op": "replace", "path": "userName", "value": ""}]`,
			scimType: roster.ScimInvalidValue, frag: "userName is required"},
		{name: "path-less null userName", ops: `[{"op": "replace", "value": {"userName": null}}]`,
			scimType: roster.ScimInvalidValue, frag: "userName is required"},
		{name: "unknown path", ops: `[{"op": "add", "path": "favouriteColour", "value": "blue"}]`,
			scimType: roster.ScimInvalidPath, frag: `Operations[0]: path "favouriteColour" names no attribute of User`},
		{name: "unknown sub-attribute", ops: `[{"op": "add", "path": "name.nick", "value": "x"}]`,
			scimType: roster.ScimInvalidPath, frag: `"name.nick"`},
		{name: "unknown extension attribute", ops: `[{"op": "add", "path": "$ENT:shoeSize", "value": "9"}]`,
			scimType: roster.ScimInvalidPath, frag: "shoeSize"},
		{name: "members on a user", ops: `[{"op": "add", "path": "members", "value": [{"value": "u"}]}]`,
			scimType: roster.ScimInvalidPath, frag: `"members"`},
		{name: "path syntax", ops: `[{"op": "add", "path": "emails[type eq \"work\"", "value": "x"}]`,
			scimType: roster.ScimInvalidPath, frag: "Operations[0]: "},
		{name: "filter on a single-valued attribute", ops: `[{"op": "replace", "path": "name[givenName eq \"B\"].familyName", "value": "x"}]`,
			scimType: roster.ScimInvalidPath, frag: "name is not a multi-valued complex attribute"},
		{name: "filter on an unknown sub-attribute", ops: `[{"op": "replace", "path": "emails[kind eq \"work\"].value", "value": "x"}]`,
			scimType: roster.ScimInvalidPath, frag: `"kind"`},
		{name: "replace id", ops: `[{"op": "replace", "path": "id", "value": "x"}]`,
			scimType: roster.ScimMutability, frag: "id is read-only"},
		{name: "replace meta.lastModified", ops: `[{"op": "replace", "path": "meta.lastModified", "value": "2024-01-01T00:00:00Z"}]`,
			scimType: roster.ScimMutability, frag: "meta.lastModified is read-only"},
		{name: "replace schemas", ops: `[{"op": "replace", "path": "schemas", "value": ["x"]}]`,
			scimType: roster.ScimMutability, frag: "schemas is read-only"},
		{name: "replace groups", ops: `[{"op": "replace", "path": "groups", "value": [{"value": "g1"}]}]`,
			scimType: roster.ScimMutability, frag: "groups is read-only"},
		{name: "op copy", ops: `[{"op": "copy", "path": "nickName", "value": "x"}]`,
			scimType: roster.ScimInvalidValue, frag: `op must be "add", "replace" or "remove", got "copy"`},
		{name: "op missing", ops: `[{"path": "nickName", "value": "x"}]`,
			scimType: roster.ScimInvalidValue, frag: `got ""`},
		{name: "no operations", ops: `[]`,
			scimType: roster.ScimInvalidValue, frag: "at least one operation"},
		{name: "active yes", ops: `[{"op": "Replace", "path": "active", "value": "yes"}]`,
			scimType: roster.ScimInvalidValue, frag: "active must be a boolean"},
		{name: "name not an object", ops: `[{"op": "replace", "path": "name", "value": 5}]`,
			scimType: roster.ScimInvalidValue, frag: "name must be an object"},
		{name: "emails a string", ops: `[{"op": "replace", "path": "emails", "value": "x"}]`,
			scimType: roster.ScimInvalidValue, frag: "emails must be a JSON object, got a string"},
		{name: "email value a number", ops: `[{"op": "Add", "path": "emails[type eq \"work\"].value", "value": 5}]`,
			scimType: roster.ScimInvalidValue, frag: "emails.value must be a string, got a number"},
		{name: "filtered element not an object", ops: `[{"op": "add", "path": "emails[type eq \"work\"]", "value": "x"}]`,
			scimType: roster.ScimInvalidValue, frag: "needs an object value"},
		{name: "manager a number", ops: `[{"op": "Add", "path": "manager", "value": 5}]`,
			scimType: roster.ScimInvalidValue, frag: "manager must be a manager id"},
		{name: "extension not an object", ops: `[{"op": "replace", "path": "$ENT", "value": "x"}]`,
			scimType: roster.ScimInvalidValue, frag: "must be an object"},
		{name: "path-less value nested wrong type", ops: `[{"op": "replace", "value": {"name": {"givenName": true}}}]`,
			scimType: roster.ScimInvalidValue, frag: "name.givenName must be a string"},
		{name: "add without a value", ops: `[{"op": "add", "path": "nickName"}]`,
			scimType: roster.ScimInvalidValue, frag: "add of nickName needs a value"},
		{name: "filter matches nothing and cannot create", ops: `[{"op": "Replace", "path": "emails[value co \"@nowhere\"].type", "value": "home"}]`,
			scimType: roster.ScimNoTarget, frag: "no value of emails matches"},
		{name: "remove without a path", ops: `[{"op": "remove", "value": {"nickName": "Babs"}}]`,
			scimType: roster.ScimNoTarget, frag: "remove needs a path"},
		{name: "path-less value not an object", ops: `[{"op": "replace", "value": "x"}]`,
			scimType: roster.ScimInvalidValue, frag: "without a path needs an object value"},
		{name: "remove displayName of a group", group: true, ops: `[{"op": "remove", "path": "displayName"}]`,
			scimType: roster.ScimInvalidValue, frag: "displayName is required for a Group"},
		{name: "add members by filter", group: true, ops: `[{"op": "add", "path": "members[value eq \"u1\"]", "value": {"value": "u1"}}]`,
			scimType: roster.ScimInvalidPath, frag: "supported only with remove"},
		{name: "remove members by a filter on an unknown sub-attribute", group: true, ops: `[{"op": "remove", "path": "members[nickName eq \"x\"]"}]`,
			scimType: roster.ScimInvalidPath, frag: "nickName"},
		{name: "members sub-attribute", group: true, ops: `[{"op": "replace", "path": "members.display", "value": "x"}]`,
			scimType: roster.ScimInvalidPath, frag: "members.display cannot be changed"},
		{name: "member value a number", group: true, ops: `[{"op": "add", "path": "members", "value": [{"value": 5}]}]`,
			scimType: roster.ScimInvalidValue, frag: "non-empty string value"},
		{name: "members as strings", group: true, ops: `[{"op": "add", "path": "members", "value": ["u1"]}]`,
			scimType: roster.ScimInvalidValue, frag: "members must be objects"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := ptCase{group: tc.group}
			doc := rscDoc(t, c.start())
			before := rscText(doc)
			got, members, err := ApplyPatch(c.rt(), doc, ptOps(t, tc.ops))
			rscErr(t, err, tc.scimType, tc.frag)
			if got != nil || members != nil {
				t.Errorf("got %v and %v with the error", got, members)
			}
			if after := rscText(doc); after != before {
				t.Errorf("a failed PATCH changed its input:\nbefore %s\nafter  %s", before, after)
			}
		})
	}
}

// TestApplyPatchAtomic checks that a failing operation after successful ones
// leaves the caller's document untouched, nested values included, and that
// the error names the failing operation.
func TestApplyPatchAtomic(t *testing.T) {
	doc := rscDoc(t, ptUserDoc)
	before := rscText(doc)
	_, _, err := ApplyPatch(rscUser(), doc, ptOps(t, `[
		{"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "changed@example.com"},
		{"op": "Replace", "path": "name.givenName", "value": "Changed"},
		{"op": "Remove", "path": "$ENT:manager"},
		{"op": "Add", "path": "roles", "value": [{"value": "Admin"}]},
		{"op": "Replace", "path": "active", "value": "yes"},
		{"op": "Replace", "path": "nickName", "value": "never"}]`))
	rscErr(t, err, roster.ScimInvalidValue, "Operations[4]: active must be a boolean")
	if after := rscText(doc); after != before {
		t.Errorf("a failed PATCH changed its input:\nbefore %s\nafter  %s", before, after)
	}
}

// TestApplyPatchNoAliasing checks that the result shares nothing with the
// input, so a store may keep the old document while it writes the new one.
func TestApplyPatchNoAliasing(t *testing.T) {
	doc := rscDoc(t, ptUserDoc)
	before := rscText(doc)
	got, _, err := ApplyPatch(rscUser(), doc, ptOps(t, `[{"op": "replace", "path": "nickName", "value": "B"}]`))
	if err != nil {
		t.Fatal(err)
	}
	got["name"].(map[string]any)["givenName"] = "mutated"
	got["emails"].([]any)[0].(map[string]any)["value"] = "mutated"
	got[rscEnt].(map[string]any)["manager"].(map[string]any)["value"] = "mutated"
	if after := rscText(doc); after != before {
		t.Errorf("changing the result changed the input:\nbefore %s\nafter  %s", before, after)
	}
}

func TestApplyPatchTooMany(t *testing.T) {
	ops := make([]PatchOp, maxPatchOps+1)
	for i := range ops {
		ops[i] = PatchOp{Op: "add", Path: "members", Value: []any{map[string]any{"value": fmt.Sprint("u", i)}}}
	}
	_, _, err := ApplyPatch(rscGroup(), rscDoc(t, ptGroupDoc), ops)
	rscErr(t, err, roster.ScimTooMany, "at most 1000 operations")
	if _, _, err := ApplyPatch(rscGroup(), rscDoc(t, ptGroupDoc), ops[:maxPatchOps]); err != nil {
		t.Errorf("%d operations: %v", maxPatchOps, err)
	}
}

// TestApplyPatchManyValues adds and removes the most values an attribute
// may hold. Finding duplicates and values to remove is hashed, so this is
// linear; the benchmark below measures it.
func TestApplyPatchManyValues(t *testing.T) {
	vals := rscValues(maxValues)
	doc := map[string]any{"userName": "u", "emails": vals[:10]}
	got, _, err := ApplyPatch(rscUser(), doc, []PatchOp{{Op: "add", Path: "emails", Value: vals}})
	if err != nil {
		t.Fatal(err)
	}
	rscSame(t, "after add", got, map[string]any{"userName": "u", "emails": vals})

	// Remove all but the first value, spelled in upper case: email values
	// are not caseExact.
	upper := make([]any, 0, maxValues)
	for _, v := range vals[1:] {
		upper = append(upper, map[string]any{"value": strings.ToUpper(v.(map[string]any)["value"].(string))})
	}
	got, _, err = ApplyPatch(rscUser(), got, []PatchOp{{Op: "remove", Path: "emails", Value: upper}})
	if err != nil {
		t.Fatal(err)
	}
	rscSame(t, "after remove", got, map[string]any{"userName": "u", "emails": vals[:1]})

	_, _, err = ApplyPatch(rscUser(), map[string]any{"userName": "u", "emails": vals}, ptOps(t,
		`[{"op": "add", "path": "emails", "value": [{"value": "one@example.com"}]}]`))
	rscErr(t, err, roster.ScimInvalidValue, "Operations[0]: emails may hold at most 1000 values, got 1001")
	_, _, err = ApplyPatch(rscUser(), map[string]any{"userName": "u", "emails": vals}, ptOps(t,
		`[{"op": "add", "path": "emails[type eq \"work\"].value", "value": "w@example.com"}]`))
	rscErr(t, err, roster.ScimInvalidValue, "emails may hold at most 1000 values")
}

func BenchmarkApplyPatchManyValues(b *testing.B) {
	vals := rscValues(maxValues)
	doc := map[string]any{"userName": "u"}
	ops := []PatchOp{{Op: "add", Path: "emails", Value: vals}}
	remove := []PatchOp{{Op: "remove", Path: "emails", Value: vals}}
	for b.Loop() {
		got, _, err := ApplyPatch(rscUser(), doc, ops)
		if err != nil {
			b.Fatal(err)
		}
		if _, _, err := ApplyPatch(rscUser(), got, remove); err != nil {
			b.Fatal(err)
		}
	}
}

// TestFoldKey checks the property valueIndex relies on: strings that
// strings.EqualFold calls equal share a foldKey.
func TestFoldKey(t *testing.T) {
	same := [][2]string{
		{"Babs@Example.COM", "babs@example.com"},
		{"\u212a", "k"},                  // Kelvin sign
		{"\u017f", "S"},                  // long s
		{"\u03a3\u03c3", "\u03c2\u03a3"}, // sigma, final sigma
		{"\xff", "\ufffd"},               // invalid UTF-8 decodes as U+FFFD
		{"", ""},
	}
	for _, p := range same {
		if !strings.EqualFold(p[0], p[1]) {
			t.Fatalf("test pair %q, %q is not EqualFold", p[0], p[1])
		}
		if a, b := foldKey(p[0]), foldKey(p[1]); a != b {
			t.Errorf("foldKey(%q) = %q, foldKey(%q) = %q", p[0], a, p[1], b)
		}
	}
	for _, p := range [][2]string{{"a", "b"}, {"ab", "a"}, {"work", "home"}} {
		if foldKey(p[0]) == foldKey(p[1]) {
			t.Errorf("foldKey(%q) == foldKey(%q)", p[0], p[1])
		}
	}
}

// TestPatchRequestJSON checks the wire names of a PATCH body.
func TestPatchRequestJSON(t *testing.T) {
	req := ptRequest(t, `{"schemas": ["`+PatchOpURN+`"], "Operations": [{"op": "Replace", "path": "active", "value": "False"}]}`)
	want := PatchRequest{Schemas: []string{PatchOpURN}, Operations: []PatchOp{{Op: "Replace", Path: "active", Value: "False"}}}
	rscSame(t, "request", req, want)
}
