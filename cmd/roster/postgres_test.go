package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/roster-scim/roster/postgres/pgtest"
)

// TestServeOnPostgres runs `roster migrate`, `roster init --database` and
// `serve` on PostgreSQL, and provisions a user through the printed tenant.
func TestServeOnPostgres(t *testing.T) {
	u := pgtest.URL(t)
	env := map[string]string{"ROSTER_DATABASE_URL": u}
	getenv := func(k string) string { return env[k] }
	if code := Run(context.Background(), []string{"migrate"}, io.Discard, io.Discard, getenv); code != 0 {
		t.Fatalf("roster migrate: exit %d", code)
	}
	var o, e bytes.Buffer
	code := Run(context.Background(), []string{"init", "--json"}, &o, &e, getenv)
	out, errs := o.String(), e.String()
	if code != 0 {
		t.Fatalf("init --database: %s", errs)
	}
	var res initResult
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}

	cfg := &Config{Database: u, Addr: "127.0.0.1:0", LogLevel: "error", LogFormat: "json", NoMigrate: true}
	addr := startServe(t, cfg)
	req, _ := http.NewRequest("POST", "http://"+addr+res.SCIMPath+"/Users", strings.NewReader(`{"userName":"ada@example.com"}`))
	req.Header.Set("Authorization", "Bearer "+res.Token)
	req.Header.Set("Content-Type", "application/scim+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST /Users on PostgreSQL: %d", resp.StatusCode)
	}
}
