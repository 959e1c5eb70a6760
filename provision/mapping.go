package provision

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/roster-scim/roster/expr"
)

// EnterpriseURN is the SCIM enterprise user extension (RFC 7643 section 4.3).
const EnterpriseURN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

// DefaultUserMappings are Entra ID's default user mappings for a custom
// ("non-gallery") SCIM app, from Entra's attribute names to SCIM's. Two
// differ from Entra: active is not a mapping, because the engine sets it
// from scope and the source's accountEnabled/IsSoftDeleted (Entra maps it
// from IsSoftDeleted, which only its own directory has); and the manager
// mapping holds the manager's source ID, which the engine turns into the
// manager's target ID.
var DefaultUserMappings = []Mapping{
	{Target: "userName", Source: "userPrincipalName"},
	{Target: "displayName", Source: "displayName"},
	{Target: "title", Source: "jobTitle"},
	{Target: `emails[type eq "work"].value`, Source: "mail"},
	{Target: "preferredLanguage", Source: "preferredLanguage"},
	{Target: "name.givenName", Source: "givenName"},
	{Target: "name.familyName", Source: "surname"},
	{Target: "name.formatted", Expression: `Join(" ", [givenName], [surname])`},
	{Target: `addresses[type eq "work"].formatted`, Source: "physicalDeliveryOfficeName"},
	{Target: `addresses[type eq "work"].streetAddress`, Source: "streetAddress"},
	{Target: `addresses[type eq "work"].locality`, Source: "city"},
	{Target: `addresses[type eq "work"].region`, Source: "state"},
	{Target: `addresses[type eq "work"].postalCode`, Source: "postalCode"},
	{Target: `addresses[type eq "work"].country`, Source: "country"},
	{Target: `phoneNumbers[type eq "work"].value`, Source: "telephoneNumber"},
	{Target: `phoneNumbers[type eq "mobile"].value`, Source: "mobile"},
	{Target: `phoneNumbers[type eq "fax"].value`, Source: "facsimileTelephoneNumber"},
	{Target: "externalId", Source: "mailNickname"},
	{Target: EnterpriseURN + ":employeeNumber", Source: "employeeId"},
	{Target: EnterpriseURN + ":department", Source: "department"},
	{Target: EnterpriseURN + ":manager", Source: "manager"},
}

// DefaultGroupMappings are Entra's default group mappings; members are not
// a mapping but the engine's membership phase.
var DefaultGroupMappings = []Mapping{
	{Target: "displayName", Source: "displayName"},
	{Target: "externalId", Source: "objectId"},
}

// Default matching attributes: Entra matches users on userName and groups
// on displayName.
var (
	DefaultUserMatching  = []Match{{Target: "userName"}}
	DefaultGroupMatching = []Match{{Target: "displayName"}}
)

// compiled is one mapping ready to evaluate.
type compiled struct {
	Mapping
	path   targetPath
	expr   *expr.Expr // Expression mappings
	redact bool       // the expression calls Redact
}

// mappingSet is a job's compiled mappings for one kind of object.
type mappingSet []compiled

// UserMappings returns the job's user mappings: the defaults changed by the
// job's, compiled.
func (j *Job) UserMappings() (mappingSet, error) {
	return compile("mappings.users", DefaultUserMappings, j.Mappings.Users, j.Mappings.Replace)
}

// GroupMappings returns the job's group mappings.
func (j *Job) GroupMappings() (mappingSet, error) {
	return compile("mappings.groups", DefaultGroupMappings, j.Mappings.Groups, j.Mappings.Replace)
}

func compile(field string, defaults, given []Mapping, replace bool) (mappingSet, error) {
	var list []Mapping
	if !replace {
		list = append(list, defaults...)
	}
	for _, m := range given {
		i := indexOf(list, m.Target)
		switch {
		case m.Remove && i >= 0:
			list = append(list[:i], list[i+1:]...)
		case m.Remove:
		case i >= 0:
			list[i] = m
		default:
			list = append(list, m)
		}
	}
	var errs []error
	set := make(mappingSet, 0, len(list))
	for i, m := range list {
		c, err := compileOne(m)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s[%d] (target %q): %w", field, i, m.Target, err))
			continue
		}
		set = append(set, c)
	}
	return set, errors.Join(errs...)
}

func indexOf(list []Mapping, target string) int {
	for i, m := range list {
		if strings.EqualFold(m.Target, target) {
			return i
		}
	}
	return -1
}

func compileOne(m Mapping) (compiled, error) {
	c := compiled{Mapping: m}
	p, err := parseTarget(m.Target)
	if err != nil {
		return c, err
	}
	c.path = p
	n := 0
	for _, set := range []bool{m.Source != "", m.Constant != nil, m.Expression != ""} {
		if set {
			n++
		}
	}
	if n != 1 {
		return c, errors.New("give exactly one of source (a direct mapping), constant and expression")
	}
	switch m.Apply {
	case "", "always", "create":
	default:
		return c, fmt.Errorf(`apply %q: want "always" or "create"`, m.Apply)
	}
	if m.Expression != "" {
		e, err := expr.Parse(m.Expression)
		if err != nil {
			return c, err
		}
		c.expr, c.redact = e, e.Calls("Redact")
	}
	return c, nil
}

// targetPath is a parsed SCIM attribute path of the forms mappings write:
// attr, attr.sub, attr[type eq "x"].sub, each optionally prefixed by an
// extension schema URN.
type targetPath struct {
	urn      string // "" for the core schema
	attr     string
	typ      string // the type filter of a multi-valued attribute
	sub      string
	hasType  bool
	original string
}

