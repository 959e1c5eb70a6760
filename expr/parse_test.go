package expr

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"unicode/utf8"
)

// dump prints a tree with node kinds (and, if pos, positions) so tests can
// compare trees exactly; String alone would hide e.g. a Str from an Attr of
// the same spelling.
func dump(n Node, pos bool) string {
	at := ""
	if pos {
		at = fmt.Sprintf("@%d", n.Pos())
	}
	switch n := n.(type) {
	case *Call:
		args := make([]string, len(n.Args))
		for i, a := range n.Args {
			args[i] = dump(a, pos)
		}
		return n.Name + at + "(" + strings.Join(args, " ") + ")"
	case *Attr:
		return "attr" + at + ":" + n.Name
	case *Str:
		return "str" + at + ":" + fmt.Sprintf("%q", n.Value)
	case *Num:
		return "num" + at + ":" + n.Text
	case *Ident:
		return "id" + at + ":" + n.Name
	case *Empty:
		return "_" + at
	case *Compare:
		return "(" + dump(n.Left, pos) + " " + n.Op + at + " " + dump(n.Right, pos) + ")"
	}
	return fmt.Sprintf("?%T", n)
}

// mustRoundTrip checks that the canonical form parses back to the same tree.
func mustRoundTrip(t *testing.T, e *Expr) {
	t.Helper()
	s := e.String()
	again, err := Parse(s)
	if err != nil {
		t.Fatalf("canonical form %q does not parse: %v", s, err)
	}
	if got, want := dump(again.Root, false), dump(e.Root, false); got != want {
		t.Fatalf("round trip through %q:\n got %s\nwant %s", s, got, want)
	}
}

