package scim

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/roster-scim/roster"
)

// builtin returns a built-in profile and its resource type by name.
func builtin(t *testing.T, name, typ string) (*Profile, *ResourceType) {
	t.Helper()
	p := (*ProfileSet)(nil).Lookup(name)
	if p == nil {
		t.Fatalf("no built-in profile %q", name)
	}
	rt := p.ResourceType(typ)
	if rt == nil {
		t.Fatalf("profile %s has no %s", name, typ)
	}
	return p, rt
}

// TestBuiltinProfiles checks that every built-in parses and that generic
// shows exactly the RFC registry, so that directories created before
// profiles see no change on /Schemas and /ResourceTypes.
func TestBuiltinProfiles(t *testing.T) {
	var names []string
	for _, p := range BuiltinProfiles() {
		names = append(names, p.Name)
	}
	want := []string{"generic", "meta-networks-connector", "meta-work-accounts", "mycompliance", "workplace"}
	if !reflect.DeepEqual(names, want) {
		t.Errorf("built-in profiles = %v, want %v", names, want)
	}
	got, _ := json.Marshal(BuiltinProfiles()[0].Registry())
	rfc, _ := json.Marshal(NewRegistry())
	if string(got) != string(rfc) {
		t.Errorf("generic registry differs from NewRegistry:\n%s\n%s", got, rfc)
	}
	// Marking attributes required in a profile's registry must not leak
	// into the definitions requests are parsed with.
	p, rt := builtin(t, "mycompliance", UserType)
	if rt.Core.Attr("name").Sub("givenName").Required {
		t.Error("mycompliance's parsing schema has name.givenName required")
	}
	if !p.Registry().ResourceType(UserType).Core.Attr("name").Sub("givenName").Required {
		t.Error("mycompliance's advertised schema does not mark name.givenName required")
	}
}

// TestProfileRegistry checks what /Schemas and /ResourceTypes are built
// from: supported attributes only, the resource types the app takes, and
// the profile's extensions with their types.
func TestProfileRegistry(t *testing.T) {
	reg := (*ProfileSet)(nil).Lookup("meta-networks-connector").Registry()
	user := reg.ResourceType(UserType)
	var attrs []string
	for _, a := range user.Core.Attributes {
		attrs = append(attrs, a.Name)
	}
	if want := []string{"userName", "name", "active", "phoneNumbers"}; !reflect.DeepEqual(attrs, want) {
		t.Errorf("meta-networks-connector User attributes = %v, want %v", attrs, want)
	}
	phone := user.Core.Attr("phoneNumbers")
	if typ := phone.Sub("type"); typ == nil || !reflect.DeepEqual(typ.CanonicalValues, []string{"work"}) {
		t.Errorf("phoneNumbers.type = %+v, want canonical values [work]", typ)
	}
	if phone.Sub("display") != nil || len(user.Ext) != 0 || len(user.Extensions) != 0 {
		t.Errorf("unsupported parts advertised: %+v, %v", phone.SubAttributes, user.Extensions)
	}

	wp := (*ProfileSet)(nil).Lookup("workplace").Registry()
	if wp.ResourceType(GroupType) != nil {
		t.Error("workplace advertises Groups")
	}
	for urn, typ := range map[string]string{
		"urn:scim:schemas:extension:facebook:auth_method:1.0:auth_method":    TypeString,
		"urn:scim:schemas:extension:facebook:frontline:1.0:is_frontline":     TypeBoolean,
		"urn:scim:schemas:extension:facebook:starttermdates:1.0:startDate":   TypeInteger,
		"urn:scim:schemas:extension:enterprise:1.0:department":               TypeString,
		"urn:scim:schemas:extension:enterprise:1.0:manager":                  TypeComplex,
		"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager": "",
	} {
		i := strings.LastIndex(urn, ":")
		s := wp.Schema(urn[:i])
		var got string
		if s != nil && s.Attr(urn[i+1:]) != nil {
			got = s.Attr(urn[i+1:]).Type
		}
		if got != typ {
			t.Errorf("workplace /Schemas: %s has type %q, want %q", urn, got, typ)
		}
	}
}

