package reqlog

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// Redacted replaces every secret value in a captured body.
const Redacted = "[REDACTED]"

// secretWords mark a JSON key (or a PATCH path) whose value is a secret.
// Matching is by case-insensitive substring so that clientSecret,
// access_token, newPassword and URN-qualified paths are all caught;
// redacting a harmless "tokenCount" is the price of never storing a
// password.
var secretWords = []string{"password", "secret", "token"}

func isSecret(key string) bool {
	k := strings.ToLower(key)
	for _, w := range secretWords {
		if strings.Contains(k, w) {
			return true
		}
	}
	return false
}

// Redact returns a JSON body with the value of every secret-looking key
// replaced by Redacted, at any depth, and the value of every PATCH
// operation whose path names a secret ({"op":"replace","path":"password",
// "value":"…"}), which the key rule alone would miss. ok is false when the
// body is not JSON: such a body cannot be redacted, so it must not be
// stored.
//
// The result is re-encoded, so object keys come out sorted and
// insignificant whitespace is gone; numbers keep their text.
func Redact(body []byte) (out []byte, ok bool) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil || dec.More() {
		return nil, false
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(redact(v)); err != nil {
		return nil, false
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), true
}

func redact(v any) any {
	switch v := v.(type) {
	case map[string]any:
		secretPath := false
		for k, x := range v {
			if p, ok := x.(string); ok && strings.EqualFold(k, "path") && isSecret(p) {
				secretPath = true
			}
		}
		for k, x := range v {
			if isSecret(k) || secretPath && strings.EqualFold(k, "value") {
				v[k] = Redacted
			} else {
				v[k] = redact(x)
			}
		}
	case []any:
		for i := range v {
			v[i] = redact(v[i])
		}
	}
	return v
}

// captureBody is what the log stores of a body when capture is on: the
// redacted JSON, cut at max bytes, or a note when the body is not JSON.
func captureBody(body []byte, max int) string {
	red, ok := Redact(body)
	if !ok {
		return fmt.Sprintf("[%d-byte body that is not JSON: not stored, since it cannot be redacted]", len(body))
	}
	if len(red) > max {
		return truncate(string(red), max) + fmt.Sprintf(" [cut at %d of %d bytes]", max, len(red))
	}
	return string(red)
}
