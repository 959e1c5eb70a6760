package expr

import (
	"errors"
	"testing"
)

func TestFlowSignals(t *testing.T) {
	runCases(t, []evalCase{
		{`IgnoreFlowIfNullOrEmpty([d])`, `{"d":"Sales"}`, `"Sales"`, ``},
		{`IgnoreFlowIfNullOrEmpty([d])`, `{"d":["a"]}`, `["a"]`, ``},
		{`IgnoreFlowIfNullOrEmpty([d])`, `{"d":0}`, `0`, ``},
		{`IgnoreFlowIfNullOrEmpty([d])`, `{"d":" "}`, `" "`, ``},
		{`IgnoreFlowIfNullOrEmpty([d])`, ``, ``, `col 1: IgnoreFlowIfNullOrEmpty: attribute flow ignored`},
		{`IgnoreFlowIfNullOrEmpty([d])`, `{"d":""}`, ``, `attribute flow ignored`},
		{`IgnoreFlowIfNullOrEmpty([d])`, `{"d":[]}`, ``, `attribute flow ignored`},
		{`Join(",", "a", IgnoreFlowIfNullOrEmpty([d]))`, ``, ``, `col 16: IgnoreFlowIfNullOrEmpty: attribute flow ignored`},
		{`IIF([a]="1", "x", IgnoreObjectFlow)`, `{"a":"1"}`, `"x"`, ``},
		{`IIF([a]="1", "x", IgnoreObjectFlow)`, `{"a":"2"}`, ``, `col 19: IgnoreObjectFlow: object flow ignored`},
		{`IIF([a]="1", IgnoreAttributeFlow, "x")`, `{"a":"1"}`, ``, `attribute flow ignored`},
		{`Not(vbTextCompare)`, ``, ``, `vbTextCompare: is only a compareType argument of InStr`},
	})
	for src, want := range map[string]error{
		`IgnoreFlowIfNullOrEmpty([d])`: ErrIgnoreAttributeFlow,
		`IgnoreAttributeFlow`:          ErrIgnoreAttributeFlow,
		`Coalesce(IgnoreObjectFlow)`:   ErrIgnoreObjectFlow,
	} {
		e, err := Parse(src)
		if err != nil {
			t.Logf("%s: %v (not a valid expression; skipped)", src, err)
			continue
		}
		if _, err := e.Eval(Env{}); !errors.Is(err, want) {
			t.Errorf("%s: err = %v, want %v", src, err, want)
		}
	}
}
