package scim

// Path is an attribute path as written in a filter or PATCH path:
// [URN ":"] Attr ["." Sub]. Names keep the client's spelling; Resolve matches
// them case-insensitively against the schema.
type Path struct {
	URN  string // schema URN prefix, "" when the path is not URN-qualified
	Attr string // attribute name
	Sub  string // sub-attribute name, "" when none
}

// String returns the path in SCIM notation.
func (p Path) String() string {
	s := p.Attr
	if p.URN != "" {
		s = p.URN + ":" + s
	}
	if p.Sub != "" {
		s += "." + p.Sub
	}
	return s
}

// Expr is a node of a parsed filter (RFC 7644 §3.4.2.2): *CompareExpr,
// *LogicalExpr, *NotExpr or *ValuePathExpr.
type Expr interface{ isExpr() }

// CompareExpr is `path op value`, or `path pr` when Op is "pr".
type CompareExpr struct {
	Path Path
	Op   string // lower case: eq ne co sw ew gt ge lt le pr
	// Value is a string, bool, json.Number or nil (JSON null); nil for pr.
	Value any
}

// LogicalExpr is `Left and Right` or `Left or Right`.
type LogicalExpr struct {
	Op          string // "and" or "or"
	Left, Right Expr
}

// NotExpr is `not (X)`.
type NotExpr struct{ X Expr }

// ValuePathExpr is `attr[filter]`: Filter's paths name sub-attributes of
// Path (their Attr is the sub-attribute name and URN is empty).
type ValuePathExpr struct {
	Path   Path // never has Sub
	Filter Expr
}

func (*CompareExpr) isExpr()   {}
func (*LogicalExpr) isExpr()   {}
func (*NotExpr) isExpr()       {}
func (*ValuePathExpr) isExpr() {}

// PatchPath is a PATCH operation path (RFC 7644 §3.5.2):
// attrPath, or valuePath ["." subAttr], e.g. `emails[type eq "work"].value`.
// For `emails[type eq "work"].value` Path is {Attr: "emails", Sub: "value"}
// and Filter is the bracketed expression; for `name.givenName` Filter is nil.
type PatchPath struct {
	Path   Path
	Filter Expr // the value filter in brackets, applied to Path.Attr; nil when absent
}
