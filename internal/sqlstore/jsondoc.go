package sqlstore

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// decodeDoc decodes a stored JSON document into what encoding/json's
// Decoder with UseNumber gives for a map[string]any: objects as
// map[string]any, arrays as []any, numbers as json.Number, strings
// (invalid UTF-8 and lone surrogates as U+FFFD), booleans and nil. Every
// resource read decodes its document, so this is done in one pass without
// reflection: with encoding/json it was about a quarter of a list page's
// CPU (docs/benchmarks.md). Anything but one JSON value, with only
// whitespace around it, is an error.
func decodeDoc(b []byte) (map[string]any, error) {
	p := docParser{b: b}
	p.space()
	if p.literal("null") {
		p.space()
		if p.i != len(p.b) {
			return nil, p.fail("data after the document")
		}
		return nil, nil
	}
	if p.i >= len(p.b) || p.b[p.i] != '{' {
		return nil, p.fail("not an object")
	}
	v, err := p.value(0)
	if err != nil {
		return nil, err
	}
	p.space()
	if p.i != len(p.b) {
		return nil, p.fail("data after the document")
	}
	return v.(map[string]any), nil
}

// maxDocDepth bounds nesting, as encoding/json does (10,000), so that a
// corrupt document cannot exhaust the stack.
const maxDocDepth = 10000

type docParser struct {
	b []byte
	i int
}

var errDocEnd = errors.New("unexpected end of document")

func (p *docParser) fail(what string) error {
	if p.i >= len(p.b) {
		return errDocEnd
	}
	return fmt.Errorf("invalid document at byte %d: %s", p.i, what)
}

func (p *docParser) space() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *docParser) literal(s string) bool {
	if len(p.b)-p.i >= len(s) && string(p.b[p.i:p.i+len(s)]) == s {
		p.i += len(s)
		return true
	}
	return false
}

// value reads the value at p.i, inside depth objects and arrays.
func (p *docParser) value(depth int) (any, error) {
	p.space()
	if p.i >= len(p.b) {
		return nil, errDocEnd
	}
	c := p.b[p.i]
	if (c == '{' || c == '[') && depth >= maxDocDepth {
		return nil, p.fail("nested too deeply")
	}
	switch {
	case c == '{':
		p.i++
		m := map[string]any{}
		p.space()
		if p.i < len(p.b) && p.b[p.i] == '}' {
			p.i++
			return m, nil
		}
		for {
			p.space()
			if p.i >= len(p.b) || p.b[p.i] != '"' {
				return nil, p.fail("expected a key")
			}
			k, err := p.str()
			if err != nil {
				return nil, err
			}
			p.space()
			if p.i >= len(p.b) || p.b[p.i] != ':' {
				return nil, p.fail("expected ':'")
			}
			p.i++
			if m[k], err = p.value(depth + 1); err != nil {
				return nil, err
			}
			p.space()
			if p.i < len(p.b) && p.b[p.i] == ',' {
				p.i++
				continue
			}
			if p.i < len(p.b) && p.b[p.i] == '}' {
				p.i++
				return m, nil
			}
			return nil, p.fail("expected ',' or '}'")
		}
	case c == '[':
		p.i++
		a := []any{}
		p.space()
		if p.i < len(p.b) && p.b[p.i] == ']' {
			p.i++
			return a, nil
		}
		for {
			v, err := p.value(depth + 1)
			if err != nil {
				return nil, err
			}
			a = append(a, v)
			p.space()
			if p.i < len(p.b) && p.b[p.i] == ',' {
				p.i++
				continue
			}
			if p.i < len(p.b) && p.b[p.i] == ']' {
				p.i++
				return a, nil
			}
			return nil, p.fail("expected ',' or ']'")
		}
	case c == '"':
		return p.str()
	case c == '-' || '0' <= c && c <= '9':
		return p.number()
	case p.literal("true"):
		return true, nil
	case p.literal("false"):
		return false, nil
	case p.literal("null"):
		return nil, nil
	}
	return nil, p.fail("unexpected character")
}

// number reads a number literal (RFC 8259 §6) as a json.Number.
func (p *docParser) number() (any, error) {
	start := p.i
	digits := func() int {
		n := 0
		for p.i < len(p.b) && '0' <= p.b[p.i] && p.b[p.i] <= '9' {
			p.i++
			n++
		}
		return n
	}
	if p.b[p.i] == '-' {
		p.i++
	}
	switch {
	case p.i < len(p.b) && p.b[p.i] == '0':
		p.i++
	case digits() == 0:
		return nil, p.fail("invalid number")
	}
	if p.i < len(p.b) && p.b[p.i] == '.' {
		p.i++
		if digits() == 0 {
			return nil, p.fail("invalid number")
		}
	}
	if p.i < len(p.b) && (p.b[p.i] == 'e' || p.b[p.i] == 'E') {
		p.i++
		if p.i < len(p.b) && (p.b[p.i] == '+' || p.b[p.i] == '-') {
			p.i++
		}
		if digits() == 0 {
			return nil, p.fail("invalid number")
		}
	}
	return json.Number(p.b[start:p.i]), nil
}

// str reads a string at p.i, its opening quote.
func (p *docParser) str() (string, error) {
	p.i++
	start := p.i
	// The common case: no escapes, valid UTF-8, one copy.
	for p.i < len(p.b) {
		c := p.b[p.i]
		if c == '"' {
			s := p.b[start:p.i]
			if utf8.Valid(s) {
				p.i++
				return string(s), nil
			}
			break
		}
		if c == '\\' || c < 0x20 {
			break
		}
		p.i++
	}
	out := append([]byte(nil), p.b[start:p.i]...)
	if !utf8.Valid(out) {
		out = []byte(string([]rune(string(out)))) // each invalid byte as U+FFFD
	}
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '"':
			p.i++
			return string(out), nil
		case c < 0x20:
			return "", p.fail("control character in a string")
		case c == '\\':
			p.i++
			if p.i >= len(p.b) {
				return "", errDocEnd
			}
			e := p.b[p.i]
			p.i++
			switch e {
			case '"', '\\', '/':
				out = append(out, e)
			case 'b':
				out = append(out, '\b')
			case 'f':
				out = append(out, '\f')
			case 'n':
				out = append(out, '\n')
			case 'r':
				out = append(out, '\r')
			case 't':
				out = append(out, '\t')
			case 'u':
				r, ok := p.hex4()
				if !ok {
					return "", p.fail("invalid \\u escape")
				}
				if utf16.IsSurrogate(r) {
					// A pair makes one rune; anything else is U+FFFD.
					save := p.i
					if p.literal(`\u`) {
						if r2, ok := p.hex4(); ok {
							if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
								out = utf8.AppendRune(out, dec)
								continue
							}
						}
					}
					p.i = save
					r = utf8.RuneError
				}
				out = utf8.AppendRune(out, r)
			default:
				return "", p.fail("invalid escape")
			}
		case c < utf8.RuneSelf:
			out = append(out, c)
			p.i++
		default:
			r, size := utf8.DecodeRune(p.b[p.i:])
			p.i += size
			out = utf8.AppendRune(out, r) // U+FFFD for an invalid byte
		}
	}
	return "", errDocEnd
}

// hex4 reads the four hex digits of a \u escape.
func (p *docParser) hex4() (rune, bool) {
	if len(p.b)-p.i < 4 {
		return 0, false
	}
	n, err := strconv.ParseUint(string(p.b[p.i:p.i+4]), 16, 16)
	if err != nil {
		return 0, false
	}
	p.i += 4
	return rune(n), true
}
