// Package provision is Roster's provisioning engine: it reads users and
// groups from a source directory and keeps a SCIM 2.0 app (the target) in
// step with it, the way Microsoft Entra ID's provisioning service does
// (../shared/reference/entra-cycles.md): scope, attribute mappings with
// Entra's expression language (package expr), matching, initial and
// incremental cycles, per-object retries and provisioning logs.
//
// The engine is built from three parts that meet here: a Source (a file, a
// SCIM server, later LDAP or Microsoft Graph), the SCIM client that talks
// to the target (package provision/scimclient), and a StateStore that
// keeps each job's links between source and target objects, what was last
// exported, the watermark and the provisioning log in Roster's own
// database, so that a cycle with no changes sends no writes and a cycle
// interrupted anywhere continues where it stopped.
package provision

import (
	"context"
	"time"
)

// Kind is the kind of a provisioned object.
type Kind string

const (
	User  Kind = "User"
	Group Kind = "Group"
)

// Object is one user or group as a source delivers it.
type Object struct {
	Kind Kind
	// ID is the source's anchor for the object: stable for its lifetime,
	// whatever else changes (Entra's objectId, a CSV's id column).
	ID string
	// Attrs are the source attributes by name, JSON-typed as
	// encoding/json decodes with UseNumber: string, json.Number, bool,
	// []any, map[string]any or nil. Mapping expressions read them.
	Attrs map[string]any
	// Members are, for a group, the source IDs of its members (users, or
	// nested groups, which are sent as members and never flattened).
	Members []string
	// Deleted reports that an incremental source saw the object deleted.
	Deleted bool
}

// ReadResult is what a source reports at the end of a Read.
type ReadResult struct {
	// Watermark is where the next incremental Read starts; it is stored
	// only once the whole cycle completed.
	Watermark string
	// Full reports that Read emitted every object in the source: an object
	// the job knows but that was not emitted is gone from the source.
	Full bool
}

// Source reads users and groups from a source directory. A source that
// cannot tell changes (a file) always reads everything and reports Full;
// the engine then compares each object with what it imported last time.
type Source interface {
	// Read calls emit for the source's objects, users before groups: all
	// of them when since is "" (an initial cycle), otherwise at least those
	// changed since the watermark since. emit's error stops the Read and
	// is returned.
	Read(ctx context.Context, since string, emit func(Object) error) (ReadResult, error)
}

// IDLister is implemented by incremental sources that can list the IDs of
// every object cheaply; the engine uses it to find objects deleted in the
// source, which a "changed since" query never returns.
type IDLister interface {
	ListIDs(ctx context.Context, kind Kind, emit func(id string) error) error
}

// Confirmer is implemented by sources that can look one object up. The
// engine asks before deleting an object that a listing did not return:
// paging by offset can skip an object while the source changes under the
// pages, and a skipped object must not be deleted in the target.
type Confirmer interface {
	Exists(ctx context.Context, kind Kind, id string) (bool, error)
}

// Link ties a source object to its target object for one job: Entra's
// connector data store. It outlives restarts; only deleting the job, or
// the object, removes it.
type Link struct {
	Kind     Kind
	SourceID string
	// TargetID is the target's id, "" until the object was created or
	// matched in the target.
	TargetID string
	// SourceHash fingerprints the source object as last imported, so that
	// a full source's unchanged objects cost no mapping and no request.
	SourceHash string
	// Exported is what was last written to the target: the mapped
	// attributes as a JSON object, from which updates are computed as
	// PATCHes of only what differs.
	Exported []byte
	// State is where the object stands in the target.
	State LinkState
	// Failures counts consecutive failed attempts; Error is the last one in
	// plain words; RetryAt is when the next cycle may try again (escrow).
	Failures int
	Error    string
	RetryAt  time.Time
	// Cycle is the id of the last cycle that saw the object in the source.
	Cycle string
}

// LinkState is where a linked object stands in the target.
type LinkState string

const (
	// Active: in scope and provisioned.
	Active LinkState = "active"
	// Disabled: out of scope, unassigned or disabled in the source, and
	// disabled in the target (active=false).
	Disabled LinkState = "disabled"
	// Pending: in the source but not yet in the target (never created, or
	// its create failed).
	Pending LinkState = "pending"
)

// JobState is a job's progress between cycles.
type JobState struct {
	// Watermark is the source's watermark after the last completed cycle;
	// "" runs an initial cycle.
	Watermark string `json:"watermark"`
	// Cycle is the id of the cycle running or last run; Running reports
	// that it has not completed, so that the next runner continues it
	// (under the same id) instead of starting over.
	Cycle   string `json:"cycle"`
	Running bool   `json:"running"`
	// Started and Finished time the last cycle; Finished is zero while it
	// runs.
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	// Counts summarise the last cycle.
	Counts Counts `json:"counts"`
}

// Counts are a cycle's results by action and status.
type Counts struct {
	Created  int `json:"created"`
	Updated  int `json:"updated"`
	Disabled int `json:"disabled"`
	Deleted  int `json:"deleted"`
	Skipped  int `json:"skipped"`
	Failed   int `json:"failed"`
}

// Action is what a cycle did to one object.
type Action string

const (
	Create  Action = "Create"
	Update  Action = "Update"
	Disable Action = "Disable"
	Delete  Action = "Delete"
	Skip    Action = "Skip"
)

// Status is how an action ended.
type Status string

const (
	Success Status = "Success"
	Failure Status = "Failure"
	Skipped Status = "Skipped"
)

// Step is one step of processing an object, as Entra's logs show them:
// import, scope, match, action.
type Step struct {
	Name   string `json:"name"`   // "import", "scope", "match" or "action"
	Status Status `json:"status"` // Success, Failure or Skipped
	Detail string `json:"detail"` // in plain words
}

