// Command scalebench measures one `roster serve` process on SQLite holding
// a large directory: 1,000,000 users and a group of 100,000 members by
// default. See docs/benchmarks.md, "One million users".
//
//	go build -o /tmp/roster ./cmd/roster
//	go run ./tools/scalebench seed --data /tmp/scale
//	go run ./tools/scalebench measure --data /tmp/scale --roster /tmp/roster
//
// seed writes the directory through the store's own insert
// (sqlstore.InsertResource, as the store benchmarks seed) in large
// transactions, after creating the tenant as `roster init` does; seeding
// over HTTP would take about 20 minutes. measure starts the server as a
// child process on the data directory, runs each operation with several
// workers, prints exact percentiles (every sample is kept and sorted) and
// the server's peak RSS (VmHWM of /proc/PID/status), and stops it.
//
// measure writes: it creates users and adds and removes members of the
// big group, so a second run measures a slightly different directory.
// Copy the data directory first to measure the same one twice.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "seed":
		err = runSeed(ctx, os.Args[2:])
	case "measure":
		err = runMeasure(ctx, os.Args[2:])
	case "profile":
		err = runProfile(ctx, os.Args[2:])
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "scalebench:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, `usage: scalebench seed    --data DIR [--users N] [--members N]
       scalebench measure --data DIR --roster BINARY [--workers N] [--requests N] [--json]
       scalebench profile --data DIR --cpuprofile FILE [--op list-page] [--requests N]`)
	os.Exit(2)
}
