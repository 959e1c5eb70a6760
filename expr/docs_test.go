package expr

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// docExample is one ```expr-example block of docs/expressions.md:
//
//	Join(" ", [givenName], [surname])          the expression (one line)
//	attrs: {"givenName": "Ada", ...}           optional: --attrs-json
//	now: 2026-11-25T09:30:00Z                  optional: --now
//	taken: ada@contoso.com                     optional, repeatable: --taken
//	=> "Ada Lovelace"                          the result
//
// The result is the JSON of the value, "flow: dropped", "flow:
// object_skipped", or "error: " and the exact error message.
type docExample struct {
	line  int // of the expression, 1-based
	src   string
	attrs string
	now   string
	taken []string
	want  string
}

// docDefaultNow is the clock of examples without a now: line; examples that
// depend on the clock give their own.
const docDefaultNow = "2026-11-25T09:30:00Z"

func parseDocExamples(t *testing.T, path string) []docExample {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []docExample
	var cur *docExample
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for n := 1; sc.Scan(); n++ {
		l := sc.Text()
		if cur == nil {
			if strings.TrimSpace(l) == "```expr-example" {
				cur = &docExample{line: n + 1}
			}
			continue
		}
		switch {
		case strings.TrimSpace(l) == "```":
			if cur.src == "" || cur.want == "" {
				t.Errorf("%s:%d: example without an expression or a => result", path, cur.line)
			} else {
				out = append(out, *cur)
			}
			cur = nil
		case strings.HasPrefix(l, "attrs: "):
			cur.attrs = strings.TrimPrefix(l, "attrs: ")
		case strings.HasPrefix(l, "now: "):
			cur.now = strings.TrimPrefix(l, "now: ")
		case strings.HasPrefix(l, "taken: "):
			cur.taken = append(cur.taken, strings.TrimPrefix(l, "taken: "))
		case strings.HasPrefix(l, "=> "):
			cur.want = strings.TrimPrefix(l, "=> ")
		case strings.TrimSpace(l) == "":
		case cur.src != "":
			t.Errorf("%s:%d: example has a second expression line %q", path, n, l)
		default:
			cur.src, cur.line = l, n
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if cur != nil {
		t.Errorf("%s:%d: example not closed", path, cur.line)
	}
	return out
}

// canonicalJSON re-encodes a JSON text so that two encodings of the same
// value compare equal (spacing, key order); numbers keep their text.
func canonicalJSON(s string) (string, error) {
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return "", err
	}
	if d.More() {
		return "", errors.New("data after the JSON value")
	}
	return encodeJSON(v)
}

func encodeJSON(v any) (string, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", err
	}
	return strings.TrimSuffix(b.String(), "\n"), nil
}

// docRand is the fixed randomness of Guid() and RandomString() in examples.
func docRand() *bytes.Reader {
	b := make([]byte, 1<<16)
	for i := range b {
		b[i] = byte(i*131 + 7)
	}
	return bytes.NewReader(b)
}

// TestDocsExamples checks every example of docs/expressions.md against the
// implementation, and that every function of the language has one.
func TestDocsExamples(t *testing.T) {
	const path = "../docs/expressions.md"
	examples := parseDocExamples(t, path)
	if len(examples) == 0 {
		t.Fatalf("%s: no ```expr-example blocks", path)
	}
	covered := map[string]bool{}
	for _, ex := range examples {
		where := func() string { return path + ":" + strconv.Itoa(ex.line) + ": " + ex.src }
		got := evalDocExample(t, ex, covered)
		want := ex.want
		if !strings.HasPrefix(want, "error: ") && !strings.HasPrefix(want, "flow: ") {
			c, err := canonicalJSON(want)
			if err != nil {
				t.Errorf("%s\n  documented result %q is not JSON: %v", where(), want, err)
				continue
			}
			want = c
		}
		if got != want {
			t.Errorf("%s\n  documented: %s\n  actual:     %s", where(), want, got)
		}
	}
	var missing []string
	for name := range functions {
		if !covered[name] {
			missing = append(missing, name)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("%s: no example calls %s", path, strings.Join(missing, ", "))
	}
	t.Logf("%d examples", len(examples))
}

// evalDocExample parses and evaluates one example, records the functions
// it calls in covered, and returns its result in the documented form.
func evalDocExample(t *testing.T, ex docExample, covered map[string]bool) string {
	t.Helper()
	e, err := Parse(ex.src)
	if err != nil {
		return "error: " + err.Error()
	}
	uses(e.Root, covered)
	attrs := map[string]any{}
	if ex.attrs != "" {
		d := json.NewDecoder(strings.NewReader(ex.attrs))
		d.UseNumber()
		if err := d.Decode(&attrs); err != nil {
			t.Errorf("line %d: attrs: %v", ex.line, err)
			return ""
		}
	}
	nowText := ex.now
	if nowText == "" {
		nowText = docDefaultNow
	}
	now, err := time.Parse(time.RFC3339Nano, nowText)
	if err != nil {
		t.Errorf("line %d: now: %v", ex.line, err)
		return ""
	}
	taken := map[string]bool{}
	for _, v := range ex.taken {
		taken[v] = true
	}
	v, err := e.Eval(Env{
		Attrs:   attrs,
		Now:     func() time.Time { return now },
		Rand:    docRand(),
		IsTaken: func(c string) (bool, error) { return taken[c], nil },
	})
	switch {
	case errors.Is(err, ErrIgnoreAttributeFlow):
		return "flow: dropped"
	case errors.Is(err, ErrIgnoreObjectFlow):
		return "flow: object_skipped"
	case err != nil:
		return "error: " + err.Error()
	}
	s, err := encodeJSON(v.JSON())
	if err != nil {
		return "error: encoding the value: " + err.Error()
	}
	return s
}
