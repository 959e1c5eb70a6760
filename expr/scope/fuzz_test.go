package scope

import (
	"encoding/json"
	"strings"
	"testing"
)

// FuzzLoadEvaluate loads arbitrary filter JSON and evaluates it against
// arbitrary attribute JSON: neither may panic, a loaded set must survive a
// round trip, and every clause must be explained exactly once.
func FuzzLoadEvaluate(f *testing.F) {
	f.Add(`{"filters":[{"clauses":[{"attribute":"department","operator":"EQUALS","value":"Sales"}]}]}`, `{"department":"Sales"}`)
	f.Add(`{"filters":[{"clauses":[{"attribute":"n","operator":"Greater_Than","value":"5"},{"attribute":"f","operator":"IS TRUE"}]},{"clauses":[{"attribute":"u","operator":"REGEX MATCH","value":".*\\@x.com"}]}]}`, `{"n":[6],"f":"true","u":null}`)
	f.Add(`{"filters":[{"clauses":[{"attribute":"a","operator":"!&","value":"a,b"}]}]}`, `{"a":["a","b"]}`)
	f.Add(`{"filters":[]}`, `{}`)
	f.Add(`{"filters":[{"clauses":[{"attribute":"a","operator":"IS NULL"}]}]}`, `{"a":{"b":[1e400]}}`)
	f.Fuzz(func(t *testing.T, filter, attrJSON string) {
		set, err := Parse([]byte(filter))
		if err != nil {
			return
		}
		dec := json.NewDecoder(strings.NewReader(attrJSON))
		if len(attrJSON)%2 == 0 { // exercise both number representations
			dec.UseNumber()
		}
		var attrs map[string]any
		_ = dec.Decode(&attrs)
		r := Evaluate(set, attrs)
		n := 0
		for _, fl := range set.Filters {
			n += len(fl.Clauses)
		}
		if len(r.Clauses) != n {
			t.Fatalf("%d clause results for %d clauses", len(r.Clauses), n)
		}
		if _, err := json.Marshal(r); err != nil {
			t.Fatalf("marshal result: %v", err)
		}
		out, err := json.Marshal(set)
		if err != nil {
			t.Fatalf("marshal set: %v", err)
		}
		again, err := Parse(out)
		if err != nil {
			t.Fatalf("reload %s: %v", out, err)
		}
		if r2 := Evaluate(again, attrs); r2.InScope != r.InScope {
			t.Fatalf("reloaded set disagrees: %v vs %v", r2.InScope, r.InScope)
		}
	})
}
