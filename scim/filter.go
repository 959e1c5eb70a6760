package scim

// This file holds the SCIM 2.0 filter parser (RFC 7644 §3.4.2.2, Figure 1,
// with errata) and the PATCH path parser (RFC 7644 §3.5.2), plus
// FormatFilter, which turns a parsed filter back into text.
//
// The parser is hand-written: a small on-demand lexer feeding a
// recursive-descent parser. Filters arrive from untrusted clients in query
// strings and PATCH bodies, so the code is built to be predictable rather
// than clever:
//
//   - The lexer produces tokens lazily, so errors are reported in source
//     order (a syntax error before an unterminated string is reported first).
//   - Every token is scanned once and the parser looks at most two tokens
//     ahead, so parsing is linear in the input length.
//   - Input length (filterMaxLen bytes) and nesting depth (filterMaxDepth
//     levels of parentheses and brackets) are bounded, so recursion depth and
//     work are bounded too. Chains of "and"/"or" are built in a loop, not by
//     recursion, so long flat filters do not deepen the stack.
//   - Every error is a *roster.Error with scimType invalidFilter (or
//     invalidPath for PATCH paths) whose message names the 1-based byte
//     position, what was expected and what was found, because the message is
//     shown to the person who wrote the filter (usually an IdP administrator
//     reading a provisioning log).

import (
	"encoding/json"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/roster-scim/roster"
)

const (
	// filterMaxLen bounds the input size of ParseFilter and ParsePatchPath
	// in bytes. Real filters are a few hundred bytes at most.
	filterMaxLen = 8192
	// filterMaxDepth bounds nesting of parentheses ("not (" included) and
	// value-path brackets, which bounds the parser's recursion depth.
	filterMaxDepth = 50
)

// filterCompareOpList lists the comparison operators of RFC 7644 Table 3, in the
// order used in error messages.
const filterCompareOpList = "eq, ne, co, sw, ew, gt, ge, lt, le, pr"

// filterIsCompareOp reports whether s is a comparison operator, in any case.
func filterIsCompareOp(s string) bool {
	if len(s) != 2 {
		return false
	}
	switch strings.ToLower(s) {
	case "eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le", "pr":
		return true
	}
	return false
}

// ParseFilter parses a SCIM filter expression (the value of the "filter"
// query parameter or the "filter" member of a SearchRequest) into an Expr.
//
// It accepts the full grammar of RFC 7644 §3.4.2.2: the comparison
// operators, "pr", "and", "or", "not (...)", parentheses and value paths
// such as `emails[type eq "work" and value co "@example.com"]`. Keywords
// and true/false/null are case-insensitive; CompareExpr.Op is lower case.
// "and" binds tighter than "or"; both associate to the left.
//
// Besides the standard grammar it accepts the widespread non-standard form
// `emails[type eq "work"].value eq "x"` (a value path followed by a
// sub-attribute comparison). It is represented as a ValuePathExpr whose
// Filter is `LogicalExpr{and, <bracket filter>, CompareExpr{value eq "x"}}`,
// that is, exactly what `emails[type eq "work" and value eq "x"]` parses to,
// which is what such clients mean: some element matches both conditions.
//
// Errors are *roster.Error with SCIMType roster.ScimInvalidFilter.
func ParseFilter(s string) (Expr, error) {
	return parseFilterLimit(s, filterMaxLen)
}

// parseFilterLimit is ParseFilter with a configurable length limit, so the
// fuzz test can re-parse FormatFilter output, which may be a few bytes longer
// than its input (FormatFilter always writes a space after "not", for one).
func parseFilterLimit(s string, maxLen int) (Expr, error) {
	p, err := newFilterParser(s, filterKindFilter, maxLen)
	if err != nil {
		return nil, err
	}
	e, err := p.parseOr(false)
	if err != nil {
		return nil, err
	}
	t, err := p.peek(0)
	if err != nil {
		return nil, err
	}
	switch t.kind {
	case filterTokEOF:
		return e, nil
	case filterTokRParen:
		return nil, p.errAt(t.pos, `unbalanced parenthesis: ")" has no matching "("`)
	case filterTokRBracket:
		return nil, p.errAt(t.pos, `"]" has no matching "["`)
	}
	return nil, p.errAfterExpr(t, `"and", "or" or the end of the filter`)
}

