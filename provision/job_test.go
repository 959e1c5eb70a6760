package provision

import (
	"encoding/json"
	"github.com/roster-scim/roster/expr"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

const minimalJob = `{"name": "hr", "source": {"type": "file", "path": "users.csv"},
	"target": {"url": "https://app.example.com/scim/v2", "token": "s3cret"}}`

func TestLoadJobJSONAndYAML(t *testing.T) {
	yaml := `
name: hr
source: {type: file, path: users.csv, groups_column: groups}
target:
  url: https://app.example.com/scim/v2
  token: s3cret
  concurrency: 4
scope:
  users:
    filters:
      - clauses:
          - {attribute: department, operator: EQUALS, value: Sales}
mappings:
  users:
    - {target: title, constant: Employee}
    - {target: displayName, remove: true}
    - {target: userName, expression: 'ToLower([userPrincipalName])', apply: create}
matching:
  users: [{target: userName}, {target: externalId}]
schedule: {interval: 1h, enabled: false}
on_delete: disable
`
	j, err := LoadJob(strings.NewReader(yaml), "job.yaml", "/jobs")
	if err != nil {
		t.Fatal(err)
	}
	if j.Source.Path != "/jobs/users.csv" || j.Target.Concurrency != 4 || j.Interval() != time.Hour || j.Enabled() || j.OnDelete != "disable" {
		t.Errorf("job: %+v", j)
	}
	if len(j.Matching.Users) != 2 || j.Scope.Users == nil || len(j.Scope.Users.Filters) != 1 {
		t.Errorf("matching/scope: %+v %+v", j.Matching, j.Scope)
	}
	ms, err := j.UserMappings()
	if err != nil {
		t.Fatal(err)
	}
	byTarget := map[string]compiled{}
	for _, m := range ms {
		byTarget[m.Target] = m
	}
	if _, ok := byTarget["displayName"]; ok {
		t.Error("displayName was removed but is still mapped")
	}
	if byTarget["title"].Constant != "Employee" || byTarget["userName"].Apply != "create" || byTarget["userName"].expr == nil {
		t.Errorf("overrides: %+v %+v", byTarget["title"], byTarget["userName"])
	}
	if len(ms) != len(DefaultUserMappings)-1 { // displayName removed; title and userName replaced
		t.Errorf("%d mappings, want %d", len(ms), len(DefaultUserMappings)-1)
	}

	j2, err := LoadJob(strings.NewReader(minimalJob), "job.json", "")
	if err != nil {
		t.Fatal(err)
	}
	if j2.Interval() != DefaultInterval || !j2.Enabled() || !j2.GroupsEnabled() {
		t.Errorf("defaults: %+v", j2)
	}
}

func TestJobValidation(t *testing.T) {
	for _, c := range []struct{ body, want string }{
		{`{"name": "hr", "source": {"type": "file"}, "target": {"url": "https://x.example", "token": "t"}}`, "source.path"},
		{`{"name": "h r", "source": {"type": "file", "path": "u"}, "target": {"url": "https://x.example", "token": "t"}}`, `name "h r"`},
		{`{"name": "hr", "source": {"type": "ldap"}, "target": {"url": "https://x.example", "token": "t"}}`, `source.type "ldap"`},
		{`{"name": "hr", "source": {"type": "file", "path": "u"}, "target": {"url": "ftp://x", "token": "t"}}`, "target.url"},
		{`{"name": "hr", "source": {"type": "file", "path": "u"}, "target": {"url": "https://x.example"}}`, "needs a token"},
		{`{"name": "hr", "source": {"type": "file", "path": "u"}, "target": {"url": "https://x.example", "token": "t", "client_id": "c"}}`, "not both"},
		{`{"name": "hr", "source": {"type": "file", "path": "u"}, "target": {"url": "https://x.example", "client_id": "c"}}`, "token_url, client_id and client_secret"},
		{`{"name": "hr", "source": {"type": "file", "path": "u"}, "target": {"url": "https://x.example", "token": "t"}, "scope": {"assigned": true}}`, "scope.groups"},
		{`{"name": "hr", "source": {"type": "file", "path": "u"}, "target": {"url": "https://x.example", "token": "t"}, "on_delete": "purge"}`, "on_delete"},
		{`{"name": "hr", "source": {"type": "file", "path": "u"}, "target": {"url": "https://x.example", "token": "t"}, "schedule": {"interval": "5s"}}`, "at least 1m"},
		{`{"name": "hr", "source": {"type": "file", "path": "u"}, "target": {"url": "https://x.example", "token": "t"}, "mappings": {"users": [{"target": "title", "source": "a", "constant": "b"}]}}`, "exactly one of"},
		{`{"name": "hr", "source": {"type": "file", "path": "u"}, "target": {"url": "https://x.example", "token": "t"}, "mappings": {"users": [{"target": "title", "expression": "Nope([a])"}]}}`, "unknown function"},
		{`{"name": "hr", "source": {"type": "file", "path": "u"}, "target": {"url": "https://x.example", "token": "t"}, "mappings": {"users": [{"target": "bad path!", "source": "a"}]}}`, "SCIM attribute path"},
		{`{"name": "hr", "source": {"type": "file", "path": "u"}, "target": {"url": "https://x.example", "token": "t"}, "mappings": {"users": [{"target": "title", "source": "a", "apply": "sometimes"}]}}`, "apply"},
		{`{"name": "hr", "source": {"type": "file", "path": "u"}, "target": {"url": "https://x.example", "token": "t"}, "scope": {"users": {"filters": [{"clauses": [{"attribute": "a", "operator": "SOUNDS LIKE"}]}]}}}`, "scope"},
		{`{"name": "hr", "surprise": 1, "source": {"type": "file", "path": "u"}, "target": {"url": "https://x.example", "token": "t"}}`, `unknown field "surprise"`},
	} {
		_, err := DecodeJob([]byte(c.body))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err %v, want %q", c.body, err, c.want)
		}
	}
}