// TestProfilePrune checks which parts of a normalized document each kind
// of supported path keeps, and that the dropped paths are reported.
func TestProfilePrune(t *testing.T) {
	for _, tc := range []struct {
		name, profile string
		in            string
		want          string
		dropped       []string
	}{
		{
			name: "filtered multi-valued", profile: "meta-networks-connector",
			in: `{"userName":"a","nickName":"x","phoneNumbers":[{"type":"work","value":"+1","primary":true,"display":"d"},{"type":"mobile","value":"+2"}],
				"emails":[{"type":"work","value":"a@x"}],"externalId":"e","name":{"givenName":"A","middleName":"M"}}`,
			want:    `{"userName":"a","phoneNumbers":[{"type":"work","value":"+1","primary":true}],"name":{"givenName":"A"}}`,
			dropped: []string{`emails`, `externalId`, `name.middleName`, `nickName`, `phoneNumbers[type eq "mobile"]`, `phoneNumbers[type eq "work"].display`},
		},
		{
			name: "a value with only its type left is dropped", profile: "meta-networks-connector",
			in:      `{"userName":"a","phoneNumbers":[{"type":"work","display":"d"}]}`,
			want:    `{"userName":"a"}`,
			dropped: []string{`phoneNumbers[type eq "work"].display`},
		},
		{
			name: "extensions", profile: "workplace",
			in: `{"userName":"a","urn:scim:schemas:extension:facebook:frontline:1.0":{"is_frontline":true},
				"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"D"}}`,
			want:    `{"userName":"a","urn:scim:schemas:extension:facebook:frontline:1.0":{"is_frontline":true}}`,
			dropped: []string{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"},
		},
		{
			name: "generic keeps everything", profile: "generic",
			in:   `{"userName":"a","nickName":"x","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"D"}}`,
			want: `{"userName":"a","nickName":"x","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"D"}}`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, rt := builtin(t, tc.profile, UserType)
			var body map[string]any
			if err := json.Unmarshal([]byte(tc.in), &body); err != nil {
				t.Fatal(err)
			}
			before, _ := json.Marshal(body)
			got, dropped := p.Prune(rt, body)
			var want map[string]any
			_ = json.Unmarshal([]byte(tc.want), &want)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Prune = %v, want %v", got, want)
			}
			if !reflect.DeepEqual(dropped, tc.dropped) {
				t.Errorf("dropped = %q, want %q", dropped, tc.dropped)
			}
			if after, _ := json.Marshal(body); string(after) != string(before) {
				t.Errorf("Prune changed its input: %s", after)
			}
		})
	}
}

