package roster

import (
	"context"
	"time"
)

// RequestEntry is one SCIM request to a directory as the request log keeps
// it: enough to answer "why didn't my user show up?" without holding
// personal data. Summary names operations, attribute paths, counts and
// booleans but never an attribute value; Body is empty unless the
// directory's body capture is on, and then has its secrets redacted.
//
// A request that failed authentication has no credential, and its OrgID is
// that of the directory in its path.
type RequestEntry struct {
	ID             int64         `json:"id"`
	Time           time.Time     `json:"time"` // when the request arrived
	OrgID          string        `json:"organization_id"`
	DirectoryID    string        `json:"directory_id"`
	CredentialKind string        `json:"credential_kind,omitempty"` // "key" or "oauth"; "" when authentication failed
	CredentialID   string        `json:"credential_id,omitempty"`   // the API key id or OAuth client id
	CredentialName string        `json:"credential_name,omitempty"`
	Method         string        `json:"method"`
	Route          string        `json:"route"` // the route pattern, e.g. /v1/scim/{idp}/Users/{id}
	ResourceType   string        `json:"resource_type,omitempty"`
	ResourceID     string        `json:"resource_id,omitempty"`
	Summary        string        `json:"summary"` // e.g. "PATCH replace active=false", "PATCH add 3 members"
	Status         int           `json:"status"`
	SCIMType       string        `json:"scim_type,omitempty"`
	Latency        time.Duration `json:"latency_ns"`
	RequestID      string        `json:"request_id"`
	Body           string        `json:"body,omitempty"`
	// Ignored lists the attribute paths the directory's profile dropped
	// from the request; the recorder notes them in Summary.
	Ignored []string `json:"-"`
}

// Request log query bounds: a page holds DefaultRequestLimit entries unless
// the query asks otherwise, and never more than MaxRequestLimit, so that one
// query cannot read a month of traffic into memory.
const (
	DefaultRequestLimit = 100
	MaxRequestLimit     = 1000
)

// RequestQuery selects request log entries of one organization, newest
// first. Zero fields do not filter.
type RequestQuery struct {
	OrgID       string // required: the log of one organization is invisible to others
	DirectoryID string
	Since       time.Time // entries at or after Since
	Until       time.Time // entries before Until
	Status      int       // an exact status, e.g. 409
	StatusClass int       // 1 to 5: 4 selects every 4xx
	ResourceID  string
	// Operation matches a substring of Summary, case-insensitively:
	// "PATCH", "add", "members", "active=false".
	Operation string
	Limit     int   // 0 means DefaultRequestLimit; capped at MaxRequestLimit
	Before    int64 // cursor: only entries listed after the entry with this ID
}

// RequestLogStore keeps the request log. Entries are written in batches off
// the request path (see package reqlog), so appending never delays a SCIM
// response.
type RequestLogStore interface {
	// AppendRequests stores entries in one transaction (it does not set
	// their IDs). An entry without OrgID or DirectoryID is EINVALID, and
	// then none of the batch is stored.
	AppendRequests(ctx context.Context, entries []RequestEntry) error

	// QueryRequests returns the entries matching q, newest first. Returns
	// EINVALID when q.OrgID is empty, StatusClass is not 0 to 5, or Limit
	// is negative.
	QueryRequests(ctx context.Context, q RequestQuery) ([]RequestEntry, error)

	// PruneRequests deletes every entry older than before and returns how
	// many it deleted. It deletes in small transactions so that pruning a
	// large log does not hold the database's single writer for long.
	PruneRequests(ctx context.Context, before time.Time) (int64, error)

	// SetBodyCapture switches body capture for a directory of the
	// organization. Returns ENOTFOUND for a directory of another
	// organization or none.
	SetBodyCapture(ctx context.Context, orgID, dirID string, on bool) error
}
