package provision

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/roster-scim/roster/expr"
	"github.com/roster-scim/roster/expr/scope"
	"github.com/roster-scim/roster/provision/scimclient"
)

// Target is the SCIM app as the engine uses it; *scimclient.Client is the
// real one.
type Target interface {
	Find(ctx context.Context, resourceType, filter string, excludedAttributes ...string) ([]scimclient.Resource, error)
	Create(ctx context.Context, resourceType string, doc map[string]any, lookup func(context.Context) (scimclient.Resource, error)) (scimclient.Resource, error)
	Patch(ctx context.Context, resourceType, id string, ops []scimclient.PatchOp) error
	Delete(ctx context.Context, resourceType, id string) error
}

// Engine runs provisioning cycles.
type Engine struct {
	Store StateStore
	// Holder names this process in job leases, so that of several replicas
	// on one database only one runs a job at a time.
	Holder string
	// LeaseTTL is how long a lease lasts without renewal; a replica that
	// dies loses its jobs after it. Default 2 minutes.
	LeaseTTL time.Duration
	Logger   *slog.Logger
	Now      func() time.Time
}

// Cycle is one run of a job.
type Cycle struct {
	Record *JobRecord
	Job    *Job
	Source Source
	Target Target
	// Restart clears the watermark first, once the lease is held: an
	// initial cycle (roster job restart).
	Restart bool
	// DryRun computes what the cycle would do, reading the source and
	// querying the target for matches, and writes nothing anywhere.
	DryRun bool
	// Progress, when set, is called as objects are processed.
	Progress func(Progress)
}

// Progress is a running cycle's state for a progress bar.
type Progress struct {
	Phase  string // "users", "managers", "groups", "deletions"
	Done   int    // objects processed
	Total  int    // estimated objects in all; 0 when unknown
	Counts Counts
}

// Summary is a finished cycle.
type Summary struct {
	Cycle    string        `json:"cycle"`
	Initial  bool          `json:"initial"`
	DryRun   bool          `json:"dry_run"`
	Counts   Counts        `json:"counts"`
	Started  time.Time     `json:"started"`
	Duration time.Duration `json:"duration_ns"`
	// Unchanged counts objects skipped because nothing about them changed
	// since the last cycle: no mapping, no request.
	Unchanged int `json:"unchanged"`
	// Samples are, in a dry run, a few objects per action.
	Samples map[Action][]Sample `json:"samples,omitempty"`
}

// Sample is one planned change of a dry run.
type Sample struct {
	Kind     Kind           `json:"kind"`
	SourceID string         `json:"source_id"`
	TargetID string         `json:"target_id,omitempty"`
	Values   map[string]any `json:"values,omitempty"`
}

// ErrLeaseHeld is returned by Run when another process runs the job.
var ErrLeaseHeld = errors.New("the job is running elsewhere (another replica holds its lease)")

const (
	batchSize   = 256
	memberBatch = 100 // members per PATCH operation
	samplesMax  = 5
)

func (e *Engine) now() time.Time {
	if e.Now != nil {
		return e.Now().UTC()
	}
	return time.Now().UTC()
}

