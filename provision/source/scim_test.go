package source

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/roster-scim/roster/provision"
)

// fakeLister serves resources from memory, as JSON, the way the engine's
// SCIM client hands them over, and applies the one filter the SCIM source
// sends.
type fakeLister struct {
	resources map[string][]string // resource type → JSON documents
	calls     []string            // "Users|filter|attributes"
	err       error               // returned by List when set
}

func (f *fakeLister) List(ctx context.Context, resourceType, filter string, attributes []string, fn func(map[string]any) error) error {
	f.calls = append(f.calls, resourceType+"|"+filter+"|"+strings.Join(attributes, ","))
	if f.err != nil {
		return f.err
	}
	var after time.Time
	if filter != "" {
		q, ok := strings.CutPrefix(filter, "meta.lastModified gt ")
		var s string
		if !ok || json.Unmarshal([]byte(q), &s) != nil {
			return fmt.Errorf("fake: unsupported filter %q", filter)
		}
		var err error
		if after, err = time.Parse(time.RFC3339Nano, s); err != nil {
			return fmt.Errorf("fake: filter time: %v", err)
		}
	}
	for _, doc := range f.resources[resourceType] {
		dec := json.NewDecoder(bytes.NewReader([]byte(doc)))
		dec.UseNumber()
		var res map[string]any
		if err := dec.Decode(&res); err != nil {
			return err
		}
		if filter != "" {
			meta, _ := res["meta"].(map[string]any)
			lm, _ := meta["lastModified"].(string)
			t, err := time.Parse(time.RFC3339Nano, lm)
			if err != nil || !t.After(after) {
				continue
			}
		}
		if len(attributes) > 0 {
			// Only id-only listings are asked for; id is always returned.
			res = map[string]any{"id": res["id"]}
		}
		if err := fn(res); err != nil {
			return err
		}
	}
	return nil
}

// enterpriseUser is a user with every attribute the conversion reads.
const enterpriseUser = `{
  "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
  "id": "u-1",
  "externalId": "ada",
  "userName": "ada@example.com",
  "name": {"givenName": "Ada", "familyName": "Lovelace", "formatted": "Ada Lovelace"},
  "displayName": "Ada Lovelace",
  "title": "Countess",
  "preferredLanguage": "en-GB",
  "active": false,
  "emails": [
    {"value": "ada@home.example", "type": "home"},
    {"value": "ada@example.com", "type": "Work", "primary": true}
  ],
  "phoneNumbers": [
    {"value": "+441234567890", "type": "work"},
    {"value": "+447700900123", "type": "mobile"}
  ],
  "addresses": [
    {"type": "home", "locality": "Marylebone"},
    {"type": "work", "streetAddress": "1 Analytical Row", "locality": "London", "region": "Greater London", "postalCode": "W1", "country": "GB"}
  ],
  "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
    "employeeNumber": "1815",
    "department": "Mathematics",
    "organization": "Analytical Engines",
    "manager": {"value": "u-2", "displayName": "Charles Babbage"}
  },
  "meta": {"resourceType": "User", "created": "2026-01-01T10:00:00Z", "lastModified": "2026-03-01T10:00:00Z", "version": "W/\"3\""}
}`

