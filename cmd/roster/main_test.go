package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// run executes the command line in-process with an empty environment.
func run(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Run(context.Background(), args, &out, &errb, func(string) string { return "" })
	return code, out.String(), errb.String()
}

func TestUsage(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		code     int
		contains string
	}{
		{"no command", nil, 2, "Commands:"},
		{"top help", []string{"--help"}, 0, "serve"},
		{"help command", []string{"help", "serve"}, 0, "-addr"},
		{"serve help", []string{"serve", "--help"}, 0, "-max-body-bytes"},
		{"init help", []string{"init", "--help"}, 0, "-json"},
		{"unknown command", []string{"frobnicate"}, 2, `hint: run "roster --help"`},
		{"wrong flag", []string{"serve", "--bogus"}, 2, `hint: run "roster serve --help"`},
		{"bad flag value", []string{"serve", "--max-results", "-3"}, 2, "positive integer"},
		{"stray argument", []string{"init", "extra"}, 2, `unexpected argument "extra"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errs := run(t, tt.args...)
			if code != tt.code {
				t.Fatalf("exit code = %d, want %d; stderr: %s", code, tt.code, errs)
			}
			if !strings.Contains(out+errs, tt.contains) {
				t.Fatalf("output does not contain %q:\nstdout: %s\nstderr: %s", tt.contains, out, errs)
			}
		})
	}
}

func TestInitJSON(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	code, out, errs := run(t, "init", "--data", dir, "--json")
	if code != 0 {
		t.Fatalf("init: exit %d: %s", code, errs)
	}
	var res initResult
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("init output is not one JSON object: %v\n%s", err, out)
	}
	if res.IdPID == "" || res.SCIMPath != "/v1/scim/"+res.IdPID || !strings.HasPrefix(res.Token, "rst_") {
		t.Fatalf("unexpected init result: %+v", res)
	}
	before, err := os.ReadFile(filepath.Join(dir, "roster.db"))
	if err != nil {
		t.Fatal(err)
	}

	code, out, errs = run(t, "init", "--data", dir, "--json")
	if code == 0 || out != "" || !strings.Contains(errs, "already initialized") {
		t.Fatalf("second init: exit %d, stdout %q, stderr %q; want failure with a clear message", code, out, errs)
	}
	after, _ := os.ReadFile(filepath.Join(dir, "roster.db"))
	if !bytes.Equal(before, after) {
		t.Fatal("second init changed the database")
	}
}

// TestServeLifecycle runs serve in-process: it initializes an empty data
// directory once, answers /healthz and the SCIM API with the printed token,
// and returns nil when its context is cancelled.
func TestServeLifecycle(t *testing.T) {
	dir := t.TempDir()
	cfg := &Config{Data: dir, Addr: "127.0.0.1:0", LogLevel: "info", LogFormat: "json", ShutdownTimeout: 5 * time.Second}
	if err := cfg.applyEnvNumbers(func(string) string { return "" }); err != nil {
		t.Fatal(err)
	}
	start := func() (string, string, context.CancelFunc, chan error) {
		ctx, cancel := context.WithCancel(context.Background())
		var out bytes.Buffer
		log, _ := newLogger(cfg, io.Discard)
		ready, done := make(chan string, 1), make(chan error, 1)
		go func() { done <- serve(ctx, cfg, log, &out, ready) }()
		select {
		case addr := <-ready:
			return addr, out.String(), cancel, done
		case err := <-done:
			t.Fatalf("serve: %v", err)
		}
		return "", "", cancel, done
	}
	addr, out, cancel, done := start()
	m := regexp.MustCompile(`Tenant URL: (\S+)\n.*\n  Secret token \(shown once, store it now\): (\S+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("serve on an empty directory did not print the tenant URL and token:\n%s", out)
	}
	get := func(url, token string) int { return getStatus(t, url, token) }
	if got := get("http://"+addr+"/healthz", ""); got != 200 {
		t.Fatalf("/healthz = %d", got)
	}
	if got := get(m[1]+"/Users?filter=userName+eq+%22x%22", m[2]); got != 200 {
		t.Fatalf("tenant URL with printed token = %d", got)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve returned %v after shutdown, want nil", err)
	}

	_, out, cancel, done = start()
	defer func() { cancel(); <-done }()
	if strings.Contains(out, "Secret token") {
		t.Fatalf("serve printed a token again on an initialized directory:\n%s", out)
	}
}

// TestBinarySignals builds the real binary and checks that SIGTERM and
// SIGINT stop it gracefully with exit status 0.
func TestBinarySignals(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "roster")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			cmd := exec.Command(bin, "serve", "--data", t.TempDir(), "--addr", "127.0.0.1:0", "--log-format", "json")
			stderr, _ := cmd.StderrPipe()
			cmd.Stdout = io.Discard
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			addr := waitForAddr(t, stderr)
			resp, err := http.Get("http://" + addr + "/healthz")
			if err != nil || resp.StatusCode != 200 {
				t.Fatalf("healthz: %v %v", resp, err)
			}
			resp.Body.Close()
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			if err := cmd.Wait(); err != nil {
				t.Fatalf("after %v: %v, want exit status 0", sig, err)
			}
		})
	}
}