// ParsePatchPath parses the "path" of a SCIM PATCH operation (RFC 7644
// §3.5.2): PATH = attrPath / valuePath [subAttr], for example "members",
// "name.givenName", `emails[type eq "work"].value`,
// `members[value eq "2819c223"]`,
// "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value".
//
// For `emails[type eq "work"].value` the result is
// PatchPath{Path: Path{Attr: "emails", Sub: "value"}, Filter: <type eq "work">}.
// A bare schema URN such as
// "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User" parses like
// any URN-qualified path (URN = everything before the last ":", Attr =
// "User"); telling it apart from an attribute is the resolver's job.
//
// Errors are *roster.Error with SCIMType roster.ScimInvalidPath, including
// errors inside the bracketed filter.
func ParsePatchPath(s string) (PatchPath, error) {
	p, err := newFilterParser(s, filterKindPath, filterMaxLen)
	if err != nil {
		return PatchPath{}, err
	}
	t, err := p.peek(0)
	if err != nil {
		return PatchPath{}, err
	}
	if t.kind != filterTokWord {
		return PatchPath{}, p.errAt(t.pos, "expected an attribute path, found %s", p.describe(t))
	}
	p.advance()
	path, err := p.parsePath(t)
	if err != nil {
		return PatchPath{}, err
	}
	var filter Expr
	n, err := p.peek(0)
	if err != nil {
		return PatchPath{}, err
	}
	if n.kind == filterTokLBracket {
		if filter, err = p.parseBracket(path, t); err != nil {
			return PatchPath{}, err
		}
		if n, err = p.peek(0); err != nil {
			return PatchPath{}, err
		}
		if sub, ok, err := p.parseSubAfterBracket(n); err != nil {
			return PatchPath{}, err
		} else if ok {
			path.Sub = sub
			if n, err = p.peek(0); err != nil {
				return PatchPath{}, err
			}
		}
	}
	if n.kind != filterTokEOF {
		return PatchPath{}, p.errAt(n.pos, "expected the end of the path after %s, found %s; a PATCH path is attr, attr.sub, attr[filter] or attr[filter].sub",
			p.describe(p.prev), p.describe(n))
	}
	return PatchPath{Path: path, Filter: filter}, nil
}

// filterKind selects the wording and SCIM error type of errors.
type filterKind int

const (
	filterKindFilter filterKind = iota
	filterKindPath
)

// filterTokKind is the kind of a lexical token.
type filterTokKind int

const (
	filterTokEOF      filterTokKind = iota
	filterTokWord                   // a run of bytes other than whitespace and ( ) [ ] "
	filterTokString                 // a JSON string; val holds the decoded text
	filterTokLParen                 // (
	filterTokRParen                 // )
	filterTokLBracket               // [
	filterTokRBracket               // ]
)

// filterToken is one lexical token. Attribute paths, keywords, operators,
// numbers and true/false/null are all words: which one a word is depends on
// where it appears, so the parser decides, not the lexer. This is what lets
// an attribute be called "not" or "pr" without special cases.
type filterToken struct {
	kind        filterTokKind
	text        string // source text (quotes included for strings)
	val         string // decoded value of a string token
	pos         int    // 0-based byte offset in the input
	spaceBefore bool   // whitespace directly precedes the token
}

// filterParser is the lexer and the recursive-descent parser in one: the
// parser pulls tokens through peek/advance, and the lexer runs only when the
// lookahead buffer is empty.
type filterParser struct {
	src   string
	off   int           // lexer position in src
	ahead []filterToken // lookahead buffer, at most two tokens
	prev  filterToken   // the last consumed token, for "after X" in messages
	kind  filterKind
	depth int // current nesting of parentheses and brackets
}

func newFilterParser(s string, kind filterKind, maxLen int) (*filterParser, error) {
	p := &filterParser{src: s, kind: kind}
	if len(s) > maxLen {
		return nil, p.errMsg("the %s is %d bytes long; the limit is %d bytes", p.noun(), len(s), maxLen)
	}
	if !utf8.ValidString(s) {
		for i := 0; i < len(s); {
			r, n := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && n <= 1 {
				return nil, p.errAt(i, "invalid UTF-8 byte 0x%02x", s[i])
			}
			i += n
		}
	}
	if strings.TrimLeft(s, " \t\r\n") == "" {
		return nil, p.errMsg("the %s is empty", p.noun())
	}
	return p, nil
}

