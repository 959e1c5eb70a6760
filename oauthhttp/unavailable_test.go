package oauthhttp_test

import (
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/roster-scim/roster"
	"github.com/roster-scim/roster/oauthhttp"
)

// errOutage stands for a driver error that the store classifies as an
// outage; it quotes a host, which must not reach the client.
var errOutage = errors.New("dial tcp db.internal:5432: connect: connection refused")

// outageStore is a store that recognises errOutage as an outage, the way
// the PostgreSQL store recognises a lost connection.
type outageStore struct{ *failingStore }

func (outageStore) Unavailable(err error) *roster.Error {
	if errors.Is(err, errOutage) {
		return roster.Errorf(roster.EUNAVAILABLE, "the database is temporarily unavailable; retry the request later")
	}
	return nil
}

// TestStoreUnavailable checks that a store outage is RFC 6749's
// temporarily_unavailable with 503 and Retry-After, with the cause in the
// log only, while other store failures stay server_error.
func TestStoreUnavailable(t *testing.T) {
	e := newEnv(t)
	id, secret, _ := e.addClient(e.org, e.dir, 0, roster.PrivWrite, roster.PrivWrite)
	log := slog.New(slog.NewJSONHandler(e.logs, nil))
	e.srv = httptest.NewServer(oauthhttp.New(outageStore{e.store}, log, e.clock.Now))
	t.Cleanup(e.srv.Close)
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret}}

	e.store.mu.Lock()
	e.store.fail = errOutage
	e.store.mu.Unlock()
	res := e.do(e.tokenRequest(form, nil))
	checkError(t, res, http.StatusServiceUnavailable, "temporarily_unavailable", "retry the request later")
	if got := res.header.Get("Retry-After"); got != "5" {
		t.Errorf("Retry-After = %q, want 5", got)
	}
	if strings.Contains(res.raw, "db.internal") {
		t.Errorf("the cause leaked to the client: %s", res.raw)
	}
	if logs := e.logs.String(); !strings.Contains(logs, "db.internal") || !strings.Contains(logs, `"level":"ERROR"`) {
		t.Errorf("the cause is not logged at error level: %s", logs)
	}

	e.store.mu.Lock()
	e.store.fail = errors.New("disk on fire")
	e.store.mu.Unlock()
	res = e.do(e.tokenRequest(form, nil))
	checkError(t, res, http.StatusInternalServerError, "server_error", "quote request id")
	if res.header.Get("Retry-After") != "" {
		t.Errorf("Retry-After on a 500: %q", res.header.Get("Retry-After"))
	}

	e.store.mu.Lock()
	e.store.fail = nil
	e.store.mu.Unlock()
	if res := e.do(e.tokenRequest(form, nil)); res.status != http.StatusOK {
		t.Errorf("after the outage: %d %s", res.status, res.raw)
	}
}
