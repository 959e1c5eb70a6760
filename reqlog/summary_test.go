package reqlog

import (
	"strings"
	"testing"

	"github.com/roster-scim/roster"
)

func TestSummarize(t *testing.T) {
	const (
		users  = "/v1/scim/{idp}/Users"
		user   = "/v1/scim/{idp}/Users/{id}"
		groups = "/v1/scim/{idp}/Groups"
		group  = "/v1/scim/{idp}/Groups/{id}"
	)
	for _, c := range []struct {
		method, route, rt, query, body string
		want                           string
	}{
		{"POST", users, "User", "", `{"userName":"alice@example.com","active":true,"name":{"givenName":"Alice"}}`, "POST create User active=true"},
		{"POST", users, "User", "", `{"userName":"alice@example.com"}`, "POST create User"},
		{"POST", users, "User", "", ``, "POST create User"}, // unauthenticated: the body was never read
		{"POST", users, "User", "", `userName=alice`, "POST create User (body not JSON)"},
		{"POST", groups, "Group", "", `{"displayName":"Sales","members":[{"value":"u1"},{"value":"u2"}]}`, "POST create Group with 2 members"},
		{"PUT", user, "User", "", `{"userName":"alice@example.com","active":false}`, "PUT replace User active=false"},
		{"PUT", group, "Group", "", `{"displayName":"Sales","members":[{"value":"u1"}]}`, "PUT replace Group with 1 member"},
		{"GET", user, "User", "attributes=userName", "", "GET User"},
		{"DELETE", group, "Group", "", "", "DELETE Group"},
		{"GET", users, "User", "", "", "GET list Users"},
		{"GET", users, "User", "filter=" + q(`userName eq "alice@example.com"`), "", `GET list Users filter userName eq "…"`},
		{"GET", users, "User", "filter=" + q(`emails[type eq "work" and value co "@example.com"] and active eq true`), "",
			`GET list Users filter emails[type eq "work" and value co "…"] and active eq true`},
		{"GET", users, "User", "filter=" + q(`externalId eq 42 or not (displayName pr)`), "", `GET list Users filter externalId eq "…" or not (displayName pr)`},
		{"GET", users, "User", "filter=" + q(`userName eq`), "", "GET list Users filter (invalid)"},
		{"GET", groups, "Group", "filter=" + q(`displayName eq "Sales"`) + "&excludedAttributes=members", "", `GET list Groups filter displayName eq "…"`},
		{"POST", users + "/.search", "User", "", `{"filter":"userName eq \"bob\"","count":1}`, `POST search Users filter userName eq "…"`},
		{"GET", "/v1/scim/{idp}/ServiceProviderConfig", "", "", "", "GET /ServiceProviderConfig"},
		{"GET", "/v1/scim/{idp}/unmatched", "", "", "", "GET /unmatched"},

		// PATCH, both Entra dialects.
		{"PATCH", user, "User", "", patch(`{"op":"Replace","path":"active","value":false}`), "PATCH replace active=false"},
		{"PATCH", user, "User", "", patch(`{"op":"Replace","path":"active","value":"False"}`), "PATCH replace active=false"},
		{"PATCH", user, "User", "", patch(`{"op":"Replace","path":"nickName","value":"Trueblood"}`), "PATCH replace nickName"},
		{"PATCH", user, "User", "", patch(
			`{"op":"replace","path":"emails[type eq \"work\"].value","value":"alice@example.com"}`,
			`{"op":"replace","path":"name.familyName","value":"Smith"}`),
			`PATCH replace emails[type eq "work"].value, name.familyName`},
		{"PATCH", user, "User", "", patch(`{"op":"replace","value":{"active":false,"displayName":"Alice Smith","name.givenName":"Alice"}}`),
			"PATCH replace active=false, displayName, name.givenName"},
		{"PATCH", user, "User", "", patch(
			`{"op":"Add","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department","value":"Sales"}`,
			`{"op":"Replace","path":"title","value":"Boss"}`,
			`{"op":"Remove","path":"emails[value eq \"old@example.com\"]"}`),
			`PATCH add urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department; replace title; remove emails[value eq "…"]`},
		{"PATCH", user, "User", "", patch(`{"op":"replace","path":"password","value":"hunter2"}`), "PATCH replace password"},
		{"PATCH", user, "User", "", patch(`{"op":"replace","path":"bad[[","value":"x"}`, `{"op":"frobnicate","path":"title"}`), "PATCH replace (invalid path); invalid-op title"},
		{"PATCH", group, "Group", "", patch(`{"op":"Add","path":"members","value":[{"value":"u1"},{"value":"u2"},{"value":"u3"}]}`), "PATCH add 3 members"},
		{"PATCH", group, "Group", "", patch(`{"op":"Remove","path":"members[value eq \"u1\"]"}`), "PATCH remove 1 member"},
		{"PATCH", group, "Group", "", patch(`{"op":"remove","path":"members[value eq \"u1\" or value eq \"u2\"]"}`), "PATCH remove 2 members"},
		{"PATCH", group, "Group", "", patch(`{"op":"remove","path":"members"}`), "PATCH remove all members"},
		{"PATCH", group, "Group", "", patch(`{"op":"add","path":"members","value":{"value":"u1"}}`), "PATCH add 1 member"},
		{"PATCH", group, "Group", "", patch(`{"op":"replace","value":{"displayName":"Sales EMEA","members":[{"value":"u1"}]}}`),
			"PATCH replace displayName; replace members with 1 member"},
		{"PATCH", group, "Group", "", patch(
			`{"op":"replace","path":"displayName","value":"Sales"}`,
			`{"op":"add","path":"members","value":[{"value":"u1"}]}`,
			`{"op":"add","path":"members","value":[{"value":"u2"}]}`),
			"PATCH replace displayName; add 1 member; add 1 member"},
		{"PATCH", user, "User", "", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"]}`, "PATCH (no operations)"},
		{"PATCH", user, "User", "", `not json`, "PATCH (body not JSON)"},
		{"PATCH", user, "User", "", ``, "PATCH User"},
	} {
		e := roster.RequestEntry{Method: c.method, Route: c.route, ResourceType: c.rt}
		if got := Summarize(&e, c.query, []byte(c.body)); got != c.want {
			t.Errorf("%s %s %s %s\n got %s\nwant %s", c.method, c.route, c.query, c.body, got, c.want)
		}
	}
}

// TestSummarizeNoValues checks that no attribute value of a realistic
// Entra PATCH reaches the summary.
func TestSummarizeNoValues(t *testing.T) {
	body := patch(
		`{"op":"Replace","path":"userName","value":"alice.secretname@example.com"}`,
		`{"op":"Replace","path":"externalId","value":"EXT-4471"}`,
		`{"op":"Add","value":{"name.givenName":"Alicia","phoneNumbers[type eq \"work\"].value":"+15551234567"}}`,
		`{"op":"Remove","path":"addresses[postalCode eq \"94105\"]"}`)
	e := roster.RequestEntry{Method: "PATCH", Route: "/v1/scim/{idp}/Users/{id}", ResourceType: "User"}
	got := Summarize(&e, "", []byte(body))
	for _, v := range []string{"alice", "EXT-4471", "Alicia", "5551234567", "94105"} {
		if strings.Contains(got, v) {
			t.Errorf("summary %q contains the value %q", got, v)
		}
	}
}

func TestSummarizeLong(t *testing.T) {
	ops := make([]string, 200)
	for i := range ops {
		ops[i] = `{"op":"replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department","value":"x"}`
		if i%2 == 1 {
			ops[i] = `{"op":"add","path":"title","value":"é"}`
		}
	}
	e := roster.RequestEntry{Method: "PATCH", Route: "/v1/scim/{idp}/Users/{id}", ResourceType: "User"}
	got := Summarize(&e, "", []byte(patch(ops...)))
	if len(got) > maxSummary || !strings.HasSuffix(got, "…") {
		t.Errorf("summary of %d bytes, want at most %d ending in …: %s", len(got), maxSummary, got)
	}
}

func patch(ops ...string) string {
	return `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[` + strings.Join(ops, ",") + `]}`
}

// q escapes a filter for a query string.
func q(filter string) string {
	return strings.NewReplacer(" ", "+", `"`, "%22", "[", "%5B", "]", "%5D", "@", "%40").Replace(filter)
}

// entraUser is a user as Entra creates one, with a password to redact.
var entraUser = []byte(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],` +
	`"externalId":"ext-1","userName":"user1@example.com","active":true,"displayName":"User 1",` +
	`"name":{"givenName":"User","familyName":"Number 1"},"emails":[{"type":"work","value":"user1@example.com","primary":true}],` +
	`"title":"Engineer","password":"Secret-1",` +
	`"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"R&D","employeeNumber":"1"}}`)

// BenchmarkSummarize is the writer goroutine's cost per created user.
func BenchmarkSummarize(b *testing.B) {
	e := roster.RequestEntry{Method: "POST", Route: "/v1/scim/{idp}/Users", ResourceType: "User"}
	for b.Loop() {
		Summarize(&e, "", entraUser)
	}
}

// TestSummarizeIgnored checks that attributes a profile dropped are named
// in the summary, by path only.
func TestSummarizeIgnored(t *testing.T) {
	e := &roster.RequestEntry{Method: "POST", Route: "/v1/scim/{idp}/Users", ResourceType: "User",
		Ignored: []string{`phoneNumbers[type eq "mobile"]`, "nickName"}}
	got := Summarize(e, "", []byte(`{"userName":"alice@example.com","nickName":"Al"}`))
	if want := `POST create User; ignored by profile: phoneNumbers[type eq "mobile"], nickName`; got != want {
		t.Errorf("Summarize = %q, want %q", got, want)
	}
}
