// Command ceiling is the fastest "SCIM server" roster bench can measure on a
// machine: it parses nothing but the method and path, stores nothing, and
// answers every request of roster bench's workload with a canned, valid
// response. Its throughput is the ceiling that the load generator, the
// loopback network and Go's HTTP stack leave for any real server; see
// bench/compare.sh and docs/benchmarks.md.
//
// The answers are just right enough for roster bench to count none of them
// as errors:
//
//   - GET /Users?filter=...: a ListResponse with one user, except for
//     Test Connection's probe (userName eq a random GUID), which gets an
//     empty one. GET /Groups?filter=...: an empty ListResponse (Test
//     Connection and the membership probe).
//   - GET /Groups/{id} and /Users/{id}: the resource, with the id of the
//     path and no members.
//   - POST: 201 with a fresh id. PATCH and DELETE: 204.
//
// A request without "Authorization: Bearer <token>" (when -token is set)
// gets 401. Request bodies are read and discarded.
//
// Usage: ceiling [-addr 127.0.0.1:0] [-token T] [-base /scim/v2]
// (env CEILING_ADDR, CEILING_TOKEN). It prints "listening on HOST:PORT".
package main

import (
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
)

const (
	schemaList  = `"urn:ietf:params:scim:api:messages:2.0:ListResponse"`
	emptyList   = `{"schemas":[` + schemaList + `],"totalResults":0,"startIndex":1,"itemsPerPage":0,"Resources":[]}`
	userPrefix  = `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"id":"`
	userSuffix  = `","userName":"ceiling@bench.example","active":true,"meta":{"resourceType":"User"}}`
	groupPrefix = `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"id":"`
	groupSuffix = `","displayName":"ceiling","meta":{"resourceType":"Group"}}`
	oneUserList = `{"schemas":[` + schemaList + `],"totalResults":1,"startIndex":1,"itemsPerPage":1,"Resources":[` +
		userPrefix + `00000000-0000-0000-0000-000000000001` + userSuffix + `]}`
)

func main() {
	addr := flag.String("addr", env("CEILING_ADDR", "127.0.0.1:0"), "address to listen on (env CEILING_ADDR)")
	token := flag.String("token", os.Getenv("CEILING_TOKEN"), "bearer token to require; empty accepts any (env CEILING_TOKEN)")
	base := flag.String("base", "/scim/v2", "path of the tenant URL")
	flag.Parse()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "ceiling:", err)
		os.Exit(1)
	}
	fmt.Printf("listening on %s\n", ln.Addr())
	h := &handler{base: strings.TrimSuffix(*base, "/")}
	if *token != "" {
		h.auth = "Bearer " + *token
	}
	fmt.Fprintln(os.Stderr, "ceiling:", http.Serve(ln, h))
	os.Exit(1)
}

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

type handler struct {
	base string
	auth string
	seq  atomic.Uint64
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	io.Copy(io.Discard, r.Body)
	hdr := w.Header()
	hdr["Content-Type"] = []string{"application/scim+json"}
	if h.auth != "" && r.Header.Get("Authorization") != h.auth {
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"401"}`)
		return
	}
	path, ok := strings.CutPrefix(r.URL.Path, h.base)
	if !ok {
		http.NotFound(w, r)
		return
	}
	kind, id, _ := strings.Cut(strings.TrimPrefix(path, "/"), "/")
	if kind != "Users" && kind != "Groups" {
		http.NotFound(w, r)
		return
	}
	switch r.Method {
	case http.MethodGet:
		switch {
		case id != "":
			write(w, http.StatusOK, kind, id)
		case kind == "Users" && !testConnection(r.URL.Query().Get("filter")):
			w.WriteHeader(http.StatusOK)
			io.WriteString(w, oneUserList)
		default:
			w.WriteHeader(http.StatusOK)
			io.WriteString(w, emptyList)
		}
	case http.MethodPost:
		n := h.seq.Add(1)
		write(w, http.StatusCreated, kind, fmt.Sprintf("00000000-0000-0000-%04x-%012x", n>>48&0xffff, n&0xffffffffffff))
	case http.MethodPatch, http.MethodDelete, http.MethodPut:
		w.WriteHeader(http.StatusNoContent)
	default:
		w.WriteHeader(http.StatusMethodNotAllowed)
	}
}

func write(w http.ResponseWriter, status int, kind, id string) {
	var b []byte
	if kind == "Users" {
		b = append(append(append(b, userPrefix...), id...), userSuffix...)
	} else {
		b = append(append(append(b, groupPrefix...), id...), groupSuffix...)
	}
	w.Header()["Content-Length"] = []string{strconv.Itoa(len(b))}
	w.WriteHeader(status)
	w.Write(b)
}

// testConnection reports whether filter is Entra's Test Connection probe,
// userName eq "<random GUID>", which must find nobody.
func testConnection(filter string) bool {
	v, ok := strings.CutPrefix(filter, `userName eq "`)
	if !ok || len(v) != 37 || v[36] != '"' {
		return false
	}
	return v[8] == '-' && v[13] == '-' && v[18] == '-' && v[23] == '-'
}
