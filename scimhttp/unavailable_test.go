package scimhttp_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/roster-scim/roster"
	"github.com/roster-scim/roster/postgres"
	"github.com/roster-scim/roster/postgres/pgtest"
	"github.com/roster-scim/roster/scim"
)

// outageStore fails like failingStore and, like the PostgreSQL store,
// says that its failure is an outage.
type outageStore struct{ *failingStore }

func (outageStore) Unavailable(err error) *roster.Error {
	if err == errDiskOnFire {
		return roster.Errorf(roster.EUNAVAILABLE, "the database is temporarily unavailable; retry the request later")
	}
	return nil
}

// assertUnavailable checks a 503: a SCIM error body without scimType,
// Retry-After, and a detail that says to retry.
func assertUnavailable(t *testing.T, r response, wantDetail string) {
	t.Helper()
	assertSCIMError(t, r.status, r.header, r.body, http.StatusServiceUnavailable, "")
	if got := r.header.Get("Retry-After"); got != "5" {
		t.Errorf("Retry-After = %q, want 5", got)
	}
	if d, _ := r.body["detail"].(string); !strings.Contains(d, wantDetail) {
		t.Errorf("detail = %q, want it to say %q", d, wantDetail)
	}
}

// TestStoreUnavailable checks, on any store, that an error the store
// classifies as an outage is a 503 with Retry-After and a SCIM error body,
// with its cause in the log only.
func TestStoreUnavailable(t *testing.T) {
	t.Parallel()
	fs := &failingStore{}
	h := newHarness(t, withStore(func(s scim.Store) scim.Store { fs.Store = s; return outageStore{fs} }))
	h.createUser(t, "ada@example.com")
	fs.fail.Store(true)
	assertUnavailable(t, h.request(t, "GET", h.base+"/Users", ""), "retry the request later")
	if strings.Contains(h.logs.String(), "ada@example.com") {
		t.Error("the log holds personal data")
	}
	if logs := h.logs.String(); !strings.Contains(logs, `"msg":"store unavailable"`) || !strings.Contains(logs, errDiskOnFire.Error()) {
		t.Errorf("the cause is not logged: %s", logs)
	}
	fs.fail.Store(false)
	h.mustDo(t, http.StatusOK, "GET", "/Users", "")
}

