package expr

import (
	"bytes"
	"regexp"
	"testing"
	"time"
)

func TestMiscFunctions(t *testing.T) {
	runCases(t, []evalCase{
		{`BitAnd(&HF, &HF7)`, ``, `7`, ``},
		{`BitAnd(6, "3")`, ``, `2`, ``},
		{`BitAnd([n], 1)`, `{"n":-1}`, `1`, ``},
		{`BitAnd(&HFFFFFFFFFFFFFFFF, &HF0)`, ``, `240`, ``}, // hex literals span 64 unsigned bits
		{`BitAnd(&HFFFFFFFFFFFFFFFF, &HFFFFFFFFFFFFFFFE)`, ``, `18446744073709551614`, ``},
		{`BitAnd(-1, -2)`, ``, `-2`, ``},
		{`BitAnd("18446744073709551616", 1)`, ``, ``, `not a 64-bit integer`},
		// Number literals lose their leading zeros, as in VB: 007 is 7.
		{`Coalesce(007)`, ``, `7`, ``},
		{`Coalesce(-00.50)`, ``, `-0.50`, ``},
		{`Coalesce(000)`, ``, `0`, ``},
		{`BitAnd([x], 1)`, ``, ``, `value1: "" is not a 64-bit integer`},
		{`BitAnd(1.5, 1)`, ``, ``, `"1.5" is not a 64-bit integer`},

		{`ConvertToBase64("")`, ``, `""`, ``},
		{`ConvertToBase64([x])`, ``, `null`, ``},
		{`ConvertToBase64("é😀")`, ``, `"6QA92ADe"`, ``}, // UTF-16LE with a surrogate pair
		{`ConvertToUTF8Hex("é")`, ``, `"C3A9"`, ``},
		{`ConvertToUTF8Hex([x])`, ``, `null`, ``},

		{`InStr("The quick brown fox", "quick")`, ``, `5`, ``},
		{`InStr("repEated", "e", 3, vbBinaryCompare)`, ``, `7`, ``},
		{`InStr("repEated", "e", 3, vbTextCompare)`, ``, `4`, ``},
		{`InStr("repEated", "e", 3, 1)`, ``, `4`, ``},
		{`InStr("abc", "z")`, ``, `0`, ``},
		{`InStr("abc", "")`, ``, `1`, ``},
		{`InStr("abc", "", 3)`, ``, `3`, ``},
		{`InStr("abc", "c", 9)`, ``, `0`, ``},
		{`InStr("abc", "a", 0)`, ``, ``, `start 0: positions start at 1`},
		{`InStr("abc", "a", 1, 2)`, ``, ``, `compareType 2`},
		{`InStr("abc", "a", 1, IgnoreObjectFlow)`, ``, ``, `not vbTextCompare`},
		{`InStr([x], "a")`, ``, `null`, ``},
		{`InStr("Zoë x", "x")`, ``, `5`, ``}, // characters, not bytes

		{`Now()`, ``, `"1/2/2026 3:04:05 AM"`, ``},

		{`PCase("PABLO GONSALVES (SECOND)")`, ``, `"Pablo Gonsalves (Second)"`, ``},
		{`PCase("o'neil mc-donald_x")`, ``, `"O'Neil Mc-Donald_X"`, ``},
		{`PCase("ÉLODIE 2nd")`, ``, `"Élodie 2nd"`, ``},
		{`PCase("PINTO-DE'SILVA", " ")`, ``, `"Pinto-de'silva"`, ``},
		{`PCase("a  b", "")`, ``, `"A  b"`, ``}, // no separators: one word
		{`PCase([x])`, ``, `null`, ``},
		{`PCase("")`, ``, `""`, ``},

		{`RemoveDuplicates([m])`, `{"m":["a","b","a","A","b"]}`, `["a","b","A"]`, ``},
		{`RemoveDuplicates([m])`, `{"m":[]}`, `[]`, ``},
		{`RemoveDuplicates([a])`, `{"a":"x"}`, `"x"`, ``},
		{`RemoveDuplicates([x])`, ``, `null`, ``},
		{`Count(RemoveDuplicates(Split("a,b,a", ",")))`, ``, `2`, ``},
	})
}

func TestGuid(t *testing.T) {
	e, _ := Parse(`Guid()`)
	v, err := e.Eval(Env{Rand: bytes.NewReader(bytes.Repeat([]byte{0xff}, 16))})
	if err != nil || v.String() != "ffffffff-ffff-4fff-bfff-ffffffffffff" {
		t.Fatalf("Guid() = %v, %v", v, err)
	}
	v, err = e.Eval(Env{})
	if err != nil || !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(v.String()) {
		t.Fatalf("Guid() = %v, %v", v, err)
	}
	if _, err = e.Eval(Env{Rand: bytes.NewReader(nil)}); err == nil {
		t.Fatal("Guid() without randomness: no error")
	}
	e, _ = Parse(`Now()`)
	v, err = e.Eval(Env{Now: func() time.Time { return time.Date(2021, 7, 2, 17, 33, 38, 0, time.FixedZone("x", 2*3600)) }})
	if err != nil || v.String() != "7/2/2021 3:33:38 PM" {
		t.Fatalf("Now() = %v, %v (want UTC)", v, err)
	}
}
