// Package scope evaluates Entra-compatible attribute-based scoping filters:
// a filter set is an OR over filters, and a filter (Entra's "scoping clause
// group") is an AND over clauses, each testing one attribute with one operator.
//
// The semantics follow ../shared/reference/entra-scoping.md (Microsoft's
// "Attribute-based application provisioning with scoping filters"). Where that
// page is silent or contradicts itself, the choice made here is written next to
// the operator and the test that pins it; docs/scoping.md is the user's view.
//
// Regular expressions are Go RE2, not .NET. RE2 has no backreferences (\1),
// lookahead or lookbehind ((?=…), (?<=…)), atomic groups or possessive
// quantifiers, so a pattern using them fails validation instead of silently
// meaning something else. \d, \w and \s match ASCII only in RE2 while .NET
// matches their Unicode categories; use \p{Nd}, \p{L} for Unicode. RE2 runs in
// linear time, so there is no .NET-style match timeout to configure.
package scope

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
)

// Operator names a clause operator. The constants hold Entra's portal labels,
// which are also the canonical spelling in JSON.
type Operator string

// The operators documented by Microsoft. "Present" and "Valid Cert Match" are
// shown in the portal but undocumented, and "IS IN", "IS NOT IN" and
// "Less_Than" appear in no Microsoft source, so none of them is accepted.
const (
	OpEquals              Operator = "EQUALS"
	OpNotEquals           Operator = "NOT EQUALS"
	OpIsTrue              Operator = "IS TRUE"
	OpIsFalse             Operator = "IS FALSE"
	OpIsNull              Operator = "IS NULL"
	OpIsNotNull           Operator = "IS NOT NULL"
	OpRegexMatch          Operator = "REGEX MATCH"
	OpNotRegexMatch       Operator = "NOT REGEX MATCH"
	OpGreaterThan         Operator = "Greater_Than"
	OpGreaterThanOrEquals Operator = "Greater_Than_OR_EQUALS"
	OpIncludes            Operator = "Includes"
	OpEndsWith            Operator = "ENDS_WITH"
	OpContainedIn         Operator = "&"
	OpNotContainedIn      Operator = "!&"
)

// Operators lists every accepted operator in the order of Microsoft's table,
// so that a front end can offer them (like Graph's filterOperators call).
var Operators = []Operator{
	OpContainedIn, OpNotContainedIn, OpEndsWith, OpEquals, OpGreaterThan,
	OpGreaterThanOrEquals, OpIncludes, OpIsFalse, OpIsNotNull, OpIsNull,
	OpIsTrue, OpNotEquals, OpNotRegexMatch, OpRegexMatch,
}

// unary reports whether op takes no value.
func (op Operator) unary() bool {
	switch op {
	case OpIsTrue, OpIsFalse, OpIsNull, OpIsNotNull:
		return true
	}
	return false
}

// ParseOperator returns the canonical operator for name. Case, spaces and
// underscores are not significant ("not_equals", "GREATER_THAN" and
// "Greater Than" all work) because Entra's portal and Graph spell the same
// operator differently.
func ParseOperator(name string) (Operator, bool) {
	for _, op := range Operators { // fast path: already canonical
		if string(op) == name {
			return op, true
		}
	}
	key := normalize(name)
	for _, op := range Operators {
		if normalize(string(op)) == key {
			return op, true
		}
	}
	return "", false
}

func normalize(s string) string {
	return strings.ToUpper(strings.Join(strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == '_' }), " "))
}

// Set is a filter set: an object is in scope when any filter matches, and
// every object is in scope when there are no filters (Entra's default).
type Set struct {
	Filters []Filter `json:"filters"`
}

// Filter is one scoping clause group: it matches when all its clauses do.
type Filter struct {
	Clauses []Clause `json:"clauses"`
}

// Clause tests one attribute. Value is always a string, as in Entra's
// targetOperand; numeric operators parse it as an integer.
type Clause struct {
	Attribute string   `json:"attribute"`
	Operator  Operator `json:"operator"`
	Value     string   `json:"value,omitempty"`

	re *regexp.Regexp // compiled by Validate for the regex operators
}

// Load decodes and validates a filter set from JSON. Unknown fields are
// rejected so that a misspelt key does not silently widen the scope.
func Load(r io.Reader) (*Set, error) {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	var s Set
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("scope: decode filter set: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("scope: decode filter set: unexpected data after the JSON object")
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return &s, nil
}

// Parse is Load for a byte slice.
func Parse(data []byte) (*Set, error) { return Load(bytes.NewReader(data)) }

// Validate checks every clause, canonicalizes operator names and compiles
// regular expressions. Errors name the 0-based filter and clause index.
// Evaluate calls it on a set that has not been validated.
func (s *Set) Validate() error {
	for fi := range s.Filters {
		f := &s.Filters[fi]
		if len(f.Clauses) == 0 {
			return fmt.Errorf("scope: filter %d: has no clauses", fi)
		}
		for ci := range f.Clauses {
			if err := f.Clauses[ci].validate(); err != nil {
				return fmt.Errorf("scope: filter %d clause %d: %w", fi, ci, err)
			}
		}
	}
	return nil
}

func (c *Clause) validate() error {
	if strings.TrimSpace(c.Attribute) == "" {
		return fmt.Errorf("attribute is required")
	}
	op, ok := ParseOperator(string(c.Operator))
	if !ok {
		return fmt.Errorf("unknown operator %q", c.Operator)
	}
	c.Operator = op
	if op.unary() {
		// A value on IS TRUE etc. is most likely a mistake such as
		// "IS TRUE" with value "false"; refuse it rather than ignore it.
		if c.Value != "" {
			return fmt.Errorf("operator %s takes no value, got %q", op, c.Value)
		}
		return nil
	}
	if c.Value == "" {
		return fmt.Errorf("operator %s requires a value", op)
	}
	switch op {
	case OpRegexMatch, OpNotRegexMatch:
		// Anchored: Microsoft's examples say "([1-9][0-9]) matches 10-99" and
		// "(1[0-9]{6}) matches 1000000-1999999", true only of a whole match.
		re, err := compileAnchored(c.Value)
		if err != nil {
			return fmt.Errorf("operator %s: bad regular expression %q: %v", op, c.Value, err)
		}
		c.re = re
	case OpGreaterThan, OpGreaterThanOrEquals:
		if _, ok := parseInt(c.Value); !ok {
			return fmt.Errorf("operator %s needs an integer value, got %q", op, c.Value)
		}
	}
	return nil
}

// parseInt accepts a decimal integer with an optional sign, nothing else:
// Microsoft requires integers for the Greater_Than operators.
func parseInt(s string) (int64, bool) {
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

// compileAnchored compiles pattern to match whole values only. The pattern is
// compiled alone first so that one such as "a)|(b" cannot escape the anchors.
func compileAnchored(pattern string) (*regexp.Regexp, error) {
	if _, err := regexp.Compile(pattern); err != nil {
		return nil, err
	}
	return regexp.Compile(`^(?:` + pattern + `)$`)
}
