package expr

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf16"
)

func init() {
	register(map[string]builtin{
		"BitAnd":           fnBitAnd,
		"ConvertToBase64":  fnConvertToBase64,
		"ConvertToUTF8Hex": fnConvertToUTF8Hex,
		"Guid":             fnGuid,
		"InStr":            fnInStr,
		"Now":              fnNow,
		"PCase":            fnPCase,
		"Redact":           fnRedact,
		"RemoveDuplicates": fnRemoveDuplicates,
	})
}

// dateLayout is how Entra prints a DateTime: M/d/yyyy h:mm:ss tt, in UTC.
const dateLayout = "1/2/2006 3:04:05 PM"

// BitAnd(value1, value2): the bitwise AND of two integers (decimal, hex
// literal or a string of digits).
func fnBitAnd(ev *evaluator, c *Call) (Value, error) {
	var bits [2]uint64
	negative := false
	for i := range bits {
		s, err := ev.text(c, i, fmt.Sprintf("value%d", i+1))
		if err != nil {
			return Null, err
		}
		s = strings.TrimSpace(s)
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			bits[i], negative = uint64(n), negative || n < 0
		} else if bits[i], err = strconv.ParseUint(s, 10, 64); err != nil {
			return Null, fmt.Errorf("value%d: %q is not a 64-bit integer", i+1, s)
		}
	}
	// Hex literals up to &HFFFFFFFFFFFFFFFF are unsigned; a negative
	// operand makes the result a signed Long, as in VB.
	r := bits[0] & bits[1]
	if negative {
		return intValue(int64(r)), nil
	}
	return Number(strconv.FormatUint(r, 10)), nil
}

// ConvertToBase64(source): base64 of source's UTF-16LE bytes ("Unicode" in
// .NET). Null stays null.
func fnConvertToBase64(ev *evaluator, c *Call) (Value, error) {
	s, ok, err := ev.textOrNull(c, 0, "source")
	if err != nil || !ok {
		return Null, err
	}
	u := utf16.Encode([]rune(s))
	b := make([]byte, 2*len(u))
	for i, x := range u {
		b[2*i], b[2*i+1] = byte(x), byte(x>>8)
	}
	return String(base64.StdEncoding.EncodeToString(b)), nil
}

// ConvertToUTF8Hex(source): source's UTF-8 bytes in upper-case hex. Null
// stays null.
func fnConvertToUTF8Hex(ev *evaluator, c *Call) (Value, error) {
	v, err := ev.arg(c, 0)
	if err != nil || v.IsNull() {
		return Null, err
	}
	s, err := single(v, "source")
	return String(strings.ToUpper(hex.EncodeToString([]byte(s)))), err
}

// Guid(): a random (version 4) GUID in lower case, from Env.Rand.
func fnGuid(ev *evaluator, c *Call) (Value, error) {
	r := ev.env.Rand
	if r == nil {
		r = rand.Reader
	}
	var b [16]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return Null, fmt.Errorf("reading randomness: %w", err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return String(h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]), nil
}

// Now(): the current time from Env.Now, in UTC, as M/d/yyyy h:mm:ss tt.
func fnNow(ev *evaluator, c *Call) (Value, error) {
	return String(ev.now().Format(dateLayout)), nil
}

// now is Env.Now, or the system clock, in UTC.
func (ev *evaluator) now() time.Time {
	if ev.env.Now != nil {
		return ev.env.Now().UTC()
	}
	return time.Now().UTC()
}

