package adminclient_test

import (
	"testing"
	"time"

	"github.com/roster-scim/roster"
	"github.com/roster-scim/roster/manage"
	"github.com/roster-scim/roster/provision"
)

// TestJobs: the client's job methods hand callers what the service does,
// filters and paging included, and the service's errors.
func TestJobs(t *testing.T) {
	e := newEnv(t)
	orgs := must[[]*roster.Organization](t, "orgs")(e.local.ListOrganizations(e.ctx))
	org := orgs[0].ID
	now := time.Now().UTC()
	rec := &provision.JobRecord{ID: roster.NewID(), OrgID: org, Name: "hr job", Enabled: true, Created: now, Updated: now,
		Definition: []byte(`{"name":"hr job","source":{"type":"file","path":"u.csv"},"target":{"url":"https://app.example/scim","token":"sealed:v1:eHl6"}}`)}
	if err := e.db.CreateJob(e.ctx, rec); err != nil {
		t.Fatal(err)
	}
	var entries []*provision.LogEntry
	for i, id := range []string{"u1", "u2", "u3"} {
		st := provision.Success
		if i == 1 {
			st = provision.Failure
		}
		entries = append(entries, &provision.LogEntry{JobID: rec.ID, Cycle: "c1", Kind: provision.User, SourceID: id, Action: provision.Create, Status: st})
	}
	if err := e.db.AppendLog(e.ctx, entries); err != nil {
		t.Fatal(err)
	}

	same(t, "ListJobs", must[[]*manage.Job](t, "ListJobs")(e.remote.ListJobs(e.ctx, org)), must[[]*manage.Job](t, "ListJobs")(e.local.ListJobs(e.ctx, org)))
	// A name with a space is one path segment.
	j := must[*manage.Job](t, "GetJob")(e.remote.GetJob(e.ctx, org, "hr job"))
	same(t, "GetJob", j, must[*manage.Job](t, "GetJob")(e.local.GetJob(e.ctx, org, rec.ID)))
	if j.Definition.Target.Token != "(hidden)" {
		t.Errorf("GetJob: token %q", j.Definition.Target.Token)
	}
	for _, in := range []manage.JobLogFilter{{}, {Failed: true}, {Object: "u3"}, {Cycle: "c1", Limit: 2}, {Limit: 1, Before: entries[2].ID}} {
		same(t, "QueryJobLog", must[*manage.JobLogPage](t, "QueryJobLog")(e.remote.QueryJobLog(e.ctx, org, rec.ID, in)),
			must[*manage.JobLogPage](t, "QueryJobLog")(e.local.QueryJobLog(e.ctx, org, rec.ID, in)))
	}
	p := must[*manage.JobLogPage](t, "QueryJobLog")(e.remote.QueryJobLog(e.ctx, org, "hr job", manage.JobLogFilter{Limit: 2}))
	if len(p.Entries) != 2 || p.Next != entries[1].ID {
		t.Errorf("page of 2: %+v", p)
	}
	for _, c := range []struct {
		err  error
		code string
	}{
		{second(e.remote.GetJob(e.ctx, org, "nope")), roster.ENOTFOUND},
		{second(e.remote.GetJob(e.ctx, org, "")), roster.ENOTFOUND},
		{second(e.remote.QueryJobLog(e.ctx, org, "nope", manage.JobLogFilter{})), roster.ENOTFOUND},
		{second(e.remote.QueryJobLog(e.ctx, org, rec.ID, manage.JobLogFilter{Limit: 5000})), roster.EINVALID},
		{second(e.remote.ListJobs(e.ctx, roster.NewID())), roster.ENOTFOUND},
	} {
		if roster.ErrorCode(c.err) != c.code {
			t.Errorf("error %v, want code %s", c.err, c.code)
		}
	}
}

func second[T any](_ T, err error) error { return err }
