package adminhttp

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/roster-scim/roster"
	"github.com/roster-scim/roster/manage"
	"github.com/roster-scim/roster/scim"
	"github.com/roster-scim/roster/sqlite"
)

// errOutage is a driver error that outageStore classifies as an outage;
// it names a host, which must stay out of the answer.
var errOutage = errors.New("dial tcp db.internal:5432: connect: connection refused")

// outageStore is an admin store whose database is gone, and which says so
// the way the PostgreSQL store does.
type outageStore struct{ roster.AdminStore }

func (outageStore) AuthenticateAdmin(context.Context, []byte) (*roster.Admin, error) {
	return nil, errOutage
}

func (outageStore) Unavailable(err error) *roster.Error {
	if errors.Is(err, errOutage) {
		return roster.Errorf(roster.EUNAVAILABLE, "the database is temporarily unavailable; retry the request later")
	}
	return nil
}

// TestStoreUnavailable checks that a store outage is a 503 with
// Retry-After and the admin error body with code "unavailable", with the
// cause in the log only.
func TestStoreUnavailable(t *testing.T) {
	db, err := sqlite.Open(context.Background(), t.TempDir(), scim.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	var logs bytes.Buffer
	h := New(manage.New(db), outageStore{db}, slog.New(slog.NewJSONHandler(&logs, nil)))
	req := httptest.NewRequest("GET", "/v1/admin/organizations", nil)
	req.Header.Set("Authorization", "Bearer some-admin-token")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	r := &response{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
	wantError(t, "GET organizations with the database gone", r, http.StatusServiceUnavailable, roster.EUNAVAILABLE)
	if got := r.header.Get("Retry-After"); got != "5" {
		t.Errorf("Retry-After = %q, want 5", got)
	}
	if strings.Contains(string(r.body), "db.internal") {
		t.Errorf("the cause leaked to the client: %s", r.body)
	}
	if !strings.Contains(logs.String(), "db.internal") || !strings.Contains(logs.String(), `"level":"ERROR"`) {
		t.Errorf("the cause is not logged at error level: %s", logs.String())
	}
}
