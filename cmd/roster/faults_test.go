package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/roster-scim/roster/postgres/pgtest"
)

// TestServeSurvivesDatabaseOutage runs `serve` on PostgreSQL through a
// proxy, cuts the database away and brings it back: during the outage the
// SCIM API, the admin API and the token endpoint answer 503 with
// Retry-After, each in its own error format; afterwards the same server
// process serves again, without a restart.
func TestServeSurvivesDatabaseOutage(t *testing.T) {
	u := pgtest.URL(t)
	getenv := func(k string) string { return map[string]string{"ROSTER_DATABASE_URL": u}[k] }
	var o, e bytes.Buffer
	if code := Run(context.Background(), []string{"init", "--json"}, &o, &e, getenv); code != 0 {
		t.Fatalf("init: %s", e.String())
	}
	var res initResult
	if err := json.Unmarshal(o.Bytes(), &res); err != nil {
		t.Fatal(err)
	}
	proxy, pu := pgtest.NewProxy(t, u)
	addr := startServe(t, &Config{Database: pu, Addr: "127.0.0.1:0", LogLevel: "error", LogFormat: "json", NoMigrate: true})
	base := "http://" + addr

	type answer struct {
		status int
		header http.Header
		body   map[string]any
	}
	do := func(method, path, token, contentType, body string) answer {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		a := answer{status: resp.StatusCode, header: resp.Header}
		_ = json.Unmarshal(raw, &a.body)
		return a
	}
	scimUsers := func() answer { return do("GET", res.SCIMPath+"/Users", res.Token, "", "") }
	scimCreate := func() answer {
		return do("POST", res.SCIMPath+"/Users", res.Token, "application/scim+json", `{"userName":"ada@example.com"}`)
	}
	adminOrgs := func() answer { return do("GET", "/v1/admin/organizations", res.AdminToken, "", "") }
	token := func() answer {
		form := url.Values{"grant_type": {"client_credentials"}, "client_id": {"no-such-client"}, "client_secret": {"x"}}
		return do("POST", "/v1/oauth/token", "", "application/x-www-form-urlencoded", form.Encode())
	}

	if a := scimUsers(); a.status != http.StatusOK {
		t.Fatalf("GET /Users before the outage: %d %v", a.status, a.body)
	}

	proxy.Stop()
	check := func(what string, a answer) {
		t.Helper()
		if a.status != http.StatusServiceUnavailable || a.header.Get("Retry-After") != "5" {
			t.Errorf("%s during the outage: %d, Retry-After %q; want 503 and 5: %v", what, a.status, a.header.Get("Retry-After"), a.body)
		}
	}
	a := scimUsers()
	check("GET /Users", a)
	if a.body["status"] != "503" || a.body["schemas"] == nil || a.body["scimType"] != nil {
		t.Errorf("SCIM error body: %v", a.body)
	}
	check("POST /Users", scimCreate())
	a = adminOrgs()
	check("admin API", a)
	if errBody, _ := a.body["error"].(map[string]any); errBody["code"] != "unavailable" {
		t.Errorf("admin API error body: %v", a.body)
	}
	a = token()
	check("token endpoint", a)
	if a.body["error"] != "temporarily_unavailable" {
		t.Errorf("token endpoint error body: %v", a.body)
	}
	if a := do("GET", "/readyz", "", "", ""); a.status != http.StatusServiceUnavailable {
		t.Errorf("/readyz during the outage: %d", a.status)
	}

	proxy.Start()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline) && a.status != http.StatusOK; time.Sleep(50 * time.Millisecond) {
		a = scimUsers()
	}
	if a.status != http.StatusOK {
		t.Fatalf("GET /Users did not recover once the database was back: %d %v", a.status, a.body)
	}
	if a := scimCreate(); a.status != http.StatusCreated {
		t.Errorf("POST /Users after the outage: %d %v (409 would mean the POST during the outage wrote)", a.status, a.body)
	}
	if a := adminOrgs(); a.status != http.StatusOK {
		t.Errorf("admin API after the outage: %d %v", a.status, a.body)
	}
	if a := token(); a.status != http.StatusUnauthorized || a.body["error"] != "invalid_client" {
		t.Errorf("token endpoint after the outage: %d %v", a.status, a.body)
	}
	if a := do("GET", "/readyz", "", "", ""); a.status != http.StatusOK {
		t.Errorf("/readyz after the outage: %d", a.status)
	}
}
