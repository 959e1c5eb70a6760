package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/roster-scim/roster"
	"github.com/roster-scim/roster/provision"
)

// ProvisionStores is what an implementation's open function returns for
// one provisioning test: a fresh store holding two organizations and no
// jobs.
type ProvisionStores struct {
	State provision.StateStore
	// OrgA and OrgB are the ids of two organizations.
	OrgA, OrgB string
	// SetNow replaces the store's clock (for lease expiry). Tests that need
	// it are skipped when it is nil.
	SetNow func(now func() time.Time)
	// Replica opens another store on the same database, as a second
	// replica (or process) would, for the lease races; nil races within
	// State alone.
	Replica func() provision.StateStore
}

// RunProvision runs the provision.StateStore conformance suite. open is
// called once per subtest and must return a fresh store; subtests run in
// parallel.
func RunProvision(t *testing.T, open func(t *testing.T) ProvisionStores) {
	tests := []struct {
		name string
		fn   func(f *provFixture)
	}{
		{"Jobs", testProvisionJobs},
		{"JobIsolation", testProvisionJobIsolation},
		{"JobState", testProvisionJobState},
		{"Links", testProvisionLinks},
		{"ManyLinks", testProvisionManyLinks},
		{"UnseenLinks", testProvisionUnseenLinks},
		{"Members", testProvisionMembers},
		{"Lease", testProvisionLease},
		{"LeaseRace", testProvisionLeaseRace},
		{"Log", testProvisionLog},
		{"LogPaging", testProvisionLogPaging},
		{"PruneLog", testProvisionPruneLog},
		{"DeleteJob", testProvisionDeleteJob},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(&provFixture{t: t, ProvisionStores: open(t), ctx: context.Background()})
		})
	}
}

type provFixture struct {
	t *testing.T
	ProvisionStores
	ctx context.Context
}

func (f *provFixture) must(err error, what string, args ...any) {
	f.t.Helper()
	if err != nil {
		f.t.Fatalf("%s: %v", fmt.Sprintf(what, args...), err)
	}
}

// wantCode fails the test unless err is a *roster.Error with code.
func (f *provFixture) wantCode(err error, code, what string) {
	f.t.Helper()
	if roster.ErrorCode(err) != code {
		f.t.Errorf("%s: %v, want %s", what, err, code)
	}
}

// job creates a job in org.
func (f *provFixture) job(org, name string) *provision.JobRecord {
	f.t.Helper()
	j := &provision.JobRecord{OrgID: org, Name: name, Definition: []byte(`{"name":"` + name + `"}`), Enabled: true}
	f.must(f.State.CreateJob(f.ctx, j), "CreateJob %s", name)
	return j
}

// link is a link in a known state.
func link(kind provision.Kind, src string, cycle string) *provision.Link {
	return &provision.Link{Kind: kind, SourceID: src, TargetID: "t-" + src, SourceHash: "h-" + src,
		Exported: []byte(`{"userName":"` + src + `"}`), State: provision.Active, Cycle: cycle}
}

func (f *provFixture) links(job string, kind provision.Kind, ids ...string) map[string]*provision.Link {
	f.t.Helper()
	m, err := f.State.Links(f.ctx, job, kind, ids)
	f.must(err, "Links")
	return m
}

func (f *provFixture) members(job, group string) []string {
	f.t.Helper()
	out := []string{}
	f.must(f.State.ExportedMembers(f.ctx, job, group, func(id string) error { out = append(out, id); return nil }), "ExportedMembers")
	sort.Strings(out)
	return out
}

