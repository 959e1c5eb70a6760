package scimhttp_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/roster-scim/roster"
	"github.com/roster-scim/roster/reqlog"
	"github.com/roster-scim/roster/scim"
	"github.com/roster-scim/roster/scimhttp"
)

// requestLog is the request log of a harness, on the harness's store
// (SQLite, or PostgreSQL under TestPostgres).
type requestLog struct {
	rec *reqlog.Recorder
	db  testStore
}

// withRequestLog records the harness's requests with a real recorder
// writing to the harness's store.
func withRequestLog(l *requestLog) harnessOption {
	return func(c *harnessConfig) {
		c.setup = func(t *testing.T, srv *scimhttp.Server, db testStore) {
			l.db = db
			l.rec = reqlog.NewRecorder(db, db.FindDirectory, slog.New(slog.DiscardHandler), reqlog.Options{})
			t.Cleanup(func() { l.rec.Close() })
			srv.SetRequestRecorder(l.rec)
		}
	}
}

// entries writes what the recorder holds (closing it: call it once, after
// the requests) and returns the log of dir's organization, oldest first.
func (l *requestLog) entries(t *testing.T, dir string) []roster.RequestEntry {
	t.Helper()
	l.rec.Close()
	ctx := context.Background()
	d, err := l.db.FindDirectory(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	got, err := l.db.QueryRequests(ctx, roster.RequestQuery{OrgID: d.OrgID})
	if err != nil {
		t.Fatal(err)
	}
	for i, j := 0, len(got)-1; i < j; i, j = i+1, j-1 {
		got[i], got[j] = got[j], got[i]
	}
	return got
}

// aliceWithPassword is a user whose password must never reach the log.
const aliceWithPassword = `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"alice@example.com",` +
	`"active":true,"password":"hunter2-Pa55"}`

// TestRequestLog sends the requests of a short provisioning cycle and
// checks each entry: who, what, the outcome, and nothing secret.
func TestRequestLog(t *testing.T) {
	var l requestLog
	h := newHarness(t, withRequestLog(&l), withSecondDirectory(roster.PrivRead, roster.PrivNone))

	created := h.request(t, "POST", h.base+"/Users", aliceWithPassword)
	id := str(created.body, "id")
	h.mustDo(t, http.StatusOK, "PATCH", "/Users/"+id, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],`+
		`"Operations":[{"op":"Replace","path":"active","value":false},{"op":"replace","path":"password","value":"n3w-Secret"}]}`)
	h.mustDo(t, http.StatusOK, "GET", "/Users?filter="+url.QueryEscape(`userName eq "alice@example.com"`), "")
	h.mustDo(t, http.StatusConflict, "POST", "/Users", aliceWithPassword)
	h.mustDo(t, http.StatusUnauthorized, "GET", "/Users/"+id, "", "Authorization", "Bearer rst_not-a-key")
	// Another organization's valid key on A's tenant URL: A's admin sees
	// the attempt, without B's credential; B's admin sees nothing.
	h.mustDo(t, http.StatusUnauthorized, "DELETE", "/Users/"+id, "", "Authorization", "Bearer "+h.tokenB)
	h.mustDo(t, http.StatusNotFound, "GET", "/scim/v2/Users", "")
	// A directory that does not exist has no log.
	h.doRoot(t, "GET", "/v1/scim/"+roster.NewID()+"/Users", "")
	// B's read-only key writing to B: the 403 names the key.
	if r := h.doRoot(t, "POST", "/v1/scim/"+h.dirB+"/Users", aliceWithPassword, "Authorization", "Bearer "+h.tokenB); r.status != http.StatusForbidden {
		t.Fatalf("write with a read-only key: status %d", r.status)
	}

	got := l.entries(t, h.dir)
	type want struct {
		method, route, resourceID string
		status                    int
		scimType, summary         string
		authenticated             bool
	}
	wants := []want{
		{"POST", "/v1/scim/{idp}/Users", id, 201, "", "POST create User active=true", true},
		{"PATCH", "/v1/scim/{idp}/Users/{id}", id, 200, "", "PATCH replace active=false, password", true},
		{"GET", "/v1/scim/{idp}/Users", "", 200, "", `GET list Users filter userName eq "…"`, true},
		{"POST", "/v1/scim/{idp}/Users", "", 409, roster.ScimUniqueness, "POST create User active=true", true},
		{"GET", "/v1/scim/{idp}/Users/{id}", id, 401, "", "GET User", false},
		{"DELETE", "/v1/scim/{idp}/Users/{id}", id, 401, "", "DELETE User", false},
		{"GET", "/v1/scim/{idp}/unmatched", "", 404, "", "GET /unmatched", false}, // no endpoint, so no authentication
	}
	if len(got) != len(wants) {
		t.Fatalf("%d entries, want %d: %+v", len(got), len(wants), got)
	}
	org := orgOf(t, l.db, h.dir)
	for i, w := range wants {
		e := got[i]
		if e.Method != w.method || e.Route != w.route || e.ResourceID != w.resourceID || e.Status != w.status || e.SCIMType != w.scimType || e.Summary != w.summary {
			t.Errorf("entry %d:\n got %s %s %q %d %q %q\nwant %s %s %q %d %q %q", i,
				e.Method, e.Route, e.ResourceID, e.Status, e.SCIMType, e.Summary,
				w.method, w.route, w.resourceID, w.status, w.scimType, w.summary)
		}
		if e.OrgID != org || e.DirectoryID != h.dir || e.RequestID == "" || e.Latency <= 0 || e.Time.IsZero() {
			t.Errorf("entry %d: org %q, directory %q, request id %q, latency %v, time %v", i, e.OrgID, e.DirectoryID, e.RequestID, e.Latency, e.Time)
		}
		if w.authenticated != (e.CredentialID != "") || w.authenticated && (e.CredentialKind != "key" || e.CredentialName != "test key") {
			t.Errorf("entry %d: credential %q %q %q, authenticated %v", i, e.CredentialKind, e.CredentialID, e.CredentialName, w.authenticated)
		}
		if e.ResourceType != "User" && w.route != "/v1/scim/{idp}/unmatched" {
			t.Errorf("entry %d: resource type %q", i, e.ResourceType)
		}
		if e.Body != "" {
			t.Errorf("entry %d has a body with capture off: %s", i, e.Body)
		}
	}
	if got[0].RequestID != created.header.Get("X-Request-Id") {
		t.Errorf("request id %q, the response said %q", got[0].RequestID, created.header.Get("X-Request-Id"))
	}
	assertNoSecrets(t, got, h.token, h.tokenB, "hunter2", "n3w-Secret", "rst_not-a-key", "alice")

	other, err := l.db.QueryRequests(context.Background(), roster.RequestQuery{OrgID: orgOf(t, l.db, h.dirB)})
	if err != nil || len(other) != 1 {
		t.Fatalf("B's log: %+v, %v; want only B's own request", other, err)
	}
	if e := other[0]; e.Status != 403 || e.DirectoryID != h.dirB || e.CredentialName != "other key" || e.Summary != "POST create User" /* the body is never read */ {
		t.Errorf("B's forbidden write: %+v", e)
	}
}

// TestRequestLogBodyCapture switches capture on for directory A only and
// checks that bodies are stored with secrets redacted.
func TestRequestLogBodyCapture(t *testing.T) {
	var l requestLog
	h := newHarness(t, withRequestLog(&l))
	if err := l.db.SetBodyCapture(context.Background(), orgOf(t, l.db, h.dir), h.dir, true); err != nil {
		t.Fatal(err)
	}
	id := str(h.mustDo(t, http.StatusCreated, "POST", "/Users", aliceWithPassword), "id")
	h.mustDo(t, http.StatusOK, "PATCH", "/Users/"+id, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],`+
		`"Operations":[{"op":"replace","path":"password","value":"n3w-Secret"}]}`)
	h.mustDo(t, http.StatusOK, "GET", "/Users/"+id, "")

	got := l.entries(t, h.dir)
	if len(got) != 3 {
		t.Fatalf("%d entries, want 3", len(got))
	}
	if b := got[0].Body; !strings.Contains(b, `"password":"[REDACTED]"`) || !strings.Contains(b, `"userName":"alice@example.com"`) {
		t.Errorf("created user's body: %s", b)
	}
	if b := got[1].Body; !strings.Contains(b, `"path":"password","value":"[REDACTED]"`) {
		t.Errorf("PATCH body: %s", b)
	}
	if got[2].Body != "" {
		t.Errorf("a GET has a body: %q", got[2].Body)
	}
	assertNoSecrets(t, got, h.token, "hunter2", "n3w-Secret")
}

