package scimhttp_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// A replay fixture is a recorded conversation of an identity provider with
// a SCIM server: the requests it sends, in order, and what it needs back.
// testdata/entra/*.json replay every request of
// /work/shared/reference/entra-scim-client.md §2–§5 in both of Entra's PATCH
// dialects; testdata/okta/*.json the Okta habits Roster supports. Keeping
// them as data lets a new recording be added without writing Go.
type replayFixture struct {
	Description string       `json:"description"`
	Steps       []replayStep `json:"steps"`
}

// replayStep is one request and its expectations. Path is relative to the
// tenant URL. Strings anywhere in path, headers, body and expectations may
// hold placeholders {{name.key.sub}}, replaced by the value at key.sub of
// the response body saved under name by an earlier step (e.g.
// {{user1.id}}, {{user1.meta.version}}).
type replayStep struct {
	Name    string            `json:"name"`
	Method  string            `json:"method"`
	Path    string            `json:"path"`
	Headers map[string]string `json:"headers"`
	// Body is sent as JSON; RawBody is sent as is (for malformed input).
	Body    any    `json:"body"`
	RawBody string `json:"raw_body"`

	ExpectStatus int `json:"expect_status"`
	// Expect is a subset of the response body: every key given must be
	// present with a matching value; arrays must have the same length and
	// match element by element. The string "<present>" matches any
	// non-null value.
	Expect any `json:"expect"`
	// ExpectExact must equal the whole response body.
	ExpectExact any `json:"expect_exact"`
	// ExpectAbsent lists JSON pointers (RFC 6901) that must not resolve,
	// e.g. "/members" or the literal key "/name.givenName".
	ExpectAbsent []string `json:"expect_absent"`
	// ExpectBodyContains lists substrings of the raw body.
	ExpectBodyContains []string `json:"expect_body_contains"`
	// ExpectHeaders are prefixes of response header values ("<present>"
	// for any value).
	ExpectHeaders map[string]string `json:"expect_headers"`
	// Save keeps the response body for later placeholders.
	Save string `json:"save"`
}

// TestReplay replays every fixture, each against a fresh server.
func TestReplay(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no replay fixtures under testdata/: %v", err)
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.ToSlash(file), ".json")
		t.Run(strings.TrimPrefix(name, "testdata/"), func(t *testing.T) {
			t.Parallel()
			runReplay(t, file)
		})
	}
}

func runReplay(t *testing.T, file string) {
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var fx replayFixture
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields() // a misspelt expectation must not pass silently
	if err := dec.Decode(&fx); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	h := newHarness(t)
	saved := map[string]any{}
	for i, st := range fx.Steps {
		label := fmt.Sprintf("%02d %s", i+1, st.Name)
		// Later steps depend on the ids and state earlier ones create, so
		// a wrong status ends the replay; a wrong body is reported and the
		// replay goes on, to show every mismatch at once.
		var sent bool
		t.Run(label, func(t *testing.T) { sent = runStep(t, h, saved, st) })
		if !sent {
			t.Fatalf("replay stopped at step %q", label)
		}
	}
}

// runStep sends one request and checks it. It returns false when the
// status was wrong (or the step could not be sent).
func runStep(t *testing.T, h *harness, saved map[string]any, st replayStep) bool {
	sub := func(s string) string { return substitute(t, saved, s) }
	body := st.RawBody
	if st.Body != nil {
		body = mustJSON(t, expand(t, saved, st.Body))
	}
	var headers []string
	for k, v := range st.Headers {
		headers = append(headers, k, sub(v))
	}
	path := sub(st.Path)
	r := h.request(t, st.Method, h.base+path, sub(body), headers...)
	if r.status != st.ExpectStatus {
		t.Errorf("%s %s: status %d, want %d\nrequest: %s\nresponse: %s", st.Method, path, r.status, st.ExpectStatus, body, r.raw)
		return false
	}
	var got any
	if len(r.raw) > 0 {
		if err := json.Unmarshal(r.raw, &got); err != nil {
			t.Fatalf("response is not JSON: %v\n%s", err, r.raw)
		}
	}
	if st.ExpectExact != nil {
		if want := expand(t, saved, st.ExpectExact); !jsonEqual(want, got) {
			t.Errorf("body is not exactly\n%s\ngot\n%s", mustJSON(t, want), r.raw)
		}
	}
	if st.Expect != nil {
		for _, d := range subsetDiff(expand(t, saved, st.Expect), got, "") {
			t.Errorf("%s\nbody: %s", d, r.raw)
		}
	}
	for _, p := range st.ExpectAbsent {
		if v, ok := pointer(got, sub(p)); ok {
			t.Errorf("%s is present (%v), want absent\nbody: %s", p, v, r.raw)
		}
	}
	for _, s := range st.ExpectBodyContains {
		if !strings.Contains(string(r.raw), sub(s)) {
			t.Errorf("body does not contain %q\nbody: %s", sub(s), r.raw)
		}
	}
	for k, want := range st.ExpectHeaders {
		got := r.header.Get(k)
		if want == "<present>" && got == "" || want != "<present>" && !strings.HasPrefix(got, sub(want)) {
			t.Errorf("header %s = %q, want %q", k, got, sub(want))
		}
	}
	if st.Save != "" {
		saved[st.Save] = got
	}
	return true
}

