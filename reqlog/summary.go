package reqlog

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/roster-scim/roster"
	"github.com/roster-scim/roster/scim"
)

// maxSummary bounds a summary; a PATCH of a thousand operations still
// gets one readable line.
const maxSummary = 240

// masked stands in for every attribute value a summary leaves out.
const masked = "…"

// Summarize returns the one-line summary of a SCIM request, e.g.
// "POST create User active=true", "PATCH replace active=false, name.familyName",
// "PATCH add 3 members" or `GET list Users filter userName eq "…"`.
//
// Summaries are kept for the whole retention period whatever the
// directory's body capture, so they hold no personal data: operations,
// attribute paths, member counts and booleans, but never an attribute or
// filter value. The one exception is the value of a "type" comparison
// (emails[type eq "work"]), which names a kind of value, not a person.
// The request's resource id is in the entry, not in the summary.
//
// It reads e.Method, e.Route (a scimhttp route pattern) and e.ResourceType;
// rawQuery and body are the request's. A body that is not JSON is noted,
// never quoted.
func Summarize(e *roster.RequestEntry, rawQuery string, body []byte) string {
	tail := strings.TrimPrefix(e.Route, "/v1/scim/{idp}")
	m := e.Method
	var s string
	switch {
	case e.ResourceType == "":
		s = m + " " + tail // discovery and unknown endpoints: the pattern says it all
	case strings.HasSuffix(tail, "/.search"):
		var req struct {
			Filter string `json:"filter"`
		}
		s = m + " search " + endpoint(tail) + decodeNote(body, &req) + filterNote(req.Filter)
	case strings.HasSuffix(tail, "/{id}"):
		switch m {
		case "PATCH":
			s = "PATCH " + e.ResourceType
			if len(body) > 0 {
				s = "PATCH " + summarizePatch(body)
			}
		case "PUT":
			s = "PUT replace " + e.ResourceType + summarizeDocument(body)
		default:
			s = m + " " + e.ResourceType
		}
	case m == "POST":
		s = "POST create " + e.ResourceType + summarizeDocument(body)
	case m == "GET" || m == "HEAD":
		q, _ := url.ParseQuery(rawQuery)
		s = m + " list " + endpoint(tail) + filterNote(q.Get("filter"))
	default:
		s = m + " " + endpoint(tail)
	}
	if len(e.Ignored) > 0 {
		// Attribute paths, not values: the answer to "why is the phone
		// number missing?" without personal data.
		s += "; ignored by profile: " + strings.Join(e.Ignored, ", ")
	}
	return truncate(s, maxSummary)
}

// endpoint is "Users" in "/Users/.search".
func endpoint(tail string) string {
	name, _, _ := strings.Cut(strings.TrimPrefix(tail, "/"), "/")
	return name
}

// decodeNote decodes body into v and returns "" or a note that it could not.
func decodeNote(body []byte, v any) string {
	if len(body) == 0 {
		return ""
	}
	if err := json.Unmarshal(body, v); err != nil {
		return " (body not JSON)"
	}
	return ""
}

// filterNote is " filter <the filter with its values masked>", or "".
func filterNote(filter string) string {
	if filter == "" {
		return ""
	}
	e, err := scim.ParseFilter(filter)
	if err != nil {
		return " filter (invalid)"
	}
	return " filter " + scim.FormatFilter(maskFilter(e))
}

// maskFilter returns a copy of a filter with its values replaced by
// masked, except null, booleans and the values of "type" attributes.
func maskFilter(e scim.Expr) scim.Expr {
	switch e := e.(type) {
	case *scim.CompareExpr:
		c := *e
		name := c.Path.Sub
		if name == "" {
			name = c.Path.Attr
		}
		switch c.Value.(type) {
		case nil, bool:
		default:
			if !strings.EqualFold(name, "type") {
				c.Value = masked
			}
		}
		return &c
	case *scim.LogicalExpr:
		return &scim.LogicalExpr{Op: e.Op, Left: maskFilter(e.Left), Right: maskFilter(e.Right)}
	case *scim.NotExpr:
		return &scim.NotExpr{X: maskFilter(e.X)}
	case *scim.ValuePathExpr:
		return &scim.ValuePathExpr{Path: e.Path, Filter: maskFilter(e.Filter)}
	}
	return e
}

// summarizeDocument notes what matters about a created or replaced
// resource without its values: whether a user is active, how many members
// a group has.
func summarizeDocument(body []byte) string {
	var doc struct {
		Active  *bool             `json:"active"`
		Members []json.RawMessage `json:"members"`
	}
	if note := decodeNote(body, &doc); note != "" {
		return note
	}
	s := ""
	if doc.Active != nil {
		s += fmt.Sprintf(" active=%t", *doc.Active)
	}
	if len(doc.Members) > 0 {
		s += " with " + members(len(doc.Members))
	}
	return s
}

