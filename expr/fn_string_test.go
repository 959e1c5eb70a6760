package expr

import "testing"

func TestStringFunctions(t *testing.T) {
	runCases(t, []evalCase{
		{`Append([a], ".x")`, `{"a":"j"}`, `"j.x"`, ``},
		{`Append([a], ".x")`, ``, `".x"`, ``},
		{`Append([a], [b])`, ``, `""`, ``},
		{`Append([n], [b])`, `{"n":7,"b":true}`, `"7True"`, ``},
		{`Append([m], "x")`, `{"m":["a","b"]}`, ``, `col 1: Append: source: multi-valued`},
		{`Append([m], "x")`, `{"m":["a"]}`, `"ax"`, ``},

		{`Coalesce([a], [b], "d")`, `{"b":"B"}`, `"B"`, ``},
		{`Coalesce([a], [b], "d")`, `{"a":"","b":"B"}`, `""`, ``}, // "" is not null
		{`Coalesce([a], [b], "d")`, ``, `"d"`, ``},
		{`Coalesce([a], [b])`, ``, `null`, ``},
		{`Coalesce([m], "d")`, `{"m":[]}`, `"d"`, ``}, // an empty list is null
		{`Coalesce([m], "d")`, `{"m":["x","y"]}`, `["x","y"]`, ``},
		{`Coalesce("a", Redact("x"))`, ``, `"a"`, ``}, // stops at the first non-null

		{`CStr([n])`, `{"n":12.50}`, `"12.50"`, ``},
		{`CStr([n])`, `{"n":134117279990000000}`, `"134117279990000000"`, ``}, // no float64 rounding
		{`CStr(&HFF)`, ``, `"255"`, ``},
		{`CStr([b])`, `{"b":false}`, `"False"`, ``},
		{`CStr([x])`, ``, `null`, ``},
		{`CStr(CBool(1))`, ``, `"True"`, ``},

		{`Join(",", [m], [a], "", [x], [n])`, `{"m":["p","","q"],"a":"r","n":3}`, `"p,q,r,3"`, ``},
		{`Join("", "a", "b")`, ``, `"ab"`, ``},
		{`Join([x], "a", "b")`, ``, `"ab"`, ``}, // null separator is ""
		{`Join(",", [x], [y])`, ``, `""`, ``},
		{`Join(",", "only")`, ``, `"only"`, ``},

		{`Left("John Doe", 0)`, ``, `""`, ``},
		{`Left("John Doe", -1)`, ``, `"John Doe"`, ``},
		{`Left("John", 10)`, ``, `"John"`, ``},
		{`Left([x], 3)`, ``, `""`, ``},
		{`Left("Zoë Ångström", 5)`, ``, `"Zoë Å"`, ``}, // characters, not bytes
		{`Left("abc", "2")`, ``, `"ab"`, ``},
		{`Left("abc", [x])`, ``, ``, `NumChars: null or empty`},
		{`Left("abc", "two")`, ``, ``, `"two" is not an integer`},
		{`Left("abc", 1.5)`, ``, ``, `not an integer`},

		{`Mid("John", 1, 3)`, ``, `"Joh"`, ``},
		{`Mid("Doe", 1, 5)`, ``, `"Doe"`, ``},
		{`Mid("Doe", 3, 1)`, ``, `"e"`, ``},
		{`Mid("Doe", 4, 1)`, ``, `""`, ``},
		{`Mid("Doe", 99, 1)`, ``, `""`, ``},
		{`Mid("Doe", 2, 0)`, ``, `""`, ``},
		{`Mid("Doe", 0, 1)`, ``, ``, `col 1: Mid: start 0: positions start at 1`},
		{`Mid("Doe", -1, 1)`, ``, ``, `start -1`},
		{`Mid("Doe", 1, -1)`, ``, ``, `length -1 is negative`},
		{`Mid([x], 1, 1)`, ``, `""`, ``},
		{`Mid("Élodie", "1", "1")`, ``, `"É"`, ``},

		{`StripSpaces(" a b  c ")`, ``, `"abc"`, ``},
		{"StripSpaces([a])", `{"a":"a\tb"}`, `"a\tb"`, ``}, // only U+0020
		{`StripSpaces([x])`, ``, `null`, ``},
		{`StripSpaces("")`, ``, `""`, ``},

		{`Switch([s], "d", "a", "1", "b", "2")`, `{"s":"b"}`, `"2"`, ``},
		{`Switch([s], "d", "a", "1", "b", "2")`, `{"s":"B"}`, `"d"`, ``}, // case-sensitive
		{`Switch([s], "d", "a", "1", "", "empty")`, ``, `"empty"`, ``},   // null matches ""
		{`Switch([s], , "a", "1")`, `{"s":"z"}`, `null`, ``},
		{`Switch([s], "d", "a", "1", "a", "2")`, `{"s":"a"}`, `"1"`, ``}, // first match wins
		{`Switch([s], Redact("x"), "a", "1")`, `{"s":"a"}`, `"1"`, ``},   // default not evaluated
		{`Switch([s], "d", "a", Redact("x"))`, `{"s":"b"}`, `"d"`, ``},   // unchosen value not evaluated
		{`Switch([n], "d", "7", "seven")`, `{"n":7}`, `"seven"`, ``},
		{`Switch([m], "d", "a", "1")`, `{"m":["a","b"]}`, ``, `source: multi-valued`},

		{`ToLower("ÀBC")`, ``, `"àbc"`, ``},
		{`ToUpper("straße")`, ``, `"STRAßE"`, ``}, // simple case mapping, as .NET ToUpperInvariant
		{`ToUpper("istanbul", "tr-TR")`, ``, `"İSTANBUL"`, ``},
		{`ToLower("ISTANBUL", "tr")`, ``, `"ıstanbul"`, ``},
		{`ToLower("ISTANBUL", "en-US")`, ``, `"istanbul"`, ``},
		{`ToLower([x])`, ``, `null`, ``},
		{`ToUpper("")`, ``, `""`, ``},

		{`Word("The quick brown fox", 1, " ")`, ``, `"The"`, ``},
		{`Word("The quick brown fox", 4, " ")`, ``, `"fox"`, ``},
		{`Word("The quick brown fox", 5, " ")`, ``, `""`, ``},
		{`Word("The quick brown fox", 0, " ")`, ``, `""`, ``},
		{`Word("The quick brown fox", -2, " ")`, ``, `""`, ``},
		{`Word("a,,b", 2, ",")`, ``, `"b"`, ``}, // runs of delimiters separate once
		{`Word("abc", 1, "")`, ``, `"abc"`, ``},
		{`Word([x], 1, " ")`, ``, `""`, ``},
	})
}
