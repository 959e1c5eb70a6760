package expr

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

type tokKind int

const (
	tEOF     tokKind = iota
	tLParen          // (
	tRParen          // )
	tComma           // ,
	tAttr            // [name]; text is the name
	tStr             // "..."; text is the unescaped value
	tNum             // 12, -3, 1.5, &HF; text as written
	tIdent           // Join, vbTextCompare; text is the word
	tOp              // = <> < <= > >=
	tIllegal         // any other character; text is that character
)

type token struct {
	kind tokKind
	pos  int // 1-based character position
	text string
}

// lexer turns the source into tokens on demand, so that errors come out in
// source order. Parse has checked that src is valid UTF-8 without NULs.
type lexer struct {
	src string
	off int // byte offset of the next character
	col int // 1-based character position of the next character
}

// fail stops parsing with a *SyntaxError; Parse recovers it.
func fail(pos int, format string, args ...any) {
	panic(&SyntaxError{Pos: pos, Msg: fmt.Sprintf(format, args...)})
}

func (l *lexer) peek() rune {
	if l.off >= len(l.src) {
		return -1
	}
	r, _ := utf8.DecodeRuneInString(l.src[l.off:])
	return r
}

func (l *lexer) advance() rune {
	r, size := utf8.DecodeRuneInString(l.src[l.off:])
	l.off += size
	l.col++
	return r
}

func isDigit(r rune) bool      { return '0' <= r && r <= '9' }
func isIdentStart(r rune) bool { return r == '_' || unicode.IsLetter(r) }
func isIdentPart(r rune) bool  { return isIdentStart(r) || unicode.IsDigit(r) }

func (l *lexer) next() token {
	for r := l.peek(); r >= 0 && unicode.IsSpace(r); r = l.peek() {
		l.advance()
	}
	pos := l.col
	r := l.peek()
	switch {
	case r < 0:
		return token{kind: tEOF, pos: pos}
	case r == '(':
		l.advance()
		return token{kind: tLParen, pos: pos, text: "("}
	case r == ')':
		l.advance()
		return token{kind: tRParen, pos: pos, text: ")"}
	case r == ',':
		l.advance()
		return token{kind: tComma, pos: pos, text: ","}
	case r == '[':
		return l.attr()
	case r == '"':
		return l.str()
	case r == '&':
		return l.hex()
	case r == '-' || isDigit(r):
		return l.number()
	case r == '=' || r == '<' || r == '>':
		l.advance()
		op := string(r)
		if n := l.peek(); n == '=' && r != '=' || n == '>' && r == '<' {
			l.advance()
			op += string(n)
		}
		return token{kind: tOp, pos: pos, text: op}
	case isIdentStart(r):
		start := l.off
		for isIdentPart(l.peek()) {
			l.advance()
		}
		return token{kind: tIdent, pos: pos, text: l.src[start:l.off]}
	}
	l.advance()
	return token{kind: tIllegal, pos: pos, text: string(r)}
}

// attr scans [name]. A name is anything but brackets, quotes, backslashes,
// spaces and control characters, so dots, colons and URN prefixes pass.
func (l *lexer) attr() token {
	pos := l.col
	l.advance() // [
	start := l.off
	for {
		r := l.peek()
		switch {
		case r < 0:
			fail(l.col, "expected ']' to close the attribute reference at col %d", pos)
		case r == ']':
			if l.off == start {
				fail(l.col, "expected an attribute name after '['")
			}
			name := l.src[start:l.off]
			l.advance()
			return token{kind: tAttr, pos: pos, text: name}
		case r == '[' || r == '"' || r == '\\' || unicode.IsSpace(r) || unicode.IsControl(r):
			fail(l.col, "expected ']' to close the attribute reference at col %d, found %q", pos, r)
		}
		l.advance()
	}
}

// str scans a string literal. \" and \\ are the escapes; a backslash before
// any other character is kept as written, so "\d" reads as \d.
func (l *lexer) str() token {
	pos := l.col
	l.advance() // "
	var b strings.Builder
	for {
		r := l.peek()
		if r < 0 {
			fail(l.col, "expected '\"' to close the string at col %d", pos)
		}
		l.advance()
		switch r {
		case '"':
			return token{kind: tStr, pos: pos, text: b.String()}
		case '\\':
			switch e := l.peek(); e {
			case '"', '\\':
				l.advance()
				b.WriteRune(e)
				continue
			}
		}
		b.WriteRune(r)
	}
}

// number scans an optionally negative decimal: -?digits(.digits)?
func (l *lexer) number() token {
	pos := l.col
	start := l.off
	if l.peek() == '-' {
		l.advance()
		if !isDigit(l.peek()) {
			fail(l.col, "expected a digit after '-'")
		}
	}
	for isDigit(l.peek()) {
		l.advance()
	}
	if l.peek() == '.' {
		l.advance()
		if !isDigit(l.peek()) {
			fail(l.col, "expected a digit after '.'")
		}
		for isDigit(l.peek()) {
			l.advance()
		}
	}
	l.endOfNumber()
	return token{kind: tNum, pos: pos, text: l.src[start:l.off]}
}

// hex scans a VB hex literal such as &HF7, which must fit in 64 bits.
func (l *lexer) hex() token {
	pos := l.col
	start := l.off
	l.advance() // &
	if r := l.peek(); r != 'H' && r != 'h' {
		fail(l.col, "expected 'H' after '&' (a hex literal such as &HFF)")
	}
	l.advance()
	digits := l.off
	for r := l.peek(); isDigit(r) || 'a' <= r && r <= 'f' || 'A' <= r && r <= 'F'; r = l.peek() {
		l.advance()
	}
	if l.off == digits {
		fail(l.col, "expected a hex digit after '&H'")
	}
	if _, err := strconv.ParseUint(l.src[digits:l.off], 16, 64); err != nil {
		fail(pos, "hex literal %s does not fit in 64 bits", l.src[start:l.off])
	}
	l.endOfNumber()
	return token{kind: tNum, pos: pos, text: l.src[start:l.off]}
}

func (l *lexer) endOfNumber() {
	if r := l.peek(); isIdentPart(r) || r == '.' {
		fail(l.col, "unexpected %q after a number", r)
	}
}
