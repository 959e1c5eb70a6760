package sqlite

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/roster-scim/roster"
	"github.com/roster-scim/roster/scim"
	"github.com/roster-scim/roster/storetest"
)

// benchSync, when set, replaces the synchronous pragma of the benchmarks'
// write connection: "normal" leaves out the fsync of each commit, to
// measure the store's own work apart from the disk's flush latency.
var benchSync = flag.String("bench.sync", "", "synchronous `mode` for benchmark writes (default: the store's FULL)")

// benchSizes are the directory sizes, in users, every benchmark runs at:
// the cost of the operations IdPs send must not grow with the directory.
var benchSizes = []int{1_000, 100_000}

// bigGroupSize is the size of the group the member benchmark adds to; a
// directory smaller than that holds a group of 90% of its users instead,
// so that some users remain to be added.
const bigGroupSize = 10_000

// seeded is a database file holding one directory of n users and one big
// group, written once per process and copied for each benchmark so that
// benchmarks neither pay for seeding nor see each other's writes.
type seeded struct {
	once  sync.Once
	err   error
	path  string // data directory holding the seeded database
	dir   string // directory id
	users []string
	group string
	// members is how many of the first users are in the group; the rest
	// are candidates for the member benchmark.
	members int
}

var (
	seedsMu  sync.Mutex
	seeds    = map[int]*seeded{}
	seedRoot string // removed by TestMain
)

// TestMain removes the seeded benchmark databases, which are shared by all
// benchmarks of the process and so outlive any one benchmark's TempDir.
func TestMain(m *testing.M) {
	code := m.Run()
	if seedRoot != "" {
		os.RemoveAll(seedRoot)
	}
	os.Exit(code)
}

// benchUser returns the attributes of seeded user i: what Entra sends for a
// typical user, so that documents and email rows have a realistic size.
func benchUser(name string, i int) map[string]any {
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

func benchUserName(i int) string { return fmt.Sprintf("user%06d", i) }

// seedFor returns the seeded database of n users, creating it on first use.
func seedFor(b *testing.B, n int) *seeded {
	seedsMu.Lock()
	s, ok := seeds[n]
	if !ok {
		s = &seeded{}
		seeds[n] = s
		if seedRoot == "" {
			seedRoot, s.err = os.MkdirTemp("", "roster-bench-")
		}
	}
	root := seedRoot
	seedsMu.Unlock()
	s.once.Do(func() {
		if s.err == nil {
			start := time.Now()
			s.err = s.seed(filepath.Join(root, fmt.Sprint(n)), n)
			if fi, err := os.Stat(filepath.Join(s.path, FileName)); err == nil {
				b.Logf("seeded %d users in %v: %d MB", n, time.Since(start).Round(time.Millisecond), fi.Size()>>20)
			}
		}
	})
	if s.err != nil {
		b.Fatalf("seed %d users: %v", n, s.err)
	}
	return s
}

// seed writes n users and the big group in one transaction, through the
// same insertResource that Create uses, then closes the database so that
// the WAL is checkpointed into the one file that copies take.
func (s *seeded) seed(path string, n int) error {
	ctx := context.Background()
	if err := os.MkdirAll(path, 0o755); err != nil {
		return err
	}
	db, err := Open(ctx, path, scim.NewRegistry())
	if err != nil {
		return err
	}
	defer db.Close()
	ten := storetest.NewTenant("bench")
	if err := db.Bootstrap(ctx, &ten.Bootstrap); err != nil {
		return err
	}
	s.path, s.dir, s.members = path, ten.Dir.ID, min(bigGroupSize, n*9/10)
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	now := db.now()
	for i := range n {
		r := &scim.Resource{Type: scim.UserType, ID: roster.NewID(), Attrs: benchUser(benchUserName(i), i), Created: now, LastModified: now, Version: 1}
		if _, err := insertResource(ctx, tx, s.dir, r); err != nil {
			return err
		}
		s.users = append(s.users, r.ID)
	}
	g := &scim.Resource{Type: scim.GroupType, ID: roster.NewID(), Attrs: map[string]any{"displayName": "big"}, Created: now, LastModified: now, Version: 1}
	grid, err := insertResource(ctx, tx, s.dir, g)
	if err != nil {
		return err
	}
	s.group = g.ID
	if _, err := tx.ExecContext(ctx, `INSERT INTO memberships (group_rid, member_rid)
		SELECT ?, rid FROM resources WHERE dir_id = ? AND type = 'User' ORDER BY rid LIMIT ?`, grid, s.dir, s.members); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	return db.Close()
}

// open copies the seeded database into the benchmark's temporary directory
// and opens the copy.
func (s *seeded) open(b *testing.B) *DB {
	dst := b.TempDir()
	copyFile := func(name string) error {
		in, err := os.Open(filepath.Join(s.path, name))
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.Create(filepath.Join(dst, name))
		if err != nil {
			return err
		}
		// Sync so that the first checkpoint of the benchmark does not pay
		// for writing out the whole copy.
		_, err = io.Copy(out, in)
		return errors.Join(err, out.Sync(), out.Close())
	}
	if err := copyFile(FileName); err != nil {
		b.Fatal(err)
	}
	db := mustOpenDir(b, dst)
	if *benchSync != "" {
		// The write pool has a single connection, kept open, so the
		// pragma holds for every write of the benchmark.
		if _, err := db.write.Exec("PRAGMA synchronous = " + *benchSync); err != nil {
			b.Fatal(err)
		}
	}
	return db
}

// runSizes runs fn as one sub-benchmark per directory size, on a fresh copy
// of the seeded database, with allocations reported.
func runSizes(b *testing.B, fn func(b *testing.B, db *DB, s *seeded)) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("users=%d", n), func(b *testing.B) {
			s := seedFor(b, n)
			db := s.open(b)
			b.ReportAllocs()
			fn(b, db, s)
		})
	}
}

