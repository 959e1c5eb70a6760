package expr

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Kind is the type of an evaluated Value.
type Kind uint8

const (
	NullKind   Kind = iota // absent attribute, omitted argument, no result
	StringKind             // text; "" is a value, distinct from null
	NumberKind             // a number, kept as decimal text
	BoolKind               // True or False
	ListKind               // a multi-valued attribute or Split result
	ObjectKind             // a complex value: only the app-role functions build one
)

// Value is the result of evaluating an expression or one of its arguments.
//
// It is a small tagged struct rather than an `any` so that every function
// switches over five known kinds and the zero Value is null. Numbers keep
// their decimal text (Text) instead of a float64: attribute values such as
// FILETIME counts (134117279990000000) exceed float64's exact range, and
// most numbers are only ever turned back into strings. Booleans stringify as
// "True"/"False", as in Entra. A list holds single values (never nested
// lists, never null elements).
//
// Objects exist only as results of the app-role functions (SCIM role
// objects); attribute values never decode to one, so every other function
// sees an object only if it is handed such a result, and then reads it as
// its JSON text.
type Value struct {
	Kind Kind
	Text string           // StringKind: the string; NumberKind: the decimal text
	Bool bool             // BoolKind
	List []Value          // ListKind
	Obj  map[string]Value // ObjectKind: single values by sub-attribute name
}

// Null is the null value.
var Null = Value{}

func String(s string) Value { return Value{Kind: StringKind, Text: s} }
func Bool(b bool) Value     { return Value{Kind: BoolKind, Bool: b} }

// Number returns a number value from its decimal text.
func Number(text string) Value { return Value{Kind: NumberKind, Text: text} }

func intValue(n int64) Value { return Number(strconv.FormatInt(n, 10)) }

// IsNull reports whether v is null. An empty list counts as null: a
// multi-valued attribute with no values is absent.
func (v Value) IsNull() bool {
	return v.Kind == NullKind || (v.Kind == ListKind && len(v.List) == 0)
}

// String is the text form of a single value: "" for null, "True"/"False"
// for booleans; a list's values joined with ", " (only for display: the
// functions refuse lists where they need one value).
func (v Value) String() string {
	switch v.Kind {
	case StringKind, NumberKind:
		return v.Text
	case BoolKind:
		if v.Bool {
			return "True"
		}
		return "False"
	case ListKind:
		s := make([]string, len(v.List))
		for i, e := range v.List {
			s[i] = e.String()
		}
		return strings.Join(s, ", ")
	case ObjectKind:
		b, _ := json.Marshal(v.JSON()) // sorted keys: the same object, the same text
		return string(b)
	}
	return ""
}

// JSON returns v as a JSON-ready Go value: nil, string, json.Number, bool or
// []any.
func (v Value) JSON() any {
	switch v.Kind {
	case StringKind:
		return v.Text
	case NumberKind:
		return json.Number(v.Text)
	case BoolKind:
		return v.Bool
	case ListKind:
		out := make([]any, len(v.List))
		for i, e := range v.List {
			out[i] = e.JSON()
		}
		return out
	case ObjectKind:
		out := make(map[string]any, len(v.Obj))
		for k, e := range v.Obj {
			out[k] = e.JSON()
		}
		return out
	}
	return nil
}

// FromJSON converts an attribute value as decoded from JSON (string,
// json.Number, float64, bool, []any, nil; also int, int64 and []string) into
// a Value. Nested lists are flattened and null elements dropped; objects
// (complex attributes) are refused.
func FromJSON(x any) (Value, error) {
	switch x := x.(type) {
	case nil:
		return Null, nil
	case string:
		return String(x), nil
	case json.Number:
		return Number(x.String()), nil
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return Null, fmt.Errorf("number %v is not finite", x)
		}
		return Number(strconv.FormatFloat(x, 'f', -1, 64)), nil
	case int:
		return intValue(int64(x)), nil
	case int64:
		return intValue(x), nil
	case bool:
		return Bool(x), nil
	case []string:
		l := make([]Value, len(x))
		for i, s := range x {
			l[i] = String(s)
		}
		return Value{Kind: ListKind, List: l}, nil
	case []any:
		var l []Value
		for _, e := range x {
			ev, err := FromJSON(e)
			if err != nil {
				return Null, err
			}
			switch ev.Kind {
			case NullKind:
			case ListKind:
				l = append(l, ev.List...)
			default:
				l = append(l, ev)
			}
		}
		return Value{Kind: ListKind, List: l}, nil
	}
	if _, ok := x.(map[string]any); ok {
		return Null, errors.New("unsupported attribute value: a complex value (JSON object), which only the app-role functions read")
	}
	return Null, fmt.Errorf("unsupported attribute value of Go type %T", x)
}

// values returns v as a list of single values: none for null, one for a
// single value.
func (v Value) values() []Value {
	switch v.Kind {
	case NullKind:
		return nil
	case ListKind:
		return v.List
	}
	return []Value{v}
}
