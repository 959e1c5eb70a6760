package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/pprof"
	"time"

	"github.com/roster-scim/roster/scim"
	"github.com/roster-scim/roster/sqlite"
)

// runProfile runs one operation on the store alone, in this process,
// under the CPU profiler: the store-level equivalent of a measured HTTP
// operation, for an operation that misses its target. It opens the data
// directory with sqlite.Open, the store `roster serve` uses; run it while
// no server has the directory open. Only read operations are offered, so
// that profiling leaves the directory as it was.
func runProfile(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("profile", flag.ExitOnError)
	data := fs.String("data", "", "data directory made by seed")
	out := fs.String("cpuprofile", "", "CPU profile to write")
	opName := fs.String("op", "list-page", "list-page (random startIndex), list-page-last, get-by-username or get-group")
	n := fs.Int("requests", 200, "operations to run")
	fs.Parse(args)
	if *data == "" || *out == "" {
		return errors.New("profile: --data and --cpuprofile are required")
	}
	m, err := readManifest(*data)
	if err != nil {
		return err
	}
	reg := scim.NewRegistry()
	db, err := sqlite.Open(ctx, *data, reg)
	if err != nil {
		return err
	}
	defer db.Close()
	rt := reg.ResourceType(scim.UserType)
	rng := rand.New(rand.NewPCG(1, 2))
	var fn func() error
	switch *opName {
	case "list-page", "list-page-last":
		fn = func() error {
			start := m.Users - 99
			if *opName == "list-page" {
				start = 1 + rng.IntN(m.Users-99)
			}
			_, err := db.List(ctx, m.DirID, scim.UserType, scim.ListQuery{StartIndex: start, Count: 100})
			return err
		}
	case "get-by-username":
		fn = func() error {
			e, err := scim.ParseFilter(`userName eq "` + userName(rng.IntN(m.Users)) + `"`)
			if err != nil {
				return err
			}
			q := scim.ListQuery{StartIndex: 1, Count: 100}
			if q.Filter, err = rt.ResolveFilter(e); err != nil {
				return err
			}
			_, err = db.List(ctx, m.DirID, scim.UserType, q)
			return err
		}
	case "get-group":
		fn = func() error {
			_, err := db.Get(ctx, m.DirID, scim.GroupType, m.GroupID, false)
			return err
		}
	default:
		return fmt.Errorf("profile: unknown --op %q", *opName)
	}
	f, err := os.Create(*out)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := pprof.StartCPUProfile(f); err != nil {
		return err
	}
	start := time.Now()
	for range *n {
		if err := fn(); err != nil {
			pprof.StopCPUProfile()
			return err
		}
	}
	pprof.StopCPUProfile()
	el := time.Since(start)
	fmt.Printf("%s: %d operations in %v, %v each (one at a time, store only)\n", *opName, *n, el.Round(time.Millisecond), (el / time.Duration(*n)).Round(time.Microsecond))
	// Memory: the process's peak RSS against what Go's heap holds, since
	// SQLite's page cache (modernc.org/libc's allocator) is outside it.
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	hwm, rss := procStatus(os.Getpid())
	fmt.Printf("process VmHWM %d MB, VmRSS %d MB; Go heap in use %d MB, Go runtime total (Sys) %d MB\n", hwm>>10, rss>>10, ms.HeapInuse>>20, ms.Sys>>20)
	return nil
}
