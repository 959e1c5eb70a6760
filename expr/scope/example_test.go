package scope_test

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/roster-scim/roster/expr/scope"
)

func ExampleEvaluate() {
	set, err := scope.Load(strings.NewReader(`{"filters":[{"clauses":[
		{"attribute":"department","operator":"EQUALS","value":"Sales"},
		{"attribute":"country","operator":"EQUALS","value":"US"}]}]}`))
	if err != nil {
		panic(err)
	}
	var attrs map[string]any
	_ = json.Unmarshal([]byte(`{"department":"HR","country":"US"}`), &attrs)
	out, _ := json.MarshalIndent(scope.Evaluate(set, attrs), "", "  ")
	fmt.Println(string(out))
	// Output:
	// {
	//   "in_scope": false,
	//   "clauses": [
	//     {
	//       "filter": 0,
	//       "clause": 0,
	//       "attribute": "department",
	//       "operator": "EQUALS",
	//       "value": "Sales",
	//       "match": false,
	//       "decisive": true,
	//       "reason": "did not match"
	//     },
	//     {
	//       "filter": 0,
	//       "clause": 1,
	//       "attribute": "country",
	//       "operator": "EQUALS",
	//       "value": "US",
	//       "match": true,
	//       "decisive": false,
	//       "reason": "matched"
	//     }
	//   ]
	// }
}
