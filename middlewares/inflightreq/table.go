package inflightreq

import (
	"hash/maphash"
	"sync"
)

const shardCount = 32 // power of two

// Table counts in-flight requests per source key. Keys live only while
// their count is above zero, so memory is bounded by the number of sources
// with a request in progress. Sharding keeps lock contention low.
type Table struct {
	seed   maphash.Seed
	shards [shardCount]shard
}

type shard struct {
	mu sync.Mutex
	m  map[string]int64
	_  [40]byte // keep shards on separate cache lines
}

// NewTable returns an empty table.
func NewTable() *Table {
	t := &Table{seed: maphash.MakeSeed()}
	for i := range t.shards {
		t.shards[i].m = make(map[string]int64)
	}
	return t
}

func (t *Table) shard(key string) *shard {
	return &t.shards[maphash.String(t.seed, key)&(shardCount-1)]
}

// Acquire counts one more request for key unless limit are already in
// flight; it reports whether the request may proceed.
func (t *Table) Acquire(key string, limit int64) bool {
	s := t.shard(key)
	s.mu.Lock()
	n := s.m[key]
	ok := n < limit
	if ok {
		s.m[key] = n + 1
	}
	s.mu.Unlock()
	return ok
}

// Release ends one request for key.
func (t *Table) Release(key string) {
	s := t.shard(key)
	s.mu.Lock()
	if n := s.m[key]; n <= 1 {
		delete(s.m, key)
	} else {
		s.m[key] = n - 1
	}
	s.mu.Unlock()
}

// Len reports how many sources have requests in flight.
func (t *Table) Len() int {
	n := 0
	for i := range t.shards {
		s := &t.shards[i]
		s.mu.Lock()
		n += len(s.m)
		s.mu.Unlock()
	}
	return n
}

// InFlight reports how many requests are in flight for key.
func (t *Table) InFlight(key string) int64 {
	s := t.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m[key]
}
