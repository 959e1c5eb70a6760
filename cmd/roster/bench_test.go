package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
)

func TestBenchUsage(t *testing.T) {
	env := map[string]string{"ROSTER_BENCH_TOKEN": "rst_secret"}
	tests := []struct {
		name     string
		args     []string
		env      map[string]string
		contains string
	}{
		{"no url", []string{}, env, "bench needs --url"},
		{"not http", []string{"--url", "ftp://x"}, env, "not an http"},
		{"no token", []string{"--url", "http://127.0.0.1:1/scim"}, nil, "ROSTER_BENCH_TOKEN"},
		{"no users", []string{"--url", "http://127.0.0.1:1/scim", "--users", "0"}, env, "--users must be at least 1"},
		{"no groups", []string{"--url", "http://127.0.0.1:1/scim", "--groups", "0"}, env, "--groups must be at least 1"},
		{"bad concurrency", []string{"--url", "http://127.0.0.1:1/scim", "--concurrency", "0"}, env, "--concurrency"},
		{"bad duration", []string{"--url", "http://127.0.0.1:1/scim", "--duration", "-1s"}, env, "--duration"},
		{"not a number", []string{"--url", "http://127.0.0.1:1/scim", "--users", "many"}, env, `hint: run "roster bench --help"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := Run(context.Background(), append([]string{"bench"}, tt.args...), &out, &errb, func(k string) string { return tt.env[k] })
			if code != 2 || !strings.Contains(errb.String(), tt.contains) || strings.Contains(errb.String(), "rst_secret") {
				t.Fatalf("exit %d, stderr %q; want 2 and %q", code, errb.String(), tt.contains)
			}
		})
	}
	if code, _, errs := run(t, "bench", "--help"); code != 0 || !strings.Contains(errs, "-members-per-group") {
		t.Fatalf("bench --help: exit %d", code)
	}
}

// TestBenchSmoke runs a tiny bench against roster serve, prints it as JSON
// and as a table, and leaves the directory as it found it.
func TestBenchSmoke(t *testing.T) {
	dir := t.TempDir()
	code, out, errs := run(t, "init", "--data", dir, "--json")
	if code != 0 {
		t.Fatalf("init: %s", errs)
	}
	var ini initResult
	if err := json.Unmarshal([]byte(out), &ini); err != nil {
		t.Fatal(err)
	}
	addr := startServe(t, &Config{Data: dir, Addr: "127.0.0.1:0", LogLevel: "error", LogFormat: "json"})
	url := "http://" + addr + ini.SCIMPath
	env := func(k string) string {
		if k == "ROSTER_BENCH_TOKEN" {
			return ini.Token
		}
		return ""
	}
	bench := func(args ...string) (string, string) {
		t.Helper()
		var stdout, stderr bytes.Buffer
		args = append([]string{"bench", "--url", url, "--users", "30", "--groups", "2", "--members-per-group", "15", "--concurrency", "2", "--duration", "200ms"}, args...)
		if code := Run(context.Background(), args, &stdout, &stderr, env); code != 0 {
			t.Fatalf("roster %s: exit %d: %s", strings.Join(args, " "), code, stderr.String())
		}
		if strings.Contains(stdout.String()+stderr.String(), ini.Token) {
			t.Fatal("bench printed the token")
		}
		return stdout.String(), stderr.String()
	}

	doc, _ := bench("--json", "--seed", "3")
	var rep struct {
		Config map[string]any `json:"config"`
		Server struct {
			URL     string
			Behaved bool
		} `json:"server"`
		Weights map[string]int                           `json:"weights"`
		Preload struct{ Users, Groups, Memberships int } `json:"preload"`
		Ops     map[string]map[string]any                `json:"ops"`
		Overall struct {
			Count  int              `json:"count"`
			P99MS  float64          `json:"p99_ms"`
			Errors map[string]int64 `json:"errors"`
		} `json:"overall"`
		Cleanup struct{ Users, Groups int } `json:"cleanup"`
	}
	if err := json.Unmarshal([]byte(doc), &rep); err != nil {
		t.Fatalf("bench --json is not one JSON document: %v\n%s", err, doc)
	}
	if !rep.Server.Behaved || rep.Server.URL != url || rep.Preload.Users != 30 || rep.Preload.Memberships != 30 ||
		rep.Overall.Count == 0 || rep.Overall.P99MS <= 0 || len(rep.Overall.Errors) != 0 || rep.Cleanup.Users < 30 || rep.Cleanup.Groups < 2 ||
		len(rep.Ops) != 13 || rep.Weights["match_username"] == 0 || rep.Config["seed"] != 3.0 {
		t.Fatalf("report:\n%s", doc)
	}

	table, progress := bench()
	for _, want := range []string{"Preload: 30 users, 2 groups, 30 memberships", "match_username", "overall", "Cleanup: deleted", "answered every request as expected"} {
		if !strings.Contains(table, want) {
			t.Errorf("the table has no %q:\n%s", want, table)
		}
	}
	if !strings.Contains(progress, "bench: mix: 200ms with 2 workers") {
		t.Errorf("progress: %q", progress)
	}
}