// phrase is one part of a PATCH summary: an operation on attributes
// ("replace active=false, displayName") or on members ("add 3 members").
type phrase struct {
	op      string
	attrs   []string
	members string // set for a member phrase
}

func (p phrase) String() string {
	if p.members != "" {
		return p.members
	}
	return p.op + " " + strings.Join(p.attrs, ", ")
}

// summarizePatch describes a PATCH body operation by operation, merging
// consecutive operations of the same kind, the way Entra sends one
// operation per attribute.
func summarizePatch(body []byte) string {
	var req struct {
		Operations []struct {
			Op    string          `json:"op"`
			Path  string          `json:"path"`
			Value json.RawMessage `json:"value"`
		} `json:"Operations"`
	}
	if note := decodeNote(body, &req); note != "" {
		return strings.TrimSpace(note)
	}
	if len(req.Operations) == 0 {
		return "(no operations)"
	}
	var out []phrase
	addAttr := func(op, attr string) {
		if n := len(out); n > 0 && out[n-1].members == "" && out[n-1].op == op {
			if !slices.Contains(out[n-1].attrs, attr) {
				out[n-1].attrs = append(out[n-1].attrs, attr)
			}
			return
		}
		out = append(out, phrase{op: op, attrs: []string{attr}})
	}
	for _, o := range req.Operations {
		op := strings.ToLower(o.Op)
		if op != "add" && op != "replace" && op != "remove" {
			op = "invalid-op"
		}
		if o.Path == "" {
			var obj map[string]json.RawMessage
			if json.Unmarshal(o.Value, &obj) != nil {
				addAttr(op, "(no path)")
				continue
			}
			for _, k := range slices.Sorted(maps.Keys(obj)) {
				if strings.EqualFold(k, "members") {
					out = append(out, phrase{op: op, members: memberPhrase(op, nil, obj[k])})
				} else {
					addAttr(op, k+boolSuffix(obj[k]))
				}
			}
			continue
		}
		pp, err := scim.ParsePatchPath(o.Path)
		switch {
		case err != nil:
			addAttr(op, "(invalid path)")
		case strings.EqualFold(pp.Path.Attr, "members") && pp.Path.Sub == "":
			out = append(out, phrase{op: op, members: memberPhrase(op, pp.Filter, o.Value)})
		default:
			addAttr(op, formatPatchPath(pp)+boolSuffix(o.Value))
		}
	}
	parts := make([]string, len(out))
	for i, p := range out {
		parts[i] = p.String()
	}
	return strings.Join(parts, "; ")
}

// memberPhrase counts the members an operation names: in a
// `members[value eq "…"]` filter, or in the value array.
func memberPhrase(op string, filter scim.Expr, value json.RawMessage) string {
	n := countTerms(filter)
	if filter == nil {
		var list []json.RawMessage
		var one map[string]json.RawMessage
		if json.Unmarshal(value, &list) == nil {
			n = len(list)
		} else if json.Unmarshal(value, &one) == nil && one != nil {
			n = 1 // a single member object instead of an array, as some clients send
		}
	}
	switch {
	case op == "remove" && filter == nil && n == 0:
		return "remove all members"
	case op == "replace":
		return "replace members with " + members(n)
	}
	return op + " " + members(n)
}

// countTerms counts the comparisons of a filter: `value eq "a" or value eq
// "b"` names two members.
func countTerms(e scim.Expr) int {
	switch e := e.(type) {
	case *scim.CompareExpr:
		return 1
	case *scim.LogicalExpr:
		return countTerms(e.Left) + countTerms(e.Right)
	case *scim.NotExpr:
		return countTerms(e.X)
	}
	return 0
}

func members(n int) string {
	if n == 1 {
		return "1 member"
	}
	return fmt.Sprintf("%d members", n)
}

// formatPatchPath writes a PATCH path with the values in its filter masked.
func formatPatchPath(pp scim.PatchPath) string {
	if pp.Filter == nil {
		return pp.Path.String()
	}
	p := pp.Path
	p.Sub = ""
	s := p.String() + "[" + scim.FormatFilter(maskFilter(pp.Filter)) + "]"
	if pp.Path.Sub != "" {
		s += "." + pp.Path.Sub
	}
	return s
}

// boolSuffix is "=true" or "=false" for a boolean value: active=false is
// the single most useful fact in a provisioning log, and a boolean says
// nothing about who a person is. Entra's older PATCH dialect sends
// booleans as the strings "True" and "False", so those count too.
func boolSuffix(v json.RawMessage) string {
	var b bool
	var s string
	switch {
	case len(v) == 0:
	case json.Unmarshal(v, &b) == nil:
		return fmt.Sprintf("=%t", b)
	case json.Unmarshal(v, &s) == nil && (strings.EqualFold(s, "true") || strings.EqualFold(s, "false")):
		return "=" + strings.ToLower(s)
	}
	return ""
}

// truncate shortens s to at most n bytes on a rune boundary, marking the cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - len(masked)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + masked
}