func TestFingerprint(t *testing.T) {
	a, _ := DecodeJob([]byte(minimalJob))
	b, _ := DecodeJob([]byte(minimalJob))
	b.Target.Token = "another" // secrets and endpoints do not change what is mapped
	if a.Fingerprint() != b.Fingerprint() {
		t.Error("a new token changed the fingerprint")
	}
	b.Mappings.Users = []Mapping{{Target: "title", Constant: "x"}}
	if a.Fingerprint() == b.Fingerprint() {
		t.Error("a new mapping did not change the fingerprint")
	}
}

func TestSealer(t *testing.T) {
	key := make([]byte, KeySize)
	key[0] = 1
	s, err := NewSealer(key)
	if err != nil {
		t.Fatal(err)
	}
	j, _ := DecodeJob([]byte(minimalJob))
	stored, err := s.SealJob(j)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(stored), "s3cret") || !strings.Contains(string(stored), sealPrefix) {
		t.Fatalf("stored job: %s", stored)
	}
	back, err := s.OpenJob(stored)
	if err != nil || back.Target.Token != "s3cret" {
		t.Fatalf("opened: %+v, %v", back, err)
	}
	other, _ := NewSealer(make([]byte, KeySize))
	if _, err := other.OpenJob(stored); err == nil || !strings.Contains(err.Error(), "key") {
		t.Errorf("another key opened it: %v", err)
	}
	// Two seals of one secret differ (random nonce), and tampering fails.
	x, _ := s.Seal("a")
	y, _ := s.Seal("a")
	if x == y {
		t.Error("sealing is deterministic")
	}
	if _, err := s.Open(x[:len(x)-2] + "AA"); err == nil {
		t.Error("a tampered secret opened")
	}
	if r := j.Redacted(); r.Target.Token != hidden || j.Target.Token != "s3cret" {
		t.Errorf("Redacted: %q, original %q", r.Target.Token, j.Target.Token)
	}
}

func TestKeys(t *testing.T) {
	dir := t.TempDir()
	k1, err := LoadOrCreateKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	k2, err := LoadOrCreateKey(dir)
	if err != nil || !reflect.DeepEqual(k1, k2) {
		t.Fatalf("second load: %x %v, want %x", k2, err, k1)
	}
	if _, err := ParseKey("short"); err == nil {
		t.Error("a short key parsed")
	}
	b64 := "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
	if k, err := ParseKey(b64); err != nil || k[31] != 31 {
		t.Errorf("base64 key: %v", err)
	}
}

func TestMappingsApply(t *testing.T) {
	j, _ := DecodeJob([]byte(minimalJob))
	j.Mappings.Users = []Mapping{
		{Target: "title", Source: "jobTitle", Default: "Staff"},
		{Target: "nickName", Expression: `IgnoreFlowIfNullOrEmpty([nick])`},
		{Target: "userType", Constant: "Employee", Apply: "create"},
		{Target: "displayName", Expression: `Redact([displayName])`},
	}
	ms, err := j.UserMappings()
	if err != nil {
		t.Fatal(err)
	}
	attrs := map[string]any{"userPrincipalName": "ada@x.com", "givenName": "Ada", "surname": "L", "displayName": "Ada L",
		"mail": "ada@x.com", "manager": "7", "department": "Math", "telephoneNumber": "+1 555"}
	m, err := ms.apply(attrs, envForTest(), nil, true)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"userName": "ada@x.com", "displayName": "Ada L", "title": "Staff", "userType": "Employee",
		`emails[type eq "work"].value`: "ada@x.com", "name.givenName": "Ada", "name.familyName": "L",
		"name.formatted": "Ada L", EnterpriseURN + ":department": "Math", `phoneNumbers[type eq "work"].value`: "+1 555",
	}
	if !reflect.DeepEqual(m.values, want) || m.manager != "7" || !m.redact["displayName"] {
		t.Errorf("create:\n got %v\nwant %v\nmanager %q redact %v", m.values, want, m.manager, m.redact)
	}
	// On update: no default, no create-only mapping.
	m, _ = ms.apply(attrs, envForTest(), nil, false)
	if _, ok := m.values["title"]; ok {
		t.Error("the default applied on update")
	}
	if _, ok := m.values["userType"]; ok {
		t.Error("a create-only mapping applied on update")
	}
	doc := document(User, want)
	b, _ := json.Marshal(doc)
	for _, s := range []string{`"emails":[{"type":"work","value":"ada@x.com"}]`, `"name":{"familyName":"L","formatted":"Ada L","givenName":"Ada"}`,
		`"` + EnterpriseURN + `":{"department":"Math"}`, `"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","` + EnterpriseURN + `"]`} {
		if !strings.Contains(string(b), s) {
			t.Errorf("document %s lacks %s", b, s)
		}
	}
	// IgnoreObjectFlow skips the object.
	j.Mappings.Users = []Mapping{{Target: "title", Expression: `IIF([x] = "skip", IgnoreObjectFlow, "t")`}}
	ms, _ = j.UserMappings()
	if _, err := ms.apply(map[string]any{"x": "skip"}, envForTest(), nil, true); err != errSkipObject {
		t.Errorf("IgnoreObjectFlow: %v", err)
	}
}

