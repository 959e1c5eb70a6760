package runner_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/roster-scim/roster/provision"
	"github.com/roster-scim/roster/provision/runner"
)

// send writes to a Roster server directly (not through the engine) and
// returns the answer's resource.
func (tg *target) send(t *testing.T, method, path string, body any) map[string]any {
	t.Helper()
	var r *bytes.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	} else {
		r = bytes.NewReader(nil)
	}
	req, _ := http.NewRequest(method, tg.url+path, r)
	req.Header.Set("Authorization", "Bearer "+tg.token)
	req.Header.Set("Content-Type", "application/scim+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		var e map[string]any
		json.NewDecoder(resp.Body).Decode(&e)
		t.Fatalf("%s %s: %d %v", method, path, resp.StatusCode, e)
	}
	var v map[string]any
	json.NewDecoder(resp.Body).Decode(&v)
	return v
}

func (tg *target) addUser(t *testing.T, userName, title, managerID string) string {
	t.Helper()
	ent := map[string]any{"department": "Engineering", "employeeNumber": "E-" + userName[:3]}
	if managerID != "" {
		ent["manager"] = map[string]any{"value": managerID}
	}
	u := tg.send(t, "POST", "/Users", map[string]any{
		"schemas":  []string{"urn:ietf:params:scim:schemas:core:2.0:User", provision.EnterpriseURN},
		"userName": userName, "title": title, "active": true, "externalId": strings.Split(userName, "@")[0],
		"name":                  map[string]any{"givenName": strings.ToUpper(userName[:1]) + userName[1:3], "familyName": "Doe"},
		"emails":                []any{map[string]any{"type": "work", "value": userName, "primary": true}},
		provision.EnterpriseURN: ent,
	})
	return u["id"].(string)
}

// TestSCIMSourceToRoster provisions from one Roster directory into
// another: an initial cycle copies users, groups, memberships and
// managers; an incremental one asks the source only for what changed
// (meta.lastModified gt the watermark) and sends the one change; a user
// deleted in the source is found by listing IDs and deleted in the
// target; a cycle with no change writes nothing.
func TestSCIMSourceToRoster(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	src, tg := startTarget(t), startTarget(t)
	var qmu sync.Mutex
	var queries []string
	src.hook = func(r *http.Request) {
		if r.Method == http.MethodGet {
			qmu.Lock()
			queries = append(queries, r.URL.Query().Get("filter"))
			qmu.Unlock()
		}
	}
	takeQueries := func() []string {
		qmu.Lock()
		defer qmu.Unlock()
		q := queries
		queries = nil
		return q
	}
	boss := src.addUser(t, "bea@example.com", "Director", "")
	alice := src.addUser(t, "ali@example.com", "Engineer", boss)
	bob := src.addUser(t, "bob@example.com", "Engineer", boss)
	src.send(t, "POST", "/Groups", map[string]any{"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:Group"},
		"displayName": "Team", "members": []any{map[string]any{"value": alice}, map[string]any{"value": bob}}})

	state := openDB(t)
	_, _, org := bootstrap(t, state)
	sealer, _ := provision.NewSealer(make([]byte, provision.KeySize))
	r := &runner.Runner{Store: state, Sealer: sealer, Engine: &provision.Engine{Store: state, Holder: "test"}}
	def := fmt.Sprintf(`{"name": "dir", "source": {"type": "scim", "url": %q, "token": %q},
		"target": {"url": %q, "token": %q, "concurrency": 4}}`, src.url, src.token, tg.url, tg.token)
	j, err := provision.LoadJob(strings.NewReader(def), "job.json", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Save(ctx, org, j, false); err != nil {
		t.Fatal(err)
	}
	run := func() *provision.Summary {
		t.Helper()
		s, err := r.Run(ctx, org, "dir", runner.RunOptions{})
		if err != nil {
			t.Fatalf("run: %v", err)
		}
		return s
	}

	// Initial cycle: everything.
	s := run()
	if s.Counts.Created != 4 || s.Counts.Failed != 0 || !s.Initial {
		t.Fatalf("initial cycle: %+v", s.Counts)
	}
	for _, q := range takeQueries() {
		if q != "" {
			t.Errorf("the initial cycle filtered the source: %q", q)
		}
	}
	users := tg.users(t)
	if len(users) != 3 {
		t.Fatalf("target has %d users, want 3", len(users))
	}
	a := users["ali@example.com"]
	if a["title"] != "Engineer" || a["externalId"] != "ali" || a["name"].(map[string]any)["givenName"] != "Ali" {
		t.Errorf("ali in the target: %v", a)
	}
	ent, _ := a[provision.EnterpriseURN].(map[string]any)
	if m, _ := ent["manager"].(map[string]any); m == nil || m["value"] != users["bea@example.com"]["id"] || ent["department"] != "Engineering" {
		t.Errorf("ali's enterprise attributes: %v (bea is %v)", ent, users["bea@example.com"]["id"])
	}
	if a["id"] == alice {
		t.Errorf("the target reused the source's id")
	}
	if got := tg.members(t, "Team"); strings.Join(got, ",") != "ali@example.com,bob@example.com" {
		t.Errorf("Team: %v", got)
	}
	tg.writes()

	// One change: the incremental cycle asks for changes only and sends
	// one PATCH.
	src.send(t, "PATCH", "/Users/"+alice, map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"},
		"Operations": []any{map[string]any{"op": "replace", "path": "title", "value": "Staff Engineer"}}})
	takeQueries()
	s = run()
	if s.Initial || s.Counts.Updated != 1 || s.Counts.Failed != 0 {
		t.Errorf("incremental cycle: initial %v, %+v", s.Initial, s.Counts)
	}
	incremental := false
	for _, q := range takeQueries() {
		if strings.HasPrefix(q, "meta.lastModified gt ") {
			incremental = true
		}
	}
	if !incremental {
		t.Error("the incremental cycle did not ask for meta.lastModified gt the watermark")
	}
	w := tg.writes()
	if len(w) != 1 || w[0].method != "PATCH" || !strings.Contains(w[0].body, `"path":"title"`) || strings.Count(w[0].body, `"op"`) != 1 {
		t.Fatalf("the title change sent %v", w)
	}
	if got := tg.users(t)["ali@example.com"]["title"]; got != "Staff Engineer" {
		t.Errorf("ali's title: %v", got)
	}

	// Deleted in the source: deleted in the target, out of Team.
	src.send(t, "DELETE", "/Users/"+bob, nil)
	s = run()
	if s.Counts.Deleted != 1 || s.Counts.Failed != 0 {
		t.Errorf("deletion cycle: %+v", s.Counts)
	}
	users = tg.users(t)
	if _, ok := users["bob@example.com"]; ok || len(users) != 2 {
		t.Errorf("after bob's deletion the target has %v", keys(users))
	}
	if got := tg.members(t, "Team"); strings.Join(got, ",") != "ali@example.com" {
		t.Errorf("Team after bob's deletion: %v", got)
	}
	tg.writes()

	// No change: no write.
	s = run()
	if w := tg.writes(); len(w) != 0 || s.Counts != (provision.Counts{}) {
		t.Errorf("no-change cycle: %+v, wrote %v", s.Counts, w)
	}
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
