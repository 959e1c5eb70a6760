package main

import (
	"context"
	"sort"
	"sync"
	"time"

	"github.com/roster-scim/roster/provision"
	"github.com/roster-scim/roster/provision/scimclient"
)

// timings adds up, per call, how long the engine waited on its state
// store and on the target. Calls overlap (the engine has several workers),
// so a total can exceed the cycle's wall time: it is time spent waiting,
// summed over the workers.
type timings struct {
	mu sync.Mutex
	m  map[string]*timing
}

type timing struct {
	Calls int
	Total time.Duration
}

func (t *timings) add(name string, start time.Time) {
	d := time.Since(start)
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.m == nil {
		t.m = map[string]*timing{}
	}
	x := t.m[name]
	if x == nil {
		x = &timing{}
		t.m[name] = x
	}
	x.Calls++
	x.Total += d
}

// snapshot returns a copy of the timings by name.
func (t *timings) snapshot() map[string]timing {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := map[string]timing{}
	for k, v := range t.m {
		out[k] = *v
	}
	return out
}

func sortedByTotal(m map[string]timing) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return m[keys[i]].Total > m[keys[j]].Total })
	return keys
}

// timedStore times the StateStore calls a cycle makes.
type timedStore struct {
	provision.StateStore
	t *timings
}

func (s timedStore) Links(ctx context.Context, jobID string, kind provision.Kind, ids []string) (map[string]*provision.Link, error) {
	defer s.t.add("store Links", time.Now())
	return s.StateStore.Links(ctx, jobID, kind, ids)
}

func (s timedStore) PutLinks(ctx context.Context, jobID string, links []*provision.Link) error {
	defer s.t.add("store PutLinks", time.Now())
	return s.StateStore.PutLinks(ctx, jobID, links)
}

func (s timedStore) AppendLog(ctx context.Context, entries []*provision.LogEntry) error {
	defer s.t.add("store AppendLog", time.Now())
	return s.StateStore.AppendLog(ctx, entries)
}

func (s timedStore) ExportedMembers(ctx context.Context, jobID, g string, fn func(string) error) error {
	defer s.t.add("store ExportedMembers", time.Now())
	return s.StateStore.ExportedMembers(ctx, jobID, g, fn)
}

func (s timedStore) ChangeMembers(ctx context.Context, jobID, g string, add, remove []string) error {
	defer s.t.add("store ChangeMembers", time.Now())
	return s.StateStore.ChangeMembers(ctx, jobID, g, add, remove)
}

func (s timedStore) UnseenLinks(ctx context.Context, jobID string, kind provision.Kind, cycle string, fn func(*provision.Link) error) error {
	defer s.t.add("store UnseenLinks", time.Now())
	return s.StateStore.UnseenLinks(ctx, jobID, kind, cycle, fn)
}

// timedTarget times the requests the engine sends the target.
type timedTarget struct {
	c *scimclient.Client
	t *timings
}

func (tt timedTarget) Find(ctx context.Context, rt, filter string, excluded ...string) ([]scimclient.Resource, error) {
	defer tt.t.add("target Find "+rt, time.Now())
	return tt.c.Find(ctx, rt, filter, excluded...)
}

func (tt timedTarget) Create(ctx context.Context, rt string, doc map[string]any, lookup func(context.Context) (scimclient.Resource, error)) (scimclient.Resource, error) {
	defer tt.t.add("target Create "+rt, time.Now())
	return tt.c.Create(ctx, rt, doc, lookup)
}

func (tt timedTarget) Patch(ctx context.Context, rt, id string, ops []scimclient.PatchOp) error {
	defer tt.t.add("target Patch "+rt, time.Now())
	return tt.c.Patch(ctx, rt, id, ops)
}

func (tt timedTarget) Delete(ctx context.Context, rt, id string) error {
	defer tt.t.add("target Delete "+rt, time.Now())
	return tt.c.Delete(ctx, rt, id)
}