// BenchmarkCreateUser measures POST /Users: one insert into resources and
// emails, with the uniqueness check done by the index.
func BenchmarkCreateUser(b *testing.B) {
	runSizes(b, func(b *testing.B, db *DB, s *seeded) {
		ctx := context.Background()
		i := len(s.users)
		for b.Loop() {
			r := &scim.Resource{Type: scim.UserType, Attrs: benchUser(benchUserName(i), i)}
			if _, err := db.Create(ctx, s.dir, r, nil); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}

// BenchmarkGetByUserName measures Entra's matching query,
// GET /Users?filter=userName eq "…", including parsing the filter.
func BenchmarkGetByUserName(b *testing.B) {
	runSizes(b, func(b *testing.B, db *DB, s *seeded) {
		ctx, rt := context.Background(), db.reg.ResourceType(scim.UserType)
		rng := rand.New(rand.NewPCG(1, 2))
		for b.Loop() {
			e, err := scim.ParseFilter(`userName eq "` + benchUserName(rng.IntN(len(s.users))) + `"`)
			if err != nil {
				b.Fatal(err)
			}
			q := scim.ListQuery{StartIndex: 1, Count: 100}
			if q.Filter, err = rt.ResolveFilter(e); err != nil {
				b.Fatal(err)
			}
			res, err := db.List(ctx, s.dir, scim.UserType, q)
			if err != nil || res.Total != 1 {
				b.Fatalf("List: %v, %v", res, err)
			}
		}
	})
}

// BenchmarkPatchUser measures PATCH /Users/{id} replacing two attributes:
// read, apply, rewrite the row and its emails, in one transaction.
func BenchmarkPatchUser(b *testing.B) {
	runSizes(b, func(b *testing.B, db *DB, s *seeded) {
		ctx, rt := context.Background(), db.reg.ResourceType(scim.UserType)
		rng := rand.New(rand.NewPCG(3, 4))
		i := 0
		for b.Loop() {
			ops := []scim.PatchOp{
				{Op: "replace", Path: "displayName", Value: fmt.Sprintf("Renamed %d", i)},
				{Op: "replace", Path: "title", Value: fmt.Sprintf("Title %d", i)},
			}
			_, err := db.Update(ctx, s.dir, scim.UserType, s.users[rng.IntN(len(s.users))], 0, false,
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

// BenchmarkAddMember measures PATCH /Groups/{id} adding one member to a
// group of 10,000 (see bigGroupSize): one membership row, whatever the size
// of the group. When every candidate has been added, the additions are
// removed with the timer stopped, so the group keeps its size.
func BenchmarkAddMember(b *testing.B) {
	runSizes(b, func(b *testing.B, db *DB, s *seeded) {
		candidates := s.users[s.members:]
		next := 0
		for b.Loop() {
			if next == len(candidates) {
				b.StopTimer()
				s.changeMembers(b, db, scim.MemberOp{Op: "remove", IDs: candidates})
				next = 0
				b.StartTimer()
			}
			s.changeMembers(b, db, scim.MemberOp{Op: "add", IDs: candidates[next : next+1]})
			next++
		}
	})
}

// changeMembers applies one membership operation to the big group, as a
// PATCH of its members does.
func (s *seeded) changeMembers(b *testing.B, db *DB, op scim.MemberOp) {
	_, err := db.Update(context.Background(), s.dir, scim.GroupType, s.group, 0, false, func(cur *scim.Resource) (map[string]any, []scim.MemberOp, error) {
		return cur.Attrs, []scim.MemberOp{op}, nil
	})
	if err != nil {
		b.Fatal(err)
	}
}
