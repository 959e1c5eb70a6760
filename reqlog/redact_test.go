package reqlog

import (
	"strings"
	"testing"
)

func TestRedact(t *testing.T) {
	for _, c := range []struct{ name, in, want string }{
		{"top-level password", `{"userName":"alice","password":"hunter2"}`, `{"password":"[REDACTED]","userName":"alice"}`},
		{"any case, any depth", `{"a":{"b":[{"c":{"ClientSecret":"s1","Access_Token":{"x":1}}}]},"NewPassword":"p"}`,
			`{"NewPassword":"[REDACTED]","a":{"b":[{"c":{"Access_Token":"[REDACTED]","ClientSecret":"[REDACTED]"}}]}}`},
		{"URN-qualified key", `{"urn:example:ext:User:password":"p","active":true}`, `{"active":true,"urn:example:ext:User:password":"[REDACTED]"}`},
		{"PATCH op with a secret path", `{"Operations":[{"op":"replace","path":"password","value":"hunter2"},{"op":"replace","path":"title","value":"Boss"}]}`,
			`{"Operations":[{"op":"replace","path":"password","value":"[REDACTED]"},{"op":"replace","path":"title","value":"Boss"}]}`},
		{"PATCH op, key case and object value", `{"Operations":[{"Op":"Add","Path":"urn:x:User:apiToken","Value":{"v":"t"}}]}`,
			`{"Operations":[{"Op":"Add","Path":"urn:x:User:apiToken","Value":"[REDACTED]"}]}`},
		{"pathless PATCH", `{"Operations":[{"op":"replace","value":{"password":"p","displayName":"A"}}]}`,
			`{"Operations":[{"op":"replace","value":{"displayName":"A","password":"[REDACTED]"}}]}`},
		{"numbers keep their text, HTML is not escaped", `{"n":1.50,"big":12345678901234567890,"s":"<a&b>"}`, `{"big":12345678901234567890,"n":1.50,"s":"<a&b>"}`},
		{"an array body", `[{"token":"t"}]`, `[{"token":"[REDACTED]"}]`},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, ok := Redact([]byte(c.in))
			if !ok || string(got) != c.want {
				t.Errorf("Redact(%s)\n got %s, %v\nwant %s", c.in, got, ok, c.want)
			}
		})
	}
	for _, in := range []string{``, `password=hunter2`, `{"password":"hunter2"`, `{"a":1} {"password":"p"}`} {
		if got, ok := Redact([]byte(in)); ok {
			t.Errorf("Redact(%q) = %s, true; want not ok", in, got)
		}
	}
}

func TestCaptureBody(t *testing.T) {
	if got := captureBody([]byte(`password=hunter2`), 1000); strings.Contains(got, "hunter2") || !strings.Contains(got, "not JSON") {
		t.Errorf("a non-JSON body is stored as %q", got)
	}
	long := `{"password":"hunter2","description":"` + strings.Repeat("x", 500) + `"}`
	got := captureBody([]byte(long), 100)
	if strings.Contains(got, "hunter2") || !strings.Contains(got, "[cut at 100 of") || len(got) > 140 {
		t.Errorf("a long body is stored as %q", got)
	}
}

// BenchmarkCaptureBody is the extra cost per created user with body
// capture on.
func BenchmarkCaptureBody(b *testing.B) {
	for b.Loop() {
		captureBody(entraUser, 64<<10)
	}
}
