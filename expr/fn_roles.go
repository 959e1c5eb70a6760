package expr

import (
	"encoding/json"
	"fmt"
	"sort"
)

func init() {
	register(map[string]builtin{
		"SingleAppRoleAssignment":            fnSingleAppRoleAssignment,
		"AppRoleAssignmentsComplex":          fnAppRoleAssignmentsComplex,
		"AssertiveAppRoleAssignmentsComplex": fnAppRoleAssignmentsComplex,
	})
}

// role is one app role assigned to the user.
type role struct{ value, display string }

// roles reads the user's app role assignments from the function's argument,
// normally [appRoleAssignments]: a list whose elements are the role's value
// as a string, or an object with "value" and optionally "displayName" (or
// "display"), as the source directory exports an assignment. Objects are
// read from the raw attribute because attribute values otherwise never
// decode to objects. The result has one role per value, sorted by value, so
// that the same assignments give the same roles in every cycle whatever
// order the source lists them in.
func (ev *evaluator) roles(c *Call) ([]role, error) {
	var elems []any
	if a, ok := c.Args[0].(*Attr); ok {
		switch x := ev.env.Attrs[a.Name].(type) {
		case nil:
		case []any:
			elems = x
		default:
			elems = []any{x}
		}
	} else {
		v, err := ev.arg(c, 0)
		if err != nil {
			return nil, err
		}
		for _, e := range v.values() {
			elems = append(elems, e.String())
		}
	}
	seen := map[string]bool{}
	var out []role
	for i, e := range elems {
		r, err := toRole(e)
		if err != nil {
			return nil, fmt.Errorf("app role assignment %d: %w", i+1, err)
		}
		if r.value == "" || seen[r.value] {
			continue
		}
		seen[r.value] = true
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].value < out[j].value })
	return out, nil
}

func toRole(e any) (role, error) {
	switch x := e.(type) {
	case nil:
		return role{}, nil
	case string:
		return role{value: x, display: x}, nil
	case json.Number:
		return role{value: x.String(), display: x.String()}, nil
	case map[string]any:
		v, ok := x["value"].(string)
		if !ok {
			return role{}, fmt.Errorf(`want an object with a string "value", such as {"value": "Admin", "displayName": "Administrator"}`)
		}
		r := role{value: v, display: v}
		for _, k := range []string{"displayName", "display"} {
			if d, ok := x[k].(string); ok && d != "" {
				r.display = d
				break
			}
		}
		return r, nil
	}
	return role{}, fmt.Errorf("want a role value or an object with \"value\", got %T", e)
}

// SingleAppRoleAssignment([appRoleAssignments]): the value of the user's
// role. Entra does not say which role it picks when there are several
// ("no guarantee"); the smallest value is stable across cycles, so an
// unchanged assignment never flips the target's role. Null for none.
func fnSingleAppRoleAssignment(ev *evaluator, c *Call) (Value, error) {
	rs, err := ev.roles(c)
	if err != nil || len(rs) == 0 {
		return Null, err
	}
	return String(rs[0].value), nil
}

// AppRoleAssignmentsComplex([appRoleAssignments]) and its Assertive twin:
// every role as a SCIM role object, none primary. The two return the same
// value; they differ in how the engine writes it (add versus replace, see
// Expr.Calls). The display name goes in "display", the sub-attribute RFC
// 7643 section 4.1.2 defines for roles, where Entra's own POST example
// writes "displayName"; Roster's targets are SCIM apps. Null for none.
func fnAppRoleAssignmentsComplex(ev *evaluator, c *Call) (Value, error) {
	rs, err := ev.roles(c)
	if err != nil || len(rs) == 0 {
		return Null, err
	}
	l := make([]Value, len(rs))
	for i, r := range rs {
		l[i] = Value{Kind: ObjectKind, Obj: map[string]Value{
			"value":   String(r.value),
			"display": String(r.display),
			"type":    String("WindowsAzureActiveDirectoryRole"),
			"primary": Bool(false),
		}}
	}
	return Value{Kind: ListKind, List: l}, nil
}
