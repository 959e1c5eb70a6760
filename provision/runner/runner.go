// Package runner connects provisioning jobs to the rest of Roster: it
// stores job definitions with their secrets sealed, builds each job's
// source and target from its definition, runs cycles on demand (roster
// job run) and on the jobs' schedules (roster serve).
package runner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/roster-scim/roster"
	"github.com/roster-scim/roster/provision"
	"github.com/roster-scim/roster/provision/scimclient"
	"github.com/roster-scim/roster/provision/source"
)

// Runner manages and runs the provisioning jobs in one store.
type Runner struct {
	Store  provision.StateStore
	Sealer *provision.Sealer
	Engine *provision.Engine
	// HTTPClient, when set, carries the requests to sources and targets
	// (tests; custom TLS roots).
	HTTPClient *http.Client
	Logger     *slog.Logger
	Now        func() time.Time
	// LogRetention is how long the scheduler keeps provisioning-log
	// entries; it prunes older ones hourly. 0 keeps them forever.
	LogRetention time.Duration
}

func (r *Runner) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

func (r *Runner) logger() *slog.Logger {
	if r.Logger != nil {
		return r.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// Save stores a job for an organization: a new one, or, with replace, a
// new definition for the job of the same name. Changing the mappings,
// matching or scope makes the next cycle look at every object again (see
// Job.Fingerprint); the links are kept.
func (r *Runner) Save(ctx context.Context, orgID string, j *provision.Job, replace bool) (*provision.JobRecord, error) {
	if err := j.Validate(); err != nil {
		return nil, roster.Errorf(roster.EINVALID, "%v", err)
	}
	def, err := r.Sealer.SealJob(j)
	if err != nil {
		return nil, err
	}
	now := r.now()
	old, err := r.Store.FindJob(ctx, orgID, j.Name)
	switch {
	case err == nil && !replace:
		return nil, roster.Errorf(roster.ECONFLICT, "a job named %q exists; update it with --replace, or delete it first", j.Name)
	case err == nil:
		prev, perr := r.Sealer.OpenJob(old.Definition)
		old.Definition, old.Enabled, old.Updated = def, j.Enabled(), now
		if err := r.Store.UpdateJob(ctx, old); err != nil {
			return nil, err
		}
		// New mappings, scope or matching apply to every object, as Entra
		// starts over when they change: an incremental source must read
		// everything again, not only what changes from now on.
		if perr != nil || prev.Fingerprint() != j.Fingerprint() || prev.GroupsEnabled() != j.GroupsEnabled() {
			if err := r.Store.ResetWatermark(ctx, old.ID); err != nil {
				return nil, err
			}
		}
		return old, nil
	case roster.ErrorCode(err) != roster.ENOTFOUND:
		return nil, err
	}
	rec := &provision.JobRecord{ID: roster.NewID(), OrgID: orgID, Name: j.Name, Definition: def, Enabled: j.Enabled(), Created: now, Updated: now}
	return rec, r.Store.CreateJob(ctx, rec)
}

// Load returns a job's record and its definition with its secrets open.
func (r *Runner) Load(ctx context.Context, orgID, name string) (*provision.JobRecord, *provision.Job, error) {
	rec, err := r.Store.FindJob(ctx, orgID, name)
	if err != nil {
		return nil, nil, err
	}
	j, err := r.Sealer.OpenJob(rec.Definition)
	if err != nil {
		return nil, nil, fmt.Errorf("job %s: %w", rec.Name, err)
	}
	return rec, j, nil
}

// Target builds the SCIM client of a job's target.
func (r *Runner) Target(j *provision.Job) (*scimclient.Client, error) {
	return r.client(j.Target.Endpoint, j.Target.Concurrency, j.Target.RateLimit)
}

func (r *Runner) client(e provision.Endpoint, concurrency int, rateLimit float64) (*scimclient.Client, error) {
	cfg := scimclient.Config{BaseURL: e.URL, Token: e.Token, Concurrency: concurrency, RateLimit: rateLimit,
		HTTPClient: r.HTTPClient, UserAgent: "Roster-provisioning"}
	if e.TokenURL != "" {
		cfg.OAuth = &scimclient.OAuth{TokenURL: e.TokenURL, ClientID: e.ClientID, ClientSecret: e.ClientSecret, Scope: e.Scope}
	}
	return scimclient.New(cfg)
}

// Source builds a job's source.
func (r *Runner) Source(j *provision.Job) (provision.Source, error) {
	s := j.Source
	switch s.Type {
	case "file":
		return source.NewFile(source.FileConfig{Path: s.Path, Format: s.Format, IDColumn: s.IDColumn,
			GroupsColumn: s.GroupsColumn, GroupsPath: s.GroupsPath, Separator: s.Separator, MultiValued: s.MultiValued})
	case "scim":
		c, err := r.client(s.Endpoint, 0, 0)
		if err != nil {
			return nil, fmt.Errorf("source: %w", err)
		}
		return source.NewSCIM(c), nil
	}
	return nil, fmt.Errorf("source type %q is not supported", s.Type)
}

// RunOptions tune one cycle.
type RunOptions struct {
	DryRun   bool
	Restart  bool // clear the watermark first: an initial cycle (roster job restart)
	Progress func(provision.Progress)
}

// Run runs one cycle of a job now.
func (r *Runner) Run(ctx context.Context, orgID, name string, opt RunOptions) (*provision.Summary, error) {
	rec, j, err := r.Load(ctx, orgID, name)
	if err != nil {
		return nil, err
	}
	return r.run(ctx, rec, j, opt)
}

func (r *Runner) run(ctx context.Context, rec *provision.JobRecord, j *provision.Job, opt RunOptions) (*provision.Summary, error) {
	src, err := r.Source(j)
	if err != nil {
		return nil, err
	}
	if c, ok := src.(interface{ Close() }); ok {
		defer c.Close()
	}
	tgt, err := r.Target(j)
	if err != nil {
		return nil, err
	}
	defer tgt.Close()
	return r.Engine.Run(ctx, provision.Cycle{Record: rec, Job: j, Source: src, Target: tgt, Restart: opt.Restart, DryRun: opt.DryRun, Progress: opt.Progress})
}

// Test sends a job's target the probes of Entra's Test Connection.
func (r *Runner) Test(ctx context.Context, orgID, name string) ([]scimclient.Check, error) {
	_, j, err := r.Load(ctx, orgID, name)
	if err != nil {
		return nil, err
	}
	c, err := r.Target(j)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	return c.TestConnection(ctx), nil
}

// retryInterrupted is how soon the scheduler runs again a job whose last
// cycle did not complete.
const retryInterrupted = 5 * time.Minute

// Schedule runs every enabled job of every organization on its interval
// until ctx ends: a job is due when its last cycle finished an interval
// ago, has never run, or was interrupted (its holder died; the lease tells
// when it is free). Several replicas may schedule on one database: the
// lease makes each job run on one of them at a time. check is how often
// the jobs are looked at.
func (r *Runner) Schedule(ctx context.Context, check time.Duration) {
	var mu sync.Mutex
	running := map[string]bool{}
	var wg sync.WaitGroup
	defer wg.Wait()
	t := time.NewTicker(check)
	defer t.Stop()
	var pruned time.Time
	for {
		if r.LogRetention > 0 && r.now().Sub(pruned) >= time.Hour {
			pruned = r.now()
			if n, err := r.Store.PruneLog(ctx, pruned.Add(-r.LogRetention)); err != nil && ctx.Err() == nil {
				r.logger().Warn("provision: pruning the provisioning log", "err", err)
			} else if n > 0 {
				r.logger().Info("provision: pruned the provisioning log", "entries", n)
			}
		}
		recs, err := r.Store.ListJobs(ctx, "")
		if err != nil && ctx.Err() == nil {
			r.logger().Warn("provision: listing jobs", "err", err)
		}
		for _, rec := range recs {
			mu.Lock()
			busy := running[rec.ID]
			mu.Unlock()
			if busy || !rec.Enabled || !r.due(ctx, rec) {
				continue
			}
			mu.Lock()
			running[rec.ID] = true
			mu.Unlock()
			wg.Add(1)
			go func(rec *provision.JobRecord) {
				defer wg.Done()
				defer func() { mu.Lock(); delete(running, rec.ID); mu.Unlock() }()
				r.scheduled(ctx, rec)
			}(rec)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (r *Runner) due(ctx context.Context, rec *provision.JobRecord) bool {
	st, err := r.Store.JobState(ctx, rec.ID)
	if err != nil {
		return false
	}
	if st.Started.IsZero() {
		return true // never ran
	}
	j, err := r.Sealer.OpenJob(rec.Definition)
	if err != nil {
		return false
	}
	wait := j.Interval()
	if st.Running {
		// Interrupted, or failed with an error (a bad file, a source or
		// target down): try again soon, but not at every check, so that a
		// broken job does not read its whole source every 30 seconds.
		wait = min(wait, retryInterrupted)
	}
	return !r.now().Before(st.Started.Add(wait))
}

func (r *Runner) scheduled(ctx context.Context, rec *provision.JobRecord) {
	j, err := r.Sealer.OpenJob(rec.Definition)
	if err != nil {
		r.logger().Error("provision: job cannot run", "job", rec.Name, "err", err)
		return
	}
	sum, err := r.run(ctx, rec, j, RunOptions{})
	switch {
	case errors.Is(err, provision.ErrLeaseHeld):
		return
	case err != nil:
		if ctx.Err() == nil {
			r.logger().Error("provision: cycle failed", "job", rec.Name, "org", rec.OrgID, "err", err)
		}
	default:
		c := sum.Counts
		r.logger().Info("provision: cycle done", "job", rec.Name, "org", rec.OrgID, "cycle", sum.Cycle,
			"created", c.Created, "updated", c.Updated, "disabled", c.Disabled, "deleted", c.Deleted,
			"failed", c.Failed, "unchanged", sum.Unchanged, "duration", sum.Duration.Round(time.Millisecond))
	}
}