// InStr(value1, value2, start, compareType): the 1-based character
// position of value2 in value1 from start (default 1), 0 if absent (VB).
// compareType vbBinaryCompare (or 0, the default) is case-sensitive,
// vbTextCompare (or 1) is not. A null value1 gives null; an empty value2
// gives start; start < 1 is an error, as in VB.
func fnInStr(ev *evaluator, c *Call) (Value, error) {
	s, ok, err := ev.textOrNull(c, 0, "value1")
	if err != nil || !ok {
		return Null, err
	}
	find, err := ev.text(c, 1, "value2")
	if err != nil {
		return Null, err
	}
	start := 1
	if given(c, 2) {
		if start, err = ev.int(c, 2, "start"); err != nil {
			return Null, err
		}
		if start < 1 {
			return Null, fmt.Errorf("start %d: positions start at 1", start)
		}
	}
	fold := false
	if given(c, 3) {
		switch a := c.Args[3].(type) {
		case *Ident:
			switch a.Name {
			case "vbTextCompare":
				fold = true
			case "vbBinaryCompare":
			default:
				return Null, fmt.Errorf("compareType: %s is not vbTextCompare or vbBinaryCompare", a.Name)
			}
		default:
			n, err := ev.int(c, 3, "compareType")
			if err != nil {
				return Null, err
			}
			if n != 0 && n != 1 {
				return Null, fmt.Errorf("compareType %d is not 0 or 1", n)
			}
			fold = n == 1
		}
	}
	hay, needle := []rune(s), []rune(find)
	if start > len(hay)+1 {
		return intValue(0), nil
	}
	if len(needle) == 0 {
		return intValue(int64(start)), nil
	}
	eq := func(a, b rune) bool { return a == b || fold && unicode.ToLower(a) == unicode.ToLower(b) }
	for i := start - 1; i+len(needle) <= len(hay); i++ {
		j := 0
		for j < len(needle) && eq(hay[i+j], needle[j]) {
			j++
		}
		if j == len(needle) {
			return intValue(int64(i + 1)), nil
		}
	}
	return intValue(0), nil
}

// PCase(source, wordSeparators): every word with its first character in
// upper case and the rest in lower case (lower-casing first, unlike raw
// .NET ToTitleCase, which leaves all-caps words alone). Without
// wordSeparators, words are separated by white space, control and format
// characters, punctuation and symbols (the Unicode categories of .NET's
// ToTitleCase); with it, by exactly those characters. Null stays null.
func fnPCase(ev *evaluator, c *Call) (Value, error) {
	s, ok, err := ev.textOrNull(c, 0, "source")
	if err != nil || !ok {
		return Null, err
	}
	isSep := func(r rune) bool {
		return unicode.In(r, unicode.Z, unicode.Cc, unicode.Cf, unicode.P, unicode.S)
	}
	if given(c, 1) {
		seps, err := ev.text(c, 1, "wordSeparators")
		if err != nil {
			return Null, err
		}
		isSep = func(r rune) bool { return strings.ContainsRune(seps, r) }
	}
	var b strings.Builder
	inWord := false
	for _, r := range s {
		switch {
		case isSep(r):
			inWord = false
			b.WriteRune(r)
		case inWord:
			b.WriteRune(unicode.ToLower(r))
		default:
			inWord = true
			b.WriteRune(unicode.ToTitle(r))
		}
	}
	return String(b.String()), nil
}

// RemoveDuplicates(attribute): the values without repeats (case-sensitive,
// first occurrence kept, order kept). A single value or null is returned
// as is.
func fnRemoveDuplicates(ev *evaluator, c *Call) (Value, error) {
	v, err := ev.arg(c, 0)
	if err != nil || v.Kind != ListKind {
		return v, err
	}
	seen := map[string]bool{}
	var out []Value
	for _, e := range v.List {
		k := fmt.Sprintf("%d:%s", e.Kind, e.String())
		if !seen[k] {
			seen[k] = true
			out = append(out, e)
		}
	}
	return Value{Kind: ListKind, List: out}, nil
}

// Redact(value): value, unchanged: it still flows to the target. What
// Redact changes is the provisioning log, which shows "[Redact]" instead of
// the value of any mapping that calls it (the engine asks Expr.Calls).
func fnRedact(ev *evaluator, c *Call) (Value, error) { return ev.arg(c, 0) }
