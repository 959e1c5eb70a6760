package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// initData runs `roster init` on a new data directory.
func initData(t *testing.T) (string, initResult) {
	t.Helper()
	dir := t.TempDir()
	code, out, errs := run(t, "init", "--data", dir, "--json")
	if code != 0 {
		t.Fatalf("init: %s", errs)
	}
	var res initResult
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	return dir, res
}

// countUsers asks a Roster SCIM endpoint how many users it has.
func countUsers(t *testing.T, tenantURL, token string) int {
	t.Helper()
	req, _ := http.NewRequest("GET", tenantURL+"/Users?count=0", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v struct{ TotalResults int }
	json.NewDecoder(resp.Body).Decode(&v)
	return v.TotalResults
}

const jobUsers = `id,userPrincipalName,givenName,surname,mail,department,groups
1,ada@example.com,Ada,Lovelace,ada@example.com,Math,Analysts
2,alan@example.com,Alan,Turing,alan@example.com,Math,Analysts
3,grace@example.com,Grace,Hopper,grace@example.com,Navy,
`

// writeJob writes users.csv and a YAML job provisioning it into tenantURL.
func writeJob(t *testing.T, tenantURL, token string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "users.csv"), []byte(jobUsers), 0o600); err != nil {
		t.Fatal(err)
	}
	yaml := fmt.Sprintf(`name: hr
source:
  type: file
  path: users.csv            # relative to this file
  groups_column: groups
target:
  url: %s
  token: %s
scope:
  users:
    filters:
      - clauses:
          - {attribute: department, operator: NOT EQUALS, value: Navy}
schedule:
  interval: 1m
`, tenantURL, token)
	p := filepath.Join(dir, "job.yaml")
	if err := os.WriteFile(p, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestJobCommands(t *testing.T) {
	targetDir, tgt := initData(t)
	addr := startServe(t, &Config{Data: targetDir, Addr: "127.0.0.1:0", LogLevel: "error", LogFormat: "json", JobsCheck: -1})
	tenant := "http://" + addr + tgt.SCIMPath
	stateDir, _ := initData(t)
	jobFile := writeJob(t, tenant, tgt.Token)
	job := func(wantCode int, args ...string) string {
		t.Helper()
		code, out, errs := run(t, append(append([]string{"job"}, args...), "--data", stateDir)...)
		if code != wantCode {
			t.Fatalf("job %s: exit %d, want %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, wantCode, out, errs)
		}
		if strings.Contains(out+errs, tgt.Token) {
			t.Fatalf("job %s printed the target's token", strings.Join(args, " "))
		}
		if code != 0 {
			return errs
		}
		return out
	}

	job(0, "create", "--file", jobFile)
	if out := job(1, "create", "--file", jobFile); !strings.Contains(out, "--replace") {
		t.Errorf("second create: %s", out)
	}
	job(0, "create", "--file", jobFile, "--replace")
	if out := job(0, "show", "hr"); !strings.Contains(out, "(hidden)") {
		t.Errorf("show: %s", out)
	}
	var list []map[string]any
	json.Unmarshal([]byte(job(0, "list", "--json")), &list)
	if len(list) != 1 || list[0]["name"] != "hr" {
		t.Errorf("list: %v", list)
	}
	if out := job(0, "test", "hr"); strings.Count(out, "ok  ") != 2 {
		t.Errorf("test: %s", out)
	}

	// A dry run plans and writes nothing.
	out := job(0, "run", "hr", "--dry-run")
	if !strings.Contains(out, "would create user 1") || countUsers(t, tenant, tgt.Token) != 0 {
		t.Errorf("dry run: %s (%d users in the target)", out, countUsers(t, tenant, tgt.Token))
	}
	var sum map[string]any
	json.Unmarshal([]byte(job(0, "run", "hr", "--json")), &sum)
	counts := sum["counts"].(map[string]any)
	// Grace is out of scope (department NOT EQUALS Navy): skipped.
	if counts["created"] != 3.0 || counts["skipped"] != 1.0 || countUsers(t, tenant, tgt.Token) != 2 {
		t.Errorf("run: %v", sum)
	}
	var entries []map[string]any
	json.Unmarshal([]byte(job(0, "logs", "hr", "--json")), &entries)
	if len(entries) < 4 {
		t.Errorf("logs: %d entries", len(entries))
	}
	json.Unmarshal([]byte(job(0, "logs", "hr", "--json", "--object", "3")), &entries)
	if len(entries) != 1 || entries[0]["status"] != "Skipped" || !strings.Contains(fmt.Sprint(entries[0]["steps"]), "Navy") {
		t.Errorf("grace's log: %v", entries)
	}
	json.Unmarshal([]byte(job(0, "logs", "hr", "--json", "--failed")), &entries)
	if len(entries) != 0 {
		t.Errorf("failures: %v", entries)
	}
	json.Unmarshal([]byte(job(0, "restart", "hr", "--json")), &sum)
	if sum["initial"] != true || sum["counts"].(map[string]any)["created"] != 0.0 {
		t.Errorf("restart: %v", sum)
	}
	job(0, "delete", "hr")
	json.Unmarshal([]byte(job(0, "list", "--json")), &list)
	if len(list) != 0 {
		t.Errorf("list after delete: %v", list)
	}
	if out := job(1, "run", "hr"); !strings.Contains(out, "not") {
		t.Errorf("run a deleted job: %s", out)
	}
}

func TestJobBadInput(t *testing.T) {
	stateDir, _ := initData(t)
	dir := t.TempDir()
	for name, body := range map[string]string{
		"misspelt.yaml": "name: hr\nsource: {type: file, path: u.csv}\ntarget: {url: 'https://x.example', token: t}\nmapings: {}\n",
		"nourl.json":    `{"name": "hr", "source": {"type": "file", "path": "u.csv"}, "target": {"token": "t"}}`,
		"badexpr.yaml":  "name: hr\nsource: {type: file, path: u.csv}\ntarget: {url: 'https://x.example', token: t}\nmappings: {users: [{target: displayName, expression: 'Join(\" \" [a])'}]}\n",
	} {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(body), 0o600)
		code, out, errs := run(t, "job", "create", "--file", p, "--data", stateDir)
		want := map[string]string{"misspelt.yaml": `unknown field "mapings"`, "nourl.json": "target.url", "badexpr.yaml": "col 10"}[name]
		if code != 1 || !strings.Contains(errs, want) {
			t.Errorf("%s: exit %d, %s %s; want an error with %q", name, code, out, errs, want)
		}
	}
}

// TestJobScheduled: roster serve runs an enabled job on its own.
func TestJobScheduled(t *testing.T) {
	dir, tgt := initData(t)
	addr := startServe(t, &Config{Data: dir, Addr: "127.0.0.1:0", LogLevel: "error", LogFormat: "json", JobsCheck: 20 * time.Millisecond})
	tenant := "http://" + addr + tgt.SCIMPath
	if code, _, errs := run(t, "job", "create", "--file", writeJob(t, tenant, tgt.Token), "--data", dir); code != 0 {
		t.Fatal(errs)
	}
	for deadline := time.Now().Add(20 * time.Second); countUsers(t, tenant, tgt.Token) < 2; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the scheduler did not run the job")
		}
	}
}

