package manage_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/roster-scim/roster"
	"github.com/roster-scim/roster/manage"
	"github.com/roster-scim/roster/provision"
)

// storedDefinition is a job definition as the store keeps it: JSON with
// its secrets sealed.
const storedDefinition = `{"name":"hr","source":{"type":"scim","url":"https://src.example/scim","token":"sealed:v1:c291cmNl"},` +
	`"target":{"url":"https://app.example/scim","token_url":"https://app.example/token","client_id":"roster","client_secret":"sealed:v1:dGFyZ2V0"}}`

// newJob stores a job named hr in org with one failed and one successful
// provisioning-log entry.
func (w *world) newJob(orgID string) string {
	w.t.Helper()
	now := time.Now().UTC()
	rec := &provision.JobRecord{ID: roster.NewID(), OrgID: orgID, Name: "hr", Definition: []byte(storedDefinition), Enabled: true, Created: now, Updated: now}
	if err := w.db.CreateJob(w.ctx, rec); err != nil {
		w.t.Fatal(err)
	}
	if err := w.db.AppendLog(w.ctx, []*provision.LogEntry{
		{JobID: rec.ID, Cycle: "c1", Kind: provision.User, SourceID: "u1", Action: provision.Create, Status: provision.Success},
		{JobID: rec.ID, Cycle: "c1", Kind: provision.User, SourceID: "u2", Action: provision.Create, Status: provision.Failure, Error: "409"},
	}); err != nil {
		w.t.Fatal(err)
	}
	return rec.ID
}

func TestJobs(t *testing.T) {
	w := newWorld(t)
	ctx, a := w.ctx, w.A
	for _, s := range []*manage.Session{a.As, w.root} {
		jobs, err := s.ListJobs(ctx, a.ID)
		if err != nil || len(jobs) != 1 || jobs[0].ID != a.JobID || jobs[0].Definition != nil || jobs[0].Links != nil {
			t.Fatalf("ListJobs: %+v, %v", jobs, err)
		}
		j, err := s.GetJob(ctx, a.ID, "hr")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(j)
		if strings.Contains(string(b), "sealed:") || j.Definition.Source.Token != "(hidden)" || j.Definition.Target.ClientSecret != "(hidden)" ||
			j.Definition.Target.ClientID != "roster" || j.Links == nil {
			t.Errorf("GetJob: %s", b)
		}
		page, err := s.QueryJobLog(ctx, a.ID, a.JobID, manage.JobLogFilter{Failed: true})
		if err != nil || len(page.Entries) != 1 || page.Entries[0].SourceID != "u2" || page.Next != 0 {
			t.Errorf("QueryJobLog failed: %+v, %v", page, err)
		}
		page, err = s.QueryJobLog(ctx, a.ID, "hr", manage.JobLogFilter{Limit: 1})
		if err != nil || len(page.Entries) != 1 || page.Entries[0].SourceID != "u2" || page.Next != page.Entries[0].ID {
			t.Errorf("QueryJobLog limit 1: %+v, %v", page, err)
		}
		page, err = s.QueryJobLog(ctx, a.ID, "hr", manage.JobLogFilter{Limit: 1, Before: page.Next})
		if err != nil || len(page.Entries) != 1 || page.Entries[0].SourceID != "u1" {
			t.Errorf("QueryJobLog second page: %+v, %v", page, err)
		}
	}
	for _, in := range []manage.JobLogFilter{{Limit: -1}, {Limit: manage.MaxJobLogLimit + 1}, {Before: -1}} {
		_, err := a.As.QueryJobLog(ctx, a.ID, "hr", in)
		wantCode(t, "QueryJobLog with a bad filter", err, roster.EINVALID)
	}
	// A bad filter on another organization is still ENOTFOUND.
	_, err := a.As.QueryJobLog(ctx, w.B.ID, "hr", manage.JobLogFilter{Limit: -1})
	wantCode(t, "A's admin: a bad filter on B", err, roster.ENOTFOUND)

	// Without a state store, job queries are ENOTIMPL.
	svc := manage.New(w.db)
	_, err = svc.As(manage.ServerAdmin).ListJobs(ctx, a.ID)
	wantCode(t, "ListJobs without a state store", err, roster.ENOTIMPL)
}
