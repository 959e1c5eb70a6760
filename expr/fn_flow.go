package expr

import "errors"

// Flow signals. An expression that decides not to write anything ends its
// evaluation with one of these errors (wrapped in an *EvalError, so test
// with errors.Is); the provisioning engine acts on it instead of writing a
// value. They are errors, not values, because they must cross every
// enclosing function unchanged: Join("x", IgnoreAttributeFlow) has no
// meaningful value.
var (
	// ErrIgnoreAttributeFlow: leave the target attribute untouched (no
	// write at all, not a write of null). From IgnoreFlowIfNullOrEmpty on a
	// null or empty value, or the IgnoreAttributeFlow identifier.
	ErrIgnoreAttributeFlow = errors.New("attribute flow ignored")
	// ErrIgnoreObjectFlow: skip the whole object in this cycle. From the
	// IgnoreObjectFlow identifier.
	ErrIgnoreObjectFlow = errors.New("object flow ignored")
)

func init() {
	register(map[string]builtin{"IgnoreFlowIfNullOrEmpty": fnIgnoreFlowIfNullOrEmpty})
}

// IgnoreFlowIfNullOrEmpty(expression): the value of expression, or
// ErrIgnoreAttributeFlow when it is null, "" or an empty list.
func fnIgnoreFlowIfNullOrEmpty(ev *evaluator, c *Call) (Value, error) {
	v, err := ev.arg(c, 0)
	if err != nil {
		return Null, err
	}
	if nullOrEmpty(v) {
		return Null, ErrIgnoreAttributeFlow
	}
	return v, nil
}

// ident evaluates a bare identifier: the flow sentinels end evaluation
// with their signal; the InStr compare types mean nothing elsewhere.
func ident(n *Ident) error {
	switch n.Name {
	case "IgnoreAttributeFlow":
		return &EvalError{Pos: n.At, Func: n.Name, Err: ErrIgnoreAttributeFlow}
	case "IgnoreObjectFlow":
		return &EvalError{Pos: n.At, Func: n.Name, Err: ErrIgnoreObjectFlow}
	}
	return &EvalError{Pos: n.At, Func: n.Name, Err: errors.New("is only a compareType argument of InStr")}
}
