package scope

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// attrs decodes a JSON object the way the CLI will, keeping numbers exact.
func attrs(t testing.TB, s string) map[string]any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("attrs %s: %v", s, err)
	}
	return m
}

// one builds a validated set with a single clause.
func one(t testing.TB, attr string, op Operator, value string) *Set {
	t.Helper()
	s := &Set{Filters: []Filter{{Clauses: []Clause{{Attribute: attr, Operator: op, Value: value}}}}}
	if err := s.Validate(); err != nil {
		t.Fatalf("validate: %v", err)
	}
	return s
}

func TestOperators(t *testing.T) {
	tests := []struct {
		op    Operator
		value string
		attrs string // the attribute under test is "a"
		want  bool
		why   string // the reason for a choice the reference leaves open
	}{
		// EQUALS: exact and case-sensitive (SF).
		{OpEquals, "Sales", `{"a":"Sales"}`, true, ""},
		{OpEquals, "Sales", `{"a":"sales"}`, false, "SF: case sensitive"},
		{OpEquals, "Sales", `{"a":"Sales "}`, false, "exact: no trimming"},
		{OpEquals, "Sales", `{}`, false, "SF: null/empty returns false"},
		{OpEquals, "Sales", `{"a":null}`, false, ""},
		{OpEquals, "Sales", `{"a":""}`, false, ""},
		{OpEquals, "42", `{"a":42}`, true, "GFO lists EQUALS for Integer attributes: numbers compare in decimal"},
		{OpEquals, "42", `{"a":42.0}`, true, ""},
		{OpEquals, "1.5", `{"a":1.5}`, true, ""},
		{OpEquals, "true", `{"a":true}`, false, "type mismatch: booleans are for IS TRUE / IS FALSE"},
		{OpEquals, "Sales", `{"a":{"x":"Sales"}}`, false, "complex attributes are not supported"},
		{OpEquals, "Sales", `{"a":["Sales"]}`, true, "a one-element list is its element"},
		{OpEquals, "Sales", `{"a":["Sales","HR"]}`, false, "SF: filtering is not supported for multi-valued attributes, so no match"},
		{OpEquals, "Sales", `{"a":[]}`, false, "an empty list is empty"},
		// NOT EQUALS: case-sensitive; false on null although "not equal" (SF IMPORTANT box).
		{OpNotEquals, "Sales", `{"a":"HR"}`, true, ""},
		{OpNotEquals, "Sales", `{"a":"sales"}`, true, "case sensitive"},
		{OpNotEquals, "Sales", `{"a":"Sales"}`, false, ""},
		{OpNotEquals, "Sales", `{}`, false, "SF: scoping filters return false if the value is null / empty"},
		{OpNotEquals, "Sales", `{"a":null}`, false, ""},
		{OpNotEquals, "Sales", `{"a":""}`, false, ""},
		{OpNotEquals, "Sales", `{"a":["HR","IT"]}`, false, "multi-valued: unsupported, never matches"},
		{OpNotEquals, "Sales", `{"a":false}`, false, "type mismatch never matches"},
		// IS TRUE / IS FALSE: "contains Boolean true/false".
		{OpIsTrue, "", `{"a":true}`, true, ""},
		{OpIsTrue, "", `{"a":false}`, false, ""},
		{OpIsTrue, "", `{"a":"True"}`, true, "strings parse as .NET Boolean.Parse does: HR sources send flags as text"},
		{OpIsTrue, "", `{"a":"yes"}`, false, "not a boolean"},
		{OpIsTrue, "", `{"a":1}`, false, "numbers are not booleans"},
		{OpIsTrue, "", `{}`, false, "SF: null returns false"},
		{OpIsTrue, "", `{"a":[true]}`, true, ""},
		{OpIsTrue, "", `{"a":[true,true]}`, false, "multi-valued"},
		{OpIsFalse, "", `{"a":false}`, true, ""},
		{OpIsFalse, "", `{"a":true}`, false, ""},
		{OpIsFalse, "", `{"a":"FALSE"}`, true, ""},
		{OpIsFalse, "", `{}`, false, "SF: a missing attribute is not 'Boolean false'"},
		{OpIsFalse, "", `{"a":null}`, false, ""},
		// IS NULL / IS NOT NULL: "is empty" / "isn't empty". They are the exception
		// to "null returns false", or IS NULL could never match.
		{OpIsNull, "", `{}`, true, "missing counts as null"},
		{OpIsNull, "", `{"a":null}`, true, ""},
		{OpIsNull, "", `{"a":""}`, true, "SF: 'is empty'"},
		{OpIsNull, "", `{"a":[]}`, true, ""},
		{OpIsNull, "", `{"a":[null]}`, true, ""},
		{OpIsNull, "", `{"a":" "}`, false, "whitespace is a value"},
		{OpIsNull, "", `{"a":false}`, false, ""},
		{OpIsNull, "", `{"a":0}`, false, ""},
		{OpIsNull, "", `{"a":["x","y"]}`, false, "a multi-valued attribute with values is not empty"},
		{OpIsNotNull, "", `{"a":"x"}`, true, ""},
		{OpIsNotNull, "", `{"a":false}`, true, ""},
		{OpIsNotNull, "", `{"a":["x","y"]}`, true, ""},
		{OpIsNotNull, "", `{"a":{"b":1}}`, true, ""},
		{OpIsNotNull, "", `{}`, false, ""},
		{OpIsNotNull, "", `{"a":""}`, false, "SF example: jobTitle 'not null/empty'"},
		{OpIsNotNull, "", `{"a":[]}`, false, ""},
		// REGEX MATCH: RE2, case-sensitive, whole value (see compileAnchored).
		{OpRegexMatch, `.*\@domain.com`, `{"a":"ann@domain.com"}`, true, "SF example"},
		{OpRegexMatch, `.*\@domain.com`, `{"a":"ann@DOMAIN.com"}`, false, "case sensitive"},
		{OpRegexMatch, `([1-9][0-9])`, `{"a":"42"}`, true, "SF: matches 10-99"},
		{OpRegexMatch, `([1-9][0-9])`, `{"a":"100"}`, false, "SF says 10-99, so the whole value must match"},
		{OpRegexMatch, `([1-9][0-9])`, `{"a":42}`, true, "numbers match in decimal"},
		{OpRegexMatch, `(1[0-9][0-9][0-9][0-9][0-9][0-9])`, `{"a":"1500000"}`, true, "SF example"},
		{OpRegexMatch, `(1[0-9][0-9][0-9][0-9][0-9][0-9])`, `{"a":"21500000"}`, false, ""},
		{OpRegexMatch, `(?i)sales`, `{"a":"SALES"}`, true, "case-insensitivity is opt-in with (?i), as in .NET"},
		{OpRegexMatch, `.*`, `{}`, false, "null returns false even for a pattern matching empty"},
		{OpRegexMatch, `.*`, `{"a":""}`, false, ""},
		{OpRegexMatch, `.*`, `{"a":true}`, false, "type mismatch"},
		{OpRegexMatch, `a|b`, `{"a":"b"}`, true, "alternation stays inside the anchors"},
		// NOT REGEX MATCH: SF says explicitly it returns false on null / empty.
		{OpNotRegexMatch, `.*\@domain.com`, `{"a":"ann@other.com"}`, true, ""},
		{OpNotRegexMatch, `.*\@domain.com`, `{"a":"ann@domain.com"}`, false, ""},
		{OpNotRegexMatch, `.*\@domain.com`, `{}`, false, "SF: returns false if the attribute is null / empty"},
		{OpNotRegexMatch, `.*\@domain.com`, `{"a":""}`, false, ""},
		{OpNotRegexMatch, `x`, `{"a":["y","z"]}`, false, "multi-valued"},
		// Greater_Than and Greater_Than_OR_EQUALS: integers only (SF).
		{OpGreaterThan, "1000000", `{"a":1000001}`, true, ""},
		{OpGreaterThan, "1000000", `{"a":1000000}`, false, ""},
		{OpGreaterThan, "1000000", `{"a":"1000001"}`, true, "SF's own example compares employeeId, a string"},
		{OpGreaterThan, "9", `{"a":"10"}`, true, "numeric, not lexical"},
		{OpGreaterThan, "-5", `{"a":-4}`, true, "signed integers are allowed"},
		{OpGreaterThan, "1", `{"a":"1.5"}`, false, "SF: the attribute must be an integer"},
		{OpGreaterThan, "1", `{"a":1.5}`, false, "SF: the attribute must be an integer"},
		{OpGreaterThan, "1", `{"a":"2 "}`, false, "not an integer"},
		{OpGreaterThan, "1", `{"a":"abc"}`, false, ""},
		{OpGreaterThan, "1", `{"a":true}`, false, ""},
		{OpGreaterThan, "1", `{"a":99999999999999999999}`, false, "beyond int64: not an integer we can compare"},
		{OpGreaterThan, "1", `{}`, false, "null returns false"},
		{OpGreaterThan, "1", `{"a":[5]}`, true, ""},
		{OpGreaterThan, "1", `{"a":[5,6]}`, false, "multi-valued"},
		{OpGreaterThanOrEquals, "2000000", `{"a":2000000}`, true, ""},
		{OpGreaterThanOrEquals, "2000000", `{"a":1999999}`, false, ""},
		{OpGreaterThanOrEquals, "0", `{"a":"0"}`, true, ""},
		{OpGreaterThanOrEquals, "0", `{"a":2e3}`, true, "an integral JSON number in exponent form is an integer"},
		{OpGreaterThanOrEquals, "0", `{"a":null}`, false, ""},
		// Includes: .NET String.Contains, case-sensitive.
		{OpIncludes, "Eng", `{"a":"Engineering"}`, true, ""},
		{OpIncludes, "eng", `{"a":"Engineering"}`, false, "case sensitive"},
		{OpIncludes, "neer", `{"a":"Engineering"}`, true, ""},
		{OpIncludes, "Eng", `{}`, false, ""},
		{OpIncludes, "2", `{"a":123}`, true, "numbers compare in decimal"},
		// ENDS_WITH: case-sensitive like every string operator in SF.
		{OpEndsWith, "@contoso.com", `{"a":"ann@contoso.com"}`, true, ""},
		{OpEndsWith, "@contoso.com", `{"a":"ann@CONTOSO.COM"}`, false, "case sensitive"},
		{OpEndsWith, "@contoso.com", `{"a":"ann@contoso.com.evil"}`, false, ""},
		{OpEndsWith, "@contoso.com", `{"a":null}`, false, ""},
		// & and !&: SF's wording, "the evaluated attribute exists in the input
		// string value", i.e. the attribute's value is a substring of the clause
		// value. A bitwise reading is only guessed at in a GitHub thread (ISS).
		{OpContainedIn, "Sales,Marketing,HR", `{"a":"Sales"}`, true, "SF wording: attribute exists in the input value"},
		{OpContainedIn, "Sales,Marketing,HR", `{"a":"IT"}`, false, ""},
		{OpContainedIn, "Sales,Marketing,HR", `{"a":"sales"}`, false, "case sensitive like the other string operators"},
		{OpContainedIn, "1,2,3", `{"a":2}`, true, ""},
		{OpContainedIn, "Sales", `{}`, false, "null returns false"},
		{OpContainedIn, "Sales", `{"a":""}`, false, "the empty string is in every string, but empty returns false"},
		{OpNotContainedIn, "Sales,Marketing,HR", `{"a":"IT"}`, true, ""},
		{OpNotContainedIn, "Sales,Marketing,HR", `{"a":"Sales"}`, false, ""},
		{OpNotContainedIn, "Sales", `{}`, false, "SF: null returns false, although 'does not exist' would read true"},
		{OpNotContainedIn, "Sales", `{"a":["IT","HR"]}`, false, "multi-valued"},
	}
	for _, tt := range tests {
		name := string(tt.op) + " " + tt.value + " " + tt.attrs
		t.Run(name, func(t *testing.T) {
			r := Evaluate(one(t, "a", tt.op, tt.value), attrs(t, tt.attrs))
			if r.InScope != tt.want || r.Clauses[0].Match != tt.want {
				t.Errorf("got %v (%s), want %v; %s", r.InScope, r.Clauses[0].Reason, tt.want, tt.why)
			}
		})
	}
}

