package expr

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestSelectUniqueValue(t *testing.T) {
	const src = `SelectUniqueValue(` +
		`Join("@", NormalizeDiacritics(StripSpaces(Join(".", [PreferredFirstName], [PreferredLastName]))), "contoso.com"), ` +
		`Join("@", StripSpaces(Join(".", Mid([PreferredFirstName], 1, 1), [PreferredLastName])), "contoso.com"), ` +
		`Join("@", StripSpaces(Join(".", Mid([PreferredFirstName], 1, 2), [PreferredLastName])), "contoso.com"))`
	e, err := Parse(src)
	if err != nil {
		t.Fatal(err)
	}
	attrs := map[string]any{"PreferredFirstName": "John", "PreferredLastName": "Smith"}
	for _, tc := range []struct {
		taken []string
		want  string
	}{
		{nil, "John.Smith@contoso.com"},
		{[]string{"John.Smith@contoso.com"}, "J.Smith@contoso.com"},
		{[]string{"John.Smith@contoso.com", "J.Smith@contoso.com"}, "Jo.Smith@contoso.com"},
	} {
		var asked []string
		v, err := e.Eval(Env{Attrs: attrs, IsTaken: func(s string) (bool, error) {
			asked = append(asked, s)
			for _, x := range tc.taken {
				if x == s {
					return true, nil
				}
			}
			return false, nil
		}})
		if err != nil || v.String() != tc.want {
			t.Errorf("taken %v: %v, %v; want %s", tc.taken, v, err, tc.want)
		}
		if !reflect.DeepEqual(asked, append(tc.taken, tc.want)) {
			t.Errorf("taken %v: asked %v; rules after the free one must not be checked", tc.taken, asked)
		}
	}
	all := func(string) (bool, error) { return true, nil }
	if _, err := e.Eval(Env{Attrs: attrs, IsTaken: all}); !errors.Is(err, ErrAllTaken) || !strings.Contains(err.Error(), "Jo.Smith@contoso.com") {
		t.Errorf("all taken: err = %v, want ErrAllTaken naming the candidates", err)
	}
	if _, err := e.Eval(Env{Attrs: attrs}); err == nil || !strings.Contains(err.Error(), "col 1: SelectUniqueValue: no IsTaken") {
		t.Errorf("no callback: err = %v", err)
	}
	boom := errors.New("directory down")
	if _, err := e.Eval(Env{Attrs: attrs, IsTaken: func(string) (bool, error) { return false, boom }}); !errors.Is(err, boom) {
		t.Errorf("callback error: err = %v", err)
	}
	// Null and empty candidates are passed over.
	e, _ = Parse(`SelectUniqueValue([x], "", [a])`)
	v, err := e.Eval(Env{Attrs: map[string]any{"a": "A"}, IsTaken: func(s string) (bool, error) {
		if s == "" {
			t.Error("asked about an empty candidate")
		}
		return false, nil
	}})
	if err != nil || v.String() != "A" {
		t.Errorf("= %v, %v; want A", v, err)
	}
	e, _ = Parse(`SelectUniqueValue([m], "b")`)
	if _, err := e.Eval(Env{Attrs: map[string]any{"m": []any{"a", "b"}}, IsTaken: all}); err == nil || !strings.Contains(err.Error(), "rule 1: multi-valued") {
		t.Errorf("multi-valued rule: err = %v", err)
	}
}
