package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/roster-scim/roster"
	"github.com/roster-scim/roster/adminclient"
	"github.com/roster-scim/roster/manage"
	"github.com/roster-scim/roster/postgres/pgtest"
	"github.com/roster-scim/roster/scim"
)

// TestReplicas starts two servers with the wiring of `roster serve
// --database` on one PostgreSQL database, as two replicas behind a load
// balancer, and sends requests through both at once. Every guarantee a
// single server gives must hold across them: the database, not a process,
// keeps userNames unique, updates from being lost, ETags honest and
// revoked keys out.
func TestReplicas(t *testing.T) {
	u := pgtest.URL(t)
	env := map[string]string{"ROSTER_DATABASE_URL": u}
	var out, errb bytes.Buffer
	if code := Run(context.Background(), []string{"init", "--json"}, &out, &errb, func(k string) string { return env[k] }); code != 0 {
		t.Fatalf("init --database: exit %d: %s", code, errb.String())
	}
	var res initResult
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatal(err)
	}
	// Both replicas start as a deployment would start them: with the same
	// configuration, each migrating (an advisory lock makes that a no-op
	// here) and each with a pool of its own.
	servers := make([]*replica, 2)
	for i, name := range []string{"A", "B"} {
		cfg := &Config{Database: u, Addr: "127.0.0.1:0", LogLevel: "error", LogFormat: "json"}
		servers[i] = newReplica(t, name, startServe(t, cfg), res)
	}
	a, b := servers[0], servers[1]
	tenant := res.SCIMPath

	t.Run("CreateSameUserName", func(t *testing.T) {
		const n = 20
		codes := make([]int, n)
		bodies := make([]map[string]any, n)
		together(n, func(i int) {
			// The case differs between requests: userName is unique
			// case-insensitively, across replicas too.
			name := "race@example.com"
			if i%4 >= 2 {
				name = "Race@Example.com"
			}
			codes[i], _, bodies[i] = servers[i%2].do(t, "POST", tenant+"/Users", res.Token, `{"userName":"`+name+`"}`)
		})
		created := 0
		for i, code := range codes {
			switch {
			case code == http.StatusCreated:
				created++
			case code == http.StatusConflict && bodies[i]["scimType"] == "uniqueness":
			default:
				t.Errorf("create %d through %s: %d %v, want 201 or 409 uniqueness", i, servers[i%2].name, code, bodies[i])
			}
		}
		if created != 1 {
			t.Errorf("%d creates answered 201, want exactly 1", created)
		}
		for _, s := range servers {
			if got := s.count(t, tenant+"/Users?filter="+filterEq("userName", "RACE@example.com"), res.Token); got != 1 {
				t.Errorf("%s lists %d users named race@example.com, want 1", s.name, got)
			}
		}
	})

	t.Run("ConcurrentMemberAdds", func(t *testing.T) {
		group := a.create(t, tenant+"/Groups", res.Token, `{"displayName":"Engineering"}`)
		const n = 20
		ids := make([]string, n)
		for i := range ids {
			ids[i] = servers[i%2].create(t, tenant+"/Users", res.Token, fmt.Sprintf(`{"userName":"member%d@example.com"}`, i))
		}
		codes := make([]int, n)
		together(n, func(i int) {
			patch := `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"members","value":[{"value":"` + ids[i] + `"}]}]}`
			codes[i], _, _ = servers[i%2].do(t, "PATCH", tenant+"/Groups/"+group, res.Token, patch)
		})
		for i, code := range codes {
			if code != http.StatusNoContent {
				t.Errorf("PATCH adding member %d through %s: %d, want 204", i, servers[i%2].name, code)
			}
		}
		for _, s := range servers {
			code, hdr, body := s.do(t, "GET", tenant+"/Groups/"+group, res.Token, "")
			if code != http.StatusOK {
				t.Fatalf("GET group through %s: %d %v", s.name, code, body)
			}
			members, _ := body["members"].([]any)
			got := map[string]bool{}
			for _, m := range members {
				got[m.(map[string]any)["value"].(string)] = true
			}
			for i, id := range ids {
				if !got[id] {
					t.Errorf("%s: member %d (%s) is missing; the group has %d members, want %d", s.name, i, id, len(got), n)
				}
			}
			if want := fmt.Sprintf(`W/"%d"`, 1+n); hdr.Get("ETag") != want {
				t.Errorf("%s: group ETag %s, want %s (one version per PATCH)", s.name, hdr.Get("ETag"), want)
			}
		}
	})

	t.Run("StaleIfMatch", func(t *testing.T) {
		code, hdr, body := a.do(t, "POST", tenant+"/Users", res.Token, `{"userName":"etag@example.com"}`)
		if code != http.StatusCreated {
			t.Fatalf("create: %d %v", code, body)
		}
		id, v1 := body["id"].(string), hdr.Get("ETag")
		title := func(s string) string {
			return `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"title","value":"` + s + `"}]}`
		}
		code, hdr, body = b.do(t, "PATCH", tenant+"/Users/"+id, res.Token, title("one"), "If-Match", v1)
		if code != http.StatusOK {
			t.Fatalf("PATCH through B with the current ETag: %d %v", code, body)
		}
		v2 := hdr.Get("ETag")
		code, _, body = a.do(t, "PATCH", tenant+"/Users/"+id, res.Token, title("two"), "If-Match", v1)
		if code != http.StatusPreconditionFailed || !isSCIMError(body, http.StatusPreconditionFailed) {
			t.Errorf("PATCH through A with the ETag from before B's write: %d %v, want 412 with a SCIM error", code, body)
		}
		if code, _, body = a.do(t, "GET", tenant+"/Users/"+id, res.Token, ""); body["title"] != "one" {
			t.Errorf("after the refused PATCH, A reads %d %v, want title one", code, body)
		}

		// Many writers holding the same ETag, through both replicas at
		// once: exactly one wins, the rest learn that it changed.
		const n = 20
		codes := make([]int, n)
		together(n, func(i int) {
			codes[i], _, _ = servers[i%2].do(t, "PATCH", tenant+"/Users/"+id, res.Token, title(fmt.Sprint("racer", i)), "If-Match", v2)
		})
		won := 0
		for i, code := range codes {
			switch code {
			case http.StatusOK:
				won++
			case http.StatusPreconditionFailed:
			default:
				t.Errorf("PATCH %d with If-Match %s: %d, want 200 or 412", i, v2, code)
			}
		}
		if won != 1 {
			t.Errorf("%d PATCHes with If-Match %s succeeded, want exactly 1", won, v2)
		}
		if _, hdr, _ := b.do(t, "GET", tenant+"/Users/"+id, res.Token, ""); hdr.Get("ETag") != `W/"3"` {
			t.Errorf("ETag after the race: %s, want W/\"3\"", hdr.Get("ETag"))
		}
	})

	t.Run("DeleteThroughOther", func(t *testing.T) {
		id := b.create(t, tenant+"/Users", res.Token, `{"userName":"leaver@example.com"}`)
		group := b.create(t, tenant+"/Groups", res.Token, `{"displayName":"Leavers","members":[{"value":"`+id+`"}]}`)
		if code, _, body := a.do(t, "DELETE", tenant+"/Users/"+id, res.Token, ""); code != http.StatusNoContent {
			t.Fatalf("DELETE through A: %d %v", code, body)
		}
		if code, _, body := b.do(t, "GET", tenant+"/Users/"+id, res.Token, ""); code != http.StatusNotFound || !isSCIMError(body, http.StatusNotFound) {
			t.Errorf("GET through B after the delete through A: %d %v, want 404 with a SCIM error", code, body)
		}
		if code, _, body := b.do(t, "DELETE", tenant+"/Users/"+id, res.Token, ""); code != http.StatusNotFound {
			t.Errorf("DELETE again through B: %d %v, want 404", code, body)
		}
		if got := b.count(t, tenant+"/Users?filter="+filterEq("userName", "leaver@example.com"), res.Token); got != 0 {
			t.Errorf("B still lists the deleted user %d times", got)
		}
		if _, _, body := b.do(t, "GET", tenant+"/Groups/"+group, res.Token, ""); body["members"] == nil || len(body["members"].([]any)) != 0 {
			t.Errorf("B's group still has members: %v", body["members"])
		}
	})

	// A user deleted through one replica while another adds it to a group:
	// the add either lands first (and the delete then removes the
	// membership) or finds no such user (400), never a server error.
	t.Run("AddMemberWhileDeleted", func(t *testing.T) {
		group := a.create(t, tenant+"/Groups", res.Token, `{"displayName":"Churn"}`)
		const n = 20
		ids := make([]string, n)
		for i := range ids {
			ids[i] = b.create(t, tenant+"/Users", res.Token, fmt.Sprintf(`{"userName":"churn%d@example.com"}`, i))
		}
		codes := make([]int, 2*n)
		bodies := make([]map[string]any, 2*n)
		together(2*n, func(j int) {
			i, s := j/2, servers[j%2]
			if j%2 == 0 {
				patch := `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"members","value":[{"value":"` + ids[i] + `"}]}]}`
				codes[j], _, bodies[j] = s.do(t, "PATCH", tenant+"/Groups/"+group, res.Token, patch)
			} else {
				codes[j], _, bodies[j] = s.do(t, "DELETE", tenant+"/Users/"+ids[i], res.Token, "")
			}
		})
		for j, code := range codes {
			switch {
			case j%2 == 1 && code == http.StatusNoContent:
			case j%2 == 0 && code == http.StatusNoContent:
			case j%2 == 0 && code == http.StatusBadRequest && bodies[j]["scimType"] == "invalidValue":
			default:
				t.Errorf("request %d (%s of user %d): %d %v", j, map[bool]string{true: "PATCH", false: "DELETE"}[j%2 == 0], j/2, code, bodies[j])
			}
		}
		for _, s := range servers {
			if _, _, body := s.do(t, "GET", tenant+"/Groups/"+group, res.Token, ""); body["members"] == nil || len(body["members"].([]any)) != 0 {
				t.Errorf("%s: the group keeps deleted members: %v", s.name, body["members"])
			}
		}
	})

	// Users and groups deleted through one replica while the other changes
	// memberships and users. Deletes and group writes lock groups before
	// their members; were it the other way round, PostgreSQL would break
	// deadlocks by aborting transactions, each after a second, until the
	// store's retries ran out and a request failed with 500.
	t.Run("DeleteChurn", func(t *testing.T) {
		const n = 12
		ids := make([]string, n)
		var members []string
		for i := range ids {
			ids[i] = b.create(t, tenant+"/Users", res.Token, fmt.Sprintf(`{"userName":"churner%d@example.com"}`, i))
			members = append(members, `{"value":"`+ids[i]+`"}`)
		}
		g1 := a.create(t, tenant+"/Groups", res.Token, `{"displayName":"Churn 1","members":[`+strings.Join(members, ",")+`]}`)
		g2 := a.create(t, tenant+"/Groups", res.Token, `{"displayName":"Churn 2","members":[`+strings.Join(members, ",")+`]}`)
		together(3*n+2, func(j int) {
			s := servers[j%2]
			var what string
			var code int
			var body map[string]any
			ok := func(codes ...int) {
				if !slices.Contains(codes, code) {
					t.Errorf("%s through %s: %d %v, want one of %v", what, s.name, code, body, codes)
				}
			}
			switch {
			case j == 3*n:
				what = "DELETE group 1"
				code, _, body = s.do(t, "DELETE", tenant+"/Groups/"+g1, res.Token, "")
				ok(http.StatusNoContent)
			case j == 3*n+1:
				what = "PUT group 2 with one member"
				code, _, body = s.do(t, "PUT", tenant+"/Groups/"+g2, res.Token, `{"displayName":"Churn 2","members":[{"value":"`+ids[0]+`"}]}`)
				// 400 when that user was deleted first
				ok(http.StatusOK, http.StatusBadRequest)
			case j < n:
				what = "DELETE a user"
				code, _, body = s.do(t, "DELETE", tenant+"/Users/"+ids[j], res.Token, "")
				ok(http.StatusNoContent)
			case j < 2*n:
				what = "PATCH remove a member of group 2"
				code, _, body = s.do(t, "PATCH", tenant+"/Groups/"+g2, res.Token, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],`+
					`"Operations":[{"op":"remove","path":"members[value eq \"`+ids[j-n]+`\"]"}]}`)
				ok(http.StatusNoContent)
			default:
				what = "PATCH a user"
				code, _, body = s.do(t, "PATCH", tenant+"/Users/"+ids[j-2*n], res.Token, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],`+
					`"Operations":[{"op":"replace","path":"active","value":false}]}`)
				ok(http.StatusOK, http.StatusNotFound)
			}
		})
		for _, s := range servers {
			if code, _, _ := s.do(t, "GET", tenant+"/Groups/"+g1, res.Token, ""); code != http.StatusNotFound {
				t.Errorf("%s: deleted group 1 answers %d", s.name, code)
			}
			if _, _, body := s.do(t, "GET", tenant+"/Groups/"+g2, res.Token, ""); body["members"] == nil || len(body["members"].([]any)) != 0 {
				t.Errorf("%s: group 2 keeps deleted members: %v", s.name, body["members"])
			}
		}
	})

	// An admin deletes an IdP configuration through A while the IdP is
	// still creating users through B: each create lands before the
	// deletion (and goes with it) or is refused, never a server error.
	t.Run("DeleteDirectoryWhileWriting", func(t *testing.T) {
		ctx := context.Background()
		k, err := a.admin.CreateKey(ctx, res.OrgID, manage.KeyInput{Name: "doomed key"})
		if err != nil {
			t.Fatal(err)
		}
		// The window is narrow: a create authenticated before the
		// deletion commits, inserting after it began. Several rounds
		// reach it.
		for round := range 5 {
			dir, err := a.admin.CreateDirectory(ctx, res.OrgID, manage.DirectoryInput{Name: fmt.Sprint("doomed ", round), KeyIDs: []string{k.Key.ID}})
			if err != nil {
				t.Fatal(err)
			}
			const n = 20
			together(n+1, func(j int) {
				if j == n {
					if err := a.admin.DeleteDirectory(ctx, res.OrgID, dir.ID); err != nil {
						t.Errorf("delete the directory through A: %v", err)
					}
					return
				}
				code, _, body := b.do(t, "POST", "/v1/scim/"+dir.ID+"/Users", k.Secret, fmt.Sprintf(`{"userName":"doomed%d@example.com"}`, j))
				// 401 when the directory was gone before authentication,
				// 404 when it went between authentication and the insert.
				if code != http.StatusCreated && code != http.StatusUnauthorized && code != http.StatusNotFound {
					t.Errorf("create %d during the deletion: %d %v", j, code, body)
				}
			})
			if code, _, _ := b.do(t, "GET", "/v1/scim/"+dir.ID+"/Users", k.Secret, ""); code != http.StatusUnauthorized {
				t.Errorf("the deleted directory through B: %d, want 401", code)
			}
		}
	})

	// Renames race the way creates do: the unique index decides, through
	// the update path.
	t.Run("RenameToSameUserName", func(t *testing.T) {
		const n = 10
		ids := make([]string, n)
		for i := range ids {
			ids[i] = servers[i%2].create(t, tenant+"/Users", res.Token, fmt.Sprintf(`{"userName":"before%d@example.com"}`, i))
		}
		codes := make([]int, n)
		bodies := make([]map[string]any, n)
		together(n, func(i int) {
			patch := `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"userName","value":"taken@example.com"}]}`
			codes[i], _, bodies[i] = servers[i%2].do(t, "PATCH", tenant+"/Users/"+ids[i], res.Token, patch)
		})
		renamed := 0
		for i, code := range codes {
			switch {
			case code == http.StatusOK:
				renamed++
			case code == http.StatusConflict && bodies[i]["scimType"] == "uniqueness":
			default:
				t.Errorf("rename %d: %d %v, want 200 or 409 uniqueness", i, code, bodies[i])
			}
		}
		if renamed != 1 {
			t.Errorf("%d renames succeeded, want exactly 1", renamed)
		}
	})

	t.Run("DeleteTwiceAtOnce", func(t *testing.T) {
		id := a.create(t, tenant+"/Users", res.Token, `{"userName":"twice@example.com"}`)
		const n = 10
		codes := make([]int, n)
		together(n, func(i int) {
			codes[i], _, _ = servers[i%2].do(t, "DELETE", tenant+"/Users/"+id, res.Token, "")
		})
		deleted := 0
		for i, code := range codes {
			switch code {
			case http.StatusNoContent:
				deleted++
			case http.StatusNotFound:
			default:
				t.Errorf("DELETE %d: %d, want 204 or 404", i, code)
			}
		}
		if deleted != 1 {
			t.Errorf("%d DELETEs answered 204, want exactly 1", deleted)
		}
	})

	// Each replica records its own requests into the one request log, so
	// an admin reading it through either replica sees both.
	t.Run("RequestLog", func(t *testing.T) {
		probe := "replica-b-" + strings.ToLower(res.IdPID[:8])
		if code, _, _ := b.do(t, "GET", tenant+"/Users?count=1", res.Token, "", "X-Request-Id", probe); code != http.StatusOK {
			t.Fatalf("GET through B: %d", code)
		}
		// The recorder writes in the background, in batches.
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			entries, err := a.admin.QueryRequests(context.Background(), res.OrgID, manage.RequestFilter{Limit: 1000})
			if err != nil {
				t.Fatal(err)
			}
			if slices.ContainsFunc(entries, func(e roster.RequestEntry) bool { return e.RequestID == probe && e.Status == http.StatusOK }) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("B's request %s is not in the log read through A (%d entries)", probe, len(entries))
			}
		}
	})

	t.Run("OAuthTokenAcrossReplicas", func(t *testing.T) {
		ctx := context.Background()
		c, err := a.admin.CreateOAuthClient(ctx, res.OrgID, res.IdPID, manage.OAuthClientInput{Name: "replica client", Users: "read"})
		if err != nil {
			t.Fatalf("create an OAuth client through A: %v", err)
		}
		form := url.Values{"grant_type": {"client_credentials"}, "client_id": {c.Client.ID}, "client_secret": {c.Secret}}
		resp, err := http.PostForm(a.base+"/v1/oauth/token", form)
		if err != nil {
			t.Fatal(err)
		}
		var tok struct {
			AccessToken string `json:"access_token"`
		}
		err = json.NewDecoder(resp.Body).Decode(&tok)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK || tok.AccessToken == "" {
			t.Fatalf("token from A: %d %v", resp.StatusCode, err)
		}
		if code, _, body := b.do(t, "GET", tenant+"/Users?count=1", tok.AccessToken, ""); code != http.StatusOK {
			t.Errorf("A's access token through B: %d %v, want 200", code, body)
		}
	})

	t.Run("KeyLifecycle", func(t *testing.T) {
		ctx := context.Background()
		k, err := a.admin.CreateKey(ctx, res.OrgID, manage.KeyInput{Name: "replica key", Users: "write", Groups: "write"})
		if err != nil {
			t.Fatalf("create a key through A: %v", err)
		}
		dir, err := a.admin.CreateDirectory(ctx, res.OrgID, manage.DirectoryInput{Name: "replicated", KeyIDs: []string{k.Key.ID}})
		if err != nil {
			t.Fatalf("create a directory through A: %v", err)
		}
		path := "/v1/scim/" + dir.ID + "/Users"
		// The key and directory made through A work through B at once.
		if code, _, body := b.do(t, "POST", path, k.Secret, `{"userName":"first@example.com"}`); code != http.StatusCreated {
			t.Fatalf("the key made through A, used through B: %d %v, want 201", code, body)
		}
		if _, err := a.admin.RevokeKey(ctx, res.OrgID, k.Key.ID); err != nil {
			t.Fatalf("revoke through A: %v", err)
		}
		// No replica remembers a key: the very next request fails.
		for _, s := range []*replica{b, a} {
			code, hdr, body := s.do(t, "GET", path, k.Secret, "")
			if code != http.StatusUnauthorized || !isSCIMError(body, http.StatusUnauthorized) || hdr.Get("WWW-Authenticate") == "" {
				t.Errorf("the revoked key through %s: %d %v, want 401 with a SCIM error and WWW-Authenticate", s.name, code, body)
			}
		}
		// The initial key of the same organization is untouched.
		if code, _, _ := b.do(t, "GET", tenant+"/Users", res.Token, ""); code != http.StatusOK {
			t.Errorf("another key through B after the revocation: %d, want 200", code)
		}
	})

	t.Run("AdminRevocation", func(t *testing.T) {
		ctx := context.Background()
		na, err := a.admin.CreateAdmin(ctx, res.OrgID, manage.AdminInput{Name: "ops"})
		if err != nil {
			t.Fatalf("create an admin through A: %v", err)
		}
		onB := adminclient.New(b.base, na.Secret, nil)
		if _, err := onB.ListKeys(ctx, res.OrgID); err != nil {
			t.Fatalf("the admin made through A, on B: %v", err)
		}
		if _, err := a.admin.RevokeAdmin(ctx, res.OrgID, na.Admin.ID); err != nil {
			t.Fatalf("revoke the admin through A: %v", err)
		}
		if _, err := onB.ListKeys(ctx, res.OrgID); err == nil || !strings.Contains(err.Error(), "not valid") {
			t.Errorf("the revoked admin on B: %v, want the admin token refused", err)
		}
	})
}