// noun names the kind of input in messages.
func (p *filterParser) noun() string {
	if p.kind == filterKindPath {
		return "path"
	}
	return "filter"
}

// errMsg returns an error without a position: "invalid filter: ...".
func (p *filterParser) errMsg(format string, args ...any) error {
	return p.newErr("invalid "+p.noun()+": "+format, args...)
}

// errAt returns an error at a 0-based byte offset, reported 1-based:
// "invalid filter at position 10: ...".
func (p *filterParser) errAt(pos int, format string, args ...any) error {
	args = append([]any{p.noun(), pos + 1}, args...)
	return p.newErr("invalid %s at position %d: "+format, args...)
}

func (p *filterParser) newErr(format string, args ...any) error {
	t := roster.ScimInvalidFilter
	if p.kind == filterKindPath {
		t = roster.ScimInvalidPath
	}
	return roster.SCIMErrorf(t, format, args...)
}

// describe renders a token for "found X" and "after X", shortening long
// tokens so that a runaway string does not flood the message.
func (p *filterParser) describe(t filterToken) string {
	if t.kind == filterTokEOF {
		return "the end of the " + p.noun()
	}
	s := t.text
	const max = 40
	if len(s) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "..."
	}
	return strconv.Quote(s)
}

// errAfterExpr reports an unexpected token after a complete expression.
func (p *filterParser) errAfterExpr(t filterToken, expected string) error {
	if p.prev.kind == filterTokWord && strings.EqualFold(p.prev.text, "pr") && filterIsValueToken(t) {
		return p.errAt(t.pos, `"pr" (present) takes no value; found %s after it`, p.describe(t))
	}
	return p.errAt(t.pos, "expected %s after %s, found %s", expected, p.describe(p.prev), p.describe(t))
}

// filterIsValueToken reports whether t is a compValue: a string, a number,
// true, false or null.
func filterIsValueToken(t filterToken) bool {
	if t.kind == filterTokString {
		return true
	}
	if t.kind != filterTokWord {
		return false
	}
	switch strings.ToLower(t.text) {
	case "true", "false", "null":
		return true
	}
	return filterIsJSONNumber(t.text)
}

// peek returns the k-th token ahead (k is 0 or 1) without consuming it.
func (p *filterParser) peek(k int) (filterToken, error) {
	for len(p.ahead) <= k {
		t, err := p.lex()
		if err != nil {
			return filterToken{}, err
		}
		p.ahead = append(p.ahead, t)
	}
	return p.ahead[k], nil
}

// advance consumes the token returned by the last peek(0).
func (p *filterParser) advance() {
	p.prev = p.ahead[0]
	p.ahead = p.ahead[:copy(p.ahead, p.ahead[1:])]
}

func filterIsSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// lex scans the next token.
func (p *filterParser) lex() (filterToken, error) {
	start := p.off
	for p.off < len(p.src) && filterIsSpace(p.src[p.off]) {
		p.off++
	}
	t := filterToken{pos: p.off, spaceBefore: p.off > start}
	if p.off == len(p.src) {
		return t, nil
	}
	switch p.src[p.off] {
	case '(':
		t.kind = filterTokLParen
	case ')':
		t.kind = filterTokRParen
	case '[':
		t.kind = filterTokLBracket
	case ']':
		t.kind = filterTokRBracket
	case '"':
		return p.lexString(t)
	default:
		t.kind = filterTokWord
		end := p.off
		for end < len(p.src) && !filterIsSpace(p.src[end]) && !strings.ContainsRune(`()[]"`, rune(p.src[end])) {
			end++
		}
		t.text = p.src[p.off:end]
		p.off = end
		return t, nil
	}
	t.text = p.src[p.off : p.off+1]
	p.off++
	return t, nil
}

