package expr

import (
	"fmt"
	"strings"
	"unicode"
)

// Lengths and positions (Left, Mid) count Unicode code points; .NET counts
// UTF-16 code units, which differs only outside the Basic Multilingual
// Plane (emoji, rare CJK).

func init() {
	register(map[string]builtin{
		"Append":      fnAppend,
		"Coalesce":    fnCoalesce,
		"CStr":        fnCStr,
		"Join":        fnJoin,
		"Left":        fnLeft,
		"Mid":         fnMid,
		"StripSpaces": fnStripSpaces,
		"Switch":      fnSwitch,
		"ToLower":     fnCase(strings.ToLower, func(s string) string { return strings.ToLowerSpecial(unicode.TurkishCase, s) }),
		"ToUpper":     fnCase(strings.ToUpper, func(s string) string { return strings.ToUpperSpecial(unicode.TurkishCase, s) }),
		"Word":        fnWord,
	})
}

// text evaluates argument i as one string (null is "").
func (ev *evaluator) text(c *Call, i int, what string) (string, error) {
	v, err := ev.arg(c, i)
	if err != nil {
		return "", err
	}
	return single(v, what)
}

// textOrNull is text for the many functions whose null source gives null:
// ok is false when argument i is null.
func (ev *evaluator) textOrNull(c *Call, i int, what string) (s string, ok bool, err error) {
	v, err := ev.arg(c, i)
	if err != nil || v.IsNull() {
		return "", false, err
	}
	s, err = single(v, what)
	return s, err == nil, err
}

// Append(source, suffix): source followed by suffix; a null side counts
// as "", so the result is always a string.
func fnAppend(ev *evaluator, c *Call) (Value, error) {
	s, err := ev.text(c, 0, "source")
	if err != nil {
		return Null, err
	}
	x, err := ev.text(c, 1, "suffix")
	if err != nil {
		return Null, err
	}
	return String(s + x), nil
}

// Coalesce(source1, …, defaultValue): the first argument that is not null
// ("" is not null), evaluated left to right and no further; null if all
// are. The last argument being "the default" changes nothing.
func fnCoalesce(ev *evaluator, c *Call) (Value, error) {
	for _, a := range c.Args {
		v, err := ev.eval(a)
		if err != nil || !v.IsNull() {
			return v, err
		}
	}
	return Null, nil
}

// CStr(value): the string form of a number, boolean ("True"/"False") or
// string; null stays null.
func fnCStr(ev *evaluator, c *Call) (Value, error) {
	v, err := ev.arg(c, 0)
	if err != nil || v.IsNull() {
		return Null, err
	}
	s, err := single(v, "value")
	return String(s), err
}

// Join(separator, source1, …): the non-empty values of the sources joined
// with separator; every value of a multi-valued source is joined. Null and
// "" sources are skipped (the documented Join(", ", "", [surname],
// [givenName]) gives "Doe, John").
func fnJoin(ev *evaluator, c *Call) (Value, error) {
	sep, err := ev.text(c, 0, "separator")
	if err != nil {
		return Null, err
	}
	var b strings.Builder
	first := true
	for i := 1; i < len(c.Args); i++ {
		v, err := ev.eval(c.Args[i])
		if err != nil {
			return Null, err
		}
		for _, e := range v.values() {
			s := e.String()
			if s == "" {
				continue
			}
			if b.Len()+len(sep)+len(s) > MaxValueLen {
				return Null, fmt.Errorf("result longer than %d bytes", MaxValueLen)
			}
			if !first {
				b.WriteString(sep)
			}
			b.WriteString(s)
			first = false
		}
	}
	return String(b.String()), nil
}

// Left(String, NumChars): the first NumChars characters; 0 gives "", a
// negative count the whole input, a null string "" (all documented).
func fnLeft(ev *evaluator, c *Call) (Value, error) {
	s, err := ev.text(c, 0, "String")
	if err != nil {
		return Null, err
	}
	n, err := ev.int(c, 1, "NumChars")
	if err != nil {
		return Null, err
	}
	r := []rune(s)
	if n < 0 || n >= len(r) {
		return String(s), nil
	}
	return String(string(r[:n])), nil
}