// stored returns t as the stores keep it: UTC, to the microsecond.
func stored(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

func testProvisionJobs(f *provFixture) {
	j := &provision.JobRecord{OrgID: f.OrgA, Name: "entra", Definition: []byte(`{"a":1}`), Enabled: true}
	f.must(f.State.CreateJob(f.ctx, j), "CreateJob")
	if j.ID == "" || j.Created.IsZero() || !j.Updated.Equal(j.Created) {
		f.t.Errorf("CreateJob did not fill in the id and times: %+v", j)
	}
	f.wantCode(f.State.CreateJob(f.ctx, &provision.JobRecord{OrgID: f.OrgA, Name: "entra", Definition: []byte(`{}`)}), roster.ECONFLICT, "a second job named entra")
	other := &provision.JobRecord{OrgID: f.OrgB, Name: "entra", Definition: []byte(`{}`)}
	f.must(f.State.CreateJob(f.ctx, other), "a job named entra in another organization")
	if err := f.State.CreateJob(f.ctx, &provision.JobRecord{OrgID: roster.NewID(), Name: "x", Definition: []byte(`{}`)}); err == nil {
		f.t.Error("CreateJob in an unknown organization succeeded")
	}
	f.job(f.OrgA, "csv")

	for _, key := range []string{j.ID, "entra"} {
		got, err := f.State.FindJob(f.ctx, f.OrgA, key)
		f.must(err, "FindJob %s", key)
		if !reflect.DeepEqual(got, j) {
			f.t.Errorf("FindJob %s = %+v, want %+v", key, got, j)
		}
	}
	_, err := f.State.FindJob(f.ctx, f.OrgA, "nope")
	f.wantCode(err, roster.ENOTFOUND, "FindJob of an unknown name")

	// A job named like another's id: the id wins.
	tricky := f.job(f.OrgA, j.ID)
	if got, err := f.State.FindJob(f.ctx, f.OrgA, j.ID); err != nil || got.ID != j.ID {
		f.t.Errorf("FindJob by id with a job named like it: %+v, %v", got, err)
	}
	if got, err := f.State.FindJob(f.ctx, f.OrgA, tricky.ID); err != nil || got.Name != j.ID {
		f.t.Errorf("FindJob %s: %+v, %v", tricky.ID, got, err)
	}
	f.must(f.State.DeleteJob(f.ctx, f.OrgA, tricky.ID), "DeleteJob")

	if f.SetNow != nil {
		later := j.Created.Add(time.Hour)
		f.SetNow(func() time.Time { return later })
		defer f.SetNow(time.Now)
	}
	upd := &provision.JobRecord{ID: j.ID, OrgID: f.OrgA, Name: "ignored", Definition: []byte(`{"a":2}`), Enabled: false}
	f.must(f.State.UpdateJob(f.ctx, upd), "UpdateJob")
	got, err := f.State.FindJob(f.ctx, f.OrgA, j.ID)
	f.must(err, "FindJob")
	if string(got.Definition) != `{"a":2}` || got.Enabled || got.Name != "entra" || !got.Created.Equal(j.Created) || !got.Updated.Equal(upd.Updated) {
		f.t.Errorf("after UpdateJob: %+v (update %+v)", got, upd)
	}
	if f.SetNow != nil && !got.Updated.After(got.Created) {
		f.t.Errorf("UpdateJob kept the time updated: %+v", got)
	}
	f.wantCode(f.State.UpdateJob(f.ctx, &provision.JobRecord{ID: roster.NewID(), OrgID: f.OrgA, Definition: []byte(`{}`)}), roster.ENOTFOUND, "UpdateJob of an unknown job")

	list, err := f.State.ListJobs(f.ctx, f.OrgA)
	f.must(err, "ListJobs")
	if names := jobNames(list); !slices.Equal(names, []string{"csv", "entra"}) {
		f.t.Errorf("ListJobs(A) = %v, want [csv entra]", names)
	}
	all, err := f.State.ListJobs(f.ctx, "")
	f.must(err, "ListJobs all")
	if len(all) != 3 {
		f.t.Errorf("ListJobs(\"\") = %v, want three jobs", jobNames(all))
	}
	f.must(f.State.DeleteJob(f.ctx, f.OrgA, j.ID), "DeleteJob")
	_, err = f.State.FindJob(f.ctx, f.OrgA, j.ID)
	f.wantCode(err, roster.ENOTFOUND, "FindJob of a deleted job")
	f.wantCode(f.State.DeleteJob(f.ctx, f.OrgA, j.ID), roster.ENOTFOUND, "DeleteJob twice")
	// The name is free again.
	f.job(f.OrgA, "entra")
}

func jobNames(js []*provision.JobRecord) []string {
	out := []string{}
	for _, j := range js {
		out = append(out, j.Name)
	}
	return out
}

func testProvisionJobIsolation(f *provFixture) {
	a := f.job(f.OrgA, "entra")
	for _, key := range []string{a.ID, a.Name} {
		_, err := f.State.FindJob(f.ctx, f.OrgB, key)
		f.wantCode(err, roster.ENOTFOUND, "FindJob of org A's job from org B by "+key)
	}
	f.wantCode(f.State.UpdateJob(f.ctx, &provision.JobRecord{ID: a.ID, OrgID: f.OrgB, Definition: []byte(`{}`)}), roster.ENOTFOUND, "UpdateJob from org B")
	f.wantCode(f.State.DeleteJob(f.ctx, f.OrgB, a.ID), roster.ENOTFOUND, "DeleteJob from org B")
	if list, err := f.State.ListJobs(f.ctx, f.OrgB); err != nil || len(list) != 0 {
		f.t.Errorf("ListJobs(B) = %v, %v; want none", jobNames(list), err)
	}
	if got, err := f.State.FindJob(f.ctx, f.OrgA, a.ID); err != nil || string(got.Definition) != string(a.Definition) {
		f.t.Errorf("org A's job after org B's attempts: %+v, %v", got, err)
	}
}

func testProvisionJobState(f *provFixture) {
	j := f.job(f.OrgA, "entra")
	st, err := f.State.JobState(f.ctx, j.ID)
	f.must(err, "JobState")
	if !reflect.DeepEqual(st, provision.JobState{}) {
		f.t.Errorf("state before the first cycle = %+v, want zero", st)
	}
	start := time.Date(2026, 5, 1, 10, 0, 0, 123456789, time.FixedZone("CEST", 7200))
	want := provision.JobState{Watermark: "w-1", Cycle: "c-1", Running: true, Started: start,
		Counts: provision.Counts{Created: 3, Updated: 2, Disabled: 1, Deleted: 4, Skipped: 5, Failed: 6}}
	f.must(f.State.PutJobState(f.ctx, j.ID, want), "PutJobState")
	got, err := f.State.JobState(f.ctx, j.ID)
	f.must(err, "JobState")
	want.Started = stored(start)
	if !reflect.DeepEqual(got, want) {
		f.t.Errorf("JobState = %+v, want %+v", got, want)
	}
	want.Running, want.Finished, want.Cycle = false, stored(start.Add(time.Minute)), "c-2"
	f.must(f.State.PutJobState(f.ctx, j.ID, want), "PutJobState again")
	f.must(f.State.PutLinks(f.ctx, j.ID, []*provision.Link{link(provision.User, "u1", "c-2")}), "PutLinks")

	f.must(f.State.ResetWatermark(f.ctx, j.ID), "ResetWatermark")
	got, err = f.State.JobState(f.ctx, j.ID)
	f.must(err, "JobState")
	want.Watermark = ""
	if !reflect.DeepEqual(got, want) {
		f.t.Errorf("JobState after ResetWatermark = %+v, want %+v", got, want)
	}
	if len(f.links(j.ID, provision.User, "u1")) != 1 {
		f.t.Error("ResetWatermark removed the links")
	}
	// Before any state, ResetWatermark is harmless.
	k := f.job(f.OrgA, "other")
	f.must(f.State.ResetWatermark(f.ctx, k.ID), "ResetWatermark without state")
	if st, err := f.State.JobState(f.ctx, k.ID); err != nil || st.Watermark != "" {
		f.t.Errorf("JobState = %+v, %v", st, err)
	}
}

func testProvisionLinks(f *provFixture) {
	j := f.job(f.OrgA, "entra")
	k := f.job(f.OrgA, "other")
	retry := time.Date(2026, 5, 1, 10, 0, 0, 999, time.UTC)
	u1 := link(provision.User, "u1", "c1")
	u2 := &provision.Link{Kind: provision.User, SourceID: "u2", SourceHash: "h2", State: provision.Pending, Failures: 2,
		Error: "the target answered 500", RetryAt: retry, Cycle: "c1"}
	g1 := link(provision.Group, "u1", "c1") // a group with a user's source ID: kinds are apart
	g1.TargetID = "tg1"
	f.must(f.State.PutLinks(f.ctx, j.ID, []*provision.Link{u1, u2, g1}), "PutLinks")
	f.must(f.State.PutLinks(f.ctx, k.ID, []*provision.Link{link(provision.User, "u3", "c1")}), "PutLinks other job")
	f.must(f.State.PutLinks(f.ctx, j.ID, nil), "PutLinks of nothing")

	got := f.links(j.ID, provision.User, "u1", "u2", "u3", "missing")
	wantU2 := *u2
	wantU2.RetryAt = stored(retry)
	if len(got) != 2 || !reflect.DeepEqual(got["u1"], u1) || !reflect.DeepEqual(got["u2"], &wantU2) {
		f.t.Errorf("Links = %v, want u1 %+v and u2 %+v", got, u1, wantU2)
	}
	if g := f.links(j.ID, provision.Group, "u1"); !reflect.DeepEqual(g["u1"], g1) {
		f.t.Errorf("group link = %+v, want %+v", g["u1"], g1)
	}
	if got := f.links(j.ID, provision.User); len(got) != 0 {
		f.t.Errorf("Links of no ids = %v", got)
	}

	if l, err := f.State.LinkByTarget(f.ctx, j.ID, provision.User, "t-u1"); err != nil || !reflect.DeepEqual(l, u1) {
		f.t.Errorf("LinkByTarget(t-u1) = %+v, %v", l, err)
	}
	if l, err := f.State.LinkByTarget(f.ctx, j.ID, provision.Group, "tg1"); err != nil || l.SourceID != "u1" || l.Kind != provision.Group {
		f.t.Errorf("LinkByTarget(tg1) = %+v, %v", l, err)
	}
	for _, c := range []struct {
		job    string
		kind   provision.Kind
		target string
	}{{j.ID, provision.User, ""}, {j.ID, provision.User, "nope"}, {j.ID, provision.Group, "t-u1"}, {k.ID, provision.User, "t-u1"}} {
		_, err := f.State.LinkByTarget(f.ctx, c.job, c.kind, c.target)
		f.wantCode(err, roster.ENOTFOUND, fmt.Sprintf("LinkByTarget(%s, %q)", c.kind, c.target))
	}

	// Replace: the pending user is created; of two links of one object in
	// a batch the last wins.
	created := *u2
	created.TargetID, created.State, created.Failures, created.Error, created.RetryAt, created.Exported = "t-u2", provision.Active, 0, "", time.Time{}, []byte(`{"x":[1, 2]}`)
	stale := created
	stale.SourceHash = "stale"
	f.must(f.State.PutLinks(f.ctx, j.ID, []*provision.Link{&stale, &created}), "PutLinks replace")
	if got := f.links(j.ID, provision.User, "u2"); !reflect.DeepEqual(got["u2"], &created) {
		f.t.Errorf("replaced link = %+v, want %+v", got["u2"], created)
	}
	if l, err := f.State.LinkByTarget(f.ctx, j.ID, provision.User, "t-u2"); err != nil || l.SourceID != "u2" {
		f.t.Errorf("LinkByTarget of the new target id = %+v, %v", l, err)
	}
	if err := f.State.PutLinks(f.ctx, j.ID, []*provision.Link{{Kind: provision.User}}); err == nil {
		f.t.Error("PutLinks of a link without a source id succeeded")
	}

	counts, err := f.State.CountLinks(f.ctx, j.ID)
	f.must(err, "CountLinks")
	if want := map[provision.Kind]map[provision.LinkState]int{provision.User: {provision.Active: 2}, provision.Group: {provision.Active: 1}}; !reflect.DeepEqual(counts, want) {
		f.t.Errorf("CountLinks = %v, want %v", counts, want)
	}

	f.must(f.State.DeleteLinks(f.ctx, j.ID, provision.User, []string{"u1", "missing"}), "DeleteLinks")
	if got := f.links(j.ID, provision.User, "u1", "u2"); len(got) != 1 || got["u2"] == nil {
		f.t.Errorf("Links after DeleteLinks = %v", got)
	}
	if got := f.links(j.ID, provision.Group, "u1"); len(got) != 1 {
		f.t.Error("DeleteLinks of a user deleted the group of the same source ID")
	}
	if got := f.links(k.ID, provision.User, "u3"); len(got) != 1 {
		f.t.Error("another job's link is gone")
	}
	f.must(f.State.DeleteLinks(f.ctx, j.ID, provision.User, nil), "DeleteLinks of nothing")
}

// testProvisionManyLinks puts hundreds of links in one call, several
// statements' worth, and reads them back in one call.
func testProvisionManyLinks(f *provFixture) {
	j := f.job(f.OrgA, "entra")
	var ls []*provision.Link
	var ids []string
	for i := range 1234 {
		id := fmt.Sprintf("u%05d", i)
		ls = append(ls, link(provision.User, id, "c1"))
		ids = append(ids, id)
	}
	start := time.Now()
	f.must(f.State.PutLinks(f.ctx, j.ID, ls), "PutLinks")
	f.t.Logf("PutLinks of %d links: %v", len(ls), time.Since(start))
	got := f.links(j.ID, provision.User, ids...)
	if len(got) != len(ids) || !reflect.DeepEqual(got[ids[777]], ls[777]) {
		f.t.Errorf("Links: %d of %d", len(got), len(ids))
	}
	for _, l := range ls {
		l.State = provision.Disabled
	}
	f.must(f.State.PutLinks(f.ctx, j.ID, ls), "PutLinks again")
	counts, err := f.State.CountLinks(f.ctx, j.ID)
	f.must(err, "CountLinks")
	if counts[provision.User][provision.Disabled] != len(ls) || len(counts[provision.User]) != 1 {
		f.t.Errorf("CountLinks = %v", counts)
	}
	f.must(f.State.DeleteLinks(f.ctx, j.ID, provision.User, ids[:1000]), "DeleteLinks")
	if got := f.links(j.ID, provision.User, ids...); len(got) != len(ids)-1000 {
		f.t.Errorf("after DeleteLinks: %d links, want %d", len(got), len(ids)-1000)
	}
}

// testProvisionUnseenLinks walks more links than fit a page, writing to the
// store from fn as the engine does when it deletes the objects it finds.
func testProvisionUnseenLinks(f *provFixture) {
	j := f.job(f.OrgA, "entra")
	k := f.job(f.OrgA, "other")
	const n = 2600
	var ls []*provision.Link
	want := map[string]bool{}
	for i := range n {
		id := fmt.Sprintf("u%05d", i)
		cycle := "c2" // seen by the current cycle
		if i%3 != 0 {
			cycle = "c1"
			want[id] = true
		}
		ls = append(ls, link(provision.User, id, cycle))
	}
	f.must(f.State.PutLinks(f.ctx, j.ID, ls), "PutLinks")
	f.must(f.State.PutLinks(f.ctx, j.ID, []*provision.Link{link(provision.Group, "g1", "c1")}), "PutLinks group")
	f.must(f.State.PutLinks(f.ctx, k.ID, []*provision.Link{link(provision.User, "u00001", "c1")}), "PutLinks other job")

	seen := map[string]int{}
	last := ""
	err := f.State.UnseenLinks(f.ctx, j.ID, provision.User, "c2", func(l *provision.Link) error {
		seen[l.SourceID]++
		if l.Kind != provision.User || l.Cycle == "c2" || l.SourceID <= last {
			f.t.Errorf("unexpected link %+v after %q", l, last)
		}
		last = l.SourceID
		// Writes between (and within) pages: delete the link seen, and
		// now and then add a new unseen one behind the cursor (which the
		// walk need not return).
		if err := f.State.DeleteLinks(f.ctx, j.ID, provision.User, []string{l.SourceID}); err != nil {
			return err
		}
		if len(seen)%100 == 0 {
			return f.State.PutLinks(f.ctx, j.ID, []*provision.Link{link(provision.User, "a"+l.SourceID, "c1")})
		}
		return nil
	})
	f.must(err, "UnseenLinks")
	for id := range want {
		if seen[id] != 1 {
			f.t.Errorf("link %s seen %d times, want once", id, seen[id])
		}
	}
	for id := range seen {
		if !want[id] {
			f.t.Errorf("link %s seen, not wanted", id)
		}
	}
	counts, err := f.State.CountLinks(f.ctx, j.ID)
	f.must(err, "CountLinks")
	if got, wantN := counts[provision.User][provision.Active], n-len(want)+len(want)/100; got != wantN {
		f.t.Errorf("%d user links left, want %d", got, wantN)
	}

	// fn's error stops the walk and is returned.
	stop := errors.New("stop")
	calls := 0
	err = f.State.UnseenLinks(f.ctx, j.ID, provision.User, "c2", func(*provision.Link) error { calls++; return stop })
	if !errors.Is(err, stop) || calls != 1 {
		f.t.Errorf("UnseenLinks with a failing fn: %v after %d calls", err, calls)
	}
	// Nothing is unseen by a cycle every link was seen in.
	err = f.State.UnseenLinks(f.ctx, k.ID, provision.User, "c1", func(l *provision.Link) error {
		f.t.Errorf("unexpected %+v", l)
		return nil
	})
	f.must(err, "UnseenLinks")
}

func testProvisionMembers(f *provFixture) {
	j := f.job(f.OrgA, "entra")
	k := f.job(f.OrgA, "other")
	var add []string
	for i := range 3000 {
		add = append(add, fmt.Sprintf("m%05d", i))
	}
	f.must(f.State.ChangeMembers(f.ctx, j.ID, "g1", add, nil), "ChangeMembers add")
	f.must(f.State.ChangeMembers(f.ctx, j.ID, "g2", add[:10], nil), "ChangeMembers g2")
	f.must(f.State.ChangeMembers(f.ctx, k.ID, "g1", add[:5], nil), "ChangeMembers other job")
	// Adding a recorded member again and removing an unknown one are fine.
	f.must(f.State.ChangeMembers(f.ctx, j.ID, "g1", add[:3], []string{"unknown"}), "ChangeMembers again")
	f.must(f.State.ChangeMembers(f.ctx, j.ID, "g1", []string{"new", "new"}, add[:500]), "ChangeMembers add and remove")
	want := append([]string{"new"}, add[500:]...)
	sort.Strings(want)
	if got := f.members(j.ID, "g1"); !slices.Equal(got, want) {
		f.t.Errorf("ExportedMembers(g1): %d members, want %d", len(got), len(want))
	}
	if got := f.members(j.ID, "g2"); !slices.Equal(got, add[:10]) {
		f.t.Errorf("ExportedMembers(g2) = %v", got)
	}
	if got := f.members(k.ID, "g1"); !slices.Equal(got, add[:5]) {
		f.t.Errorf("other job's ExportedMembers(g1) = %v", got)
	}
	if got := f.members(j.ID, "nope"); len(got) != 0 {
		f.t.Errorf("ExportedMembers of an unknown group = %v", got)
	}
	// MemberOf: the groups of one member, of this job only.
	if got, err := f.State.MemberOf(f.ctx, j.ID, add[5]); err != nil || !slices.Equal(got, []string{"g2"}) {
		f.t.Errorf("MemberOf(%s) = %v, %v; want [g2] (removed from g1, g1 of the other job not counted)", add[5], got, err)
	}
	if got, err := f.State.MemberOf(f.ctx, j.ID, add[600]); err != nil || !slices.Equal(got, []string{"g1"}) {
		f.t.Errorf("MemberOf(%s) = %v, %v; want [g1]", add[600], got, err)
	}
	if got, err := f.State.MemberOf(f.ctx, j.ID, "nobody"); err != nil || len(got) != 0 {
		f.t.Errorf("MemberOf(nobody) = %v, %v", got, err)
	}

	// fn may write between pages; its error stops the walk.
	n := 0
	err := f.State.ExportedMembers(f.ctx, j.ID, "g1", func(id string) error {
		n++
		if n%1000 == 0 {
			return f.State.ChangeMembers(f.ctx, j.ID, "g2", []string{id}, nil)
		}
		return nil
	})
	if err != nil || n != len(want) {
		f.t.Errorf("ExportedMembers with writes: %d members, %v", n, err)
	}
	stop := errors.New("stop")
	if err := f.State.ExportedMembers(f.ctx, j.ID, "g1", func(string) error { return stop }); !errors.Is(err, stop) {
		f.t.Errorf("ExportedMembers with a failing fn: %v", err)
	}

	// Deleting a member's link forgets it in every group; deleting a
	// group's link forgets its members.
	f.must(f.State.PutLinks(f.ctx, j.ID, []*provision.Link{link(provision.User, add[5], "c1"), link(provision.Group, "g2", "c1")}), "PutLinks")
	f.must(f.State.DeleteLinks(f.ctx, j.ID, provision.User, []string{add[5]}), "DeleteLinks user")
	if got := f.members(j.ID, "g2"); slices.Contains(got, add[5]) || len(got) != 9+2 {
		f.t.Errorf("g2's members after deleting %s: %v", add[5], got)
	}
	if got := f.members(j.ID, "g1"); len(got) != len(want) {
		f.t.Errorf("g1 lost members: %d, want %d", len(got), len(want))
	}
	f.must(f.State.DeleteLinks(f.ctx, j.ID, provision.Group, []string{"g2"}), "DeleteLinks group")
	if got := f.members(j.ID, "g2"); len(got) != 0 {
		f.t.Errorf("members of a deleted group: %v", got)
	}
	if got := f.members(k.ID, "g1"); len(got) != 5 {
		f.t.Errorf("other job's members: %v", got)
	}
}

func testProvisionLease(f *provFixture) {
	if f.SetNow == nil {
		f.t.Skip("the store's clock cannot be set")
	}
	j := f.job(f.OrgA, "entra")
	k := f.job(f.OrgA, "other")
	now := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	f.SetNow(func() time.Time { return now })
	defer f.SetNow(time.Now)
	acquire := func(job, holder string, want bool) {
		f.t.Helper()
		ok, err := f.State.AcquireLease(f.ctx, job, holder, time.Minute)
		if err != nil || ok != want {
			f.t.Errorf("at %v AcquireLease(%s) = %v, %v; want %v", now.Format(time.TimeOnly), holder, ok, err, want)
		}
	}
	acquire(j.ID, "r1", true)  // free
	acquire(j.ID, "r2", false) // held by r1
	acquire(k.ID, "r2", true)  // another job's lease is another lease
	now = now.Add(50 * time.Second)
	acquire(j.ID, "r1", true) // renewed until 10:01:50
	now = now.Add(50 * time.Second)
	acquire(j.ID, "r2", false) // the renewal holds
	now = now.Add(20 * time.Second)
	acquire(j.ID, "r2", true) // expired: taken over
	acquire(j.ID, "r1", false)
	f.must(f.State.ReleaseLease(f.ctx, j.ID, "r1"), "ReleaseLease by a non-holder")
	acquire(j.ID, "r1", false)
	f.must(f.State.ReleaseLease(f.ctx, j.ID, "r2"), "ReleaseLease")
	acquire(j.ID, "r1", true)
	if _, err := f.State.AcquireLease(f.ctx, j.ID, "r1", 0); err == nil {
		f.t.Error("AcquireLease with no duration succeeded")
	}
}

// testProvisionLeaseRace has replicas race for free and expired leases:
// exactly one must win each time.
func testProvisionLeaseRace(f *provFixture) {
	stores := []provision.StateStore{f.State}
	if f.Replica != nil {
		stores = append(stores, f.Replica())
	}
	const racers, rounds = 8, 10
	for round := range rounds {
		j := f.job(f.OrgA, fmt.Sprintf("job%d", round))
		if round%2 == 1 {
			// An expired lease rather than none.
			ok, err := f.State.AcquireLease(f.ctx, j.ID, "old", time.Microsecond)
			f.must(err, "AcquireLease")
			if !ok {
				f.t.Fatal("AcquireLease of a free lease failed")
			}
			time.Sleep(2 * time.Millisecond)
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		var winners []string
		start := make(chan struct{})
		for i := range racers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				holder := fmt.Sprintf("r%d", i)
				ok, err := stores[i%len(stores)].AcquireLease(f.ctx, j.ID, holder, time.Minute)
				if err != nil {
					f.t.Errorf("AcquireLease(%s): %v", holder, err)
				}
				if ok {
					mu.Lock()
					winners = append(winners, holder)
					mu.Unlock()
				}
			}()
		}
		close(start)
		wg.Wait()
		if len(winners) != 1 {
			f.t.Errorf("round %d: %d racers got the lease (%v), want exactly one", round, len(winners), winners)
		}
	}
}

