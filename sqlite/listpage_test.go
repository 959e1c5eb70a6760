package sqlite

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/roster-scim/roster"
	"github.com/roster-scim/roster/internal/sqlstore"
	"github.com/roster-scim/roster/scim"
)

func listIDs(tb testing.TB, db *DB, dir string, start, count int) ([]string, int) {
	tb.Helper()
	res, err := db.List(context.Background(), dir, scim.UserType, scim.ListQuery{StartIndex: start, Count: count})
	if err != nil {
		tb.Fatal(err)
	}
	var out []string
	for _, r := range res.Resources {
		out = append(out, r.ID)
	}
	return out, res.Total
}

func mustCreateUsers(tb testing.TB, db *DB, dir string, n int) {
	tb.Helper()
	for range n {
		r := &scim.Resource{Type: scim.UserType, Attrs: map[string]any{"userName": "user-" + roster.NewID()}}
		if _, err := db.Create(context.Background(), dir, r, nil); err != nil {
			tb.Fatal(err)
		}
	}
}

// TestSequentialPagesReadAfterTheCursor shows that a sequential pager's
// next page is read after the rid where the previous page ended, and a
// page elsewhere after the nearest such mark before it, not with OFFSET
// from the start: the database is changed behind the store's back in a way that a
// deletion never leaves (a resource moved to the front of the rid order),
// which OFFSET sees and the remembered rid does not; a deletion then makes
// the store forget the positions.
func TestSequentialPagesReadAfterTheCursor(t *testing.T) {
	db := MustOpenDB(t)
	dir := mustAddTenant(t, db, "pages").Dir.ID
	mustCreateUsers(t, db, dir, 12)
	before, _ := listIDs(t, db, dir, 1, 100)
	p1, _ := listIDs(t, db, dir, 1, 3)
	p2, _ := listIDs(t, db, dir, 4, 3)
	if !slices.Equal(p1, before[0:3]) || !slices.Equal(p2, before[3:6]) {
		t.Fatalf("pages %v %v, want %v %v", p1, p2, before[0:3], before[3:6])
	}
	if _, err := db.write.Exec(`UPDATE resources SET rid = -1 WHERE dir_id = ? AND id = ?`, dir, before[11]); err != nil {
		t.Fatal(err)
	}
	moved, _ := listIDs(t, db, dir, 1, 100)
	if moved[0] != before[11] {
		t.Fatalf("the moved user is not first: %v", moved)
	}
	p3, total := listIDs(t, db, dir, 7, 3)
	if !slices.Equal(p3, before[6:9]) || total != 12 {
		t.Errorf("page after the cursor: %v (total %d), want %v (12); OFFSET would give %v", p3, total, before[6:9], moved[6:9])
	}
	// A page between marks: after the nearest one before it (3), with
	// OFFSET from there.
	if p, _ := listIDs(t, db, dir, 5, 2); !slices.Equal(p, before[4:6]) {
		t.Errorf("page between marks: %v, want %v; OFFSET from the start would give %v", p, before[4:6], moved[4:6])
	}
	// A deletion: the next page is read with OFFSET in the list as it is.
	if err := db.Delete(context.Background(), dir, scim.UserType, before[0], 0); err != nil {
		t.Fatal(err)
	}
	now, _ := listIDs(t, db, dir, 1, 100)
	p4, total := listIDs(t, db, dir, 10, 3)
	if !slices.Equal(p4, now[9:11]) || total != 11 {
		t.Errorf("page after a deletion: %v (total %d), want %v (11)", p4, total, now[9:11])
	}
}

