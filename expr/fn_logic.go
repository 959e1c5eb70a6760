package expr

import (
	"strconv"
	"strings"
)

func init() {
	register(map[string]builtin{
		"CBool": fnCBool,
		"IIF":   fnIIF,
		"Not":   fnNot,
	})
}

// compare evaluates a comparison of IIF or CBool. Null compares as "": the
// reference documents that Entra's condition "fails" on a null or empty
// attribute and calls IIF([country]="","Other",[country]) unsupported; we
// give that expression its evident meaning instead. = and <> compare text
// case-sensitively (as Switch does); <, <=, >, >= compare numerically when
// both sides are numbers, else ordinally as text.
func (ev *evaluator) compare(n *Compare) (Value, error) {
	l, err := ev.eval(n.Left)
	if err != nil {
		return Null, err
	}
	r, err := ev.eval(n.Right)
	if err != nil {
		return Null, err
	}
	ls, err := single(l, "left side of "+n.Op)
	if err != nil {
		return Null, &EvalError{Pos: n.At, Err: err}
	}
	rs, err := single(r, "right side of "+n.Op)
	if err != nil {
		return Null, &EvalError{Pos: n.At, Err: err}
	}
	c := strings.Compare(ls, rs)
	if n.Op != "=" && n.Op != "<>" {
		lf, lerr := strconv.ParseFloat(strings.TrimSpace(ls), 64)
		rf, rerr := strconv.ParseFloat(strings.TrimSpace(rs), 64)
		if lerr == nil && rerr == nil {
			switch {
			case lf < rf:
				c = -1
			case lf > rf:
				c = 1
			default:
				c = 0
			}
		}
	}
	var b bool
	switch n.Op {
	case "=":
		b = c == 0
	case "<>":
		b = c != 0
	case "<":
		b = c < 0
	case "<=":
		b = c <= 0
	case ">":
		b = c > 0
	case ">=":
		b = c >= 0
	}
	return Bool(b), nil
}

// IIF(condition, valueIfTrue, valueIfFalse) evaluates only the branch taken.
func fnIIF(ev *evaluator, c *Call) (Value, error) {
	cond, err := ev.eval(c.Args[0])
	if err != nil {
		return Null, err
	}
	t, err := truth(cond, "condition")
	if err != nil {
		return Null, err
	}
	if t {
		return ev.eval(c.Args[1])
	}
	return ev.eval(c.Args[2])
}

// CBool(expression): True for a true comparison, "True", or a non-zero
// number; False for "False" or zero; an error otherwise.
func fnCBool(ev *evaluator, c *Call) (Value, error) {
	v, err := ev.eval(c.Args[0])
	if err != nil {
		return Null, err
	}
	t, err := truth(v, "expression")
	return Bool(t), err
}

// Not(source): False when source is True (boolean or the string "True" in
// any case), True otherwise, null included, as documented ("flips a boolean
// string: True → False, otherwise True").
func fnNot(ev *evaluator, c *Call) (Value, error) {
	v, err := ev.eval(c.Args[0])
	if err != nil {
		return Null, err
	}
	s, err := single(v, "source")
	if err != nil {
		return Null, err
	}
	return Bool(!strings.EqualFold(strings.TrimSpace(s), "true")), nil
}
