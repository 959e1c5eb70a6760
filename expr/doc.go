// Package expr parses the attribute-mapping expression language of
// Microsoft Entra ID provisioning, as specified in
// ../shared/reference/entra-expressions.md, so that a mapping copied from an
// Entra configuration means the same thing here.
//
// The grammar, with whitespace allowed between tokens:
//
//	expression = term
//	term       = call | attribute | string | number | identifier
//	call       = Name "(" [ arg { "," arg } ] ")"
//	arg        = [ term | term op term ]   (empty: an omitted positional argument)
//	op         = "=" | "<>" | "<" | "<=" | ">" | ">="
//	attribute  = "[" name "]"              (dots, colons, URNs; no spaces or brackets)
//	string     = '"' { char | '\"' | '\\' } '"'
//	number     = [ "-" ] digits [ "." digits ] | "&H" hexdigits
//	identifier = vbTextCompare | vbBinaryCompare | IgnoreAttributeFlow | IgnoreObjectFlow
//
// A comparison is allowed only where the reference uses one: the condition
// of IIF and the argument of CBool; there is no AND or OR. Function names are
// case-sensitive and must be in the function table (functions.go), which
// also fixes each function's argument count, so unknown functions and wrong
// counts fail at parse time. SelectUniqueValue must be the whole expression.
// Expressions are at most MaxLen characters; positions in errors count
// characters from 1.
package expr
