package scimhttp

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// encodingJSON is what writeJSON wrote before appendJSON, the reference.
func encodingJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// TestAppendJSONMatchesEncodingJSON compares appendJSON with encoding/json
// on chosen values and on random trees of the types responses hold,
// with strings drawn from the characters whose escaping differs.
func TestAppendJSONMatchesEncodingJSON(t *testing.T) {
	values := []any{
		nil, "", "plain", `quote " backslash \ slash /`, "<html>&amp;", "\x00\x01\b\f\n\r\t\x1f\x7f",
		"bad \xff utf8 \xc3", "line\u2028para\u2029", "émoji 🎉 ünïcode", true, false,
		json.Number("0"), json.Number("-12.5e+3"), json.Number("123456789012345678901234567890"), json.Number(""),
		3, int64(-7), 2.5, []string{"a", "b"}, []string(nil), []any(nil), map[string]any(nil), []any{},
		map[string]any{}, map[string]any{"b": 1, "a": []any{"x", nil}, "B": map[string]any{"z": true}, "é": "v", "a\"b": 1},
		time.Date(2026, 12, 4, 6, 0, 0, 0, time.UTC), struct{ A int }{1},
	}
	rng := rand.New(rand.NewPCG(7, 8))
	for range 2000 {
		values = append(values, randomTree(rng, 4))
	}
	for _, v := range values {
		want, wantErr := encodingJSON(v)
		got, err := appendJSON(nil, v)
		if (err != nil) != (wantErr != nil) || !bytes.Equal(got, want) {
			t.Fatalf("%#v:\n got  %s (%v)\n want %s (%v)", v, got, err, want, wantErr)
		}
	}
	// Invalid numbers are errors, as encoding/json makes them.
	for _, n := range []string{"01", "1.", ".5", "1e", "-", "+1", "true", "null", `"1"`, "1 ", "0x10", "NaN"} {
		if _, err := appendJSON(nil, map[string]any{"n": json.Number(n)}); err == nil {
			t.Errorf("json.Number(%q) encoded", n)
		}
		if _, err := encodingJSON(json.Number(n)); err == nil {
			t.Errorf("encoding/json encodes json.Number(%q): the reference changed", n)
		}
	}
}

var jsonRunes = []rune{'a', 'Z', '0', ' ', '"', '\\', '/', '<', '>', '&', '\x00', '\x1f', '\n', '\t', '\b', '\f', '\r', '\x7f', 'é', '€', '🎉', '\u2028', '\u2029', '\ufffd'}

func randomString(rng *rand.Rand) string {
	var sb strings.Builder
	for range rng.IntN(8) {
		if rng.IntN(20) == 0 {
			sb.WriteString([]string{"\xff", "\xc3", "\xed\xa0\x80", "\xe2\x80"}[rng.IntN(4)]) // invalid UTF-8
			continue
		}
		sb.WriteRune(jsonRunes[rng.IntN(len(jsonRunes))])
	}
	return sb.String()
}

func randomTree(rng *rand.Rand, depth int) any {
	switch k := rng.IntN(10); {
	case depth > 0 && k < 3:
		m := map[string]any{}
		for range rng.IntN(5) {
			m[randomString(rng)] = randomTree(rng, depth-1)
		}
		return m
	case depth > 0 && k < 5:
		var a []any
		if rng.IntN(4) > 0 {
			a = []any{}
		}
		for range rng.IntN(4) {
			a = append(a, randomTree(rng, depth-1))
		}
		return a
	case k < 7:
		return randomString(rng)
	case k < 8:
		return json.Number([]string{"0", "-1", "3.25", "1e10", "-0.5E-3", "12345678901234567890"}[rng.IntN(6)])
	case k < 9:
		return rng.IntN(2) == 0
	}
	return nil
}

// FuzzAppendJSONString: any string, as a key and as a value, encodes as
// encoding/json encodes it.
func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"", "a\"b\\c", "<&>", "\x00\x1f\x7f", "\xff\xc3", "\u2028\u2029", "é🎉"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v := map[string]any{s: []any{s, json.Number("1")}}
		want, err := encodingJSON(v)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := appendJSON(nil, v); err != nil || !bytes.Equal(got, want) {
			t.Fatalf("%q: got %s (%v), want %s", s, got, err, want)
		}
	})
}
