package scimhttp

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/roster-scim/roster"
	"github.com/roster-scim/roster/scim"
)

// respond writes one resource with its ETag, after projection.
func (s *Server) respond(w http.ResponseWriter, status int, t *tenant, res *scim.Resource, p scim.Projection) error {
	doc := p.Apply(scim.Render(t.rt, res, t.base))
	w.Header().Set("ETag", res.ETag())
	if status == http.StatusCreated {
		w.Header().Set("Location", t.base+t.rt.Endpoint+"/"+res.ID)
	}
	writeJSON(w, status, doc)
	return nil
}

func projection(r *http.Request, rt *scim.ResourceType) scim.Projection {
	q := r.URL.Query()
	return rt.ParseProjection(q.Get("attributes"), q.Get("excludedAttributes"))
}

// readResource decodes and normalizes a POST or PUT body and fits it to
// the directory's profile.
func (s *Server) readResource(w http.ResponseWriter, r *http.Request, t *tenant) (map[string]any, []string, error) {
	var body map[string]any
	if err := s.decodeBody(w, r, &body); err != nil {
		return nil, nil, err
	}
	if body == nil {
		return nil, nil, roster.SCIMErrorf(roster.ScimInvalidSyntax, "the request body must be a JSON object")
	}
	attrs, members, err := scim.Normalize(t.rt, body)
	if err != nil {
		return nil, nil, err
	}
	if err := scim.CheckRequired(t.rt, attrs); err != nil {
		return nil, nil, err
	}
	attrs, err = s.admit(r.Context(), t, attrs, members)
	return attrs, members, err
}

// admit fits a document about to be stored to the directory's profile: it
// drops what the profile does not support, noting it for the request log,
// then checks the profile's rules, including the types of the members
// being added.
func (s *Server) admit(ctx context.Context, t *tenant, attrs map[string]any, added []string) (map[string]any, error) {
	attrs, t.ignored = t.profile.Prune(t.rt, attrs)
	noteIgnored(ctx, t.ignored)
	members, err := s.disallowedMembers(ctx, t, added)
	if err != nil {
		return nil, err
	}
	return attrs, t.profile.Validate(t.rt, attrs, members...)
}

// memberBatch is how many ids one disallowedMembers query looks up: few
// enough that the filter's SQL stays small, many enough that a PUT of a
// large group takes few queries.
const memberBatch = 200

// disallowedMembers returns, with their type, the members among ids whose
// type the profile does not take, for Validate to reject. The store's
// membership operations carry ids only, so it asks the store: only for a
// profile that restricts member types, and only for the types it
// disallows, a batch of ids per query. Ids of no resource are left to the
// store, which rejects them.
func (s *Server) disallowedMembers(ctx context.Context, t *tenant, ids []string) ([]scim.Member, error) {
	allowed := t.profile.MemberTypes(t.rt)
	if allowed == nil || len(ids) == 0 {
		return nil, nil
	}
	var out []scim.Member
	for _, typ := range []string{scim.UserType, scim.GroupType} {
		if slices.Contains(allowed, typ) {
			continue
		}
		for batch := range slices.Chunk(ids, memberBatch) {
			res, err := s.store.List(ctx, t.dir, typ, scim.ListQuery{Filter: idFilter(batch), StartIndex: 1, Count: len(batch)})
			if err != nil {
				return nil, err
			}
			for _, m := range res.Resources {
				out = append(out, scim.Member{Value: m.ID, Type: typ})
			}
		}
	}
	return out, nil
}

// idFilter returns `id eq ids[0] or id eq ids[1] ...` as a balanced tree,
// so that the SQL it compiles to nests log(n) deep, not n.
func idFilter(ids []string) scim.Expr {
	if len(ids) == 1 {
		return &scim.CompareExpr{Path: scim.Path{Attr: "id"}, Op: "eq", Value: ids[0]}
	}
	return &scim.LogicalExpr{Op: "or", Left: idFilter(ids[:len(ids)/2]), Right: idFilter(ids[len(ids)/2:])}
}

func (s *Server) create(w http.ResponseWriter, r *http.Request, t *tenant) error {
	attrs, members, err := s.readResource(w, r, t)
	if err != nil {
		return err
	}
	res, err := s.store.Create(r.Context(), t.dir, &scim.Resource{Type: t.rt.Name, Attrs: attrs}, members)
	if err != nil {
		return err
	}
	return s.respond(w, http.StatusCreated, t, res, projection(r, t.rt))
}

func (s *Server) get(w http.ResponseWriter, r *http.Request, t *tenant) error {
	p := projection(r, t.rt)
	res, err := s.store.Get(r.Context(), t.dir, t.rt.Name, t.id, p.Wants("members"))
	if err != nil {
		return err
	}
	if inm := r.Header.Get("If-None-Match"); inm != "" && etagMatches(inm, res.ETag()) {
		w.Header().Set("ETag", res.ETag())
		return roster.Errorf(roster.ENOTMODIFIED, "not modified")
	}
	return s.respond(w, http.StatusOK, t, res, p)
}

