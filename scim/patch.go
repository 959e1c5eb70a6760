package scim

import (
	"encoding/json"
	"maps"
	"strings"
	"unicode"

	"github.com/roster-scim/roster"
)

// PatchRequest is the body of a PATCH (RFC 7644 §3.5.2).
type PatchRequest struct {
	Schemas    []string  `json:"schemas"`
	Operations []PatchOp `json:"Operations"`
}

// PatchOp is one operation. Op is matched case-insensitively because Entra
// sends "Add", "Replace" and "Remove".
type PatchOp struct {
	Op    string `json:"op"`
	Path  string `json:"path"`
	Value any    `json:"value"`
}

// MemberOp is a change to a group's membership produced by a PATCH or PUT.
// Memberships live in their own table, so the applier hands these to the
// store instead of rewriting a member list: adding k members costs O(k).
type MemberOp struct {
	Op  string // "add", "remove" or "clear"
	IDs []string
	// Filter, on a remove, selects the members to remove by a filter other
	// than `value eq` (members[type eq "Group"], members[display sw "A"]);
	// the store evaluates it with MatchMember against the current members.
	Filter Expr
}

// Patch ops.
const (
	opAdd     = "add"
	opReplace = "replace"
	opRemove  = "remove"
)

// maxPatchOps bounds the work one request can ask for.
const maxPatchOps = 1000

// ApplyPatch applies the operations in order to a copy of attrs and returns
// the new document and the membership changes. It is all or nothing: on
// error the caller's attrs are untouched and nothing is to be stored.
func ApplyPatch(rt *ResourceType, attrs map[string]any, ops []PatchOp) (map[string]any, []MemberOp, error) {
	if len(ops) == 0 {
		return nil, nil, roster.SCIMErrorf(roster.ScimInvalidValue, "a PATCH needs at least one operation in Operations")
	}
	if len(ops) > maxPatchOps {
		return nil, nil, roster.SCIMErrorf(roster.ScimTooMany, "a PATCH may hold at most %d operations, got %d", maxPatchOps, len(ops))
	}
	doc, _ := deepCopy(attrs).(map[string]any)
	if doc == nil {
		doc = map[string]any{}
	}
	p := &patcher{rt: rt, doc: doc}
	for i, op := range ops {
		err := p.apply(op)
		if err == nil {
			err = checkValueCounts(rt, p.doc)
		}
		if err != nil {
			if e, ok := err.(*roster.Error); ok {
				e.Message = "Operations[" + itoa(int64(i)) + "]: " + e.Message
			}
			return nil, nil, err
		}
	}
	if err := CheckRequired(rt, p.doc); err != nil {
		return nil, nil, err
	}
	return p.doc, p.members, nil
}

type patcher struct {
	rt      *ResourceType
	doc     map[string]any
	members []MemberOp
}

func (p *patcher) apply(op PatchOp) error {
	kind := strings.ToLower(strings.TrimSpace(op.Op))
	if kind != opAdd && kind != opReplace && kind != opRemove {
		return roster.SCIMErrorf(roster.ScimInvalidValue, "op must be \"add\", \"replace\" or \"remove\", got %q", op.Op)
	}
	if strings.TrimSpace(op.Path) == "" {
		if kind == opRemove {
			return roster.SCIMErrorf(roster.ScimNoTarget, "remove needs a path")
		}
		obj, ok := op.Value.(map[string]any)
		if !ok {
			return roster.SCIMErrorf(roster.ScimInvalidValue, "an %s without a path needs an object value whose keys are attribute paths", kind)
		}
		return p.applyObject(kind, obj, "")
	}
	t, filter, ok, err := resolveKey(p.rt, op.Path)
	if err != nil {
		return err
	}
	if !ok {
		return roster.SCIMErrorf(roster.ScimInvalidPath, "path %q names no attribute of %s", op.Path, p.rt.Name)
	}
	return p.applyTarget(kind, t, filter, op.Value, true)
}

