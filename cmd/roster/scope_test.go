package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/roster-scim/roster/expr/scope"
)

// salesOrBigID is docs/scoping.md's example: (Sales AND US) OR
// (employeeId ≥ 1000000 AND a job title).
const salesOrBigID = `{"filters": [
  {"clauses": [
    {"attribute": "department", "operator": "EQUALS", "value": "Sales"},
    {"attribute": "country", "operator": "EQUALS", "value": "US"}]},
  {"clauses": [
    {"attribute": "employeeId", "operator": "Greater_Than_OR_EQUALS", "value": "1000000"},
    {"attribute": "jobTitle", "operator": "IS NOT NULL"}]}]}`

func writeFilter(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "filter.json")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// scopeEval runs `roster scope eval` and decodes its result; it fails the
// test unless the command exits 0 with exactly one JSON object on stdout.
func scopeEval(t *testing.T, args ...string) scope.Result {
	t.Helper()
	code, out, errs := run(t, append([]string{"scope", "eval"}, args...)...)
	if code != 0 {
		t.Fatalf("scope eval %v: exit %d\nstdout: %s\nstderr: %s", args, code, out, errs)
	}
	if strings.Count(out, "\n") != 1 || !strings.HasSuffix(out, "\n") {
		t.Fatalf("stdout is not one line of JSON: %q", out)
	}
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	var r scope.Result
	if err := dec.Decode(&r); err != nil {
		t.Fatalf("decode %s: %v", out, err)
	}
	return r
}

// clause is the part of a ClauseResult a test checks.
type clause struct {
	filter, clause  int
	match, decisive bool
	reason          string
}

func checkClauses(t *testing.T, r scope.Result, want []clause) {
	t.Helper()
	if len(r.Clauses) != len(want) {
		t.Fatalf("%d clauses, want %d: %+v", len(r.Clauses), len(want), r.Clauses)
	}
	for i, w := range want {
		c := r.Clauses[i]
		got := clause{c.Filter, c.Clause, c.Match, c.Decisive, c.Reason}
		if got != w {
			t.Errorf("clause %d = %+v, want %+v", i, got, w)
		}
	}
}

func TestScopeEvalInScope(t *testing.T) {
	f := writeFilter(t, salesOrBigID)
	// Filter 0 fails on country; filter 1 matches and decides.
	r := scopeEval(t, "--filter", f, "--attrs-json", `{"department": "Sales", "country": "DE", "employeeId": "1000000", "jobTitle": "Clerk"}`)
	if !r.InScope {
		t.Fatalf("in_scope = false, want true: %+v", r)
	}
	checkClauses(t, r, []clause{
		{0, 0, true, false, "matched"},
		{0, 1, false, false, "did not match"},
		{1, 0, true, true, "matched"},
		{1, 1, true, true, "attribute is a string"},
	})
	if c := r.Clauses[2]; c.Attribute != "employeeId" || c.Operator != scope.OpGreaterThanOrEquals || c.Value != "1000000" {
		t.Errorf("clause 2 does not name its test: %+v", c)
	}
}

func TestScopeEvalOutOfScope(t *testing.T) {
	f := writeFilter(t, salesOrBigID)
	r := scopeEval(t, "--filter", f, "--attrs-json", `{"department": "HR", "country": "US", "employeeId": 999999}`)
	if r.InScope {
		t.Fatalf("in_scope = true, want false: %+v", r)
	}
	// The first failing clause of each filter decided.
	checkClauses(t, r, []clause{
		{0, 0, false, true, "did not match"},
		{0, 1, true, false, "matched"},
		{1, 0, false, true, "did not match"},
		{1, 1, false, false, "attribute is missing"},
	})
}

// TestScopeEvalOutput pins the exact bytes: the field names and order of
// issue 5 and docs/scoping.md.
func TestScopeEvalOutput(t *testing.T) {
	f := writeFilter(t, `{"filters":[{"clauses":[{"attribute":"department","operator":"equals","value":"Sales"}]}]}`)
	code, out, errs := run(t, "scope", "eval", "--filter", f, "--attr", "department=Sales")
	want := `{"in_scope":true,"clauses":[{"filter":0,"clause":0,"attribute":"department","operator":"EQUALS","value":"Sales","match":true,"decisive":true,"reason":"matched"}]}` + "\n"
	if code != 0 || out != want || errs != "" {
		t.Fatalf("exit %d\nstdout: %s\nwant:   %s\nstderr: %s", code, out, want, errs)
	}
	// No filters: everything is in scope.
	f = writeFilter(t, `{"filters": []}`)
	if _, out, _ := run(t, "scope", "eval", "--filter", f); out != `{"in_scope":true,"clauses":[]}`+"\n" {
		t.Fatalf("empty set: %s", out)
	}
}