// lexString scans a JSON string (RFC 8259 §7) starting at the opening quote
// and decodes it. It is hand-written rather than strconv.Unquote (which
// accepts Go escapes such as \x41 and \' that JSON does not have) so that
// errors can point at the offending byte. Lone or mismatched UTF-16
// surrogates decode to U+FFFD, as encoding/json does.
func (p *filterParser) lexString(t filterToken) (filterToken, error) {
	t.kind = filterTokString
	s := p.src
	i := p.off + 1
	var b *strings.Builder // nil until the first escape
	chunk := i             // start of the not yet copied literal run
	for {
		if i >= len(s) {
			return t, p.errMsg(`unterminated string starting at position %d: missing the closing '"'`, t.pos+1)
		}
		c := s[i]
		switch {
		case c == '"':
			if b == nil {
				t.val = s[chunk:i]
			} else {
				b.WriteString(s[chunk:i])
				t.val = b.String()
			}
			t.text = s[t.pos : i+1]
			p.off = i + 1
			return t, nil
		case c < 0x20:
			return t, p.errAt(i, "control character U+%04X in a string must be escaped (for example \\n or \\u%04x)", c, c)
		case c != '\\':
			i++
			continue
		}
		// An escape sequence.
		if b == nil {
			b = new(strings.Builder)
		}
		b.WriteString(s[chunk:i])
		if i+1 >= len(s) {
			return t, p.errMsg(`unterminated string starting at position %d: missing the closing '"'`, t.pos+1)
		}
		switch e := s[i+1]; e {
		case '"', '\\', '/':
			b.WriteByte(e)
			i += 2
		case 'b':
			b.WriteByte('\b')
			i += 2
		case 'f':
			b.WriteByte('\f')
			i += 2
		case 'n':
			b.WriteByte('\n')
			i += 2
		case 'r':
			b.WriteByte('\r')
			i += 2
		case 't':
			b.WriteByte('\t')
			i += 2
		case 'u':
			r := filterHex4(s[i+2:])
			if r < 0 {
				return t, p.errAt(i, `invalid escape in string: "\u" must be followed by four hexadecimal digits`)
			}
			i += 6
			if utf16.IsSurrogate(r) {
				// A valid pair is a high surrogate followed by an escaped
				// low surrogate; anything else is replaced, as in
				// encoding/json.
				r2 := rune(-1)
				if i+1 < len(s) && s[i] == '\\' && s[i+1] == 'u' {
					r2 = filterHex4(s[i+2:])
				}
				if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
					r = dec
					i += 6
				} else {
					r = utf8.RuneError
				}
			}
			b.WriteRune(r)
		default:
			_, n := utf8.DecodeRuneInString(s[i+1:])
			esc := s[i : i+1+n]
			return t, p.errAt(i, `invalid escape %q in string; JSON strings allow \" \\ \/ \b \f \n \r \t and \uXXXX`, esc)
		}
		chunk = i
	}
}

// filterHex4 decodes four hexadecimal digits (either case) at the start of s,
// or returns -1.
func filterHex4(s string) rune {
	if len(s) < 4 {
		return -1
	}
	var r rune
	for i := 0; i < 4; i++ {
		c := s[i]
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return -1
		}
		r = r<<4 | rune(c)
	}
	return r
}

// parseOr parses `andExpr *("or" andExpr)`. inBracket is true inside a
// value path's brackets, where paths are relative and nesting is banned.
func (p *filterParser) parseOr(inBracket bool) (Expr, error) {
	return p.parseChain("or", inBracket, p.parseAnd)
}

// parseAnd parses `primary *("and" primary)`; "and" binds tighter than "or".
func (p *filterParser) parseAnd(inBracket bool) (Expr, error) {
	return p.parseChain("and", inBracket, p.parsePrimary)
}

// parseChain parses `operand *(op operand)` into a left-associative tree.
func (p *filterParser) parseChain(op string, inBracket bool, operand func(bool) (Expr, error)) (Expr, error) {
	left, err := operand(inBracket)
	if err != nil {
		return nil, err
	}
	for {
		t, err := p.peek(0)
		if err != nil {
			return nil, err
		}
		if t.kind != filterTokWord || !strings.EqualFold(t.text, op) {
			return left, nil
		}
		p.advance()
		right, err := operand(inBracket)
		if err != nil {
			return nil, err
		}
		left = &LogicalExpr{Op: op, Left: left, Right: right}
	}
}

