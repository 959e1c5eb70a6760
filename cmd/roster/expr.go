package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/roster-scim/roster/expr"
)

const exprUsage = `Usage: roster expr <command> [flags]

Commands:
  eval    evaluate an attribute-mapping expression against one object's attributes

Run "roster expr eval --help" for its flags; docs/expressions.md explains the language.
`

const exprEvalSynopsis = `roster expr eval 'EXPRESSION' [flags]

Evaluate an attribute-mapping expression (Entra ID syntax, see
docs/expressions.md) and print one JSON object on stdout:

  {"value": "text" | 42 | true | [...] | null}              exit 0
  {"value": null, "flow": "dropped" | "object_skipped"}     exit 0
  {"error": "col 17: expected ...", "position": 17}         exit 1

"flow" reports IgnoreFlowIfNullOrEmpty and the IgnoreAttributeFlow and
IgnoreObjectFlow identifiers: the engine would leave the target attribute
untouched ("dropped") or skip the object this cycle ("object_skipped").
"position" is the 1-based character of the expression where a parse or
evaluation error is; it is 0 when the error is in the flags' data, such as
--attrs-json that is not a JSON object.

Attributes come from --attrs-json, a JSON object whose values may be strings,
numbers (every digit kept), booleans, arrays (multi-valued attributes) or
null, and from --attr NAME=VALUE, a string attribute that may repeat and
overrides a key of --attrs-json. An expression starting with "-" goes after
"--".`

// exprFlow names the flow signals in the command's output.
var exprFlow = []struct {
	err  error
	name string
}{
	{expr.ErrIgnoreAttributeFlow, "dropped"},
	{expr.ErrIgnoreObjectFlow, "object_skipped"},
}

// exprError is a parse or evaluation error: printed as {"error", "position"}
// on stdout, exit 1.
type exprError struct {
	pos int
	err error
}

func (e *exprError) Error() string { return e.err.Error() }

// runExpr runs `roster expr <command>`.
func runExpr(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, exprUsage)
		return &usageError{message: "roster expr needs a command", hint: `run "roster expr --help"`}
	}
	switch args[0] {
	case "--help", "-help", "-h", "help":
		fmt.Fprint(stdout, exprUsage)
		return nil
	case "eval":
		err := runExprEval(args[1:], stdout, stderr)
		var xe *exprError
		var de *dataError
		switch {
		case errors.As(err, &xe):
			return printJSONError(stdout, err, xe.pos)
		case errors.As(err, &de):
			return printJSONError(stdout, err, 0)
		}
		return err
	}
	return &usageError{message: fmt.Sprintf("unknown command %q for roster expr", args[0]), hint: `run "roster expr --help" for its commands`}
}

// printJSONError prints {"error", "position"} and returns err, so that the
// command exits 1 after its JSON answer.
func printJSONError(stdout io.Writer, err error, pos int) error {
	if jerr := encodeJSON(stdout, struct {
		Error    string `json:"error"`
		Position int    `json:"position"`
	}{err.Error(), pos}); jerr != nil {
		return jerr
	}
	return err
}

func runExprEval(args []string, stdout, stderr io.Writer) error {
	var attrsJSON, now string
	attrs := attrFlags{}
	taken := attrFlags{}
	fs := newFlagSet("expr eval", exprEvalSynopsis, stderr)
	fs.StringVar(&attrsJSON, "attrs-json", "", `the object's attributes as a JSON object, {"NAME": value, …}`)
	fs.Var(attrs, "attr", "a string attribute NAME=VALUE; repeat for more; overrides --attrs-json")
	fs.StringVar(&now, "now", "", "the clock of Now() and date functions, RFC 3339 (default: the current time)")
	fs.Var(takenFlag(taken), "taken", "a value SelectUniqueValue must treat as already taken in the target; repeat for more")
	src, err := parseExprFlags(fs, args, stderr)
	if err != nil {
		return err
	}
	env := expr.Env{IsTaken: func(c string) (bool, error) { _, ok := taken[c]; return ok, nil }}
	if now != "" {
		t, err := time.Parse(time.RFC3339Nano, now)
		if err != nil {
			return &usageError{message: fmt.Sprintf("--now %q is not an RFC 3339 time", now), hint: "--now 2026-11-25T09:30:00Z"}
		}
		env.Now = func() time.Time { return t }
	}
	if env.Attrs, err = decodeAttrs(attrsJSON); err != nil {
		return &dataError{err}
	}
	for k, v := range attrs {
		env.Attrs[k] = v
	}
	e, err := expr.Parse(src)
	if err != nil {
		var se *expr.SyntaxError
		errors.As(err, &se)
		return &exprError{pos: se.Pos, err: err}
	}
	v, err := e.Eval(env)
	out := map[string]any{"value": v.JSON()}
	if err != nil {
		flowed := false
		for _, f := range exprFlow {
			if errors.Is(err, f.err) {
				out["value"], out["flow"], flowed = nil, f.name, true
			}
		}
		if !flowed {
			var ee *expr.EvalError
			errors.As(err, &ee)
			return &exprError{pos: ee.Pos, err: err}
		}
	}
	return encodeJSON(stdout, out)
}

// encodeJSON writes v as one line of JSON, leaving <, > and & as they are:
// the output is read by people and programs, never embedded in HTML.
func encodeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// takenFlag collects --taken values; it reuses attrFlags' map with empty
// values.
type takenFlag attrFlags

func (t takenFlag) String() string     { return strings.Join(mapKeys(t), ",") }
func (t takenFlag) Set(s string) error { t[s] = ""; return nil }

func mapKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	return keys
}

// parseExprFlags parses the flags and returns the one positional
// argument, the expression.
func parseExprFlags(fs *flag.FlagSet, args []string, stderr io.Writer) (string, error) {
	src, err := parsePositional(fs, args, stderr)
	if err != nil {
		return "", err
	}
	switch len(src) {
	case 0:
		return "", &usageError{message: "expr eval needs the expression as its argument", hint: `roster expr eval 'Join(" ", [givenName], [surname])' --attr givenName=Ada --attr surname=Lovelace`}
	case 1:
		return src[0], nil
	}
	return "", &usageError{message: fmt.Sprintf("expr eval takes one expression, got %d arguments (quote the expression)", len(src)), hint: `roster expr eval 'Coalesce([mail], [userPrincipalName])'`}
}
