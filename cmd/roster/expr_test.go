package main

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// exprEval runs `roster expr eval` and decodes its one line of JSON output.
func exprEval(t *testing.T, args ...string) (code int, out map[string]any) {
	t.Helper()
	code, stdout, stderr := run(t, append([]string{"expr", "eval"}, args...)...)
	if code == 2 {
		return code, nil
	}
	if strings.Count(stdout, "\n") != 1 {
		t.Fatalf("expr eval %q: stdout is not one line of JSON: %q (stderr %q)", args, stdout, stderr)
	}
	d := json.NewDecoder(strings.NewReader(stdout))
	d.UseNumber()
	if err := d.Decode(&out); err != nil {
		t.Fatalf("expr eval %q: %v in %q", args, err, stdout)
	}
	return code, out
}

func TestExprEval(t *testing.T) {
	tests := []struct {
		name string
		args []string
		code int
		want map[string]any // the whole output object; nil for usage errors
	}{
		{"string", []string{`Join(" ", [givenName], [surname])`, "--attr", "givenName=Ada", "--attr", "surname=Lovelace"}, 0,
			map[string]any{"value": "Ada Lovelace"}},
		{"flags before the expression", []string{"--attr", "mail=a@b.c", `Coalesce([mail], [userPrincipalName])`}, 0,
			map[string]any{"value": "a@b.c"}},
		{"attr overrides attrs-json", []string{`[a]`, "--attrs-json", `{"a": "json"}`, "--attr", "a=flag"}, 0,
			map[string]any{"value": "flag"}},
		{"number keeps every digit", []string{`NumFromDate("2025-12-31T23:59:59-08:00")`}, 0,
			map[string]any{"value": json.Number("134117279990000000")}},
		{"boolean", []string{`CBool([a] = "x")`, "--attr", "a=x"}, 0, map[string]any{"value": true}},
		{"multi-valued input and output", []string{`RemoveDuplicates([p])`, "--attrs-json", `{"p": ["a", "b", "a"]}`}, 0,
			map[string]any{"value": []any{"a", "b"}}},
		{"null", []string{`[missing]`}, 0, map[string]any{"value": nil}},
		{"leading zeros", []string{`Coalesce(007)`}, 0, map[string]any{"value": json.Number("7")}},
		{"now", []string{`FormatDateTime(Now(), , "M/d/yyyy h:mm:ss tt", "yyyy-MM-dd")`, "--now", "2026-11-25T09:30:00Z"}, 0,
			map[string]any{"value": "2026-11-25"}},
		{"taken values", []string{`SelectUniqueValue([a], Join("", [a], "2"))`, "--attr", "a=jo", "--taken", "jo"}, 0,
			map[string]any{"value": "jo2"}},
		{"attribute flow dropped", []string{`IgnoreFlowIfNullOrEmpty([x])`}, 0, map[string]any{"value": nil, "flow": "dropped"}},
		{"object flow skipped", []string{`IIF([a] = "x", IgnoreObjectFlow, [a])`, "--attr", "a=x"}, 0,
			map[string]any{"value": nil, "flow": "object_skipped"}},
		{"expression after --", []string{"--", "-5"}, 0, map[string]any{"value": json.Number("-5")}},
		{"syntax error", []string{`Join(" " [a])`}, 1,
			map[string]any{"error": "col 10: expected ',' or ')' after argument 1 of Join", "position": json.Number("10")}},
		{"unknown function", []string{`Concat([a], [b])`}, 1,
			map[string]any{"error": `col 1: unknown function Concat`, "position": json.Number("1")}},
		{"evaluation error", []string{`Left([a], Mid([a], "x", 2))`, "--attr", "a=hello"}, 1,
			map[string]any{"error": `col 11: Mid: start: "x" is not an integer`, "position": json.Number("11")}},
		{"attrs-json not an object", []string{`[a]`, "--attrs-json", `["a"]`}, 1,
			map[string]any{"error": `--attrs-json: want a JSON object, {"NAME": value, …}`, "position": json.Number("0")}},
		{"two expressions", []string{`[a]`, `[b]`}, 2, nil},
		{"no expression", []string{"--attr", "a=b"}, 2, nil},
		{"bad now", []string{`Now()`, "--now", "yesterday"}, 2, nil},
		{"bad attr", []string{`[a]`, "--attr", "novalue"}, 2, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out := exprEval(t, tt.args...)
			if code != tt.code || !reflect.DeepEqual(out, tt.want) {
				t.Errorf("exit %d, %#v; want exit %d, %#v", code, out, tt.code, tt.want)
			}
		})
	}
}

// TestExprEvalRaw checks the output's exact text: one line, no HTML
// escaping of <, > and &.
func TestExprEvalRaw(t *testing.T) {
	code, out, _ := run(t, "expr", "eval", `Join("&", "<a>", [b])`, "--attr", "b=c")
	if want := `{"value":"<a>&c"}` + "\n"; code != 0 || out != want {
		t.Errorf("exit %d, %q; want 0, %q", code, out, want)
	}
}

func TestExprUsage(t *testing.T) {
	if code, _, errs := run(t, "expr", "eval", "--help"); code != 0 || !strings.Contains(errs, "-attrs-json") {
		t.Errorf("expr eval --help: exit %d, stderr %q", code, errs)
	}
	if code, _, errs := run(t, "expr"); code != 2 || !strings.Contains(errs, "eval") {
		t.Errorf("expr without a command: exit %d, stderr %q", code, errs)
	}
	if code, _, errs := run(t, "expr", "frob"); code != 2 || !strings.Contains(errs, `unknown command "frob"`) {
		t.Errorf("expr frob: exit %d, stderr %q", code, errs)
	}
}
