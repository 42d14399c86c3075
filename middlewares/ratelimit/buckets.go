package ratelimit

import (
	"hash/maphash"
	"sync"
	"time"
)

// rule is a token bucket: burst tokens, one more every interval.
type rule struct {
	interval time.Duration
	burst    int64
}

// window is how far the theoretical arrival time may run ahead of now:
// the whole bucket.
func (r rule) window() time.Duration { return time.Duration(r.burst) * r.interval }

// decision is the outcome of taking one token.
type decision struct {
	allowed    bool
	remaining  int64         // tokens left after this request
	retryAfter time.Duration // when refused: until a token is back
	reset      time.Duration // until the bucket is full again
}

// gcra takes a token from a bucket kept as its theoretical arrival time
// (GCRA: the time at which the bucket would be full again if no request
// came). One number per source instead of a token count and a timestamp;
// the Redis script applies the same arithmetic.
func gcra(r rule, tat, now time.Duration) (d decision, newTAT time.Duration) {
	tat = max(tat, now)
	next := tat + r.interval
	if ahead := next - now; ahead > r.window() {
		return decision{
			retryAfter: ahead - r.window(),
			reset:      tat - now,
			remaining:  0,
		}, tat
	}
	ahead := next - now
	return decision{
		allowed:   true,
		remaining: int64((r.window() - ahead) / r.interval),
		reset:     ahead,
	}, next
}

const bucketShards = 32 // power of two

// Buckets holds in-memory token buckets per source key. A bucket that has
// filled up again is the same as no bucket, so memory is bounded by the
// sources seen within one bucket's refill time: entries past it are swept
// as the table grows.
type Buckets struct {
	seed   maphash.Seed
	base   time.Time // monotonic origin of the stored times
	shards [bucketShards]bucketShard
}

type bucketShard struct {
	mu      sync.Mutex
	tat     map[string]time.Duration // since base
	sweepAt int                      // next size at which full buckets are dropped
	_       [32]byte                 // keep shards on separate cache lines
}

// NewBuckets returns an empty table.
func NewBuckets() *Buckets {
	b := &Buckets{seed: maphash.MakeSeed(), base: time.Now()}
	for i := range b.shards {
		b.shards[i].tat = make(map[string]time.Duration)
		b.shards[i].sweepAt = 1024
	}
	return b
}

// take spends one token of key's bucket under r.
func (b *Buckets) take(key string, r rule) decision {
	now := time.Since(b.base)
	s := &b.shards[maphash.String(b.seed, key)&(bucketShards-1)]
	s.mu.Lock()
	d, tat := gcra(r, s.tat[key], now)
	if d.allowed {
		s.tat[key] = tat
		if len(s.tat) >= s.sweepAt {
			s.sweep(now)
		}
	}
	s.mu.Unlock()
	return d
}

// sweep drops the buckets that are full again; called with mu held when
// the shard has doubled since the last sweep, so its cost per request
// stays constant.
func (s *bucketShard) sweep(now time.Duration) {
	for k, tat := range s.tat {
		if tat <= now {
			delete(s.tat, k)
		}
	}
	s.sweepAt = max(1024, 2*len(s.tat))
}

// Len reports how many sources have a bucket that is not full.
func (b *Buckets) Len() int {
	n := 0
	for i := range b.shards {
		s := &b.shards[i]
		s.mu.Lock()
		n += len(s.tat)
		s.mu.Unlock()
	}
	return n
}
