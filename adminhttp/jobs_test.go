package adminhttp

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/roster-scim/roster"
	"github.com/roster-scim/roster/manage"
	"github.com/roster-scim/roster/provision"
)

// The secrets of the jobs newJob creates; no answer may contain them,
// sealed or not.
const (
	jobTargetToken  = "target-token-ab12cd34ef56gh78"
	jobSourceSecret = "source-client-secret-zz99yy88"
)

var testSealer = func() *provision.Sealer {
	s, err := provision.NewSealer(make([]byte, 32))
	if err != nil {
		panic(err)
	}
	return s
}()

// newJob stores a provisioning job in org, as `roster job create` does,
// with state, links and a provisioning log of five entries over two
// cycles: c1 creates u1, u3 and fails u2; c2 updates u1 and fails u2
// again. It returns the job's id.
func (s *server) newJob(org, name string) string {
	s.t.Helper()
	ctx := context.Background()
	j := &provision.Job{
		Name: name,
		Source: provision.SourceDef{Type: "scim", Endpoint: provision.Endpoint{URL: "https://source.example/scim",
			TokenURL: "https://source.example/token", ClientID: "roster", ClientSecret: jobSourceSecret}},
		Target: provision.TargetDef{Endpoint: provision.Endpoint{URL: "https://app.example/scim/v2", Token: jobTargetToken}},
	}
	def, err := testSealer.SealJob(j)
	if err != nil {
		s.t.Fatal(err)
	}
	now := time.Now().UTC()
	rec := &provision.JobRecord{ID: roster.NewID(), OrgID: org, Name: name, Definition: def, Enabled: true, Created: now, Updated: now}
	if err := s.db.CreateJob(ctx, rec); err != nil {
		s.t.Fatal(err)
	}
	st := provision.JobState{Watermark: "w2", Cycle: "c2", Started: now.Add(-time.Minute), Finished: now,
		Counts: provision.Counts{Updated: 1, Failed: 1}}
	if err := s.db.PutJobState(ctx, rec.ID, st); err != nil {
		s.t.Fatal(err)
	}
	links := []*provision.Link{
		{Kind: provision.User, SourceID: "u1", TargetID: "t1", State: provision.Active, Cycle: "c2"},
		{Kind: provision.User, SourceID: "u3", TargetID: "t3", State: provision.Active, Cycle: "c2"},
		{Kind: provision.User, SourceID: "u2", State: provision.Pending, Failures: 2, Error: "409", Cycle: "c2"},
	}
	if err := s.db.PutLinks(ctx, rec.ID, links); err != nil {
		s.t.Fatal(err)
	}
	entry := func(cycle, id, target string, a provision.Action, st provision.Status) *provision.LogEntry {
		e := &provision.LogEntry{JobID: rec.ID, Cycle: cycle, Kind: provision.User, SourceID: id, TargetID: target, Action: a, Status: st,
			Steps: []provision.Step{{Name: "action", Status: st, Detail: string(a) + " " + id}}}
		if st == provision.Failure {
			e.Error = "the target answered 409 Conflict"
		}
		return e
	}
	if err := s.db.AppendLog(ctx, []*provision.LogEntry{
		entry("c1", "u1", "t1", provision.Create, provision.Success),
		entry("c1", "u2", "", provision.Create, provision.Failure),
		entry("c1", "u3", "t3", provision.Create, provision.Success),
		entry("c2", "u1", "t1", provision.Update, provision.Success),
		entry("c2", "u2", "", provision.Create, provision.Failure),
	}); err != nil {
		s.t.Fatal(err)
	}
	return rec.ID
}

// noSecrets fails when an answer holds a job's secret, in clear or sealed.
func noSecrets(t *testing.T, what string, r *response) {
	t.Helper()
	for _, secret := range []string{jobTargetToken, jobSourceSecret, "sealed:"} {
		if strings.Contains(string(r.body), secret) {
			t.Errorf("%s: the answer contains %q:\n%s", what, secret, r.body)
		}
	}
}

