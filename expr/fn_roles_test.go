package expr

import "testing"

// roleObj is the JSON of one SCIM role object as the app-role functions
// build it.
func roleObj(display, value string) string {
	return `{"display":"` + display + `","primary":false,"type":"WindowsAzureActiveDirectoryRole","value":"` + value + `"}`
}

func TestAppRoleFunctions(t *testing.T) {
	two := `{"r":[{"value":"User","displayName":"User","id":"2"},{"value":"Admin","displayName":"Administrator","id":"1"}]}`
	runCases(t, []evalCase{
		{`SingleAppRoleAssignment([r])`, `{"r":[{"value":"Admin","displayName":"Administrator"}]}`, `"Admin"`, ``},
		// Several roles: Entra gives no guarantee; the smallest value is stable.
		{`SingleAppRoleAssignment([r])`, two, `"Admin"`, ``},
		{`SingleAppRoleAssignment([r])`, `{"r":["Writer","Reader"]}`, `"Reader"`, ``},
		{`SingleAppRoleAssignment([r])`, `{"r":"Reader"}`, `"Reader"`, ``},
		{`SingleAppRoleAssignment([r])`, ``, `null`, ``},
		{`SingleAppRoleAssignment([r])`, `{"r":[]}`, `null`, ``},
		{`SingleAppRoleAssignment([r])`, `{"r":[null, {"value":""}]}`, `null`, ``},
		{`AppRoleAssignmentsComplex([r])`, two, `[` + roleObj("Administrator", "Admin") + `,` + roleObj("User", "User") + `]`, ``},
		{`AssertiveAppRoleAssignmentsComplex([r])`, two, `[` + roleObj("Administrator", "Admin") + `,` + roleObj("User", "User") + `]`, ``},
		// Duplicates collapse; "display" is accepted as well as "displayName";
		// a missing display name is the value.
		{`AppRoleAssignmentsComplex([r])`, `{"r":["b",{"value":"a","display":"A"},{"value":"b","displayName":"B"}]}`,
			`[` + roleObj("A", "a") + `,` + roleObj("b", "b") + `]`, ``},
		{`AppRoleAssignmentsComplex([r])`, ``, `null`, ``},
		{`AppRoleAssignmentsComplex(Split([s], ","))`, `{"s":"y,x"}`, `[` + roleObj("x", "x") + `,` + roleObj("y", "y") + `]`, ``},
		{`AppRoleAssignmentsComplex([r])`, `{"r":[{"id":"1"}]}`, ``, `col 1: AppRoleAssignmentsComplex: app role assignment 1: want an object with a string "value"`},
		{`SingleAppRoleAssignment([r])`, `{"r":[true]}`, ``, `app role assignment 1: want a role value`},
		// Objects read as their JSON text where one value is expected.
		{`Join(";", AppRoleAssignmentsComplex([r]))`, `{"r":["a"]}`, `"{\"display\":\"a\",\"primary\":false,\"type\":\"WindowsAzureActiveDirectoryRole\",\"value\":\"a\"}"`, ``},
		{`Count(AppRoleAssignmentsComplex([r]))`, two, `2`, ``},
	})
}

func TestRedact(t *testing.T) {
	runCases(t, []evalCase{
		{`Redact([upn])`, `{"upn":"ada@contoso.com"}`, `"ada@contoso.com"`, ``},
		{`Redact("StringToBeRedacted")`, ``, `"StringToBeRedacted"`, ``},
		{`Redact([x])`, ``, `null`, ``},
		{`Redact([m])`, `{"m":["a","b"]}`, `["a","b"]`, ``},
	})
}

func TestCalls(t *testing.T) {
	for _, c := range []struct {
		src, name string
		want      bool
	}{
		{`Redact([upn])`, "Redact", true},
		{`Join(",", [a], IIF([b] = Redact([c]), "x", "y"))`, "Redact", true},
		{`Join(",", [Redact], "Redact")`, "Redact", false},
		{`AssertiveAppRoleAssignmentsComplex([appRoleAssignments])`, "AssertiveAppRoleAssignmentsComplex", true},
		{`AppRoleAssignmentsComplex([appRoleAssignments])`, "AssertiveAppRoleAssignmentsComplex", false},
	} {
		e, err := Parse(c.src)
		if err != nil {
			t.Fatal(err)
		}
		if got := e.Calls(c.name); got != c.want {
			t.Errorf("Parse(%s).Calls(%s) = %v, want %v", c.src, c.name, got, c.want)
		}
	}
}