// TestJobServer: roster job list, show and logs with --server read a
// running Roster's jobs through the admin API; the other commands refuse
// --server, since they run where the data is.
func TestJobServer(t *testing.T) {
	dir, res := initData(t)
	addr := startServe(t, &Config{Data: dir, Addr: "127.0.0.1:0", LogLevel: "error", LogFormat: "json", JobsCheck: -1})
	tenant := "http://" + addr + res.SCIMPath
	server := "http://" + addr
	if code, _, errs := run(t, "job", "create", "--file", writeJob(t, tenant, res.Token), "--data", dir); code != 0 {
		t.Fatal(errs)
	}
	if code, _, errs := run(t, "job", "run", "hr", "--data", dir); code != 0 {
		t.Fatal(errs)
	}
	environ := map[string]string{"ROSTER_ADMIN_TOKEN": res.AdminToken}
	job := func(wantCode int, args ...string) string {
		t.Helper()
		var out, errb strings.Builder
		code := Run(context.Background(), append([]string{"job"}, args...), &out, &errb, func(k string) string { return environ[k] })
		if code != wantCode {
			t.Fatalf("job %s: exit %d, want %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, wantCode, out.String(), errb.String())
		}
		if strings.Contains(out.String()+errb.String(), res.Token) || strings.Contains(out.String()+errb.String(), "sealed:") {
			t.Fatalf("job %s printed the target's token", strings.Join(args, " "))
		}
		if code != 0 {
			return errb.String()
		}
		return out.String()
	}

	var entries []map[string]any
	json.Unmarshal([]byte(job(0, "logs", "hr", "--server", server, "--json")), &entries)
	if len(entries) < 4 {
		t.Errorf("logs --server: %d entries", len(entries))
	}
	json.Unmarshal([]byte(job(0, "logs", "hr", "--server", server, "--json", "--object", "3")), &entries)
	if len(entries) != 1 || entries[0]["status"] != "Skipped" || !strings.Contains(fmt.Sprint(entries[0]["steps"]), "Navy") {
		t.Errorf("grace's log through the server: %v", entries)
	}
	json.Unmarshal([]byte(job(0, "logs", "hr", "--server", server, "--json", "--failed")), &entries)
	if len(entries) != 0 {
		t.Errorf("failures through the server: %v", entries)
	}
	if out := job(0, "logs", "hr", "--server", server, "--limit", "2"); strings.Count(out, "\n") != 3 || !strings.Contains(out, "SOURCE ID") {
		t.Errorf("logs --server --limit 2:\n%s", out)
	}
	// ROSTER_SERVER works as --server.
	environ["ROSTER_SERVER"] = server
	if out := job(0, "logs", "hr", "--object", "1"); !strings.Contains(out, "Create") || !strings.Contains(out, "Success") {
		t.Errorf("logs with ROSTER_SERVER:\n%s", out)
	}
	delete(environ, "ROSTER_SERVER")

	var list []map[string]any
	json.Unmarshal([]byte(job(0, "list", "--server", server, "--json")), &list)
	if len(list) != 1 || list[0]["name"] != "hr" {
		t.Errorf("list --server: %v", list)
	}
	if out := job(0, "show", "hr", "--server", server); !strings.Contains(out, "(hidden)") || !strings.Contains(out, "users active: 2") {
		t.Errorf("show --server:\n%s", out)
	}
	if out := job(1, "logs", "nope", "--server", server); !strings.Contains(out, "nope") {
		t.Errorf("logs of an unknown job: %s", out)
	}
	for _, verb := range [][]string{{"run", "hr"}, {"restart", "hr"}, {"delete", "hr"}, {"test", "hr"}, {"create", "--file", "x.yaml"}} {
		if out := job(2, append(verb, "--server", server)...); !strings.Contains(out, "where the data is") {
			t.Errorf("job %s --server: %s", verb[0], out)
		}
	}
	delete(environ, "ROSTER_ADMIN_TOKEN")
	if out := job(2, "logs", "hr", "--server", server); !strings.Contains(out, "ROSTER_ADMIN_TOKEN") {
		t.Errorf("logs --server without a token: %s", out)
	}
}