// applyObject applies a path-less add/replace: each key is itself a path,
// which may be dotted (`name.givenName`), URN-qualified or carry a value
// filter, as Entra sends in its aadOptscim062020 dialect. Unknown and
// server-owned keys (Okta sends `id`) are ignored. Keys are applied in
// sortedKeys order, so a key that refines another ("name.givenName" after
// "name") wins whatever the map order.
func (p *patcher) applyObject(kind string, obj map[string]any, urn string) error {
	for _, k := range sortedKeys(obj) {
		key := k
		if urn != "" {
			key = urn + ":" + k
		}
		t, filter, ok, err := resolveKey(p.rt, key)
		if err != nil || !ok {
			continue
		}
		if err := p.applyTarget(kind, t, filter, obj[k], false); err != nil {
			return err
		}
	}
	return nil
}

func (p *patcher) applyTarget(kind string, t Target, filter Expr, value any, explicit bool) error {
	if t.WholeExt {
		if kind == opRemove {
			delete(p.doc, t.Ext)
			return nil
		}
		obj, ok := value.(map[string]any)
		if !ok {
			return roster.SCIMErrorf(roster.ScimInvalidValue, "the value for %s must be an object", t.Ext)
		}
		return p.applyObject(kind, obj, t.Ext)
	}
	name := t.Path().String()
	if (t.Common && t.Attr.Name != "externalId") || t.Attr.Mutability == ReadOnly {
		if explicit {
			return roster.SCIMErrorf(roster.ScimMutability, "%s is read-only", name)
		}
		return nil
	}
	if discarded(t.Leaf()) {
		return nil
	}
	if p.rt.Name == GroupType && t.Ext == "" && t.Attr.Name == "members" {
		return p.applyMembers(kind, t, filter, value)
	}
	if explicit && kind != opRemove && value == nil {
		return roster.SCIMErrorf(roster.ScimInvalidValue, "%s of %s needs a value", kind, name)
	}
	c := container(p.doc, t.Ext)
	defer pruneExt(p.doc, t.Ext)
	if filter != nil {
		return p.applyFiltered(kind, c, t, filter, value)
	}
	if t.Sub != nil {
		return p.applySub(kind, c, t, value)
	}
	a := t.Attr
	switch {
	case kind == opRemove && value != nil && a.MultiValued:
		return removeValues(c, a, value)
	case kind == opRemove:
		delete(c, a.Name)
		return nil
	case a.MultiValued:
		nv, err := normalizeValue(a, value, name)
		if err != nil {
			return err
		}
		list, _ := nv.([]any)
		if kind == opAdd {
			old := asList(c[a.Name])
			list = appendUnique(old, list)
			keepOnePrimary(list, func(i int) bool { return i >= len(old) })
		}
		setOrDelete(c, a.Name, list)
		return nil
	case a.Type == TypeComplex && a.Name != "manager":
		obj, ok := value.(map[string]any)
		if !ok {
			return roster.SCIMErrorf(roster.ScimInvalidValue, "%s must be an object", name)
		}
		// RFC 7644 §3.5.2.1 and §3.5.2.3: the sub-attributes given replace
		// or add; those not given are left unchanged.
		cur, _ := c[a.Name].(map[string]any)
		if cur == nil {
			cur = map[string]any{}
		}
		for _, k := range sortedKeys(obj) {
			if sub := a.Sub(k); sub != nil {
				if err := setNormalized(cur, sub, obj[k], name+"."+sub.Name); err != nil {
					return err
				}
			}
		}
		setOrDelete(c, a.Name, cur)
		return nil
	default:
		nv, err := normalizeValue(a, value, name)
		if err != nil {
			return err
		}
		setOrDelete(c, a.Name, nv)
		return nil
	}
}

