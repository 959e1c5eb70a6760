package sqlite

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roster-scim/roster"
	"github.com/roster-scim/roster/scim"
	"github.com/roster-scim/roster/storetest"
)

// TestGroupCommitStore runs concurrent creates and member changes through
// the real Store while the writer is held, so that they queue and run in
// batches (group commit, sqlstore/groupcommit.go), with successes, userName
// conflicts (case-insensitive), creates into a directory that does not
// exist and member adds of users that do not exist mixed in one batch.
// After reopening the database, each success is there with what its
// caller got back, and each failure left nothing.
func TestGroupCommitStore(t *testing.T) {
	ctx := context.Background()
	dataDir := t.TempDir()
	db, err := Open(ctx, dataDir, scim.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	ten := storetest.NewTenant("Org A")
	if err := db.Bootstrap(ctx, &ten.Bootstrap); err != nil {
		t.Fatal(err)
	}
	dir := ten.Dir.ID
	user := func(name string) *scim.Resource {
		return &scim.Resource{Type: scim.UserType, Attrs: map[string]any{
			"userName": name,
			"emails":   []any{map[string]any{"value": name, "type": "work"}},
		}}
	}
	// A group, and the users to add to it during the burst.
	group, err := db.Create(ctx, dir, &scim.Resource{Type: scim.GroupType, Attrs: map[string]any{"displayName": "Everyone"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var members, others []string
	for i := range 60 {
		u, err := db.Create(ctx, dir, user(fmt.Sprintf("member%02d@example.com", i)), nil)
		if err != nil {
			t.Fatal(err)
		}
		if i < 40 {
			members = append(members, u.ID)
		} else {
			others = append(others, u.ID)
		}
	}

	// 300 creates: names 0 to 99 twice, the second time in upper case;
	// every 17th create goes to a directory that does not exist. 60
	// member adds: the 40 members, each alone, and 20 of one of the
	// other users and an id that does not exist, which fail after
	// adding the user (and giving it a new version).
	const creates, adds = 300, 60
	name := func(i int) string {
		if i >= 200 {
			return strings.ToUpper(fmt.Sprintf("user%03d@example.com", i-200))
		}
		return fmt.Sprintf("user%03d@example.com", i)
	}
	lost := func(i int) bool { return i%17 == 5 }
	member := func(j int) []string {
		if j < len(members) {
			return []string{members[j]}
		}
		return []string{others[j-len(members)], roster.NewID()}
	}
	created := make([]*scim.Resource, creates)
	createErr := make([]error, creates)
	addErr := make([]error, adds)

	conn, err := db.write.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var started, done sync.WaitGroup
	for i := range creates {
		started.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			d := dir
			if lost(i) {
				d = roster.NewID()
			}
			started.Done()
			created[i], createErr[i] = db.Create(ctx, d, user(name(i)), nil)
		}()
	}
	for j := range adds {
		started.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			started.Done()
			_, addErr[j] = db.Update(ctx, dir, scim.GroupType, group.ID, 0, false, func(cur *scim.Resource) (map[string]any, []scim.MemberOp, error) {
				return cur.Attrs, []scim.MemberOp{{Op: "add", IDs: member(j)}}, nil
			})
		}()
	}
	started.Wait()
	time.Sleep(50 * time.Millisecond) // lets the calls queue; the checks below hold whatever the batches
	conn.Close()
	done.Wait()

	// Results, as the callers got them.
	succeeded := map[string]int{} // lowered userName: the create that got it
	for i, err := range createErr {
		key := strings.ToLower(name(i))
		switch {
		case lost(i):
			if roster.ErrorCode(err) != roster.ENOTFOUND {
				t.Errorf("create %d into a missing directory: %v, want not found", i, err)
			}
		case err == nil:
			if prev, ok := succeeded[key]; ok {
				t.Errorf("creates %d and %d of %s both succeeded", prev, i, key)
			}
			succeeded[key] = i
			if got := created[i].Attrs["userName"]; got != name(i) {
				t.Errorf("create %d got back userName %v, want %s", i, got, name(i))
			}
		case roster.ErrorSCIMType(err) != roster.ScimUniqueness:
			t.Errorf("create %d: %v", i, err)
		}
	}
	for i := range creates {
		if _, ok := succeeded[strings.ToLower(name(i))]; !ok && !lost(i) {
			t.Errorf("no create of %s succeeded", name(i))
		}
	}
	for j, err := range addErr {
		if j < len(members) && err != nil {
			t.Errorf("add member %d: %v", j, err)
		}
		if j >= len(members) && roster.ErrorSCIMType(err) != roster.ScimInvalidValue {
			t.Errorf("add of a missing member %d: %v, want invalidValue", j, err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	// The database, reopened.
	db = mustOpenDir(t, dataDir)
	for key, i := range succeeded {
		r, err := db.Get(ctx, dir, scim.UserType, created[i].ID, false)
		if err != nil {
			t.Errorf("%s (create %d, id %s): %v", key, i, created[i].ID, err)
			continue
		}
		if r.Attrs["userName"] != name(i) || r.Version != created[i].Version {
			t.Errorf("%s: stored %v version %d, create %d got %v version %d", key, r.Attrs["userName"], r.Version, i, created[i].Attrs["userName"], created[i].Version)
		}
	}
	var users, emails int
	if err := db.read.QueryRow(`SELECT count(*) FROM resources WHERE type = ?`, scim.UserType).Scan(&users); err != nil {
		t.Fatal(err)
	}
	if err := db.read.QueryRow(`SELECT count(*) FROM emails`).Scan(&emails); err != nil {
		t.Fatal(err)
	}
	if want := len(members) + len(others) + len(succeeded); users != want || emails != want {
		t.Errorf("%d users and %d emails stored, want %d of each", users, emails, want)
	}
	g, err := db.Get(ctx, dir, scim.GroupType, group.ID, true)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, m := range g.Members {
		got[m.Value] = true
	}
	for _, id := range members {
		if !got[id] {
			t.Errorf("member %s missing", id)
		}
	}
	if len(g.Members) != len(members) || g.Version != 1+int64(len(members)) {
		t.Errorf("group has %d members at version %d, want %d at version %d", len(g.Members), g.Version, len(members), 1+len(members))
	}
	for _, id := range others {
		u, err := db.Get(ctx, dir, scim.UserType, id, false)
		if err != nil {
			t.Fatal(err)
		}
		if got[id] || u.Version != 1 {
			t.Errorf("user %s of a failed add: member %v, version %d", id, got[id], u.Version)
		}
	}
}
