package expr

import (
	"encoding/json"
	"testing"
)

// typicalMappings are 15 user mappings of the kind an admin configures for a
// SCIM app in Entra: the default direct ones, plus the expressions the
// provisioning tutorials recommend.
var typicalMappings = []string{
	`[userPrincipalName]`,
	`Switch([IsSoftDeleted], , "False", "True", "True", "False")`,
	`[displayName]`,
	`[jobTitle]`,
	`Coalesce([mail], [userPrincipalName])`,
	`[givenName]`,
	`[surname]`,
	`Join(" ", [givenName], [surname])`,
	`Replace([mobile], , "[()\\s-]+", , "", , )`,
	`[objectId]`,
	`[department]`,
	`IIF(IsPresent([employeeId]), [employeeId], "none")`,
	`ToLower(Join("@", NormalizeDiacritics(StripSpaces(Join(".", [givenName], [surname]))), "contoso.com"))`,
	`Switch([country], "Other", "US", "United States", "DE", "Germany", "FR", "France")`,
	`FormatDateTime([employeeHireDate], , "yyyy-MM-ddTHH:mm:ssZ", "yyyy-MM-dd")`,
}

// typicalUser is one source user with every attribute the mappings read.
const typicalUser = `{"userPrincipalName": "jose.garcia@contoso.com", "IsSoftDeleted": "False",
 "displayName": "José García-López", "jobTitle": "Engineer", "mail": null, "givenName": "José",
 "surname": "García-López", "mobile": "+1 (555) 123-4567", "objectId": "6f1b6b0e-6c62-4d4f-9d0e-1a3f0c6b2e11",
 "department": "R&D", "employeeId": "100042", "country": "DE", "employeeHireDate": "2021-03-15T08:00:00Z"}`

func parseAll(tb testing.TB) []*Expr {
	es := make([]*Expr, len(typicalMappings))
	for i, src := range typicalMappings {
		e, err := Parse(src)
		if err != nil {
			tb.Fatal(err)
		}
		es[i] = e
	}
	return es
}

// BenchmarkTypicalMappings evaluates all 15 mappings for one user per
// iteration, the expressions parsed once beforehand, as the engine does.
func BenchmarkTypicalMappings(b *testing.B) {
	es := parseAll(b)
	var attrs map[string]any
	if err := json.Unmarshal([]byte(typicalUser), &attrs); err != nil {
		b.Fatal(err)
	}
	env := Env{Attrs: attrs, Now: fixedNow}
	b.ReportAllocs()
	for b.Loop() {
		for _, e := range es {
			if _, err := e.Eval(env); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkParseTypicalMappings is the one-time cost of parsing them.
func BenchmarkParseTypicalMappings(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		parseAll(b)
	}
}

// TestTypicalMappings pins what the benchmark computes, so it measures the
// real work.
func TestTypicalMappings(t *testing.T) {
	var attrs map[string]any
	if err := json.Unmarshal([]byte(typicalUser), &attrs); err != nil {
		t.Fatal(err)
	}
	want := []string{"jose.garcia@contoso.com", "True", "José García-López", "Engineer",
		"jose.garcia@contoso.com", "José", "García-López", "José García-López", "+15551234567",
		"6f1b6b0e-6c62-4d4f-9d0e-1a3f0c6b2e11", "R&D", "100042", "jose.garcia-lopez@contoso.com",
		"Germany", "2021-03-15"}
	for i, e := range parseAll(t) {
		v, err := e.Eval(Env{Attrs: attrs, Now: fixedNow})
		if err != nil || v.String() != want[i] {
			t.Errorf("%s = %q, %v; want %q", typicalMappings[i], v.String(), err, want[i])
		}
	}
}
