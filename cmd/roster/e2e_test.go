package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestAdminEndToEnd drives the command line the way the seeds' admin
// would: against a running server, create an organization, an API key and
// an IdP configuration with the meta-networks-connector profile, provision
// a user over SCIM with the key, then read the request log.
func TestAdminEndToEnd(t *testing.T) {
	dir := t.TempDir()
	code, out, errs := run(t, "init", "--data", dir, "--json")
	if code != 0 {
		t.Fatalf("init: %s", errs)
	}
	var first initResult
	if err := json.Unmarshal([]byte(out), &first); err != nil || first.AdminToken == "" {
		t.Fatalf("init output %q: %v", out, err)
	}

	cfg := &Config{Data: dir, Addr: "127.0.0.1:0", LogLevel: "error", LogFormat: "json"}
	addr := startServe(t, cfg)
	server := "http://" + addr
	env := map[string]string{"ROSTER_SERVER": server, "ROSTER_ADMIN_TOKEN": first.AdminToken}
	roster := func(args ...string) map[string]any {
		t.Helper()
		var stdout, stderr bytes.Buffer
		if code := Run(context.Background(), append(args, "--json"), &stdout, &stderr, func(k string) string { return env[k] }); code != 0 {
			t.Fatalf("roster %s: exit %d: %s", strings.Join(args, " "), code, stderr.String())
		}
		var v map[string]any
		_ = json.Unmarshal(stdout.Bytes(), &v)
		return v
	}

	org := roster("org", "create", "--name", "Meta customer")["id"].(string)
	key := roster("key", "create", "--org", org, "--name", "Entra ID", "--users", "write", "--groups", "write")
	secret := key["token"].(string)
	keyID := key["key"].(map[string]any)["id"].(string)
	idp := roster("idp", "create", "--org", org, "--name", "Meta Networks Connector", "--icon", "https://example.com/mnc.png",
		"--profile", "meta-networks-connector", "--key", keyID)
	idpID := idp["id"].(string)
	if idp["profile"] != "meta-networks-connector" {
		t.Fatalf("idp: %v", idp)
	}

	scimDo := func(method, path, body string) int {
		t.Helper()
		req, _ := http.NewRequest(method, server+"/v1/scim/"+idpID+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+secret)
		req.Header.Set("Content-Type", "application/scim+json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	// title is not in the Meta Networks Connector attribute table.
	user := `{"userName":"ada@example.com","title":"Countess","name":{"givenName":"Ada","familyName":"Lovelace"},"phoneNumbers":[{"type":"work","value":"%s"}]}`
	if got := scimDo("POST", "/Users", strings.Replace(user, "%s", "555-1234", 1)); got != http.StatusBadRequest {
		t.Errorf("a work phone that is not E.164: %d, want 400", got)
	}
	if got := scimDo("POST", "/Users", strings.Replace(user, "%s", "+14155550100", 1)); got != http.StatusCreated {
		t.Fatalf("provision a user: %d, want 201", got)
	}

	// The request log is written in the background; read it until both
	// requests are there.
	var entries []map[string]any
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		var stdout, stderr bytes.Buffer
		if code := Run(context.Background(), []string{"logs", "--org", org, "--idp", idpID, "--json"}, &stdout, &stderr, func(k string) string { return env[k] }); code != 0 {
			t.Fatalf("roster logs: %s", stderr.String())
		}
		entries = nil
		if err := json.Unmarshal(stdout.Bytes(), &entries); err != nil {
			t.Fatalf("roster logs --json: %v\n%s", err, stdout.String())
		}
		if len(entries) >= 2 {
			break
		}
	}
	if len(entries) != 2 {
		t.Fatalf("request log has %d entries, want 2: %v", len(entries), entries)
	}
	newest, oldest := entries[0], entries[1]
	if newest["status"] != 201.0 || newest["method"] != "POST" || newest["credential_id"] != keyID || newest["resource_type"] != "User" {
		t.Errorf("newest entry: %v", newest)
	}
	if s, _ := newest["summary"].(string); !strings.Contains(s, "ignored by profile: title") {
		t.Errorf("the summary does not note the attribute the profile ignored: %q", s)
	}
	if oldest["status"] != 400.0 || oldest["scim_type"] != "invalidValue" {
		t.Errorf("oldest entry: %v", oldest)
	}
	for _, e := range entries {
		if b, _ := json.Marshal(e); bytes.Contains(b, []byte(secret)) || bytes.Contains(b, []byte("ada@example.com")) {
			t.Errorf("the log holds the secret or a body value: %s", b)
		}
	}
}

// startServe runs serve in-process until the test ends and returns its
// address; the test fails if serve does not start, or does not return nil
// on shutdown.
func startServe(t *testing.T, cfg *Config) string {
	t.Helper()
	addr, err := launch(t, cfg, io.Discard)
	if err != nil {
		t.Fatalf("serve: %v", err)
	}
	return addr
}

// launch is startServe for any goroutine: it returns serve's error instead
// of failing the test, and writes serve's stdout to out. A server that
// started is stopped when the test ends.
func launch(t *testing.T, cfg *Config, out io.Writer) (string, error) {
	if err := cfg.applyEnvNumbers(func(string) string { return "" }); err != nil {
		return "", err
	}
	var logs lockedBuffer
	log, err := newLogger(cfg, &logs)
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready, done := make(chan string, 1), make(chan error, 1)
	go func() { done <- serve(ctx, cfg, log, out, ready) }()
	select {
	case addr := <-ready:
		t.Cleanup(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("serve: %v", err)
			}
			// The server log says why a request failed with a 500.
			if t.Failed() && logs.Len() > 0 {
				t.Logf("log of the server at %s:\n%s", addr, logs.String())
			}
		})
		return addr, nil
	case err := <-done:
		cancel()
		return "", err
	}
}

// lockedBuffer is a bytes.Buffer that a server's goroutines may log to.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Len()
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