// parsePrimary parses "(" FILTER ")", "not" "(" FILTER ")", an attribute
// expression, or (outside brackets) a value path.
func (p *filterParser) parsePrimary(inBracket bool) (Expr, error) {
	t, err := p.peek(0)
	if err != nil {
		return nil, err
	}
	switch t.kind {
	case filterTokLParen:
		p.advance()
		return p.parseGroup(t, inBracket)
	case filterTokWord:
		// "not", "and" and "or" are keywords only where an attribute path
		// cannot follow; an attribute may legally be called "not"
		// (`not eq 1`), so look one token ahead.
		n, err := p.peek(1)
		if err != nil {
			return nil, err
		}
		pathFollows := n.kind == filterTokLBracket || (n.kind == filterTokWord && filterIsCompareOp(n.text))
		if strings.EqualFold(t.text, "not") && !pathFollows {
			if n.kind != filterTokLParen {
				return nil, p.errAt(n.pos, `expected "(" after "not", found %s; write not (expression)`, p.describe(n))
			}
			p.advance()
			p.advance()
			x, err := p.parseGroup(n, inBracket)
			if err != nil {
				return nil, err
			}
			return &NotExpr{X: x}, nil
		}
		if (strings.EqualFold(t.text, "and") || strings.EqualFold(t.text, "or")) && !pathFollows {
			return nil, p.errExpectedExpr(t)
		}
		return p.parseAttrExp(inBracket)
	}
	return nil, p.errExpectedExpr(t)
}

// errExpectedExpr reports a token found where an expression should start.
func (p *filterParser) errExpectedExpr(t filterToken) error {
	if p.prev.kind == filterTokEOF && p.prev.text == "" {
		return p.errAt(t.pos, "expected an attribute path, \"(\" or \"not\" at the start of the filter, found %s", p.describe(t))
	}
	return p.errAt(t.pos, "expected an attribute path, \"(\" or \"not\" after %s, found %s", p.describe(p.prev), p.describe(t))
}

// parseGroup parses FILTER ")" after an opening parenthesis lp.
func (p *filterParser) parseGroup(lp filterToken, inBracket bool) (Expr, error) {
	if err := p.enter(lp); err != nil {
		return nil, err
	}
	x, err := p.parseOr(inBracket)
	if err != nil {
		return nil, err
	}
	t, err := p.peek(0)
	if err != nil {
		return nil, err
	}
	switch t.kind {
	case filterTokRParen:
		p.advance()
		p.depth--
		return x, nil
	case filterTokEOF:
		return nil, p.errMsg(`unbalanced parenthesis: "(" at position %d is never closed`, lp.pos+1)
	case filterTokRBracket:
		return nil, p.errAt(t.pos, `unbalanced parenthesis: expected ")" to close "(" at position %d, found "]"`, lp.pos+1)
	}
	return nil, p.errAfterExpr(t, `"and", "or" or ")"`)
}

// enter counts one level of nesting at the opening token t.
func (p *filterParser) enter(t filterToken) error {
	p.depth++
	if p.depth > filterMaxDepth {
		return p.errAt(t.pos, "the %s is nested too deeply: more than %d levels of parentheses and brackets", p.noun(), filterMaxDepth)
	}
	return nil
}

// parseAttrExp parses `attrPath "pr"`, `attrPath compareOp compValue`, and,
// outside brackets, `attrPath "[" valFilter "]"` optionally followed by the
// non-standard `"." subAttr (compareOp compValue / "pr")` (see ParseFilter).
func (p *filterParser) parseAttrExp(inBracket bool) (Expr, error) {
	t, _ := p.peek(0)
	p.advance()
	path, err := p.parsePath(t)
	if err != nil {
		return nil, err
	}
	n, err := p.peek(0)
	if err != nil {
		return nil, err
	}
	if inBracket {
		if n.kind == filterTokLBracket {
			return nil, p.errAt(n.pos, "nested value filters are not allowed: %s is already inside \"[...]\"", p.describe(t))
		}
		if path.URN != "" || path.Sub != "" {
			return nil, p.errAt(t.pos, "inside \"[...]\" attribute names are sub-attributes of the attribute before \"[\", so they take no schema URN or \".\"; found %s", p.describe(t))
		}
	}
	if n.kind != filterTokLBracket {
		return p.parseOpValue(path, t)
	}
	filter, err := p.parseBracket(path, t)
	if err != nil {
		return nil, err
	}
	n, err = p.peek(0)
	if err != nil {
		return nil, err
	}
	sub, ok, err := p.parseSubAfterBracket(n)
	if err != nil {
		return nil, err
	}
	if ok {
		last, err := p.parseOpValue(Path{Attr: sub}, n)
		if err != nil {
			return nil, err
		}
		filter = &LogicalExpr{Op: "and", Left: filter, Right: last}
	}
	return &ValuePathExpr{Path: path, Filter: filter}, nil
}

