package expr

import "testing"

// TestWhereMicrosoftIsWrong holds the examples of Microsoft's documentation
// that are wrong or self-contradictory (marked [X] or [X?] in
// ../shared/reference/entra-expressions.md), each with what Roster gives and
// why. The vectors file already carries the corrected values of two of them
// (status "corrected", with a note); TestVectors runs those, and the two
// deviations Roster takes from a vector are in the deviations map.
func TestWhereMicrosoftIsWrong(t *testing.T) {
	runCases(t, []evalCase{
		// FN prints "19998887777" for "+1 (999) 888-7777", but '+' is not in
		// the character class, so the regex keeps it; the Workday guide's
		// identical pattern keeps it too ("+15551234567").
		{`Replace([mobile], , "[()\\s-]+", , "", , )`, `{"mobile":"+1 (555) 123-4567"}`, `"+15551234567"`, ``},
		// The Workday guide maps "+44 20 7946 0958" to "GBR", but isdCode,
		// "\d* ", captures "44 " with its trailing space, which equals no key:
		// an exact Switch (documented as exact and case-sensitive) gives the
		// default. Trimming would make Switch inexact for every other key.
		{`Switch(Replace([telephoneNumber], , "\\+(?<isdCode>\\d* )(?<phoneNumber>.*)", , "${isdCode}", , ), "USA", "1", "USA", "44", "GBR", "49", "DEU")`,
			`{"telephoneNumber":"+44 20 7946 0958"}`, `"USA"`, ``},
		// The Workday guide prints a lower-case address, but the expression
		// has no ToLower; NormalizeDiacritics and StripSpaces keep case.
		{`Join("@", NormalizeDiacritics(StripSpaces(Join(".", [PreferredFirstName], [PreferredLastName]))), "contoso.com")`,
			`{"PreferredFirstName":"María","PreferredLastName":"José González"}`, `"Maria.JoseGonzalez@contoso.com"`, ``},
		// The same guide's sAMAccountName example: again no ToLower, and its
		// character class does not remove the hyphen.
		{`Replace(NormalizeDiacritics(StripSpaces(Join("", Left([first], 1), [last]))), , "([\\\\/:*?\"<>|.])", , "", , )`,
			`{"first":"María José","last":"González-López"}`, `"MGonzalez-Lopez"`, ``},
		// FN's prose says "11110111 AND 00000111" for &HF and &HF7: &HF is
		// 00001111; the documented result, 7, is right either way.
		{`BitAnd(&HF, &HF7)`, ``, `7`, ``},
		// The Workday guide's NumFromDate results are wrong; these are the
		// FILETIME counts (100 ns since 1601-01-01 UTC), computed.
		{`NumFromDate("2025-12-31T23:59:59-07:00")`, ``, `134117243990000000`, ``},
		{`NumFromDate("2030-01-15 23:59:59-05:00")`, ``, `135392435990000000`, ``},
	})
}
