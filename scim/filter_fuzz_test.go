package scim

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/roster-scim/roster"
)

// fltCheckTree fails if e or any node below it is nil, or if a node breaks
// an invariant that the resolver relies on.
func fltCheckTree(t *testing.T, e Expr, inBracket bool) {
	t.Helper()
	switch e := e.(type) {
	case *CompareExpr:
		if e == nil {
			t.Fatal("nil *CompareExpr in tree")
		}
		if !filterIsCompareOp(e.Op) || strings.ToLower(e.Op) != e.Op {
			t.Fatalf("bad operator %q", e.Op)
		}
		if e.Op == "pr" && e.Value != nil {
			t.Fatalf("pr with value %#v", e.Value)
		}
		switch e.Value.(type) {
		case nil, string, bool, json.Number:
		default:
			t.Fatalf("value of type %T", e.Value)
		}
		if e.Path.Attr == "" || (inBracket && (e.Path.URN != "" || e.Path.Sub != "")) {
			t.Fatalf("bad path %#v (in bracket: %v)", e.Path, inBracket)
		}
	case *LogicalExpr:
		if e == nil || (e.Op != "and" && e.Op != "or") {
			t.Fatalf("bad logical node %#v", e)
		}
		fltCheckTree(t, e.Left, inBracket)
		fltCheckTree(t, e.Right, inBracket)
	case *NotExpr:
		if e == nil {
			t.Fatal("nil *NotExpr in tree")
		}
		fltCheckTree(t, e.X, inBracket)
	case *ValuePathExpr:
		if e == nil || inBracket || e.Path.Attr == "" || e.Path.Sub != "" {
			t.Fatalf("bad value path %#v (in bracket: %v)", e, inBracket)
		}
		fltCheckTree(t, e.Filter, true)
	default:
		t.Fatalf("unexpected node %T", e)
	}
}

// fltCheckFuzzErr fails unless err is a *roster.Error of the given type
// with a non-empty message.
func fltCheckFuzzErr(t *testing.T, err error, scimType string) {
	t.Helper()
	var re *roster.Error
	if !errors.As(err, &re) || re.SCIMType != scimType || re.Code != roster.EINVALID || re.Message == "" {
		t.Fatalf("error %#v is not a %s *roster.Error", err, scimType)
	}
}

// fltAddSeeds adds the inputs as seeds, leaving out the multi-kilobyte
// limit tests: the fuzzer minimizes every new interesting input, and
// minimizing 8 KB inputs stalls a 30-second run for most of its time. The
// limits are covered by TestParseFilterLimits and the error tables.
func fltAddSeeds(f *testing.F, inputs ...string) {
	for _, s := range inputs {
		if len(s) <= 512 {
			f.Add(s)
		}
	}
}

// fltSeeds returns every test input: valid and invalid filters and paths.
func fltSeeds() []string {
	var s []string
	for _, tc := range fltGoodFilters {
		s = append(s, tc.in)
	}
	for _, tc := range fltBadFilters {
		s = append(s, tc.in)
	}
	for _, tc := range fltGoodPaths {
		s = append(s, tc.in)
	}
	for _, tc := range fltBadPaths {
		s = append(s, tc.in)
	}
	return s
}

// FuzzParseFilter checks that ParseFilter never panics, that it returns
// either a well-formed tree or a SCIM error, and that FormatFilter output
// parses back to an equal tree and is itself stable.
func FuzzParseFilter(f *testing.F) {
	fltAddSeeds(f, fltSeeds()...)
	f.Fuzz(func(t *testing.T, s string) {
		e, err := ParseFilter(s)
		if err != nil {
			if e != nil {
				t.Fatalf("ParseFilter(%q) returned an Expr and an error", s)
			}
			fltCheckFuzzErr(t, err, roster.ScimInvalidFilter)
			return
		}
		if e == nil {
			t.Fatalf("ParseFilter(%q) returned nil, nil", s)
		}
		fltCheckTree(t, e, false)
		out := FormatFilter(e)
		// FormatFilter may add a few bytes (a space after "not", around
		// "and"), so re-parse without the length limit; depth never grows.
		e2, err := parseFilterLimit(out, 4*filterMaxLen)
		if err != nil {
			t.Fatalf("ParseFilter(%q) ok, but its FormatFilter %q does not parse: %v", s, out, err)
		}
		if !reflect.DeepEqual(e, e2) {
			t.Fatalf("round trip of %q via %q\n got  %s\n want %s", s, out, fltDump(e2), fltDump(e))
		}
		if out2 := FormatFilter(e2); out2 != out {
			t.Fatalf("FormatFilter not stable for %q: %q then %q", s, out, out2)
		}
	})
}

