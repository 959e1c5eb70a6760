package scim

import (
	"encoding/json"
	"strings"
)

// matchElement evaluates a resolved value filter (paths are sub-attribute
// names of a) against one element of a multi-valued complex attribute. It is
// used by PATCH value paths; list filters run in the database instead.
func matchElement(e Expr, el map[string]any, a *Attribute) bool {
	switch e := e.(type) {
	case *LogicalExpr:
		if e.Op == "and" {
			return matchElement(e.Left, el, a) && matchElement(e.Right, el, a)
		}
		return matchElement(e.Left, el, a) || matchElement(e.Right, el, a)
	case *NotExpr:
		return !matchElement(e.X, el, a)
	case *CompareExpr:
		sub := a.Sub(e.Path.Attr)
		if sub == nil {
			return false
		}
		return compareValue(sub, el[sub.Name], e.Op, e.Value)
	}
	return false
}

// membersAttr describes group members for MatchMember.
var membersAttr = newGroupSchema().Attr("members")

// MatchMember reports whether a group member satisfies a resolved members
// value filter, such as the one in MemberOp.Filter.
func MatchMember(filter Expr, m Member) bool {
	return matchElement(filter, map[string]any{"value": m.Value, "type": m.Type, "display": m.Display}, membersAttr)
}

// compareValue applies a filter operator to one attribute value, honouring
// the attribute's caseExact. Missing values match only `ne` (RFC 7644
// §3.4.2.2 treats an unassigned attribute as not equal to anything).
func compareValue(a *Attribute, have any, op string, want any) bool {
	if op == "pr" {
		return have != nil && have != ""
	}
	if have == nil {
		return op == "ne" && want != nil
	}
	if want == nil {
		return op == "ne"
	}
	if a.Type == TypeBoolean {
		hb, ok1 := AsBool(have)
		wb, ok2 := AsBool(want)
		if !ok1 || !ok2 {
			return false
		}
		switch op {
		case "eq":
			return hb == wb
		case "ne":
			return hb != wb
		}
		return false
	}
	if hn, ok := have.(json.Number); ok {
		wn, ok := want.(json.Number)
		if !ok {
			return false
		}
		hf, _ := hn.Float64()
		wf, _ := wn.Float64()
		return ordered(op, cmp3(hf, wf))
	}
	hs, ok1 := have.(string)
	ws, ok2 := want.(string)
	if !ok1 || !ok2 {
		return false
	}
	if a.Type == TypeDateTime {
		ht, ok1 := ParseDateTime(hs)
		wt, ok2 := ParseDateTime(ws)
		if ok1 && ok2 {
			return ordered(op, ht.Compare(wt))
		}
	}
	if !a.CaseExact {
		hs, ws = strings.ToLower(hs), strings.ToLower(ws)
	}
	switch op {
	case "co":
		return strings.Contains(hs, ws)
	case "sw":
		return strings.HasPrefix(hs, ws)
	case "ew":
		return strings.HasSuffix(hs, ws)
	}
	return ordered(op, strings.Compare(hs, ws))
}

func cmp3(x, y float64) int {
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}

func ordered(op string, c int) bool {
	switch op {
	case "eq":
		return c == 0
	case "ne":
		return c != 0
	case "gt":
		return c > 0
	case "ge":
		return c >= 0
	case "lt":
		return c < 0
	case "le":
		return c <= 0
	}
	return false
}