// TestResourceCountsBackfill: migration 0007 counts the resources that
// exist when it runs.
func TestResourceCountsBackfill(t *testing.T) {
	dataDir := t.TempDir()
	db := mustOpenDir(t, dataDir)
	dir := mustAddTenant(t, db, "backfill").Dir.ID
	mustCreateUsers(t, db, dir, 3)
	for _, stmt := range []string{
		`DROP TRIGGER resources_count_insert`, `DROP TRIGGER resources_count_delete`, `DROP TABLE resource_counts`,
		`DELETE FROM schema_migrations WHERE name = 'migrations/0007_resource_counts.sql'`,
	} {
		if _, err := db.write.Exec(stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	mustCreateUsers(t, db, dir, 5)
	db.Close()
	db = mustOpenDir(t, dataDir)
	if _, total := listIDs(t, db, dir, 1, 1); total != 5+3 {
		t.Errorf("total after the migration: %d, want 8", total)
	}
}

// TestListPlans: the page after a cursor and the total of an unfiltered
// list read indexes, not the directory.
func TestListPlans(t *testing.T) {
	db := MustOpenDB(t)
	dir := mustAddTenant(t, db, "plans").Dir.ID
	lq, err := dialect.ListSQL(db.reg.ResourceType(scim.UserType), dir, scim.ListQuery{StartIndex: 101, Count: 100})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		query string
		args  []any
		want  string
	}{
		{lq.After, lq.AfterArgs(1000, 100, 0), "SEARCH r USING INDEX resources_type (dir_id=? AND type=? AND rowid>?)"},
		{lq.Count, lq.CountArgs, "SEARCH resource_counts USING PRIMARY KEY (dir_id=? AND type=?)"},
		{lq.Hops, lq.HopsArgs(1000, 1024, 100000), "SEARCH r USING COVERING INDEX resources_type (dir_id=? AND type=? AND rowid>?)"},
	} {
		plan := strings.Join(explain(t, db, c.query, c.args), "\n")
		if !strings.Contains(plan, c.want) {
			t.Errorf("%s\n\tplan %s\n\twant %s", c.query, plan, c.want)
		}
	}
	var _ sqlstore.ListSQL = lq
}

// TestListConcurrent pages, matches and deletes from several goroutines on
// one database, for the race detector: the statements and page ends are
// shared.
func TestListConcurrent(t *testing.T) {
	db := MustOpenDB(t)
	dir := mustAddTenant(t, db, "concurrent").Dir.ID
	mustCreateUsers(t, db, dir, 40)
	all, _ := listIDs(t, db, dir, 1, 100)
	errs := make(chan error, 8)
	for w := range 4 {
		go func() {
			for round := range 5 {
				for start := 1; start <= 40; start += 7 {
					if _, err := db.List(context.Background(), dir, scim.UserType, scim.ListQuery{StartIndex: start, Count: 7}); err != nil {
						errs <- err
						return
					}
				}
				if w == 0 {
					if err := db.Delete(context.Background(), dir, scim.UserType, all[round], 0); err != nil {
						errs <- err
						return
					}
				}
			}
			errs <- nil
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if got, total := listIDs(t, db, dir, 1, 100); total != 35 || !slices.Equal(got, all[5:]) {
		t.Errorf("after the deletes: %d, %v; want 35, %v", total, got, all[5:])
	}
}

// TestPagesFarFromAnyMark: a page far from every known position walks
// there in steps (ListSQL.Hops) and leaves marks along the way, so that a
// later page in between starts at one; every page equals the list's
// slice, before and after a deletion.
func TestPagesFarFromAnyMark(t *testing.T) {
	db := MustOpenDB(t)
	dir := mustAddTenant(t, db, "far").Dir.ID
	const n = 5000
	mustInsertUsers(t, db, dir, n)
	all := func() []string {
		var out []string
		rows, err := db.read.Query(`SELECT id FROM resources WHERE dir_id = ? AND type = 'User' ORDER BY rid`, dir)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			rows.Scan(&id)
			out = append(out, id)
		}
		return out
	}
	before := all()
	check := func(what string, want []string, start, count int) {
		t.Helper()
		got, total := listIDs(t, db, dir, start, count)
		if w := want[min(start-1, len(want)):min(start-1+count, len(want))]; !slices.Equal(got, w) || total != len(want) {
			t.Errorf("%s: page at %d of %d: %d ids from %v (total %d); want from %v (total %d)", what, start, count, len(got), got[:min(1, len(got))], total, w[:min(1, len(w))], len(want))
		}
	}
	check("far", before, 4001, 100)
	check("past the end", before, 4990, 100)
	// Behind the store's back the last user moves to the front: a page
	// read after a mark left by the walk (2048) does not see it, OFFSET
	// from the start would.
	if _, err := db.write.Exec(`UPDATE resources SET rid = -1 WHERE dir_id = ? AND id = ?`, dir, before[n-1]); err != nil {
		t.Fatal(err)
	}
	check("between the walk's marks", before, 2050, 10)
	if _, err := db.write.Exec(`UPDATE resources SET rid = (SELECT max(rid) + 1 FROM resources) WHERE rid = -1`); err != nil {
		t.Fatal(err)
	}
	// A deletion: the positions shift, the walk starts afresh.
	if err := db.Delete(context.Background(), dir, scim.UserType, before[10], 0); err != nil {
		t.Fatal(err)
	}
	after := all()
	for _, start := range []int{3500, 1, 2600, 4950, 1200, 4899} {
		check("after a deletion", after, start, 100)
	}
}

// mustInsertUsers writes n users in one transaction, as the benchmarks
// seed, for tests that need more than Create makes quickly.
func mustInsertUsers(tb testing.TB, db *DB, dir string, n int) {
	tb.Helper()
	tx, err := db.write.Begin()
	if err != nil {
		tb.Fatal(err)
	}
	defer tx.Rollback()
	now := time.Now()
	for i := range n {
		r := &scim.Resource{Type: scim.UserType, ID: roster.NewID(), Attrs: map[string]any{"userName": fmt.Sprintf("user%05d", i)}, Created: now, LastModified: now, Version: 1}
		if _, err := sqlstore.InsertResource(context.Background(), dialect, tx, dir, r); err != nil {
			tb.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		tb.Fatal(err)
	}
}

// TestListFirstCallsConcurrent: more first pages at once than the read
// pool has connections, each needing statements not yet prepared, all
// finish. Preparing inside the transaction took a second connection
// while holding one, and with every connection held that way none was
// ever free.
func TestListFirstCallsConcurrent(t *testing.T) {
	db := MustOpenDB(t)
	dir := mustAddTenant(t, db, "first").Dir.ID
	mustInsertUsers(t, db, dir, 3000)
	const workers = 32
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	start := make(chan struct{})
	errs := make(chan error, workers)
	for w := range workers {
		go func() {
			<-start
			_, err := db.List(ctx, dir, scim.UserType, scim.ListQuery{StartIndex: 2500 + w, Count: 10})
			errs <- err
		}()
	}
	close(start)
	for range workers {
		if err := <-errs; err != nil {
			t.Fatalf("a list did not finish: %v", err)
		}
	}
}