// FuzzParsePatchPath checks that ParsePatchPath never panics, returns a SCIM
// invalidPath error or a well-formed path, and that the path rebuilt with
// FormatFilter parses back to the same result.
func FuzzParsePatchPath(f *testing.F) {
	fltAddSeeds(f, fltSeeds()...)
	f.Fuzz(func(t *testing.T, s string) {
		pp, err := ParsePatchPath(s)
		if err != nil {
			if !reflect.DeepEqual(pp, PatchPath{}) {
				t.Fatalf("ParsePatchPath(%q) returned a path and an error", s)
			}
			fltCheckFuzzErr(t, err, roster.ScimInvalidPath)
			return
		}
		if pp.Path.Attr == "" {
			t.Fatalf("ParsePatchPath(%q) = %#v: empty Attr", s, pp)
		}
		rebuilt := pp.Path.String()
		if pp.Filter != nil {
			fltCheckTree(t, pp.Filter, true)
			base := Path{URN: pp.Path.URN, Attr: pp.Path.Attr}
			rebuilt = base.String() + "[" + FormatFilter(pp.Filter) + "]"
			if pp.Path.Sub != "" {
				rebuilt += "." + pp.Path.Sub
			}
		}
		if len(rebuilt) > filterMaxLen {
			return // FormatFilter added a few bytes; nothing to compare
		}
		pp2, err := ParsePatchPath(rebuilt)
		if err != nil {
			t.Fatalf("ParsePatchPath(%q) ok, but rebuilt %q does not parse: %v", s, rebuilt, err)
		}
		if !reflect.DeepEqual(pp, pp2) {
			t.Fatalf("round trip of %q via %q: got %#v %s, want %#v %s",
				s, rebuilt, pp2.Path, fltDump(pp2.Filter), pp.Path, fltDump(pp.Filter))
		}
	})
}

// FuzzFilterJSONString cross-checks the hand-written JSON string lexer
// against encoding/json: an input that is exactly one string literal must
// lex without error exactly when encoding/json accepts it, to the same text.
func FuzzFilterJSONString(f *testing.F) {
	for _, s := range []string{`""`, `"abc"`, `"\u00e9\u00E9"`, `"\ud83d\ude00"`, `"\ud800"`, `"\udc00\ud800x"`,
		`"\ud800\u0041"`, `"\ud800\ud800\udc00"`, `"\"\\\/\b\f\n\r\t"`, `"\x41"`, `"abc`, "\"a\nb\"", `"é"`, `"a"b`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, lit string) {
		if !utf8.ValidString(lit) || !strings.HasPrefix(lit, `"`) {
			return // the parser rejects invalid UTF-8 before lexing
		}
		var want string
		jsonErr := json.Unmarshal([]byte(lit), &want)
		p := &filterParser{src: lit}
		tok, err := p.lex()
		whole := err == nil && strings.TrimRight(lit[p.off:], " \t\r\n") == ""
		if whole != (jsonErr == nil) {
			t.Fatalf("%q: lexer error %v (whole literal: %v), encoding/json error %v", lit, err, whole, jsonErr)
		}
		if whole && tok.val != want {
			t.Fatalf("%q: lexer decoded %q, encoding/json %q", lit, tok.val, want)
		}
		if err != nil {
			fltCheckFuzzErr(t, err, roster.ScimInvalidFilter)
		}
	})
}