func TestScopeEvalAttrMerge(t *testing.T) {
	f := writeFilter(t, salesOrBigID)
	// --attr overrides the key of --attrs-json and adds to the others.
	r := scopeEval(t, "--filter", f, "--attrs-json", `{"department": "HR", "country": "US"}`, "--attr", "department=Sales")
	if !r.InScope {
		t.Fatalf("--attr did not override --attrs-json: %+v", r)
	}
	// Order on the command line does not matter, and --attr repeats.
	r = scopeEval(t, "--attr", "department=Sales", "--attr", "country=US", "--filter", f, "--attrs-json", `{"department": "HR"}`)
	if !r.InScope {
		t.Fatalf("--attr before --attrs-json lost: %+v", r)
	}
	// --attr values are strings, and may contain '=' and be empty.
	g := writeFilter(t, `{"filters":[{"clauses":[{"attribute":"a","operator":"EQUALS","value":"x=y"},{"attribute":"b","operator":"IS NULL"}]}]}`)
	if r := scopeEval(t, "--filter", g, "--attr", "a=x=y", "--attr", "b="); !r.InScope {
		t.Fatalf("a=x=y, b= : %+v", r)
	}
	// A string "true" from --attr satisfies IS TRUE; --attrs-json carries real types.
	h := writeFilter(t, `{"filters":[{"clauses":[{"attribute":"on","operator":"IS TRUE"}]}]}`)
	if r := scopeEval(t, "--filter", h, "--attr", "on=TRUE"); !r.InScope {
		t.Fatalf("--attr on=TRUE: %+v", r)
	}
	if r := scopeEval(t, "--filter", h, "--attrs-json", `{"on": false}`); r.InScope {
		t.Fatalf("on=false in scope: %+v", r)
	}
}

func TestScopeEvalNumbers(t *testing.T) {
	f := writeFilter(t, `{"filters":[{"clauses":[{"attribute":"employeeId","operator":"Greater_Than","value":"9007199254740992"}]}]}`)
	// 2^53+1 rounds to 2^53 as a float64; decoded with UseNumber it stays exact.
	if r := scopeEval(t, "--filter", f, "--attrs-json", `{"employeeId": 9007199254740993}`); !r.InScope {
		t.Fatalf("2^53+1 > 2^53 not in scope: %+v", r)
	}
	if r := scopeEval(t, "--filter", f, "--attrs-json", `{"employeeId": 9007199254740992}`); r.InScope {
		t.Fatalf("2^53 > 2^53 in scope: %+v", r)
	}
	g := writeFilter(t, `{"filters":[{"clauses":[{"attribute":"n","operator":"Greater_Than","value":"5"}]}]}`)
	for _, tc := range []struct {
		attrs  string
		in     bool
		reason string
	}{
		{`{"n": 6}`, true, "matched"},
		{`{"n": 6.0}`, true, "matched"},
		{`{"n": 5}`, false, "did not match"},
		{`{"n": 5.5}`, false, "type mismatch: attribute is a number, not an integer"},
		{`{"n": [7]}`, true, "matched"},
		{`{"n": 1e400}`, false, "type mismatch: attribute is a number, not an integer"},
	} {
		r := scopeEval(t, "--filter", g, "--attrs-json", tc.attrs)
		if r.InScope != tc.in || r.Clauses[0].Reason != tc.reason {
			t.Errorf("%s: in_scope %v (%s), want %v (%s)", tc.attrs, r.InScope, r.Clauses[0].Reason, tc.in, tc.reason)
		}
	}
	// --attr strings holding integers compare as integers.
	if r := scopeEval(t, "--filter", g, "--attr", "n=10"); !r.InScope {
		t.Fatalf("--attr n=10: %+v", r)
	}
}

func TestScopeEvalStdin(t *testing.T) {
	var out, errb bytes.Buffer
	err := runScope([]string{"eval", "--filter", "-", "--attr", "department=Sales", "--attr", "country=US"}, strings.NewReader(salesOrBigID), &out, &errb)
	if err != nil {
		t.Fatalf("scope eval --filter -: %v; stderr: %s", err, errb.String())
	}
	var r scope.Result
	if err := json.Unmarshal(out.Bytes(), &r); err != nil || !r.InScope {
		t.Fatalf("stdout %s: %v", out.String(), err)
	}
	out.Reset()
	err = runScope([]string{"eval", "--filter", "-"}, strings.NewReader(`{"filters": [`), &out, &errb)
	var de *dataError
	if !errors.As(err, &de) || !strings.Contains(out.String(), `"error":"scope: decode filter set`) {
		t.Fatalf("bad stdin: err %v, stdout %s", err, out.String())
	}
}

