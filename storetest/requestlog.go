package storetest

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/roster-scim/roster"
)

// requestLogTests are the RequestLogStore conformance tests; Run runs them
// when Stores.Requests is set.
var requestLogTests = []struct {
	name string
	fn   func(t *testing.T, f *logFixture)
}{
	{"RequestLogRoundTrip", testRequestLogRoundTrip},
	{"RequestLogAppendInvalid", testRequestLogAppendInvalid},
	{"RequestLogQuery", testRequestLogQuery},
	{"RequestLogCursor", testRequestLogCursor},
	{"RequestLogQueryInvalid", testRequestLogQueryInvalid},
	{"RequestLogLimit", testRequestLogLimit},
	{"PruneRequests", testPruneRequests},
	{"SetBodyCapture", testSetBodyCapture},
}

// logFixture is a store with two organizations and a known request log.
type logFixture struct {
	t    *testing.T
	db   logStores
	ctx  context.Context
	a, b *roster.Bootstrap // organizations A and B
	t0   time.Time         // time of the first entry; entry i is at t0 + i minutes
}

// logStores is what the request log tests read and write through.
type logStores struct {
	roster.RequestLogStore
	roster.AdminStore
}

func newLogFixture(t *testing.T, s Stores) *logFixture {
	return &logFixture{t: t, db: logStores{s.Requests, s.Admin}, ctx: context.Background(), a: &s.A.Bootstrap, b: &s.B.Bootstrap,
		t0: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
}

// entry returns an entry of org's directory i minutes after t0.
func (f *logFixture) entry(org *roster.Bootstrap, i int, status int, resourceID, summary string) roster.RequestEntry {
	return roster.RequestEntry{
		Time: f.t0.Add(time.Duration(i) * time.Minute), OrgID: org.Org.ID, DirectoryID: org.Dir.ID,
		CredentialKind: "key", CredentialID: org.Key.ID, CredentialName: org.Key.Name,
		Method: strings.Fields(summary)[0], Route: "/v1/scim/{idp}/Users/{id}", ResourceType: "User", ResourceID: resourceID,
		Summary: summary, Status: status, Latency: time.Duration(i+1) * time.Millisecond, RequestID: fmt.Sprintf("req-%d", i),
	}
}

func (f *logFixture) append(entries ...roster.RequestEntry) {
	f.t.Helper()
	if err := f.db.AppendRequests(f.ctx, entries); err != nil {
		f.t.Fatalf("AppendRequests: %v", err)
	}
}

// query returns the request ids of the entries q selects, in order.
func (f *logFixture) query(q roster.RequestQuery) []string {
	f.t.Helper()
	got, err := f.db.QueryRequests(f.ctx, q)
	if err != nil {
		f.t.Fatalf("QueryRequests(%+v): %v", q, err)
	}
	ids := []string{}
	for _, e := range got {
		ids = append(ids, e.RequestID)
	}
	return ids
}

func testRequestLogRoundTrip(t *testing.T, f *logFixture) {
	want := f.entry(f.a, 0, 400, "u1", "PATCH replace active=false")
	want.SCIMType, want.Body = roster.ScimInvalidValue, `{"password":"[REDACTED]"}`
	noID := f.entry(f.a, 1, 200, "", "GET list Users")
	f.append(want, noID)
	got, err := f.db.QueryRequests(f.ctx, roster.RequestQuery{OrgID: f.a.Org.ID})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("got %d entries, want 2", len(got))
	}
	if got[1].ID == 0 || got[0].ID <= got[1].ID {
		t.Errorf("ids %d, %d: want increasing ids", got[1].ID, got[0].ID)
	}
	want.ID = got[1].ID
	if !reflect.DeepEqual(got[1], want) {
		t.Errorf("round trip:\n got %+v\nwant %+v", got[1], want)
	}
	if got[0].ResourceID != "" || got[0].Body != "" {
		t.Errorf("entry without resource id and body reads back as %q, %q", got[0].ResourceID, got[0].Body)
	}
}

func testRequestLogAppendInvalid(t *testing.T, f *logFixture) {
	bad := f.entry(f.a, 1, 200, "", "GET list Users")
	bad.OrgID = ""
	err := f.db.AppendRequests(f.ctx, []roster.RequestEntry{f.entry(f.a, 0, 200, "", "GET list Users"), bad})
	if roster.ErrorCode(err) != roster.EINVALID {
		t.Fatalf("AppendRequests without an organization: %v, want EINVALID", err)
	}
	if got := f.query(roster.RequestQuery{OrgID: f.a.Org.ID}); len(got) != 0 {
		t.Errorf("a rejected batch stored %v", got)
	}
}