// logEntries appends n entries to job: entry i is of source s(i%7), cycle
// c(i/10), failed when i%5 == 0, with target id t(i%7) from i >= 3.
func (f *provFixture) logEntries(job string, n int) []*provision.LogEntry {
	f.t.Helper()
	var es []*provision.LogEntry
	t0 := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	for i := range n {
		e := &provision.LogEntry{JobID: job, Cycle: fmt.Sprintf("c%d", i/10), Time: t0.Add(time.Duration(i) * time.Second),
			Kind: provision.User, SourceID: fmt.Sprintf("s%d", i%7), Action: provision.Update, Status: provision.Success,
			Steps: []provision.Step{{Name: "import", Status: provision.Success, Detail: "read from the source"}, {Name: "action", Status: provision.Success, Detail: "PATCH"}}}
		if i >= 3 {
			e.TargetID = fmt.Sprintf("t%d", i%7)
		}
		if i%5 == 0 {
			e.Status, e.Error = provision.Failure, fmt.Sprintf("failure %d", i)
			e.Steps[1].Status = provision.Failure
		}
		if i%2 == 0 {
			e.Modified = map[string]any{"displayName": fmt.Sprintf("User %d", i), "active": true}
		}
		es = append(es, e)
	}
	f.must(f.State.AppendLog(f.ctx, es), "AppendLog")
	return es
}

