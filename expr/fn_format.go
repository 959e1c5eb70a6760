package expr

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
)

func init() {
	register(map[string]builtin{"FormatDateTime": fnFormatDateTime})
}

// FormatDateTime(source, dateTimeStyles, inputFormat, outputFormat): source
// read with the .NET custom format inputFormat and written with
// outputFormat. Supported specifiers: yyyy yy MMMM MMM MM M dd d dddd ddd
// HH H hh h mm m ss s f…(1–7) F…(1–7) tt zzz zz z K, quoted literals ('…',
// "…"), \x, and any other character as itself; names are English
// (invariant culture). A source with an offset (zzz, K) is converted to
// UTC; one without is taken as UTC. dateTimeStyles is .NET's DateTimeStyles
// (see parseStyles); omitted, it is RoundtripKind, AllowLeadingWhite,
// AllowTrailingWhite. As in .NET's ParseExact, a source without a date gets
// today's (Env.Now, UTC) unless NoCurrentDateDefault, and one without a year
// gets this year. Null stays null.
func fnFormatDateTime(ev *evaluator, c *Call) (Value, error) {
	src, ok, err := ev.textOrNull(c, 0, "source")
	if err != nil || !ok {
		return Null, err
	}
	styles := defaultStyles
	if given(c, 1) {
		st, err := ev.text(c, 1, "dateTimeStyles")
		if err != nil {
			return Null, err
		}
		if styles, err = parseStyles(st); err != nil {
			return Null, fmt.Errorf("dateTimeStyles: %w", err)
		}
	}
	in, err := ev.text(c, 2, "inputFormat")
	if err != nil {
		return Null, err
	}
	out, err := ev.text(c, 3, "outputFormat")
	if err != nil {
		return Null, err
	}
	if styles&styleLeadingWhite != 0 {
		src = strings.TrimLeftFunc(src, unicode.IsSpace)
	}
	if styles&styleTrailingWhite != 0 {
		src = strings.TrimRightFunc(src, unicode.IsSpace)
	}
	if styles&styleInnerWhite != 0 {
		src, in = collapseSpace(src), collapseSpace(in)
	}
	today := time.Time{}
	if styles&styleNoCurrentDate == 0 {
		today = ev.now()
	}
	t, err := parseNet(src, in, today)
	if err != nil {
		return Null, fmt.Errorf("source %q does not match inputFormat %q: %w", src, in, err)
	}
	s, err := formatNet(t, out)
	return String(s), err
}

// netToken is one piece of a .NET custom format: a run of one specifier
// letter (spec, n) or literal text.
type netToken struct {
	spec byte
	n    int
	lit  string
}

func tokenizeNet(f string) ([]netToken, error) {
	var ts []netToken
	for i := 0; i < len(f); {
		ch := f[i]
		switch {
		case strings.IndexByte("yMdHhmsfFtzK", ch) >= 0:
			j := i
			for j < len(f) && f[j] == ch {
				j++
			}
			ts = append(ts, netToken{spec: ch, n: j - i})
			i = j
		case ch == '\'' || ch == '"':
			end := strings.IndexByte(f[i+1:], ch)
			if end < 0 {
				return nil, errors.New("unterminated quoted literal in format")
			}
			ts = append(ts, netToken{lit: f[i+1 : i+1+end]})
			i += end + 2
		case ch == '\\' && i+1 < len(f):
			ts = append(ts, netToken{lit: f[i+1 : i+2]})
			i += 2
		default:
			ts = append(ts, netToken{lit: f[i : i+1]})
			i++
		}
	}
	return ts, nil
}

var (
	monthNames = []string{"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"}
	dayNames   = []string{"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"}
)