func testRequestLogQuery(t *testing.T, f *logFixture) {
	f.append(
		f.entry(f.a, 0, 201, "u1", "POST create User"),
		f.entry(f.a, 1, 200, "u1", "PATCH replace active=false"),
		f.entry(f.a, 2, 409, "", "POST create User"),
		f.entry(f.a, 3, 200, "g1", "PATCH add 3 members"),
		f.entry(f.a, 4, 404, "u2", "GET User"),
		f.entry(f.a, 5, 500, "u1", "DELETE User"),
		// B's entries match every filter below but must never show.
		f.entry(f.b, 0, 201, "u1", "POST create User"),
		f.entry(f.b, 1, 200, "u1", "PATCH replace active=false"),
		f.entry(f.b, 2, 409, "", "POST create User"),
		f.entry(f.b, 3, 404, "u2", "GET User"),
	)
	org := f.a.Org.ID
	for _, c := range []struct {
		name string
		q    roster.RequestQuery
		want []string
	}{
		{"all, newest first", roster.RequestQuery{OrgID: org}, []string{"req-5", "req-4", "req-3", "req-2", "req-1", "req-0"}},
		{"directory", roster.RequestQuery{OrgID: org, DirectoryID: f.a.Dir.ID, Limit: 2}, []string{"req-5", "req-4"}},
		{"another org's directory", roster.RequestQuery{OrgID: org, DirectoryID: f.b.Dir.ID}, []string{}},
		{"since and until", roster.RequestQuery{OrgID: org, Since: f.t0.Add(time.Minute), Until: f.t0.Add(3 * time.Minute)}, []string{"req-2", "req-1"}},
		{"status", roster.RequestQuery{OrgID: org, Status: 409}, []string{"req-2"}},
		{"status class", roster.RequestQuery{OrgID: org, StatusClass: 4}, []string{"req-4", "req-2"}},
		{"resource id", roster.RequestQuery{OrgID: org, ResourceID: "u1"}, []string{"req-5", "req-1", "req-0"}},
		{"operation, any case", roster.RequestQuery{OrgID: org, Operation: "patch"}, []string{"req-3", "req-1"}},
		{"operation substring", roster.RequestQuery{OrgID: org, Operation: "add 3 members"}, []string{"req-3"}},
		{"operation is literal, not a pattern", roster.RequestQuery{OrgID: org, Operation: "%"}, []string{}},
		{"filters combine", roster.RequestQuery{OrgID: org, ResourceID: "u1", Status: 200}, []string{"req-1"}},
		{"org B sees only its own", roster.RequestQuery{OrgID: f.b.Org.ID, StatusClass: 4}, []string{"req-3", "req-2"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := f.query(c.q); !slices.Equal(got, c.want) {
				t.Errorf("got %v, want %v", got, c.want)
			}
		})
	}
}

// testRequestLogCursor pages through a log whose entries are not stored in
// time order (a batch holds requests in the order they finished) and where
// two entries share a time.
func testRequestLogCursor(t *testing.T, f *logFixture) {
	f.append(f.entry(f.a, 2, 200, "", "GET list Users"), f.entry(f.a, 0, 200, "", "GET list Users"))
	tie := f.entry(f.a, 1, 200, "", "GET list Users")
	tie2 := tie
	tie2.RequestID = "req-1b"
	f.append(f.entry(f.a, 3, 200, "", "GET list Users"), tie, tie2)

	var pages [][]string
	q := roster.RequestQuery{OrgID: f.a.Org.ID, Limit: 2}
	for range 5 {
		got, err := f.db.QueryRequests(f.ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) == 0 {
			break
		}
		var ids []string
		for _, e := range got {
			ids = append(ids, e.RequestID)
		}
		pages = append(pages, ids)
		q.Before = got[len(got)-1].ID
	}
	want := [][]string{{"req-3", "req-2"}, {"req-1b", "req-1"}, {"req-0"}}
	if fmt.Sprint(pages) != fmt.Sprint(want) {
		t.Errorf("pages %v, want %v", pages, want)
	}

	// A cursor naming another organization's entry selects nothing.
	f.append(f.entry(f.b, 9, 200, "", "GET list Users"))
	theirs, err := f.db.QueryRequests(f.ctx, roster.RequestQuery{OrgID: f.b.Org.ID})
	if err != nil {
		t.Fatal(err)
	}
	if got := f.query(roster.RequestQuery{OrgID: f.a.Org.ID, Before: theirs[0].ID}); len(got) != 0 {
		t.Errorf("A's query with B's cursor returned %v", got)
	}
}

