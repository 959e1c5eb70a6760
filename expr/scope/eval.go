package scope

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Result is the outcome of evaluating a filter set against one object. It
// marshals to {"in_scope": …, "clauses": […]}, the output of
// `roster scope eval`.
type Result struct {
	InScope bool           `json:"in_scope"`
	Clauses []ClauseResult `json:"clauses"`
}

// ClauseResult explains one clause. Decisive marks the clauses that decided
// InScope: when in scope, every clause of the first matching filter; when out
// of scope, the first failing clause of each filter. Reason never contains the
// attribute's value, because attribute values are personal data.
type ClauseResult struct {
	Filter    int      `json:"filter"`
	Clause    int      `json:"clause"`
	Attribute string   `json:"attribute"`
	Operator  Operator `json:"operator"`
	Value     string   `json:"value,omitempty"`
	Match     bool     `json:"match"`
	Decisive  bool     `json:"decisive"`
	Reason    string   `json:"reason"`
}

// Evaluate reports whether an object with the given attributes is in scope.
// attrs holds JSON-decoded values: string, float64 or json.Number, bool, []any
// and nil; Go integers are accepted too. Attribute names are case-sensitive.
//
// Every clause is evaluated so that the result explains all of them. A clause
// that would fail Validate does not match, with the error as its reason.
// Evaluate does not modify set and is safe for concurrent use.
func Evaluate(set *Set, attrs map[string]any) Result {
	res := Result{Clauses: []ClauseResult{}}
	if set == nil || len(set.Filters) == 0 {
		res.InScope = true // Entra: "By default, there are no scoping filters".
		return res
	}
	winner := -1
	for fi, f := range set.Filters {
		first := len(res.Clauses)
		all := len(f.Clauses) > 0
		for ci := range f.Clauses {
			c := &f.Clauses[ci]
			match, reason := c.eval(attrs)
			res.Clauses = append(res.Clauses, ClauseResult{
				Filter: fi, Clause: ci, Attribute: c.Attribute, Operator: c.Operator,
				Value: c.Value, Match: match, Reason: reason,
			})
			if !match && all {
				all = false
				res.Clauses[len(res.Clauses)-1].Decisive = true
			}
		}
		if all && winner < 0 {
			winner = fi
			for i := first; i < len(res.Clauses); i++ {
				res.Clauses[i].Decisive = true
			}
		}
	}
	res.InScope = winner >= 0
	if res.InScope {
		for i := range res.Clauses {
			res.Clauses[i].Decisive = res.Clauses[i].Filter == winner
		}
	}
	return res
}

// eval applies one clause. Except for IS NULL and IS NOT NULL, a missing, null
// or empty attribute never matches: Microsoft states "Scoping filters will
// return 'false' if the value is null / empty", which makes NOT EQUALS, NOT
// REGEX MATCH and !& false too, not true.
func (c *Clause) eval(attrs map[string]any) (bool, string) {
	op, ok := ParseOperator(string(c.Operator))
	if !ok {
		return false, fmt.Sprintf("invalid clause: unknown operator %q", c.Operator)
	}
	raw, present := attrs[c.Attribute]
	v, kind := classify(raw)
	if !present {
		kind = kindMissing
	}
	switch op {
	case OpIsNull:
		return kind.empty(), kind.describe()
	case OpIsNotNull:
		return !kind.empty(), kind.describe()
	}
	if kind.empty() {
		return false, kind.describe()
	}
	if kind == kindMulti || kind == kindOther {
		// "Filtering is not supported for multi-valued attributes."
		return false, kind.describe()
	}
	switch op {
	case OpIsTrue, OpIsFalse:
		b, ok := asBool(v)
		if !ok {
			return false, "type mismatch: " + kind.describe() + ", not a boolean"
		}
		return outcome(b == (op == OpIsTrue))
	case OpGreaterThan, OpGreaterThanOrEquals:
		want, ok := parseInt(c.Value)
		if !ok {
			return false, fmt.Sprintf("invalid clause: value %q is not an integer", c.Value)
		}
		n, ok := asInt(v)
		if !ok {
			return false, "type mismatch: " + kind.describe() + ", not an integer"
		}
		if op == OpGreaterThan {
			return outcome(n > want)
		}
		return outcome(n >= want)
	}
	s, ok := asString(v)
	if !ok {
		return false, "type mismatch: " + kind.describe() + ", not a string or number"
	}
	switch op {
	case OpEquals:
		return outcome(s == c.Value)
	case OpNotEquals:
		return outcome(s != c.Value)
	case OpIncludes:
		return outcome(strings.Contains(s, c.Value))
	case OpEndsWith:
		return outcome(strings.HasSuffix(s, c.Value))
	case OpContainedIn:
		return outcome(strings.Contains(c.Value, s))
	case OpNotContainedIn:
		return outcome(!strings.Contains(c.Value, s))
	case OpRegexMatch, OpNotRegexMatch:
		re := c.re
		if re == nil { // not validated: compile for this call only
			var err error
			if re, err = compileAnchored(c.Value); err != nil {
				return false, "invalid clause: bad regular expression: " + err.Error()
			}
		}
		return outcome(re.MatchString(s) == (op == OpRegexMatch))
	}
	return false, fmt.Sprintf("invalid clause: unknown operator %q", c.Operator)
}

