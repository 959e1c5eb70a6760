package storetest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/roster-scim/roster"
	"github.com/roster-scim/roster/scim"
)

// The benchmarks below measure what an identity provider sends on every
// provisioning cycle, on any store, so that SQLite and PostgreSQL run one
// copy and report under the same names (BenchmarkCreateUser/users=1000 on
// both) for side-by-side comparison. They never assert a duration.
//
// An implementation calls each from a Benchmark function of its own with a
// BenchOpen that returns a store holding a seeded BenchDirectory. Seeding is
// the implementation's, since the fast way to write 100,000 users (one
// transaction through its own insert, a copy of a template) is not part of
// the store interfaces.

// BenchSizes are the directory sizes, in users, every benchmark runs at:
// the cost of the operations IdPs send must not grow with the directory.
var BenchSizes = []int{1_000, 100_000}

// BenchGroupSize is the size of the group BenchAddMember adds to; a
// directory smaller than that holds a group of 90% of its users instead,
// so that some users remain to be added.
const BenchGroupSize = 10_000

// BenchDirectory is the content of a benchmark's store: one tenant whose
// directory holds Size users and one group, "big", whose members are the
// first Members users. User i has userName BenchUserName(i) and the
// attributes of BenchUser; its id is UserIDs[i].
//
// The documents are built on demand by User rather than kept, so that a
// benchmark's heap does not carry a whole directory.
type BenchDirectory struct {
	Tenant  Tenant
	Size    int
	UserIDs []string
	GroupID string
	Members int
	// Created is the creation and modification time of every seeded
	// resource.
	Created time.Time
}

// User returns seeded user i as a store inserts it: id, times and version
// set.
func (d *BenchDirectory) User(i int) *scim.Resource {
	return &scim.Resource{Type: scim.UserType, ID: d.UserIDs[i], Attrs: BenchUser(BenchUserName(i), i),
		Created: d.Created, LastModified: d.Created, Version: 1}
}

// Group returns the seeded group, without members: a seed adds the first
// Members users to it, in user order.
func (d *BenchDirectory) Group() *scim.Resource {
	return &scim.Resource{Type: scim.GroupType, ID: d.GroupID, Attrs: map[string]any{"displayName": "big"},
		Created: d.Created, LastModified: d.Created, Version: 1}
}

// BenchUser returns the attributes of benchmark user i: what Entra sends
// for a typical user, so that documents and email rows have a realistic
// size.
func BenchUser(name string, i int) map[string]any {
	return map[string]any{
		"userName":    name,
		"externalId":  fmt.Sprintf("ext-%06d", i),
		"displayName": fmt.Sprintf("User %d", i),
		"name":        map[string]any{"givenName": "User", "familyName": fmt.Sprintf("N%06d", i)},
		"active":      true,
		"title":       "Engineer",
		"emails":      []any{map[string]any{"value": name + "@example.com", "type": "work", "primary": true}},
		scim.EnterpriseSchema: map[string]any{
			"employeeNumber": fmt.Sprint(i), "department": fmt.Sprintf("D%d", i%50),
		},
	}
}

// BenchUserName is the userName of benchmark user i.
func BenchUserName(i int) string { return fmt.Sprintf("user%06d", i) }

var (
	benchDirsMu sync.Mutex
	benchDirs   = map[int]*BenchDirectory{}
)

// NewBenchDirectory returns the directory of n users. It is made once per
// size and process, so that an implementation may seed a template once and
// copy it for each benchmark; callers must not change it.
func NewBenchDirectory(n int) *BenchDirectory {
	benchDirsMu.Lock()
	defer benchDirsMu.Unlock()
	if d, ok := benchDirs[n]; ok {
		return d
	}
	d := &BenchDirectory{
		Tenant:  NewTenant("bench"),
		Size:    n,
		UserIDs: make([]string, n),
		GroupID: roster.NewID(),
		Members: min(BenchGroupSize, n*9/10),
		Created: time.Now().UTC().Truncate(time.Microsecond),
	}
	for i := range d.UserIDs {
		d.UserIDs[i] = roster.NewID()
	}
	benchDirs[n] = d
	return d
}

// BenchOpen returns a new store holding d, and nothing a previous benchmark
// wrote, that stays open until b ends. The tenant's directory is
// d.Tenant.Dir.ID.
type BenchOpen func(b *testing.B, d *BenchDirectory) scim.Store

