package expr

import "testing"

func TestMultiValueFunctions(t *testing.T) {
	runCases(t, []evalCase{
		{`Count([m])`, `{"m":["a","b","c"]}`, `3`, ``},
		{`Count([m])`, `{"m":[]}`, `0`, ``},
		{`Count([m])`, `{"m":["a",null,"b"]}`, `2`, ``}, // null elements are dropped
		{`Count([x])`, ``, `0`, ``},
		{`Count([a])`, `{"a":"x"}`, `1`, ``},
		{`Count(Split("a;b", ";"))`, ``, `2`, ``},

		{`Item([m], 1)`, `{"m":["a","b"]}`, `"a"`, ``},
		{`Item([m], 2)`, `{"m":["a","b"]}`, `"b"`, ``},
		{`Item([m], 3)`, `{"m":["a","b"]}`, `null`, ``},
		{`Item([m], 0)`, `{"m":["a","b"]}`, `null`, ``},
		{`Item([m], -1)`, `{"m":["a","b"]}`, `null`, ``},
		{`Item([m], "2")`, `{"m":["a","b"]}`, `"b"`, ``},
		{`Item([a], 1)`, `{"a":"single"}`, `"single"`, ``},
		{`Item([x], 1)`, ``, `null`, ``},
		{`Item([m], [x])`, `{"m":["a"]}`, ``, `col 1: Item: index: null or empty`},
		{`Item([m], 1)`, `{"m":[7,true]}`, `7`, ``},

		{`IsNull([x])`, ``, `true`, ``},
		{`IsNull([x])`, `{"x":null}`, `true`, ``},
		{`IsNull([x])`, `{"x":""}`, `false`, ``},
		{`IsNull([x])`, `{"x":[]}`, `true`, ``},
		{`IsNull([x])`, `{"x":0}`, `false`, ``},
		{`IsNullOrEmpty([x])`, ``, `true`, ``},
		{`IsNullOrEmpty([x])`, `{"x":""}`, `true`, ``},
		{`IsNullOrEmpty([x])`, `{"x":" "}`, `false`, ``},
		{`IsNullOrEmpty([x])`, `{"x":["a"]}`, `false`, ``},
		{`IsPresent([x])`, ``, `false`, ``},
		{`IsPresent([x])`, `{"x":""}`, `false`, ``},
		{`IsPresent([x])`, `{"x":"a"}`, `true`, ``},
		{`IsPresent([x])`, `{"x":false}`, `true`, ``},
		{`IsString([x])`, `{"x":"a"}`, `true`, ``},
		{`IsString([x])`, `{"x":""}`, `true`, ``},
		{`IsString([x])`, `{"x":5}`, `true`, ``},
		{`IsString([x])`, ``, `false`, ``},
		{`IsString([x])`, `{"x":["a","b"]}`, `false`, ``},
		{`IIF(IsNullOrEmpty([d]), "9999-01-01", [d])`, ``, `"9999-01-01"`, ``}, // WD pattern
		{`IIF(IsPresent([c]), [c], "Other")`, `{"c":"NL"}`, `"NL"`, ``},

		{`Split("a,b,,c", ",")`, ``, `["a","b","","c"]`, ``},
		{`Split("a, b", ",")`, ``, `["a"," b"]`, ``},
		{`Split("a--b", "--")`, ``, `["a","b"]`, ``},
		{`Split("abc", "")`, ``, `["abc"]`, ``},
		{`Split("abc", ",")`, ``, `["abc"]`, ``},
		{`Split("", ",")`, ``, `null`, ``},
		{`Split([x], ",")`, ``, `null`, ``},
		{`Split([m], ",")`, `{"m":["a,b","c"]}`, ``, `source: multi-valued`},
		{`Join("|", Split("a,b", ","))`, ``, `"a|b"`, ``},
		{`Item(Split("a,b", ","), 2)`, ``, `"b"`, ``},
	})
}
