package expr

import "testing"

func TestReplace(t *testing.T) {
	runCases(t, []evalCase{
		// mode 1: oldValue, replacementValue
		{`Replace([a], "o", , , "0", , )`, `{"a":"foo boo"}`, `"f00 b00"`, ``},
		{`Replace([a], "O", , , "0", , )`, `{"a":"foo"}`, `"foo"`, ``}, // case-sensitive
		{`Replace([a], "", , , "x", , )`, `{"a":"foo"}`, `"foo"`, ``},  // empty oldValue: unchanged
		{`Replace([a], "o", , , [x], , )`, `{"a":"foo"}`, `"f"`, ``},   // null replacement is ""
		{`Replace([a], "o", , , "0", , )`, ``, `null`, ``},
		{`Replace([a], "o", , , "0", , )`, `{"a":""}`, `""`, ``},
		{`Replace([a], "o", , , "0")`, `{"a":"o"}`, `"0"`, ``}, // trailing arguments may be left off
		{`Replace([a], "o", , , "0", , )`, `{"a":["o","p"]}`, ``, `source: multi-valued`},
		// mode 2: oldValue, template
		{`Replace([u], "<u>", , , , , "<u>@x.com <u>")`, `{"u":"js"}`, `"js@x.com js"`, ``},
		{`Replace([u], "<u>", , , , , "<u>@x.com")`, ``, `null`, ``},
		// mode 3: regexPattern, replacementValue
		{`Replace([a], , "(\\d+)-(\\d+)", , "$2-$1", , )`, `{"a":"12-34"}`, `"34-12"`, ``},
		{`Replace([a], , "(?<x>\\d+)", , "<${x}>", , )`, `{"a":"a1b22"}`, `"a<1>b<22>"`, ``},
		{`Replace([a], , "(?P<x>\\d+)", , "[$&]", , )`, `{"a":"a1"}`, `"a[1]"`, ``},
		{`Replace([a], , "\\d", , "$$", , )`, `{"a":"a1"}`, `"a$"`, ``},
		{`Replace([a], , "\\d", , "${nope} $x $", , )`, `{"a":"1"}`, `"${nope} $x $"`, ``}, // literal, as .NET
		{`Replace([a], , "(\\d)", , "$10", , )`, `{"a":"7"}`, `"70"`, ``},                  // $1 then "0": no group 10
		{`Replace([a], , "x*", , "-", , )`, `{"a":"ab"}`, `"-a-b-"`, ``},
		{`Replace([a], , "(", , "-", , )`, `{"a":"ab"}`, ``, `col 1: Replace: regexPattern (Go RE2 syntax`},
		{`Replace([a], , "(?=a)", , "-", , )`, `{"a":"ab"}`, ``, `no lookarounds`},
		{`Replace([a], , "a", , "b", , )`, ``, `null`, ``},
		// mode 4: regexPattern, regexGroupName, replacementValue
		{`Replace([a], , "(?<n>\\d+)x", "n", "N", , )`, `{"a":"1x 2y 3x"}`, `"Nx 2y Nx"`, ``},
		{`Replace([a], , "(?<n>\\d)|z", "n", "N", , )`, `{"a":"1z"}`, `"Nz"`, ``}, // group not in the match: kept
		{`Replace([a], , "(\\d)", "1", "N", , )`, `{"a":"a1"}`, `"aN"`, ``},       // group by number
		{`Replace([a], , "(?<n>\\d)", "m", "N", , )`, `{"a":"a1"}`, ``, `no group "m"`},
		// mode 5: regexPattern, regexGroupName, replacementAttributeName
		{`Replace([t], , "\\+(?<p>\\d+)", "p", , [m], )`, `{"t":"+1","m":"+2"}`, `"+1"`, ``},
		{`Replace([t], , "\\+(?<p>\\d+)", "p", , [m], )`, `{"m":"+2"}`, `"2"`, ``},
		{`Replace([t], , "\\+(?<p>\\d+)", "p", , [m], )`, `{"t":"","m":"none"}`, `""`, ``},
		{`Replace([t], , "\\+(?<p>\\d+)", "p", , [m], )`, ``, `null`, ``},
		// wrong combinations
		{`Replace([a])`, `{"a":"x"}`, ``, `give an oldValue or a regexPattern`},
		{`Replace([a], "x", "y", , "z", , )`, `{"a":"x"}`, ``, `not both`},
		{`Replace([a], "x")`, `{"a":"x"}`, ``, `needs a replacementValue or a template`},
		{`Replace([a], , "x", "0")`, `{"a":"x"}`, ``, `regexPattern needs`},
		// growth is bounded
		{`Replace(Replace(Replace(Replace(Replace([a], "a", , , [a], , ), "a", , , [a], , ), "a", , , [a], , ), "a", , , [a], , ), "a", , , [a], , )`,
			`{"a":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}`, ``, `result longer than`},
	})
}