// parseBracket parses "[" valFilter "]" after the attribute path token
// pathTok whose parsed form is path.
func (p *filterParser) parseBracket(path Path, pathTok filterToken) (Expr, error) {
	lb, _ := p.peek(0)
	if lb.spaceBefore {
		return nil, p.errAt(lb.pos, "unexpected space before \"[\": a value filter must directly follow the attribute name, as in %s", strconv.Quote(pathTok.text+"[...]"))
	}
	if path.Sub != "" {
		return nil, p.errAt(lb.pos, "a value filter \"[...]\" must follow a multi-valued attribute, not the sub-attribute path %s; write attr[filter].sub", p.describe(pathTok))
	}
	p.advance()
	if err := p.enter(lb); err != nil {
		return nil, err
	}
	if n, err := p.peek(0); err != nil {
		return nil, err
	} else if n.kind == filterTokRBracket {
		return nil, p.errAt(n.pos, "empty value filter \"[]\" after %s", p.describe(pathTok))
	}
	filter, err := p.parseOr(true)
	if err != nil {
		return nil, err
	}
	t, err := p.peek(0)
	if err != nil {
		return nil, err
	}
	switch t.kind {
	case filterTokRBracket:
		p.advance()
		p.depth--
		return filter, nil
	case filterTokEOF:
		return nil, p.errMsg(`missing "]": "[" at position %d is never closed`, lb.pos+1)
	case filterTokRParen:
		return nil, p.errAt(t.pos, `unbalanced parenthesis: ")" has no matching "(" inside "[...]"`)
	}
	return nil, p.errAfterExpr(t, `"and", "or" or "]"`)
}

// parseSubAfterBracket consumes a ".sub" word directly after "]", if t is
// one, and returns the sub-attribute name.
func (p *filterParser) parseSubAfterBracket(t filterToken) (string, bool, error) {
	if t.kind != filterTokWord || t.text[0] != '.' {
		return "", false, nil
	}
	if t.spaceBefore {
		return "", false, p.errAt(t.pos, "unexpected space before %s: a sub-attribute must directly follow \"]\"", p.describe(t))
	}
	p.advance()
	name := t.text[1:]
	if i := strings.IndexByte(name, '.'); i >= 0 {
		return "", false, p.errAt(t.pos+1+i, "too many \".\" in %s: only one sub-attribute may follow \"]\"", p.describe(t))
	}
	if err := p.checkName(name, t.pos+1, "sub-attribute name", t); err != nil {
		return "", false, err
	}
	return name, true, nil
}

// parseOpValue parses `compareOp compValue` or "pr" after path (from the
// token pathTok).
func (p *filterParser) parseOpValue(path Path, pathTok filterToken) (Expr, error) {
	op, err := p.peek(0)
	if err != nil {
		return nil, err
	}
	if op.kind != filterTokWord || !filterIsCompareOp(op.text) {
		return nil, p.errAt(op.pos, "expected a comparison operator (%s) after %s, found %s",
			filterCompareOpList, p.describe(pathTok), p.describe(op))
	}
	p.advance()
	name := strings.ToLower(op.text)
	if name == "pr" {
		return &CompareExpr{Path: path, Op: name}, nil
	}
	v, err := p.peek(0)
	if err != nil {
		return nil, err
	}
	var value any
	switch {
	case v.kind == filterTokString:
		value = v.val
	case v.kind == filterTokWord && !strings.EqualFold(v.text, "and") && !strings.EqualFold(v.text, "or"):
		switch w := v.text; {
		case strings.EqualFold(w, "true"):
			value = true
		case strings.EqualFold(w, "false"):
			value = false
		case strings.EqualFold(w, "null"):
			value = nil
		case filterIsJSONNumber(w):
			value = json.Number(w)
		case strings.Trim(w, "0123456789+-.eE") == "":
			return nil, p.errAt(v.pos, "invalid number %s after %q: numbers use JSON syntax, such as 42, -1.5 or 1e3 (no leading zeros, \"+\" or bare \".\")",
				p.describe(v), name)
		default:
			hint := strings.Trim(w, "'")
			return nil, p.errAt(v.pos, "invalid value %s after %q: expected a JSON string, number, true, false or null; strings must be in double quotes, as in %s",
				p.describe(v), name, strconv.Quote(hint))
		}
	default:
		return nil, p.errAt(v.pos, "missing value after %q: expected a JSON string, number, true, false or null, found %s", name, p.describe(v))
	}
	p.advance()
	return &CompareExpr{Path: path, Op: name, Value: value}, nil
}

