package sqlstore

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
)

// referenceDoc is how documents were decoded before decodeDoc.
func referenceDoc(b []byte) (map[string]any, error) {
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	err := dec.Decode(&m)
	return m, err
}

// TestDecodeDocMatchesEncodingJSON compares decodeDoc with encoding/json
// on chosen documents, on random ones, and on every way of cutting or
// corrupting them: the same value for valid JSON, an error for invalid.
func TestDecodeDocMatchesEncodingJSON(t *testing.T) {
	docs := []string{
		`{}`, ` { "a" : 1 , "b" : [ ] , "c" : { } } `, `null`,
		`{"n":[0,-0,1.5,-2e10,3E+2,4e-3,12345678901234567890123,0.000]}`,
		`{"s":"plain","e":"\" \\ \/ \b \f \n \r \t","u":"\u00e9\u20AC\ud83c\udf89","k\u0041":true,"f":false,"z":null}`,
		`{"lone":"\ud800x","lone2":"\udc00","pair-bad":"\ud800\u0041","hi":"\ud83c"}`,
		"{\"raw\":\"caf\xc3\xa9 \xff bad \xc3 end\",\"k\xff\":1}",
		`{"dup":1,"dup":2}`, `{"deep":[[[[{"x":[{}]}]]]]}`,
		"{\"ws\":\t[\r\n1 ,2\n]}",
	}
	rng := rand.New(rand.NewPCG(9, 10))
	for range 1500 {
		b, err := json.Marshal(randomDoc(rng, 4))
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, string(b))
	}
	invalid := []string{
		``, ` `, `[]`, `"s"`, `1`, `{`, `{"a"}`, `{"a":}`, `{"a":1,}`, `{,}`, `{"a":1}x`, `{"a":[1,]}`, `{"a":01}`,
		`{"a":1.}`, `{"a":.5}`, `{"a":-}`, `{"a":1e}`, `{"a":tru}`, `{"a":"\x"}`, `{"a":"\u12"}`, `{"a":"\u12zz"}`,
		"{\"a\":\"tab\there\"}", `{"a":"open}`, `{a:1}`, `{"a":NaN}`, `{"a":+1}`, `nul`, `{"a":1}{}`,
		`{"a":` + strings.Repeat("[", 10000) + strings.Repeat("]", 10000) + `}`,
	}
	// encoding/json's limit: 10,000 nested objects and arrays.
	deep := `{"a":` + strings.Repeat("[", 9999) + strings.Repeat("]", 9999) + `}`
	if _, err := decodeDoc([]byte(deep)); err != nil || !json.Valid([]byte(deep)) {
		t.Errorf("10,000 levels: %v (encoding/json valid: %v)", err, json.Valid([]byte(deep)))
	}
	if json.Valid([]byte(invalid[len(invalid)-1])) {
		t.Error("encoding/json accepts 10,001 levels: the reference changed")
	}
	for _, d := range docs {
		want, wantErr := referenceDoc([]byte(d))
		got, err := decodeDoc([]byte(d))
		if wantErr != nil || err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("%q:\n got  %#v (%v)\n want %#v (%v)", d, got, err, want, wantErr)
		}
		// Every cut of a valid document is invalid but the whole, and so
		// is every byte replaced by a character that breaks its syntax
		// wherever it lands outside a string.
		for i := range len(d) {
			if cut := d[:i]; !json.Valid([]byte(cut)) {
				if _, err := decodeDoc([]byte(cut)); err == nil {
					t.Fatalf("cut %q decoded", cut)
				}
			}
		}
	}
	for _, d := range invalid {
		if _, err := decodeDoc([]byte(d)); err == nil {
			t.Errorf("%.40q decoded", d)
		}
	}
}

func randomDoc(rng *rand.Rand, depth int) map[string]any {
	m := map[string]any{}
	for range rng.IntN(6) {
		m[randomText(rng)] = randomValue(rng, depth-1)
	}
	return m
}

func randomValue(rng *rand.Rand, depth int) any {
	switch k := rng.IntN(10); {
	case depth > 0 && k < 2:
		return randomDoc(rng, depth)
	case depth > 0 && k < 4:
		a := []any{}
		for range rng.IntN(4) {
			a = append(a, randomValue(rng, depth-1))
		}
		return a
	case k < 7:
		return randomText(rng)
	case k < 8:
		return json.Number([]string{"0", "-1", "3.25", "1e10", "-0.5E-3", "12345678901234567890"}[rng.IntN(6)])
	case k < 9:
		return rng.IntN(2) == 0
	}
	return nil
}

var docRunes = []rune{'a', 'Z', '0', ' ', '"', '\\', '/', '<', '&', '\x00', '\x1f', '\n', '\t', 'é', '€', '🎉', '\u2028', '\ufffd'}

func randomText(rng *rand.Rand) string {
	var sb strings.Builder
	for range rng.IntN(8) {
		sb.WriteRune(docRunes[rng.IntN(len(docRunes))])
	}
	return sb.String()
}

// FuzzDecodeDoc: decodeDoc accepts what encoding/json accepts, with the
// same result, and rejects the rest, without panicking.
func FuzzDecodeDoc(f *testing.F) {
	for _, d := range []string{`{}`, `{"a":[1,"x",{"b":null}],"c":true}`, `{"s":"\u00e9\ud83c\udf89"}`, "{\"k\":\"\xff\"}", `null`, `[1]`} {
		f.Add([]byte(d))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := decodeDoc(b)
		if !json.Valid(b) {
			if err == nil {
				t.Fatalf("%q: invalid JSON decoded", b)
			}
			return
		}
		want, wantErr := referenceDoc(b)
		if (err != nil) != (wantErr != nil) || err == nil && !reflect.DeepEqual(got, want) {
			t.Fatalf("%q:\n got  %#v (%v)\n want %#v (%v)", b, got, err, want, wantErr)
		}
	})
}