// parseNet reads s in the .NET custom format f. Date parts the format lacks
// come from today, as .NET's ParseExact takes them from the current date: no
// date at all is today's date (0001-01-01 when today is zero, for
// NoCurrentDateDefault), a month or day without a year is in today's year,
// and a missing month or day is 1.
func parseNet(s, f string, today time.Time) (time.Time, error) {
	ts, err := tokenizeNet(f)
	if err != nil {
		return time.Time{}, err
	}
	year, month, day, hour, min, sec, nsec := -1, -1, -1, 0, 0, 0, 0
	pm, hasAMPM, hour12 := false, false, false
	var zone *int
	num := func(minD, maxD int) (int, error) {
		j := 0
		for j < len(s) && j < maxD && s[j] >= '0' && s[j] <= '9' {
			j++
		}
		if j < minD {
			return 0, fmt.Errorf("expected %d digits at %q", minD, s)
		}
		n, _ := strconv.Atoi(s[:j])
		s = s[j:]
		return n, nil
	}
	name := func(names []string, short bool) (int, error) {
		for i, nm := range names {
			if short {
				nm = nm[:3]
			}
			if len(s) >= len(nm) && strings.EqualFold(s[:len(nm)], nm) {
				s = s[len(nm):]
				return i, nil
			}
		}
		return 0, fmt.Errorf("expected a name at %q", s)
	}
	for _, t := range ts {
		var err error
		width := func(fixed int) (int, int) { // single letter: 1–2 digits
			if t.n == 1 {
				return 1, 2
			}
			return fixed, fixed
		}
		switch t.spec {
		case 0:
			if !strings.HasPrefix(s, t.lit) {
				return time.Time{}, fmt.Errorf("expected %q at %q", t.lit, s)
			}
			s = s[len(t.lit):]
		case 'y':
			if t.n <= 2 {
				year, err = num(2, 2)
				year += 2000
				if year > 2049 {
					year -= 100
				}
			} else {
				year, err = num(t.n, t.n)
			}
		case 'M':
			switch {
			case t.n >= 4:
				month, err = name(monthNames, false)
				month++
			case t.n == 3:
				month, err = name(monthNames, true)
				month++
			default:
				month, err = num(width(2))
			}
		case 'd':
			switch {
			case t.n >= 4:
				_, err = name(dayNames, false)
			case t.n == 3:
				_, err = name(dayNames, true)
			default:
				day, err = num(width(2))
			}
		case 'H':
			hour, err = num(width(2))
		case 'h':
			hour, err = num(width(2))
			hour12 = true
		case 'm':
			min, err = num(width(2))
		case 's':
			sec, err = num(width(2))
		case 'f', 'F':
			lo := t.n
			if t.spec == 'F' {
				lo = 0
			}
			before := len(s)
			var n int
			if n, err = num(lo, t.n); err == nil {
				for d := before - len(s); d < 9; d++ {
					n *= 10
				}
				nsec = n
			}
		case 't':
			switch {
			case len(s) >= 2 && strings.EqualFold(s[:2], "AM"), len(s) >= 2 && strings.EqualFold(s[:2], "PM"):
				pm = strings.EqualFold(s[:2], "PM")
				s = s[2:]
				hasAMPM = true
			default:
				err = fmt.Errorf("expected AM or PM at %q", s)
			}
		case 'z', 'K':
			if t.spec == 'K' && strings.HasPrefix(s, "Z") {
				s = s[1:]
				z := 0
				zone = &z
				break
			}
			if t.spec == 'K' && (s == "" || (s[0] != '+' && s[0] != '-')) {
				break
			}
			if s == "" || (s[0] != '+' && s[0] != '-') {
				return time.Time{}, fmt.Errorf("expected an offset at %q", s)
			}
			sign := 1
			if s[0] == '-' {
				sign = -1
			}
			s = s[1:]
			var h, m int
			if h, err = num(1, 2); err == nil && strings.HasPrefix(s, ":") {
				s = s[1:]
				m, err = num(2, 2)
			}
			z := sign * (h*3600 + m*60)
			zone = &z
		}
		if err != nil {
			return time.Time{}, err
		}
	}
	if s != "" {
		return time.Time{}, fmt.Errorf("unexpected %q at the end", s)
	}
	if hour12 || hasAMPM {
		if hour > 12 {
			return time.Time{}, errors.New("hour out of range")
		}
		if hour == 12 {
			hour = 0
		}
		if pm {
			hour += 12
		}
	}
	year, month, day = defaultDate(year, month, day, today)
	if month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || min > 59 || sec > 59 {
		return time.Time{}, errors.New("a field is out of range")
	}
	loc := time.UTC
	if zone != nil {
		loc = time.FixedZone("", *zone)
	}
	t := time.Date(year, time.Month(month), day, hour, min, sec, nsec, loc)
	if t.Day() != day {
		return time.Time{}, fmt.Errorf("day %d is not in month %d", day, month)
	}
	return t.UTC(), nil
}

// defaultDate fills the date parts a format left out (-1), as described at
// parseNet.
func defaultDate(year, month, day int, today time.Time) (int, int, int) {
	switch {
	case year < 0 && month < 0 && day < 0:
		if today.IsZero() {
			return 1, 1, 1
		}
		return today.Year(), int(today.Month()), today.Day()
	case year < 0:
		year = 1
		if !today.IsZero() {
			year = today.Year()
		}
	}
	if month < 0 {
		month = 1
	}
	if day < 0 {
		day = 1
	}
	return year, month, day
}

// The .NET DateTimeStyles flags, with their .NET values so that a number
// written in an Entra mapping means the same here.
const (
	styleLeadingWhite  = 1
	styleTrailingWhite = 2
	styleInnerWhite    = 4
	styleNoCurrentDate = 8
	styleAdjustToUTC   = 16
	styleAssumeLocal   = 32
	styleAssumeUTC     = 64
	styleRoundtripKind = 128
	defaultStyles      = styleRoundtripKind | styleLeadingWhite | styleTrailingWhite
)

