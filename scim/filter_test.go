package scim

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/roster-scim/roster"
)

// Helpers that build expected ASTs. They carry a "flt" prefix because other
// files of the package are written concurrently and short names collide.

func fltAttr(name string) Path { return Path{Attr: name} }

func fltSub(attr, sub string) Path { return Path{Attr: attr, Sub: sub} }

func fltCmp(p Path, op string, v any) Expr { return &CompareExpr{Path: p, Op: op, Value: v} }

func fltPr(p Path) Expr { return &CompareExpr{Path: p, Op: "pr"} }

func fltAnd(l, r Expr) Expr { return &LogicalExpr{Op: "and", Left: l, Right: r} }

func fltOr(l, r Expr) Expr { return &LogicalExpr{Op: "or", Left: l, Right: r} }

func fltNot(x Expr) Expr { return &NotExpr{X: x} }

func fltVP(p Path, f Expr) Expr { return &ValuePathExpr{Path: p, Filter: f} }

func fltNum(s string) json.Number { return json.Number(s) }

// fltDump renders an AST unambiguously for failure messages (FormatFilter
// is itself under test, so it is not used for that).
func fltDump(e Expr) string {
	switch e := e.(type) {
	case nil:
		return "<nil>"
	case *CompareExpr:
		return fmt.Sprintf("Cmp(%#v %s %#v)", e.Path, e.Op, e.Value)
	case *LogicalExpr:
		return fmt.Sprintf("%s(%s, %s)", e.Op, fltDump(e.Left), fltDump(e.Right))
	case *NotExpr:
		return fmt.Sprintf("not(%s)", fltDump(e.X))
	case *ValuePathExpr:
		return fmt.Sprintf("VP(%#v, %s)", e.Path, fltDump(e.Filter))
	}
	return fmt.Sprintf("%T", e)
}

const (
	fltEnt  = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	fltCore = "urn:ietf:params:scim:schemas:core:2.0:User"
)