// applySub handles `attr.sub` without a filter: on a single complex
// attribute it sets or removes the sub-attribute; on a multi-valued one it
// applies to every element (and add creates an element when there is none).
func (p *patcher) applySub(kind string, c map[string]any, t Target, value any) error {
	if kind == opRemove {
		value = nil // setting a sub-attribute to null removes it
	}
	if !t.Attr.MultiValued {
		return setSubValue(c, t, value)
	}
	list := asList(c[t.Attr.Name])
	if len(list) == 0 && value != nil {
		list = []any{map[string]any{}}
	}
	for _, e := range list {
		if em, ok := e.(map[string]any); ok {
			if err := setNormalized(em, t.Sub, value, t.Path().String()); err != nil {
				return err
			}
		}
	}
	keepOnePrimary(list, func(int) bool { return true })
	setOrDelete(c, t.Attr.Name, dropEmpty(list))
	return nil
}

// applyFiltered handles `attr[filter]` and `attr[filter].sub`.
func (p *patcher) applyFiltered(kind string, c map[string]any, t Target, filter Expr, value any) error {
	name := t.Path().String()
	if !t.Attr.MultiValued || t.Attr.Type != TypeComplex {
		return roster.SCIMErrorf(roster.ScimInvalidPath, "%s is not a multi-valued complex attribute, so it cannot take a [filter]", t.Attr.Name)
	}
	parent := Target{Ext: t.Ext, Attr: t.Attr}
	f, err := p.rt.resolve(filter, &parent)
	if err != nil {
		return roster.SCIMErrorf(roster.ScimInvalidPath, "%s", roster.ErrorMessage(err))
	}
	list := asList(c[t.Attr.Name])
	matched := map[int]bool{}
	for i, e := range list {
		if em, ok := e.(map[string]any); ok && matchElement(f, em, t.Attr) {
			matched[i] = true
		}
	}
	if kind == opRemove {
		kept := list[:0:0]
		for i, e := range list {
			switch {
			case !matched[i]:
				kept = append(kept, e)
			case t.Sub != nil:
				delete(e.(map[string]any), t.Sub.Name)
				kept = append(kept, e)
			}
		}
		setOrDelete(c, t.Attr.Name, dropEmpty(kept))
		return nil
	}
	// seed holds the filter's equality terms: what an element must keep to
	// go on matching the filter (see below).
	seed, seeded := seedFromFilter(f)
	if len(matched) == 0 {
		// Entra sends `Add` (and sometimes `Replace`) on
		// emails[type eq "work"].value for a user with no work email: create
		// the element from the filter's equality terms.
		if !seeded {
			return roster.SCIMErrorf(roster.ScimNoTarget, "no value of %s matches the filter in %q", t.Attr.Name, name)
		}
		el := map[string]any{}
		for _, k := range sortedKeys(seed) {
			if err := setNormalized(el, t.Attr.Sub(k), seed[k], t.Attr.Name+"."+k); err != nil {
				return err
			}
		}
		matched[len(list)] = true
		list = append(list, el)
	}
	for i, e := range list {
		if !matched[i] {
			continue
		}
		em := e.(map[string]any)
		if t.Sub != nil {
			if err := setNormalized(em, t.Sub, value, name); err != nil {
				return err
			}
			continue
		}
		obj, ok := value.(map[string]any)
		if !ok {
			return roster.SCIMErrorf(roster.ScimInvalidValue, "%s needs an object value", name)
		}
		nv, err := normalizeSingle(t.Attr, obj, name)
		if err != nil {
			return err
		}
		if kind == opReplace {
			// A replace without a sub-attribute replaces the element but
			// keeps the sub-attributes the filter pins (`type` of
			// emails[type eq "home"]), so the element goes on matching
			// the path: otherwise a seeded element would lose its type and
			// every retry of the request would append another one. The
			// element's own spelling is kept; the value may override it.
			kept := map[string]any{}
			for k := range seed {
				if v, ok := em[k]; ok {
					kept[k] = v
				}
			}
			clear(em)
			maps.Copy(em, kept)
		}
		if nm, ok := nv.(map[string]any); ok {
			maps.Copy(em, nm)
		}
	}
	keepOnePrimary(list, func(i int) bool { return matched[i] })
	setOrDelete(c, t.Attr.Name, dropEmpty(list))
	return nil
}

