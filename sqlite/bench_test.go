package sqlite

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/roster-scim/roster/scim"
	"github.com/roster-scim/roster/storetest"
)

// The benchmarks are storetest's, shared with PostgreSQL; this file only
// gives them SQLite stores. See docs/benchmarks.md.

func BenchmarkCreateUser(b *testing.B)    { storetest.BenchCreateUser(b, openBench) }
func BenchmarkGetByUserName(b *testing.B) { storetest.BenchGetByUserName(b, openBench) }
func BenchmarkPatchUser(b *testing.B)     { storetest.BenchPatchUser(b, openBench) }
func BenchmarkAddMember(b *testing.B)     { storetest.BenchAddMember(b, openBench) }

// benchSync, when set, replaces the synchronous pragma of the benchmarks'
// write connection: "normal" leaves out the fsync of each commit, to
// measure the store's own work apart from the disk's flush latency.
var benchSync = flag.String("bench.sync", "", "synchronous `mode` for benchmark writes (default: the store's FULL)")

// templates are data directories each holding one seeded benchmark
// directory (see storetest.Templates).
var templates storetest.Templates[template]

// template is the path of a seeded data directory; "" if seeding failed
// before creating it.
type template struct{ path string }

// TestMain removes the benchmark templates.
func TestMain(m *testing.M) {
	code := m.Run()
	for _, t := range templates.All() {
		if t.path != "" {
			os.RemoveAll(t.path)
		}
	}
	os.Exit(code)
}

// openBench is the storetest.BenchOpen of SQLite: a synced copy of the
// template of d, seeded on first use.
func openBench(b *testing.B, d *storetest.BenchDirectory) scim.Store {
	t := templates.Get(b, d, func() (template, error) {
		path, err := os.MkdirTemp("", fmt.Sprintf("roster-bench-%d-", d.Size))
		if err != nil {
			return template{}, err
		}
		return template{path}, seedBench(path, d)
	})
	return t.open(b)
}

// seedBench writes d into a new database at path in one transaction,
// through the same insertResource that Create uses, then closes the
// database so that the WAL is checkpointed into the one file that copies
// take.
func seedBench(path string, d *storetest.BenchDirectory) error {
	ctx := context.Background()
	if err := os.MkdirAll(path, 0o755); err != nil {
		return err
	}
	db, err := Open(ctx, path, scim.NewRegistry())
	if err != nil {
		return err
	}
	defer db.Close()
	ten := d.Tenant
	if err := db.Bootstrap(ctx, &ten.Bootstrap); err != nil {
		return err
	}
	dir := d.Tenant.Dir.ID
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for i := range d.Size {
		if _, err := insertResource(ctx, tx, dir, d.User(i)); err != nil {
			return err
		}
	}
	grid, err := insertResource(ctx, tx, dir, d.Group())
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO memberships (group_rid, member_rid)
		SELECT ?, rid FROM resources WHERE dir_id = ? AND type = 'User' ORDER BY rid LIMIT ?`, grid, dir, d.Members); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	return db.Close()
}

// open copies the template into the benchmark's temporary directory and
// opens the copy.
func (t template) open(b *testing.B) *DB {
	dst := b.TempDir()
	copyFile := func(name string) error {
		in, err := os.Open(filepath.Join(t.path, name))
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
