package expr

import (
	"bytes"
	"strings"
	"testing"
	"unicode"
)

func TestRandomString(t *testing.T) {
	count := func(s, set string) int {
		n := 0
		for _, r := range s {
			if strings.ContainsRune(set, r) {
				n++
			}
		}
		return n
	}
	for _, src := range []string{`RandomString(6,3,0,0,3)`, `RandomString(10,2,2,2,1,"?,")`, `RandomString(256,0,0,0,0)`, `RandomString(4,1,1,1,1)`} {
		e, err := Parse(src)
		if err != nil {
			t.Fatal(err)
		}
		call := e.Root.(*Call)
		for i := 0; i < 50; i++ {
			v, err := e.Eval(Env{})
			if err != nil {
				t.Fatalf("%s: %v", src, err)
			}
			s := v.String()
			mins := make([]int, 4)
			for j := range mins {
				mins[j], _ = integer(Number(call.Args[j+1].String()), "")
			}
			n, _ := integer(Number(call.Args[0].String()), "")
			if len([]rune(s)) != n || count(s, randDigits) < mins[0] || count(s, randSpecial) < mins[1] ||
				count(s, randUpper) < mins[2] || count(s, randLower) < mins[3] ||
				strings.ContainsAny(s, "?,") && len(call.Args) == 6 {
				t.Fatalf("%s = %q breaks its constraints", src, s)
			}
			for _, r := range s {
				if r > unicode.MaxASCII {
					t.Fatalf("%s = %q: non-ASCII", src, s)
				}
			}
		}
	}
	// Deterministic with a fixed source.
	e, _ := Parse(`RandomString(8,2,2,2,2)`)
	a, err1 := e.Eval(Env{Rand: bytes.NewReader(bytes.Repeat([]byte{1, 2, 3, 4, 5, 6, 7}, 100))})
	b, err2 := e.Eval(Env{Rand: bytes.NewReader(bytes.Repeat([]byte{1, 2, 3, 4, 5, 6, 7}, 100))})
	if err1 != nil || err2 != nil || a.String() != b.String() {
		t.Fatalf("same randomness, different strings: %v %v %v %v", a, b, err1, err2)
	}
	runCases(t, []evalCase{
		{`RandomString(3,2,2,0,0)`, ``, ``, `more than Length 3`},
		{`RandomString(0,0,0,0,0)`, ``, ``, `not between 1 and 256`},
		{`RandomString(257,0,0,0,0)`, ``, ``, `not between 1 and 256`},
		{`RandomString(5,-1,0,0,0)`, ``, ``, `MinimumNumbers -1 is negative`},
		{`RandomString(5,1,0,0,0,"0123456789")`, ``, ``, `excludes the whole class`},
	})
	e, _ = Parse(`RandomString(5,1,1,1,1)`)
	if _, err := e.Eval(Env{Rand: bytes.NewReader([]byte{1, 2})}); err == nil || !strings.Contains(err.Error(), "reading randomness") {
		t.Fatalf("short randomness: err = %v", err)
	}
}
