// Command matchonly sends only Entra's matching query, GET
// /Users?filter=userName eq "…", for users a `roster bench --keep` run
// preloaded, and prints its throughput and latency as JSON. bench/compare.sh
// runs it against each server after the Entra mix, on the same state, so
// that the match query's throughput alone can be set against the ceiling's
// (in the mix, a closed loop, it is held to the pace of the writes).
//
// Usage: ROSTER_BENCH_TOKEN=… matchonly -url TENANT_URL -prefix bench-… -users N [-concurrency C] [-duration D]
//
// The userNames are roster bench's: PREFIX.uI@bench.example for I in [0, N).
// A status other than 200, or a ListResponse without exactly one result, is
// an error.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/roster-scim/roster/loadgen"
)

type report struct {
	Count  int              `json:"count"`
	RPS    float64          `json:"rps"`
	P50MS  float64          `json:"p50_ms"`
	P99MS  float64          `json:"p99_ms"`
	Errors map[string]int64 `json:"errors"`
}

func main() {
	url := flag.String("url", "", "tenant URL")
	token := flag.String("token", os.Getenv("ROSTER_BENCH_TOKEN"), "bearer token (env ROSTER_BENCH_TOKEN)")
	prefix := flag.String("prefix", "", "the run prefix of the roster bench run that preloaded the users")
	users := flag.Int("users", 0, "users that run preloaded")
	conc := flag.Int("concurrency", 16, "requests in flight")
	dur := flag.Duration("duration", 10*time.Second, "how long to run")
	flag.Parse()
	if *url == "" || *prefix == "" || *users < 1 {
		fmt.Fprintln(os.Stderr, "matchonly: -url, -prefix and -users are required")
		os.Exit(2)
	}
	client := loadgen.NewClient(*conc)
	deadline := time.Now().Add(*dur)
	start := time.Now()
	var mu sync.Mutex
	var all []time.Duration
	errs := map[string]int64{}
	var wg sync.WaitGroup
	for w := range *conc {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 42))
			var lat []time.Duration
			local := map[string]int64{}
			var buf bytes.Buffer
			for time.Now().Before(deadline) {
				name := *prefix + ".u" + strconv.Itoa(rng.IntN(*users)) + "@bench.example"
				req, _ := http.NewRequestWithContext(context.Background(), "GET", *url+"/Users?filter=userName+eq+%22"+name+"%22", nil)
				req.Header.Set("Authorization", "Bearer "+*token)
				req.Header.Set("Accept", "application/scim+json")
				t0 := time.Now()
				resp, err := client.Do(req)
				buf.Reset()
				if err == nil {
					_, err = buf.ReadFrom(resp.Body)
					resp.Body.Close()
				}
				lat = append(lat, time.Since(t0))
				switch {
				case err != nil:
					local["transport"]++
				case resp.StatusCode != 200:
					local[strconv.Itoa(resp.StatusCode)]++
				default:
					var v struct {
						TotalResults *int `json:"totalResults"`
					}
					if json.Unmarshal(buf.Bytes(), &v) != nil || v.TotalResults == nil || *v.TotalResults != 1 {
						local["body"]++
					}
				}
			}
			mu.Lock()
			all = append(all, lat...)
			for k, v := range local {
				errs[k] += v
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	elapsed := time.Since(start).Seconds()
	slices.Sort(all)
	q := func(p float64) float64 {
		if len(all) == 0 {
			return 0
		}
		return float64(all[min(len(all)-1, int(p*float64(len(all))))].Microseconds()) / 1000
	}
	rep := report{Count: len(all), RPS: float64(len(all)) / elapsed, P50MS: q(0.50), P99MS: q(0.99), Errors: errs}
	enc := json.NewEncoder(os.Stdout)
	if err := enc.Encode(rep); err != nil {
		io.WriteString(os.Stderr, err.Error())
		os.Exit(1)
	}
}
