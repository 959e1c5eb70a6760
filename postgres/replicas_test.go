package postgres

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/roster-scim/roster"
	"github.com/roster-scim/roster/scim"
)

// TestReplicas runs writers through two stores on one schema, as two
// replicas behind a load balancer would, and checks that the database,
// not a process, keeps names unique and updates from being lost.
func TestReplicas(t *testing.T) {
	ctx := context.Background()
	a, u := mustOpenURL(t)
	b := mustOpenReplica(t, u)
	dir := mustAddTenant(t, a, "replicas").Dir.ID
	stores := []*DB{a, b}

	t.Run("CreateSameUserName", func(t *testing.T) {
		var wg sync.WaitGroup
		errs := make([]error, 20)
		for i := range errs {
			wg.Go(func() {
				_, errs[i] = stores[i%2].Create(ctx, dir, &scim.Resource{Type: scim.UserType, Attrs: map[string]any{"userName": "same"}}, nil)
			})
		}
		wg.Wait()
		ok := 0
		for _, err := range errs {
			switch {
			case err == nil:
				ok++
			case roster.ErrorCode(err) != roster.ECONFLICT:
				t.Errorf("create: %v, want a uniqueness conflict", err)
			}
		}
		if ok != 1 {
			t.Errorf("%d creates succeeded, want 1", ok)
		}
	})

	t.Run("ConcurrentMemberAdds", func(t *testing.T) {
		g, err := a.Create(ctx, dir, &scim.Resource{Type: scim.GroupType, Attrs: map[string]any{"displayName": "g"}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for i := range 30 {
			u, err := a.Create(ctx, dir, &scim.Resource{Type: scim.UserType, Attrs: map[string]any{"userName": fmt.Sprint("m", i)}}, nil)
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, u.ID)
		}
		var wg sync.WaitGroup
		for i, id := range ids {
			wg.Go(func() {
				_, err := stores[i%2].Update(ctx, dir, scim.GroupType, g.ID, 0, false, func(cur *scim.Resource) (map[string]any, []scim.MemberOp, error) {
					return cur.Attrs, []scim.MemberOp{{Op: "add", IDs: []string{id}}}, nil
				})
				if err != nil {
					t.Errorf("add %s: %v", id, err)
				}
			})
		}
		wg.Wait()
		got, err := b.Get(ctx, dir, scim.GroupType, g.ID, true)
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Members) != len(ids) {
			t.Errorf("group has %d members, want %d", len(got.Members), len(ids))
		}
		if got.Version != int64(1+len(ids)) {
			t.Errorf("group version %d, want %d", got.Version, 1+len(ids))
		}
	})

	// Two groups gaining the same users in opposite orders bump the users
	// in opposite orders: PostgreSQL breaks the deadlock by aborting one
	// transaction, which the store runs again.
	t.Run("CrossedMemberAdds", func(t *testing.T) {
		var groups []string
		for _, name := range []string{"x", "y"} {
			g, err := a.Create(ctx, dir, &scim.Resource{Type: scim.GroupType, Attrs: map[string]any{"displayName": name}}, nil)
			if err != nil {
				t.Fatal(err)
			}
			groups = append(groups, g.ID)
		}
		var ids []string
		for i := range 40 {
			u, err := a.Create(ctx, dir, &scim.Resource{Type: scim.UserType, Attrs: map[string]any{"userName": fmt.Sprint("c", i)}}, nil)
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, u.ID)
		}
		var wg sync.WaitGroup
		for round := range 4 {
			for gi, g := range groups {
				wg.Go(func() {
					batch := make([]string, 0, 10)
					for k := range 10 {
						j := round*10 + k
						if gi == 1 {
							j = len(ids) - 1 - j
						}
						batch = append(batch, ids[j])
					}
					if gi == 1 {
						// the same users as group x's batch of the
						// mirrored round, in reverse order
						for l, r := 0, len(batch)-1; l < r; l, r = l+1, r-1 {
							batch[l], batch[r] = batch[r], batch[l]
						}
					}
					_, err := stores[(round+gi)%2].Update(ctx, dir, scim.GroupType, g, 0, false, func(cur *scim.Resource) (map[string]any, []scim.MemberOp, error) {
						return cur.Attrs, []scim.MemberOp{{Op: "add", IDs: batch}}, nil
					})
					if err != nil {
						t.Errorf("add to %s: %v", g, err)
					}
				})
			}
		}
		wg.Wait()
		for _, g := range groups {
			got, err := b.Get(ctx, dir, scim.GroupType, g, true)
			if err != nil {
				t.Fatal(err)
			}
			if len(got.Members) != len(ids) {
				t.Errorf("group has %d members, want %d", len(got.Members), len(ids))
			}
		}
		for _, id := range ids {
			u, err := a.Get(ctx, dir, scim.UserType, id, false)
			if err != nil {
				t.Fatal(err)
			}
			if u.Version != 3 || len(u.Groups) != 2 {
				t.Errorf("user %s: version %d, %d groups; want 3 and 2", id, u.Version, len(u.Groups))
			}
		}
	})

	t.Run("StaleIfMatch", func(t *testing.T) {
		u, err := a.Create(ctx, dir, &scim.Resource{Type: scim.UserType, Attrs: map[string]any{"userName": "etag"}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		set := func(title string) scim.UpdateFunc {
			return func(cur *scim.Resource) (map[string]any, []scim.MemberOp, error) {
				cur.Attrs["title"] = title
				return cur.Attrs, nil, nil
			}
		}
		if _, err := a.Update(ctx, dir, scim.UserType, u.ID, u.Version, false, set("one")); err != nil {
			t.Fatal(err)
		}
		if _, err := b.Update(ctx, dir, scim.UserType, u.ID, u.Version, false, set("two")); roster.ErrorCode(err) != roster.EPRECONDITION {
			t.Errorf("stale If-Match through the other replica: %v, want %s", err, roster.EPRECONDITION)
		}
	})
}