// int evaluates argument i as an integer.
func (ev *evaluator) int(c *Call, i int, what string) (int, error) {
	v, err := ev.arg(c, i)
	if err != nil {
		return 0, err
	}
	return integer(v, what)
}

// Mid(source, start, length): length characters from the 1-based start; a
// length past the end stops at the end (documented), a start past the end
// gives "", a null source "" (as Left). A start below 1 or a negative
// length is an error, as in VB ("Invalid procedure call").
func fnMid(ev *evaluator, c *Call) (Value, error) {
	s, err := ev.text(c, 0, "source")
	if err != nil {
		return Null, err
	}
	start, err := ev.int(c, 1, "start")
	if err != nil {
		return Null, err
	}
	n, err := ev.int(c, 2, "length")
	if err != nil {
		return Null, err
	}
	if start < 1 {
		return Null, fmt.Errorf("start %d: positions start at 1", start)
	}
	if n < 0 {
		return Null, fmt.Errorf("length %d is negative", n)
	}
	r := []rune(s)
	if start > len(r) {
		return String(""), nil
	}
	r = r[start-1:]
	if n < len(r) {
		r = r[:n]
	}
	return String(string(r)), nil
}

// StripSpaces(source): source without its space characters (U+0020 only,
// as documented; tabs and other white space stay). Null stays null.
func fnStripSpaces(ev *evaluator, c *Call) (Value, error) {
	v, err := ev.arg(c, 0)
	if err != nil || v.IsNull() {
		return Null, err
	}
	s, err := single(v, "source")
	return String(strings.ReplaceAll(s, " ", "")), err
}

// Switch(source, defaultValue, key1, value1, …): the value of the first key
// equal to source (case-sensitive), else defaultValue (an omitted default
// is null). Only the keys up to the match and the chosen value are
// evaluated. A null source matches the key "": the reference's workaround
// Switch([country],[country],"","Other") is meant for a missing country too.
func fnSwitch(ev *evaluator, c *Call) (Value, error) {
	src, err := ev.text(c, 0, "source")
	if err != nil {
		return Null, err
	}
	for i := 2; i+1 < len(c.Args); i += 2 {
		k, err := ev.text(c, i, fmt.Sprintf("key %d", i/2))
		if err != nil {
			return Null, err
		}
		if k == src {
			return ev.eval(c.Args[i+1])
		}
	}
	return ev.eval(c.Args[1])
}

// ToLower/ToUpper(source, culture): case mapping of the invariant culture;
// the Turkish and Azeri cultures (tr, tr-TR, az, az-…) map dotted and dotless
// i their way; other cultures behave as invariant. Null stays null.
func fnCase(invariant, turkish func(string) string) builtin {
	return func(ev *evaluator, c *Call) (Value, error) {
		s, ok, err := ev.textOrNull(c, 0, "source")
		if err != nil || !ok {
			return Null, err
		}
		culture, err := ev.text(c, 1, "culture")
		if err != nil {
			return Null, err
		}
		lang, _, _ := strings.Cut(strings.ToLower(culture), "-")
		if lang == "tr" || lang == "az" {
			return String(turkish(s)), nil
		}
		return String(invariant(s)), nil
	}
}

// Word(String, WordNumber, Delimiters): the WordNumber-th (1-based) word,
// words being runs of characters none of which is in Delimiters; "" when
// WordNumber < 1, the string is null or has fewer words (documented).
func fnWord(ev *evaluator, c *Call) (Value, error) {
	s, err := ev.text(c, 0, "String")
	if err != nil {
		return Null, err
	}
	n, err := ev.int(c, 1, "WordNumber")
	if err != nil {
		return Null, err
	}
	delims, err := ev.text(c, 2, "Delimiters")
	if err != nil {
		return Null, err
	}
	words := strings.FieldsFunc(s, func(r rune) bool { return strings.ContainsRune(delims, r) })
	if n < 1 || n > len(words) {
		return String(""), nil
	}
	return String(words[n-1]), nil
}
