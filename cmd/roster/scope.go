package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/roster-scim/roster/expr/scope"
)

const scopeUsage = `Usage: roster scope <command> [flags]

Commands:
  eval    evaluate a scoping filter set against one object's attributes

Run "roster scope eval --help" for its flags; docs/scoping.md explains filters.
`

const scopeEvalSynopsis = `Evaluate a scoping filter set (JSON, see docs/scoping.md) against one object's
attributes and print one JSON object on stdout:

  {"in_scope": true|false, "clauses": [{"filter": 0, "clause": 0, "attribute": …,
   "operator": …, "value": …, "match": …, "decisive": …, "reason": …}, …]}

"decisive" marks the clauses that decided: when in scope, every clause of the
first matching filter; when out of scope, the first failing clause of each
filter. It exits 0 whether the object is in scope or not.

Attributes come from --attrs-json, a JSON object (numbers keep every digit), and
--attr NAME=VALUE, a string attribute that may repeat and overrides a key of
--attrs-json. A filter file that does not load, or --attrs-json that is not a
JSON object, prints {"error": "..."} and exits 1.`

// attrFlags collects repeated --attr NAME=VALUE flags.
type attrFlags map[string]string

func (a attrFlags) String() string {
	keys := make([]string, 0, len(a))
	for k := range a {
		keys = append(keys, k+"="+a[k])
	}
	sort.Strings(keys)
	return strings.Join(keys, ",")
}

func (a attrFlags) Set(s string) error {
	name, value, ok := strings.Cut(s, "=")
	if !ok || name == "" {
		return fmt.Errorf("want NAME=VALUE, got %q", s)
	}
	a[name] = value
	return nil
}

// dataError is invalid input data, as opposed to a command-line mistake: the
// command prints it as {"error": "..."} on stdout and exits 1.
type dataError struct{ err error }

func (e *dataError) Error() string { return e.err.Error() }
func (e *dataError) Unwrap() error { return e.err }

// runScope runs `roster scope <command>`. stdin is read for --filter -.
func runScope(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, scopeUsage)
		return &usageError{message: "roster scope needs a command", hint: `run "roster scope --help"`}
	}
	switch args[0] {
	case "--help", "-help", "-h", "help":
		fmt.Fprint(stdout, scopeUsage)
		return nil
	case "eval":
		err := runScopeEval(args[1:], stdin, stdout, stderr)
		var de *dataError
		if errors.As(err, &de) {
			if jerr := json.NewEncoder(stdout).Encode(map[string]string{"error": de.Error()}); jerr != nil {
				return jerr
			}
		}
		return err
	}
	return &usageError{message: fmt.Sprintf("unknown command %q for roster scope", args[0]), hint: `run "roster scope --help" for its commands`}
}

func runScopeEval(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	var filter, attrsJSON string
	attrs := attrFlags{}
	fs := newFlagSet("scope eval", scopeEvalSynopsis, stderr)
	fs.StringVar(&filter, "filter", "", "filter set JSON file to evaluate, or - for stdin (required)")
	fs.StringVar(&attrsJSON, "attrs-json", "", `the object's attributes as a JSON object, {"NAME": value, …}`)
	fs.Var(attrs, "attr", "a string attribute NAME=VALUE; repeat for more; overrides --attrs-json")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	if filter == "" {
		return &usageError{message: "scope eval needs --filter, the filter set JSON file", hint: `roster scope eval --filter filter.json --attrs-json '{"department": "Sales"}'`}
	}
	set, err := loadFilter(filter, stdin)
	if err != nil {
		return &dataError{err}
	}
	values, err := decodeAttrs(attrsJSON)
	if err != nil {
		return &dataError{err}
	}
	for k, v := range attrs {
		values[k] = v
	}
	return json.NewEncoder(stdout).Encode(scope.Evaluate(set, values))
}

// loadFilter loads and validates the filter set in the file name, or stdin
// for "-".
func loadFilter(name string, stdin io.Reader) (*scope.Set, error) {
	if name == "-" {
		return scope.Load(stdin)
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	set, err := scope.Load(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return set, nil
}

// decodeAttrs decodes --attrs-json, keeping numbers as json.Number so that
// integers beyond 2^53 stay exact. Empty means no attributes.
func decodeAttrs(s string) (map[string]any, error) {
	attrs := map[string]any{}
	if strings.TrimSpace(s) == "" {
		return attrs, nil
	}
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	if tok, err := dec.Token(); err != nil {
		return nil, fmt.Errorf("--attrs-json: %w", err)
	} else if tok != json.Delim('{') {
		return nil, errors.New(`--attrs-json: want a JSON object, {"NAME": value, …}`)
	}
	dec = json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	if err := dec.Decode(&attrs); err != nil {
		return nil, fmt.Errorf("--attrs-json: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("--attrs-json: unexpected data after the JSON object")
	}
	return attrs, nil
}