// TestEveryOperatorTested keeps the table above complete.
func TestEveryOperatorTested(t *testing.T) {
	if len(Operators) != 14 {
		t.Fatalf("%d operators; update the table and docs/scoping.md", len(Operators))
	}
	for _, op := range Operators {
		if got, ok := ParseOperator(string(op)); !ok || got != op {
			t.Errorf("ParseOperator(%q) = %q, %v", op, got, ok)
		}
	}
}

func TestNativeGoValues(t *testing.T) {
	s := one(t, "n", OpGreaterThan, "3")
	for _, v := range []any{4, int64(4), int32(4), uint(4), uint64(4), float32(4), 4.0, json.Number("4")} {
		if r := Evaluate(s, map[string]any{"n": v}); !r.InScope {
			t.Errorf("%T 4 > 3 = false: %s", v, r.Clauses[0].Reason)
		}
	}
	if r := Evaluate(one(t, "d", OpEquals, "x"), map[string]any{"d": []string{"x"}}); !r.InScope {
		t.Errorf("[]string{x} EQUALS x = false")
	}
	if r := Evaluate(one(t, "d", OpIsNull, ""), map[string]any{"d": []string{}}); !r.InScope {
		t.Errorf("[]string{} IS NULL = false")
	}
}

func TestAttributeNamesAreCaseSensitive(t *testing.T) {
	if Evaluate(one(t, "department", OpEquals, "Sales"), attrs(t, `{"Department":"Sales"}`)).InScope {
		t.Error("Department matched department")
	}
}