func (f *provFixture) query(q provision.LogQuery) []*provision.LogEntry {
	f.t.Helper()
	got, err := f.State.QueryLog(f.ctx, q)
	f.must(err, "QueryLog %+v", q)
	return got
}

func logIDs(es []*provision.LogEntry) []int64 {
	out := []int64{}
	for _, e := range es {
		out = append(out, e.ID)
	}
	return out
}

// newestFirst returns the ids of the entries that match, newest first.
func newestFirst(es []*provision.LogEntry, match func(*provision.LogEntry) bool) []int64 {
	out := []int64{}
	for i := len(es) - 1; i >= 0; i-- {
		if match(es[i]) {
			out = append(out, es[i].ID)
		}
	}
	return out
}

func testProvisionLog(f *provFixture) {
	j := f.job(f.OrgA, "entra")
	k := f.job(f.OrgA, "other")
	es := f.logEntries(j.ID, 40)
	f.logEntries(k.ID, 5)
	for i, e := range es {
		if e.ID == 0 || i > 0 && e.ID <= es[i-1].ID {
			f.t.Fatalf("AppendLog ids not increasing: %v", logIDs(es))
		}
	}
	all := f.query(provision.LogQuery{JobID: j.ID})
	if want := newestFirst(es, func(*provision.LogEntry) bool { return true }); !slices.Equal(logIDs(all), want) {
		f.t.Errorf("QueryLog = %v, want %v", logIDs(all), want)
	}
	if len(all) > 0 {
		got, want := all[len(all)-2], es[1]
		wantCopy := *want
		wantCopy.Modified = nil
		if !reflect.DeepEqual(got, &wantCopy) {
			f.t.Errorf("entry 1 = %+v, want %+v", got, wantCopy)
		}
		if got := all[len(all)-1]; got.Modified["active"] != true || got.Modified["displayName"] != "User 0" || got.Error != "failure 0" || got.Status != provision.Failure {
			f.t.Errorf("entry 0 = %+v", got)
		}
	}
	for _, c := range []struct {
		q     provision.LogQuery
		match func(*provision.LogEntry) bool
	}{
		{provision.LogQuery{Cycle: "c2"}, func(e *provision.LogEntry) bool { return e.Cycle == "c2" }},
		{provision.LogQuery{SourceID: "s3"}, func(e *provision.LogEntry) bool { return e.SourceID == "s3" }},
		{provision.LogQuery{SourceID: "t4"}, func(e *provision.LogEntry) bool { return e.TargetID == "t4" }},
		{provision.LogQuery{Failed: true}, func(e *provision.LogEntry) bool { return e.Status == provision.Failure }},
		{provision.LogQuery{Failed: true, Cycle: "c1", SourceID: "s3"}, func(e *provision.LogEntry) bool {
			return e.Status == provision.Failure && e.Cycle == "c1" && e.SourceID == "s3"
		}},
		{provision.LogQuery{Cycle: "c9"}, func(e *provision.LogEntry) bool { return false }},
	} {
		c.q.JobID = j.ID
		want := newestFirst(es, c.match)
		if got := f.query(c.q); !slices.Equal(logIDs(got), want) {
			f.t.Errorf("QueryLog(%+v) = %v, want %v", c.q, logIDs(got), want)
		}
	}
	// Of the other job only its own.
	if got := f.query(provision.LogQuery{JobID: k.ID}); len(got) != 5 || got[0].JobID != k.ID {
		f.t.Errorf("the other job's log: %d entries", len(got))
	}
	for _, q := range []provision.LogQuery{{}, {JobID: j.ID, Limit: -1}, {JobID: j.ID, Before: -1}} {
		if _, err := f.State.QueryLog(f.ctx, q); roster.ErrorCode(err) != roster.EINVALID {
			f.t.Errorf("QueryLog(%+v): %v, want %s", q, err, roster.EINVALID)
		}
	}
	// A zero Time is set to now; entries without a job are refused.
	e := &provision.LogEntry{JobID: j.ID, Kind: provision.Group, SourceID: "g", Action: provision.Create, Status: provision.Success}
	before := time.Now().Add(-time.Minute)
	f.must(f.State.AppendLog(f.ctx, []*provision.LogEntry{e}), "AppendLog")
	if got := f.query(provision.LogQuery{JobID: j.ID, Limit: 1}); len(got) != 1 || got[0].ID != e.ID || got[0].Time.Before(before) || got[0].Steps == nil {
		f.t.Errorf("entry without time: %+v", got)
	}
	if err := f.State.AppendLog(f.ctx, []*provision.LogEntry{{SourceID: "x"}}); err == nil {
		f.t.Error("AppendLog of an entry without a job succeeded")
	}
	f.must(f.State.AppendLog(f.ctx, nil), "AppendLog of nothing")
}

