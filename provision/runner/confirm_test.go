package runner_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/roster-scim/roster/provision"
	"github.com/roster-scim/roster/provision/runner"
	"github.com/roster-scim/roster/provision/source"
)

// skippingSource is a SCIM source whose ID listing misses one object, as
// offset paging does when an earlier object is deleted between two pages.
type skippingSource struct {
	*source.SCIM
	skip string
}

func (s skippingSource) ListIDs(ctx context.Context, kind provision.Kind, emit func(string) error) error {
	return s.SCIM.ListIDs(ctx, kind, func(id string) error {
		if id == s.skip {
			return nil
		}
		return emit(id)
	})
}

// TestDeletionConfirmed: an object a listing missed is not deleted in the
// target, because the source, asked, still has it; one it deleted is.
func TestDeletionConfirmed(t *testing.T) {
	ctx := context.Background()
	src, tg := startTarget(t), startTarget(t)
	ada := src.addUser(t, "ada@example.com", "Analyst", "")
	bob := src.addUser(t, "bob@example.com", "Engineer", "")
	state := openDB(t)
	_, _, org := bootstrap(t, state)
	sealer, _ := provision.NewSealer(make([]byte, provision.KeySize))
	engine := &provision.Engine{Store: state, Holder: "test"}
	r := &runner.Runner{Store: state, Sealer: sealer, Engine: engine}
	def := fmt.Sprintf(`{"name": "dir", "source": {"type": "scim", "url": %q, "token": %q},
		"target": {"url": %q, "token": %q, "groups": false}}`, src.url, src.token, tg.url, tg.token)
	j, err := provision.LoadJob(strings.NewReader(def), "job.json", "")
	if err != nil {
		t.Fatal(err)
	}
	rec, err := r.Save(ctx, org, j, false)
	if err != nil {
		t.Fatal(err)
	}
	cycle := func() *provision.Summary {
		t.Helper()
		s, err := r.Source(j)
		if err != nil {
			t.Fatal(err)
		}
		tc, err := r.Target(j)
		if err != nil {
			t.Fatal(err)
		}
		sum, err := engine.Run(ctx, provision.Cycle{Record: rec, Job: j, Source: skippingSource{s.(*source.SCIM), ada}, Target: tc})
		if err != nil {
			t.Fatal(err)
		}
		return sum
	}
	if s := cycle(); s.Counts.Created != 2 {
		t.Fatalf("initial cycle: %+v", s.Counts)
	}
	// The listing misses ada, who still exists: nothing is deleted.
	if s := cycle(); s.Counts.Deleted != 0 || len(tg.users(t)) != 2 {
		t.Fatalf("a missed object was deleted: %+v", s.Counts)
	}
	// Bob is really deleted in the source: he goes.
	src.send(t, "DELETE", "/Users/"+bob, nil)
	if s := cycle(); s.Counts.Deleted != 1 {
		t.Fatalf("deletion cycle: %+v", s.Counts)
	}
	if users := tg.users(t); len(users) != 1 || users["ada@example.com"] == nil {
		t.Errorf("target users: %v", users)
	}
}