// fltGoodFilters are valid filters with their expected ASTs. The fuzz
// tests use the inputs as seeds.
var fltGoodFilters = []struct {
	in   string
	want Expr
}{
	// Every operator.
	{`userName eq "bjensen"`, fltCmp(fltAttr("userName"), "eq", "bjensen")},
	{`userName ne "bjensen"`, fltCmp(fltAttr("userName"), "ne", "bjensen")},
	{`userName co "jen"`, fltCmp(fltAttr("userName"), "co", "jen")},
	{`userName sw "J"`, fltCmp(fltAttr("userName"), "sw", "J")},
	{`userName ew "sen"`, fltCmp(fltAttr("userName"), "ew", "sen")},
	{`meta.lastModified gt "2011-05-13T04:42:34Z"`, fltCmp(fltSub("meta", "lastModified"), "gt", "2011-05-13T04:42:34Z")},
	{`meta.lastModified ge "2011-05-13T04:42:34Z"`, fltCmp(fltSub("meta", "lastModified"), "ge", "2011-05-13T04:42:34Z")},
	{`meta.lastModified lt "2011-05-13T04:42:34Z"`, fltCmp(fltSub("meta", "lastModified"), "lt", "2011-05-13T04:42:34Z")},
	{`meta.lastModified le "2011-05-13T04:42:34Z"`, fltCmp(fltSub("meta", "lastModified"), "le", "2011-05-13T04:42:34Z")},
	{`title pr`, fltPr(fltAttr("title"))},

	// Keywords are case-insensitive; the AST has lower-case operators.
	{`userName EQ "x"`, fltCmp(fltAttr("userName"), "eq", "x")},
	{`userName Sw "x"`, fltCmp(fltAttr("userName"), "sw", "x")},
	{`title PR`, fltPr(fltAttr("title"))},
	{`a Eq 1 AND b eq 2`, fltAnd(fltCmp(fltAttr("a"), "eq", fltNum("1")), fltCmp(fltAttr("b"), "eq", fltNum("2")))},
	{`a pr oR b pr`, fltOr(fltPr(fltAttr("a")), fltPr(fltAttr("b")))},
	{`NOT (a pr)`, fltNot(fltPr(fltAttr("a")))},
	{`active eq TRUE`, fltCmp(fltAttr("active"), "eq", true)},
	{`active eq False`, fltCmp(fltAttr("active"), "eq", false)},
	{`nickName eq NULL`, fltCmp(fltAttr("nickName"), "eq", nil)},

	// Precedence and associativity.
	{`a eq 1 or b eq 2 and c eq 3`, fltOr(
		fltCmp(fltAttr("a"), "eq", fltNum("1")),
		fltAnd(fltCmp(fltAttr("b"), "eq", fltNum("2")), fltCmp(fltAttr("c"), "eq", fltNum("3"))))},
	{`a eq 1 and b eq 2 or c eq 3`, fltOr(
		fltAnd(fltCmp(fltAttr("a"), "eq", fltNum("1")), fltCmp(fltAttr("b"), "eq", fltNum("2"))),
		fltCmp(fltAttr("c"), "eq", fltNum("3")))},
	{`(a eq 1 or b eq 2) and c eq 3`, fltAnd(
		fltOr(fltCmp(fltAttr("a"), "eq", fltNum("1")), fltCmp(fltAttr("b"), "eq", fltNum("2"))),
		fltCmp(fltAttr("c"), "eq", fltNum("3")))},
	{`a pr and b pr and c pr`, fltAnd(fltAnd(fltPr(fltAttr("a")), fltPr(fltAttr("b"))), fltPr(fltAttr("c")))},
	{`a pr or b pr or c pr`, fltOr(fltOr(fltPr(fltAttr("a")), fltPr(fltAttr("b"))), fltPr(fltAttr("c")))},
	{`a pr or (b pr or c pr)`, fltOr(fltPr(fltAttr("a")), fltOr(fltPr(fltAttr("b")), fltPr(fltAttr("c"))))},
	{`a pr and (b pr and c pr)`, fltAnd(fltPr(fltAttr("a")), fltAnd(fltPr(fltAttr("b")), fltPr(fltAttr("c"))))},
	{`a pr and b pr or c pr and d pr`, fltOr(
		fltAnd(fltPr(fltAttr("a")), fltPr(fltAttr("b"))),
		fltAnd(fltPr(fltAttr("c")), fltPr(fltAttr("d"))))},

	// not and parentheses.
	{`not (a eq 1)`, fltNot(fltCmp(fltAttr("a"), "eq", fltNum("1")))},
	{`not(a eq 1)`, fltNot(fltCmp(fltAttr("a"), "eq", fltNum("1")))},
	{`not (a pr) and b pr`, fltAnd(fltNot(fltPr(fltAttr("a"))), fltPr(fltAttr("b")))},
	{`not (not (a pr))`, fltNot(fltNot(fltPr(fltAttr("a"))))},
	{`not (a pr or b pr)`, fltNot(fltOr(fltPr(fltAttr("a")), fltPr(fltAttr("b"))))},
	{`((a pr))`, fltPr(fltAttr("a"))},
	{`(a pr)and(b pr)`, fltAnd(fltPr(fltAttr("a")), fltPr(fltAttr("b")))},
	// Attributes may be called like keywords where a keyword cannot be meant.
	{`not eq 1`, fltCmp(fltAttr("not"), "eq", fltNum("1"))},
	{`and pr or pr pr`, fltOr(fltPr(fltAttr("and")), fltPr(fltAttr("pr")))},

	// Whitespace.
	{"  userName eq \"x\"  ", fltCmp(fltAttr("userName"), "eq", "x")},
	{"userName\teq\t\"x\"", fltCmp(fltAttr("userName"), "eq", "x")},
	{"a   pr \r\n and\t\tb pr", fltAnd(fltPr(fltAttr("a")), fltPr(fltAttr("b")))},
	{`userName eq"x"`, fltCmp(fltAttr("userName"), "eq", "x")},

	// Value paths.
	{`emails[type eq "work"]`, fltVP(fltAttr("emails"), fltCmp(fltAttr("type"), "eq", "work"))},
	{`emails[type eq "work" and value co "@x" and primary eq true]`, fltVP(fltAttr("emails"),
		fltAnd(fltAnd(fltCmp(fltAttr("type"), "eq", "work"), fltCmp(fltAttr("value"), "co", "@x")),
			fltCmp(fltAttr("primary"), "eq", true)))},
	{`emails[type eq "work" or type eq "home" and not (primary eq true)]`, fltVP(fltAttr("emails"),
		fltOr(fltCmp(fltAttr("type"), "eq", "work"),
			fltAnd(fltCmp(fltAttr("type"), "eq", "home"), fltNot(fltCmp(fltAttr("primary"), "eq", true)))))},
	{`emails[(type eq "work" or type eq "home") and value pr]`, fltVP(fltAttr("emails"),
		fltAnd(fltOr(fltCmp(fltAttr("type"), "eq", "work"), fltCmp(fltAttr("type"), "eq", "home")),
			fltPr(fltAttr("value"))))},
	{`emails[not (type eq "work")]`, fltVP(fltAttr("emails"), fltNot(fltCmp(fltAttr("type"), "eq", "work")))},
	{`members[$ref eq "https://x/Users/1"]`, fltVP(fltAttr("members"), fltCmp(fltAttr("$ref"), "eq", "https://x/Users/1"))},
	{`emails[type eq "work"] and userName pr`, fltAnd(
		fltVP(fltAttr("emails"), fltCmp(fltAttr("type"), "eq", "work")), fltPr(fltAttr("userName")))},
	{`not (emails[type eq "work"])`, fltNot(fltVP(fltAttr("emails"), fltCmp(fltAttr("type"), "eq", "work")))},
	// The non-standard attr[filter].sub form.
	{`emails[type eq "work"].value eq "a@b.c"`, fltVP(fltAttr("emails"),
		fltAnd(fltCmp(fltAttr("type"), "eq", "work"), fltCmp(fltAttr("value"), "eq", "a@b.c")))},
	{`emails[type eq "work" or type eq "home"].value pr`, fltVP(fltAttr("emails"),
		fltAnd(fltOr(fltCmp(fltAttr("type"), "eq", "work"), fltCmp(fltAttr("type"), "eq", "home")),
			fltPr(fltAttr("value"))))},

	// URN-qualified paths.
	{fltEnt + `:employeeNumber eq "701984"`, fltCmp(Path{URN: fltEnt, Attr: "employeeNumber"}, "eq", "701984")},
	{fltEnt + `:manager.value eq "26118915-6090-4610-87e4-49d8ca9f808d"`,
		fltCmp(Path{URN: fltEnt, Attr: "manager", Sub: "value"}, "eq", "26118915-6090-4610-87e4-49d8ca9f808d")},
	{fltEnt + `:manager.$ref pr`, fltPr(Path{URN: fltEnt, Attr: "manager", Sub: "$ref"})},
	{fltCore + `:emails[type eq "work"]`, fltVP(Path{URN: fltCore, Attr: "emails"}, fltCmp(fltAttr("type"), "eq", "work"))},
	{`http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group:members pr`,
		fltPr(Path{URN: "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group", Attr: "members"})},

	// Strings.
	{`a eq ""`, fltCmp(fltAttr("a"), "eq", "")},
	{`a eq "a\"b\\c\/d\be\ff\ng\rh\ti"`, fltCmp(fltAttr("a"), "eq", "a\"b\\c/d\be\ff\ng\rh\ti")},
	{`a eq "\u00e9\u00E9\u00c9"`, fltCmp(fltAttr("a"), "eq", "ééÉ")},
	{`a eq "\ud83d\ude00\uD83D\uDE00"`, fltCmp(fltAttr("a"), "eq", "😀😀")},
	{`a eq "\ud800x"`, fltCmp(fltAttr("a"), "eq", "\uFFFDx")},
	{`a eq "\udc00\ud800\u0041"`, fltCmp(fltAttr("a"), "eq", "\uFFFD\uFFFDA")},
	{`a eq "\u0000"`, fltCmp(fltAttr("a"), "eq", "\x00")},
	{`a eq "héllo wörld ( ) [ ] and or"`, fltCmp(fltAttr("a"), "eq", "héllo wörld ( ) [ ] and or")},
	{`name.familyName co "O'Malley"`, fltCmp(fltSub("name", "familyName"), "co", "O'Malley")},

	// Numbers.
	{`a eq 0`, fltCmp(fltAttr("a"), "eq", fltNum("0"))},
	{`a eq -1`, fltCmp(fltAttr("a"), "eq", fltNum("-1"))},
	{`a gt 1.5`, fltCmp(fltAttr("a"), "gt", fltNum("1.5"))},
	{`a lt 1e10`, fltCmp(fltAttr("a"), "lt", fltNum("1e10"))},
	{`a le -0.5E-3`, fltCmp(fltAttr("a"), "le", fltNum("-0.5E-3"))},
	{`a ge 12345678901234567890`, fltCmp(fltAttr("a"), "ge", fltNum("12345678901234567890"))},
	{`(a eq 1)`, fltCmp(fltAttr("a"), "eq", fltNum("1"))},

	// Entra ID (Azure AD) provisioning.
	{`userName eq "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee"`,
		fltCmp(fltAttr("userName"), "eq", "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee")},
	{`id eq "g1" and members eq "u1"`, fltAnd(fltCmp(fltAttr("id"), "eq", "g1"), fltCmp(fltAttr("members"), "eq", "u1"))},
	{`externalId eq "x"`, fltCmp(fltAttr("externalId"), "eq", "x")},
	{`displayName eq "Group 1"`, fltCmp(fltAttr("displayName"), "eq", "Group 1")},

	// RFC 7644 §3.4.2.2 examples.
	{`name.familyName co "O'Malley"`, fltCmp(fltSub("name", "familyName"), "co", "O'Malley")},
	{`urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J"`, fltCmp(Path{URN: fltCore, Attr: "userName"}, "sw", "J")},
	{`title pr and userType eq "Employee"`, fltAnd(fltPr(fltAttr("title")), fltCmp(fltAttr("userType"), "eq", "Employee"))},
	{`title pr or userType eq "Intern"`, fltOr(fltPr(fltAttr("title")), fltCmp(fltAttr("userType"), "eq", "Intern"))},
	{`schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"`, fltCmp(fltAttr("schemas"), "eq", fltEnt)},
	{`userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")`, fltAnd(
		fltCmp(fltAttr("userType"), "eq", "Employee"),
		fltOr(fltCmp(fltAttr("emails"), "co", "example.com"), fltCmp(fltSub("emails", "value"), "co", "example.org")))},
	{`userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")`, fltAnd(
		fltCmp(fltAttr("userType"), "ne", "Employee"),
		fltNot(fltOr(fltCmp(fltAttr("emails"), "co", "example.com"), fltCmp(fltSub("emails", "value"), "co", "example.org"))))},
	{`userType eq "Employee" and (emails.type eq "work")`, fltAnd(
		fltCmp(fltAttr("userType"), "eq", "Employee"), fltCmp(fltSub("emails", "type"), "eq", "work"))},
	{`userType eq "Employee" and emails[type eq "work" and value co "@example.com"]`, fltAnd(
		fltCmp(fltAttr("userType"), "eq", "Employee"),
		fltVP(fltAttr("emails"), fltAnd(fltCmp(fltAttr("type"), "eq", "work"), fltCmp(fltAttr("value"), "co", "@example.com"))))},
	{`emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]`, fltOr(
		fltVP(fltAttr("emails"), fltAnd(fltCmp(fltAttr("type"), "eq", "work"), fltCmp(fltAttr("value"), "co", "@example.com"))),
		fltVP(fltAttr("ims"), fltAnd(fltCmp(fltAttr("type"), "eq", "xmpp"), fltCmp(fltAttr("value"), "co", "@foo.com"))))},
}

