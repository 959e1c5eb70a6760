package storetest

import (
	"fmt"
	"slices"

	"github.com/roster-scim/roster/scim"
)

// listPageTests are the cases of the totals and pages of unfiltered lists,
// which a store may answer from a maintained count and from where a
// sequential pager's previous page ended rather than with count(*) and
// OFFSET (SQLite does).
var listPageTests = []struct {
	name string
	fn   func(f *fixture)
}{
	{"ListTotals", testListTotals},
	{"ListSequentialPages", testListSequentialPages},
}

// total returns the unfiltered total of a type in a directory and checks
// it against a filtered one (`id pr`, which every resource matches and
// which the store counts).
func (f *fixture) total(dir, typ string) int {
	f.t.Helper()
	q := f.query(typ, "")
	q.Count = 0
	res := f.list(dir, typ, q)
	q = f.query(typ, "id pr")
	q.Count = 0
	if counted := f.list(dir, typ, q); counted.Total != res.Total {
		f.t.Errorf("%s in %s: unfiltered total %d, filtered total %d", typ, dir, res.Total, counted.Total)
	}
	// A full page needs the total too: with a page of one, from the first
	// resource.
	if res.Total > 1 {
		q := f.query(typ, "")
		q.Count = 1
		if page := f.list(dir, typ, q); page.Total != res.Total {
			f.t.Errorf("%s in %s: total %d with a page of one, %d with none", typ, dir, page.Total, res.Total)
		}
	}
	return res.Total
}

// testListTotals: an unfiltered list's total follows creates and deletes,
// per directory and per type, and goes with a deleted directory.
func testListTotals(f *fixture) {
	t, a, b := f.t, f.A.Dir.ID, f.B.Dir.ID
	want := func(what string, aUsers, aGroups, bUsers, bGroups int) {
		t.Helper()
		for _, c := range []struct {
			dir, typ string
			n        int
		}{{a, scim.UserType, aUsers}, {a, scim.GroupType, aGroups}, {b, scim.UserType, bUsers}, {b, scim.GroupType, bGroups}} {
			if got := f.total(c.dir, c.typ); got != c.n {
				t.Errorf("%s: %d %ss in %s, want %d", what, got, c.typ, c.dir, c.n)
			}
		}
	}
	want("empty", 0, 0, 0, 0)
	var users []*scim.Resource
	for i := range 5 {
		users = append(users, f.user(a, fmt.Sprintf("user%d", i)))
	}
	g := f.group(a, "eng", users[0].ID, users[1].ID)
	f.user(b, "other")
	want("after creates", 5, 1, 1, 0)

	if err := f.Store.Delete(f.ctx, a, scim.UserType, users[1].ID, 0); err != nil {
		t.Fatal(err)
	}
	if err := f.Store.Delete(f.ctx, a, scim.UserType, users[1].ID, 0); err == nil {
		t.Fatal("second Delete succeeded")
	}
	want("after a delete and a failed one", 4, 1, 1, 0)
	if _, err := f.tryCreate(a, scim.UserType, `{"userName": "user0"}`); err == nil {
		t.Fatal("a duplicate userName was created")
	}
	want("after a refused create", 4, 1, 1, 0)
	if err := f.Store.Delete(f.ctx, a, scim.GroupType, g.ID, 0); err != nil {
		t.Fatal(err)
	}
	f.group(b, "ops")
	want("after a group delete", 4, 0, 1, 1)
	f.mustPatch(a, scim.UserType, users[0].ID, replace("userName", "renamed"))
	want("after an update", 4, 0, 1, 1)

	doomed := f.newDirectory(f.A.Org.ID, "doomed", f.A.Key.ID)
	for i := range 3 {
		f.user(doomed.ID, fmt.Sprintf("user%d", i))
	}
	f.group(doomed.ID, "eng")
	if got := f.total(doomed.ID, scim.UserType); got != 3 {
		t.Errorf("new directory: %d users, want 3", got)
	}
	if err := f.Admin.DeleteDirectory(f.ctx, f.A.Org.ID, doomed.ID); err != nil {
		t.Fatal(err)
	}
	for _, typ := range []string{scim.UserType, scim.GroupType} {
		if got := f.total(doomed.ID, typ); got != 0 {
			t.Errorf("deleted directory: %d %ss", got, typ)
		}
	}
	want("after another directory's deletion", 4, 0, 1, 1)
}