var pathRE = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9_$-]*)(?:\[type eq "([^"]*)"\])?(?:\.([A-Za-z][A-Za-z0-9_$-]*))?$`)

func parseTarget(s string) (targetPath, error) {
	p := targetPath{original: s}
	rest := s
	if strings.HasPrefix(strings.ToLower(s), "urn:") {
		i := strings.LastIndex(s, ":")
		p.urn, rest = s[:i], s[i+1:]
	}
	m := pathRE.FindStringSubmatch(rest)
	if m == nil {
		return p, fmt.Errorf(`target %q: want a SCIM attribute path such as userName, name.givenName, emails[type eq "work"].value or %s:department`, s, EnterpriseURN)
	}
	p.attr, p.typ, p.sub = m[1], m[2], m[3]
	p.hasType = strings.Contains(rest, "[")
	return p, nil
}

// isManager reports whether the path is the enterprise manager reference,
// whose value is a source ID to resolve.
func (p targetPath) isManager() bool {
	return strings.EqualFold(p.urn, EnterpriseURN) && strings.EqualFold(p.attr, "manager")
}

// mapped is the result of mapping one object: target paths and their JSON
// values, plus the paths whose value the log must not show.
type mapped struct {
	values  map[string]any
	redact  map[string]bool
	manager string // the manager's source ID, when mapped
}

// errSkipObject is returned by apply when a mapping asked to skip the
// object (IgnoreObjectFlow).
var errSkipObject = errors.New("a mapping skipped the object (IgnoreObjectFlow)")

// apply evaluates the mappings against a source object. create reports
// whether the object is being created: "create"-only mappings and
// defaults apply then. Null values and dropped attributes are left out:
// like Entra, the engine never writes null over a target value.
//
// taken, when not nil, gives SelectUniqueValue the question to ask the
// target for a mapping's target attribute.
func (ms mappingSet) apply(attrs map[string]any, env expr.Env, taken func(target string) func(string) (bool, error), create bool) (*mapped, error) {
	out := &mapped{values: map[string]any{}, redact: map[string]bool{}}
	env.Attrs = attrs
	for _, m := range ms {
		if m.Apply == "create" && !create {
			continue
		}
		if taken != nil {
			env.IsTaken = taken(m.Target)
		}
		v, err := m.value(attrs, env)
		if errors.Is(err, expr.ErrIgnoreAttributeFlow) {
			continue
		}
		if errors.Is(err, expr.ErrIgnoreObjectFlow) {
			return nil, errSkipObject
		}
		if err != nil {
			return nil, fmt.Errorf("mapping of %s: %w", m.Target, err)
		}
		if v == nil && create && m.Default != nil {
			v = m.Default
		}
		if v == nil {
			continue
		}
		if m.path.isManager() {
			s, ok := v.(string)
			if !ok {
				return nil, fmt.Errorf("mapping of %s: the manager must be a source ID, got %v", m.Target, v)
			}
			out.manager = s
			continue
		}
		out.values[m.Target] = v
		if m.redact {
			out.redact[m.Target] = true
		}
	}
	return out, nil
}

func (m *compiled) value(attrs map[string]any, env expr.Env) (any, error) {
	switch {
	case m.Constant != nil:
		return m.Constant, nil
	case m.Source != "":
		v, err := expr.FromJSON(attrs[m.Source])
		if err != nil {
			return nil, fmt.Errorf("source attribute %s: %w", m.Source, err)
		}
		return jsonValue(v), nil
	}
	v, err := m.expr.Eval(env)
	if err != nil {
		return nil, err
	}
	return jsonValue(v), nil
}

// jsonValue is v as written to the target: nil for null; a single value of
// a one-element list for single-valued targets is left to the target.
func jsonValue(v expr.Value) any {
	if v.IsNull() {
		return nil
	}
	return v.JSON()
}

// document builds the SCIM resource body of a create from mapped values.
func document(kind Kind, values map[string]any) map[string]any {
	doc := map[string]any{}
	schemas := []any{"urn:ietf:params:scim:schemas:core:2.0:" + string(kind)}
	paths := make([]string, 0, len(values))
	for p := range values {
		paths = append(paths, p)
	}
	sort.Strings(paths) // deterministic bodies
	for _, s := range paths {
		p, err := parseTarget(s)
		if err != nil {
			continue // compile refused it already
		}
		container := doc
		if p.urn != "" {
			ext, _ := doc[p.urn].(map[string]any)
			if ext == nil {
				ext = map[string]any{}
				doc[p.urn] = ext
				schemas = append(schemas, p.urn)
			}
			container = ext
		}
		v := values[s]
		switch {
		case p.hasType:
			list, _ := container[p.attr].([]any)
			var el map[string]any
			for _, e := range list {
				if m, ok := e.(map[string]any); ok && m["type"] == p.typ {
					el = m
				}
			}
			if el == nil {
				el = map[string]any{"type": p.typ}
				list = append(list, el)
				container[p.attr] = list
			}
			sub := p.sub
			if sub == "" {
				sub = "value"
			}
			el[sub] = v
		case p.sub != "":
			obj, _ := container[p.attr].(map[string]any)
			if obj == nil {
				obj = map[string]any{}
				container[p.attr] = obj
			}
			obj[p.sub] = v
		default:
			container[p.attr] = v
		}
	}
	doc["schemas"] = schemas
	return doc
}

// diff returns the values of now that differ from before: what an update
// PATCHes. Values equal as JSON are equal; a value missing from now is not
// removed from the target (Entra never provisions null updates).
func diff(before, now map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range now {
		old, ok := before[k]
		if !ok || !jsonEqual(old, v) {
			out[k] = v
		}
	}
	return out
}

func jsonEqual(a, b any) bool {
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(x, y)
}