// waitForAddr reads JSON log lines until the "serving" line gives the
// address, then keeps draining stderr so the process never blocks on it.
func waitForAddr(t *testing.T, r io.Reader) string {
	t.Helper()
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		var line struct{ Msg, Addr string }
		if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "serving" {
			go func() { _, _ = io.Copy(io.Discard, r) }()
			return line.Addr
		}
	}
	t.Fatal("the server exited before logging its address")
	return ""
}

func TestEnvironment(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "from-env")
	env := map[string]string{"ROSTER_DATA": dir}
	var out, errb bytes.Buffer
	if code := Run(context.Background(), []string{"init", "--json"}, &out, &errb, func(k string) string { return env[k] }); code != 0 {
		t.Fatalf("init with ROSTER_DATA: exit %d: %s", code, errb.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "roster.db")); err != nil {
		t.Fatalf("ROSTER_DATA was not used: %v", err)
	}

	env = map[string]string{"ROSTER_MAX_RESULTS": "lots"}
	errb.Reset()
	code := Run(context.Background(), []string{"serve", "--data", t.TempDir()}, io.Discard, &errb, func(k string) string { return env[k] })
	if code != 2 || !strings.Contains(errb.String(), "ROSTER_MAX_RESULTS must be a positive integer") {
		t.Fatalf("bad ROSTER_MAX_RESULTS: exit %d, stderr %q", code, errb.String())
	}
}

// TestLocalAdminCommands runs admin commands on a data directory: keys
// listed and revoked, and server admins created, listed and revoked.
func TestLocalAdminCommands(t *testing.T) {
	dir := t.TempDir()
	if code, _, errs := run(t, "init", "--data", dir); code != 0 {
		t.Fatal(errs)
	}
	jsonOf := func(args ...string) any {
		t.Helper()
		code, out, errs := run(t, append(args, "--data", dir, "--json")...)
		if code != 0 {
			t.Fatalf("roster %v: exit %d: %s", args, code, errs)
		}
		var v any
		if err := json.Unmarshal([]byte(out), &v); err != nil {
			t.Fatalf("roster %v: %v\n%s", args, err, out)
		}
		return v
	}
	keys := jsonOf("key", "list").([]any)
	if len(keys) != 1 {
		t.Fatalf("keys after init: %v", keys)
	}
	id := keys[0].(map[string]any)["id"].(string)
	if k := jsonOf("key", "revoke", "--id", id).(map[string]any); k["revoked"] != true {
		t.Errorf("revoked key: %v", k)
	}
	ops := jsonOf("admin", "create", "--server-admins", "--name", "ops").(map[string]any)
	opsID := ops["admin"].(map[string]any)["id"].(string)
	if admins := jsonOf("admin", "list", "--server-admins").([]any); len(admins) != 2 {
		t.Errorf("server admins: %v", admins)
	}
	if a := jsonOf("admin", "revoke", "--server-admins", "--id", opsID).(map[string]any); a["revoked"] != true {
		t.Errorf("revoked admin: %v", a)
	}
	if code, _, errs := run(t, "admin", "list", "--data", dir, "--server-admins", "--org", "x"); code != 2 || !strings.Contains(errs, "exclude each other") {
		t.Errorf("--server-admins with --org: exit %d, %s", code, errs)
	}
}