// applyMembers turns operations on a group's members into MemberOps.
func (p *patcher) applyMembers(kind string, t Target, filter Expr, value any) error {
	if t.Sub != nil {
		return roster.SCIMErrorf(roster.ScimInvalidPath, "members.%s cannot be changed; add or remove members by value", t.Sub.Name)
	}
	if filter != nil {
		if kind != opRemove {
			return roster.SCIMErrorf(roster.ScimInvalidPath, "members[filter] is supported only with remove; to change members, remove and add them by value")
		}
		if ids, ok := memberFilterIDs(filter); ok {
			// The common case (Entra's aadOptscim062020 dialect) costs
			// one lookup per id, not a read of the whole group.
			p.members = append(p.members, MemberOp{Op: opRemove, IDs: ids})
			return nil
		}
		f, err := p.rt.resolve(filter, &Target{Attr: t.Attr})
		if err != nil {
			return roster.SCIMErrorf(roster.ScimInvalidPath, "%s", roster.ErrorMessage(err))
		}
		p.members = append(p.members, MemberOp{Op: opRemove, Filter: f})
		return nil
	}
	var ids []string
	if value != nil {
		var err error
		if ids, err = memberIDs(value); err != nil {
			return err
		}
	}
	// Replace is clear-then-add. An empty list of ids is left out: adding or
	// removing nobody is a no-op, and stores need not handle it.
	if kind == opReplace || (kind == opRemove && value == nil) {
		p.members = append(p.members, MemberOp{Op: "clear"})
	}
	if len(ids) > 0 {
		op := opAdd
		if kind == opRemove {
			op = opRemove
		}
		p.members = append(p.members, MemberOp{Op: op, IDs: ids})
	}
	return nil
}

// memberFilterIDs reads `value eq "a"` or `value eq "a" or value eq "b"`.
func memberFilterIDs(e Expr) ([]string, bool) {
	switch e := e.(type) {
	case *CompareExpr:
		s, ok := e.Value.(string)
		if !ok || e.Op != "eq" || !strings.EqualFold(e.Path.Attr, "value") || e.Path.Sub != "" || e.Path.URN != "" {
			return nil, false
		}
		return []string{s}, true
	case *LogicalExpr:
		if e.Op != "or" {
			return nil, false
		}
		l, ok1 := memberFilterIDs(e.Left)
		r, ok2 := memberFilterIDs(e.Right)
		return append(l, r...), ok1 && ok2
	}
	return nil, false
}

// seedFromFilter collects the `sub eq value` terms of an and-only filter.
func seedFromFilter(e Expr) (map[string]any, bool) {
	switch e := e.(type) {
	case *CompareExpr:
		if e.Op != "eq" || e.Value == nil {
			return nil, false
		}
		return map[string]any{e.Path.Attr: e.Value}, true
	case *LogicalExpr:
		if e.Op != "and" {
			return nil, false
		}
		l, ok1 := seedFromFilter(e.Left)
		r, ok2 := seedFromFilter(e.Right)
		if !ok1 || !ok2 {
			return nil, false
		}
		for k, v := range r {
			l[k] = v
		}
		return l, true
	}
	return nil, false
}

// removeValues removes the elements of a multi-valued attribute that equal
// one of the given values (compared on their value sub-attribute).
func removeValues(c map[string]any, a *Attribute, value any) error {
	nv, err := normalizeValue(a, value, a.Name)
	if err != nil {
		return err
	}
	drop := valueIndex{}
	for _, d := range asList(nv) {
		drop.add(d)
	}
	kept := []any{}
	for _, e := range asList(c[a.Name]) {
		if !drop.has(e, func(x, y any) bool { return sameValue(x, y, a) }) {
			kept = append(kept, e)
		}
	}
	setOrDelete(c, a.Name, kept)
	return nil
}

// appendUnique appends the values of add that are not already in list
// (RFC 7644 §3.5.2.1: adding a value that is there changes nothing).
func appendUnique(list, add []any) []any {
	seen := valueIndex{}
	for _, x := range list {
		seen.add(x)
	}
	for _, v := range add {
		if !seen.has(v, equalJSON) {
			list = append(list, v)
			seen.add(v)
		}
	}
	return list
}