func TestParse(t *testing.T) {
	deep := strings.Repeat("ToLower(", 1000) + "[a]" + strings.Repeat(")", 1000)
	// the deepest nesting MaxLen allows: recursion depth is bounded by the length limit
	deepest := strings.Repeat("Not(", (MaxLen-3)/5) + "[a]" + strings.Repeat(")", (MaxLen-3)/5)
	tests := []struct {
		name, src, want string
	}{
		{"no arguments", `Now()`, `Now()`},
		{"no arguments with space", `Guid( )`, `Guid()`},
		{"call", `Join(" ", [givenName], [surname])`, `Join(str:" " attr:givenName attr:surname)`},
		{"nested", `Append(Mid([givenName], 1, 3), Mid([surname], 1, 5))`,
			`Append(Mid(attr:givenName num:1 num:3) Mid(attr:surname num:1 num:5))`},
		{"deep nesting", deep, strings.Repeat("ToLower(", 1000) + "attr:a" + strings.Repeat(")", 1000)},
		{"deepest nesting", deepest, strings.Repeat("Not(", (MaxLen-3)/5) + "attr:a" + strings.Repeat(")", (MaxLen-3)/5)},
		{"whitespace and newlines", "Join (\n\t\"-\" ,[a]\r\n)", `Join(str:"-" attr:a)`},
		{"top-level attribute", `[mail]`, `attr:mail`},
		{"top-level string", `"x"`, `str:"x"`},
		{"top-level number", `42`, `num:42`},
		{"top-level identifier", `IgnoreObjectFlow`, `id:IgnoreObjectFlow`},
		{"attribute with dots", `IsNull([manager.displayName])`, `IsNull(attr:manager.displayName)`},
		{"attribute with URN", `ToLower([urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department])`,
			`ToLower(attr:urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department)`},
		{"attribute with extension name", `CStr([extension_9a8b_costCenter-2])`, `CStr(attr:extension_9a8b_costCenter-2)`},
		{"string escapes", `Append("Company name: \"Contoso\"", "a\\b")`, `Append(str:"Company name: \"Contoso\"" str:"a\\b")`},
		{"regex backslashes", `Replace([t], , "\\+(?<c>\\d* )", , "${c}", , )`,
			`Replace(attr:t _ str:"\\+(?<c>\\d* )" _ str:"${c}" _ _)`},
		{"lone backslash kept", `Append("\d", "x\y")`, `Append(str:"\\d" str:"x\\y")`},
		{"empty string", `Join("", [a], [b])`, `Join(str:"" attr:a attr:b)`},
		{"unicode string", `Append("Zoë", "€")`, `Append(str:"Zoë" str:"€")`},
		{"negative number", `DateAdd("d", -10, Now())`, `DateAdd(str:"d" num:-10 Now())`},
		{"decimal number", `CStr(1.5)`, `CStr(num:1.5)`},
		{"big number", `DateFromNum(129699324000000000)`, `DateFromNum(num:129699324000000000)`},
		{"hex literals", `BitAnd(&HF, &hf7)`, `BitAnd(num:&HF num:&hf7)`},
		{"empty arguments", `Replace([mail], "@contoso.com", , ,"", ,)`,
			`Replace(attr:mail str:"@contoso.com" _ _ str:"" _ _)`},
		{"empty first optional", `Switch([Active], , "1", "True", "0", "False")`,
			`Switch(attr:Active _ str:"1" str:"True" str:"0" str:"False")`},
		{"optional trailing left off", `InStr("The quick brown fox","quick")`, `InStr(str:"The quick brown fox" str:"quick")`},
		{"vbBinaryCompare", `InStr("repEated","e",3,vbBinaryCompare)`, `InStr(str:"repEated" str:"e" num:3 id:vbBinaryCompare)`},
		{"vbTextCompare", `InStr("a","A",1,vbTextCompare)`, `InStr(str:"a" str:"A" num:1 id:vbTextCompare)`},
		{"flow sentinels", `IIF([a]="x", IgnoreAttributeFlow, IgnoreObjectFlow)`,
			`IIF((attr:a = str:"x") id:IgnoreAttributeFlow id:IgnoreObjectFlow)`},
		{"op =", `IIF([country]="USA",[country],[department])`, `IIF((attr:country = str:"USA") attr:country attr:department)`},
		{"op <>", `IIF([a]<>"b", "1", "0")`, `IIF((attr:a <> str:"b") str:"1" str:"0")`},
		{"op <", `IIF([a] < 3, "1", "0")`, `IIF((attr:a < num:3) str:"1" str:"0")`},
		{"op <=", `IIF([a]<=3, "1", "0")`, `IIF((attr:a <= num:3) str:"1" str:"0")`},
		{"op >", `IIF(DateDiff("d", Now(), CDate([StatusHireDate])) > 5, "False", "True")`,
			`IIF((DateDiff(str:"d" Now() CDate(attr:StatusHireDate)) > num:5) str:"False" str:"True")`},
		{"op >=", `IIF([a] >= -1, "1", "0")`, `IIF((attr:a >= num:-1) str:"1" str:"0")`},
		{"CBool comparison", `CBool([attribute1] = [attribute2])`, `CBool((attr:attribute1 = attr:attribute2))`},
		{"condition without comparison", `IIF(IsNullOrEmpty([d]), "9999-01-01", [d])`,
			`IIF(IsNullOrEmpty(attr:d) str:"9999-01-01" attr:d)`},
		{"SelectUniqueValue at top", `SelectUniqueValue(Join("@", [a], "x.com"), Mid([a], 1, 1))`,
			`SelectUniqueValue(Join(str:"@" attr:a str:"x.com") Mid(attr:a num:1 num:1))`},
		{"variadic", `Coalesce([a], [b], [c], [d], "")`, `Coalesce(attr:a attr:b attr:c attr:d str:"")`},
		{"maximum length", `"` + strings.Repeat("x", MaxLen-2) + `"`, `str:"` + strings.Repeat("x", MaxLen-2) + `"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := Parse(tt.src)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.src, err)
			}
			if got := dump(e.Root, false); got != tt.want {
				t.Fatalf("Parse(%q):\n got %s\nwant %s", tt.src, got, tt.want)
			}
			mustRoundTrip(t, e)
		})
	}
}

func TestParsePositions(t *testing.T) {
	e, err := Parse(`IIF( [a]<>"é",Mid([b] ,1, ), vbTextCompare)`)
	if err != nil {
		t.Fatal(err)
	}
	want := `IIF@1((attr@6:a <>@9 str@11:"é") Mid@15(attr@19:b num@24:1 _@27) id@30:vbTextCompare)`
	if got := dump(e.Root, true); got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}

func TestParseCanonical(t *testing.T) {
	e, err := Parse(`Replace( [mail],"@contoso.com",,,"", ,)`)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := e.String(), `Replace([mail], "@contoso.com", , , "", , )`; got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
	e, err = Parse(`IIF([a]="x\"y\\",CBool([b]<>&HF),"")`)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := e.String(), `IIF([a] = "x\"y\\", CBool([b] <> &HF), "")`; got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, src string
		pos       int
		msg       string // substring of the message
	}{
		{"empty", ``, 1, "expected an expression"},
		{"only spaces", `   `, 4, "expected an expression"},
		{"missing comma", `Join(" ", [abcd]"x")`, 17, "expected ',' or ')' after argument 2 of Join"},
		{"missing close paren", `Join(" ", [a]`, 14, "expected ',' or ')' after argument 2 of Join"},
		{"positions count characters", `Join("é€", [a] x)`, 16, "expected ',' or ')' after argument 2 of Join"},
		{"unknown function", `Foo([a])`, 1, "unknown function Foo"},
		{"case-sensitive function", `join(" ", [a], [b])`, 1, "did you mean Join?"},
		{"case-sensitive IIF", `Append(iif([a]="1","x","y"), "z")`, 8, "did you mean IIF?"},
		{"unknown identifier", `InStr("a", "b", 1, vbtextcompare)`, 20, "unknown identifier vbtextcompare (names are case-sensitive: did you mean vbTextCompare?)"},
		{"function without parens", `ToLower(Now)`, 12, "expected '(' after Now"},
		{"too few arguments", `Mid([a], 1)`, 1, "Mid takes 3 arguments, got 2"},
		{"too few variadic", `Join(" ")`, 1, "Join takes at least 2 arguments, got 1"},
		{"too few range", `RandomString(6, 3)`, 1, "RandomString takes 5 to 6 arguments, got 2"},
		{"too many arguments", `Append("a", "b", "c")`, 18, "Append takes 2 arguments; argument 3 is one too many"},
		{"too many empty", `Append("a", "b", )`, 18, "argument 3 is one too many"},
		{"arguments to Now", `Now(1)`, 5, "Now takes 0 arguments; argument 1 is one too many"},
		{"empty argument counts", `Now(,)`, 5, "argument 1 is one too many"},
		{"odd Switch", `Switch([a], "d", "k", "v", "k2")`, 1, "Switch takes an even number of arguments"},
		{"short Switch", `Switch([a], "d", "k")`, 1, "Switch takes at least 4 arguments, got 3"},
		{"nested SelectUniqueValue", `ToLower(SelectUniqueValue("a", "b"))`, 9, "SelectUniqueValue must be the whole expression"},
		{"short SelectUniqueValue", `SelectUniqueValue("a")`, 1, "SelectUniqueValue takes at least 2 arguments, got 1"},
		{"comparison outside a condition", `Join("=", [a] = [b])`, 15, "comparison '=' is not allowed in argument 2 of Join"},
		{"comparison in IIF value", `IIF([a], [b] = [c], "y")`, 14, "not allowed in argument 2 of IIF"},
		{"comparison at top", `[a] = "b"`, 5, "comparison '=' is only allowed in the condition of IIF or the argument of CBool"},
		{"chained comparison", `IIF([a] = [b] = [c], "x", "y")`, 15, "comparisons cannot be chained"},
		{"comparison without right side", `IIF([a] = , "x", "y")`, 11, "after '='"},
		{"comparison without left side", `IIF(= [a], "x", "y")`, 5, "expected argument 1 of IIF"},
		{"double equals", `IIF([a] == [b], "x", "y")`, 10, "after '='"},
		{"unterminated string", `Join("abc`, 10, `expected '"' to close the string at col 6`},
		{"escaped final quote", `Join("a\"`, 10, `expected '"' to close the string at col 6`},
		{"unterminated attribute", `IsNull([abc`, 12, "expected ']' to close the attribute reference at col 8"},
		{"empty attribute", `IsNull([])`, 9, "expected an attribute name after '['"},
		{"space in attribute", `IsNull([a b])`, 10, "expected ']'"},
		{"bracket in attribute", `IsNull([a[b])`, 10, "expected ']'"},
		{"ampersand alone", `BitAnd(&G, 1)`, 9, "expected 'H' after '&'"},
		{"hex without digits", `BitAnd(&H, 1)`, 10, "expected a hex digit after '&H'"},
		{"hex out of range", `BitAnd(&H10000000000000000, 1)`, 8, "does not fit in 64 bits"},
		{"letter after number", `Mid([a], 1x, 2)`, 11, "unexpected 'x' after a number"},
		{"letter after hex", `BitAnd(&HFG, 1)`, 11, "unexpected 'G' after a number"},
		{"minus alone", `Mid([a], -, 2)`, 11, "expected a digit after '-'"},
		{"dot without digits", `Mid([a], 1., 2)`, 12, "expected a digit after '.'"},
		{"illegal character", `Join(" ", %)`, 11, "expected argument 2 of Join"},
		{"illegal at top", `%`, 1, "expected a function call, [attribute], string or number"},
		{"two expressions", `Now() Now()`, 7, "expected end of expression"},
		{"extra close paren", `Now())`, 6, "expected end of expression"},
		{"open paren alone", `(`, 1, "expected a function call"},
		{"too long", `"` + strings.Repeat("x", MaxLen) + `"`, MaxLen + 1, "longer than 10000 characters"},
		{"invalid UTF-8", "Join(\"\xff\", [a], [b])", 7, "invalid UTF-8"},
		{"NUL", "Join(\"a\x00\", [a], [b])", 8, "NUL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(tt.src)
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Parse(%q) = %v, want a *SyntaxError", tt.src, err)
			}
			if se.Pos != tt.pos || !strings.Contains(se.Msg, tt.msg) {
				t.Fatalf("Parse(%q) = %q at %d, want %q at %d", tt.src, se.Msg, se.Pos, tt.msg, tt.pos)
			}
		})
	}
}

func TestSyntaxErrorMessage(t *testing.T) {
	_, err := Parse(`Join(" ", [abcd]"x")`)
	if got, want := fmt.Sprint(err), `col 17: expected ',' or ')' after argument 2 of Join`; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

// vectors reads testdata/entra-expression-vectors.json, a copy of the
// reference vectors (see testdata/README.md).
func vectors(tb testing.TB) []string {
	tb.Helper()
	b, err := os.ReadFile("testdata/entra-expression-vectors.json")
	if err != nil {
		tb.Fatal(err)
	}
	var f struct {
		Vectors []struct {
			Expression string `json:"expression"`
		} `json:"vectors"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		tb.Fatal(err)
	}
	if len(f.Vectors) == 0 {
		tb.Fatal("no vectors")
	}
	out := make([]string, len(f.Vectors))
	for i, v := range f.Vectors {
		out[i] = v.Expression
	}
	return out
}

// TestParseVectors parses every expression of the reference vectors. None of
// them is meant to be a syntax error (the file has no such case), so every
// one must parse and round-trip.
func TestParseVectors(t *testing.T) {
	for i, src := range vectors(t) {
		e, err := Parse(src)
		if err != nil {
			t.Errorf("vector %d: Parse(%q): %v", i, src, err)
			continue
		}
		mustRoundTrip(t, e)
	}
}

// TestFunctionTable keeps the table consistent: sane arities, and conditions
// only where an argument exists.
func TestFunctionTable(t *testing.T) {
	for name, f := range functions {
		if f.min < 0 || f.max >= 0 && f.max < f.min || f.cond > f.min {
			t.Errorf("%s: bad spec %+v", name, f)
		}
		if identifiers[name] {
			t.Errorf("%s is both a function and an identifier", name)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, src := range vectors(f) {
		f.Add(src)
	}
	for _, src := range []string{
		``, `Now()`, `IIF([a] >= &HF, IgnoreObjectFlow, "x\"\\")`, `Replace([a], , , , , , )`,
		`CBool([a]<>-1.5)`, `Join("é", [urn:x:y.z])`, `Switch([a], , "1", "2")`, `ToLower(ToLower(`,
	} {
		f.Add(src)
	}
	f.Fuzz(func(t *testing.T, src string) {
		e, err := Parse(src)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Parse(%q) returned %T, want *SyntaxError", src, err)
			}
			if n := utf8.RuneCountInString(src); se.Pos < 1 || se.Pos > n+1 {
				t.Fatalf("Parse(%q): position %d outside 1..%d", src, se.Pos, n+1)
			}
			return
		}
		// The canonical form can outgrow MaxLen (it spaces out arguments);
		// only the trees that still fit can round-trip.
		if utf8.RuneCountInString(e.String()) <= MaxLen {
			mustRoundTrip(t, e)
		}
	})
}