func TestParseFilter(t *testing.T) {
	for _, tc := range fltGoodFilters {
		got, err := ParseFilter(tc.in)
		if err != nil {
			t.Errorf("ParseFilter(%q): %v", tc.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParseFilter(%q)\n got  %s\n want %s", tc.in, fltDump(got), fltDump(tc.want))
		}
	}
}

// fltBadFilters are invalid filters with a fragment the message must hold.
var fltBadFilters = []struct {
	in, frag string
}{
	{`userName eqq "x"`, `invalid filter at position 10: expected a comparison operator (eq, ne, co, sw, ew, gt, ge, lt, le, pr) after "userName", found "eqq"`},
	{`userName = "x"`, `expected a comparison operator`},
	{`userName`, `after "userName", found the end of the filter`},
	{`userName eq "abc`, `unterminated string starting at position 13`},
	{`userName eq "abc\`, `unterminated string starting at position 13`},
	{`(userName eq "x"`, `unbalanced parenthesis: "(" at position 1 is never closed`},
	{`userName eq "x")`, `invalid filter at position 16: unbalanced parenthesis: ")" has no matching "("`},
	{`((a pr)`, `unbalanced parenthesis`},
	{`userName eq`, `missing value after "eq"`},
	{`userName eq )`, `missing value after "eq"`},
	{`(userName eq)`, `missing value after "eq"`},
	{`userName eq and b pr`, `missing value after "eq"`},
	{`userName eq bjensen`, `invalid value "bjensen" after "eq"`},
	{`userName eq bjensen`, `strings must be in double quotes, as in "bjensen"`},
	{`userName eq 'x'`, `strings must be in double quotes, as in "x"`},
	{`a eq 01`, `invalid number "01" after "eq": numbers use JSON syntax`},
	{`a eq 1.`, `invalid number "1." after "eq": numbers use JSON syntax`},
	{`a eq .5`, `invalid number ".5" after "eq": numbers use JSON syntax`},
	{`a eq +1`, `invalid number "+1" after "eq": numbers use JSON syntax`},
	{`a eq 1e`, `invalid number "1e" after "eq": numbers use JSON syntax`},
	{`a eq -`, `invalid number "-" after "eq": numbers use JSON syntax`},
	{`a eq tru`, `invalid value "tru"`},
	{`meta.lastModified gt 2011-05-13T04:42:34Z`, `invalid value "2011-05-13T04:42:34Z" after "gt": expected a JSON string, number, true, false or null; strings must be in double quotes, as in "2011-05-13T04:42:34Z"`},
	{``, `invalid filter: the filter is empty`},
	{" \t ", `the filter is empty`},
	{`userName eq "x" and`, `expected an attribute path, "(" or "not" after "and", found the end of the filter`},
	{`userName eq "x" or or b pr`, `expected an attribute path, "(" or "not" after "or", found "or"`},
	{`and userName eq "x"`, `at the start of the filter, found "and"`},
	{`"userName" eq "x"`, `at the start of the filter, found "\"userName\""`},
	{`()`, `after "(", found ")"`},
	{`userName eq "x" userName eq "y"`, `expected "and", "or" or the end of the filter after "\"x\"", found "userName"`},
	{`(a pr b pr)`, `expected "and", "or" or ")" after "pr", found "b"`},
	{`a pr 1`, `"pr" (present) takes no value; found "1" after it`},
	{`emails[type eq "work"].value.x eq 1`, `too many "."`},
	{`a.$ref1 eq 1`, `sub-attribute name "$ref1" in "a.$ref1" must start with a letter`},
	{`title pr "x"`, `"pr" (present) takes no value`},
	{`not userName eq "x"`, `expected "(" after "not", found "userName"`},
	{`not`, `expected "(" after "not", found the end of the filter`},
	{`a pr ]`, `"]" has no matching "["`},
	{`emails[type eq "work"`, `missing "]": "[" at position 7 is never closed`},
	{`emails[]`, `empty value filter "[]" after "emails"`},
	{`emails[type eq "work" value pr]`, `expected "and", "or" or "]"`},
	{`emails[type[value eq 1] eq 1]`, `nested value filters are not allowed`},
	{`emails[type eq "work" and addresses[type eq "x"]]`, `nested value filters are not allowed`},
	{`emails[type eq "work")]`, `unbalanced parenthesis`},
	{`emails[(type eq "work"]`, `unbalanced parenthesis: expected ")" to close "(" at position 8, found "]"`},
	{`emails [type eq "work"]`, `unexpected space before "["`},
	{`emails[type eq "work"] .value eq "x"`, `unexpected space before ".value"`},
	{`emails[type eq "work"].value`, `expected a comparison operator (eq, ne, co, sw, ew, gt, ge, lt, le, pr) after ".value"`},
	{`emails[type eq "work"].value.x eq 1`, `too many "."`},
	{`emails[type eq "work"]. eq 1`, `missing sub-attribute name`},
	{`emails[name.x eq 1]`, `inside "[...]" attribute names are sub-attributes`},
	{`emails[urn:a:b:type eq 1]`, `inside "[...]" attribute names are sub-attributes`},
	{`name.familyName[value eq 1]`, `must follow a multi-valued attribute`},
	{`a.b.c eq 1`, `invalid filter at position 4: too many "." in "a.b.c"`},
	{`a. eq 1`, `missing sub-attribute name in "a."`},
	{`.a eq 1`, `missing attribute name in ".a"`},
	{`1abc eq 1`, `invalid filter at position 1: attribute name "1abc" must start with a letter`},
	{`user!name eq 1`, `invalid filter at position 5: invalid character '!' in attribute name "user!name"`},
	{`usér eq 1`, `invalid character 'é'`},
	{`foo:bar eq 1`, `the part before the last ":" must be a schema URN`},
	{`:bar eq 1`, `must be a schema URN`},
	{`urn:x:y: eq 1`, `missing attribute name after the schema URN in "urn:x:y:"`},
	{`urn:x<y:a eq 1`, `invalid character '<' in the schema URN`},
	{`a eq "\x41"`, `invalid filter at position 7: invalid escape "\\x" in string`},
	{`a eq "\é"`, `invalid escape "\\é"`},
	{`a eq "\u12"`, `"\u" must be followed by four hexadecimal digits`},
	{`a eq "\u12g4"`, `four hexadecimal digits`},
	{"a eq \"x\ny\"", `invalid filter at position 8: control character U+000A in a string must be escaped`},
	{"a eq \"\xff\"", `invalid filter at position 7: invalid UTF-8 byte 0xff`},
	{"a eq \"x\" and b\xc3 pr", `invalid UTF-8`},
	{strings.Repeat("a pr and ", 1000) + "a pr", `the filter is 9004 bytes long; the limit is 8192 bytes`},
	{strings.Repeat("(", 51) + "a pr" + strings.Repeat(")", 51), `invalid filter at position 51: the filter is nested too deeply: more than 50 levels`},
	{strings.Repeat("not (", 51) + "a pr" + strings.Repeat(")", 51), `nested too deeply`},
	{strings.Repeat("(", 50) + "e[a pr]" + strings.Repeat(")", 50), `nested too deeply`},
	{strings.Repeat("(", 10000), `is 10000 bytes long`},
	{strings.Repeat("(", 8000), `nested too deeply`},
}

// fltCheckErr asserts that err is a *roster.Error of the given SCIM type
// whose message contains frag.
func fltCheckErr(t *testing.T, in string, err error, scimType, frag string) {
	t.Helper()
	if len(in) > 80 {
		in = in[:80] + "..."
	}
	var re *roster.Error
	if !errors.As(err, &re) {
		t.Errorf("%q: got error %v (%T), want a *roster.Error", in, err, err)
		return
	}
	if re.SCIMType != scimType || re.Code != roster.EINVALID {
		t.Errorf("%q: got code %q scimType %q, want %q %q", in, re.Code, re.SCIMType, roster.EINVALID, scimType)
	}
	if !strings.Contains(re.Message, frag) {
		t.Errorf("%q: message %q does not contain %q", in, re.Message, frag)
	}
}

func TestParseFilterErrors(t *testing.T) {
	for _, tc := range fltBadFilters {
		e, err := ParseFilter(tc.in)
		if err == nil {
			t.Errorf("ParseFilter(%q) = %s, want an error", tc.in, fltDump(e))
			continue
		}
		if e != nil {
			t.Errorf("ParseFilter(%q) returned both an Expr and an error", tc.in)
		}
		fltCheckErr(t, tc.in, err, roster.ScimInvalidFilter, tc.frag)
	}
}

func TestParseFilterLimits(t *testing.T) {
	// Exactly at the limits is fine.
	deep := strings.Repeat("(", 50) + "a pr" + strings.Repeat(")", 50)
	if _, err := ParseFilter(deep); err != nil {
		t.Errorf("50 levels of parentheses: %v", err)
	}
	deep = strings.Repeat("not (", 49) + "e[a pr]" + strings.Repeat(")", 49)
	if _, err := ParseFilter(deep); err != nil {
		t.Errorf("49 levels of not plus a bracket: %v", err)
	}
	long := strings.Repeat("a pr and ", 909) + "a pr" + strings.Repeat(" ", 8192-909*9-4)
	if len(long) != filterMaxLen {
		t.Fatalf("test bug: len %d", len(long))
	}
	start := time.Now()
	e, err := ParseFilter(long)
	if err != nil {
		t.Fatalf("8192-byte filter: %v", err)
	}
	if n := strings.Count(FormatFilter(e), " and "); n != 909 {
		t.Errorf("8192-byte filter has %d ands, want 909", n)
	}
	// Long flat chains and long strings parse fast (linear time); the
	// bound is generous so that slow CI machines do not flake.
	str := `a eq "` + strings.Repeat(`\u00e9x`, 1100) + `"`
	for i := 0; i < 100; i++ {
		if _, err := ParseFilter(long); err != nil {
			t.Fatal(err)
		}
		if _, err := ParseFilter(str); err != nil {
			t.Fatal(err)
		}
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("parsing 200 8 KB filters took %v", d)
	}
}

func TestFormatFilter(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{`userName EQ "bjensen"`, `userName eq "bjensen"`},
		{`title   PR`, `title pr`},
		{`a eq 1 or b eq 2 and c eq 3`, `a eq 1 or b eq 2 and c eq 3`},
		{`(a eq 1 or b eq 2) and c eq 3`, `(a eq 1 or b eq 2) and c eq 3`},
		{`a pr and (b pr and c pr)`, `a pr and (b pr and c pr)`},
		{`((a pr and b pr) and c pr)`, `a pr and b pr and c pr`},
		{`a pr or (b pr and c pr)`, `a pr or b pr and c pr`},
		{`a pr and (b pr or c pr)`, `a pr and (b pr or c pr)`},
		{`NOT(a eq true)`, `not (a eq true)`},
		{`a eq NULL and b eq False`, `a eq null and b eq false`},
		{`a eq -1.5E3`, `a eq -1.5E3`},
		{`a eq "\u00e9\n\u0001\"\\\/<>&\u2028"`, "a eq \"é\\n\\u0001\\\"\\\\/<>&\u2028\""},
		{`emails[type eq "work"].value eq "x"`, `emails[type eq "work" and value eq "x"]`},
		{`emails[type eq "a" or type eq "b"].value pr`, `emails[(type eq "a" or type eq "b") and value pr]`},
		{fltEnt + `:manager.value eq "1"`, fltEnt + `:manager.value eq "1"`},
	}
	for _, tc := range tests {
		e, err := ParseFilter(tc.in)
		if err != nil {
			t.Errorf("ParseFilter(%q): %v", tc.in, err)
			continue
		}
		if got := FormatFilter(e); got != tc.want {
			t.Errorf("FormatFilter(ParseFilter(%q)) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if got := FormatFilter(nil); got != "" {
		t.Errorf("FormatFilter(nil) = %q", got)
	}
	// Values of types the parser never produces are still rendered.
	if got := FormatFilter(fltCmp(fltAttr("a"), "eq", 42)); got != "a eq 42" {
		t.Errorf("int value: %q", got)
	}
	// Every valid test filter round-trips.
	for _, tc := range fltGoodFilters {
		s := FormatFilter(tc.want)
		e, err := ParseFilter(s)
		if err != nil {
			t.Errorf("ParseFilter(FormatFilter(%q)) = ParseFilter(%q): %v", tc.in, s, err)
			continue
		}
		if !reflect.DeepEqual(e, tc.want) {
			t.Errorf("round trip of %q via %q\n got  %s\n want %s", tc.in, s, fltDump(e), fltDump(tc.want))
		}
	}
}

// fltGoodPaths are valid PATCH paths with their expected results.
var fltGoodPaths = []struct {
	in   string
	want PatchPath
}{
	{`members`, PatchPath{Path: fltAttr("members")}},
	{`name.givenName`, PatchPath{Path: fltSub("name", "givenName")}},
	{` userName `, PatchPath{Path: fltAttr("userName")}},
	{`members.$ref`, PatchPath{Path: fltSub("members", "$ref")}},
	{`emails[type eq "work"].value`, PatchPath{Path: fltSub("emails", "value"), Filter: fltCmp(fltAttr("type"), "eq", "work")}},
	{`members[value eq "2819c223"]`, PatchPath{Path: fltAttr("members"), Filter: fltCmp(fltAttr("value"), "eq", "2819c223")}},
	{`MEMBERS[VALUE EQ "2819c223"]`, PatchPath{Path: fltAttr("MEMBERS"), Filter: fltCmp(fltAttr("VALUE"), "eq", "2819c223")}},
	{`addresses[type eq "work" and primary eq true or not (formatted pr)].streetAddress`, PatchPath{
		Path: fltSub("addresses", "streetAddress"),
		Filter: fltOr(fltAnd(fltCmp(fltAttr("type"), "eq", "work"), fltCmp(fltAttr("primary"), "eq", true)),
			fltNot(fltPr(fltAttr("formatted"))))}},
	{fltEnt + `:manager`, PatchPath{Path: Path{URN: fltEnt, Attr: "manager"}}},
	{fltEnt + `:manager.value`, PatchPath{Path: Path{URN: fltEnt, Attr: "manager", Sub: "value"}}},
	{fltEnt + `:employeeNumber`, PatchPath{Path: Path{URN: fltEnt, Attr: "employeeNumber"}}},
	{fltEnt, PatchPath{Path: Path{URN: "urn:ietf:params:scim:schemas:extension:enterprise:2.0", Attr: "User"}}},
	{fltCore + `:emails[type eq "work"].display`, PatchPath{Path: Path{URN: fltCore, Attr: "emails", Sub: "display"},
		Filter: fltCmp(fltAttr("type"), "eq", "work")}},
}

func TestParsePatchPath(t *testing.T) {
	for _, tc := range fltGoodPaths {
		got, err := ParsePatchPath(tc.in)
		if err != nil {
			t.Errorf("ParsePatchPath(%q): %v", tc.in, err)
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParsePatchPath(%q)\n got  %#v %s\n want %#v %s", tc.in,
				got.Path, fltDump(got.Filter), tc.want.Path, fltDump(tc.want.Filter))
		}
	}
}

var fltBadPaths = []struct {
	in, frag string
}{
	{``, `invalid path: the path is empty`},
	{`  `, `the path is empty`},
	{`"emails"`, `invalid path at position 1: expected an attribute path, found "\"emails\""`},
	{`[type eq "x"]`, `expected an attribute path, found "["`},
	{`emails eq "x"`, `invalid path at position 8: expected the end of the path after "emails", found "eq"`},
	{`name.givenName.x`, `too many "."`},
	{`name.`, `missing sub-attribute name`},
	{`emails[type eq "work"`, `missing "]": "[" at position 7 is never closed`},
	{`emails[type eq "work"].value.x`, `too many "."`},
	{`emails[type eq "work"].`, `missing sub-attribute name`},
	{`emails[type eq "work"]x`, `expected the end of the path after "]", found "x"`},
	{`emails[type eq "work"]]`, `expected the end of the path`},
	{`emails[type eq "work"][value pr]`, `expected the end of the path`},
	{`emails [type eq "work"]`, `unexpected space before "["`},
	{`emails[type eq "work"] .value`, `unexpected space before ".value"`},
	{`members[value eqq "x"]`, `invalid path at position 15: expected a comparison operator (eq, ne, co, sw, ew, gt, ge, lt, le, pr) after "value", found "eqq"`},
	{`members[value eq "x]`, `unterminated string starting at position 18`},
	{`members[]`, `empty value filter`},
	{`members[value[x pr] pr]`, `nested value filters are not allowed`},
	{`name.x[value pr]`, `must follow a multi-valued attribute`},
	{`1abc`, `must start with a letter`},
	{`urn:x:`, `missing attribute name after the schema URN`},
	{`a:b`, `must be a schema URN`},
	{"emails\xff", `invalid UTF-8`},
	{strings.Repeat("a", 9000), `the path is 9000 bytes long; the limit is 8192 bytes`},
}

func TestParsePatchPathErrors(t *testing.T) {
	for _, tc := range fltBadPaths {
		pp, err := ParsePatchPath(tc.in)
		if err == nil {
			t.Errorf("ParsePatchPath(%q) = %#v, want an error", tc.in, pp)
			continue
		}
		if !reflect.DeepEqual(pp, PatchPath{}) {
			t.Errorf("ParsePatchPath(%q) returned both a path and an error", tc.in)
		}
		fltCheckErr(t, tc.in, err, roster.ScimInvalidPath, tc.frag)
	}
}