func TestSCIMFlattensEnterpriseUser(t *testing.T) {
	l := &fakeLister{resources: map[string][]string{"Users": {enterpriseUser}}}
	objs, _, err := readAll(t, NewSCIM(l), "")
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 1 || objs[0].Kind != provision.User || objs[0].ID != "u-1" {
		t.Fatalf("objects: %v", objs)
	}
	const ext = EnterpriseUser + ":"
	want := map[string]any{
		// The SCIM attributes, flattened.
		"id": "u-1", "externalId": "ada", "userName": "ada@example.com", "displayName": "Ada Lovelace",
		"name.givenName": "Ada", "name.familyName": "Lovelace", "name.formatted": "Ada Lovelace",
		"title": "Countess", "preferredLanguage": "en-GB", "active": false,
		"emails":                                  []any{"ada@example.com", "ada@home.example"},
		`emails[type eq "work"].value`:            "ada@example.com",
		`emails[type eq "work"].primary`:          true,
		`emails[type eq "home"].value`:            "ada@home.example",
		"phoneNumbers":                            []any{"+441234567890", "+447700900123"},
		`phoneNumbers[type eq "work"].value`:      "+441234567890",
		`phoneNumbers[type eq "mobile"].value`:    "+447700900123",
		`addresses[type eq "home"].locality`:      "Marylebone",
		`addresses[type eq "work"].streetAddress`: "1 Analytical Row",
		`addresses[type eq "work"].locality`:      "London",
		`addresses[type eq "work"].region`:        "Greater London",
		`addresses[type eq "work"].postalCode`:    "W1",
		`addresses[type eq "work"].country`:       "GB",
		ext + "employeeNumber":                    "1815",
		ext + "department":                        "Mathematics",
		ext + "organization":                      "Analytical Engines",
		ext + "manager":                           "u-2",
		ext + "manager.value":                     "u-2",
		ext + "manager.displayName":               "Charles Babbage",
		"meta.resourceType":                       "User",
		"meta.created":                            "2026-01-01T10:00:00Z",
		"meta.lastModified":                       "2026-03-01T10:00:00Z",
		"meta.version":                            `W/"3"`,
		// The Entra names.
		"objectId": "u-1", "mailNickname": "ada", "userPrincipalName": "ada@example.com",
		"givenName": "Ada", "surname": "Lovelace", "jobTitle": "Countess", "mail": "ada@example.com",
		"telephoneNumber": "+441234567890", "mobile": "+447700900123",
		"streetAddress": "1 Analytical Row", "city": "London", "state": "Greater London", "postalCode": "W1", "country": "GB",
		"employeeId": "1815", "department": "Mathematics", "manager": "u-2", "accountEnabled": false,
	}
	got := objs[0].Attrs
	for k, v := range want {
		if !reflect.DeepEqual(got[k], v) {
			t.Errorf("%s = %#v, want %#v", k, got[k], v)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("unexpected attribute %s = %#v", k, got[k])
		}
	}
}

// TestSCIMEntraFallbacks checks the choices made when a user lacks the
// preferred value: mail from the primary, else the first email; the
// address from the first when none is for work; accountEnabled true when
// active is absent.
func TestSCIMEntraFallbacks(t *testing.T) {
	for _, c := range []struct {
		doc  string
		want map[string]any // nil: absent
	}{
		{`{"id": "1", "emails": [{"value": "a@x"}, {"value": "b@x", "primary": true, "type": "other"}]}`,
			map[string]any{"mail": "b@x", "emails": []any{"b@x", "a@x"}, "accountEnabled": true}},
		{`{"id": "1", "emails": [{"value": "a@x", "type": "home"}, {"value": "b@x"}]}`,
			map[string]any{"mail": "a@x"}},
		{`{"id": "1", "addresses": [{"locality": "Paris", "type": "home"}], "active": "False"}`,
			map[string]any{"city": "Paris", "accountEnabled": false, "streetAddress": nil}},
		{`{"id": "1", "phoneNumbers": [{"value": "1", "type": "home"}], "active": true}`,
			map[string]any{"telephoneNumber": nil, "mobile": nil, "accountEnabled": true, "mailNickname": nil}},
		{`{"id": "1", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"manager": "m-9"}}`,
			map[string]any{"manager": "m-9", EnterpriseUser + ":manager": "m-9"}},
		{`{"id": "1", "roles": ["a", "b"], "name": {"givenName": null}}`,
			map[string]any{"roles": []any{"a", "b"}, "givenName": nil, "name.givenName": nil}},
	} {
		l := &fakeLister{resources: map[string][]string{"Users": {c.doc}}}
		objs, _, err := readAll(t, NewSCIM(l), "")
		if err != nil {
			t.Fatalf("%s: %v", c.doc, err)
		}
		for k, v := range c.want {
			got, ok := objs[0].Attrs[k]
			if v == nil && ok || v != nil && !reflect.DeepEqual(got, v) {
				t.Errorf("%s: %s = %#v (present %v), want %#v", c.doc, k, got, ok, v)
			}
		}
	}
}

