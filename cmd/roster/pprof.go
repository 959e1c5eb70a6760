//go:build pprof

// A roster built with -tags pprof serves net/http/pprof on
// ROSTER_PPROF_ADDR (e.g. 127.0.0.1:6060) when that is set, on a listener
// of its own, apart from the SCIM and admin APIs. Release builds have no
// such endpoint; bench/compare.sh uses it to profile Roster under load.

package main

import (
	"fmt"
	"net/http"
	_ "net/http/pprof"
	"os"
)

func init() {
	addr := os.Getenv("ROSTER_PPROF_ADDR")
	if addr == "" {
		return
	}
	go func() {
		fmt.Fprintln(os.Stderr, "pprof:", http.ListenAndServe(addr, nil))
	}()
}
