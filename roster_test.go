package roster_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/roster-scim/roster"
)

func TestErrorHelpers(t *testing.T) {
	err := fmt.Errorf("wrapped: %w", roster.SCIMErrorf(roster.ScimUniqueness, "userName %q is taken", "a"))
	if got := roster.ErrorCode(err); got != roster.ECONFLICT {
		t.Errorf("ErrorCode = %q, want conflict (uniqueness is a 409)", got)
	}
	if got := roster.ErrorSCIMType(err); got != roster.ScimUniqueness {
		t.Errorf("ErrorSCIMType = %q", got)
	}
	if got := roster.ErrorMessage(err); got != `userName "a" is taken` {
		t.Errorf("ErrorMessage = %q", got)
	}
	internal := errors.New("disk on fire at /var/lib/x")
	if roster.ErrorCode(internal) != roster.EINTERNAL || roster.ErrorMessage(internal) != "internal error" {
		t.Errorf("an internal error must not show its cause: %q %q", roster.ErrorCode(internal), roster.ErrorMessage(internal))
	}
	if roster.ErrorCode(nil) != "" || roster.ErrorMessage(nil) != "" {
		t.Error("nil error must have no code or message")
	}
}

func TestKeyPrivileges(t *testing.T) {
	k := &roster.APIKey{Users: roster.PrivRead, Groups: roster.PrivWrite}
	for _, tc := range []struct {
		typ   string
		write bool
		want  bool
	}{
		{"User", false, true}, {"User", true, false}, {"Group", false, true}, {"Group", true, true},
	} {
		if got := k.Allows(tc.typ, tc.write); got != tc.want {
			t.Errorf("Allows(%s, write=%v) = %v, want %v", tc.typ, tc.write, got, tc.want)
		}
	}
	none := &roster.APIKey{Users: roster.PrivNone, Groups: roster.PrivNone}
	if none.Allows("User", false) || none.Allows("Group", false) {
		t.Error("a key with no privilege must not read")
	}
}

func TestSecretsAndIDs(t *testing.T) {
	s1, h1 := roster.NewSecret()
	s2, _ := roster.NewSecret()
	if s1 == s2 || len(s1) < 20 || string(roster.HashSecret(s1)) != string(h1) {
		t.Errorf("secrets must be random and hash stably: %q %q", s1, s2)
	}
	uuid := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	seen := map[string]bool{}
	for range 1000 {
		id := roster.NewID()
		if !uuid.MatchString(id) || seen[id] {
			t.Fatalf("NewID gave %q (duplicate: %v)", id, seen[id])
		}
		seen[id] = true
	}
}

func TestOAuthClientJSON(t *testing.T) {
	in := roster.OAuthClient{ID: "c1", Name: "Entra", TokenTTL: 2 * time.Hour}
	b, err := json.Marshal(in)
	if err != nil || !strings.Contains(string(b), `"token_ttl_seconds":7200`) {
		t.Fatalf("marshal: %s %v", b, err)
	}
	var out roster.OAuthClient
	if err := json.Unmarshal(b, &out); err != nil || out.TokenTTL != 2*time.Hour || out.ID != "c1" || out.Name != "Entra" {
		t.Fatalf("round trip: %+v %v", out, err)
	}
}

func TestValidTokenTTL(t *testing.T) {
	for d, ok := range map[time.Duration]bool{time.Hour: true, 6 * time.Hour: true, 90 * time.Minute: true,
		59 * time.Minute: false, 6*time.Hour + time.Second: false, time.Hour + time.Millisecond: false, 0: false} {
		if err := roster.ValidTokenTTL(d); (err == nil) != ok || err != nil && roster.ErrorCode(err) != roster.EINVALID {
			t.Errorf("ValidTokenTTL(%s) = %v, want ok=%v", d, err, ok)
		}
	}
}