func testProvisionLogPaging(f *provFixture) {
	j := f.job(f.OrgA, "entra")
	es := f.logEntries(j.ID, 1100)
	if got := f.query(provision.LogQuery{JobID: j.ID}); len(got) != 100 || got[0].ID != es[1099].ID {
		f.t.Errorf("default limit: %d entries", len(got))
	}
	if got := f.query(provision.LogQuery{JobID: j.ID, Limit: 5000}); len(got) != 1000 {
		f.t.Errorf("limit 5000: %d entries, want the cap of 1000", len(got))
	}
	// Page through the failures, 7 at a time.
	var paged []int64
	before := int64(0)
	for {
		page := f.query(provision.LogQuery{JobID: j.ID, Failed: true, Limit: 7, Before: before})
		paged = append(paged, logIDs(page)...)
		if len(page) < 7 {
			break
		}
		before = page[len(page)-1].ID
	}
	if want := newestFirst(es, func(e *provision.LogEntry) bool { return e.Status == provision.Failure }); !slices.Equal(paged, want) {
		f.t.Errorf("paged failures: %d entries, want %d", len(paged), len(want))
	}
	// Before alone.
	if got := f.query(provision.LogQuery{JobID: j.ID, Before: es[10].ID, Limit: 3}); !slices.Equal(logIDs(got), []int64{es[9].ID, es[8].ID, es[7].ID}) {
		f.t.Errorf("before entry 10: %v", logIDs(got))
	}
}

