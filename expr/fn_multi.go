package expr

import "strings"

func init() {
	register(map[string]builtin{
		"Count":         fnCount,
		"IsNull":        fnIsNull,
		"IsNullOrEmpty": fnIsNullOrEmpty,
		"IsPresent":     fnIsPresent,
		"IsString":      fnIsString,
		"Item":          fnItem,
		"Split":         fnSplit,
	})
}

// Count(attribute): the number of values; 0 for null, 1 for a single value.
func fnCount(ev *evaluator, c *Call) (Value, error) {
	v, err := ev.arg(c, 0)
	return intValue(int64(len(v.values()))), err
}

// Item(attribute, index): the value at the 1-based index; null when the
// index is out of range, 0 and negatives included ("Index 0 shouldn't be
// used"). A single value is a list of one.
func fnItem(ev *evaluator, c *Call) (Value, error) {
	v, err := ev.arg(c, 0)
	if err != nil {
		return Null, err
	}
	i, err := ev.int(c, 1, "index")
	if err != nil {
		return Null, err
	}
	l := v.values()
	if i < 1 || i > len(l) {
		return Null, nil
	}
	return l[i-1], nil
}

// IsNull(expression): True for null: an absent attribute ("a Null is
// expressed by the absence of the attribute") or one with no values.
func fnIsNull(ev *evaluator, c *Call) (Value, error) {
	v, err := ev.arg(c, 0)
	return Bool(v.IsNull()), err
}

func nullOrEmpty(v Value) bool {
	return v.IsNull() || (v.Kind == StringKind && v.Text == "")
}

// IsNullOrEmpty(expression): True for null or "".
func fnIsNullOrEmpty(ev *evaluator, c *Call) (Value, error) {
	v, err := ev.arg(c, 0)
	return Bool(nullOrEmpty(v)), err
}

// IsPresent(expression): the inverse of IsNullOrEmpty.
func fnIsPresent(ev *evaluator, c *Call) (Value, error) {
	v, err := ev.arg(c, 0)
	return Bool(!nullOrEmpty(v)), err
}

// IsString(expression): True when the value "can be evaluated to a string
// type": any single value (string, "" included, number, boolean); False for
// null and for a multi-valued list.
func fnIsString(ev *evaluator, c *Call) (Value, error) {
	v, err := ev.arg(c, 0)
	return Bool(v.Kind == StringKind || v.Kind == NumberKind || v.Kind == BoolKind), err
}

// Split(source, delimiter): source cut at every occurrence of delimiter
// into a multi-valued list, values kept as they are (like .NET
// String.Split: no trimming, empty values kept). Null or "" gives null; an
// empty delimiter gives the whole source as the one value.
func fnSplit(ev *evaluator, c *Call) (Value, error) {
	v, err := ev.arg(c, 0)
	if err != nil || v.IsNull() {
		return Null, err
	}
	s, err := single(v, "source")
	if err != nil || s == "" {
		return Null, err
	}
	d, err := ev.text(c, 1, "delimiter")
	if err != nil {
		return Null, err
	}
	parts := []string{s}
	if d != "" {
		parts = strings.Split(s, d)
	}
	l := make([]Value, len(parts))
	for i, p := range parts {
		l[i] = String(p)
	}
	return Value{Kind: ListKind, List: l}, nil
}