func TestSCIMGroups(t *testing.T) {
	l := &fakeLister{resources: map[string][]string{
		"Users": {`{"id": "u-1", "userName": "a"}`},
		"Groups": {
			`{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "id": "g-1", "displayName": "Engineering", "externalId": "eng",
			  "members": [{"value": "u-1", "display": "a"}, {"value": "g-2", "type": "Group"}, {"value": "u-1"}]}`,
			`{"id": "g-2", "displayName": "Empty"}`,
		},
	}}
	objs, res, err := readAll(t, NewSCIM(l), "")
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 3 || objs[0].Kind != provision.User {
		t.Fatalf("objects: %v", objs)
	}
	want := []provision.Object{
		{Kind: provision.Group, ID: "g-1", Attrs: map[string]any{
			"id": "g-1", "displayName": "Engineering", "externalId": "eng", "objectId": "g-1", "mailNickname": "eng",
		}, Members: []string{"u-1", "g-2"}},
		{Kind: provision.Group, ID: "g-2", Attrs: map[string]any{"id": "g-2", "displayName": "Empty", "objectId": "g-2"}},
	}
	if !reflect.DeepEqual(objs[1:], want) {
		t.Errorf("groups:\n got %#v\nwant %#v", objs[1:], want)
	}
	if want := []string{"Users||", "Groups||"}; !reflect.DeepEqual(l.calls, want) {
		t.Errorf("calls %q, want %q (groups with their default attributes, members included)", l.calls, want)
	}
	if !res.Full {
		t.Errorf("an initial read is not Full")
	}
}

func TestSCIMWatermark(t *testing.T) {
	user := func(id, lm string) string {
		return fmt.Sprintf(`{"id": %q, "userName": %q, "meta": {"lastModified": %q}}`, id, id, lm)
	}
	group := func(id, lm string) string {
		return fmt.Sprintf(`{"id": %q, "displayName": %q, "meta": {"lastModified": %q}}`, id, id, lm)
	}
	l := &fakeLister{resources: map[string][]string{
		"Users":  {user("u-1", "2026-03-01T10:00:00Z"), user("u-2", "2026-03-01T10:05:00.250+01:00"), user("u-3", "2026-03-01T09:00:00Z")},
		"Groups": {group("g-1", "2026-03-01T09:30:00Z")},
	}}
	s := NewSCIM(l)
	clock := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	s.Now = func() time.Time { return clock }
	ids := func(objs []provision.Object) []string {
		var out []string
		for _, o := range objs {
			out = append(out, o.ID)
		}
		return out
	}

	// Initial read: everything, and the latest timestamp as written
	// (u-1's, since u-2's +01:00 is 09:05Z).
	objs, res, err := readAll(t, s, "")
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(objs); !reflect.DeepEqual(got, []string{"u-1", "u-2", "u-3", "g-1"}) {
		t.Errorf("initial read: %v", got)
	}
	if res != (provision.ReadResult{Watermark: "2026-03-01T10:00:00Z", Full: true}) {
		t.Errorf("initial read: %+v", res)
	}

	// Incremental read: only what changed after the watermark, filtered
	// by the server.
	l.resources["Users"] = append(l.resources["Users"], user("u-4", "2026-03-01T11:00:00.5Z"))
	l.resources["Groups"] = append(l.resources["Groups"], group("g-2", "2026-03-01T10:30:00Z"))
	l.calls = nil
	objs, res, err = readAll(t, s, res.Watermark)
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(objs); !reflect.DeepEqual(got, []string{"u-4", "g-2"}) {
		t.Errorf("incremental read: %v", got)
	}
	if res != (provision.ReadResult{Watermark: "2026-03-01T11:00:00.5Z", Full: false}) {
		t.Errorf("incremental read: %+v", res)
	}
	if want := []string{`Users|meta.lastModified gt "2026-03-01T10:00:00Z"|`, `Groups|meta.lastModified gt "2026-03-01T10:00:00Z"|`}; !reflect.DeepEqual(l.calls, want) {
		t.Errorf("calls %q, want %q", l.calls, want)
	}

	// Nothing changed: the watermark stays.
	_, res, err = readAll(t, s, res.Watermark)
	if err != nil || res != (provision.ReadResult{Watermark: "2026-03-01T11:00:00.5Z"}) {
		t.Errorf("read with no changes: %+v %v", res, err)
	}

	// An object written in the second the read started, or after it (a
	// server clock ahead of ours): the watermark stops a second before
	// the start, so that the next read sees anything else written then.
	l.resources["Users"] = append(l.resources["Users"], user("u-5", "2026-03-01T12:00:00Z"), user("u-6", "2026-03-01T12:00:03Z"))
	objs, res, err = readAll(t, s, "2026-03-01T11:00:00.5Z")
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(objs); !reflect.DeepEqual(got, []string{"u-5", "u-6"}) {
		t.Errorf("read at noon: %v", got)
	}
	if res.Watermark != "2026-03-01T11:59:59Z" {
		t.Errorf("watermark %q, want a second before the read started", res.Watermark)
	}
	// The next read sees them again, which is harmless.
	objs, _, _ = readAll(t, s, res.Watermark)
	if got := ids(objs); !reflect.DeepEqual(got, []string{"u-5", "u-6"}) {
		t.Errorf("read after noon: %v", got)
	}

	// An initial read of an empty directory starts from a second before
	// it started.
	empty := NewSCIM(&fakeLister{})
	empty.Now = func() time.Time { return clock.Add(500 * time.Millisecond) }
	objs, res, err = readAll(t, empty, "")
	if err != nil || len(objs) != 0 || res != (provision.ReadResult{Watermark: "2026-03-01T11:59:59Z", Full: true}) {
		t.Errorf("empty initial read: %v %+v %v", objs, res, err)
	}
}