var styleNames = map[string]int{
	"none": 0, "allowleadingwhite": styleLeadingWhite, "allowtrailingwhite": styleTrailingWhite,
	"allowinnerwhite": styleInnerWhite, "allowwhitespaces": styleLeadingWhite | styleTrailingWhite | styleInnerWhite,
	"nocurrentdatedefault": styleNoCurrentDate, "adjusttouniversal": styleAdjustToUTC,
	"assumelocal": styleAssumeLocal, "assumeuniversal": styleAssumeUTC, "roundtripkind": styleRoundtripKind,
}

// parseStyles reads a DateTimeStyles argument: names joined by "," or "|"
// (any case, with or without "DateTimeStyles."), or the flags' number. The
// time-zone styles are checked but change nothing: Roster, like Entra's
// service, runs in UTC, so local time, universal time and the round-trip
// kind are all UTC. Combinations .NET rejects are rejected.
func parseStyles(s string) (int, error) {
	s = strings.TrimSpace(s)
	if n, err := strconv.Atoi(s); err == nil {
		if n < 0 || n > 255 {
			return 0, fmt.Errorf("%d is not a combination of DateTimeStyles flags (0 to 255)", n)
		}
		return n, checkStyles(n)
	}
	styles := 0
	for _, name := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == '|' }) {
		name = strings.TrimSpace(name)
		v, ok := styleNames[strings.ToLower(strings.TrimPrefix(name, "DateTimeStyles."))]
		if !ok {
			return 0, fmt.Errorf("unknown style %q (want None, AllowLeadingWhite, AllowTrailingWhite, AllowInnerWhite, AllowWhiteSpaces, NoCurrentDateDefault, AdjustToUniversal, AssumeLocal, AssumeUniversal or RoundtripKind)", name)
		}
		styles |= v
	}
	return styles, checkStyles(styles)
}

func checkStyles(n int) error {
	switch {
	case n&styleAssumeLocal != 0 && n&styleAssumeUTC != 0:
		return errors.New("AssumeLocal and AssumeUniversal exclude each other")
	case n&styleRoundtripKind != 0 && n&(styleAdjustToUTC|styleAssumeLocal|styleAssumeUTC) != 0:
		return errors.New("RoundtripKind excludes AdjustToUniversal, AssumeLocal and AssumeUniversal")
	}
	return nil
}

// collapseSpace turns every run of white space into one space, so that
// AllowInnerWhite's extra inner spaces match the format's single ones.
func collapseSpace(s string) string { return strings.Join(strings.Fields(s), " ") }

func formatNet(t time.Time, f string) (string, error) {
	ts, err := tokenizeNet(f)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	pad := func(n, w int) { fmt.Fprintf(&b, "%0*d", w, n) }
	w := func(n int) int { // single letter: no padding
		if n == 1 {
			return 1
		}
		return 2
	}
	for _, tk := range ts {
		switch tk.spec {
		case 0:
			b.WriteString(tk.lit)
		case 'y':
			if tk.n <= 2 {
				pad(t.Year()%100, w(tk.n))
			} else {
				pad(t.Year(), tk.n)
			}
		case 'M':
			switch {
			case tk.n >= 4:
				b.WriteString(monthNames[t.Month()-1])
			case tk.n == 3:
				b.WriteString(monthNames[t.Month()-1][:3])
			default:
				pad(int(t.Month()), w(tk.n))
			}
		case 'd':
			switch {
			case tk.n >= 4:
				b.WriteString(dayNames[t.Weekday()])
			case tk.n == 3:
				b.WriteString(dayNames[t.Weekday()][:3])
			default:
				pad(t.Day(), w(tk.n))
			}
		case 'H':
			pad(t.Hour(), w(tk.n))
		case 'h':
			h := t.Hour() % 12
			if h == 0 {
				h = 12
			}
			pad(h, w(tk.n))
		case 'm':
			pad(t.Minute(), w(tk.n))
		case 's':
			pad(t.Second(), w(tk.n))
		case 'f', 'F':
			if tk.n > 7 {
				return "", errors.New("more than 7 fraction digits")
			}
			d := fmt.Sprintf("%09d", t.Nanosecond())[:tk.n]
			if tk.spec == 'F' {
				d = strings.TrimRight(d, "0")
				if d == "" && strings.HasSuffix(b.String(), ".") { // .NET drops the point too
					rest := strings.TrimSuffix(b.String(), ".")
					b.Reset()
					b.WriteString(rest)
				}
			}
			b.WriteString(d)
		case 't':
			ampm := "AM"
			if t.Hour() >= 12 {
				ampm = "PM"
			}
			b.WriteString(ampm[:min(tk.n, 2)])
		case 'z':
			switch tk.n {
			case 1:
				b.WriteString("+0")
			case 2:
				b.WriteString("+00")
			default:
				b.WriteString("+00:00")
			}
		case 'K':
			b.WriteString("Z")
		}
	}
	return b.String(), nil
}
