package loadgen

import (
	"math"
	"math/bits"
	"sync/atomic"
	"time"
)

// The histogram is log-linear, like HDR histograms: durations below
// 2×subBuckets nanoseconds have a bucket each; above, every power of two is
// split into subBuckets equal buckets. A bucket is then at most 1/subBuckets
// (0.8%) of its values wide, and a quantile, reported as its bucket's
// midpoint, is within 0.4% of the true sample. Memory is fixed (40 KB per
// histogram) however many requests a run makes.
const (
	subBucketBits = 7
	subBuckets    = 1 << subBucketBits
	// maxExp bounds the range to 2^(maxExp+8) ns, about 19 hours; longer
	// durations land in the last bucket (max stays exact).
	maxExp     = 38
	numBuckets = 2*subBuckets + maxExp*subBuckets
)

// Histogram records durations for latency quantiles in bounded memory. It
// is safe for concurrent use: Record is a few atomic adds, so the workers
// of a run share one histogram per operation without a lock.
type Histogram struct {
	counts [numBuckets]atomic.Uint64
	n      atomic.Uint64
	sum    atomic.Uint64 // nanoseconds
	max    atomic.Uint64
}

// bucketOf returns the index of the bucket that holds v nanoseconds.
func bucketOf(v uint64) int {
	if v < 2*subBuckets {
		return int(v)
	}
	e := bits.Len64(v) - (subBucketBits + 1) // v>>e is in [subBuckets, 2*subBuckets)
	if e > maxExp {
		return numBuckets - 1
	}
	return 2*subBuckets + (e-1)*subBuckets + int(v>>e) - subBuckets
}

// bucketRange returns the lowest value of bucket i and its width.
func bucketRange(i int) (low, width uint64) {
	if i < 2*subBuckets {
		return uint64(i), 1
	}
	e := (i-2*subBuckets)/subBuckets + 1
	m := uint64((i-2*subBuckets)%subBuckets + subBuckets)
	return m << e, 1 << e
}

// Record adds one duration; negative durations count as zero.
func (h *Histogram) Record(d time.Duration) {
	v := uint64(max(d, 0))
	h.counts[bucketOf(v)].Add(1)
	h.n.Add(1)
	h.sum.Add(v)
	for {
		m := h.max.Load()
		if v <= m || h.max.CompareAndSwap(m, v) {
			return
		}
	}
}

// Count returns the number of durations recorded.
func (h *Histogram) Count() uint64 { return h.n.Load() }

// Max returns the longest duration recorded, exactly.
func (h *Histogram) Max() time.Duration { return time.Duration(h.max.Load()) }

// Mean returns the average duration, or 0 when there is none.
func (h *Histogram) Mean() time.Duration {
	n := h.n.Load()
	if n == 0 {
		return 0
	}
	return time.Duration(h.sum.Load() / n)
}

// Quantile returns the duration at quantile q (0.5 for the median, 0.99
// for p99) by nearest rank: the smallest recorded duration that at least
// q of all durations do not exceed, to within its bucket's precision.
// It returns 0 for an empty histogram.
func (h *Histogram) Quantile(q float64) time.Duration {
	n := h.n.Load()
	if n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(n)))
	rank = min(max(rank, 1), n)
	var seen uint64
	for i := range h.counts {
		seen += h.counts[i].Load()
		if seen >= rank {
			low, width := bucketRange(i)
			v := low + width/2
			return time.Duration(min(v, h.max.Load()))
		}
	}
	return h.Max()
}

// Merge adds o's durations to h (for the overall line of a report).
func (h *Histogram) Merge(o *Histogram) {
	for i := range o.counts {
		if c := o.counts[i].Load(); c > 0 {
			h.counts[i].Add(c)
		}
	}
	h.n.Add(o.n.Load())
	h.sum.Add(o.sum.Load())
	for v := o.max.Load(); ; {
		m := h.max.Load()
		if v <= m || h.max.CompareAndSwap(m, v) {
			break
		}
	}
}