// filterIsJSONNumber reports whether s matches the JSON number grammar of
// RFC 8259 §6: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func filterIsJSONNumber(s string) bool {
	i := 0
	digits := func() int {
		start := i
		for i < len(s) && '0' <= s[i] && s[i] <= '9' {
			i++
		}
		return i - start
	}
	if i < len(s) && s[i] == '-' {
		i++
	}
	if i < len(s) && s[i] == '0' {
		i++
	} else if digits() == 0 {
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if digits() == 0 {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	return i == len(s)
}

// parsePath splits and validates the attribute path in word token t:
// [URI ":"] ATTRNAME ["." ATTRNAME]. The URI is everything before the last
// ":"; it may itself contain dots (as in "2.0"), so only the part after the
// last ":" is split on ".".
func (p *filterParser) parsePath(t filterToken) (Path, error) {
	s := t.text
	var path Path
	rest, restPos := s, t.pos
	if i := strings.LastIndexByte(s, ':'); i >= 0 {
		path.URN = s[:i]
		if err := p.checkURN(path.URN, t); err != nil {
			return Path{}, err
		}
		rest, restPos = s[i+1:], t.pos+i+1
		if rest == "" {
			return Path{}, p.errAt(restPos, "missing attribute name after the schema URN in %s", p.describe(t))
		}
	}
	attr, sub, hasSub := strings.Cut(rest, ".")
	if err := p.checkName(attr, restPos, "attribute name", t); err != nil {
		return Path{}, err
	}
	path.Attr = attr
	if hasSub {
		subPos := restPos + len(attr) + 1
		if i := strings.IndexByte(sub, '.'); i >= 0 {
			return Path{}, p.errAt(subPos+i, "too many \".\" in %s: an attribute path is attr or attr.subAttr", p.describe(t))
		}
		if err := p.checkName(sub, subPos, "sub-attribute name", t); err != nil {
			return Path{}, err
		}
		path.Sub = sub
	}
	return path, nil
}

// checkName validates ATTRNAME = ALPHA *(ALPHA / DIGIT / "-" / "_"), or the
// special name "$ref" (RFC 7643 §2.1), found at pos inside token t.
func (p *filterParser) checkName(name string, pos int, what string, t filterToken) error {
	if name == "" {
		return p.errAt(pos, "missing %s in %s", what, p.describe(t))
	}
	if strings.EqualFold(name, "$ref") {
		return nil
	}
	if !filterIsAlpha(name[0]) {
		in := ""
		if name != t.text {
			in = " in " + p.describe(t)
		}
		return p.errAt(pos, "%s %q%s must start with a letter", what, filterShort(name), in)
	}
	for i := 1; i < len(name); i++ {
		c := name[i]
		if !filterIsAlpha(c) && !('0' <= c && c <= '9') && c != '-' && c != '_' {
			r, _ := utf8.DecodeRuneInString(name[i:])
			return p.errAt(pos+i, "invalid character %q in %s %s; names contain only letters, digits, \"-\" and \"_\"", r, what, p.describe(t))
		}
	}
	return nil
}

// checkURN validates the schema URI prefix of an attribute path: a URI
// scheme, ":", and only URI characters (RFC 3986 unreserved, reserved and
// "%"). It is deliberately not limited to "urn:" so that extension schemas
// named by URL still parse.
func (p *filterParser) checkURN(urn string, t filterToken) error {
	colon := strings.IndexByte(urn, ':')
	bad := colon <= 0 || !filterIsAlpha(urn[0])
	for i := 1; !bad && i < colon; i++ {
		c := urn[i]
		bad = !filterIsAlpha(c) && !('0' <= c && c <= '9') && c != '+' && c != '-' && c != '.'
	}
	if bad {
		return p.errAt(t.pos, "invalid attribute path %s: the part before the last \":\" must be a schema URN such as %q",
			p.describe(t), EnterpriseSchema)
	}
	for i := 0; i < len(urn); i++ {
		c := urn[i]
		if !filterIsAlpha(c) && !('0' <= c && c <= '9') && !strings.ContainsRune("-._~:/?#@!$&'*+,;=%", rune(c)) {
			r, _ := utf8.DecodeRuneInString(urn[i:])
			return p.errAt(t.pos+i, "invalid character %q in the schema URN of %s", r, p.describe(t))
		}
	}
	return nil
}

func filterIsAlpha(c byte) bool { return 'A' <= c&^0x20 && c&^0x20 <= 'Z' }

// filterShort shortens s for a message.
func filterShort(s string) string {
	const max = 40
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}

// FormatFilter renders a filter in SCIM syntax, for logs and for tests.
// ParseFilter(FormatFilter(e)) yields an Expr equal to e for every e that
// ParseFilter produced: keywords and operators are written in lower case,
// strings as JSON strings, and parentheses only where precedence or the tree
// shape needs them (an "or" under an "and", and a right operand with the
// same operator, since both operators associate to the left). A value path
// whose filter came from the non-standard `attr[f].sub op v` form is written
// as `attr[f and sub op v]`, which parses to the same tree.
//
// FormatFilter(nil) is "". Values of types ParseFilter never produces are
// written as JSON when possible.
func FormatFilter(e Expr) string {
	var b strings.Builder
	filterFormat(&b, e)
	return b.String()
}

func filterFormat(b *strings.Builder, e Expr) {
	switch e := e.(type) {
	case *CompareExpr:
		if e == nil {
			return
		}
		b.WriteString(e.Path.String())
		b.WriteByte(' ')
		b.WriteString(e.Op)
		if e.Op != "pr" {
			b.WriteByte(' ')
			filterFormatValue(b, e.Value)
		}
	case *LogicalExpr:
		if e == nil {
			return
		}
		left, _ := e.Left.(*LogicalExpr)
		filterFormatOperand(b, e.Left, left != nil && left.Op == "or" && e.Op == "and")
		b.WriteByte(' ')
		b.WriteString(e.Op)
		b.WriteByte(' ')
		right, _ := e.Right.(*LogicalExpr)
		filterFormatOperand(b, e.Right, right != nil && (right.Op == e.Op || right.Op == "or"))
	case *NotExpr:
		if e == nil {
			return
		}
		b.WriteString("not (")
		filterFormat(b, e.X)
		b.WriteByte(')')
	case *ValuePathExpr:
		if e == nil {
			return
		}
		b.WriteString(e.Path.String())
		b.WriteByte('[')
		filterFormat(b, e.Filter)
		b.WriteByte(']')
	}
}

func filterFormatOperand(b *strings.Builder, e Expr, paren bool) {
	if paren {
		b.WriteByte('(')
	}
	filterFormat(b, e)
	if paren {
		b.WriteByte(')')
	}
}

func filterFormatValue(b *strings.Builder, v any) {
	switch v := v.(type) {
	case nil:
		b.WriteString("null")
	case string:
		filterQuote(b, v)
	case bool:
		b.WriteString(strconv.FormatBool(v))
	case json.Number:
		b.WriteString(string(v))
	default:
		if j, err := json.Marshal(v); err == nil {
			b.Write(j)
		} else {
			filterQuote(b, "")
		}
	}
}

// filterQuote writes s as a JSON string, escaping only what JSON requires
// (quote, backslash, control characters). Unlike json.Marshal it leaves
// <, >, &, U+2028 and U+2029 alone, so the output is no longer than needed.
func filterQuote(b *strings.Builder, s string) {
	const hex = "0123456789abcdef"
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '"', '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		default:
			if c < 0x20 {
				b.WriteString(`\u00`)
				b.WriteByte(hex[c>>4])
				b.WriteByte(hex[c&0xf])
			} else {
				b.WriteByte(c)
			}
		}
	}
	b.WriteByte('"')
}
