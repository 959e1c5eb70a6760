// Command replicacheck drives several Roster replicas through one address
// (a load balancer) and reports whether they behaved as one server: every
// distinct create succeeds, concurrent creates of one userName give exactly
// one 201, concurrent member adds all land, and case-insensitive userName
// filters find each user. It is the client half of run.sh, which starts the
// replicas, PgBouncer and HAProxy; it exits 1 when a check fails.
//
//	go run ./tools/replicacheck -url http://127.0.0.1:8080/v1/scim/<idp> -token rst_…
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

type client struct {
	base, token string
}

// do sends one SCIM request and decodes the JSON answer, if any.
func (c client) do(method, path, body string) (int, map[string]any, error) {
	req, err := http.NewRequest(method, c.base+path, bytes.NewBufferString(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Content-Type", "application/scim+json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return 0, nil, err
	}
	var m map[string]any
	_ = json.Unmarshal(b, &m) // 204 has no body
	return res.StatusCode, m, nil
}

// tally counts answers by status, with transport errors as status 0.
type tally struct {
	mu    sync.Mutex
	codes map[int]int
}

// add counts one answer; a transport error is printed, since the status
// alone (0) does not say what went wrong.
func (t *tally) add(code int, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.codes == nil {
		t.codes = map[int]int{}
	}
	if err != nil {
		code = 0
		fmt.Fprintln(os.Stderr, "transport error:", err)
	}
	t.codes[code]++
}

// parallel runs fn(i) for i in [0, n) on workers goroutines.
func parallel(n, workers int, fn func(i int)) {
	var next int64
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(atomic.AddInt64(&next, 1) - 1); i < n; i = int(atomic.AddInt64(&next, 1) - 1) {
				fn(i)
			}
		}()
	}
	wg.Wait()
}

func main() {
	var c client
	flag.StringVar(&c.base, "url", "", "tenant URL through the load balancer, e.g. http://127.0.0.1:8080/v1/scim/<idp>")
	flag.StringVar(&c.token, "token", "", "API key secret with write access to Users and Groups")
	users := flag.Int("users", 2000, "distinct users to create")
	workers := flag.Int("workers", 32, "concurrent clients")
	flag.Parse()
	if c.base == "" || c.token == "" {
		fmt.Fprintln(os.Stderr, "usage: replicacheck -url TENANT_URL -token SECRET [-users N] [-workers N]")
		os.Exit(2)
	}
	run := fmt.Sprint(time.Now().UnixNano())
	userName := func(i int) string { return fmt.Sprintf("u%d-%s@x.example", i, run) }
	ok := true
	check := func(pass bool, format string, args ...any) {
		mark := "ok  "
		if !pass {
			mark, ok = "FAIL", false
		}
		fmt.Printf("%s "+format+"\n", append([]any{mark}, args...)...)
	}

	var creates tally
	ids := make([]string, *users)
	start := time.Now()
	parallel(*users, *workers, func(i int) {
		code, m, err := c.do("POST", "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"`+userName(i)+`","active":true}`)
		creates.add(code, err)
		if code == 201 {
			ids[i], _ = m["id"].(string)
		}
	})
	elapsed := time.Since(start)
	check(creates.codes[201] == *users, "%d distinct creates by %d clients: %v in %v (%.0f creates/s)",
		*users, *workers, creates.codes, elapsed.Round(time.Millisecond), float64(*users)/elapsed.Seconds())

	var same tally
	parallel(20, 20, func(int) {
		code, _, err := c.do("POST", "/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"same-`+run+`"}`)
		same.add(code, err)
	})
	check(same.codes[201] == 1 && same.codes[409] == 19, "20 concurrent creates of one userName: %v", same.codes)

	code, g, err := c.do("POST", "/Groups", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"g-`+run+`"}`)
	if err != nil || code != 201 {
		check(false, "create group: %d %v", code, err)
		os.Exit(1)
	}
	gid, _ := g["id"].(string)
	adds := min(100, *users)
	var patches tally
	parallel(adds, adds, func(i int) {
		code, _, err := c.do("PATCH", "/Groups/"+gid, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"members","value":[{"value":"`+ids[i]+`"}]}]}`)
		patches.add(code, err)
	})
	_, g, _ = c.do("GET", "/Groups/"+gid, "")
	members, _ := g["members"].([]any)
	check(len(members) == adds, "%d concurrent member adds to one group: %v, group has %d members", adds, patches.codes, len(members))

	wrong := 0
	for i := 0; i < min(200, *users); i++ {
		code, m, err := c.do("GET", "/Users?filter=userName+eq+%22"+upper(userName(i))+"%22", "")
		if err != nil || code != 200 || m["totalResults"] != float64(1) {
			wrong++
		}
	}
	check(wrong == 0, "%d case-insensitive userName filters: %d wrong", min(200, *users), wrong)
	if !ok {
		os.Exit(1)
	}
}

// upper changes the case of a userName, as Entra may send it.
func upper(s string) string { return string(bytes.ToUpper([]byte(s))) }