// TestDatabaseOutage cuts the connection between a server and PostgreSQL
// and restores it: while the database is gone SCIM requests get 503 with
// Retry-After and write nothing, /readyz fails and /healthz does not; once
// it is back, the same server answers again without a restart.
func TestDatabaseOutage(t *testing.T) {
	t.Parallel()
	u := pgtest.URL(t)
	migrated, err := postgres.Open(context.Background(), u, scim.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	migrated.Close()
	proxy, pu := pgtest.NewProxy(t, u)
	// Trust authentication ignores the password; it is there to check
	// that no log line or response repeats it.
	const password = "pw-must-not-leak"
	p, _ := url.Parse(pu)
	p.User = url.UserPassword("postgres", password)
	h := newHarness(t, func(c *harnessConfig) {
		c.open = func(t testing.TB, reg *scim.Registry) testStore {
			db, err := postgres.Connect(context.Background(), p.String(), reg)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			return db
		}
	})
	h.createUser(t, "ada@example.com")
	if r := h.doRoot(t, "GET", "/readyz", ""); r.status != http.StatusOK {
		t.Fatalf("/readyz with the database up: %d %s", r.status, r.raw)
	}

	proxy.Stop()
	grace := `{"schemas":["` + scim.UserSchema + `"],"userName":"grace@example.com"}`
	for _, req := range [][3]string{
		{"GET", "/Users", ""},
		{"GET", "/Users", ""}, // the pool's connections are gone now: connecting fails
		{"POST", "/Users", grace},
		{"GET", "/Users?filter=" + url.QueryEscape(`userName eq "ada@example.com"`), ""},
	} {
		assertUnavailable(t, h.request(t, req[0], h.base+req[1], req[2]), "temporarily unavailable")
	}
	assertUnavailable(t, h.doRoot(t, "GET", "/readyz", ""), "not ready")
	if r := h.doRoot(t, "GET", "/healthz", ""); r.status != http.StatusOK {
		t.Errorf("/healthz during the outage: %d; it is a liveness probe and must not fail", r.status)
	}
	if r := h.doRoot(t, "GET", "/metrics", ""); r.status != http.StatusOK || !strings.Contains(string(r.raw), `status="503"`) {
		t.Errorf("/metrics during the outage: %d, or no 503 counted", r.status)
	}

	proxy.Start()
	var last response
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if last = h.request(t, "GET", h.base+"/Users", ""); last.status == http.StatusOK {
			break
		}
	}
	if last.status != http.StatusOK {
		t.Fatalf("the server did not recover once the database was back: %d %s", last.status, last.raw)
	}
	// 201, not 409: the POST during the outage wrote nothing.
	h.mustDo(t, http.StatusCreated, "POST", "/Users", grace)
	if body := h.mustDo(t, http.StatusOK, "GET", "/Users", ""); body["totalResults"] != 2.0 {
		t.Errorf("totalResults after the outage = %v, want 2", body["totalResults"])
	}
	if r := h.doRoot(t, "GET", "/readyz", ""); r.status != http.StatusOK || r.header.Get("Retry-After") != "" {
		t.Errorf("/readyz after the outage: %d %s", r.status, r.raw)
	}

	logs := h.logs.String()
	if strings.Contains(logs, password) {
		t.Error("the log holds the database password")
	}
	if !strings.Contains(logs, `"msg":"store unavailable"`) || !strings.Contains(logs, `"level":"ERROR"`) {
		t.Errorf("the outage is not logged at error level: %s", logs)
	}
	if n := strings.Count(logs, `"msg":"store unavailable"`); n != 4 {
		t.Errorf("%d log lines of the outage's cause, want one per failed request (4)", n)
	}
}

// TestStatementTimeoutAnswers503 blocks a list behind a table lock held by
// another session: the statement timeout (1s, ample for the setup's
// statements on a loaded CI machine) stops it, and the client gets a
// 503 saying that the request took too long, instead of a request that
// hangs for as long as the lock is held.
func TestStatementTimeoutAnswers503(t *testing.T) {
	t.Parallel()
	u := pgtest.URL(t)
	h := newHarness(t, func(c *harnessConfig) {
		c.open = func(t testing.TB, reg *scim.Registry) testStore {
			db, err := postgres.Open(context.Background(), u+"&statement_timeout=1s", reg)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			return db
		}
	})
	h.createUser(t, "ada@example.com")

	ctx := context.Background()
	other, err := pgxpool.New(ctx, u) // another session, as another replica would be
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	tx, err := other.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `LOCK TABLE resources IN ACCESS EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}
	assertUnavailable(t, h.request(t, "GET", h.base+"/Users", ""), "took longer than the database statement timeout")
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	h.mustDo(t, http.StatusOK, "GET", "/Users", "")
}

// TestReadyz checks the readiness probe on a store without Ping (SQLite,
// a file that cannot be disconnected): always ready, GET and HEAD only.
func TestReadyz(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	if r := h.doRoot(t, "GET", "/readyz", "", "Authorization", ""); r.status != http.StatusOK || r.body["status"] != "ready" {
		t.Errorf("GET /readyz: %d %s", r.status, r.raw)
	}
	if r := h.doRoot(t, "HEAD", "/readyz", "", "Authorization", ""); r.status != http.StatusOK {
		t.Errorf("HEAD /readyz: %d", r.status)
	}
	r := h.doRoot(t, "POST", "/readyz", "", "Authorization", "")
	assertSCIMError(t, r.status, r.header, r.body, http.StatusMethodNotAllowed, "")
}
