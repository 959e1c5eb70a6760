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
//
// (*Expr).Eval evaluates a parsed expression against an Env: the source
// attributes (as decoded from JSON), a clock, a source of randomness and
// the uniqueness callback of SelectUniqueValue. Values are null, strings,
// numbers (kept as decimal text), booleans and multi-valued lists (see
// Value; the app-role functions also build SCIM role objects); [name] looks
// the attribute up case-sensitively, exactly as written. Evaluation errors
// are *EvalError with the position of the call that failed. Two functions
// act on how a value is written rather than on the value, and the
// provisioning engine asks Expr.Calls about them: Redact hides the value in
// provisioning logs, and AssertiveAppRoleAssignmentsComplex replaces the
// target's roles where AppRoleAssignmentsComplex adds to them.
package expr