// TestServeDrainsBeforeShutdown checks --shutdown-delay: once the server is
// told to stop, /readyz fails at once while the SCIM API keeps answering,
// and serve returns nil when the delay is over.
func TestServeDrainsBeforeShutdown(t *testing.T) {
	cfg := &Config{Data: t.TempDir(), Addr: "127.0.0.1:0", LogLevel: "info", LogFormat: "json", ShutdownDelay: 5 * time.Second}
	if err := cfg.applyEnvNumbers(func(string) string { return "" }); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out bytes.Buffer
	log, _ := newLogger(cfg, io.Discard)
	ready, done := make(chan string, 1), make(chan error, 1)
	go func() { done <- serve(ctx, cfg, log, &out, ready) }()
	var addr string
	select {
	case addr = <-ready:
	case err := <-done:
		t.Fatalf("serve: %v", err)
	}
	m := regexp.MustCompile(`Tenant URL: (\S+)\n.*\n  Secret token \(shown once, store it now\): (\S+)`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("no tenant URL and token in:\n%s", out.String())
	}
	get := func(url, token string) int { return getStatus(t, url, token) }
	if got := get("http://"+addr+"/readyz", ""); got != 200 {
		t.Fatalf("/readyz before shutdown = %d, want 200", got)
	}
	cancel()
	for get("http://"+addr+"/readyz", "") != 503 {
		time.Sleep(10 * time.Millisecond)
	}
	if got := get(m[1]+"/Users", m[2]); got != 200 {
		t.Fatalf("SCIM request while draining = %d, want 200", got)
	}
	if got := get("http://"+addr+"/healthz", ""); got != 200 {
		t.Fatalf("/healthz while draining = %d, want 200", got)
	}
	if err := <-done; err != nil {
		t.Fatalf("serve returned %v after draining, want nil", err)
	}
}

// getStatus sends GET url, with token as a bearer token unless it is "",
// and returns the status.
func getStatus(t *testing.T, url, token string) int {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestShutdownDelaySetting: the delay defaults to none, takes 0 (the
// documented default) as well as a duration, from the flag or the
// environment, and refuses a negative one.
func TestShutdownDelaySetting(t *testing.T) {
	for _, tc := range []struct {
		env  string
		want time.Duration
		ok   bool
	}{{"", 0, true}, {"0", 0, true}, {"0s", 0, true}, {"3s", 3 * time.Second, true}, {"-1s", 0, false}, {"soon", 0, false}} {
		var c Config
		err := c.applyEnvNumbers(func(k string) string {
			if k == "ROSTER_SHUTDOWN_DELAY" {
				return tc.env
			}
			return ""
		})
		if (err == nil) != tc.ok || (tc.ok && c.ShutdownDelay != tc.want) {
			t.Errorf("ROSTER_SHUTDOWN_DELAY=%q: delay %v, error %v; want %v, ok %v", tc.env, c.ShutdownDelay, err, tc.want, tc.ok)
		}
	}
	var c Config
	if err := delaySetter(&c.ShutdownDelay)("0"); err != nil {
		t.Errorf("--shutdown-delay 0: %v", err)
	}
}
