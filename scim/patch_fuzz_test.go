package scim

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/roster-scim/roster"
)

// FuzzApplyPatch feeds arbitrary PATCH bodies to ApplyPatch on a realistic
// user (group false) or group (group true). ApplyPatch must never panic,
// must fail only with a client error, must leave its input alone, and must
// produce a canonical document: one that survives the store's JSON round
// trip and that Normalize maps to itself, so that a later GET, PUT or PATCH
// of the stored document behaves.
func FuzzApplyPatch(f *testing.F) {
	for _, cases := range [][]ptCase{ptEntraCases, ptCases} {
		for _, tc := range cases {
			f.Add(tc.group, `{"schemas": ["`+PatchOpURN+`"], "Operations": `+strings.ReplaceAll(tc.ops, "$ENT", rscEnt)+`}`)
		}
	}
	f.Add(false, `{"Operations": [{"op": "replace", "path": "emails[type eq \"work\" and primary eq true].display", "value": "W"}]}`)
	f.Add(false, `{"Operations": [{"op": "add", "path": "ims[type eq \"skype\"]", "value": {"value": "babs"}}]}`)
	f.Add(true, `{"Operations": [{"op": "remove", "path": "members[not (value eq \"u1\")]"}]}`)
	f.Add(false, `{"Operations": [{"op": "add", "path": "roles", "value": [{"value": "{\"value\":\"{\\\"value\\\":\\\"x\\\"}\"}"}]}]}`)
	f.Add(false, `{"Operations": [{"op": "replace", "path": "emails.primary", "value": true}, {"op": "remove", "path": "emails", "value": {"value": "BJENSEN@example.com"}}]}`)
	f.Add(false, `{"Operations": [{"op": "add", "value": {"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"manager.value": "", "manager": {"value": "m"}}}}]}`)

	user := rscDoc(f, ptUserDoc)
	group := rscDoc(f, ptGroupDoc)
	f.Fuzz(func(t *testing.T, isGroup bool, body string) {
		var req PatchRequest
		dec := json.NewDecoder(strings.NewReader(body))
		dec.UseNumber()
		if dec.Decode(&req) != nil {
			return
		}
		rt, doc := rscUser(), user
		if isGroup {
			rt, doc = rscGroup(), group
		}
		before := rscText(doc)
		got, members, err := ApplyPatch(rt, doc, req.Operations)
		if after := rscText(doc); after != before {
			t.Fatalf("ApplyPatch changed its input:\nbefore %s\nafter  %s", before, after)
		}
		if err != nil {
			var re *roster.Error
			if !errors.As(err, &re) || re.Code != roster.EINVALID || re.SCIMType == "" || re.Message == "" {
				t.Fatalf("error %#v is not a SCIM client error", err)
			}
			return
		}
		for _, m := range members {
			switch {
			case m.Op == "clear" && len(m.IDs) == 0:
			case (m.Op == "add" || m.Op == "remove") && len(m.IDs) > 0 && m.Filter == nil:
			case m.Op == "remove" && len(m.IDs) == 0 && m.Filter != nil:
			default:
				t.Fatalf("bad member op %+v", m)
			}
		}
		if !isGroup && members != nil {
			t.Fatalf("member ops %+v for a user", members)
		}
		stored := rscRoundTrip(t, got)
		again, ids, err := Normalize(rt, stored)
		if err != nil {
			t.Fatalf("Normalize of the result %s: %v", rscText(got), err)
		}
		if len(ids) != 0 {
			t.Fatalf("members %q in the document %s", ids, rscText(got))
		}
		if a, b := rscText(again), rscText(stored); a != b {
			t.Fatalf("the result is not canonical:\nresult     %s\nnormalized %s", b, a)
		}
		if err := CheckRequired(rt, again); err != nil {
			t.Fatalf("CheckRequired of the result: %v", err)
		}
	})
}
