package source_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/roster-scim/roster"
	"github.com/roster-scim/roster/provision"
	"github.com/roster-scim/roster/provision/source"
	"github.com/roster-scim/roster/scim"
	"github.com/roster-scim/roster/scimhttp"
	"github.com/roster-scim/roster/sqlite"
)

// httpLister is a minimal SCIM client: plain GETs, paged by startIndex
// and count, standing in for the engine's.
type httpLister struct {
	base, token string
}

func (l *httpLister) List(ctx context.Context, resourceType, filter string, attributes []string, fn func(map[string]any) error) error {
	const count = 2 // small pages, so that paging is exercised
	for start := 1; ; {
		q := url.Values{"startIndex": {strconv.Itoa(start)}, "count": {strconv.Itoa(count)}}
		if filter != "" {
			q.Set("filter", filter)
		}
		if len(attributes) > 0 {
			q.Set("attributes", strings.Join(attributes, ","))
		}
		var page struct {
			TotalResults int              `json:"totalResults"`
			Resources    []map[string]any `json:"Resources"`
		}
		if err := l.do(ctx, "GET", "/"+resourceType+"?"+q.Encode(), "", &page); err != nil {
			return err
		}
		for _, r := range page.Resources {
			if err := fn(r); err != nil {
				return err
			}
		}
		start += len(page.Resources)
		if len(page.Resources) == 0 || start > page.TotalResults {
			return nil
		}
	}
}

func (l *httpLister) do(ctx context.Context, method, path, body string, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, l.base+path, strings.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+l.token)
	if body != "" {
		req.Header.Set("Content-Type", "application/scim+json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		return fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, b)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	return dec.Decode(out)
}

// startRoster starts a Roster SCIM server on SQLite in t.TempDir(), the
// way scimhttp's tests do, and returns a lister for its one directory.
func startRoster(t *testing.T) *httpLister {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, t.TempDir(), scim.NewRegistry())
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	secret, hash := roster.NewSecret()
	b := &roster.Bootstrap{
		Org: roster.Organization{ID: roster.NewID(), Name: "Test organization"},
		Dir: roster.Directory{ID: roster.NewID(), Name: "Test directory"},
		Key: roster.APIKey{ID: roster.NewID(), Name: "test key", SecretHash: hash, Users: roster.PrivWrite, Groups: roster.PrivWrite},
	}
	b.Dir.OrgID, b.Key.OrgID = b.Org.ID, b.Org.ID
	if err := db.Bootstrap(ctx, b); err != nil {
		t.Fatalf("bootstrap: %v", err)
	}
	prom := prometheus.NewRegistry()
	srv := scimhttp.New(db, db, nil, slog.New(slog.DiscardHandler), prom, scimhttp.DefaultConfig())
	ts := httptest.NewServer(srv.Handler(prom))
	t.Cleanup(ts.Close)
	return &httpLister{base: ts.URL + "/v1/scim/" + b.Dir.ID, token: secret}
}

// TestSCIMAgainstRoster reads a real Roster directory: an enterprise user
// with a manager, a group with a nested group, then a change.
func TestSCIMAgainstRoster(t *testing.T) {
	l := startRoster(t)
	ctx := context.Background()
	create := func(path, body string) string {
		t.Helper()
		var res map[string]any
		if err := l.do(ctx, "POST", path, body, &res); err != nil {
			t.Fatal(err)
		}
		return res["id"].(string)
	}
	boss := create("/Users", `{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "charles@example.com", "externalId": "charles"}`)
	ada := create("/Users", `{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
		"userName": "ada@example.com", "name": {"givenName": "Ada", "familyName": "Lovelace"}, "title": "Countess", "active": true,
		"emails": [{"value": "ada@example.com", "type": "work", "primary": true}],
		"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"employeeNumber": "1815", "department": "Mathematics", "manager": {"value": "`+boss+`"}}}`)
	inner := create("/Groups", `{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Inner", "members": [{"value": "`+boss+`"}]}`)
	outer := create("/Groups", `{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Outer", "externalId": "outer",
		"members": [{"value": "`+ada+`"}, {"value": "`+inner+`"}]}`)

	s := source.NewSCIM(l)
	byID := map[string]provision.Object{}
	var order []provision.Kind
	res, err := s.Read(ctx, "", func(o provision.Object) error {
		byID[o.ID] = o
		order = append(order, o.Kind)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Full || res.Watermark == "" {
		t.Errorf("initial read: %+v", res)
	}
	if want := []provision.Kind{provision.User, provision.User, provision.Group, provision.Group}; !slices.Equal(order, want) {
		t.Errorf("read %v, want users then groups", order)
	}
	a := byID[ada].Attrs
	for k, v := range map[string]any{
		"userPrincipalName": "ada@example.com", "givenName": "Ada", "surname": "Lovelace", "jobTitle": "Countess",
		"mail": "ada@example.com", "employeeId": "1815", "department": "Mathematics", "manager": boss,
		"accountEnabled": true, "objectId": ada, source.EnterpriseUser + ":manager": boss,
		`emails[type eq "work"].value`: "ada@example.com",
	} {
		if a[k] != v {
			t.Errorf("ada's %s = %#v, want %#v", k, a[k], v)
		}
	}
	if got := byID[boss].Attrs["mailNickname"]; got != "charles" {
		t.Errorf("charles's mailNickname = %#v", got)
	}
	if g := byID[outer]; g.Attrs["displayName"] != "Outer" || g.Attrs["mailNickname"] != "outer" || !sameSet(g.Members, []string{ada, inner}) {
		t.Errorf("Outer: %+v", g)
	}

	// A change after the initial read is in the next incremental read.
	var patched map[string]any
	if err := l.do(ctx, "PATCH", "/Users/"+ada, `{"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
		"Operations": [{"op": "replace", "path": "title", "value": "Analyst"}]}`, &patched); err != nil {
		t.Fatal(err)
	}
	changed := map[string]provision.Object{}
	res2, err := s.Read(ctx, res.Watermark, func(o provision.Object) error { changed[o.ID] = o; return nil })
	if err != nil {
		t.Fatal(err)
	}
	if res2.Full || changed[ada].Attrs["jobTitle"] != "Analyst" {
		t.Errorf("incremental read: %+v, ada %+v", res2, changed[ada])
	}

	var users, groups []string
	for kind, ids := range map[provision.Kind]*[]string{provision.User: &users, provision.Group: &groups} {
		if err := s.ListIDs(ctx, kind, func(id string) error { *ids = append(*ids, id); return nil }); err != nil {
			t.Fatal(err)
		}
	}
	if !sameSet(users, []string{boss, ada}) || !sameSet(groups, []string{inner, outer}) {
		t.Errorf("ListIDs: users %v, groups %v", users, groups)
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}