// assertNoSecrets fails when any field of any entry contains one of the
// strings.
func assertNoSecrets(t *testing.T, entries []roster.RequestEntry, secrets ...string) {
	t.Helper()
	raw, err := json.Marshal(entries)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range secrets {
		if strings.Contains(string(raw), s) {
			t.Errorf("the request log contains %q: %s", s, raw)
		}
	}
}

func orgOf(tb testing.TB, db roster.AdminStore, dir string) string {
	tb.Helper()
	d, err := db.FindDirectory(context.Background(), dir)
	if err != nil {
		tb.Fatal(err)
	}
	return d.OrgID
}

// BenchmarkCreateUserHTTP measures SCIM write throughput over HTTP, with
// parallel clients creating users, with the request log off, on, and on
// with body capture. The log must not slow writes down: it takes the
// store's single writer once per batch, not once per request. The
// "dropped" metric counts log entries the recorder could not keep up with.
func BenchmarkCreateUserHTTP(b *testing.B) {
	for _, mode := range []string{"off", "on", "capture"} {
		b.Run("log="+mode, func(b *testing.B) {
			db, dir, token := openDirectory(b, scim.NewRegistry(), roster.PrivWrite, roster.PrivWrite)
			discard := slog.New(slog.DiscardHandler)
			srv := scimhttp.New(db, db, nil, discard, prometheus.NewRegistry(), scimhttp.DefaultConfig())
			var rec *reqlog.Recorder
			if mode != "off" {
				rec = reqlog.NewRecorder(db, db.FindDirectory, discard, reqlog.Options{})
				defer rec.Close()
				srv.SetRequestRecorder(rec)
				if err := db.SetBodyCapture(context.Background(), orgOf(b, db, dir), dir, mode == "capture"); err != nil {
					b.Fatal(err)
				}
			}
			ts := httptest.NewServer(srv.Handler(prometheus.NewRegistry()))
			defer ts.Close()
			client := ts.Client()
			client.Transport.(*http.Transport).MaxIdleConnsPerHost = 64
			users := ts.URL + "/v1/scim/" + dir + "/Users"
			var n atomic.Int64
			b.SetParallelism(4) // 4 clients per CPU: IdPs provision with several connections
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					req, _ := http.NewRequest("POST", users, strings.NewReader(benchUser(n.Add(1))))
					req.Header.Set("Authorization", "Bearer "+token)
					req.Header.Set("Content-Type", "application/scim+json")
					res, err := client.Do(req)
					if err != nil {
						b.Error(err)
						return
					}
					res.Body.Close()
					if res.StatusCode != http.StatusCreated {
						b.Errorf("status %d", res.StatusCode)
						return
					}
				}
			})
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "creates/s")
			if rec != nil {
				b.ReportMetric(float64(rec.Dropped()), "dropped")
			}
		})
	}
}

// benchUser is a user the way Entra creates one: name, a work email, the
// enterprise extension and a password for the log to redact.
func benchUser(i int64) string {
	return fmt.Sprintf(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],`+
		`"externalId":"ext-%[1]d","userName":"user%[1]d@example.com","active":true,"displayName":"User %[1]d",`+
		`"name":{"givenName":"User","familyName":"Number %[1]d"},"emails":[{"type":"work","value":"user%[1]d@example.com","primary":true}],`+
		`"title":"Engineer","password":"Secret-%[1]d",`+
		`"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"R&D","employeeNumber":"%[1]d"}}`, i)
}