func outcome(ok bool) (bool, string) {
	if ok {
		return true, "matched"
	}
	return false, "did not match"
}

type kind int

const (
	kindMissing kind = iota
	kindNull
	kindEmptyString
	kindEmptyList
	kindString
	kindNumber
	kindBool
	kindMulti
	kindOther
)

func (k kind) empty() bool { return k <= kindEmptyList }

func (k kind) describe() string {
	return [...]string{
		"attribute is missing", "attribute is null", "attribute is an empty string",
		"attribute is an empty list", "attribute is a string", "attribute is a number",
		"attribute is a boolean", "multi-valued attributes are not supported",
		"attribute is an object, not supported",
	}[k]
}

// classify unwraps a one-element list to its element (SCIM and JSON sources
// often wrap single values) and names the value's kind.
func classify(v any) (any, kind) {
	switch x := v.(type) {
	case nil:
		return nil, kindNull
	case string:
		if x == "" {
			return x, kindEmptyString
		}
		return x, kindString
	case bool:
		return x, kindBool
	case float64, float32, json.Number, int, int32, int64, uint, uint32, uint64:
		return x, kindNumber
	case []any:
		switch len(x) {
		case 0:
			return nil, kindEmptyList
		case 1:
			return classify(x[0])
		}
		return x, kindMulti
	case []string:
		switch len(x) {
		case 0:
			return nil, kindEmptyList
		case 1:
			return classify(x[0])
		}
		return x, kindMulti
	}
	return v, kindOther
}

// asBool accepts JSON booleans and, as .NET's Boolean.Parse does, the strings
// "true" and "false" in any case: HR sources often deliver flags as strings.
func asBool(v any) (bool, bool) {
	switch x := v.(type) {
	case bool:
		return x, true
	case string:
		switch {
		case strings.EqualFold(x, "true"):
			return true, true
		case strings.EqualFold(x, "false"):
			return false, true
		}
	}
	return false, false
}

// asInt accepts integral numbers and strings holding a decimal integer:
// Microsoft's own example compares employeeId, a string, with integers.
func asInt(v any) (int64, bool) {
	switch x := v.(type) {
	case string:
		return parseInt(x)
	case json.Number:
		if n, ok := parseInt(string(x)); ok {
			return n, true
		}
		if f, err := x.Float64(); err == nil {
			return asInt(f)
		}
	case float64:
		if x == math.Trunc(x) && x >= -(1<<63) && x < 1<<63 {
			return int64(x), true
		}
	case float32:
		return asInt(float64(x))
	case int:
		return int64(x), true
	case int32:
		return int64(x), true
	case int64:
		return x, true
	case uint:
		return asInt(uint64(x))
	case uint32:
		return int64(x), true
	case uint64:
		if x <= math.MaxInt64 {
			return int64(x), true
		}
	}
	return 0, false
}

// asString gives the text the string operators compare: strings as they are,
// integral numbers in decimal (so 42 EQUALS "42"), other numbers in the
// shortest form that round-trips. Booleans are not strings here.
func asString(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case bool:
		return "", false
	case float64:
		if n, ok := asInt(x); ok {
			return strconv.FormatInt(n, 10), true
		}
		return strconv.FormatFloat(x, 'g', -1, 64), true
	case json.Number:
		if n, ok := asInt(x); ok {
			return strconv.FormatInt(n, 10), true
		}
		if f, err := x.Float64(); err == nil {
			return asString(f)
		}
		return string(x), true
	}
	if n, ok := asInt(v); ok {
		return strconv.FormatInt(n, 10), true
	}
	return fmt.Sprint(v), true
}
