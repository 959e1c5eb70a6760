package scim

import (
	"strings"
	"testing"
	"time"

	"github.com/roster-scim/roster"
)

const rndBase = "https://roster.example.com/v1/scim/idp-1"

var (
	rndCreated  = time.Date(2024, 1, 31, 12, 0, 0, 0, time.FixedZone("CET", 3600))
	rndModified = time.Date(2024, 2, 1, 8, 30, 15, 123456000, time.UTC)
)

// rndUser returns a stored user built from ptUserDoc.
func rndUser(tb testing.TB) *Resource {
	return &Resource{Type: UserType, ID: "u1", Attrs: rscDoc(tb, ptUserDoc),
		Groups:  []Member{{Value: "g1", Type: "Group", Display: "Tour Guides"}},
		Created: rndCreated, LastModified: rndModified, Version: 3}
}

// rndGroup returns a stored group with two members loaded.
func rndGroup(tb testing.TB) *Resource {
	return &Resource{Type: GroupType, ID: "g1", Attrs: rscDoc(tb, ptGroupDoc),
		Members: []Member{{Value: "u1", Type: "User", Display: "Babs Jensen"}, {Value: "g2", Type: "Group"}},
		Created: rndCreated, LastModified: rndModified, Version: 12}
}

// rndUserJSON is what Render makes of rndUser.
const rndUserJSON = `{
	"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "$ENT"],
	"id": "u1",
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
	"$ENT": {"employeeNumber": "701984", "department": "Tour Operations", "manager": {"value": "mgr-1"}},
	"groups": [{"value": "g1", "type": "direct", "display": "Tour Guides", "$ref": "https://roster.example.com/v1/scim/idp-1/Groups/g1"}],
	"meta": {
		"resourceType": "User",
		"created": "2024-01-31T11:00:00Z",
		"lastModified": "2024-02-01T08:30:15.123456Z",
		"location": "https://roster.example.com/v1/scim/idp-1/Users/u1",
		"version": "W/\"3\""
	}
}`

// rndGroupJSON is what Render makes of rndGroup.
const rndGroupJSON = `{
	"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
	"id": "g1",
	"displayName": "Tour Guides",
	"externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
	"members": [
		{"value": "u1", "type": "User", "display": "Babs Jensen", "$ref": "https://roster.example.com/v1/scim/idp-1/Users/u1"},
		{"value": "g2", "type": "Group", "$ref": "https://roster.example.com/v1/scim/idp-1/Groups/g2"}
	],
	"meta": {
		"resourceType": "Group",
		"created": "2024-01-31T11:00:00Z",
		"lastModified": "2024-02-01T08:30:15.123456Z",
		"location": "https://roster.example.com/v1/scim/idp-1/Groups/g1",
		"version": "W/\"12\""
	}
}`

func TestRender(t *testing.T) {
	meta := func(typ, id string) string {
		return `{"meta": {"resourceType": "` + typ + `", "created": "2024-01-31T11:00:00Z", "lastModified": "2024-02-01T08:30:15.123456Z",
			"location": "` + rndBase + `/` + typ + `s/` + id + `", "version": "W/\"1\""}}`
	}
	tests := []struct {
		name string
		res  func(testing.TB) *Resource
		want string // exact document; merged with meta when it has none
	}{
		{name: "user with the enterprise extension", res: rndUser, want: rndUserJSON},
		{name: "group with members", res: rndGroup, want: rndGroupJSON},
		{
			name: "user without extension data has only the core schema",
			res: func(tb testing.TB) *Resource {
				return &Resource{Type: UserType, ID: "u2", Attrs: rscDoc(tb, `{"userName": "u", "$ENT": {}}`),
					Created: rndCreated, LastModified: rndModified, Version: 1}
			},
			want: `{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "id": "u2", "userName": "u"}`,
		},
		{
			name: "group without members loaded has no members",
			res: func(tb testing.TB) *Resource {
				return &Resource{Type: GroupType, ID: "g2", Attrs: rscDoc(tb, `{"displayName": "G"}`),
					Created: rndCreated, LastModified: rndModified, Version: 1}
			},
			want: `{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "id": "g2", "displayName": "G"}`,
		},
		{
			// Entra's G1 expects "members": [] on a new group.
			name: "group with no members has an empty list",
			res: func(tb testing.TB) *Resource {
				return &Resource{Type: GroupType, ID: "g2", Attrs: rscDoc(tb, `{"displayName": "G"}`), Members: []Member{},
					Created: rndCreated, LastModified: rndModified, Version: 1}
			},
			want: `{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "id": "g2", "displayName": "G", "members": []}`,
		},
		{
			name: "a password in an old document is never returned",
			res: func(tb testing.TB) *Resource {
				return &Resource{Type: UserType, ID: "u2", Attrs: rscDoc(tb, `{"userName": "u", "password": "secret"}`),
					Created: rndCreated, LastModified: rndModified, Version: 1}
			},
			want: `{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "id": "u2", "userName": "u"}`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.res(t)
			rt := rscReg.ResourceType(r.Type)
			want := rscDoc(t, tc.want)
			if want["meta"] == nil {
				want = ptMerge(want, rscJSON(t, meta(r.Type, r.ID))).(map[string]any)
			}
			// Compare after a JSON round trip: that is what clients see.
			rscSame(t, "rendered document", rscRoundTrip(t, Render(rt, r, rndBase)), want)
		})
	}
}