// testListSequentialPages: a client paging with startIndex 1, 1+n, 1+2n, …
// gets what OFFSET gives: the same pages as a fresh read of the whole list
// while nothing changes, resources created meanwhile at the end, and after
// a deletion the positions of the list as it is now.
func testListSequentialPages(f *fixture) {
	t, dir := f.t, f.A.Dir.ID
	for i := range 23 {
		f.user(dir, fmt.Sprintf("user%02d", i))
		if i%5 == 0 {
			f.user(f.B.Dir.ID, fmt.Sprintf("user%02d", i)) // interleaved rids
			f.group(dir, fmt.Sprintf("group%02d", i))
		}
	}
	all := func() []string {
		return ids(f.list(dir, scim.UserType, f.query(scim.UserType, "")).Resources)
	}
	page := func(start, count int) *scim.ListResult {
		q := f.query(scim.UserType, "")
		q.StartIndex, q.Count = start, count
		return f.list(dir, scim.UserType, q)
	}
	check := func(what string, start, count int) {
		t.Helper()
		want := all()
		got := page(start, count)
		end := min(start-1+count, len(want))
		if w := want[min(start-1, len(want)):end]; !slices.Equal(ids(got.Resources), w) || got.Total != len(want) {
			t.Errorf("%s: startIndex %d count %d: total %d, %v; want %d, %v", what, start, count, got.Total, ids(got.Resources), len(want), w)
		}
	}
	// Twice through, pages of 5 then of 4 (another key), nothing changing.
	for round := range 2 {
		for _, count := range []int{5, 4} {
			for start := 1; start <= 26; start += count {
				check(fmt.Sprintf("round %d", round), start, count)
			}
		}
	}
	// Created meanwhile: appended, the pages before stay.
	check("before creates", 1, 5)
	check("before creates", 6, 5)
	f.user(dir, "late1")
	f.user(f.B.Dir.ID, "late-b")
	check("after a create", 11, 5)
	check("after a create", 16, 5)
	check("after a create", 21, 5)
	f.user(dir, "late2")
	check("after another create", 26, 5)

	// A deletion before the position shifts what follows.
	check("before a delete", 1, 5)
	check("before a delete", 6, 5)
	first := all()
	if err := f.Store.Delete(f.ctx, dir, scim.UserType, first[2], 0); err != nil {
		t.Fatal(err)
	}
	check("after a delete before the position", 11, 5)
	check("after a delete before the position", 16, 5)
	// A deletion in another directory or of another type changes nothing.
	check("before other deletes", 21, 5)
	other := ids(f.list(f.B.Dir.ID, scim.UserType, f.query(scim.UserType, "")).Resources)
	if err := f.Store.Delete(f.ctx, f.B.Dir.ID, scim.UserType, other[0], 0); err != nil {
		t.Fatal(err)
	}
	groups := ids(f.list(dir, scim.GroupType, f.query(scim.GroupType, "")).Resources)
	if err := f.Store.Delete(f.ctx, dir, scim.GroupType, groups[0], 0); err != nil {
		t.Fatal(err)
	}
	check("after other deletes", 26, 5)
	// The last resource of a page deleted, then the next page.
	check("before deleting a page's last", 1, 4)
	check("before deleting a page's last", 5, 4)
	if err := f.Store.Delete(f.ctx, dir, scim.UserType, all()[7], 0); err != nil {
		t.Fatal(err)
	}
	check("after deleting a page's last", 9, 4)
	// Past the end, and a random jump.
	check("past the end", 41, 5)
	check("a jump", 3, 7)
	check("after a jump", 10, 7)
	// Pages anywhere, of any size, read after whatever positions earlier
	// pages left, with a create and a delete between rounds.
	for round := range 3 {
		for i := range 24 {
			check(fmt.Sprintf("jumping, round %d", round), (i*7)%27+1, i%6+1)
		}
		f.user(dir, fmt.Sprintf("jumper%d", round))
		if round == 1 {
			if err := f.Store.Delete(f.ctx, dir, scim.UserType, all()[13], 0); err != nil {
				t.Fatal(err)
			}
		}
	}
}
