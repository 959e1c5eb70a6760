package loadgen

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestBuckets(t *testing.T) {
	// Every value falls in the bucket whose range holds it, buckets are
	// contiguous, and none is wider than 1/128 of its values.
	prevEnd := uint64(0)
	for i := 0; i < numBuckets; i++ {
		low, width := bucketRange(i)
		if low != prevEnd {
			t.Fatalf("bucket %d starts at %d, previous ends at %d", i, low, prevEnd)
		}
		if i >= 2*subBuckets && float64(width)/float64(low) > 1.0/subBuckets {
			t.Fatalf("bucket %d: width %d at %d", i, width, low)
		}
		for _, v := range []uint64{low, low + width/2, low + width - 1} {
			if got := bucketOf(v); got != i {
				t.Fatalf("bucketOf(%d) = %d, want %d", v, got, i)
			}
		}
		prevEnd = low + width
	}
	if got := bucketOf(math.MaxUint64); got != numBuckets-1 {
		t.Fatalf("bucketOf(max) = %d", got)
	}
}

func TestQuantilesUniform(t *testing.T) {
	var h Histogram
	// 1..1000 ms, shuffled, ten times over.
	for range 10 {
		for _, i := range rand.Perm(1000) {
			h.Record(time.Duration(i+1) * time.Millisecond)
		}
	}
	for _, c := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 500 * time.Millisecond}, {0.95, 950 * time.Millisecond}, {0.99, 990 * time.Millisecond}, {1, 1000 * time.Millisecond}} {
		got := h.Quantile(c.q)
		if rel := math.Abs(float64(got-c.want)) / float64(c.want); rel > 0.01 {
			t.Errorf("p%g = %v, want %v within 1%% (off by %.2f%%)", c.q*100, got, c.want, rel*100)
		}
	}
	if h.Count() != 10000 || h.Max() != time.Second {
		t.Errorf("count %d, max %v", h.Count(), h.Max())
	}
	if m := h.Mean(); m != 500500*time.Microsecond {
		t.Errorf("mean %v", m)
	}
}

func TestQuantilesSkewed(t *testing.T) {
	// A long tail: 98% fast requests around 2 ms, 2% slow around 300 ms.
	// p50 and p95 must stay fast and p99 must land in the tail, each within
	// 1% of the exact value computed from the sorted samples.
	rng := rand.New(rand.NewPCG(1, 2))
	var h, merged Histogram
	var samples []time.Duration
	for i := range 20000 {
		d := time.Duration(1500+rng.IntN(1000)) * time.Microsecond
		if i%50 == 0 {
			d = time.Duration(250+rng.IntN(100)) * time.Millisecond
		}
		h.Record(d)
		samples = append(samples, d)
	}
	merged.Merge(&h)
	sortDurations(samples)
	for _, q := range []float64{0.5, 0.95, 0.99, 0.999} {
		want := samples[int(math.Ceil(q*float64(len(samples))))-1]
		for _, hh := range []*Histogram{&h, &merged} {
			got := hh.Quantile(q)
			if rel := math.Abs(float64(got-want)) / float64(want); rel > 0.01 {
				t.Errorf("p%g = %v, want %v within 1%%", q*100, got, want)
			}
		}
	}
	var empty Histogram
	if empty.Quantile(0.99) != 0 || empty.Mean() != 0 {
		t.Error("an empty histogram has quantiles")
	}
}

func sortDurations(s []time.Duration) { slices.Sort(s) }