// replica is one running server.
type replica struct {
	name  string
	base  string // http://host:port
	admin *adminclient.Client
}

func newReplica(t *testing.T, name, addr string, res initResult) *replica {
	base := "http://" + addr
	return &replica{name: name, base: base, admin: adminclient.New(base, res.AdminToken, nil)}
}

// do sends one SCIM request with the bearer token and optional header
// pairs, and returns the status, headers and decoded JSON body (nil when
// there is none). It may run in many goroutines at once, so it reports
// transport failures with Error, not Fatal.
func (s *replica) do(t *testing.T, method, path, token, body string, header ...string) (int, http.Header, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, s.base+path, rd)
	if err != nil {
		t.Error(err)
		return 0, nil, nil
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != "" {
		req.Header.Set("Content-Type", "application/scim+json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Errorf("%s %s through %s: %v", method, path, s.name, err)
		return 0, nil, nil
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Errorf("%s %s through %s: reading the body: %v", method, path, s.name, err)
	}
	var v map[string]any
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &v); err != nil {
			t.Errorf("%s %s through %s: %d with a body that is not a JSON object: %q", method, path, s.name, resp.StatusCode, raw)
		}
	}
	return resp.StatusCode, resp.Header, v
}

// create POSTs a resource and returns its id.
func (s *replica) create(t *testing.T, path, token, body string) string {
	t.Helper()
	code, _, v := s.do(t, "POST", path, token, body)
	if code != http.StatusCreated {
		t.Fatalf("POST %s through %s: %d %v", path, s.name, code, v)
	}
	return v["id"].(string)
}

