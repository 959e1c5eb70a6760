package expr

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// MaxLen is the longest expression Parse accepts, in characters; Entra
// rejects attribute-mapping expressions longer than 10,000 characters.
const MaxLen = 10000

// SyntaxError is the error Parse returns: the 1-based character position of
// the problem and what was expected there.
type SyntaxError struct {
	Pos int
	Msg string
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("col %d: %s", e.Pos, e.Msg) }

// Parse parses an attribute-mapping expression. Every error is a
// *SyntaxError; unknown functions and wrong argument counts are syntax
// errors, so an expression that parses has a known shape.
func Parse(src string) (e *Expr, err error) {
	if utf8.RuneCountInString(src) > MaxLen {
		return nil, &SyntaxError{Pos: MaxLen + 1, Msg: fmt.Sprintf("expression is longer than %d characters", MaxLen)}
	}
	col := 1
	for i, r := range src {
		if r == utf8.RuneError {
			if _, size := utf8.DecodeRuneInString(src[i:]); size == 1 {
				return nil, &SyntaxError{Pos: col, Msg: "invalid UTF-8"}
			}
		}
		if r == 0 {
			return nil, &SyntaxError{Pos: col, Msg: "NUL character"}
		}
		col++
	}
	defer func() {
		if r := recover(); r != nil {
			se, ok := r.(*SyntaxError)
			if !ok {
				panic(r)
			}
			e, err = nil, se
		}
	}()
	p := &parser{lx: lexer{src: src, col: 1}}
	p.advance()
	if p.tok.kind == tEOF {
		fail(p.tok.pos, "expected an expression")
	}
	root := p.term("a function call, [attribute], string or number", true)
	switch p.tok.kind {
	case tEOF:
		return &Expr{Root: root}, nil
	case tOp:
		fail(p.tok.pos, "comparison '%s' is only allowed in the condition of IIF or the argument of CBool", p.tok.text)
	}
	fail(p.tok.pos, "expected end of expression")
	return nil, nil // not reached
}

type parser struct {
	lx  lexer
	tok token // the current token, not yet consumed
}

func (p *parser) advance() { p.tok = p.lx.next() }

// term parses one operand: a call, attribute, string, number or identifier.
// want says what the slot is, for the error message.
func (p *parser) term(want string, top bool) Node {
	t := p.tok
	switch t.kind {
	case tAttr:
		p.advance()
		return &Attr{At: t.pos, Name: t.text}
	case tStr:
		p.advance()
		return &Str{At: t.pos, Value: t.text}
	case tNum:
		p.advance()
		return &Num{At: t.pos, Text: t.text}
	case tIdent:
		p.advance()
		if p.tok.kind == tLParen {
			return p.call(t, top)
		}
		if identifiers[t.text] {
			return &Ident{At: t.pos, Name: t.text}
		}
		if _, ok := functions[t.text]; ok {
			fail(p.tok.pos, "expected '(' after %s", t.text)
		}
		fail(t.pos, "unknown identifier %s%s", t.text, caseHint(t.text))
	}
	fail(t.pos, "expected %s", want)
	return nil // not reached
}

// call parses the argument list of the function named by t; the current
// token is its '('.
func (p *parser) call(t token, top bool) Node {
	name := t.text
	spec, ok := functions[name]
	if !ok {
		fail(t.pos, "unknown function %s%s", name, caseHint(name))
	}
	if spec.topLevel && !top {
		fail(t.pos, "%s must be the whole expression; it cannot be nested", name)
	}
	c := &Call{At: t.pos, Name: name}
	p.advance() // (
	if p.tok.kind == tRParen {
		p.advance()
	} else {
		for {
			i := len(c.Args) + 1
			if spec.max >= 0 && i > spec.max {
				fail(p.tok.pos, "%s takes %s; argument %d is one too many", name, arity(spec), i)
			}
			c.Args = append(c.Args, p.arg(spec, name, i))
			if p.tok.kind == tComma {
				p.advance()
				continue
			}
			if p.tok.kind == tRParen {
				break
			}
			if p.tok.kind == tOp {
				fail(p.tok.pos, "comparison '%s' is not allowed in argument %d of %s; only the condition of IIF and the argument of CBool compare", p.tok.text, i, name)
			}
			fail(p.tok.pos, "expected ',' or ')' after argument %d of %s", i, name)
		}
		p.advance()
	}
	if n := len(c.Args); n < spec.min {
		fail(t.pos, "%s takes %s, got %d", name, arity(spec), n)
	} else if spec.even && n%2 != 0 {
		fail(t.pos, "%s takes an even number of arguments (source, default, then key/value pairs), got %d", name, n)
	}
	return c
}

// arg parses argument i of a call: empty, an operand, or, in the condition
// slot of IIF and CBool, a comparison of two operands.
func (p *parser) arg(spec funcSpec, name string, i int) Node {
	if p.tok.kind == tComma || p.tok.kind == tRParen {
		return &Empty{At: p.tok.pos}
	}
	n := p.term(fmt.Sprintf("argument %d of %s: a function call, [attribute], string, number or nothing", i, name), false)
	if p.tok.kind != tOp || spec.cond != i {
		return n
	}
	op := p.tok
	p.advance()
	r := p.term(fmt.Sprintf("a function call, [attribute], string or number after '%s'", op.text), false)
	if p.tok.kind == tOp {
		fail(p.tok.pos, "comparisons cannot be chained; expected ',' or ')' after argument %d of %s", i, name)
	}
	return &Compare{At: op.pos, Op: op.text, Left: n, Right: r}
}

func arity(s funcSpec) string {
	plural := func(n int) string {
		if n == 1 {
			return "1 argument"
		}
		return fmt.Sprintf("%d arguments", n)
	}
	switch {
	case s.max < 0:
		return "at least " + plural(s.min)
	case s.min == s.max:
		return plural(s.min)
	}
	return fmt.Sprintf("%d to %d arguments", s.min, s.max)
}

// caseHint suggests the right spelling when a name differs only in case,
// because Entra's function names are case-sensitive and users type iif.
func caseHint(name string) string {
	for f := range functions {
		if strings.EqualFold(f, name) {
			return fmt.Sprintf(" (names are case-sensitive: did you mean %s?)", f)
		}
	}
	for f := range identifiers {
		if strings.EqualFold(f, name) {
			return fmt.Sprintf(" (names are case-sensitive: did you mean %s?)", f)
		}
	}
	return ""
}