func TestScopeEvalDataErrors(t *testing.T) {
	good := writeFilter(t, salesOrBigID)
	tests := []struct {
		name string
		args []string
		want string // in the "error" member
	}{
		{"missing file", []string{"--filter", filepath.Join(t.TempDir(), "nope.json")}, "no such file"},
		{"not JSON", []string{"--filter", writeFilter(t, `filters: []`)}, "scope: decode filter set"},
		{"unknown field", []string{"--filter", writeFilter(t, `{"filter": []}`)}, `unknown field "filter"`},
		{"trailing data", []string{"--filter", writeFilter(t, `{"filters": []} {}`)}, "unexpected data after the JSON object"},
		{"unknown operator", []string{"--filter", writeFilter(t, `{"filters":[{"clauses":[{"attribute":"a","operator":"LIKE","value":"x"}]}]}`)},
			`scope: filter 0 clause 0: unknown operator "LIKE"`},
		{"non-integer Greater_Than", []string{"--filter", writeFilter(t, `{"filters":[{"clauses":[{"attribute":"a","operator":"IS TRUE"}]},{"clauses":[{"attribute":"n","operator":"Greater_Than","value":"1.5"}]}]}`)},
			`scope: filter 1 clause 0: operator Greater_Than needs an integer value, got "1.5"`},
		{"bad regex", []string{"--filter", writeFilter(t, `{"filters":[{"clauses":[{"attribute":"a","operator":"REGEX MATCH","value":"(a)\\1"}]}]}`)},
			"bad regular expression"},
		{"filter without clauses", []string{"--filter", writeFilter(t, `{"filters":[{"clauses":[]}]}`)}, "scope: filter 0: has no clauses"},
		{"attrs not JSON", []string{"--filter", good, "--attrs-json", `{department: "Sales"}`}, "--attrs-json: invalid character"},
		{"attrs an array", []string{"--filter", good, "--attrs-json", `[{"department": "Sales"}]`}, "--attrs-json: want a JSON object"},
		{"attrs null", []string{"--filter", good, "--attrs-json", `null`}, "--attrs-json: want a JSON object"},
		{"attrs truncated", []string{"--filter", good, "--attrs-json", `{"department": "Sales"`}, "--attrs-json: unexpected EOF"},
		{"attrs trailing data", []string{"--filter", good, "--attrs-json", `{"department": "Sales"} x`}, "--attrs-json: unexpected data after the JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errs := run(t, append([]string{"scope", "eval"}, tt.args...)...)
			if code != 1 {
				t.Fatalf("exit %d, want 1\nstdout: %s\nstderr: %s", code, out, errs)
			}
			var got map[string]any
			if err := json.Unmarshal([]byte(out), &got); err != nil || len(got) != 1 {
				t.Fatalf("stdout is not {\"error\": …}: %q (%v)", out, err)
			}
			msg, _ := got["error"].(string)
			if !strings.Contains(msg, tt.want) {
				t.Fatalf("error %q does not contain %q", msg, tt.want)
			}
			if !strings.Contains(errs, "roster: "+msg) {
				t.Fatalf("stderr %q does not repeat the error", errs)
			}
		})
	}
}

func TestScopeUsage(t *testing.T) {
	f := writeFilter(t, salesOrBigID)
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout string // contained in stdout
		stderr string // contained in stderr
	}{
		{"no command", []string{"scope"}, 2, "", `hint: run "roster scope --help"`},
		{"unknown command", []string{"scope", "evaluate"}, 2, "", `unknown command "evaluate" for roster scope`},
		{"scope help", []string{"scope", "--help"}, 0, "eval    evaluate", ""},
		{"help scope", []string{"help", "scope"}, 0, "eval    evaluate", ""},
		{"eval help", []string{"scope", "eval", "--help"}, 0, "", "-attrs-json"},
		{"eval help lists attr", []string{"scope", "eval", "-h"}, 0, "", "-attr value"},
		{"missing --filter", []string{"scope", "eval", "--attrs-json", `{}`}, 2, "", "scope eval needs --filter"},
		{"missing --filter hint", []string{"scope", "eval"}, 2, "", "hint: roster scope eval --filter filter.json"},
		{"unknown flag", []string{"scope", "eval", "--filters", f}, 2, "", `hint: run "roster scope eval --help" for the flags`},
		{"attr without =", []string{"scope", "eval", "--filter", f, "--attr", "department"}, 2, "", `want NAME=VALUE, got "department"`},
		{"attr without name", []string{"scope", "eval", "--filter", f, "--attr", "=Sales"}, 2, "", "want NAME=VALUE"},
		{"stray argument", []string{"scope", "eval", "--filter", f, "extra"}, 2, "", `unexpected argument "extra"`},
		{"top usage lists scope", []string{"--help"}, 0, "scope   evaluate a scoping filter", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errs := run(t, tt.args...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tt.code, out, errs)
			}
			if !strings.Contains(out, tt.stdout) || !strings.Contains(errs, tt.stderr) {
				t.Fatalf("stdout %q / stderr %q, want them to contain %q / %q", out, errs, tt.stdout, tt.stderr)
			}
			if tt.code == 2 && out != "" {
				t.Fatalf("a usage error wrote to stdout: %q", out)
			}
		})
	}
}