// benchSizes runs fn as one sub-benchmark per directory size, each on a
// store of its own, with allocations reported.
func benchSizes(b *testing.B, open BenchOpen, fn func(b *testing.B, s scim.Store, d *BenchDirectory)) {
	for _, n := range BenchSizes {
		b.Run(fmt.Sprintf("users=%d", n), func(b *testing.B) {
			d := NewBenchDirectory(n)
			s := open(b, d)
			b.ReportAllocs()
			fn(b, s, d)
		})
	}
}

// BenchCreateUser measures POST /Users: one insert into resources and
// emails, with the uniqueness check done by the index.
func BenchCreateUser(b *testing.B, open BenchOpen) {
	benchSizes(b, open, func(b *testing.B, s scim.Store, d *BenchDirectory) {
		ctx := context.Background()
		i := d.Size
		for b.Loop() {
			r := &scim.Resource{Type: scim.UserType, Attrs: BenchUser(BenchUserName(i), i)}
			if _, err := s.Create(ctx, d.Tenant.Dir.ID, r, nil); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}

// BenchGetByUserName measures Entra's matching query,
// GET /Users?filter=userName eq "…" on a random user, including parsing
// the filter.
func BenchGetByUserName(b *testing.B, open BenchOpen) {
	benchSizes(b, open, func(b *testing.B, s scim.Store, d *BenchDirectory) {
		ctx, rt := context.Background(), scim.NewRegistry().ResourceType(scim.UserType)
		rng := rand.New(rand.NewPCG(1, 2))
		for b.Loop() {
			e, err := scim.ParseFilter(`userName eq "` + BenchUserName(rng.IntN(d.Size)) + `"`)
			if err != nil {
				b.Fatal(err)
			}
			q := scim.ListQuery{StartIndex: 1, Count: 100}
			if q.Filter, err = rt.ResolveFilter(e); err != nil {
				b.Fatal(err)
			}
			res, err := s.List(ctx, d.Tenant.Dir.ID, scim.UserType, q)
			if err != nil || res.Total != 1 {
				b.Fatalf("List: %v, %v", res, err)
			}
		}
	})
}

// BenchPatchUser measures PATCH /Users/{id} on a random user replacing two
// attributes: read, apply, rewrite the row and its emails, in one
// transaction.
func BenchPatchUser(b *testing.B, open BenchOpen) {
	benchSizes(b, open, func(b *testing.B, s scim.Store, d *BenchDirectory) {
		ctx, rt := context.Background(), scim.NewRegistry().ResourceType(scim.UserType)
		rng := rand.New(rand.NewPCG(3, 4))
		i := 0
		for b.Loop() {
			ops := []scim.PatchOp{
				{Op: "replace", Path: "displayName", Value: fmt.Sprintf("Renamed %d", i)},
				{Op: "replace", Path: "title", Value: fmt.Sprintf("Title %d", i)},
			}
			_, err := s.Update(ctx, d.Tenant.Dir.ID, scim.UserType, d.UserIDs[rng.IntN(d.Size)], 0, false,
				func(cur *scim.Resource) (map[string]any, []scim.MemberOp, error) {
					return scim.ApplyPatch(rt, cur.Attrs, ops)
				})
			if err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}

// BenchAddMember measures PATCH /Groups/{id} adding one member to a group
// of BenchGroupSize: one membership row, whatever the size of the group.
// When every candidate has been added, the additions are removed with the
// timer stopped, so the group keeps its size.
func BenchAddMember(b *testing.B, open BenchOpen) {
	benchSizes(b, open, func(b *testing.B, s scim.Store, d *BenchDirectory) {
		candidates := d.UserIDs[d.Members:]
		next := 0
		for b.Loop() {
			if next == len(candidates) {
				b.StopTimer()
				benchChangeMembers(b, s, d, scim.MemberOp{Op: "remove", IDs: candidates})
				next = 0
				b.StartTimer()
			}
			benchChangeMembers(b, s, d, scim.MemberOp{Op: "add", IDs: candidates[next : next+1]})
			next++
		}
	})
}

// benchChangeMembers applies one membership operation to the big group,
// as a PATCH of its members does.
func benchChangeMembers(b *testing.B, s scim.Store, d *BenchDirectory, op scim.MemberOp) {
	_, err := s.Update(context.Background(), d.Tenant.Dir.ID, scim.GroupType, d.GroupID, 0, false,
		func(cur *scim.Resource) (map[string]any, []scim.MemberOp, error) {
			return cur.Attrs, []scim.MemberOp{op}, nil
		})
	if err != nil {
		b.Fatal(err)
	}
}