// count returns a list's totalResults.
func (s *replica) count(t *testing.T, path, token string) int {
	t.Helper()
	code, _, v := s.do(t, "GET", path, token, "")
	if code != http.StatusOK {
		t.Fatalf("GET %s through %s: %d %v", path, s.name, code, v)
	}
	n, _ := v["totalResults"].(float64)
	return int(n)
}

// together runs f(0) … f(n-1) in n goroutines released at the same moment,
// so that the requests really overlap, and waits for all of them.
func together(n int, f func(i int)) {
	var ready, done sync.WaitGroup
	start := make(chan struct{})
	ready.Add(n)
	for i := range n {
		done.Go(func() {
			ready.Done()
			<-start
			f(i)
		})
	}
	ready.Wait()
	close(start)
	done.Wait()
}

// filterEq is the URL-escaped filter `attr eq "value"`.
func filterEq(attr, value string) string {
	return url.QueryEscape(attr + ` eq "` + value + `"`)
}

// isSCIMError reports whether body is a SCIM error (RFC 7644 §3.12) with
// the status.
func isSCIMError(body map[string]any, status int) bool {
	schemas, _ := body["schemas"].([]any)
	return len(schemas) == 1 && schemas[0] == scim.ErrorURN && body["status"] == fmt.Sprint(status)
}

// TestReplicasStartTogether starts two replicas at the same moment on an
// empty database, as a deployment's first rollout does: both come up, the
// migrations run once, and exactly one of them initializes the database
// and prints the tenant.
func TestReplicasStartTogether(t *testing.T) {
	u := pgtest.URL(t)
	const n = 2
	outs := make([]bytes.Buffer, n)
	addrs := make([]string, n)
	errs := make([]error, n)
	together(n, func(i int) {
		cfg := &Config{Database: u, Addr: "127.0.0.1:0", LogLevel: "error", LogFormat: "json"}
		addrs[i], errs[i] = launch(t, cfg, &outs[i])
	})
	printed := 0
	for i := range n {
		if errs[i] != nil {
			t.Errorf("replica %d: %v", i, errs[i])
			continue
		}
		if strings.Contains(outs[i].String(), "Secret token") {
			printed++
		}
		resp, err := http.Get("http://" + addrs[i] + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("replica %d: /healthz %d", i, resp.StatusCode)
		}
	}
	if printed != 1 {
		t.Errorf("%d replicas initialized the database and printed a tenant, want 1", printed)
	}
}