// TestJobs: the job endpoints show an organization's jobs, state, link
// counts and provisioning log to its admins and to server admins, never
// to another organization's admin, and never with a secret.
func TestJobs(t *testing.T) {
	s := newServer(t)
	a, b := s.newOrg("A"), s.newOrg("B")
	jobs := fill("/v1/admin/organizations/{org}/jobs", a.ids)

	// Every answer of every job endpoint, to A's admin and to the server
	// admin, is free of secrets.
	for _, tok := range []string{a.adminToken, s.root} {
		for _, p := range []string{jobs, jobs + "/hr", jobs + "/" + a.ids["job"], jobs + "/hr/logs", jobs + "/hr/logs?failed=true"} {
			r := s.admin("GET", p, tok, nil)
			if r.status != 200 {
				t.Errorf("GET %s: %d %s", p, r.status, r.body)
			}
			noSecrets(t, "GET "+p, r)
		}
	}

	var list []map[string]any
	s.must("GET", jobs, a.adminToken, nil, 200, &list)
	if len(list) != 1 || list[0]["id"] != a.ids["job"] || list[0]["name"] != "hr" || list[0]["enabled"] != true || list[0]["definition"] != nil {
		t.Fatalf("A's jobs: %v", list)
	}
	state, _ := list[0]["state"].(map[string]any)
	counts, _ := state["counts"].(map[string]any)
	if state["watermark"] != "w2" || state["cycle"] != "c2" || state["running"] != false || counts["failed"] != 1.0 || counts["updated"] != 1.0 {
		t.Errorf("A's job state: %v", state)
	}

	// By name and by id; the definition with its secrets hidden.
	for _, ref := range []string{"hr", a.ids["job"]} {
		var j manage.Job
		s.must("GET", jobs+"/"+ref, a.adminToken, nil, 200, &j)
		if j.ID != a.ids["job"] || j.Definition == nil || j.Definition.Target.Token != "(hidden)" || j.Definition.Source.ClientSecret != "(hidden)" ||
			j.Definition.Target.URL != "https://app.example/scim/v2" || j.Definition.Source.ClientID != "roster" {
			t.Errorf("GET job %s: %+v", ref, j)
		}
		if j.Links["users active"] != 2 || j.Links["users pending"] != 1 {
			t.Errorf("GET job %s: links %v", ref, j.Links)
		}
	}

	// The server admin sees every organization's jobs.
	var bj manage.Job
	s.must("GET", fill("/v1/admin/organizations/{org}/jobs/{job}", b.ids), s.root, nil, 200, &bj)
	if bj.ID != b.ids["job"] {
		t.Errorf("the server admin's view of B's job: %+v", bj)
	}
	s.must("GET", fill("/v1/admin/organizations/{org}/jobs/hr/logs", b.ids), s.root, nil, 200, nil)

	// A's admin gets 404 for B's jobs, whichever way it asks.
	for _, p := range []string{
		fill("/v1/admin/organizations/{org}/jobs", b.ids),
		fill("/v1/admin/organizations/{org}/jobs/hr", b.ids),
		fill("/v1/admin/organizations/{org}/jobs/{job}", b.ids),
		fill("/v1/admin/organizations/{org}/jobs/{job}/logs", b.ids),
		jobs + "/" + b.ids["job"],
		jobs + "/" + b.ids["job"] + "/logs",
	} {
		r := s.admin("GET", p, a.adminToken, nil)
		wantError(t, "A's admin: GET "+p, r, http.StatusNotFound, roster.ENOTFOUND)
		if strings.Contains(string(r.body), "u1") {
			t.Errorf("A's admin: GET %s leaked B's log: %s", p, r.body)
		}
	}
	wantError(t, "an unknown job", s.admin("GET", jobs+"/nope", a.adminToken, nil), 404, roster.ENOTFOUND)
	wantError(t, "an unknown job's log", s.admin("GET", jobs+"/nope/logs", a.adminToken, nil), 404, roster.ENOTFOUND)

	// The log: newest first, filtered, paged.
	logOf := func(query string) manage.JobLogPage {
		t.Helper()
		var page manage.JobLogPage
		s.must("GET", jobs+"/hr/logs"+query, a.adminToken, nil, 200, &page)
		return page
	}
	describe := func(p manage.JobLogPage) string {
		var out []string
		for _, e := range p.Entries {
			out = append(out, e.Cycle+":"+e.SourceID+":"+string(e.Status))
		}
		return strings.Join(out, " ")
	}
	all := logOf("")
	if got := describe(all); got != "c2:u2:Failure c2:u1:Success c1:u3:Success c1:u2:Failure c1:u1:Success" || all.Next != 0 {
		t.Errorf("the whole log: %s (next %d)", got, all.Next)
	}
	if e := all.Entries[0]; e.JobID != a.ids["job"] || e.Action != provision.Create || e.Error == "" || len(e.Steps) != 1 || e.ID == 0 {
		t.Errorf("an entry: %+v", e)
	}
	for query, want := range map[string]string{
		"?failed=true":                     "c2:u2:Failure c1:u2:Failure",
		"?failed=false":                    describe(all),
		"?object=u1":                       "c2:u1:Success c1:u1:Success",
		"?object=t3":                       "c1:u3:Success",
		"?cycle=c1":                        "c1:u3:Success c1:u2:Failure c1:u1:Success",
		"?cycle=c1&failed=true":            "c1:u2:Failure",
		"?cycle=c2&object=u1":              "c2:u1:Success",
		"?object=nobody":                   "",
		"?before=" + idOf(all, 2):          "c1:u2:Failure c1:u1:Success",
		"?failed=1&before=" + idOf(all, 0): "c1:u2:Failure",
	} {
		if got := describe(logOf(query)); got != want {
			t.Errorf("log%s: %s, want %s", query, got, want)
		}
	}
	var pages []string
	query := "?limit=2"
	for range 10 {
		p := logOf(query)
		pages = append(pages, describe(p))
		if p.Next == 0 {
			break
		}
		if p.Next != p.Entries[len(p.Entries)-1].ID {
			t.Errorf("next %d is not the last entry's id %d", p.Next, p.Entries[len(p.Entries)-1].ID)
		}
		query = fmt.Sprintf("?limit=2&before=%d", p.Next)
	}
	if got := strings.Join(pages, " | "); got != "c2:u2:Failure c2:u1:Success | c1:u3:Success c1:u2:Failure | c1:u1:Success" {
		t.Errorf("pages of 2: %s", got)
	}
	// An empty last page when the entries divide evenly.
	if p := logOf("?limit=5"); len(p.Entries) != 5 || p.Next == 0 || len(logOf(fmt.Sprintf("?limit=5&before=%d", p.Next)).Entries) != 0 {
		t.Errorf("a full page of 5: %s, next %d", describe(p), p.Next)
	}

	// Bad query values are 400s that say what is wrong.
	for query, mention := range map[string]string{
		"?limit=0":       "limit",
		"?limit=-1":      "limit",
		"?limit=1001":    "limit",
		"?limit=ten":     "limit",
		"?before=0":      "before",
		"?before=-5":     "before",
		"?before=x":      "before",
		"?failed=maybe":  "failed",
		"?faild=true":    "faild",
		"?source_id=u1":  "source_id",
		"?limit=2&x=1":   "parameter",
		"?before=1.5":    "before",
		"?limit=1%00":    "NUL",
		"?object=%FFabc": "UTF-8",
	} {
		r := s.admin("GET", jobs+"/hr/logs"+query, a.adminToken, nil)
		wantError(t, "log"+query, r, http.StatusBadRequest, roster.EINVALID)
		if !strings.Contains(string(r.body), mention) {
			t.Errorf("log%s: the error does not mention %s: %s", query, mention, r.body)
		}
	}
}

func idOf(p manage.JobLogPage, i int) string { return fmt.Sprint(p.Entries[i].ID) }

// TestJobsNotKept: a service without a state store answers the job
// endpoints 501, after the organization check.
func TestJobsNotKept(t *testing.T) {
	s := newServer(t)
	o := s.newOrg("A")
	h := New(manage.New(s.db), s.db, slog.New(slog.DiscardHandler))
	for _, p := range []string{"/jobs", "/jobs/hr", "/jobs/hr/logs"} {
		rec := newRecorder(h, "GET", "/v1/admin/organizations/"+o.ids["org"]+p, s.root)
		wantError(t, "GET "+p+" without a state store", rec, http.StatusNotImplemented, roster.ENOTIMPL)
		rec = newRecorder(h, "GET", "/v1/admin/organizations/"+roster.NewID()+p, s.root)
		wantError(t, "GET "+p+" of an unknown organization", rec, http.StatusNotFound, roster.ENOTFOUND)
	}
}

// newRecorder sends a request straight to h.
func newRecorder(h http.Handler, method, path, token string) *response {
	req := httptest.NewRequest(method, path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return &response{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
}
