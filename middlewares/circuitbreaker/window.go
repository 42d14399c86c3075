package circuitbreaker

import (
	"math/bits"
	"sync"
	"time"
)

// The window the expression reads: the last 10 seconds of responses, in
// buckets of one second, as Traefik's circuit breaker keeps them.
const (
	windowBuckets = 10
	bucketWidth   = time.Second
	maxCode       = 600 // codes above are counted as 599
	// Latency histogram: 8 sub-buckets per power of two of microseconds
	// (about 9% resolution) up to 2^38 µs.
	subBits     = 3
	latBuckets  = (38 + 1) << subBits
	netErrCodeA = 502 // what the proxy answers when the server cannot be reached...
	netErrCodeB = 504 // ...or does not answer in time
)

type bucket struct {
	second  int64 // which second this bucket holds
	total   uint64
	codes   [maxCode]uint32
	latency [latBuckets]uint32
}

// window records responses; safe for concurrent use.
type window struct {
	mu      sync.Mutex
	buckets [windowBuckets]bucket
}

func latencyIndex(d time.Duration) int {
	us := uint64(max(d.Microseconds(), 1))
	msb := bits.Len64(us) - 1
	var sub uint64
	if msb >= subBits {
		sub = (us >> (msb - subBits)) & (1<<subBits - 1)
	} else {
		sub = (us << (subBits - msb)) & (1<<subBits - 1)
	}
	return min(msb<<subBits|int(sub), latBuckets-1)
}

// latencyUpper is the upper bound of histogram bucket i, in milliseconds.
func latencyUpper(i int) float64 {
	msb, sub := i>>subBits, i&(1<<subBits-1)
	lo := float64(uint64(1)<<msb) * (1 + float64(sub)/(1<<subBits))
	step := float64(uint64(1)<<msb) / (1 << subBits)
	return (lo + step) / 1000
}

// record counts one response.
func (w *window) record(code int, d time.Duration, now time.Time) {
	sec := now.UnixNano() / int64(bucketWidth)
	code = min(max(code, 0), maxCode-1)
	li := latencyIndex(d)
	w.mu.Lock()
	b := &w.buckets[sec%windowBuckets]
	if b.second != sec {
		*b = bucket{second: sec}
	}
	b.total++
	b.codes[code]++
	b.latency[li]++
	w.mu.Unlock()
}

// reset forgets everything, as a trip does.
func (w *window) reset() {
	w.mu.Lock()
	w.buckets = [windowBuckets]bucket{}
	w.mu.Unlock()
}

// merged sums the buckets of the last windowBuckets seconds.
type merged struct {
	total   uint64
	codes   [maxCode]uint64
	latency [latBuckets]uint64
}

func (w *window) snapshot(now time.Time) *merged {
	sec := now.UnixNano() / int64(bucketWidth)
	m := &merged{}
	w.mu.Lock()
	defer w.mu.Unlock()
	for i := range w.buckets {
		b := &w.buckets[i]
		if b.total == 0 || sec-b.second >= windowBuckets {
			continue
		}
		m.total += b.total
		for c, n := range b.codes {
			m.codes[c] += uint64(n)
		}
		for l, n := range b.latency {
			m.latency[l] += uint64(n)
		}
	}
	return m
}

func (m *merged) networkErrorRatio() float64 {
	if m.total == 0 {
		return 0
	}
	return float64(m.codes[netErrCodeA]+m.codes[netErrCodeB]) / float64(m.total)
}

func (m *merged) count(from, to int) uint64 {
	var n uint64
	for c := max(from, 0); c < min(to, maxCode); c++ {
		n += m.codes[c]
	}
	return n
}

// responseCodeRatio is the share of codes in [from, to) among codes in
// [dFrom, dTo); 0 when the divisor range saw nothing.
func (m *merged) responseCodeRatio(from, to, dFrom, dTo int) float64 {
	d := m.count(dFrom, dTo)
	if d == 0 {
		return 0
	}
	return float64(m.count(from, to)) / float64(d)
}

// latencyAtQuantileMS is the latency under which q percent of the
// responses fell, in milliseconds (to the histogram's resolution).
func (m *merged) latencyAtQuantileMS(q float64) float64 {
	if m.total == 0 {
		return 0
	}
	want := uint64(float64(m.total)*q/100 + 0.5)
	want = max(want, 1)
	var seen uint64
	for i, n := range m.latency {
		seen += n
		if seen >= want {
			return latencyUpper(i)
		}
	}
	return latencyUpper(latBuckets - 1)
}