func testProvisionDeleteJob(f *provFixture) {
	j := f.job(f.OrgA, "entra")
	k := f.job(f.OrgA, "other")
	for _, job := range []string{j.ID, k.ID} {
		f.must(f.State.PutJobState(f.ctx, job, provision.JobState{Watermark: "w", Cycle: "c1"}), "PutJobState")
		f.must(f.State.PutLinks(f.ctx, job, []*provision.Link{link(provision.User, "u1", "c1"), link(provision.Group, "g1", "c1")}), "PutLinks")
		f.must(f.State.ChangeMembers(f.ctx, job, "g1", []string{"u1"}, nil), "ChangeMembers")
		ok, err := f.State.AcquireLease(f.ctx, job, "r1", time.Hour)
		f.must(err, "AcquireLease")
		if !ok {
			f.t.Fatal("AcquireLease failed")
		}
		f.logEntries(job, 3)
	}
	f.must(f.State.DeleteJob(f.ctx, f.OrgA, j.ID), "DeleteJob")

	if st, err := f.State.JobState(f.ctx, j.ID); err != nil || st.Watermark != "" {
		f.t.Errorf("state of a deleted job: %+v, %v", st, err)
	}
	if got := f.links(j.ID, provision.User, "u1"); len(got) != 0 {
		f.t.Error("links of a deleted job remain")
	}
	if got := f.members(j.ID, "g1"); len(got) != 0 {
		f.t.Error("members of a deleted job remain")
	}
	if got := f.query(provision.LogQuery{JobID: j.ID}); len(got) != 0 {
		f.t.Error("log of a deleted job remains")
	}
	if c, err := f.State.CountLinks(f.ctx, j.ID); err != nil || len(c) != 0 {
		f.t.Errorf("CountLinks of a deleted job: %v, %v", c, err)
	}
	// A job created again under the same id starts with a free lease.
	again := &provision.JobRecord{ID: j.ID, OrgID: f.OrgA, Name: "entra", Definition: []byte(`{}`)}
	f.must(f.State.CreateJob(f.ctx, again), "CreateJob again")
	if ok, err := f.State.AcquireLease(f.ctx, j.ID, "r2", time.Hour); err != nil || !ok {
		f.t.Errorf("the lease of a deleted job remains: %v, %v", ok, err)
	}

	// The other job is untouched.
	if st, err := f.State.JobState(f.ctx, k.ID); err != nil || st.Watermark != "w" {
		f.t.Errorf("other job's state: %+v, %v", st, err)
	}
	if got := f.links(k.ID, provision.User, "u1"); len(got) != 1 {
		f.t.Error("other job's links are gone")
	}
	if got := f.members(k.ID, "g1"); len(got) != 1 {
		f.t.Error("other job's members are gone")
	}
	if got := f.query(provision.LogQuery{JobID: k.ID}); len(got) != 3 {
		f.t.Error("other job's log is gone")
	}
	if ok, err := f.State.AcquireLease(f.ctx, k.ID, "r2", time.Hour); err != nil || ok {
		f.t.Errorf("other job's lease: %v, %v; want held by r1", ok, err)
	}
}

// testProvisionPruneLog prunes every job's entries older than a time, in
// more than one chunk, and nothing newer.
func testProvisionPruneLog(f *provFixture) {
	j := f.job(f.OrgA, "entra")
	k := f.job(f.OrgB, "okta")
	es := f.logEntries(j.ID, 2500) // one a second from t0
	f.logEntries(k.ID, 10)
	cut := es[2100].Time
	n, err := f.State.PruneLog(f.ctx, cut)
	f.must(err, "PruneLog")
	if n != 2100+10 {
		f.t.Errorf("PruneLog deleted %d entries, want %d", n, 2110)
	}
	left := f.query(provision.LogQuery{JobID: j.ID, Limit: 1000})
	if len(left) != 400 || left[len(left)-1].ID != es[2100].ID {
		f.t.Errorf("%d entries left, oldest %d; want 400 from %d", len(left), left[len(left)-1].ID, es[2100].ID)
	}
	if got := f.query(provision.LogQuery{JobID: k.ID}); len(got) != 0 {
		f.t.Errorf("the other job kept %d old entries", len(got))
	}
}
