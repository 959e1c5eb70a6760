package scimclient

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// fakeSCIM is a small in-memory SCIM service provider under /scim/t1: just
// enough of RFC 7644 for the client's requests, with knobs for the ways
// real targets misbehave.
type fakeSCIM struct {
	mu     sync.Mutex
	token  string                               // the bearer token it accepts
	objs   map[string]map[string]map[string]any // resource type → id → resource
	nextID int
	posts  int // POSTs handled
	// maxCount caps a page's size, as many targets do; 0 is no cap.
	maxCount int
	// ignoreCount answers every resource from startIndex on, whatever the
	// count asked.
	ignoreCount bool
	// last is the last request handled, with its body, for assertions.
	last     *http.Request
	lastBody []byte
}

const fakeToken = "s3cret-bearer-token-d2a8"

func newFake() *fakeSCIM {
	return &fakeSCIM{token: fakeToken, objs: map[string]map[string]map[string]any{"Users": {}, "Groups": {}}}
}

// start serves f (or h, which wraps it) and returns the tenant URL.
func start(t *testing.T, h http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL + "/scim/t1"
}

// matchKey is each resource type's uniqueness attribute.
var matchKey = map[string]string{"Users": "userName", "Groups": "displayName"}

var eqFilter = regexp.MustCompile(`^(\w+) eq "([^"]*)"$`)

func scimErr(w http.ResponseWriter, status int, scimType, detail string) {
	w.Header().Set("Content-Type", "application/scim+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:Error"},
		"status":  strconv.Itoa(status), "scimType": scimType, "detail": detail,
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/scim+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (f *fakeSCIM) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.last, f.lastBody = r, body
	if got := r.Header.Get("Authorization"); got != "Bearer "+f.token {
		// Echo what was sent, as careless servers do, so that tests can
		// check the client keeps it out of its errors.
		scimErr(w, 401, "", "invalid credentials: "+got)
		return
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/scim/t1/")
	if !ok {
		http.NotFound(w, r)
		return
	}
	typ, id, _ := strings.Cut(rest, "/")
	store, ok := f.objs[typ]
	if !ok {
		http.NotFound(w, r)
		return
	}
	switch {
	case r.Method == "GET" && id == "":
		f.list(w, r, typ)
	case r.Method == "GET":
		if o, ok := store[id]; ok {
			writeJSON(w, 200, o)
		} else {
			scimErr(w, 404, "", fmt.Sprintf("no %s with id %q", typ, id))
		}
	case r.Method == "POST" && id == "":
		f.posts++
		var doc map[string]any
		if err := json.Unmarshal(body, &doc); err != nil {
			scimErr(w, 400, "invalidSyntax", err.Error())
			return
		}
		key := matchKey[typ]
		for _, o := range store {
			if o[key] == doc[key] {
				scimErr(w, 409, "uniqueness", fmt.Sprintf("%s %q already exists", key, doc[key]))
				return
			}
		}
		f.nextID++
		doc["id"] = strconv.Itoa(f.nextID)
		store[doc["id"].(string)] = doc
		writeJSON(w, 201, doc)
	case r.Method == "PATCH":
		o, ok := store[id]
		if !ok {
			scimErr(w, 404, "", "not found")
			return
		}
		var p struct {
			Operations []PatchOp
		}
		if err := json.Unmarshal(body, &p); err != nil {
			scimErr(w, 400, "invalidSyntax", err.Error())
			return
		}
		for _, op := range p.Operations {
			o[op.Path] = op.Value
		}
		w.WriteHeader(204)
	case r.Method == "DELETE":
		if _, ok := store[id]; !ok {
			scimErr(w, 404, "", "not found")
			return
		}
		delete(store, id)
		w.WriteHeader(204)
	default:
		scimErr(w, 405, "", "method not allowed")
	}
}

// list answers a query, with a filter of the form attr eq "value".
func (f *fakeSCIM) list(w http.ResponseWriter, r *http.Request, typ string) {
	q := r.URL.Query()
	var ids []string
	for id := range f.objs[typ] {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { a, _ := strconv.Atoi(ids[i]); b, _ := strconv.Atoi(ids[j]); return a < b })
	var all []map[string]any
	for _, id := range ids {
		o := f.objs[typ][id]
		if fl := q.Get("filter"); fl != "" {
			m := eqFilter.FindStringSubmatch(fl)
			if m == nil {
				scimErr(w, 400, "invalidFilter", "unsupported filter")
				return
			}
			if fmt.Sprint(o[m[1]]) != m[2] {
				continue
			}
		}
		all = append(all, o)
	}
	start, count := 1, len(all)
	if s, err := strconv.Atoi(q.Get("startIndex")); err == nil && s > 1 {
		start = s
	}
	if c, err := strconv.Atoi(q.Get("count")); err == nil && !f.ignoreCount {
		count = c
	}
	if f.maxCount > 0 {
		count = min(count, f.maxCount)
	}
	page := []map[string]any{}
	for i := start - 1; i < len(all) && len(page) < count; i++ {
		page = append(page, all[i])
	}
	writeJSON(w, 200, map[string]any{
		"schemas":      []string{schemaListResponse},
		"totalResults": len(all), "startIndex": start, "itemsPerPage": len(page), "Resources": page,
	})
}

// count returns how many resources of a type the fake holds.
func (f *fakeSCIM) count(typ string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.objs[typ])
}

// postCount returns how many POSTs the fake handled.
func (f *fakeSCIM) postCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.posts
}

// inflight counts requests being handled and remembers the most at once.
type inflight struct {
	now, most atomic.Int64
}

func (n *inflight) enter() {
	v := n.now.Add(1)
	for {
		m := n.most.Load()
		if v <= m || n.most.CompareAndSwap(m, v) {
			return
		}
	}
}

func (n *inflight) leave() { n.now.Add(-1) }
