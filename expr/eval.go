package expr

import (
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
)

// Env is what an expression is evaluated against.
type Env struct {
	// Attrs are the source object's attributes, as decoded from JSON
	// (see FromJSON). An [attribute] reference looks its name up exactly as
	// written: names are case-sensitive, like the rest of the syntax
	// ("The syntax is case-sensitive", reference section 1), so [Mail] does
	// not find "mail". A missing name is null.
	Attrs map[string]any
	// Now is the clock of Now() and date arithmetic; nil means time.Now.
	Now func() time.Time
	// Rand is the randomness of Guid() and RandomString(); nil means
	// crypto/rand.
	Rand io.Reader
	// IsTaken tells SelectUniqueValue whether a candidate value already
	// exists in the target.
	IsTaken func(candidate string) (bool, error)
}

// MaxValueLen bounds the length in bytes of any string or list an
// expression builds, so nested Replace or Join cannot grow without limit.
const MaxValueLen = 1 << 20

// EvalError is the error Eval returns: the 1-based character position of
// the call (or attribute) that failed, the function's name and what went
// wrong.
type EvalError struct {
	Pos  int
	Func string // "" for an attribute reference
	Err  error
}

func (e *EvalError) Error() string {
	if e.Func == "" {
		return fmt.Sprintf("col %d: %v", e.Pos, e.Err)
	}
	return fmt.Sprintf("col %d: %s: %v", e.Pos, e.Func, e.Err)
}

func (e *EvalError) Unwrap() error { return e.Err }

// Eval evaluates e against env. Errors are *EvalError.
func (e *Expr) Eval(env Env) (Value, error) {
	ev := &evaluator{env: env}
	return ev.eval(e.Root)
}

type evaluator struct {
	env Env
}

// builtin implements one function. It receives its arguments unevaluated
// so that IIF, Switch and Coalesce evaluate only what they need; errors it
// returns without a position get the call's.
type builtin func(ev *evaluator, c *Call) (Value, error)

// builtins maps function names to implementations, one for every name in
// the function table (functions.go). Filled in init
// because the implementations call eval, which reads this map.
var builtins map[string]builtin

func register(m map[string]builtin) {
	if builtins == nil {
		builtins = map[string]builtin{}
	}
	for k, v := range m {
		builtins[k] = v
	}
}

// Implemented reports whether the evaluator supports the named function.
func Implemented(name string) bool { return builtins[name] != nil }

func (ev *evaluator) eval(n Node) (Value, error) {
	switch n := n.(type) {
	case *Str:
		return String(n.Value), nil
	case *Num:
		return numLiteral(n)
	case *Empty:
		return Null, nil
	case *Attr:
		v, err := FromJSON(ev.env.Attrs[n.Name])
		if err != nil {
			return Null, &EvalError{Pos: n.At, Err: fmt.Errorf("[%s]: %w", n.Name, err)}
		}
		return v, nil
	case *Ident:
		return Null, ident(n)
	case *Compare:
		return ev.compare(n)
	case *Call:
		f := builtins[n.Name]
		if f == nil { // TestEveryFunctionImplemented keeps this from happening
			return Null, &EvalError{Pos: n.At, Func: n.Name, Err: errors.New("has no implementation")}
		}
		v, err := f(ev, n)
		if err != nil {
			var ee *EvalError
			if errors.As(err, &ee) {
				return Null, err
			}
			return Null, &EvalError{Pos: n.At, Func: n.Name, Err: err}
		}
		if size(v) > MaxValueLen {
			return Null, &EvalError{Pos: n.At, Func: n.Name, Err: fmt.Errorf("result longer than %d bytes", MaxValueLen)}
		}
		return v, nil
	}
	return Null, fmt.Errorf("unknown node %T", n)
}

func size(v Value) int {
	n := len(v.Text)
	for _, e := range v.List {
		n += size(e) + 1
	}
	for k, e := range v.Obj {
		n += len(k) + size(e)
	}
	return n
}

func numLiteral(n *Num) (Value, error) {
	if h, ok := strings.CutPrefix(n.Text, "&H"); ok {
		u, err := strconv.ParseUint(h, 16, 64)
		if err != nil {
			return Null, &EvalError{Pos: n.At, Err: fmt.Errorf("hex literal %s: %w", n.Text, err)}
		}
		return Number(strconv.FormatUint(u, 10)), nil
	}
	return Number(canonicalNumber(n.Text)), nil
}

// canonicalNumber drops the leading zeros of a decimal literal's integer
// part: 007 is 7, as in VB, and its text must be a valid JSON number.
func canonicalNumber(text string) string {
	sign, digits := "", text
	if rest, ok := strings.CutPrefix(text, "-"); ok {
		sign, digits = "-", rest
	}
	trimmed := strings.TrimLeft(digits, "0")
	if trimmed == "" || trimmed[0] == '.' {
		trimmed = "0" + trimmed
	}
	return sign + trimmed
}

// arg evaluates argument i (0-based); a missing trailing argument is null.
func (ev *evaluator) arg(c *Call, i int) (Value, error) {
	if i >= len(c.Args) {
		return Null, nil
	}
	return ev.eval(c.Args[i])
}

// args evaluates all arguments in order.
func (ev *evaluator) args(c *Call) ([]Value, error) {
	out := make([]Value, len(c.Args))
	for i, a := range c.Args {
		v, err := ev.eval(a)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

// single returns v's text for a function that needs one value; null is "".
func single(v Value, what string) (string, error) {
	if v.Kind == ListKind {
		if len(v.List) == 0 {
			return "", nil
		}
		if len(v.List) == 1 {
			return v.List[0].String(), nil
		}
		return "", fmt.Errorf("%s: multi-valued (%d values) where one value is expected", what, len(v.List))
	}
	return v.String(), nil
}

// integer returns v as an integer: a number or a string of digits (the
// Workday guide writes Mid([x], "1", "1")).
func integer(v Value, what string) (int, error) {
	s, err := single(v, what)
	if err != nil {
		return 0, err
	}
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, fmt.Errorf("%s: null or empty where a number is expected", what)
	}
	if n, err := strconv.Atoi(s); err == nil {
		return n, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.Abs(f) > 1<<31 || f != math.Trunc(f) {
		return 0, fmt.Errorf("%s: %q is not an integer", what, s)
	}
	return int(f), nil
}

// truth returns v as a condition: a boolean, the string "True"/"False"
// (any case), or a number (non-zero is true, as in CBool).
func truth(v Value, what string) (bool, error) {
	s, err := single(v, what)
	if err != nil {
		return false, err
	}
	if v.Kind == BoolKind {
		return v.Bool, nil
	}
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	if f, err := strconv.ParseFloat(strings.TrimSpace(s), 64); err == nil {
		return f != 0, nil
	}
	if v.IsNull() {
		return false, fmt.Errorf("%s: null where a boolean is expected", what)
	}
	return false, fmt.Errorf("%s: %q is not a boolean", what, s)
}