func testRequestLogQueryInvalid(t *testing.T, f *logFixture) {
	for _, q := range []roster.RequestQuery{
		{},
		{DirectoryID: f.a.Dir.ID}, // a directory does not stand in for the organization
		{OrgID: f.a.Org.ID, StatusClass: 6},
		{OrgID: f.a.Org.ID, Limit: -1},
	} {
		if _, err := f.db.QueryRequests(f.ctx, q); roster.ErrorCode(err) != roster.EINVALID {
			t.Errorf("QueryRequests(%+v): %v, want EINVALID", q, err)
		}
	}
}

func testRequestLogLimit(t *testing.T, f *logFixture) {
	var entries []roster.RequestEntry
	for i := range roster.MaxRequestLimit + 1 {
		entries = append(entries, f.entry(f.a, i, 200, "", "GET list Users"))
	}
	f.append(entries...)
	if got := f.query(roster.RequestQuery{OrgID: f.a.Org.ID}); len(got) != roster.DefaultRequestLimit {
		t.Errorf("no limit: %d entries, want %d", len(got), roster.DefaultRequestLimit)
	}
	if got := f.query(roster.RequestQuery{OrgID: f.a.Org.ID, Limit: 1 << 20}); len(got) != roster.MaxRequestLimit {
		t.Errorf("huge limit: %d entries, want %d", len(got), roster.MaxRequestLimit)
	}
}

// testPruneRequests prunes more than one chunk, and nothing newer than the
// cutoff, in either organization.
func testPruneRequests(t *testing.T, f *logFixture) {
	// More than one chunk of the 2,000 entries the stores prune per
	// statement, so that pruning is seen to loop.
	const old = 2010
	var entries []roster.RequestEntry
	for i := range old {
		org := f.a
		if i%2 == 1 {
			org = f.b
		}
		entries = append(entries, f.entry(org, -old+i, 200, "", "GET list Users")) // all before t0
	}
	entries = append(entries, f.entry(f.a, 0, 200, "", "GET list Users"), f.entry(f.b, 1, 200, "", "GET list Users"))
	f.append(entries...)

	n, err := f.db.PruneRequests(f.ctx, f.t0)
	if err != nil {
		t.Fatal(err)
	}
	if n != int64(old) {
		t.Errorf("pruned %d entries, want %d", n, old)
	}
	if got := f.query(roster.RequestQuery{OrgID: f.a.Org.ID}); !slices.Equal(got, []string{"req-0"}) {
		t.Errorf("A keeps %v, want [req-0]", got)
	}
	if got := f.query(roster.RequestQuery{OrgID: f.b.Org.ID}); !slices.Equal(got, []string{"req-1"}) {
		t.Errorf("B keeps %v, want [req-1]", got)
	}
	if n, err := f.db.PruneRequests(f.ctx, f.t0); err != nil || n != 0 {
		t.Errorf("second prune: %d, %v; want 0, nil", n, err)
	}
}

func testSetBodyCapture(t *testing.T, f *logFixture) {
	dir := func() *roster.Directory {
		d, err := f.db.FindDirectory(f.ctx, f.a.Dir.ID)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	if dir().CaptureBodies {
		t.Fatal("body capture is on by default")
	}
	if err := f.db.SetBodyCapture(f.ctx, f.a.Org.ID, f.a.Dir.ID, true); err != nil {
		t.Fatal(err)
	}
	if !dir().CaptureBodies {
		t.Error("SetBodyCapture(true) did not stick")
	}
	list, err := f.db.ListDirectories(f.ctx, f.a.Org.ID)
	if err != nil || len(list) != 1 || !list[0].CaptureBodies {
		t.Errorf("ListDirectories: %+v, %v; want the directory with capture on", list, err)
	}
	// Another organization can neither switch it nor learn it exists.
	if err := f.db.SetBodyCapture(f.ctx, f.b.Org.ID, f.a.Dir.ID, false); roster.ErrorCode(err) != roster.ENOTFOUND {
		t.Errorf("SetBodyCapture from another organization: %v, want ENOTFOUND", err)
	}
	if !dir().CaptureBodies {
		t.Error("another organization switched body capture off")
	}
	if err := f.db.SetBodyCapture(f.ctx, f.a.Org.ID, f.a.Dir.ID, false); err != nil || dir().CaptureBodies {
		t.Errorf("SetBodyCapture(false): %v, capture %v", err, dir().CaptureBodies)
	}
}
