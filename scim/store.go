package scim

import "context"

// ListQuery is a resolved list or search request.
type ListQuery struct {
	// Filter is resolved (ResourceType.ResolveFilter), or nil for all.
	Filter Expr
	// SortBy is the resolved sort attribute, or nil for the store's stable
	// default order (creation order).
	SortBy     *Target
	Descending bool
	StartIndex int // 1-based; values below 1 are read as 1
	Count      int // page size; 0 asks only for the total
	// WithMembers loads group members; false skips the membership table.
	WithMembers bool
}

// ListResult is one page of a list.
type ListResult struct {
	Total     int
	Resources []*Resource
}

// UpdateFunc computes a resource's new document from its current state. It
// runs inside the store's write transaction, so the read, the check and the
// write are atomic. Returning an error aborts the update with nothing
// written.
type UpdateFunc func(cur *Resource) (attrs map[string]any, members []MemberOp, err error)

// Store keeps the Users and Groups of directories. Every method is scoped by
// directory id: a store never returns a resource of another directory.
type Store interface {
	// Create stores a new resource (ID, times and version are set by the
	// store) with its initial members (groups). Returns ECONFLICT with
	// scimType uniqueness when userName (users) or displayName (groups) is
	// taken in the directory (case-insensitively), and EINVALID with
	// invalidValue when a member id does not exist in the directory.
	Create(ctx context.Context, dir string, r *Resource, members []string) (*Resource, error)

	// Get returns a resource. withMembers loads group members. Returns
	// ENOTFOUND when the directory has no such resource of that type.
	Get(ctx context.Context, dir, typ, id string, withMembers bool) (*Resource, error)

	// List returns the total number of matches and one page of them.
	// Returns EINVALID with invalidFilter for filters it cannot run.
	List(ctx context.Context, dir, typ string, q ListQuery) (*ListResult, error)

	// Update reads the resource, checks ifMatch against its version when
	// ifMatch is not 0 (EPRECONDITION on mismatch), applies fn and writes
	// the result with a new version. An update that changes neither the
	// document nor a membership writes nothing and keeps the version, so
	// that retries do not show up in `meta.lastModified gt` queries. Returns ENOTFOUND, ECONFLICT
	// (uniqueness) and EINVALID (unknown member ids) as Create does.
	Update(ctx context.Context, dir, typ, id string, ifMatch int64, withMembers bool, fn UpdateFunc) (*Resource, error)

	// Delete removes a resource and every membership that names it.
	// Returns ENOTFOUND, or EPRECONDITION when ifMatch is set and stale.
	Delete(ctx context.Context, dir, typ, id string, ifMatch int64) error
}