func (s *Server) replace(w http.ResponseWriter, r *http.Request, t *tenant) error {
	ifMatch, err := s.ifMatch(r, t)
	if err != nil {
		return err
	}
	attrs, members, err := s.readResource(w, r, t)
	if err != nil {
		return err
	}
	p := projection(r, t.rt)
	res, err := s.store.Update(r.Context(), t.dir, t.rt.Name, t.id, ifMatch, p.Wants("members"), func(*scim.Resource) (map[string]any, []scim.MemberOp, error) {
		if t.rt.Name != scim.GroupType {
			return attrs, nil, nil
		}
		// PUT replaces the whole group, membership included (Okta relies on it).
		return attrs, []scim.MemberOp{{Op: "clear"}, {Op: "add", IDs: members}}, nil
	})
	if err != nil {
		return err
	}
	return s.respond(w, http.StatusOK, t, res, p)
}

func (s *Server) patch(w http.ResponseWriter, r *http.Request, t *tenant) error {
	ifMatch, err := s.ifMatch(r, t)
	if err != nil {
		return err
	}
	var req scim.PatchRequest
	if err := s.decodeBody(w, r, &req); err != nil {
		return err
	}
	if len(req.Operations) == 0 {
		return roster.SCIMErrorf(roster.ScimInvalidValue, "the PATCH body needs an Operations array with at least one operation")
	}
	q := r.URL.Query()
	// Groups answer 204, as Entra expects (it never reads members back),
	// unless the client asks for attributes explicitly.
	wantBody := t.rt.Name == scim.UserType || q.Has("attributes") || q.Has("excludedAttributes")
	p := projection(r, t.rt)
	res, err := s.store.Update(r.Context(), t.dir, t.rt.Name, t.id, ifMatch, wantBody && p.Wants("members"), func(cur *scim.Resource) (map[string]any, []scim.MemberOp, error) {
		// Stored values the profile does not support (kept from before a
		// change of profile) are dropped unnoted: this request did not
		// send them. The result is then checked as a whole.
		stored, _ := t.profile.Prune(t.rt, cur.Attrs)
		attrs, ops, err := scim.ApplyPatch(t.rt, stored, req.Operations)
		if err != nil {
			return nil, nil, err
		}
		var added []string
		for _, op := range ops {
			if op.Op == "add" {
				added = append(added, op.IDs...)
			}
		}
		attrs, err = s.admit(r.Context(), t, attrs, added)
		return attrs, ops, err
	})
	if err != nil {
		return err
	}
	if !wantBody {
		w.Header().Set("ETag", res.ETag())
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	return s.respond(w, http.StatusOK, t, res, p)
}

func (s *Server) delete(w http.ResponseWriter, r *http.Request, t *tenant) error {
	ifMatch, err := s.ifMatch(r, t)
	if err != nil {
		return err
	}
	if err := s.store.Delete(r.Context(), t.dir, t.rt.Name, t.id, ifMatch); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// ifMatch reads If-Match as the version a write must find. "*" and an
// absent header both mean "any version" (0); ETags are never required. With
// a list of ETags, the current version is read and kept if it is listed; the
// store checks it again inside its write transaction, so a change in between
// still gets 412.
func (s *Server) ifMatch(r *http.Request, t *tenant) (int64, error) {
	h := strings.TrimSpace(r.Header.Get("If-Match"))
	if h == "" || h == "*" {
		return 0, nil
	}
	if !strings.Contains(h, ",") {
		if v, ok := etagVersion(h); ok {
			return v, nil
		}
		return -1, nil // an ETag we never issued cannot match
	}
	cur, err := s.store.Get(r.Context(), t.dir, t.rt.Name, t.id, false)
	if err != nil {
		return 0, err
	}
	if etagMatches(h, cur.ETag()) {
		return cur.Version, nil
	}
	return -1, nil
}

func etagVersion(tag string) (int64, bool) {
	tag = strings.TrimPrefix(strings.TrimSpace(tag), "W/")
	tag = strings.Trim(tag, `"`)
	v, err := strconv.ParseInt(tag, 10, 64)
	return v, err == nil && v > 0
}

// etagMatches implements the weak comparison of If-None-Match.
func etagMatches(header, etag string) bool {
	want, _ := etagVersion(etag)
	for _, part := range strings.Split(header, ",") {
		if strings.TrimSpace(part) == "*" {
			return true
		}
		if v, ok := etagVersion(part); ok && v == want {
			return true
		}
	}
	return false
}

// listParams are the query parameters of a list or search (RFC 7644 §3.4.2).
type listParams struct {
	filter, sortBy, sortOrder, attributes, excluded string
	startIndex, count                               string
}

func (s *Server) list(w http.ResponseWriter, r *http.Request, t *tenant) error {
	q := r.URL.Query()
	return s.runList(w, r, t, listParams{
		filter: q.Get("filter"), sortBy: q.Get("sortBy"), sortOrder: q.Get("sortOrder"),
		attributes: q.Get("attributes"), excluded: q.Get("excludedAttributes"),
		startIndex: q.Get("startIndex"), count: q.Get("count"),
	})
}

// searchRequest is the body of POST /.search (RFC 7644 §3.4.3).
type searchRequest struct {
	Schemas            []string     `json:"schemas"`
	Attributes         []string     `json:"attributes"`
	ExcludedAttributes []string     `json:"excludedAttributes"`
	Filter             string       `json:"filter"`
	SortBy             string       `json:"sortBy"`
	SortOrder          string       `json:"sortOrder"`
	StartIndex         *json.Number `json:"startIndex"`
	Count              *json.Number `json:"count"`
}

func (s *Server) search(w http.ResponseWriter, r *http.Request, t *tenant) error {
	var req searchRequest
	if err := s.decodeBody(w, r, &req); err != nil {
		return err
	}
	p := listParams{filter: req.Filter, sortBy: req.SortBy, sortOrder: req.SortOrder,
		attributes: strings.Join(req.Attributes, ","), excluded: strings.Join(req.ExcludedAttributes, ",")}
	p.startIndex, p.count = numberParam(req.StartIndex), numberParam(req.Count)
	return s.runList(w, r, t, p)
}

func (s *Server) runList(w http.ResponseWriter, r *http.Request, t *tenant, lp listParams) error {
	q := scim.ListQuery{StartIndex: 1, Count: s.cfg.DefaultCount}
	if lp.filter != "" {
		f, err := scim.ParseFilter(lp.filter)
		if err != nil {
			return err
		}
		if q.Filter, err = t.rt.ResolveFilter(f); err != nil {
			return err
		}
		if err := t.profile.CheckFilter(t.rt, q.Filter); err != nil {
			return err
		}
	}
	if lp.sortBy != "" {
		target, ok := sortTarget(t.rt, lp.sortBy)
		if !ok {
			return roster.SCIMErrorf(roster.ScimInvalidValue, "sortBy %q names no attribute of %s", lp.sortBy, t.rt.Name)
		}
		q.SortBy = &target
	}
	switch strings.ToLower(lp.sortOrder) {
	case "", "ascending":
	case "descending":
		q.Descending = true
	default:
		return roster.SCIMErrorf(roster.ScimInvalidValue, "sortOrder must be \"ascending\" or \"descending\", got %q", lp.sortOrder)
	}
	var err error
	if q.StartIndex, err = intParam("startIndex", lp.startIndex, 1); err != nil {
		return err
	}
	q.StartIndex = max(q.StartIndex, 1) // RFC 7644 §3.4.2.4: values below 1 are read as 1
	if q.Count, err = intParam("count", lp.count, s.cfg.DefaultCount); err != nil {
		return err
	}
	q.Count = min(max(q.Count, 0), s.cfg.MaxResults)
	p := t.rt.ParseProjection(lp.attributes, lp.excluded)
	q.WithMembers = p.Wants("members")
	res, err := s.store.List(r.Context(), t.dir, t.rt.Name, q)
	if err != nil {
		return err
	}
	out := make([]any, 0, len(res.Resources))
	for _, rsc := range res.Resources {
		out = append(out, p.Apply(scim.Render(t.rt, rsc, t.base)))
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"schemas":      []string{scim.ListResponseURN},
		"totalResults": res.Total,
		"startIndex":   q.StartIndex,
		"itemsPerPage": len(out),
		"Resources":    out,
	})
	return nil
}

// sortTarget resolves a sortBy attribute path; filters are not allowed.
func sortTarget(rt *scim.ResourceType, sortBy string) (scim.Target, bool) {
	pp, err := scim.ParsePatchPath(sortBy)
	if err != nil || pp.Filter != nil {
		return scim.Target{}, false
	}
	target, ok := rt.Lookup(pp.Path)
	return target, ok && !target.WholeExt
}

// numberParam turns a JSON number of a search body into the text of a
// query parameter, accepting integral values written as 5.0 or 5e0.
func numberParam(n *json.Number) string {
	if n == nil {
		return ""
	}
	if f, err := n.Float64(); err == nil && f == math.Trunc(f) && math.Abs(f) < 1e18 {
		return strconv.FormatInt(int64(f), 10)
	}
	return n.String()
}

func intParam(name, v string, def int) (int, error) {
	if v == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 32)
	if errors.Is(err, strconv.ErrRange) {
		// Beyond any page: clamp, so that count is capped and startIndex
		// gives an empty page rather than an error.
		if strings.HasPrefix(strings.TrimSpace(v), "-") {
			return math.MinInt32, nil
		}
		return math.MaxInt32, nil
	}
	if err != nil {
		return 0, roster.SCIMErrorf(roster.ScimInvalidValue, "%s must be an integer, got %q", name, v)
	}
	return int(n), nil
}