func TestDiffAndPaths(t *testing.T) {
	before := map[string]any{"title": "a", "displayName": "x", "gone": "y"}
	now := map[string]any{"title": "b", "displayName": "x", "new": json.Number("1")}
	if d := diff(before, now); !reflect.DeepEqual(d, map[string]any{"title": "b", "new": json.Number("1")}) {
		t.Errorf("diff = %v", d)
	}
	res := map[string]any{"userName": "ada", "Emails": []any{map[string]any{"type": "work", "value": "a@x"}},
		EnterpriseURN: map[string]any{"department": "Math"}, "name": map[string]any{"givenName": "Ada"}}
	got := valuesOf(res, map[string]any{"userName": 0, `emails[type eq "work"].value`: 0, EnterpriseURN + ":department": 0,
		"name.givenName": 0, `phoneNumbers[type eq "work"].value`: 0})
	want := map[string]any{"userName": "ada", `emails[type eq "work"].value`: "a@x", EnterpriseURN + ":department": "Math", "name.givenName": "Ada"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("valuesOf = %v", got)
	}
}

func envForTest() expr.Env {
	return expr.Env{Now: func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) }}
}

// TestHashEncoding: values that differ never encode the same, so a change
// always changes the source hash.
func TestHashEncoding(t *testing.T) {
	vals := []any{
		map[string]any{"a": "bc"}, map[string]any{"ab": "c"}, []any{"a", "b"}, []any{"ab"}, "1", json.Number("1"),
		true, "true", nil, "", []any{}, map[string]any{}, []any{nil}, map[string]any{"a": nil},
		map[string]any{"a": []any{"b", "c"}}, map[string]any{"a": []any{"b"}, "c": nil},
	}
	seen := map[string]int{}
	for i, v := range vals {
		k := string(appendValue(nil, v))
		if j, ok := seen[k]; ok {
			t.Errorf("%#v and %#v encode the same", vals[j], v)
		}
		seen[k] = i
	}
	if string(appendValue(nil, map[string]any{"x": "1", "y": "2"})) != string(appendValue(nil, map[string]any{"y": "2", "x": "1"})) {
		t.Error("map order changes the encoding")
	}
}

func TestSecretsFromEnvAndFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "secret.txt"), []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("ROSTER_TEST_TARGET_TOKEN", "from-env")
	load := func(target string) (*Job, error) {
		return LoadJob(strings.NewReader(`{"name": "hr", "source": {"type": "file", "path": "u.csv"}, "target": `+target+`}`), "job.json", dir)
	}
	j, err := load(`{"url": "https://x.example", "token_env": "ROSTER_TEST_TARGET_TOKEN"}`)
	if err != nil || j.Target.Token != "from-env" || j.Target.TokenEnv != "" {
		t.Errorf("token_env: %+v, %v", j, err)
	}
	j, err = load(`{"url": "https://x.example", "token_url": "https://x.example/token", "client_id": "c", "client_secret_file": "secret.txt"}`)
	if err != nil || j.Target.ClientSecret != "from-file" || j.Target.ClientSecretFile != "" {
		t.Errorf("client_secret_file: %+v, %v", j, err)
	}
	for target, want := range map[string]string{
		`{"url": "https://x.example", "token": "t", "token_env": "ROSTER_TEST_TARGET_TOKEN"}`: "give one of token, token_env and token_file",
		`{"url": "https://x.example", "token_env": "ROSTER_TEST_UNSET_VARIABLE"}`:             "ROSTER_TEST_UNSET_VARIABLE is empty or not set",
		`{"url": "https://x.example", "token_file": "missing.txt"}`:                           "target.token_file",
	} {
		if _, err := load(target); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", target, err, want)
		}
	}
}
