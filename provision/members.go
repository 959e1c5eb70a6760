package provision

import (
	"context"
	"fmt"
	"sync"

	"github.com/roster-scim/roster/provision/scimclient"
)

// members brings the membership of every group that changed, or has a
// member that changed, up to date: after users and groups exist in the
// target, as Entra orders it. Members are added and removed in PATCHes of
// up to memberBatch members each; members not provisioned (out of scope,
// failed, disabled) are left out.
func (r *run) members(ctx context.Context) error {
	if !r.job.GroupsEnabled() {
		return nil
	}
	var todo []Object
	for _, g := range r.groupObjs {
		if l := r.memberCheck[g.ID]; l != nil && l.TargetID != "" && l.State == Active {
			todo = append(todo, g)
		}
	}
	// Groups a batch at a time: their links and log entries are stored in
	// one transaction each per batch, not per group.
	for i := 0; i < len(todo); i += batchSize {
		if err := r.memberBatch(ctx, todo[i:min(i+batchSize, len(todo))]); err != nil {
			return err
		}
	}
	return nil
}

func (r *run) memberBatch(ctx context.Context, groups []Object) error {
	var wg sync.WaitGroup
	var mu sync.Mutex
	var put []*Link
	var entries []*LogEntry
	var first error
	sem := make(chan struct{}, r.job.concurrency())
	for _, g := range groups {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			l, e, err := r.groupMembers(ctx, g, r.memberCheck[g.ID])
			mu.Lock()
			defer mu.Unlock()
			if err != nil && first == nil {
				first = err
			}
			if l != nil {
				put = append(put, l)
			}
			if e != nil {
				entries = append(entries, e)
			}
		}()
	}
	wg.Wait()
	if first != nil || r.c.DryRun {
		return first
	}
	if err := r.Store.PutLinks(ctx, r.jobID, put); err != nil {
		return err
	}
	return r.Store.AppendLog(ctx, entries)
}

// targetIDs returns the target ids of the given source objects, users or
// groups (nested groups are members too); with activeOnly, only of those
// provisioned and active. A member removed because it was disabled still
// has a target id to remove.
func (r *run) targetIDs(ctx context.Context, ids []string, activeOnly bool) (map[string]string, error) {
	out := map[string]string{}
	for i := 0; i < len(ids); i += batchSize {
		chunk := ids[i:min(i+batchSize, len(ids))]
		for _, kind := range []Kind{User, Group} {
			links, err := r.Store.Links(ctx, r.jobID, kind, chunk)
			if err != nil {
				return nil, err
			}
			for id, l := range links {
				if l.TargetID != "" && (!activeOnly || l.State == Active) {
					out[id] = l.TargetID
				}
			}
		}
	}
	return out, nil
}

