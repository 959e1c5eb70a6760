package expr

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
)

func init() {
	register(map[string]builtin{"Replace": fnReplace})
}

// Replace argument positions (0-based).
const (
	rSource = iota
	rOldValue
	rRegexPattern
	rRegexGroupName
	rReplacementValue
	rReplacementAttributeName
	rTemplate
)

// given reports whether argument i is written (not omitted). Replace picks
// its mode from which arguments are written, not from their values, so
// Replace([mail], "@contoso.com", , , "", , ) replaces with "" and a
// replacementAttributeName that is null at run time still selects mode 5.
func given(c *Call, i int) bool {
	if i >= len(c.Args) {
		return false
	}
	_, empty := c.Args[i].(*Empty)
	return !empty
}

// Replace(source, oldValue, regexPattern, regexGroupName, replacementValue,
// replacementAttributeName, template), case-sensitive, in the documented
// modes:
//
//  1. oldValue, replacementValue: every oldValue in source replaced.
//  2. oldValue, template: every oldValue in template replaced by source.
//  3. regexPattern, replacementValue: every match in source replaced by
//     replacementValue, which may refer to groups as ${name}, $1, $$, $&
//     (the .NET substitutions; other $ sequences are literal, as in .NET).
//  4. regexPattern, regexGroupName, replacementValue: within every match,
//     the text of that group replaced by replacementValue (literally).
//  5. regexPattern, regexGroupName, replacementAttributeName: source if it
//     is not null or empty; else the group's text in the first match of the
//     pattern against replacementAttributeName (source if none).
//
// A null source gives null (modes 1–4). An empty oldValue leaves source
// unchanged. Any other combination of arguments is an error.
//
// Patterns are Go RE2, not .NET: named groups (?<name>…) and (?P<name>…),
// classes, anchors and quantifiers behave alike, but lookarounds,
// backreferences (\1, \k<name>), atomic groups and possessive quantifiers
// are refused with an error, and \d, \w, \s match ASCII only.
func fnReplace(ev *evaluator, c *Call) (Value, error) {
	src, err := ev.arg(c, rSource)
	if err != nil {
		return Null, err
	}
	text := func(i int, what string) (string, error) { return ev.text(c, i, what) }
	switch {
	case given(c, rOldValue) && given(c, rRegexPattern):
		return Null, errors.New("give oldValue or regexPattern, not both")
	case given(c, rOldValue):
		old, err := text(rOldValue, "oldValue")
		if err != nil {
			return Null, err
		}
		var in, with string
		switch {
		case given(c, rTemplate):
			if src.IsNull() {
				return Null, nil
			}
			if in, err = text(rTemplate, "template"); err != nil {
				return Null, err
			}
			if with, err = single(src, "source"); err != nil {
				return Null, err
			}
		case given(c, rReplacementValue):
			if src.IsNull() {
				return Null, nil
			}
			if in, err = single(src, "source"); err != nil {
				return Null, err
			}
			if with, err = text(rReplacementValue, "replacementValue"); err != nil {
				return Null, err
			}
		default:
			return Null, errors.New("oldValue needs a replacementValue or a template")
		}
		if old == "" {
			return String(in), nil
		}
		if n := strings.Count(in, old); len(in)+n*(len(with)-len(old)) > MaxValueLen {
			return Null, fmt.Errorf("result longer than %d bytes", MaxValueLen)
		}
		return String(strings.ReplaceAll(in, old, with)), nil
	case given(c, rRegexPattern):
		pat, err := text(rRegexPattern, "regexPattern")
		if err != nil {
			return Null, err
		}
		re, err := compile(pat)
		if err != nil {
			return Null, err
		}
		group := -1
		if given(c, rRegexGroupName) {
			name, err := text(rRegexGroupName, "regexGroupName")
			if err != nil {
				return Null, err
			}
			if group = groupIndex(re, name); group < 0 {
				return Null, fmt.Errorf("regexPattern has no group %q", name)
			}
		}
		switch {
		case group >= 0 && given(c, rReplacementAttributeName):
			if !nullOrEmpty(src) {
				return src, nil
			}
			from, err := text(rReplacementAttributeName, "replacementAttributeName")
			if err != nil {
				return Null, err
			}
			m := re.FindStringSubmatchIndex(from)
			if m == nil || m[2*group] < 0 {
				return src, nil
			}
			return String(from[m[2*group]:m[2*group+1]]), nil
		case given(c, rReplacementValue):
			if src.IsNull() {
				return Null, nil
			}
			in, err := single(src, "source")
			if err != nil {
				return Null, err
			}
			with, err := text(rReplacementValue, "replacementValue")
			if err != nil {
				return Null, err
			}
			out, err := regexReplace(re, in, with, group)
			return String(out), err
		}
		return Null, errors.New("regexPattern needs a replacementValue, or a regexGroupName and a replacementAttributeName")
	}
	return Null, errors.New("give an oldValue or a regexPattern")
}