// LogEntry is one provisioning-log entry: what one cycle did to one object.
type LogEntry struct {
	ID       int64     `json:"id"`
	JobID    string    `json:"job_id"`
	Cycle    string    `json:"cycle_id"`
	Time     time.Time `json:"time"`
	Kind     Kind      `json:"kind"`
	SourceID string    `json:"source_id"`
	TargetID string    `json:"target_id,omitempty"`
	Action   Action    `json:"action"`
	Status   Status    `json:"status"`
	Steps    []Step    `json:"steps"`
	// Modified lists the target attributes written, with their new values
	// (Redact()ed mappings show "[Redact]").
	Modified map[string]any `json:"modified,omitempty"`
	Error    string         `json:"error,omitempty"`
}

// LogQuery selects provisioning-log entries, newest first.
type LogQuery struct {
	JobID    string
	Cycle    string // "" for every cycle
	SourceID string // "" for every object; matches source or target id
	Failed   bool   // only Status Failure
	Limit    int    // at most this many; 0 means 100
	Before   int64  // entries with an ID below this one, for paging; 0 for the newest
}

// JobRecord is a job as stored: its definition (JSON, with the target's
// secret sealed) and whether it runs on the schedule.
type JobRecord struct {
	ID         string
	OrgID      string
	Name       string
	Definition []byte // the Job as JSON, secrets sealed (see Sealer)
	Enabled    bool
	Created    time.Time
	Updated    time.Time
}

// StateStore keeps jobs and their state in Roster's database. Job
// methods are scoped to an organization and answer ENOTFOUND (a
// *roster.Error) for a job of another. Methods that take a jobID trust it:
// callers get it from FindJob.
type StateStore interface {
	// CreateJob stores a new job. Returns ECONFLICT when the organization
	// has a job of that name.
	CreateJob(ctx context.Context, j *JobRecord) error
	// UpdateJob replaces a job's definition and Enabled. Returns ENOTFOUND.
	UpdateJob(ctx context.Context, j *JobRecord) error
	// FindJob returns a job by name or id. Returns ENOTFOUND.
	FindJob(ctx context.Context, orgID, nameOrID string) (*JobRecord, error)
	// ListJobs returns an organization's jobs by name; orgID "" lists
	// every organization's (the scheduler's view).
	ListJobs(ctx context.Context, orgID string) ([]*JobRecord, error)
	// DeleteJob deletes a job with its links, state, lease and log.
	// Returns ENOTFOUND.
	DeleteJob(ctx context.Context, orgID, id string) error

	// JobState returns a job's state; the zero JobState before its first
	// cycle.
	JobState(ctx context.Context, jobID string) (JobState, error)
	// PutJobState stores a job's state.
	PutJobState(ctx context.Context, jobID string, s JobState) error
	// ResetWatermark clears the watermark (roster job restart) and keeps
	// the links, as Entra's Restart does.
	ResetWatermark(ctx context.Context, jobID string) error

	// Links returns the links of the given source objects that exist,
	// keyed by source ID; the engine asks in batches.
	Links(ctx context.Context, jobID string, kind Kind, sourceIDs []string) (map[string]*Link, error)
	// LinkByTarget returns the link of a target object, for resolving
	// references; ENOTFOUND when there is none.
	LinkByTarget(ctx context.Context, jobID string, kind Kind, targetID string) (*Link, error)
	// PutLinks inserts or replaces links, in one transaction.
	PutLinks(ctx context.Context, jobID string, links []*Link) error
	// DeleteLinks removes links.
	DeleteLinks(ctx context.Context, jobID string, kind Kind, sourceIDs []string) error
	// UnseenLinks calls fn with every link of the kind whose Cycle is not
	// cycle: the objects a full source no longer has. It pages through the
	// database, so the links need not fit in memory.
	UnseenLinks(ctx context.Context, jobID string, kind Kind, cycle string, fn func(*Link) error) error
	// ExportedMembers calls fn with the source IDs of the members last
	// exported to a group, in no particular order. Memberships live in a
	// table of their own, one row each, so that a group of 100,000 members
	// costs one row per change, not a rewrite of the list.
	ExportedMembers(ctx context.Context, jobID, groupSourceID string, fn func(memberSourceID string) error) error
	// MemberOf returns the source IDs of the groups whose exported members
	// include memberSourceID.
	MemberOf(ctx context.Context, jobID, memberSourceID string) ([]string, error)
	// ChangeMembers records members added to and removed from a group's
	// export, in one transaction.
	ChangeMembers(ctx context.Context, jobID, groupSourceID string, add, remove []string) error

	// CountLinks counts a job's links by kind and state.
	CountLinks(ctx context.Context, jobID string) (map[Kind]map[LinkState]int, error)

	// AcquireLease takes or renews the job's lease for holder until
	// now+ttl. It succeeds when the lease is free, expired or already
	// holder's, and reports whether holder has it.
	AcquireLease(ctx context.Context, jobID, holder string, ttl time.Duration) (bool, error)
	// ReleaseLease gives the lease up if holder has it.
	ReleaseLease(ctx context.Context, jobID, holder string) error

	// AppendLog stores provisioning-log entries, in one transaction.
	AppendLog(ctx context.Context, entries []*LogEntry) error
	// QueryLog returns entries, newest first.
	QueryLog(ctx context.Context, q LogQuery) ([]*LogEntry, error)
	// PruneLog deletes the entries of every job older than before and
	// returns how many.
	PruneLog(ctx context.Context, before time.Time) (int64, error)
}