func TestProjection(t *testing.T) {
	tests := []struct {
		name      string
		group     bool
		attrs     string // the attributes parameter
		excluded  string // the excludedAttributes parameter
		want      string // the exact projected document
		wantMerge string // or: a merge patch (ptMerge) of the full rendered document
	}{
		{name: "default", wantMerge: `{}`},
		{name: "attributes=userName", attrs: "userName",
			want: `{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "$ENT"], "id": "u1", "userName": "bjensen@example.com"}`},
		{name: "attributes are case-insensitive and trimmed", attrs: " USERNAME , Name.FamilyName ",
			want: `{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "$ENT"], "id": "u1", "userName": "bjensen@example.com",
				"name": {"familyName": "Jensen"}}`},
		{name: "attributes=name.givenName", attrs: "name.givenName",
			want: `{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "$ENT"], "id": "u1", "name": {"givenName": "Barbara"}}`},
		{name: "attributes=emails.value,emails.type", attrs: "emails.value,emails.type",
			want: `{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "$ENT"], "id": "u1",
				"emails": [{"value": "bjensen@example.com", "type": "work"}, {"value": "babs@jensen.org", "type": "home"}]}`},
		{name: "attributes=id (Entra's probes)", attrs: "id",
			want: `{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "$ENT"], "id": "u1"}`},
		{name: "attributes with unknown names only", attrs: "favouriteColour",
			want: `{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "$ENT"], "id": "u1"}`},
		{name: "attributes=URN-qualified extension attribute", attrs: "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
			want: `{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "$ENT"], "id": "u1", "$ENT": {"department": "Tour Operations"}}`},
		{name: "attributes=extension sub-attribute", attrs: "$ENT:manager.value,meta.location",
			want: `{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "$ENT"], "id": "u1", "$ENT": {"manager": {"value": "mgr-1"}},
				"meta": {"location": "https://roster.example.com/v1/scim/idp-1/Users/u1"}}`},
		{name: "attributes=whole extension", attrs: "$ENT",
			want: `{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "$ENT"], "id": "u1",
				"$ENT": {"employeeNumber": "701984", "department": "Tour Operations", "manager": {"value": "mgr-1"}}}`},
		{name: "attributes=manager (unqualified)", attrs: "manager",
			want: `{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "$ENT"], "id": "u1", "$ENT": {"manager": {"value": "mgr-1"}}}`},
		{name: "attributes wins over excludedAttributes", attrs: "userName", excluded: "userName",
			want: `{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "$ENT"], "id": "u1", "userName": "bjensen@example.com"}`},
		{name: "excludedAttributes=id,schemas keeps them (returned always)", excluded: "id,schemas", wantMerge: `{}`},
		{name: "excludedAttributes of sub-attributes", excluded: "name.givenName,emails.type,$ENT:department",
			wantMerge: `{"name": {"givenName": null},
				"emails": [{"value": "bjensen@example.com", "primary": true}, {"value": "babs@jensen.org"}],
				"$ENT": {"department": null}}`},
		{name: "excludedAttributes=whole extension", excluded: "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
			wantMerge: `{"$ENT": null}`},
		{name: "excludedAttributes=meta,groups,unknown", excluded: "meta,groups,favouriteColour",
			wantMerge: `{"meta": null, "groups": null}`},
		{name: "group excludedAttributes=members (G2, G3)", group: true, excluded: "members",
			wantMerge: `{"members": null}`},
		{name: "group attributes=id (G4)", group: true, attrs: "id",
			want: `{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "id": "g1"}`},
		{name: "group attributes=members.value", group: true, attrs: "members.value",
			want: `{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "id": "g1", "members": [{"value": "u1"}, {"value": "g2"}]}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, full := rndUser(t), rndUserJSON
			if tc.group {
				res, full = rndGroup(t), rndGroupJSON
			}
			rt := rscReg.ResourceType(res.Type)
			stored := rscText(res.Attrs)
			p := rt.ParseProjection(strings.ReplaceAll(tc.attrs, "$ENT", rscEnt), strings.ReplaceAll(tc.excluded, "$ENT", rscEnt))
			got := rscRoundTrip(t, p.Apply(Render(rt, res, rndBase)))
			var want map[string]any
			if tc.wantMerge != "" {
				want = ptMerge(rscDoc(t, full), rscJSON(t, tc.wantMerge)).(map[string]any)
			} else {
				want = rscDoc(t, tc.want)
			}
			rscSame(t, "projected document", got, want)
			// Projection works on the rendered copy: the resource, which a
			// store may cache or render again, is untouched.
			if after := rscText(res.Attrs); after != stored {
				t.Errorf("projection changed the resource:\nbefore %s\nafter  %s", stored, after)
			}
		})
	}
}

func TestProjectionWants(t *testing.T) {
	tests := []struct {
		attrs, excluded string
		want            bool
	}{
		{"", "", true},
		{"", "members", false},
		{"", "MEMBERS", false},
		{"", "urn:ietf:params:scim:schemas:core:2.0:Group:members", false},
		{"", "members.display", true},
		{"", "displayName", true},
		{"members", "", true},
		{"members.value", "", true},
		{"displayName", "", false},
		{"id", "", false},
		{"favouriteColour", "", false},
		{"displayName,members", "members", true},
	}
	for _, tc := range tests {
		p := rscGroup().ParseProjection(tc.attrs, tc.excluded)
		if got := p.Wants("members"); got != tc.want {
			t.Errorf("attributes=%q excludedAttributes=%q: Wants(members) = %v, want %v", tc.attrs, tc.excluded, got, tc.want)
		}
	}
	if !(Projection{}).Wants("members") {
		t.Error("the zero Projection does not want members")
	}
}

func TestETag(t *testing.T) {
	if got := (&Resource{Version: 42}).ETag(); got != `W/"42"` {
		t.Errorf("ETag = %s", got)
	}
}

func TestResolveFilter(t *testing.T) {
	ent := func(attr, sub string) Path { return Path{URN: rscEnt, Attr: attr, Sub: sub} }
	tests := []struct {
		group  bool
		filter string
		want   Expr
	}{
		{filter: `userName eq "bjensen"`, want: fltCmp(fltAttr("userName"), "eq", "bjensen")},
		{filter: `USERNAME Eq "bjensen"`, want: fltCmp(fltAttr("userName"), "eq", "bjensen")},
		{filter: `urn:ietf:params:scim:schemas:core:2.0:User:userName eq "b"`, want: fltCmp(fltAttr("userName"), "eq", "b")},
		{filter: `externalId eq "x" and id eq "y"`, want: fltAnd(fltCmp(fltAttr("externalId"), "eq", "x"), fltCmp(fltAttr("id"), "eq", "y"))},
		// Entra's legacy reference probe: bare manager is the enterprise
		// manager, compared on its value.
		{filter: `id eq "u1" and manager eq "m1"`, want: fltAnd(fltCmp(fltAttr("id"), "eq", "u1"), fltCmp(ent("manager", "value"), "eq", "m1"))},
		{filter: `urn:ietf:params:scim:schemas:extension:enterprise:2.0:user:DEPARTMENT eq "Eng"`, want: fltCmp(ent("department", ""), "eq", "Eng")},
		{filter: `URN:IETF:PARAMS:SCIM:SCHEMAS:EXTENSION:ENTERPRISE:2.0:USER:manager.Value eq "m1"`, want: fltCmp(ent("manager", "value"), "eq", "m1")},
		{filter: `emails[type eq "work"].value eq "b@example.com"`,
			want: fltVP(fltAttr("emails"), fltAnd(fltCmp(fltAttr("type"), "eq", "work"), fltCmp(fltAttr("value"), "eq", "b@example.com")))},
		{filter: `Emails[TYPE eq "work" and not (Primary eq false)]`,
			want: fltVP(fltAttr("emails"), fltAnd(fltCmp(fltAttr("type"), "eq", "work"), fltNot(fltCmp(fltAttr("primary"), "eq", false))))},
		{filter: `emails co "@example.com"`, want: fltCmp(fltSub("emails", "value"), "co", "@example.com")},
		{filter: `emails.value sw "b"`, want: fltCmp(fltSub("emails", "value"), "sw", "b")},
		{filter: `active eq true or active eq "False"`, want: fltOr(fltCmp(fltAttr("active"), "eq", true), fltCmp(fltAttr("active"), "eq", "False"))},
		{filter: `meta.lastModified gt "2024-01-31T12:00:00Z"`, want: fltCmp(fltSub("meta", "lastModified"), "gt", "2024-01-31T12:00:00Z")},
		{filter: `name pr`, want: fltPr(fltAttr("name"))},
		{filter: `title eq null`, want: fltCmp(fltAttr("title"), "eq", nil)},
		{group: true, filter: `displayName eq "Tour Guides"`, want: fltCmp(fltAttr("displayName"), "eq", "Tour Guides")},
		// Entra's membership probe (G4): members is compared on its value.
		{group: true, filter: `id eq "g1" and members eq "u1"`, want: fltAnd(fltCmp(fltAttr("id"), "eq", "g1"), fltCmp(fltSub("members", "value"), "eq", "u1"))},
		{group: true, filter: `members[value eq "u1"]`, want: fltVP(fltAttr("members"), fltCmp(fltAttr("value"), "eq", "u1"))},
	}
	for _, tc := range tests {
		rt := rscUser()
		if tc.group {
			rt = rscGroup()
		}
		e, err := ParseFilter(tc.filter)
		if err != nil {
			t.Fatalf("ParseFilter(%q): %v", tc.filter, err)
		}
		got, err := rt.ResolveFilter(e)
		if err != nil {
			t.Errorf("ResolveFilter(%q): %v", tc.filter, err)
			continue
		}
		if fltDump(got) != fltDump(tc.want) {
			t.Errorf("ResolveFilter(%q):\ngot  %s\nwant %s", tc.filter, fltDump(got), fltDump(tc.want))
		}
	}
}

func TestResolveFilterErrors(t *testing.T) {
	tests := []struct {
		group  bool
		filter string
		frag   string
	}{
		{filter: `favouriteColour eq "blue"`, frag: `unknown attribute "favouriteColour"`},
		{filter: `name.nick eq "B"`, frag: `"name.nick"`},
		{filter: `urn:example:custom:1.0:User:costCentre eq "x"`, frag: "costCentre"},
		{filter: `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User eq "x"`, frag: "unknown attribute"},
		{filter: `members eq "u1"`, frag: `unknown attribute "members"`},
		{group: true, filter: `manager eq "m1"`, frag: `unknown attribute "manager"`},
		{filter: `active eq "yes"`, frag: `"active" is a boolean`},
		{filter: `active gt true`, frag: "operator gt"},
		{filter: `active co "t"`, frag: "operator co"},
		{filter: `userName co 5`, frag: "operator co needs a string"},
		{filter: `meta.created gt "yesterday"`, frag: "is a dateTime"},
		{filter: `name eq "Babs"`, frag: `"name" is a complex attribute`},
		{filter: `emails[kind eq "work"]`, frag: `"kind" is not a sub-attribute of "emails"`},
		{filter: `userName[value eq "x"]`, frag: `"userName" is not a complex attribute`},
		{filter: `emails[primary eq "yes"]`, frag: "is a boolean"},
	}
	for _, tc := range tests {
		rt := rscUser()
		if tc.group {
			rt = rscGroup()
		}
		e, err := ParseFilter(tc.filter)
		if err != nil {
			t.Fatalf("ParseFilter(%q): %v", tc.filter, err)
		}
		_, err = rt.ResolveFilter(e)
		if err == nil {
			t.Errorf("ResolveFilter(%q) succeeded", tc.filter)
			continue
		}
		t.Run(tc.filter, func(t *testing.T) { rscErr(t, err, roster.ScimInvalidFilter, tc.frag) })
	}
}

// TestResolveFilterValueTypes checks that a comparison value must fit the
// attribute's type: `userName gt 5` would otherwise compare the text "5"
// with userNames. null stays allowed with eq and ne.
func TestResolveFilterValueTypes(t *testing.T) {
	attr := func(name, typ string) *Attribute {
		return &Attribute{Name: name, Type: typ, Mutability: ReadWrite, Returned: ReturnedDefault, Uniqueness: "none"}
	}
	rt := &ResourceType{Name: "Thing", SchemaURN: "urn:example:Thing", Core: &Schema{ID: "urn:example:Thing", Attributes: []*Attribute{
		attr("label", TypeString), attr("count", TypeInteger), attr("weight", TypeDecimal), attr("link", TypeReference),
		attr("blob", TypeBinary), attr("flag", TypeBoolean), attr("when", TypeDateTime),
	}}}
	tests := []struct {
		rt     *ResourceType
		filter string
		frag   string // "" when the filter is valid
	}{
		{rt: rscUser(), filter: `userName gt 5`, frag: `"userName" is a string attribute: compare it with a quoted string, not 5`},
		{rt: rscUser(), filter: `userName eq true`, frag: `"userName" is a string attribute: compare it with a quoted string, not true`},
		{rt: rscUser(), filter: `emails[value eq 5]`, frag: `"value" is a string attribute`},
		{rt: rscUser(), filter: `externalId ne 1.5`, frag: `"externalId" is a string attribute`},
		{rt: rscUser(), filter: `meta.created eq 5`, frag: `"meta.created" is a dateTime`},
		{rt: rscUser(), filter: `active eq 1`, frag: `"active" is a boolean`},
		{rt: rscUser(), filter: `userName eq null`},
		{rt: rscUser(), filter: `userName ne null`},
		{rt: rscUser(), filter: `userName gt "5"`},
		{rt: rt, filter: `label lt 5`, frag: `"label" is a string attribute`},
		{rt: rt, filter: `link eq 5`, frag: `"link" is a reference attribute: compare it with a quoted string`},
		{rt: rt, filter: `blob eq false`, frag: `"blob" is a binary attribute: compare it with a quoted string`},
		{rt: rt, filter: `count gt "5"`, frag: `"count" is an integer attribute: compare it with a number, not "5"`},
		{rt: rt, filter: `count eq true`, frag: `"count" is an integer attribute`},
		{rt: rt, filter: `weight le "1.5"`, frag: `"weight" is a decimal attribute: compare it with a number`},
		{rt: rt, filter: `flag eq 0`, frag: `"flag" is a boolean`},
		{rt: rt, filter: `when gt 2024`, frag: `"when" is a dateTime`},
		{rt: rt, filter: `count gt 5`},
		{rt: rt, filter: `weight le 1.5`},
		{rt: rt, filter: `count eq null`},
		{rt: rt, filter: `flag eq true`},
		{rt: rt, filter: `link sw "https:"`},
		{rt: rt, filter: `blob eq "AAE="`},
		{rt: rt, filter: `when gt "2024-01-31T12:00:00Z"`},
	}
	for _, tc := range tests {
		t.Run(tc.filter, func(t *testing.T) {
			e, err := ParseFilter(tc.filter)
			if err != nil {
				t.Fatalf("ParseFilter: %v", err)
			}
			_, err = tc.rt.ResolveFilter(e)
			switch {
			case tc.frag == "" && err != nil:
				t.Errorf("ResolveFilter: %v", err)
			case tc.frag != "" && err == nil:
				t.Errorf("ResolveFilter succeeded, want an invalidFilter error containing %q", tc.frag)
			case tc.frag != "":
				rscErr(t, err, roster.ScimInvalidFilter, tc.frag)
			}
		})
	}
}

func TestLookup(t *testing.T) {
	tests := []struct {
		path     string
		ok       bool
		want     string // canonical path
		ext      string
		wholeExt bool
		common   bool
	}{
		{path: "USERNAME", ok: true, want: "userName"},
		{path: "name.GIVENNAME", ok: true, want: "name.givenName"},
		{path: "id", ok: true, want: "id", common: true},
		{path: "Meta.Created", ok: true, want: "meta.created", common: true},
		{path: "manager", ok: true, want: rscEnt + ":manager", ext: rscEnt},
		{path: "manager.value", ok: true, want: rscEnt + ":manager.value", ext: rscEnt},
		{path: "urn:ietf:params:scim:schemas:extension:enterprise:2.0:user", ok: true, want: rscEnt, ext: rscEnt, wholeExt: true},
		{path: "urn:ietf:params:scim:schemas:core:2.0:user:emails.value", ok: true, want: "emails.value"},
		{path: "favouriteColour"},
		{path: "name.nick"},
		{path: "urn:example:custom:1.0:User:x"},
		{path: "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User.department"},
	}
	for _, tc := range tests {
		pp, err := ParsePatchPath(tc.path)
		if err != nil {
			t.Fatalf("ParsePatchPath(%q): %v", tc.path, err)
		}
		got, ok := rscUser().Lookup(pp.Path)
		if ok != tc.ok {
			t.Errorf("Lookup(%q) ok = %v, want %v", tc.path, ok, tc.ok)
			continue
		}
		if !ok {
			continue
		}
		if got.Path().String() != tc.want || got.Ext != tc.ext || got.WholeExt != tc.wholeExt || got.Common != tc.common {
			t.Errorf("Lookup(%q) = %s (ext %q, whole %v, common %v); want %s (ext %q, whole %v, common %v)", tc.path,
				got.Path(), got.Ext, got.WholeExt, got.Common, tc.want, tc.ext, tc.wholeExt, tc.common)
		}
	}
}
