package manage

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/roster-scim/roster"
	"github.com/roster-scim/roster/provision"
)

// MaxJobLogLimit bounds a provisioning-log page.
const MaxJobLogLimit = 1000

// Job is a provisioning job as the admin API shows it: never with its
// secrets, which are "(hidden)" in Definition.
type Job struct {
	ID      string    `json:"id"`
	Name    string    `json:"name"`
	Enabled bool      `json:"enabled"`
	Created time.Time `json:"created"`
	Updated time.Time `json:"updated"`
	// Definition is the job's definition with its secrets hidden; only
	// GetJob includes it.
	Definition *provision.Job     `json:"definition,omitempty"`
	State      provision.JobState `json:"state"`
	// Links counts the job's links by kind and state, e.g. "users active";
	// only GetJob includes them.
	Links map[string]int `json:"links,omitempty"`
}

// JobLogFilter selects provisioning-log entries of a job, newest first.
// Object matches a source or target id; Before is an entry id, for paging.
type JobLogFilter struct {
	Failed bool   `json:"failed,omitempty"`
	Object string `json:"object,omitempty"`
	Cycle  string `json:"cycle,omitempty"`
	Limit  int    `json:"limit,omitempty"`
	Before int64  `json:"before,omitempty"`
}

// JobLogPage is one page of a job's provisioning log. Next, when not 0,
// is the Before of the next page: there may be older entries.
type JobLogPage struct {
	Entries []*provision.LogEntry `json:"entries"`
	Next    int64                 `json:"next,omitempty"`
}

// jobs checks that the actor may manage orgID and that the server keeps
// provisioning jobs.
func (ss *Session) jobs(ctx context.Context, orgID string) (provision.StateStore, error) {
	if _, err := ss.org(ctx, orgID); err != nil {
		return nil, err
	}
	if ss.s.Jobs == nil {
		return nil, roster.Errorf(roster.ENOTIMPL, "this server keeps no provisioning jobs")
	}
	return ss.s.Jobs, nil
}

func (ss *Session) jobView(ctx context.Context, st provision.StateStore, rec *provision.JobRecord) (*Job, error) {
	s, err := st.JobState(ctx, rec.ID)
	if err != nil {
		return nil, err
	}
	return &Job{ID: rec.ID, Name: rec.Name, Enabled: rec.Enabled, Created: rec.Created, Updated: rec.Updated, State: s}, nil
}

// ListJobs returns the organization's provisioning jobs by name, with
// their state and without their definitions.
func (ss *Session) ListJobs(ctx context.Context, orgID string) ([]*Job, error) {
	st, err := ss.jobs(ctx, orgID)
	if err != nil {
		return nil, err
	}
	recs, err := st.ListJobs(ctx, orgID)
	if err != nil {
		return nil, err
	}
	out := []*Job{}
	for _, rec := range recs {
		j, err := ss.jobView(ctx, st, rec)
		if err != nil {
			return nil, err
		}
		out = append(out, j)
	}
	return out, nil
}

// GetJob returns one job by name or id, with its definition (secrets
// hidden), state and link counts.
func (ss *Session) GetJob(ctx context.Context, orgID, job string) (*Job, error) {
	st, err := ss.jobs(ctx, orgID)
	if err != nil {
		return nil, err
	}
	rec, err := st.FindJob(ctx, orgID, job)
	if err != nil {
		return nil, err
	}
	j, err := ss.jobView(ctx, st, rec)
	if err != nil {
		return nil, err
	}
	// The stored definition has its secrets sealed; the sealed values are
	// not shown either: Redacted replaces every secret that is set.
	var def provision.Job
	if err := json.Unmarshal(rec.Definition, &def); err != nil {
		return nil, fmt.Errorf("job %s: stored definition: %w", rec.ID, err)
	}
	j.Definition = def.Redacted()
	counts, err := st.CountLinks(ctx, rec.ID)
	if err != nil {
		return nil, err
	}
	j.Links = map[string]int{}
	for kind, byState := range counts {
		for state, n := range byState {
			j.Links[strings.ToLower(string(kind))+"s "+string(state)] = n
		}
	}
	return j, nil
}

// QueryJobLog reads a job's provisioning log, newest first.
func (ss *Session) QueryJobLog(ctx context.Context, orgID, job string, in JobLogFilter) (*JobLogPage, error) {
	st, err := ss.jobs(ctx, orgID)
	if err != nil {
		return nil, err
	}
	if in.Limit < 0 || in.Limit > MaxJobLogLimit {
		return nil, roster.Errorf(roster.EINVALID, "limit must be from 1 to %d", MaxJobLogLimit)
	}
	if in.Before < 0 {
		return nil, roster.Errorf(roster.EINVALID, "before must be an entry id (a positive integer)")
	}
	rec, err := st.FindJob(ctx, orgID, job)
	if err != nil {
		return nil, err
	}
	limit := in.Limit
	if limit == 0 {
		limit = 100
	}
	entries, err := st.QueryLog(ctx, provision.LogQuery{JobID: rec.ID, Cycle: in.Cycle, SourceID: in.Object,
		Failed: in.Failed, Limit: limit, Before: in.Before})
	if err != nil {
		return nil, err
	}
	page := &JobLogPage{Entries: entries}
	if page.Entries == nil {
		page.Entries = []*provision.LogEntry{}
	}
	if len(entries) == limit {
		page.Next = entries[len(entries)-1].ID
	}
	return page, nil
}
