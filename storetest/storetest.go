// Package storetest is the conformance suite of Roster's stores. Every
// implementation of scim.Store and roster.AdminStore (SQLite always,
// PostgreSQL in CI) runs the same Run from its own tests, so that the HTTP
// layer can rely on one behaviour: the error codes the interfaces document,
// atomic updates, index-backed filters with SCIM semantics, and directories
// that never see each other's resources.
package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roster-scim/roster"
	"github.com/roster-scim/roster/scim"
)

// Tenant is an organization with one directory and one API key that the
// directory accepts. It embeds the Bootstrap that creates it, so an
// implementation may store it with AdminStore.Bootstrap or, for a second
// organization, however its test likes.
type Tenant struct {
	roster.Bootstrap
	// Secret is the key's secret; only its hash is in Bootstrap.Key.
	Secret string
}

// NewTenant returns a tenant with fresh ids and a new secret, not yet
// stored. The key may write Users and Groups.
func NewTenant(name string) Tenant {
	secret, hash := roster.NewSecret()
	return Tenant{Secret: secret, Bootstrap: roster.Bootstrap{
		Org: roster.Organization{ID: roster.NewID(), Name: name},
		Dir: roster.Directory{ID: roster.NewID(), Name: name + " directory"},
		Key: roster.APIKey{ID: roster.NewID(), Name: name + " key", SecretHash: hash, Users: roster.PrivWrite, Groups: roster.PrivWrite},
	}}
}

// Stores is what an implementation's open function returns for one test: a
// new, empty store holding two tenants and nothing else.
type Stores struct {
	Store scim.Store
	Admin roster.AdminStore
	// A was created with Admin.Bootstrap. B belongs to another
	// organization; AdminStore cannot create it (Bootstrap refuses a
	// second organization), so the implementation's test inserts it.
	A, B Tenant
	// SetNow replaces the store's clock. The suite uses it to check that
	// lastModified keeps increasing when the clock stalls or steps back,
	// and to run meta.lastModified filters on known times. Tests that need
	// it are skipped when it is nil.
	SetNow func(now func() time.Time)
	// SetKey revokes a key or changes its expiry, as an administrator
	// would; AdminStore has no method for it yet. Tests that need it are
	// skipped when it is nil.
	SetKey func(keyID string, revoked bool, expires *time.Time) error
	// Requests is the request log; its tests are skipped when it is nil.
	Requests roster.RequestLogStore
}

// Run runs the conformance suite. open is called once per subtest and must
// return a fresh store; subtests run in parallel.
func Run(t *testing.T, open func(t *testing.T) Stores) {
	tests := []struct {
		name string
		fn   func(f *fixture)
	}{
		{"CreateGet", testCreateGet},
		{"Update", testUpdate},
		{"LastModifiedMonotonic", testLastModifiedMonotonic},
		{"UpdateAborted", testUpdateAborted},
		{"NoopUpdate", testNoopUpdate},
		{"Delete", testDelete},
		{"NotFound", testNotFound},
		{"IfMatch", testIfMatch},
		{"UserNameUnique", testUserNameUnique},
		{"GroupNameUnique", testGroupNameUnique},
		{"Members", testMembers},
		{"MemberVersions", testMemberVersions},
		{"UnknownMember", testUnknownMember},
		{"NestedGroups", testNestedGroups},
		{"DeleteRemovesMemberships", testDeleteRemovesMemberships},
		{"UserFilters", testUserFilters},
		{"GroupFilters", testGroupFilters},
		{"UnicodeCase", testUnicodeCase},
		{"TimeFilters", testTimeFilters},
		{"InvalidFilter", testInvalidFilter},
		{"Sort", testSort},
		{"Paging", testPaging},
		{"ListMembers", testListMembers},
		{"Isolation", testIsolation},
		{"Admin", testAdmin},
		{"Authenticate", testAuthenticate},
	}
	tests = append(tests, adminTests...)
	tests = append(tests, listPageTests...)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(&fixture{t: t, Stores: open(t), ctx: context.Background(), reg: scim.NewRegistry()})
		})
	}
	for _, tc := range requestLogTests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := open(t)
			if s.Requests == nil {
				t.Skip("the store keeps no request log (Stores.Requests is nil)")
			}
			tc.fn(t, newLogFixture(t, s))
		})
	}
}

// fixture is one subtest's store with helpers that fail the test on
// unexpected errors, so that the tests read as scenarios.
type fixture struct {
	t *testing.T
	Stores
	ctx context.Context
	reg *scim.Registry
}

func (f *fixture) rt(typ string) *scim.ResourceType { return f.reg.ResourceType(typ) }

