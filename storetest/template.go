package storetest

import (
	"sync"
	"testing"
	"time"
)

// Templates holds, per benchmark directory, a store's seeded copy of it (a
// file, a schema): seeded once per process on first use, then copied by
// each benchmark, so that benchmarks neither pay for seeding nor see each
// other's writes. T is what the store needs to find its copy again.
type Templates[T any] struct {
	mu sync.Mutex
	m  map[*BenchDirectory]*template[T]
}

type template[T any] struct {
	once sync.Once
	v    T
	err  error
}

// Get returns the template of d, seeding it with seed on first use; a
// failed seed fails the benchmark. seed may return a value with its error,
// so that All still finds what a failed seed left behind.
func (ts *Templates[T]) Get(b *testing.B, d *BenchDirectory, seed func() (T, error)) T {
	ts.mu.Lock()
	if ts.m == nil {
		ts.m = map[*BenchDirectory]*template[T]{}
	}
	t, ok := ts.m[d]
	if !ok {
		t = &template[T]{}
		ts.m[d] = t
	}
	ts.mu.Unlock()
	t.once.Do(func() {
		start := time.Now()
		if t.v, t.err = seed(); t.err == nil {
			b.Logf("seeded %d users in %v", d.Size, time.Since(start).Round(time.Millisecond))
		}
	})
	if t.err != nil {
		b.Fatalf("seed %d users: %v", d.Size, t.err)
	}
	return t.v
}

// All returns every template seeded so far, for TestMain to remove them:
// they are shared by all benchmarks of the process and so outlive each.
func (ts *Templates[T]) All() []T {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	var out []T
	for _, t := range ts.m {
		out = append(out, t.v)
	}
	return out
}