func (e *Engine) logger() *slog.Logger {
	if e.Logger != nil {
		return e.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// Run runs one cycle of a job: an initial cycle when the job has no
// watermark, an incremental one otherwise; a cycle that was interrupted is
// continued under its id. It holds the job's lease for the duration.
func (e *Engine) Run(ctx context.Context, c Cycle) (*Summary, error) {
	ttl := e.LeaseTTL
	if ttl == 0 {
		ttl = 2 * time.Minute
	}
	jobID := c.Record.ID
	if !c.DryRun {
		ok, err := e.Store.AcquireLease(ctx, jobID, e.Holder, ttl)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, ErrLeaseHeld
		}
		var cancel context.CancelCauseFunc
		ctx, cancel = context.WithCancelCause(ctx)
		stop := e.keepLease(ctx, jobID, ttl, func(err error) { cancel(err) })
		defer func() {
			stop()
			cancel(nil)
			// The lease is given up even when ctx is done.
			rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			defer rcancel()
			if err := e.Store.ReleaseLease(rctx, jobID, e.Holder); err != nil {
				e.logger().Warn("provision: releasing the lease", "job", c.Record.Name, "err", err)
			}
		}()
	}
	r, err := e.newRun(ctx, c)
	if err != nil {
		return nil, err
	}
	return r.run(ctx)
}

// keepLease renews the lease at a third of its TTL until stopped; losing
// it calls lost, which cancels the cycle: another replica may take over.
func (e *Engine) keepLease(ctx context.Context, jobID string, ttl time.Duration, lost func(error)) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(ttl / 3)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				ok, err := e.Store.AcquireLease(ctx, jobID, e.Holder, ttl)
				if err == nil && !ok {
					err = ErrLeaseHeld
				}
				if err != nil && ctx.Err() == nil {
					lost(fmt.Errorf("lost the job's lease: %w", err))
					return
				}
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

// run is one cycle in progress.
type run struct {
	*Engine
	c       Cycle
	job     *Job
	jobID   string
	users   mappingSet
	groups  mappingSet
	fp      string // the job's fingerprint, part of every source hash
	state   JobState
	cycle   string
	initial bool
	started time.Time

	mu        sync.Mutex
	sum       Summary
	done      int
	total     int
	assigned  map[string]bool // assigned scope: source IDs of assigned users and groups
	seen      map[Kind]map[string]bool
	changed   map[string]bool // users whose target state changed: their groups' memberships need a look
	managers  []managerRef
	groupObjs []Object
	// gone maps the users disabled in this cycle to their target ids:
	// leaveGroups takes them out of the groups the cycle did not look at.
	gone map[string]string
	// heldUsers are the links of users whose source hash waits for the
	// manager and member phases (see process).
	heldUsers []*Link
	// pending receives the outcome of storing the last batch (processBatch).
	pending chan error
	// batchMgr maps the managers of the batch of users being processed to
	// their target ids, for those already provisioned: their reports get
	// the manager in the same request that creates or updates them.
	batchMgr map[string]string
	// memberCheck holds the links of the groups processed in this cycle,
	// whose memberships the member phase compares with the source.
	memberCheck map[string]*Link
}

type managerRef struct {
	link      *Link
	managerID string
}

func (e *Engine) newRun(ctx context.Context, c Cycle) (*run, error) {
	um, err := c.Job.UserMappings()
	if err != nil {
		return nil, err
	}
	gm, err := c.Job.GroupMappings()
	if err != nil {
		return nil, err
	}
	st, err := e.Store.JobState(ctx, c.Record.ID)
	if err != nil {
		return nil, err
	}
	if c.Restart && !c.DryRun {
		if err := e.Store.ResetWatermark(ctx, c.Record.ID); err != nil {
			return nil, err
		}
		st.Watermark = ""
	}
	r := &run{
		Engine: e, c: c, job: c.Job, jobID: c.Record.ID, users: um, groups: gm,
		fp: c.Job.Fingerprint(), state: st, started: e.now(),
		seen:    map[Kind]map[string]bool{User: {}, Group: {}},
		changed: map[string]bool{}, memberCheck: map[string]*Link{},
	}
	r.initial = st.Watermark == ""
	r.cycle = st.Cycle
	if !st.Running || st.Cycle == "" {
		r.cycle = newCycleID(r.started)
	}
	r.sum = Summary{Cycle: r.cycle, Initial: r.initial, DryRun: c.DryRun, Started: r.started, Samples: map[Action][]Sample{}}
	if counts, err := e.Store.CountLinks(ctx, r.jobID); err == nil {
		for _, byState := range counts {
			for _, n := range byState {
				r.total += n
			}
		}
	}
	return r, nil
}

func newCycleID(t time.Time) string {
	b := make([]byte, 4)
	rand.Read(b)
	return t.Format("20060102T150405Z") + "-" + hex.EncodeToString(b)
}

func (r *run) run(ctx context.Context) (*Summary, error) {
	if !r.c.DryRun {
		r.state.Cycle, r.state.Running, r.state.Started, r.state.Finished = r.cycle, true, r.started, time.Time{}
		if err := r.Store.PutJobState(ctx, r.jobID, r.state); err != nil {
			return nil, err
		}
	}
	if r.job.Scope.Assigned {
		if err := r.loadAssignments(ctx); err != nil {
			return nil, err
		}
	}
	since := r.state.Watermark
	var batch []Object
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := r.processBatch(ctx, User, batch)
		batch = batch[:0]
		r.progress("users")
		return err
	}
	res, err := r.c.Source.Read(ctx, since, func(o Object) error {
		switch o.Kind {
		case User:
			batch = append(batch, o)
			if len(batch) == batchSize {
				return flush()
			}
		case Group:
			if r.job.GroupsEnabled() {
				r.groupObjs = append(r.groupObjs, o)
			}
		default:
			return fmt.Errorf("the source returned an object of unknown kind %q", o.Kind)
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	if ferr := r.flush(); err == nil {
		err = ferr
	}
	if err != nil {
		return nil, fmt.Errorf("reading the source: %w", err)
	}
	r.progress("managers")
	if err := r.resolveManagers(ctx); err != nil {
		return nil, err
	}
	r.progress("groups")
	for i := 0; i < len(r.groupObjs); i += batchSize {
		end := min(i+batchSize, len(r.groupObjs))
		if err := r.processBatch(ctx, Group, r.groupObjs[i:end]); err != nil {
			return nil, err
		}
		r.progress("groups")
	}
	if err := r.flush(); err != nil {
		return nil, err
	}
	r.progress("members")
	if err := r.members(ctx); err != nil {
		return nil, err
	}
	if err := r.releaseUsers(ctx); err != nil {
		return nil, err
	}
	r.progress("deletions")
	if err := r.deletions(ctx, res); err != nil {
		return nil, err
	}
	if err := r.leaveGroups(ctx); err != nil {
		return nil, err
	}
	r.sum.Duration = r.now().Sub(r.started)
	if r.c.DryRun {
		return &r.sum, nil
	}
	st := r.state
	st.Running, st.Finished, st.Counts = false, r.now(), r.sum.Counts
	// An incremental source's watermark is kept back while objects failed,
	// so that it delivers them again in the next cycle (for a failed
	// initial cycle: everything, which costs no request for the objects
	// already done, their hashes match). A snapshot source (a file)
	// delivers everything every cycle anyway.
	_, incremental := r.c.Source.(IDLister)
	if r.sum.Counts.Failed == 0 || (res.Full && !incremental) {
		st.Watermark = res.Watermark
		if st.Watermark == "" {
			st.Watermark = r.cycle // a source without watermarks: still, the initial cycle is done
		}
	}
	if err := r.Store.PutJobState(ctx, r.jobID, st); err != nil {
		return nil, err
	}
	return &r.sum, nil
}

// loadAssignments reads the source once for the assigned groups' members:
// users come before groups in a read, so the second, real read knows who is
// assigned when it reaches a user.
func (r *run) loadAssignments(ctx context.Context) error {
	want := map[string]bool{}
	for _, g := range r.job.Scope.Groups {
		want[g] = true
	}
	r.assigned = map[string]bool{}
	_, err := r.c.Source.Read(ctx, "", func(o Object) error {
		if o.Kind == Group && want[o.ID] {
			r.assigned[o.ID] = true
			for _, m := range o.Members {
				r.assigned[m] = true
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("reading the assigned groups: %w", err)
	}
	return nil
}

func (r *run) progress(phase string) {
	if r.c.Progress == nil {
		return
	}
	r.mu.Lock()
	p := Progress{Phase: phase, Done: r.done, Total: max(r.total, r.done), Counts: r.sum.Counts}
	r.mu.Unlock()
	r.c.Progress(p)
}

// outcome is what processing one object produced.
type outcome struct {
	link   *Link // to store; nil when nothing changes
	entry  *LogEntry
	action Action
	sample *Sample
}

// processBatch handles a batch of objects of one kind: it loads their links
// in one query, processes them with as many workers as the target takes
// requests in flight, then stores the links and log entries in one
// transaction each.
func (r *run) processBatch(ctx context.Context, kind Kind, objs []Object) error {
	ids := make([]string, len(objs))
	for i, o := range objs {
		ids[i] = o.ID
	}
	links, err := r.Store.Links(ctx, r.jobID, kind, ids)
	if err != nil {
		return err
	}
	outs := make([]outcome, len(objs))
	if kind == User {
		if r.batchMgr, err = r.managerTargets(ctx, objs); err != nil {
			return err
		}
	}
	sem := make(chan struct{}, r.job.concurrency())
	var wg sync.WaitGroup
	for i := range objs {
		if err := ctx.Err(); err != nil {
			break
		}
		sem <- struct{}{}
		wg.Add(1)
		go func(i int) {
			defer func() { <-sem; wg.Done() }()
			outs[i] = r.process(ctx, objs[i], links[objs[i].ID])
		}(i)
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return err
	}
	var put []*Link
	var drop []string
	var entries []*LogEntry
	for _, o := range outs {
		switch {
		case o.link != nil && o.link.State == deleted:
			drop = append(drop, o.link.SourceID)
		case o.link != nil:
			put = append(put, o.link)
		}
		if o.entry != nil && o.entry.Action != "" {
			entries = append(entries, o.entry)
		}
	}
	if r.c.DryRun {
		return nil
	}
	// The batch is stored while the next one is processed: the target,
	// not the state store, should set the pace. One batch at a time is in
	// flight, so memory stays bounded and a failure surfaces a batch late.
	if err := r.flush(); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- r.save(ctx, kind, put, drop, entries) }()
	r.pending = done
	return nil
}

// save stores a processed batch's links and log entries.
func (r *run) save(ctx context.Context, kind Kind, put []*Link, drop []string, entries []*LogEntry) error {
	if err := r.Store.PutLinks(ctx, r.jobID, put); err != nil {
		return err
	}
	if err := r.Store.DeleteLinks(ctx, r.jobID, kind, drop); err != nil {
		return err
	}
	if len(entries) > 0 {
		return r.Store.AppendLog(ctx, entries)
	}
	return nil
}

// flush waits for the batch being stored, if any. The phases that read or
// change links of earlier batches (managers, members, deletions) start
// after it.
func (r *run) flush() error {
	if r.pending == nil {
		return nil
	}
	err := <-r.pending
	r.pending = nil
	return err
}

// sourceHash fingerprints what decides an object's fate: the job's
// fingerprint, the attributes, the members and the assignment.
func (r *run) sourceHash(o Object) string {
	members := append([]string(nil), o.Members...)
	sort.Strings(members)
	b := appendString(make([]byte, 0, 512), r.fp)
	b = appendValue(b, o.Attrs)
	b = appendValue(b, members)
	if r.assigned[o.ID] {
		b = append(b, 'A')
	}
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:16])
}

// appendValue writes a JSON-typed value in a form in which different
// values never read the same: a type tag, then lengths before contents,
// and maps in key order. It is what sourceHash hashes, several times
// cheaper than encoding JSON, which the no-change cycle of a large
// directory spends most of its time on otherwise.
func appendValue(b []byte, v any) []byte {
	switch v := v.(type) {
	case nil:
		return append(b, 'n')
	case string:
		return appendString(append(b, 's'), v)
	case json.Number:
		return appendString(append(b, 'd'), string(v))
	case float64:
		return appendString(append(b, 'd'), strconv.FormatFloat(v, 'g', -1, 64))
	case bool:
		if v {
			return append(b, 't')
		}
		return append(b, 'f')
	case []string:
		b = binary.AppendUvarint(append(b, '['), uint64(len(v)))
		for _, e := range v {
			b = appendString(b, e)
		}
		return b
	case []any:
		b = binary.AppendUvarint(append(b, '['), uint64(len(v)))
		for _, e := range v {
			b = appendValue(b, e)
		}
		return b
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b = binary.AppendUvarint(append(b, '{'), uint64(len(v)))
		for _, k := range keys {
			b = appendValue(appendString(b, k), v[k])
		}
		return b
	}
	return appendString(append(b, '?'), fmt.Sprintf("%T %v", v, v))
}

func appendString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

// process decides and does what one source object needs.
func (r *run) process(ctx context.Context, o Object, l *Link) outcome {
	r.mu.Lock()
	r.seen[o.Kind][strings.Clone(o.ID)] = true // not a slice of the source's whole record
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		r.done++
		r.mu.Unlock()
	}()
	hash := r.sourceHash(o)
	if o.Deleted {
		return r.remove(ctx, l, o.Kind, o.ID)
	}
	// An object whose source data, assignment and job settings (all in
	// the hash) are as when it was last done needs nothing: its mapped
	// values would be what was exported. This holds in an initial cycle
	// too (after roster job restart, or continuing a cut one).
	if l != nil && l.SourceHash == hash && l.Failures == 0 && !r.dirtyGroup(o) {
		r.mu.Lock()
		r.sum.Unchanged++
		r.mu.Unlock()
		return outcome{}
	}
	p := &pass{run: r, obj: o, hash: hash, entry: &LogEntry{
		JobID: r.jobID, Cycle: r.cycle, Time: r.now(), Kind: o.Kind, SourceID: o.ID,
		Steps: []Step{{Name: "import", Status: Success, Detail: "read from the source"}},
	}}
	if l != nil {
		cp := *l
		p.link, p.existed = &cp, true
	} else {
		p.link = &Link{Kind: o.Kind, SourceID: o.ID, State: Pending}
	}
	p.link.Cycle = r.cycle
	out := p.do(ctx)
	r.count(out.action, p.entry.Status)
	if o.Kind == Group && out.link != nil && out.link.State == Active && out.link.TargetID != "" && p.entry.Status != Failure {
		// The group's source hash is stored only once its members are in
		// step too, so that a cycle cut short before the member phase
		// looks at the group again.
		r.mu.Lock()
		r.memberCheck[o.ID] = out.link
		r.mu.Unlock()
		held := *out.link
		held.SourceHash = ""
		out.link = &held
	}
	if o.Kind == User && p.hold && out.link != nil && p.entry.Status != Failure && !r.c.DryRun {
		// Likewise a user whose manager is set in the manager phase, or
		// whose change of state its groups must follow in the member
		// phase: its hash is stored after them (releaseUsers), so that a
		// cycle cut short before then looks at it again.
		r.mu.Lock()
		r.heldUsers = append(r.heldUsers, out.link)
		r.mu.Unlock()
		held := *out.link
		held.SourceHash = ""
		out.link = &held
	}
	if out.sample != nil && r.c.DryRun {
		r.mu.Lock()
		if len(r.sum.Samples[out.action]) < samplesMax {
			r.sum.Samples[out.action] = append(r.sum.Samples[out.action], *out.sample)
		}
		r.mu.Unlock()
	}
	return out
}

// dirtyGroup reports whether a group has a member whose target state
// changed in this cycle, so that its membership must be looked at even
// though the group itself did not change.
func (r *run) dirtyGroup(o Object) bool {
	if o.Kind != Group {
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, m := range o.Members {
		if r.changed[m] {
			return true
		}
	}
	return false
}

func (r *run) count(a Action, s Status) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := &r.sum.Counts
	if s == Failure {
		c.Failed++
		return
	}
	switch a {
	case Create:
		c.Created++
	case Update:
		c.Updated++
	case Disable:
		c.Disabled++
	case Delete:
		c.Deleted++
	default:
		c.Skipped++
	}
}

// pass is the processing of one object.
type pass struct {
	*run
	obj   Object
	hash  string
	link  *Link
	entry *LogEntry
	// existed reports that the object was linked before this cycle; hold,
	// that its source hash must wait for a later phase (see process).
	existed, hold bool
}

func (p *pass) step(name string, s Status, format string, a ...any) {
	p.entry.Steps = append(p.entry.Steps, Step{Name: name, Status: s, Detail: fmt.Sprintf(format, a...)})
}

func resourceType(k Kind) string { return string(k) + "s" }

// do runs the scope, match and action steps.
func (p *pass) do(ctx context.Context) outcome {
	in, why := p.inScope()
	if !in {
		p.step("scope", Skipped, "%s", why)
		if p.link.TargetID != "" && p.link.State == Active {
			return p.disable(ctx, why)
		}
		if p.obj.Kind == User && p.link.TargetID != "" && p.link.State == Disabled && !p.c.DryRun {
			// Already disabled, and looked at again (its hash was held: a
			// cut cycle may not have taken it out of its groups yet).
			p.markChanged()
			p.deactivated(p.obj.ID, p.link.TargetID)
		}
		p.link.SourceHash = p.hash
		return p.finish(Skip, Skipped, nil)
	}
	p.step("scope", Success, "in scope")
	ms := p.users
	if p.obj.Kind == Group {
		ms = p.groups
	}
	// The values of an update, and of matching: without the create-only
	// mappings and the defaults, which apply to a create alone (a matched
	// object is not created).
	m, err := p.mapValues(ctx, ms, false)
	if errors.Is(err, errSkipObject) {
		p.step("action", Skipped, "%v", err)
		p.link.SourceHash = p.hash
		return p.finish(Skip, Skipped, nil)
	}
	if err != nil {
		return p.fail("scope", err)
	}
	if p.link.TargetID == "" {
		return p.matchOrCreate(ctx, ms, m)
	}
	return p.update(ctx, m, nil)
}

func (p *pass) mapValues(ctx context.Context, ms mappingSet, create bool) (*mapped, error) {
	return ms.apply(p.obj.Attrs, expr.Env{Now: p.Now}, p.isTaken(ctx), create)
}

// inScope applies the job's scope: assignment, the source's own
// disabling (accountEnabled false, IsSoftDeleted true) and the scoping
// filters.
func (p *pass) inScope() (bool, string) {
	o := p.obj
	if p.assigned != nil && !p.assigned[o.ID] {
		return false, "not assigned: not a member of the job's assigned groups"
	}
	if o.Kind == User {
		if isFalse(o.Attrs["accountEnabled"]) {
			return false, "disabled in the source (accountEnabled is false)"
		}
		if isTrue(o.Attrs["IsSoftDeleted"]) {
			return false, "deleted in the source (IsSoftDeleted is true)"
		}
	}
	set := p.job.Scope.Users
	if o.Kind == Group {
		set = p.job.Scope.GroupFilters
	}
	if set != nil {
		if res := scope.Evaluate(set, o.Attrs); !res.InScope {
			return false, "out of scope: " + scopeReason(res)
		}
	}
	return true, ""
}

func scopeReason(res scope.Result) string {
	var parts []string
	for _, c := range res.Clauses {
		if c.Decisive {
			parts = append(parts, fmt.Sprintf("%s %s %q: %s", c.Attribute, c.Operator, c.Value, c.Reason))
		}
	}
	return strings.Join(parts, "; ")
}

func isFalse(v any) bool {
	switch v := v.(type) {
	case bool:
		return !v
	case string:
		return strings.EqualFold(v, "false")
	}
	return false
}

func isTrue(v any) bool {
	switch v := v.(type) {
	case bool:
		return v
	case string:
		return strings.EqualFold(v, "true")
	}
	return false
}

// isTaken answers SelectUniqueValue's question for the mapping of one
// target attribute: does an object with this value exist in the target?
func (p *pass) isTaken(ctx context.Context) func(target string) func(string) (bool, error) {
	return func(target string) func(string) (bool, error) {
		return func(v string) (bool, error) {
			res, err := p.c.Target.Find(ctx, resourceType(p.obj.Kind), fmt.Sprintf("%s eq %s", target, quote(v)))
			return len(res) > 0, err
		}
	}
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// errNoMatchValue: no matching attribute has a value to query.
var errNoMatchValue = errors.New("no matching attribute has a value")

// matchers returns the matching attributes in precedence order.
func (p *pass) matchers() []Match {
	if p.obj.Kind == Group {
		if len(p.job.Matching.Groups) > 0 {
			return p.job.Matching.Groups
		}
		return DefaultGroupMatching
	}
	if len(p.job.Matching.Users) > 0 {
		return p.job.Matching.Users
	}
	return DefaultUserMatching
}

// find looks the object up in the target by each matching attribute in
// turn; the first that finds one wins. More than one match is an error
// (Entra's DuplicateTargetEntries).
func (p *pass) find(ctx context.Context, m *mapped) (scimclient.Resource, string, error) {
	tried := 0
	for _, mt := range p.matchers() {
		v, ok := m.values[mt.Target]
		s, isString := v.(string)
		if !ok || !isString || s == "" {
			continue
		}
		tried++
		var excluded []string
		if p.obj.Kind == Group {
			excluded = []string{"members"}
		}
		res, err := p.c.Target.Find(ctx, resourceType(p.obj.Kind), fmt.Sprintf("%s eq %s", mt.Target, quote(s)), excluded...)
		if err != nil {
			return nil, "", err
		}
		switch len(res) {
		case 0:
			continue
		case 1:
			return res[0], fmt.Sprintf("%s eq %q found %s", mt.Target, s, res[0].ID()), nil
		default:
			return nil, "", fmt.Errorf("%d target objects have %s %q (DuplicateTargetEntries): make the matching attribute unique", len(res), mt.Target, s)
		}
	}
	if tried == 0 {
		return nil, "", fmt.Errorf("%w (ImportSkipped): map a value to %s", errNoMatchValue, p.matchers()[0].Target)
	}
	return nil, "no match", nil
}

func (p *pass) matchOrCreate(ctx context.Context, ms mappingSet, m *mapped) outcome {
	found, how, err := p.find(ctx, m)
	if errors.Is(err, errNoMatchValue) {
		// The matching attribute has only a create-only mapping: match
		// on the values a create would send.
		var mc *mapped
		if mc, err = p.mapValues(ctx, ms, true); err == nil {
			found, how, err = p.find(ctx, mc)
		}
	}
	if err != nil {
		return p.fail("match", err)
	}
	if found != nil {
		p.step("match", Success, "%s", how)
		p.link.TargetID = found.ID()
		return p.update(ctx, m, found)
	}
	p.step("match", Success, "no object in the target matches: creating one")
	if m, err = p.mapValues(ctx, ms, true); err != nil {
		if errors.Is(err, errSkipObject) {
			p.link.SourceHash = p.hash
			return p.finish(Skip, Skipped, nil)
		}
		return p.fail("action", err)
	}
	doc := document(p.obj.Kind, m.values)
	exported := m.values
	mgr := p.managerTarget(m, nil)
	if p.obj.Kind == User {
		doc["active"] = true
		if mgr != "" {
			setManager(doc, mgr)
			exported = withManager(m.values, m.manager)
		}
	} else {
		doc["members"] = []any{}
	}
	if p.c.DryRun {
		p.link.Exported = mustJSON(exported)
		return p.finishSample(Create, m, m.values)
	}
	created, err := p.c.Target.Create(ctx, resourceType(p.obj.Kind), doc, func(ctx context.Context) (scimclient.Resource, error) {
		r, _, err := p.find(ctx, m)
		return r, err
	})
	if err != nil {
		return p.fail("action", err)
	}
	p.link.TargetID = created.ID()
	p.link.State = Active
	p.link.Exported = mustJSON(exported)
	p.link.SourceHash = p.hash
	p.step("action", Success, "created %s", created.ID())
	p.markChanged()
	if mgr == "" {
		p.queueManager(m, nil)
	}
	return p.finish(Create, Success, p.modified(m, m.values))
}

// update PATCHes what differs between the mapped values and what was last
// exported, or, for an object just matched, what the target holds.
func (p *pass) update(ctx context.Context, m *mapped, current scimclient.Resource) outcome {
	var before map[string]any
	if current != nil {
		before = valuesOf(current, m.values)
	} else if err := json.Unmarshal(p.link.Exported, &before); err != nil || before == nil {
		before = map[string]any{}
	}
	changes := diff(before, m.values)
	var ops []scimclient.PatchOp
	for _, k := range sortedKeys(changes) {
		op := "replace"
		if _, had := before[k]; !had {
			op = "add"
		}
		ops = append(ops, scimclient.PatchOp{Op: op, Path: k, Value: changes[k]})
	}
	reenable := p.obj.Kind == User && (p.link.State == Disabled || (current != nil && isFalse(current["active"])))
	if reenable {
		ops = append(ops, scimclient.PatchOp{Op: "replace", Path: "active", Value: true})
	}
	exported := before
	if current != nil {
		exported = map[string]any{}
	}
	for k, v := range m.values {
		exported[k] = v
	}
	mgr := p.managerTarget(m, before)
	if mgr != "" {
		ops = append(ops, scimclient.PatchOp{Op: "replace", Path: managerPath, Value: map[string]any{"value": mgr}})
		exported[managerPath] = m.manager
	}
	// A link that was not active (just matched, or left pending by a
	// failed update) becomes a member of its groups now.
	becomesActive := current != nil || p.link.State != Active
	if len(ops) == 0 {
		p.step("action", Skipped, "already in sync (RedundantExport)")
		p.link.State, p.link.Exported, p.link.SourceHash = Active, mustJSON(exported), p.hash
		p.link.Failures, p.link.Error = 0, ""
		if becomesActive {
			p.markChanged()
		}
		p.queueManager(m, before)
		return p.finish(Skip, Skipped, nil)
	}
	if p.c.DryRun {
		return p.finishSample(Update, m, changes)
	}
	if err := p.c.Target.Patch(ctx, resourceType(p.obj.Kind), p.link.TargetID, ops); err != nil {
		return p.fail("action", err)
	}
	p.step("action", Success, "updated %d attributes", len(ops))
	if reenable || becomesActive {
		p.markChanged()
	}
	p.link.State, p.link.Exported, p.link.SourceHash = Active, mustJSON(exported), p.hash
	if mgr == "" {
		p.queueManager(m, before)
	} else {
		changes = withManager(changes, mgr)
	}
	return p.finish(Update, Success, p.modified(m, changes))
}

// valuesOf reads from a target resource the paths of values, for comparing
// a matched object with what the mappings want.
func valuesOf(res scimclient.Resource, values map[string]any) map[string]any {
	out := map[string]any{}
	for k := range values {
		p, err := parseTarget(k)
		if err != nil {
			continue
		}
		if v, ok := lookupPath(map[string]any(res), p); ok {
			out[k] = v
		}
	}
	return out
}

func lookupPath(doc map[string]any, p targetPath) (any, bool) {
	container := doc
	if p.urn != "" {
		m, ok := getFold(doc, p.urn).(map[string]any)
		if !ok {
			return nil, false
		}
		container = m
	}
	v := getFold(container, p.attr)
	if p.hasType {
		list, _ := v.([]any)
		v = nil
		for _, e := range list {
			if m, ok := e.(map[string]any); ok && fmt.Sprint(getFold(m, "type")) == p.typ {
				v = m
				break
			}
		}
		if v == nil {
			return nil, false
		}
		sub := p.sub
		if sub == "" {
			sub = "value"
		}
		v = getFold(v.(map[string]any), sub)
	} else if p.sub != "" {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		v = getFold(m, p.sub)
	}
	return v, v != nil
}

// getFold reads a key case-insensitively, as SCIM attribute names are.
func getFold(m map[string]any, key string) any {
	if v, ok := m[key]; ok {
		return v
	}
	for k, v := range m {
		if strings.EqualFold(k, key) {
			return v
		}
	}
	return nil
}

// disable sets active=false on a linked user (or leaves a group alone:
// groups have no active).
func (p *pass) disable(ctx context.Context, why string) outcome {
	if p.obj.Kind == Group {
		// A group has no active: it stays in the target as it is, but the
		// job stops managing its members and stops nesting it in others.
		p.link.State, p.link.SourceHash = Disabled, p.hash
		p.step("action", Skipped, "left as it is in the target; its members are no longer managed")
		return p.finish(Skip, Skipped, nil)
	}
	if p.c.DryRun {
		return p.finishSample(Disable, nil, map[string]any{"active": false})
	}
	ops := []scimclient.PatchOp{{Op: "replace", Path: "active", Value: false}}
	if err := p.c.Target.Patch(ctx, "Users", p.link.TargetID, ops); err != nil {
		return p.fail("action", err)
	}
	p.step("action", Success, "disabled: %s", why)
	p.link.State, p.link.SourceHash = Disabled, p.hash
	p.markChanged()
	p.deactivated(p.obj.ID, p.link.TargetID)
	return p.finish(Disable, Success, map[string]any{"active": false})
}

func (p *pass) markChanged() {
	if p.obj.Kind != User {
		return
	}
	// A user new to the job needs no hold: its groups list it as new
	// members, so their own hashes changed.
	p.hold = p.hold || p.existed
	p.mu.Lock()
	p.changed[p.obj.ID] = true
	p.mu.Unlock()
}

// managerPath is the enterprise manager attribute.
const managerPath = EnterpriseURN + ":manager"

// managerTargets returns the target ids of the managers of a batch of
// users, for the managers already provisioned; the manager mapping must be
// a direct one for them to be known before mapping (an expression's
// managers are set in the manager phase).
func (r *run) managerTargets(ctx context.Context, objs []Object) (map[string]string, error) {
	src := ""
	for _, m := range r.users {
		if m.path.isManager() && m.Source != "" {
			src = m.Source
		}
	}
	if src == "" {
		return nil, nil
	}
	var ids []string
	for _, o := range objs {
		if id, ok := o.Attrs[src].(string); ok && id != "" {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return nil, nil
	}
	links, err := r.Store.Links(ctx, r.jobID, User, ids)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(links))
	for id, l := range links {
		if l.TargetID != "" && l.State == Active {
			out[id] = l.TargetID
		}
	}
	return out, nil
}

// managerTarget returns the target id to set as the object's manager now:
// when the mapped manager changed since before (what was exported) and is
// already provisioned. "" leaves it to the manager phase, or to nothing.
func (p *pass) managerTarget(m *mapped, before map[string]any) string {
	if p.obj.Kind != User || m.manager == "" {
		return ""
	}
	if prev, _ := before[managerPath].(string); prev == m.manager {
		return ""
	}
	return p.batchMgr[m.manager]
}

// setManager puts the manager reference into a create's document.
func setManager(doc map[string]any, targetID string) {
	ext, _ := doc[EnterpriseURN].(map[string]any)
	if ext == nil {
		ext = map[string]any{}
		doc[EnterpriseURN] = ext
		doc["schemas"] = append(doc["schemas"].([]any), EnterpriseURN)
	}
	ext["manager"] = map[string]any{"value": targetID}
}

// withManager returns a copy of values with the manager attribute set.
func withManager(values map[string]any, manager string) map[string]any {
	out := make(map[string]any, len(values)+1)
	for k, v := range values {
		out[k] = v
	}
	out[managerPath] = manager
	return out
}

// queueManager remembers a user whose manager must be set once every user
// exists in the target.
func (p *pass) queueManager(m *mapped, before map[string]any) {
	if p.obj.Kind != User || m.manager == "" {
		return
	}
	mgrKey := managerPath
	if prev, _ := before[mgrKey].(string); prev == m.manager {
		var exported map[string]any
		if json.Unmarshal(p.link.Exported, &exported) == nil && exported != nil {
			exported[mgrKey] = prev
			p.link.Exported = mustJSON(exported)
		}
		return
	}
	p.hold = true
	p.mu.Lock()
	p.managers = append(p.managers, managerRef{link: p.link, managerID: m.manager})
	p.mu.Unlock()
}

func (p *pass) modified(m *mapped, values map[string]any) map[string]any {
	out := make(map[string]any, len(values))
	for k, v := range values {
		if m != nil && m.redact[k] {
			v = "[Redact]"
		}
		out[k] = v
	}
	return out
}

func (p *pass) finish(a Action, s Status, modified map[string]any) outcome {
	p.entry.Action, p.entry.Status, p.entry.TargetID = a, s, p.link.TargetID
	if len(modified) > 0 {
		p.entry.Modified = modified
	}
	p.link.Failures, p.link.Error, p.link.RetryAt = 0, "", time.Time{}
	return outcome{link: p.link, entry: p.entry, action: a}
}

func (p *pass) finishSample(a Action, m *mapped, values map[string]any) outcome {
	p.step("action", Skipped, "dry run: would %s", strings.ToLower(string(a)))
	out := p.finish(a, Success, p.modified(m, values))
	out.sample = &Sample{Kind: p.obj.Kind, SourceID: p.obj.ID, TargetID: p.link.TargetID, Values: out.entry.Modified}
	return out
}

// fail records a failed object: the link keeps no source hash, so the next
// cycle tries it again (Entra's escrow), and the log says why.
func (p *pass) fail(step string, err error) outcome {
	p.step(step, Failure, "%v", err)
	p.entry.Action, p.entry.Status, p.entry.Error, p.entry.TargetID = actionFor(p.link), Failure, err.Error(), p.link.TargetID
	p.link.SourceHash = ""
	p.link.Failures++
	p.link.Error = err.Error()
	p.link.RetryAt = p.now().Add(p.job.Interval())
	return outcome{link: p.link, entry: p.entry, action: p.entry.Action}
}

func actionFor(l *Link) Action {
	if l.TargetID == "" {
		return Create
	}
	return Update
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // values come from JSON; they always encode
	}
	return b
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// resolveManagers sets the manager of the users queued during the user
// phase, now that every manager that can exist in the target does.
func (r *run) resolveManagers(ctx context.Context) error {
	if len(r.managers) == 0 || r.c.DryRun {
		return nil
	}
	// A batch at a time, so that the links and log entries held in memory
	// stay bounded however many managers changed.
	for i := 0; i < len(r.managers); i += batchSize {
		if err := r.resolveManagerBatch(ctx, r.managers[i:min(i+batchSize, len(r.managers))]); err != nil {
			return err
		}
	}
	r.managers = nil
	return nil
}

func (r *run) resolveManagerBatch(ctx context.Context, batch []managerRef) error {
	ids := make([]string, 0, len(batch))
	for _, m := range batch {
		ids = append(ids, m.managerID)
	}
	targets := map[string]string{}
	retry := map[string]bool{} // managers whose create failed: a later cycle may create them
	links, err := r.Store.Links(ctx, r.jobID, User, ids)
	if err != nil {
		return err
	}
	for id, l := range links {
		if l.TargetID != "" && l.State == Active {
			targets[id] = l.TargetID
		} else if l.TargetID == "" && l.Failures > 0 {
			retry[id] = true
		}
	}
	var put []*Link
	var entries []*LogEntry
	var mu sync.Mutex
	sem := make(chan struct{}, r.job.concurrency())
	var wg sync.WaitGroup
	for _, m := range batch {
		tid, ok := targets[m.managerID]
		if !ok {
			// The manager is not provisioned (out of scope, failed):
			// nothing to point at. If its create failed, the next cycle
			// retries it, and must look at this user again then, though
			// the user did not change in the source.
			if retry[m.managerID] {
				m.link.SourceHash = ""
				mu.Lock()
				put = append(put, m.link)
				mu.Unlock()
			}
			continue
		}
		sem <- struct{}{}
		wg.Add(1)
		go func(m managerRef) {
			defer func() { <-sem; wg.Done() }()
			e := &LogEntry{JobID: r.jobID, Cycle: r.cycle, Time: r.now(), Kind: User, SourceID: m.link.SourceID, TargetID: m.link.TargetID, Action: Update}
			ops := []scimclient.PatchOp{{Op: "replace", Path: EnterpriseURN + ":manager", Value: map[string]any{"value": tid}}}
			if err := r.c.Target.Patch(ctx, "Users", m.link.TargetID, ops); err != nil {
				e.Status, e.Error = Failure, err.Error()
				e.Steps = []Step{{Name: "action", Status: Failure, Detail: "setting the manager: " + err.Error()}}
				m.link.SourceHash, m.link.Failures, m.link.Error = "", m.link.Failures+1, err.Error()
			} else {
				e.Status = Success
				e.Steps = []Step{{Name: "action", Status: Success, Detail: "manager set to " + tid}}
				e.Modified = map[string]any{EnterpriseURN + ":manager": tid}
				var exported map[string]any
				if json.Unmarshal(m.link.Exported, &exported) != nil || exported == nil {
					exported = map[string]any{}
				}
				exported[EnterpriseURN+":manager"] = m.managerID
				m.link.Exported = mustJSON(exported)
			}
			r.count(Update, e.Status)
			mu.Lock()
			put, entries = append(put, m.link), append(entries, e)
			mu.Unlock()
		}(m)
	}
	wg.Wait()
	// The users stay held (releaseUsers stores their hashes): what is
	// stored now is the manager in Exported.
	held := make([]*Link, len(put))
	for i, l := range put {
		cp := *l
		cp.SourceHash = ""
		held[i] = &cp
	}
	if err := r.Store.PutLinks(ctx, r.jobID, held); err != nil {
		return err
	}
	return r.Store.AppendLog(ctx, entries)
}

// releaseUsers stores the source hashes of the users held back until the
// manager and member phases were done.
func (r *run) releaseUsers(ctx context.Context) error {
	for i := 0; i < len(r.heldUsers); i += batchSize {
		if err := r.Store.PutLinks(ctx, r.jobID, r.heldUsers[i:min(i+batchSize, len(r.heldUsers))]); err != nil {
			return err
		}
	}
	r.heldUsers = nil
	return nil
}

// deleted marks, in an outcome, a link to forget: its object was deleted
// in the target. It is never stored.
const deleted LinkState = "deleted"

// remove handles an object gone from the source: deleted in the target, or
// disabled when the job says so.
func (r *run) remove(ctx context.Context, l *Link, kind Kind, sourceID string) outcome {
	e := &LogEntry{JobID: r.jobID, Cycle: r.cycle, Time: r.now(), Kind: kind, SourceID: sourceID,
		Steps: []Step{{Name: "import", Status: Success, Detail: "deleted in the source"}}}
	if l == nil || l.TargetID == "" {
		return outcome{}
	}
	e.TargetID = l.TargetID
	action := Delete
	if r.job.OnDelete == "disable" {
		if kind == Group || l.State == Disabled {
			return outcome{}
		}
		action = Disable
	}
	if r.c.DryRun {
		r.count(action, Success)
		r.mu.Lock()
		if len(r.sum.Samples[action]) < samplesMax {
			r.sum.Samples[action] = append(r.sum.Samples[action], Sample{Kind: kind, SourceID: sourceID, TargetID: l.TargetID})
		}
		r.mu.Unlock()
		return outcome{}
	}
	var err error
	if action == Delete {
		err = r.c.Target.Delete(ctx, resourceType(kind), l.TargetID)
		var ce *scimclient.Error
		if errors.As(err, &ce) && ce.Status == 404 {
			err = nil // already gone
		}
	} else {
		err = r.c.Target.Patch(ctx, "Users", l.TargetID, []scimclient.PatchOp{{Op: "replace", Path: "active", Value: false}})
	}
	e.Action = action
	cp := *l
	if err != nil {
		e.Status, e.Error = Failure, err.Error()
		e.Steps = append(e.Steps, Step{Name: "action", Status: Failure, Detail: err.Error()})
		cp.Failures, cp.Error = cp.Failures+1, err.Error()
		r.count(action, Failure)
		return outcome{link: &cp, entry: e, action: action}
	}
	e.Status = Success
	e.Steps = append(e.Steps, Step{Name: "action", Status: Success, Detail: strings.ToLower(string(action)) + "d in the target"})
	r.count(action, Success)
	if action == Disable {
		// No source hash: should the object come back to the source
		// unchanged, the next cycle must look at it and enable it again.
		cp.State, cp.Failures, cp.Error, cp.SourceHash = Disabled, 0, "", ""
		r.deactivated(sourceID, l.TargetID)
		return outcome{link: &cp, entry: e, action: action}
	}
	return outcome{entry: e, action: action, link: &Link{Kind: kind, SourceID: sourceID, State: deleted}}
}

// deletions finds the objects that left the source and removes them.
func (r *run) deletions(ctx context.Context, res ReadResult) error {
	lister, canList := r.c.Source.(IDLister)
	for _, kind := range []Kind{User, Group} {
		present := r.seen[kind]
		if !res.Full {
			if !canList {
				continue
			}
			present = map[string]bool{}
			if err := lister.ListIDs(ctx, kind, func(id string) error { present[id] = true; return nil }); err != nil {
				return fmt.Errorf("listing the source's %ss: %w", strings.ToLower(string(kind)), err)
			}
		}
		if kind == Group && !r.job.GroupsEnabled() {
			continue
		}
		var gone []*Link
		// Every link: no cycle is named "*" (a NUL byte, as before, is
		// refused by PostgreSQL in a text parameter).
		err := r.Store.UnseenLinks(ctx, r.jobID, kind, "*", func(l *Link) error {
			if !present[l.SourceID] {
				gone = append(gone, l)
			}
			return nil
		})
		if err != nil {
			return err
		}
		if gone, err = r.confirmGone(ctx, kind, gone); err != nil {
			return err
		}
		for i := 0; i < len(gone); i += batchSize {
			if err := r.removeBatch(ctx, kind, gone[i:min(i+batchSize, len(gone))]); err != nil {
				return err
			}
		}
	}
	return nil
}

// confirmGone keeps, of the links a listing did not return, those whose
// object the source confirms is gone, when it can look objects up
// (Confirmer). An object it still has, or cannot tell about, is left
// alone this cycle.
func (r *run) confirmGone(ctx context.Context, kind Kind, gone []*Link) ([]*Link, error) {
	c, ok := r.c.Source.(Confirmer)
	if !ok || len(gone) == 0 {
		return gone, nil
	}
	keep := make([]bool, len(gone))
	var wg sync.WaitGroup
	sem := make(chan struct{}, r.job.concurrency())
	for i, l := range gone {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			exists, err := c.Exists(ctx, kind, l.SourceID)
			if err != nil && ctx.Err() == nil {
				r.logger().Warn("provision: cannot confirm a deletion in the source; not deleting this cycle", "job", r.job.Name, "kind", kind, "source_id", l.SourceID, "err", err)
			}
			keep[i] = err == nil && !exists
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out := gone[:0]
	for i, l := range gone {
		if keep[i] {
			out = append(out, l)
		}
	}
	return out, nil
}

func (r *run) removeBatch(ctx context.Context, kind Kind, links []*Link) error {
	outs := make([]outcome, len(links))
	var wg sync.WaitGroup
	sem := make(chan struct{}, r.job.concurrency())
	for i, l := range links {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			outs[i] = r.remove(ctx, l, kind, l.SourceID)
		}()
	}
	wg.Wait()
	if r.c.DryRun {
		return nil
	}
	var put []*Link
	var drop []string
	var entries []*LogEntry
	for i, o := range outs {
		switch {
		case o.link != nil && o.link.State == deleted:
			drop = append(drop, links[i].SourceID)
		case o.link != nil:
			put = append(put, o.link)
		case links[i].TargetID == "":
			drop = append(drop, links[i].SourceID) // never provisioned: forget it
		}
		if o.entry != nil && o.entry.Action != "" {
			entries = append(entries, o.entry)
		}
	}
	if kind == Group {
		for _, id := range drop {
			var all []string
			if err := r.Store.ExportedMembers(ctx, r.jobID, id, func(m string) error { all = append(all, m); return nil }); err != nil {
				return err
			}
			if err := r.Store.ChangeMembers(ctx, r.jobID, id, nil, all); err != nil {
				return err
			}
		}
	}
	if err := r.Store.PutLinks(ctx, r.jobID, put); err != nil {
		return err
	}
	if err := r.Store.DeleteLinks(ctx, r.jobID, kind, drop); err != nil {
		return err
	}
	return r.Store.AppendLog(ctx, entries)
}