// TestProfileValidate checks that each rule's error names the attribute,
// the rule and the profile.
func TestProfileValidate(t *testing.T) {
	doc := func(s string) map[string]any {
		var m map[string]any
		if err := json.Unmarshal([]byte(s), &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	const mcUser = `"userName":"a","externalId":"e","name":{"givenName":"A","familyName":"B"},"emails":[{"type":"work","value":"a@x"}]`
	for _, tc := range []struct {
		profile, typ, doc string
		members           []Member
		want              string // "" for valid
	}{
		{"mycompliance", UserType, `{` + mcUser + `}`, nil, ""},
		{"mycompliance", UserType, `{"userName":"a","externalId":"e","name":{"familyName":"B"},"emails":[{"type":"work","value":"a@x"}]}`, nil,
			"name.givenName is required by profile mycompliance"},
		{"mycompliance", UserType, `{"userName":"a","externalId":"e","name":{"givenName":"A","familyName":"B"},"emails":[{"type":"home","value":"a@x"}]}`, nil,
			`emails[type eq "work"].value is required by profile mycompliance`},
		{"mycompliance", UserType, `{"userName":"a","name":{"givenName":"A","familyName":" "},"emails":[{"type":"work","value":"a@x"}]}`, nil,
			"name.familyName is required by profile mycompliance"},
		{"meta-networks-connector", UserType, `{"userName":"a","name":{"givenName":"A","familyName":"B"},"phoneNumbers":[{"type":"work","value":"555-1234"}]}`, nil,
			`phoneNumbers[type eq "work"].value "555-1234" must be an E.164 number such as +14155550100 (profile meta-networks-connector)`},
		{"meta-networks-connector", UserType, `{"userName":"a","name":{"givenName":"A","familyName":"B"},"phoneNumbers":[{"type":"work","value":"+16175551212"}]}`, nil, ""},
		{"mycompliance", GroupType, `{"displayName":"g"}`, []Member{{Value: "u1", Type: UserType}}, ""},
		{"mycompliance", GroupType, `{"displayName":"g"}`, []Member{{Value: "g1", Type: GroupType}},
			`member "g1" is a Group, but profile mycompliance takes only User members`},
		{"generic", GroupType, `{"displayName":"g"}`, []Member{{Value: "g1", Type: GroupType}}, ""},
	} {
		p, rt := builtin(t, tc.profile, tc.typ)
		err := p.Validate(rt, doc(tc.doc), tc.members...)
		if tc.want == "" {
			if err != nil {
				t.Errorf("%s %s: unexpected error %v", tc.profile, tc.doc, err)
			}
			continue
		}
		if roster.ErrorSCIMType(err) != roster.ScimInvalidValue || roster.ErrorMessage(err) != tc.want {
			t.Errorf("%s %s:\n got %v\nwant invalidValue %q", tc.profile, tc.doc, err, tc.want)
		}
	}
}

// TestProfileCheckFilter checks filterable attributes, including the ones
// a filtered entry allows and the id every profile allows.
func TestProfileCheckFilter(t *testing.T) {
	for _, tc := range []struct {
		profile, typ, filter string
		ok                   bool
	}{
		{"meta-networks-connector", UserType, `userName eq "a"`, true},
		{"meta-networks-connector", UserType, `id eq "1" and USERNAME eq "a"`, true},
		{"meta-networks-connector", UserType, `name.familyName eq "a"`, false},
		{"meta-networks-connector", UserType, `userName eq "a" or not (active eq true)`, false},
		{"meta-networks-connector", GroupType, `id eq "g" and members eq "u"`, true},
		{"meta-networks-connector", GroupType, `members[value eq "u"]`, true},
		{"mycompliance", UserType, `id eq "1" and manager eq "m"`, true},
		{"mycompliance", UserType, `emails[type eq "work"].value eq "a@x"`, false},
		{"generic", UserType, `nickName eq "a"`, true},
	} {
		p, rt := builtin(t, tc.profile, tc.typ)
		f, err := ParseFilter(tc.filter)
		if err == nil {
			f, err = rt.ResolveFilter(f)
		}
		if err != nil {
			t.Fatalf("%s: %v", tc.filter, err)
		}
		err = p.CheckFilter(rt, f)
		if (err == nil) != tc.ok {
			t.Errorf("%s %s: CheckFilter = %v, want ok=%v", tc.profile, tc.filter, err, tc.ok)
		}
		if err != nil && roster.ErrorSCIMType(err) != roster.ScimInvalidFilter {
			t.Errorf("%s: scimType %q, want invalidFilter", tc.filter, roster.ErrorSCIMType(err))
		}
	}
	p, rt := builtin(t, "meta-networks-connector", UserType)
	f, _ := ParseFilter(`name.familyName eq "a"`)
	f, _ = rt.ResolveFilter(f)
	want := "filtering on name.familyName is not supported by profile meta-networks-connector; filterable attributes: id, userName"
	if got := roster.ErrorMessage(p.CheckFilter(rt, f)); got != want {
		t.Errorf("message %q, want %q", got, want)
	}
}

// acmeYAML is a custom profile using every feature of the file format.
const acmeYAML = `# A custom profile: comments are allowed in YAML.
name: acme
description: Acme HR
resourceTypes:
  User:
    extensions:
      - id: urn:acme:params:scim:schemas:extension:acme:1.0:User
        attributes:
          - {name: badge, type: integer}
          - {name: site, type: string}
    supported:
      - userName
      - name.givenName
      - phoneNumbers[type eq "mobile"].value
      - urn:acme:params:scim:schemas:extension:acme:1.0:User
    required: [name.givenName, "urn:acme:params:scim:schemas:extension:acme:1.0:User:badge"]
    filterable: [userName]
    rules:
      - attribute: phoneNumbers[type eq "mobile"].value
        pattern: '^\+44'
  group:
    supported: [displayName]
    memberTypes: [user]
`

// writeFile writes a file in a new temporary directory.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestLoadProfile loads the same custom profile from YAML and from JSON
// and checks that both behave alike.
func TestLoadProfile(t *testing.T) {
	fromYAML, err := LoadProfile(writeFile(t, "acme.yml", acmeYAML))
	if err != nil {
		t.Fatal(err)
	}
	asJSON, _ := json.Marshal(fromYAML)
	fromJSON, err := LoadProfile(writeFile(t, "acme.json", string(asJSON)))
	if err != nil {
		t.Fatalf("JSON form %s: %v", asJSON, err)
	}
	for _, p := range []*Profile{fromYAML, fromJSON} {
		rt := p.ResourceType("user")
		attrs, _, err := Normalize(rt, map[string]any{
			"userName": "a", "name": map[string]any{"givenName": "A"},
			"urn:acme:params:scim:schemas:extension:acme:1.0:User": map[string]any{"badge": json.Number("7")},
			"phoneNumbers": []any{map[string]any{"type": "mobile", "value": "+1555"}},
		})
		if err != nil {
			t.Fatal(err)
		}
		attrs, _ = p.Prune(rt, attrs)
		if err := p.Validate(rt, attrs); roster.ErrorMessage(err) != `phoneNumbers[type eq "mobile"].value "+1555" must match ^\+44 (profile acme)` {
			t.Errorf("Validate = %v", err)
		}
		if got := p.MemberTypes(p.ResourceType(GroupType)); !reflect.DeepEqual(got, []string{UserType}) {
			t.Errorf("member types = %v", got)
		}
		if p.Registry().ResourceType(GroupType).Core.Attr("members") == nil {
			t.Error("members, always supported, is not advertised")
		}
		ext := p.Registry().Schema("urn:acme:params:scim:schemas:extension:acme:1.0:User")
		if ext == nil || ext.Attr("badge").Type != TypeInteger || ext.Attr("badge").Mutability != ReadWrite {
			t.Errorf("extension schema = %+v", ext)
		}
	}
}

// TestLoadProfileErrors checks that a bad file is refused with an error
// that names the file and the offending field.
func TestLoadProfileErrors(t *testing.T) {
	valid := func(replace, with string) string {
		if !strings.Contains(acmeYAML, replace) {
			t.Fatalf("test setup: %q not in the profile", replace)
		}
		return strings.Replace(acmeYAML, replace, with, 1)
	}
	for _, tc := range []struct {
		name, file, content, want string
	}{
		{"unknown extension", "p.toml", "name = 'x'", `unknown file type ".toml"`},
		{"empty", "p.json", "", "the file is empty"},
		{"JSON syntax", "p.json", "{\n\"name\": \"x\",\n}", "line 3: invalid character '}'"},
		{"YAML syntax", "p.yaml", "name: [x", "yaml: line 1"},
		{"misspelt field", "p.yaml", valid("required:", "requird:"), `unknown field "requird"`},
		{"no name", "p.yaml", valid("name: acme", "description2: x"), `unknown field "description2"`},
		{"bad name", "p.yaml", valid("name: acme", "name: Acme HR"), `name: "Acme HR" may hold only`},
		{"unknown resource type", "p.yaml", valid("  group:", "  Device:"), "resourceTypes.Device: unknown resource type"},
		{"unknown attribute", "p.yaml", valid("name.givenName, ", "name.givenNam, "), `resourceTypes.User.required[0]: "name.givenNam" names no attribute of User`},
		{"required not supported", "p.yaml", valid("name.givenName, ", "name.familyName, "), `resourceTypes.User.required[0]: "name.familyName" is not in supported`},
		{"bad path", "p.yaml", valid("      - userName\n", "      - userName\n      - emails[type eq]\n"), `resourceTypes.User.supported[1]: "emails[type eq]" is not an attribute path`},
		{"filter on single-valued", "p.yaml", valid("      - userName\n", "      - userName\n      - name[givenName eq \"x\"].familyName\n"), "only multi-valued complex attributes take a [filter]"},
		{"userName unsupported", "p.yaml", valid("      - userName\n", ""), "resourceTypes.User.supported: must include userName"},
		{"wildcard mixed", "p.yaml", valid("filterable: [userName]", "filterable: [userName, \"*\"]"), `resourceTypes.User.filterable: "*" must be the only entry`},
		{"filter on extension", "p.yaml", valid("filterable: [userName]", "filterable: [\"urn:acme:params:scim:schemas:extension:acme:1.0:User:site\"]"), "resourceTypes.User.filterable[0]: \"urn:acme:params:scim:schemas:extension:acme:1.0:User:site\" cannot be filtered on"},
		{"unknown format", "p.yaml", valid("pattern: '^\\+44'", "format: e123"), `resourceTypes.User.rules[0].format: unknown format "e123"`},
		{"bad pattern", "p.yaml", valid("pattern: '^\\+44'", "pattern: '(['"), "resourceTypes.User.rules[0].pattern: error parsing regexp"},
		{"rule on a boolean", "p.yaml", strings.Replace(valid("attribute: phoneNumbers[type eq \"mobile\"].value", "attribute: active"), "      - userName\n", "      - userName\n      - active\n", 1),
			"resourceTypes.User.rules[0].attribute: active is a boolean; rules apply to strings"},
		{"bad type", "p.yaml", valid("type: integer", "type: int"), `resourceTypes.User.extensions[0].attributes[0].type: "int" is no SCIM type`},
		{"extension clash", "p.yaml", valid("urn:acme:params:scim:schemas:extension:acme:1.0:User\n        attributes", EnterpriseSchema+"\n        attributes"), "resourceTypes.User.extensions[0].id: " + EnterpriseSchema + " is already a schema of User"},
		{"member type", "p.yaml", valid("memberTypes: [user]", "memberTypes: [device]"), `resourceTypes.group.memberTypes[0]: "device" is no member type`},
		{"required id", "p.yaml", valid("required: [", "required: [id, "), "resourceTypes.User.required[0]: id is assigned by the server"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := writeFile(t, tc.file, tc.content)
			_, err := LoadProfile(path)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), path) {
				t.Errorf("LoadProfile = %v\nwant an error naming %s and containing %q", err, path, tc.want)
			}
		})
	}
}