// doc turns a JSON body into canonical attributes and member ids the way
// the HTTP layer does, so the suite stores what real requests store.
func (f *fixture) doc(typ, body string) (map[string]any, []string) {
	f.t.Helper()
	var m map[string]any
	dec := json.NewDecoder(strings.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		f.t.Fatalf("bad test document %s: %v", body, err)
	}
	attrs, members, err := scim.Normalize(f.rt(typ), m)
	if err != nil {
		f.t.Fatalf("Normalize %s: %v", body, err)
	}
	return attrs, members
}

// jsonDoc encodes v as a JSON body for doc.
func jsonDoc(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func (f *fixture) tryCreate(dir, typ, body string) (*scim.Resource, error) {
	attrs, members := f.doc(typ, body)
	return f.Store.Create(f.ctx, dir, &scim.Resource{Type: typ, Attrs: attrs}, members)
}

func (f *fixture) create(dir, typ, body string) *scim.Resource {
	f.t.Helper()
	r, err := f.tryCreate(dir, typ, body)
	if err != nil {
		f.t.Fatalf("Create %s %s: %v", typ, body, err)
	}
	return r
}

// user creates a user with only a userName.
func (f *fixture) user(dir, userName string) *scim.Resource {
	f.t.Helper()
	return f.create(dir, scim.UserType, jsonDoc(map[string]any{"userName": userName}))
}

// groupDoc is the body of a group with the given members.
func groupDoc(name string, members ...string) string {
	ms := []any{}
	for _, id := range members {
		ms = append(ms, map[string]any{"value": id})
	}
	return jsonDoc(map[string]any{"displayName": name, "members": ms})
}

func (f *fixture) group(dir, name string, members ...string) *scim.Resource {
	f.t.Helper()
	return f.create(dir, scim.GroupType, groupDoc(name, members...))
}

// get reads a resource with its members.
func (f *fixture) get(dir, typ, id string) *scim.Resource {
	f.t.Helper()
	r, err := f.Store.Get(f.ctx, dir, typ, id, true)
	if err != nil {
		f.t.Fatalf("Get %s %s: %v", typ, id, err)
	}
	return r
}

// patch applies PATCH operations the way the HTTP layer does.
func (f *fixture) patch(dir, typ, id string, ifMatch int64, ops ...scim.PatchOp) (*scim.Resource, error) {
	return f.Store.Update(f.ctx, dir, typ, id, ifMatch, true, func(cur *scim.Resource) (map[string]any, []scim.MemberOp, error) {
		return scim.ApplyPatch(f.rt(typ), cur.Attrs, ops)
	})
}

func (f *fixture) mustPatch(dir, typ, id string, ops ...scim.PatchOp) *scim.Resource {
	f.t.Helper()
	r, err := f.patch(dir, typ, id, 0, ops...)
	if err != nil {
		f.t.Fatalf("PATCH %s %s %v: %v", typ, id, ops, err)
	}
	return r
}

// replace is a PATCH replace operation.
func replace(path string, value any) scim.PatchOp {
	return scim.PatchOp{Op: "replace", Path: path, Value: value}
}

// changeMembers applies membership operations to a group, keeping its
// attributes.
func (f *fixture) changeMembers(dir, groupID string, ops ...scim.MemberOp) (*scim.Resource, error) {
	return f.Store.Update(f.ctx, dir, scim.GroupType, groupID, 0, true, func(cur *scim.Resource) (map[string]any, []scim.MemberOp, error) {
		return cur.Attrs, ops, nil
	})
}

func (f *fixture) mustChangeMembers(dir, groupID string, ops ...scim.MemberOp) *scim.Resource {
	f.t.Helper()
	r, err := f.changeMembers(dir, groupID, ops...)
	if err != nil {
		f.t.Fatalf("change members of %s %v: %v", groupID, ops, err)
	}
	return r
}

func addMembers(ids ...string) scim.MemberOp    { return scim.MemberOp{Op: "add", IDs: ids} }
func removeMembers(ids ...string) scim.MemberOp { return scim.MemberOp{Op: "remove", IDs: ids} }
func clearMembers() scim.MemberOp               { return scim.MemberOp{Op: "clear"} }

// query parses and resolves a filter as the HTTP layer does; "" is no
// filter. Count is large enough for every test's directory.
func (f *fixture) query(typ, filter string) scim.ListQuery {
	f.t.Helper()
	q := scim.ListQuery{StartIndex: 1, Count: 1000}
	if filter == "" {
		return q
	}
	e, err := scim.ParseFilter(filter)
	if err != nil {
		f.t.Fatalf("ParseFilter %s: %v", filter, err)
	}
	if q.Filter, err = f.rt(typ).ResolveFilter(e); err != nil {
		f.t.Fatalf("ResolveFilter %s: %v", filter, err)
	}
	return q
}

// sortBy resolves a sortBy parameter as the HTTP layer does.
func (f *fixture) sortBy(typ, attr string) *scim.Target {
	f.t.Helper()
	pp, err := scim.ParsePatchPath(attr)
	if err != nil {
		f.t.Fatalf("sortBy %s: %v", attr, err)
	}
	t, ok := f.rt(typ).Lookup(pp.Path)
	if !ok {
		f.t.Fatalf("sortBy %s names no attribute", attr)
	}
	return &t
}

func (f *fixture) list(dir, typ string, q scim.ListQuery) *scim.ListResult {
	f.t.Helper()
	res, err := f.Store.List(f.ctx, dir, typ, q)
	if err != nil {
		f.t.Fatalf("List %s %+v: %v", typ, q, err)
	}
	if res.Resources == nil {
		f.t.Fatalf("List %s %+v: Resources is nil; an empty page must be an empty slice", typ, q)
	}
	if q.Count > 0 && len(res.Resources) > q.Count {
		f.t.Fatalf("List %s %+v: %d resources on a page of %d", typ, q, len(res.Resources), q.Count)
	}
	return res
}

// find returns the ids of every match of a filter, in the default order,
// and checks that Total agrees.
func (f *fixture) find(dir, typ, filter string) []string {
	f.t.Helper()
	res := f.list(dir, typ, f.query(typ, filter))
	if res.Total != len(res.Resources) {
		f.t.Errorf("filter %s: Total %d, but %d resources", filter, res.Total, len(res.Resources))
	}
	return ids(res.Resources)
}

func ids(rs []*scim.Resource) []string {
	out := []string{}
	for _, r := range rs {
		out = append(out, r.ID)
	}
	return out
}

// memberIDs returns the ids of members, sorted, since member order is not
// part of the contract.
func memberIDs(ms []scim.Member) []string {
	out := []string{}
	for _, m := range ms {
		out = append(out, m.Value)
	}
	slices.Sort(out)
	return out
}

// sorted returns a sorted copy of ids.
func sorted(ids ...string) []string {
	out := append([]string{}, ids...)
	slices.Sort(out)
	return out
}

// wantError fails unless err is an application error with the code and,
// when scimType is not "", that SCIM error type.
func wantError(t *testing.T, what string, err error, code, scimType string) {
	t.Helper()
	if got := roster.ErrorCode(err); got != code {
		t.Errorf("%s: error code %q (%v), want %q", what, got, err, code)
		return
	}
	if got := roster.ErrorSCIMType(err); scimType != "" && got != scimType {
		t.Errorf("%s: scimType %q (%v), want %q", what, got, err, scimType)
	}
}

// wantNotFound checks both halves of "never (nil, nil)": the resource is nil
// and the error says not found.
func wantNotFound(t *testing.T, what string, r *scim.Resource, err error) {
	t.Helper()
	if r != nil {
		t.Errorf("%s: returned a resource (%s) with error %v", what, r.ID, err)
	}
	wantError(t, what, err, roster.ENOTFOUND, "")
}

// wantUnchanged fails when a resource differs from its earlier state in
// version, lastModified, attributes or members: the check behind "nothing
// was written".
func (f *fixture) wantUnchanged(what, dir string, before *scim.Resource) {
	f.t.Helper()
	after := f.get(dir, before.Type, before.ID)
	if after.Version != before.Version || !after.LastModified.Equal(before.LastModified) {
		f.t.Errorf("%s: version/lastModified changed from %d/%v to %d/%v", what, before.Version, before.LastModified, after.Version, after.LastModified)
	}
	if !equalJSON(after.Attrs, before.Attrs) {
		f.t.Errorf("%s: attributes changed from %s to %s", what, jsonDoc(before.Attrs), jsonDoc(after.Attrs))
	}
	if before.Members != nil && !slices.Equal(memberIDs(after.Members), memberIDs(before.Members)) {
		f.t.Errorf("%s: members changed from %v to %v", what, memberIDs(before.Members), memberIDs(after.Members))
	}
}

// equalJSON compares documents by their JSON form, which is what clients
// see, so that number representations do not matter.
func equalJSON(a, b any) bool { return jsonDoc(a) == jsonDoc(b) }

// errAbort is returned by UpdateFuncs that refuse a change.
var errAbort = errors.New("storetest: update refused")

// clock is a settable time source for the store under test.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// clock installs a fake clock set to start, or skips the test when the
// store's clock cannot be replaced.
func (f *fixture) clock(start time.Time) *clock {
	f.t.Helper()
	if f.SetNow == nil {
		f.t.Skip("the store's clock cannot be set (Stores.SetNow is nil)")
	}
	c := &clock{now: start}
	f.SetNow(c.Now)
	return c
}

// day returns midnight UTC of a date in 2024, for readable test times.
func day(month time.Month, d int) time.Time { return time.Date(2024, month, d, 0, 0, 0, 0, time.UTC) }