var placeholder = regexp.MustCompile(`\{\{([^{}]+)\}\}`)

// substitute replaces {{name.key.sub}} placeholders in s. Values inside a
// path's query string are URL-escaped by the fixture author's choice of
// where to put them; ids are UUIDs and need no escaping.
func substitute(t *testing.T, saved map[string]any, s string) string {
	t.Helper()
	return placeholder.ReplaceAllStringFunc(s, func(m string) string {
		parts := strings.Split(placeholder.FindStringSubmatch(m)[1], ".")
		v, ok := saved[parts[0]]
		for _, k := range parts[1:] {
			if !ok {
				break
			}
			obj, isObj := v.(map[string]any)
			v, ok = obj[k]
			ok = ok && isObj
		}
		if !ok || v == nil {
			t.Fatalf("placeholder %s: no such saved value", m)
		}
		switch v := v.(type) {
		case string:
			return v
		case float64:
			return strconv.FormatFloat(v, 'f', -1, 64)
		}
		t.Fatalf("placeholder %s is not a string or number: %v", m, v)
		return ""
	})
}

// expand substitutes placeholders in every string of a decoded JSON value,
// after decoding, so that values with quotes (an ETag) need no escaping.
func expand(t *testing.T, saved map[string]any, v any) any {
	switch v := v.(type) {
	case string:
		return substitute(t, saved, v)
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = expand(t, saved, x)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			out[substitute(t, saved, k)] = expand(t, saved, x)
		}
		return out
	}
	return v
}

// subsetDiff lists where got does not contain want (see replayStep.Expect).
func subsetDiff(want, got any, at string) []string {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return []string{fmt.Sprintf("%s: got %v, want an object", orRoot(at), got)}
		}
		var diffs []string
		for k, wv := range w {
			gv, ok := g[k]
			if !ok {
				diffs = append(diffs, fmt.Sprintf("%s/%s: missing, want %v", at, k, wv))
				continue
			}
			diffs = append(diffs, subsetDiff(wv, gv, at+"/"+k)...)
		}
		return diffs
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return []string{fmt.Sprintf("%s: got %v, want %d elements like %v", orRoot(at), got, len(w), w)}
		}
		var diffs []string
		for i := range w {
			diffs = append(diffs, subsetDiff(w[i], g[i], at+"/"+strconv.Itoa(i))...)
		}
		return diffs
	case string:
		if w == "<present>" && got != nil {
			return nil
		}
	}
	if !jsonEqual(want, got) {
		return []string{fmt.Sprintf("%s: got %#v, want %#v", orRoot(at), got, want)}
	}
	return nil
}

func orRoot(at string) string {
	if at == "" {
		return "/"
	}
	return at
}

// pointer resolves an RFC 6901 JSON pointer.
func pointer(v any, ptr string) (any, bool) {
	if ptr == "" {
		return v, true
	}
	for _, tok := range strings.Split(strings.TrimPrefix(ptr, "/"), "/") {
		tok = strings.NewReplacer("~1", "/", "~0", "~").Replace(tok)
		switch x := v.(type) {
		case map[string]any:
			var ok bool
			if v, ok = x[tok]; !ok {
				return nil, false
			}
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(x) {
				return nil, false
			}
			v = x[i]
		default:
			return nil, false
		}
	}
	return v, true
}
