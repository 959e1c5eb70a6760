package runner_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roster-scim/roster/provision"
	"github.com/roster-scim/roster/provision/runner"
)

func scimJob(t *testing.T, src, tg *target, extra string) (func(ctx context.Context) (*provision.Summary, error), *runner.Runner, string) {
	state := openDB(t)
	_, _, org := bootstrap(t, state)
	sealer, _ := provision.NewSealer(make([]byte, provision.KeySize))
	r := &runner.Runner{Store: state, Sealer: sealer, Engine: &provision.Engine{Store: state, Holder: "test"}}
	def := fmt.Sprintf(`{"name": "dir", "source": {"type": "scim", "url": %q, "token": %q},
		"target": {"url": %q, "token": %q, "concurrency": 4}%s}`, src.url, src.token, tg.url, tg.token, extra)
	j, err := provision.LoadJob(strings.NewReader(def), "job.json", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Save(context.Background(), org, j, false); err != nil {
		t.Fatal(err)
	}
	return func(ctx context.Context) (*provision.Summary, error) {
		time.Sleep(1200 * time.Millisecond) // objects older than the source's 1 s bound, as in real life
		defer time.Sleep(1200 * time.Millisecond)
		return r.Run(ctx, org, "dir", runner.RunOptions{})
	}, r, org
}

func patchOp(op, path string, v any) map[string]any {
	o := map[string]any{"op": op, "path": path}
	if v != nil {
		o["value"] = v
	}
	return map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"}, "Operations": []any{o}}
}

// An object that fails in the initial cycle of a SCIM source is retried
// in the next one: the watermark is kept back.
func TestSCIMInitialFailureRetried(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	src, tg := startTarget(t), startTarget(t)
	src.addUser(t, "bea@example.com", "Director", "")
	src.addUser(t, "bob@example.com", "Engineer", "")
	run, _, _ := scimJob(t, src, tg, "")
	tg.hook = func(r *http.Request) {
		if r.Method == "POST" && strings.HasSuffix(r.URL.Path, "/Users") {
			b, _ := io.ReadAll(r.Body)
			if strings.Contains(string(b), "bob@") {
				b = []byte("{") // target refuses bob: 400
			}
			r.Body = io.NopCloser(strings.NewReader(string(b)))
		}
	}
	s, err := run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("cycle 1: %+v", s.Counts)
	tg.hook = nil
	for i := 2; i <= 3; i++ {
		s, err = run(ctx)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("cycle %d: initial=%v %+v unchanged=%d", i, s.Initial, s.Counts, s.Unchanged)
	}
	if _, ok := tg.users(t)["bob@example.com"]; !ok {
		t.Errorf("bob, failed in the initial cycle, was never retried: target has %v", keys(tg.users(t)))
	}
}

// A user disabled in a SCIM source leaves its groups in the target, though
// the incremental read does not return the groups.
func TestSCIMDisabledUserLeavesGroups(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	src, tg := startTarget(t), startTarget(t)
	ali := src.addUser(t, "ali@example.com", "Engineer", "")
	bob := src.addUser(t, "bob@example.com", "Engineer", "")
	src.send(t, "POST", "/Groups", map[string]any{"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:Group"},
		"displayName": "Team", "members": []any{map[string]any{"value": ali}, map[string]any{"value": bob}}})
	run, _, _ := scimJob(t, src, tg, "")
	if _, err := run(ctx); err != nil {
		t.Fatal(err)
	}
	src.send(t, "PATCH", "/Users/"+bob, patchOp("replace", "active", false))
	s, err := run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("cycle 2: %+v", s.Counts)
	if tg.users(t)["bob@example.com"]["active"] != false {
		t.Errorf("bob not disabled")
	}
	if got := tg.members(t, "Team"); strings.Join(got, ",") != "ali@example.com" {
		t.Errorf("Team after bob was disabled in the source: %v (docs: removed from the groups)", got)
	}
}

// A SCIM source with assigned scope: unassigning a user disables it,
// assigning one creates it.
func TestSCIMAssignedIncremental(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	src, tg := startTarget(t), startTarget(t)
	ali := src.addUser(t, "ali@example.com", "Engineer", "")
	bob := src.addUser(t, "bob@example.com", "Engineer", "")
	bea := src.addUser(t, "bea@example.com", "Director", "")
	g := src.send(t, "POST", "/Groups", map[string]any{"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:Group"},
		"displayName": "Team", "members": []any{map[string]any{"value": ali}, map[string]any{"value": bob}}})
	run, _, _ := scimJob(t, src, tg, fmt.Sprintf(`, "scope": {"assigned": true, "groups": [%q]}`, g["id"]))
	if _, err := run(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("after initial: %v", keys(tg.users(t)))
	src.send(t, "PATCH", "/Groups/"+g["id"].(string), patchOp("remove", fmt.Sprintf("members[value eq %q]", bob), nil))
	src.send(t, "PATCH", "/Groups/"+g["id"].(string), patchOp("add", "members", []any{map[string]any{"value": bea}}))
	s, err := run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("cycle 2: %+v", s.Counts)
	us := tg.users(t)
	if us["bob@example.com"]["active"] != false {
		t.Errorf("bob unassigned but still active in the target")
	}
	if _, ok := us["bea@example.com"]; !ok {
		t.Errorf("bea assigned but not created: %v", keys(us))
	}
}

// A cycle cut short after the user phase, then continued: the manager
// change and the membership change still happen.
func TestInterruptKeepsManagerAndMembership(t *testing.T) {
	f := newFixture(t, people)
	f.run(context.Background())
	// ada's manager becomes a new user eve; alan is disabled in the source.
	rows := strings.Replace(people, "Countess,ada@example.com,Math,3,", "Countess,ada@example.com,Math,5,", 1)
	rows = strings.Replace(rows, "Alan,Turing,Fellow,alan@example.com,Math,3,true", "Alan,Turing,Fellow,alan@example.com,Math,3,false", 1)
	rows += "5,eve@example.com,Eve,X,Boss,eve@example.com,Math,,true,Everyone\n"
	f.write(rows)
	ctx, cancel := context.WithCancel(context.Background())
	var once sync.Once
	f.tg.hook = func(r *http.Request) {
		if r.Method != "PATCH" {
			return
		}
		b, _ := io.ReadAll(r.Body)
		if strings.Contains(string(b), ":manager") {
			once.Do(cancel) // the process dies as the manager phase starts
			b = []byte("{")
		}
		r.Body = io.NopCloser(strings.NewReader(string(b)))
	}
	_, err := f.r.Run(ctx, f.org, "hr", runner.RunOptions{})
	t.Logf("cut cycle: %v", err)
	f.tg.hook = nil
	s := f.run(context.Background())
	t.Logf("continued: %+v unchanged=%d", s.Counts, s.Unchanged)
	s = f.run(context.Background())
	t.Logf("next: %+v unchanged=%d", s.Counts, s.Unchanged)
	us := f.tg.users(t)
	ent := us["ada@example.com"][provision.EnterpriseURN].(map[string]any)
	if m, _ := ent["manager"].(map[string]any); m == nil || m["value"] != us["eve@example.com"]["id"] {
		t.Errorf("ada's manager is %v, want eve %v", ent["manager"], us["eve@example.com"]["id"])
	}
	if got := f.tg.members(t, "Analysts"); strings.Join(got, ",") != "ada@example.com" {
		t.Errorf("Analysts after alan was disabled (cycle cut and continued): %v", got)
	}
}