// groupMembers brings one group's members up to date and returns its link
// and log entry to store.
func (r *run) groupMembers(ctx context.Context, g Object, gl *Link) (*Link, *LogEntry, error) {
	desired, err := r.targetIDs(ctx, g.Members, true)
	if err != nil {
		return nil, nil, err
	}
	exported := map[string]bool{}
	if err := r.Store.ExportedMembers(ctx, r.jobID, g.ID, func(m string) error { exported[m] = true; return nil }); err != nil {
		return nil, nil, err
	}
	var add, remove []string
	for id := range desired {
		if !exported[id] {
			add = append(add, id)
		}
	}
	var gone []string
	for id := range exported {
		if _, ok := desired[id]; !ok {
			gone = append(gone, id)
		}
	}
	// Members that left: their target ids, where they still have one.
	goneTargets, err := r.targetIDs(ctx, gone, false)
	if err != nil {
		return nil, nil, err
	}
	remove = gone
	if len(add) == 0 && len(remove) == 0 {
		return gl, nil, nil
	}
	if r.c.DryRun {
		r.mu.Lock()
		if len(r.sum.Samples[Update]) < samplesMax {
			r.sum.Samples[Update] = append(r.sum.Samples[Update], Sample{Kind: Group, SourceID: g.ID, TargetID: gl.TargetID,
				Values: map[string]any{"members added": len(add), "members removed": len(remove)}})
		}
		r.mu.Unlock()
		return nil, nil, nil
	}
	entry := &LogEntry{JobID: r.jobID, Cycle: r.cycle, Time: r.now(), Kind: Group, SourceID: g.ID, TargetID: gl.TargetID, Action: Update, Status: Success}
	added, removed := 0, 0
	var failure error
	for i := 0; i < len(add) && failure == nil; i += memberBatch {
		chunk := add[i:min(i+memberBatch, len(add))]
		values := make([]any, len(chunk))
		for j, id := range chunk {
			values[j] = map[string]any{"value": desired[id]}
		}
		failure = r.c.Target.Patch(ctx, "Groups", gl.TargetID, []scimclient.PatchOp{{Op: "add", Path: "members", Value: values}})
		if failure == nil {
			if failure = r.Store.ChangeMembers(ctx, r.jobID, g.ID, chunk, nil); failure == nil {
				added += len(chunk)
			}
		}
	}
	for i := 0; i < len(remove) && failure == nil; i += memberBatch {
		chunk := remove[i:min(i+memberBatch, len(remove))]
		var ops []scimclient.PatchOp
		for _, id := range chunk {
			if tid := goneTargets[id]; tid != "" {
				ops = append(ops, scimclient.PatchOp{Op: "remove", Path: fmt.Sprintf("members[value eq %s]", quote(tid))})
			}
		}
		if len(ops) > 0 {
			failure = r.c.Target.Patch(ctx, "Groups", gl.TargetID, ops)
		}
		if failure == nil {
			if failure = r.Store.ChangeMembers(ctx, r.jobID, g.ID, nil, chunk); failure == nil {
				removed += len(chunk)
			}
		}
	}
	entry.Modified = map[string]any{"members added": added, "members removed": removed}
	entry.Steps = []Step{{Name: "action", Status: Success, Detail: fmt.Sprintf("members: %d added, %d removed", added, removed)}}
	if failure != nil {
		if ctx.Err() != nil {
			return nil, nil, ctx.Err()
		}
		entry.Status, entry.Error = Failure, failure.Error()
		entry.Steps = append(entry.Steps, Step{Name: "action", Status: Failure, Detail: "changing members: " + failure.Error()})
		cp := *gl
		cp.SourceHash, cp.Failures, cp.Error = "", cp.Failures+1, failure.Error()
		r.count(Update, Failure)
		return &cp, entry, nil
	}
	r.count(Update, Success)
	return gl, entry, nil
}

// deactivated records a user disabled in the target in this cycle.
func (r *run) deactivated(sourceID, targetID string) {
	if r.c.DryRun {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.gone == nil {
		r.gone = map[string]string{}
	}
	r.gone[sourceID] = targetID
}

// leaveGroups takes the users disabled in this cycle out of the groups
// that still list them in the target but that the member phase did not look
// at: with an incremental source, a user's disabling does not make the
// source return its groups. The exported memberships tell which groups.
func (r *run) leaveGroups(ctx context.Context) error {
	if !r.job.GroupsEnabled() || len(r.gone) == 0 {
		return nil
	}
	var entries []*LogEntry
	for sid, tid := range r.gone {
		groups, err := r.Store.MemberOf(ctx, r.jobID, sid)
		if err != nil {
			return err
		}
		var todo []string
		for _, g := range groups {
			if r.memberCheck[g] == nil { // the member phase handled the others
				todo = append(todo, g)
			}
		}
		if len(todo) == 0 {
			continue
		}
		links, err := r.Store.Links(ctx, r.jobID, Group, todo)
		if err != nil {
			return err
		}
		for _, g := range todo {
			l := links[g]
			e := &LogEntry{JobID: r.jobID, Cycle: r.cycle, Time: r.now(), Kind: Group, SourceID: g, Action: Update, Status: Success,
				Modified: map[string]any{"members removed": 1}}
			if l != nil && l.TargetID != "" {
				e.TargetID = l.TargetID
				op := scimclient.PatchOp{Op: "remove", Path: fmt.Sprintf("members[value eq %s]", quote(tid))}
				if err := r.c.Target.Patch(ctx, "Groups", l.TargetID, []scimclient.PatchOp{op}); err != nil {
					if ctx.Err() != nil {
						return ctx.Err()
					}
					e.Status, e.Error, e.Modified = Failure, err.Error(), nil
					e.Steps = []Step{{Name: "action", Status: Failure, Detail: "removing disabled member " + sid + ": " + err.Error()}}
					r.count(Update, Failure)
					entries = append(entries, e)
					continue // the membership stays recorded; the group's next change removes it
				}
			}
			if err := r.Store.ChangeMembers(ctx, r.jobID, g, nil, []string{sid}); err != nil {
				return err
			}
			e.Steps = []Step{{Name: "action", Status: Success, Detail: "removed disabled member " + sid}}
			r.count(Update, Success)
			entries = append(entries, e)
		}
	}
	return r.Store.AppendLog(ctx, entries)
}