// TestProfileSet checks lookups, the default, and loading through the
// --profiles flag.
func TestProfileSet(t *testing.T) {
	var set ProfileSet
	if p := set.Lookup(""); p == nil || p.Name != DefaultProfile {
		t.Errorf(`Lookup("") = %v, want generic`, p)
	}
	if set.Lookup("acme") != nil || set.Lookup("Workplace") == nil {
		t.Error("Lookup: wrong answers before loading")
	}
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.Var(&set, "profiles", "")
	if err := fs.Parse([]string{"--profiles", writeFile(t, "acme.yaml", acmeYAML)}); err != nil {
		t.Fatal(err)
	}
	if p := set.Lookup("acme"); p == nil || p.Description != "Acme HR" || len(set.All()) != len(BuiltinProfiles())+1 {
		t.Errorf("after --profiles: Lookup(acme) = %v, %d profiles", p, len(set.All()))
	}
	if err := set.Set(writeFile(t, "acme.yaml", acmeYAML)); err == nil || !strings.Contains(err.Error(), `profile "acme" already exists`) {
		t.Errorf("loading acme twice: %v", err)
	}
	shadow := strings.Replace(acmeYAML, "name: acme", "name: generic", 1)
	if err := set.Set(writeFile(t, "generic.yaml", shadow)); err == nil {
		t.Error("a custom profile may shadow a built-in one")
	}
}
