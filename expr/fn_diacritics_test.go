package expr

import "testing"

func TestNormalizeDiacritics(t *testing.T) {
	runCases(t, []evalCase{
		{`NormalizeDiacritics("Zoë")`, ``, `"Zoe"`, ``},
		{`NormalizeDiacritics("José García-López")`, ``, `"Jose Garcia-Lopez"`, ``},
		{`NormalizeDiacritics("Æsa Ødegård Straße Łukasz İpek ıİ")`, ``, `"AEsa OEdegard Strasse Lukasz Ipek iI"`, ``},
		{`NormalizeDiacritics("ø̄ ā́x Ṳ̄")`, ``, `"oe ax U"`, ``},   // combining sequences of the table, longest first
		{"NormalizeDiacritics(\"e\u0301\")", ``, "\"e\u0301\"", ``}, // decomposed form is not in the table
		{`NormalizeDiacritics("Ђорђе 李")`, ``, `"Ђорђе 李"`, ``},     // not in the table: unchanged
		{`NormalizeDiacritics("")`, ``, `""`, ``},
		{`NormalizeDiacritics([x])`, ``, `null`, ``},
	})
}
