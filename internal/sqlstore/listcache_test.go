package sqlstore

import (
	"testing"
)

// TestListMarks: the nearest mark at or before a position, the removed
// counter's rules, and the cap keeping the ends and spreading the rest.
func TestListMarks(t *testing.T) {
	c := NewListCache()
	a, b := listKey{"d", "User"}, listKey{"d", "Group"}
	if _, ok := c.nearest(a, 0, 10); ok {
		t.Fatal("a mark in an empty cache")
	}
	c.mark(a, 0, mark{pos: 100, rid: 1000})
	c.mark(a, 0, mark{pos: 200, rid: 2000})
	c.mark(b, 0, mark{pos: 150, rid: 9})
	for _, want := range []struct {
		pos  int
		mark mark
		ok   bool
	}{{99, mark{}, false}, {100, mark{100, 1000}, true}, {199, mark{100, 1000}, true}, {200, mark{200, 2000}, true}, {5000, mark{200, 2000}, true}} {
		if m, ok := c.nearest(a, 0, want.pos); m != want.mark || ok != want.ok {
			t.Errorf("nearest(%d) = %v, %v; want %v, %v", want.pos, m, ok, want.mark, want.ok)
		}
	}
	if m, _ := c.nearest(b, 0, 1000); m.rid != 9 {
		t.Errorf("another list's mark: %v", m)
	}
	// Read under another counter: none holds.
	if _, ok := c.nearest(a, 1, 150); ok {
		t.Error("a mark from before a deletion")
	}
	// A page from an older snapshot is ignored; a newer one starts afresh.
	c.mark(a, 1, mark{pos: 50, rid: 400})
	c.mark(a, 0, mark{pos: 60, rid: 500})
	if m, ok := c.nearest(a, 1, 300); !ok || m != (mark{50, 400}) {
		t.Errorf("after a deletion: %v, %v; want the one mark read since", m, ok)
	}
	// The cap: the first and last stay, and no gap grows far past the
	// even spread.
	const n = 10 * listMarksMax
	for i := range n {
		c.mark(a, 2, mark{pos: (i*7919)%n + 1, rid: int64(i)})
	}
	l := c.lists[a].Value.(*listMarks)
	if len(l.marks) != listMarksMax || l.marks[0].pos != 1 || l.marks[len(l.marks)-1].pos != n {
		t.Fatalf("%d marks from %d to %d; want %d from 1 to %d", len(l.marks), l.marks[0].pos, l.marks[len(l.marks)-1].pos, listMarksMax, n)
	}
	for i := 1; i < len(l.marks); i++ {
		if gap := l.marks[i].pos - l.marks[i-1].pos; gap > 4*n/listMarksMax {
			t.Errorf("gap of %d between %d and %d", gap, l.marks[i-1].pos, l.marks[i].pos)
		}
	}
	// The number of lists is capped, least recently used out.
	for i := range listsMax {
		c.mark(listKey{"other", string(rune('a' + i))}, 0, mark{pos: 1, rid: 1})
	}
	if len(c.lists) != listsMax || c.lists[b] != nil {
		t.Errorf("%d lists kept (want %d), the oldest kept: %v", len(c.lists), listsMax, c.lists[b] != nil)
	}
}