// regexReplace replaces every match of re in s: the whole match with the
// expansion of with (group < 0), or only group's text with with, literally.
func regexReplace(re *regexp.Regexp, s, with string, group int) (string, error) {
	var b strings.Builder
	last := 0
	for _, m := range re.FindAllStringSubmatchIndex(s, -1) {
		from, to := m[0], m[1]
		if group >= 0 {
			from, to = m[2*group], m[2*group+1]
			if from < 0 {
				continue // the group did not take part in this match
			}
		}
		b.WriteString(s[last:from])
		if group >= 0 {
			b.WriteString(with)
		} else {
			expand(&b, re, with, s, m)
		}
		last = to
		if b.Len() > MaxValueLen {
			return "", fmt.Errorf("result longer than %d bytes", MaxValueLen)
		}
	}
	b.WriteString(s[last:])
	return b.String(), nil
}

// expand writes the .NET substitution template with for match m of s:
// ${name} and ${n}, $n (digits), $$ and $&; a reference to a group that
// does not exist, and any other $, are written literally.
func expand(b *strings.Builder, re *regexp.Regexp, with, s string, m []int) {
	group := func(i int) {
		if m[2*i] >= 0 {
			b.WriteString(s[m[2*i]:m[2*i+1]])
		}
	}
	for i := 0; i < len(with); i++ {
		if with[i] != '$' || i+1 == len(with) {
			b.WriteByte(with[i])
			continue
		}
		switch r := with[i+1]; {
		case r == '$':
			b.WriteByte('$')
			i++
		case r == '&':
			group(0)
			i++
		case r == '{':
			end := strings.IndexByte(with[i:], '}')
			if end < 0 {
				b.WriteByte('$')
				continue
			}
			if g := groupIndex(re, with[i+2:i+end]); g >= 0 {
				group(g)
				i += end
			} else {
				b.WriteByte('$')
			}
		case r >= '0' && r <= '9':
			// .NET takes the longest run of digits that names a group.
			j := i + 1
			for j < len(with) && with[j] >= '0' && with[j] <= '9' {
				j++
			}
			for ; j > i+1; j-- {
				if g, err := strconv.Atoi(with[i+1 : j]); err == nil && g <= re.NumSubexp() {
					break
				}
			}
			if j == i+1 {
				b.WriteByte('$')
				continue
			}
			g, _ := strconv.Atoi(with[i+1 : j])
			group(g)
			i = j - 1
		default:
			b.WriteByte('$')
		}
	}
}

// groupIndex finds a group by name, or by number as .NET allows; -1 if none.
func groupIndex(re *regexp.Regexp, name string) int {
	if i := re.SubexpIndex(name); i >= 0 {
		return i
	}
	if i, err := strconv.Atoi(name); err == nil && i >= 0 && i <= re.NumSubexp() && name == strconv.Itoa(i) {
		return i
	}
	return -1
}

// compiled caches patterns: mappings reuse a handful of constant patterns.
var compiled = struct {
	sync.Mutex
	m map[string]*regexp.Regexp
}{m: map[string]*regexp.Regexp{}}

func compile(pat string) (*regexp.Regexp, error) {
	compiled.Lock()
	re := compiled.m[pat]
	compiled.Unlock()
	if re != nil {
		return re, nil
	}
	re, err := regexp.Compile(pat)
	if err != nil {
		return nil, fmt.Errorf("regexPattern (Go RE2 syntax, no lookarounds or backreferences): %w", err)
	}
	compiled.Lock()
	if len(compiled.m) < 256 {
		compiled.m[pat] = re
	}
	compiled.Unlock()
	return re, nil
}