// valueIndex buckets the values of a multi-valued attribute by valueKey, so
// that looking a value up among n costs O(1), not O(n): with pairwise
// comparison, one PATCH adding or removing a few thousand values took
// minutes inside the store's write transaction.
type valueIndex map[string][]any

func (ix valueIndex) add(v any) {
	k := valueKey(v)
	ix[k] = append(ix[k], v)
}

// has reports whether the index holds a value equal to v. eq must imply
// equal valueKeys, as equalJSON and sameValue do.
func (ix valueIndex) has(v any, eq func(x, y any) bool) bool {
	for _, x := range ix[valueKey(v)] {
		if eq(x, v) {
			return true
		}
	}
	return false
}

// valueKey is the bucket of a value: its value sub-attribute (or itself, for
// a simple value) case-folded when it is a string, else its JSON text.
// Values that sameValue or equalJSON call equal always share a bucket.
func valueKey(v any) string {
	if m, ok := v.(map[string]any); ok {
		if m["value"] == nil {
			return "j" + jsonText(m)
		}
		v = m["value"]
	}
	if s, ok := v.(string); ok {
		return "s" + foldKey(s)
	}
	return "j" + jsonText(v)
}

// foldKey maps s to a string that is the same for every t with
// strings.EqualFold(s, t): each rune is replaced by the smallest rune of its
// simple case-folding orbit, which is the relation EqualFold tests rune by
// rune.
func foldKey(s string) string {
	var b strings.Builder
	for _, r := range s {
		low := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			low = min(low, f)
		}
		b.WriteRune(low)
	}
	return b.String()
}

// sameValue compares two values of a multi-valued attribute: complex
// elements by their value (and type, when both have one), simple ones by
// equality that honours caseExact.
func sameValue(x, y any, a *Attribute) bool {
	xm, ok1 := x.(map[string]any)
	ym, ok2 := y.(map[string]any)
	if !ok1 || !ok2 {
		return sameScalar(x, y, !a.CaseExact)
	}
	if xm["value"] == nil && ym["value"] == nil {
		return equalJSON(xm, ym)
	}
	if xt, yt := xm["type"], ym["type"]; xt != nil && yt != nil && !sameScalar(xt, yt, true) {
		return false
	}
	sub := a.Sub("value")
	return sameScalar(xm["value"], ym["value"], sub != nil && !sub.CaseExact)
}

// sameScalar compares strings, folding case when fold is set, and anything
// else by its JSON text (never with ==, which panics on maps and slices).
func sameScalar(x, y any, fold bool) bool {
	xs, ok1 := x.(string)
	ys, ok2 := y.(string)
	switch {
	case ok1 && ok2 && fold:
		return strings.EqualFold(xs, ys)
	case ok1 && ok2:
		return xs == ys
	}
	return equalJSON(x, y)
}

func equalJSON(x, y any) bool {
	return jsonText(x) == jsonText(y)
}

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

func dropEmpty(list []any) []any {
	out := list[:0:0]
	for _, e := range list {
		if m, ok := e.(map[string]any); ok && len(m) == 0 {
			continue
		}
		out = append(out, e)
	}
	return out
}

func setOrDelete(m map[string]any, name string, v any) {
	switch x := v.(type) {
	case nil:
		delete(m, name)
	case []any:
		if len(x) == 0 {
			delete(m, name)
			return
		}
		m[name] = x
	case map[string]any:
		if len(x) == 0 {
			delete(m, name)
			return
		}
		m[name] = x
	default:
		m[name] = v
	}
}

func deepCopy(v any) any {
	switch v := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(v))
		for k, x := range v {
			m[k] = deepCopy(x)
		}
		return m
	case []any:
		l := make([]any, len(v))
		for i, x := range v {
			l[i] = deepCopy(x)
		}
		return l
	}
	return v
}