// TestSCIMFilterQuoting checks that a watermark is quoted as a SCIM
// filter string, whatever it holds.
func TestSCIMFilterQuoting(t *testing.T) {
	l := &fakeLister{err: errors.New("unreachable")}
	_, _, err := readAll(t, NewSCIM(l), `2026" or userName pr or "`)
	if want := `Users|meta.lastModified gt "2026\" or userName pr or \""|`; len(l.calls) != 1 || l.calls[0] != want {
		t.Errorf("calls %q, want %q", l.calls, want)
	}
	if err == nil || err.Error() != "SCIM source: listing Users: unreachable" {
		t.Errorf("Read: %v", err)
	}
}

func TestSCIMListIDs(t *testing.T) {
	l := &fakeLister{resources: map[string][]string{
		"Users":  {enterpriseUser, `{"id": "u-2"}`},
		"Groups": {`{"id": "g-1", "members": [{"value": "u-1"}]}`},
	}}
	s := NewSCIM(l)
	for kind, want := range map[provision.Kind][]string{provision.User: {"u-1", "u-2"}, provision.Group: {"g-1"}} {
		var got []string
		if err := s.ListIDs(context.Background(), kind, func(id string) error { got = append(got, id); return nil }); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("ListIDs(%s) = %v, want %v", kind, got, want)
		}
	}
	if want := []string{"Users||id", "Groups||id"}; !reflect.DeepEqual(l.calls, want) && !reflect.DeepEqual(l.calls, []string{want[1], want[0]}) {
		t.Errorf("calls %q, want id only", l.calls)
	}
	if err := s.ListIDs(context.Background(), "Device", func(string) error { return nil }); err == nil {
		t.Errorf("ListIDs of an unknown kind succeeded")
	}
}

func TestSCIMErrors(t *testing.T) {
	for _, c := range []struct {
		users, groups []string
		want          string
	}{
		{[]string{`{"id": "u-1"}`, `{"userName": "b"}`}, nil, "SCIM source: a user from the SCIM server has no id"},
		{[]string{`{"id": ""}`}, nil, "SCIM source: a user from the SCIM server has no id"},
		{nil, []string{`{"displayName": "x"}`}, "SCIM source: a group from the SCIM server has no id"},
		{nil, []string{`{"id": "g-1", "members": [{"display": "x"}]}`}, `SCIM source: group "g-1" has a member without a value (the member's id)`},
	} {
		l := &fakeLister{resources: map[string][]string{"Users": c.users, "Groups": c.groups}}
		if _, _, err := readAll(t, NewSCIM(l), ""); err == nil || err.Error() != c.want {
			t.Errorf("Read: %v, want %q", err, c.want)
		}
	}
	l := &fakeLister{resources: map[string][]string{"Users": {`{"userName": "b"}`}}}
	if err := NewSCIM(l).ListIDs(context.Background(), provision.User, func(string) error { return nil }); err == nil {
		t.Errorf("ListIDs of a user without id succeeded")
	}

	// emit's error is returned as it is.
	stop := errors.New("stop")
	l = &fakeLister{resources: map[string][]string{"Users": {`{"id": "u-1"}`}}}
	if _, err := NewSCIM(l).Read(context.Background(), "", func(provision.Object) error { return stop }); err != stop {
		t.Errorf("Read: %v, want emit's error", err)
	}
}