func TestAndOr(t *testing.T) {
	// Filter 0: department = Sales AND country = US.
	// Filter 1: employeeId >= 1000000 AND jobTitle IS NOT NULL.
	set, err := Parse([]byte(`{"filters":[
		{"clauses":[
			{"attribute":"department","operator":"EQUALS","value":"Sales"},
			{"attribute":"country","operator":"EQUALS","value":"US"}]},
		{"clauses":[
			{"attribute":"employeeId","operator":"Greater_Than_OR_EQUALS","value":"1000000"},
			{"attribute":"jobTitle","operator":"IS NOT NULL"}]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		attrs    string
		want     bool
		decisive []int // indexes into Result.Clauses
	}{
		{`{"department":"Sales","country":"US"}`, true, []int{0, 1}},
		{`{"department":"Sales","country":"DE"}`, false, []int{1, 2}},
		{`{"department":"HR","country":"US","employeeId":"1000000","jobTitle":"Clerk"}`, true, []int{2, 3}},
		{`{"department":"Sales","country":"US","employeeId":"1000000","jobTitle":"Clerk"}`, true, []int{0, 1}},
		{`{"employeeId":"1000000","jobTitle":""}`, false, []int{0, 3}},
		{`{}`, false, []int{0, 2}},
	}
	for _, tt := range tests {
		r := Evaluate(set, attrs(t, tt.attrs))
		if r.InScope != tt.want {
			t.Errorf("%s: in scope %v, want %v", tt.attrs, r.InScope, tt.want)
		}
		var got []int
		for i, c := range r.Clauses {
			if c.Decisive {
				got = append(got, i)
			}
		}
		if !reflect.DeepEqual(got, tt.decisive) {
			t.Errorf("%s: decisive clauses %v, want %v", tt.attrs, got, tt.decisive)
		}
		if len(r.Clauses) != 4 {
			t.Errorf("%s: %d clause results, want all 4", tt.attrs, len(r.Clauses))
		}
	}
}

func TestEmptySetIsEverything(t *testing.T) {
	for _, s := range []*Set{nil, {}, {Filters: []Filter{}}} {
		r := Evaluate(s, nil)
		if !r.InScope {
			t.Error("empty set: out of scope")
		}
		b, _ := json.Marshal(r)
		if string(b) != `{"in_scope":true,"clauses":[]}` {
			t.Errorf("empty set marshals to %s", b)
		}
	}
	set, err := Parse([]byte(`{"filters":[]}`))
	if err != nil || !Evaluate(set, nil).InScope {
		t.Errorf("empty filters from JSON: %v", err)
	}
}

func TestResultJSON(t *testing.T) {
	r := Evaluate(one(t, "department", OpEquals, "Sales"), attrs(t, `{"department":"HR"}`))
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"in_scope":false,"clauses":[{"filter":0,"clause":0,"attribute":"department","operator":"EQUALS","value":"Sales","match":false,"decisive":true,"reason":"did not match"}]}`
	if string(b) != want {
		t.Errorf("got  %s\nwant %s", b, want)
	}
	if strings.Contains(string(b), "HR") {
		t.Error("the attribute's value leaked into the result")
	}
}

func TestJSONRoundTrip(t *testing.T) {
	in := `{"filters":[{"clauses":[{"attribute":"department","operator":"EQUALS","value":"Sales"},{"attribute":"accountEnabled","operator":"IS TRUE"}]},{"clauses":[{"attribute":"userPrincipalName","operator":"REGEX MATCH","value":".*\\@domain.com"}]}]}`
	set, err := Parse([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	out, err := json.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != in {
		t.Errorf("round trip\n got %s\nwant %s", out, in)
	}
	again, err := Parse(out)
	if err != nil {
		t.Fatal(err)
	}
	if !Evaluate(again, attrs(t, `{"userPrincipalName":"a@domain.com"}`)).InScope {
		t.Error("reloaded set lost its regex")
	}
}

func TestOperatorSpellings(t *testing.T) {
	set, err := Parse([]byte(`{"filters":[{"clauses":[
		{"attribute":"a","operator":"not_equals","value":"x"},
		{"attribute":"a","operator":"GREATER_THAN","value":"1"},
		{"attribute":"a","operator":"Is  Not_Null"}]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	want := []Operator{OpNotEquals, OpGreaterThan, OpIsNotNull}
	for i, c := range set.Filters[0].Clauses {
		if c.Operator != want[i] {
			t.Errorf("clause %d: %q, want canonical %q", i, c.Operator, want[i])
		}
	}
}

func TestValidationErrors(t *testing.T) {
	tests := []struct{ json, want string }{
		{`{"filters":[{"clauses":[{"attribute":"a","operator":"LIKE","value":"x"}]}]}`, `filter 0 clause 0: unknown operator "LIKE"`},
		{`{"filters":[{"clauses":[{"attribute":"a","operator":"Less_Than","value":"1"}]}]}`, `unknown operator "Less_Than"`},
		{`{"filters":[{"clauses":[{"attribute":"a","operator":"EQUALS","value":"x"}]},{"clauses":[{"attribute":"a","operator":"IS NULL"},{"attribute":"a","operator":"EQUALS"}]}]}`, `filter 1 clause 1: operator EQUALS requires a value`},
		{`{"filters":[{"clauses":[{"attribute":"a","operator":"IS TRUE","value":"false"}]}]}`, `filter 0 clause 0: operator IS TRUE takes no value`},
		{`{"filters":[{"clauses":[{"attribute":"a","operator":"REGEX MATCH","value":"(a"}]}]}`, `filter 0 clause 0: operator REGEX MATCH: bad regular expression "(a"`},
		{`{"filters":[{"clauses":[{"attribute":"a","operator":"REGEX MATCH","value":"(a)\\1"}]}]}`, `bad regular expression`},
		{`{"filters":[{"clauses":[{"attribute":"a","operator":"NOT REGEX MATCH","value":"(?=a)"}]}]}`, `bad regular expression`},
		{`{"filters":[{"clauses":[{"attribute":"a","operator":"REGEX MATCH","value":"a)|(b"}]}]}`, `bad regular expression`},
		{`{"filters":[{"clauses":[{"attribute":"a","operator":"Greater_Than","value":"1.5"}]}]}`, `filter 0 clause 0: operator Greater_Than needs an integer value, got "1.5"`},
		{`{"filters":[{"clauses":[{"attribute":"a","operator":"Greater_Than_OR_EQUALS","value":"ten"}]}]}`, `needs an integer value`},
		{`{"filters":[{"clauses":[{"attribute":" ","operator":"IS NULL"}]}]}`, `filter 0 clause 0: attribute is required`},
		{`{"filters":[{"clauses":[]}]}`, `filter 0: has no clauses`},
		{`{"filters":[{}]}`, `filter 0: has no clauses`},
		{`{"filters":[{"clauses":[{"attribute":"a","operator":"EQUALS","valeu":"x"}]}]}`, `unknown field "valeu"`},
		{`{"filters":[{"clauses":[{"attribute":"a","operator":"EQUALS","value":5}]}]}`, `decode filter set`},
		{`{"filters":[]} {}`, `unexpected data after`},
		{`[]`, `decode filter set`},
	}
	for _, tt := range tests {
		_, err := Parse([]byte(tt.json))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s\n got %v\nwant …%s…", tt.json, err, tt.want)
		}
	}
}

// TestUnvalidatedSet: a set built in Go and never validated still evaluates,
// and an invalid clause does not match rather than panicking.
func TestUnvalidatedSet(t *testing.T) {
	s := &Set{Filters: []Filter{
		{Clauses: []Clause{{Attribute: "a", Operator: "regex_match", Value: "x+"}}},
		{Clauses: []Clause{{Attribute: "a", Operator: OpRegexMatch, Value: "("}}},
		{Clauses: []Clause{{Attribute: "a", Operator: "LIKE", Value: "x"}}},
		{Clauses: []Clause{{Attribute: "a", Operator: OpGreaterThan, Value: "x"}}},
		{},
	}}
	r := Evaluate(s, map[string]any{"a": "xx"})
	if !r.InScope || !r.Clauses[0].Match {
		t.Errorf("valid unvalidated clause did not match: %+v", r.Clauses[0])
	}
	for _, c := range r.Clauses[1:] {
		if c.Match || !strings.HasPrefix(c.Reason, "invalid clause") {
			t.Errorf("clause %d: %+v", c.Filter, c)
		}
	}
}
