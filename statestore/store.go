// Package statestore keeps objects whose state must outlive a configuration
// reload — health checkers, connection pools, in-flight counters — keyed by
// the object's kind, name and a hash of its configuration. A build looks
// objects up; objects of the previous generation that the new build did not
// ask for are closed once the new snapshot is live.
package statestore

import (
	"encoding/json"
	"hash/fnv"
	"io"
	"sync"
)

type key struct {
	kind, name string
	hash       uint64
}

type entry struct {
	val any
	gen uint64
}

// Store holds the lasting objects. It is safe for concurrent use, though
// builds are expected to run one at a time.
type Store struct {
	mu  sync.Mutex
	m   map[key]*entry
	gen uint64
}

// New returns an empty store.
func New() *Store { return &Store{m: make(map[key]*entry)} }

// Build is one configuration build's view of the store.
type Build struct {
	s       *Store
	gen     uint64
	created []key
	done    bool
}

// Begin starts a build generation.
func (s *Store) Begin() *Build {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gen++
	return &Build{s: s, gen: s.gen}
}

// Hash returns a stable hash of a configuration value (via its JSON form).
func Hash(cfg any) uint64 {
	h := fnv.New64a()
	b, _ := json.Marshal(cfg)
	h.Write(b)
	return h.Sum64()
}

// Get returns the object stored for (kind, name, Hash(cfg)), creating it with
// create when absent. Objects returned by Get survive this build's Commit.
func (b *Build) Get(kind, name string, cfg any, create func() (any, error)) (any, error) {
	k := key{kind, name, Hash(cfg)}
	b.s.mu.Lock()
	if e, ok := b.s.m[k]; ok {
		e.gen = b.gen
		b.s.mu.Unlock()
		return e.val, nil
	}
	b.s.mu.Unlock()
	v, err := create()
	if err != nil {
		return nil, err
	}
	b.s.mu.Lock()
	defer b.s.mu.Unlock()
	if e, ok := b.s.m[k]; ok { // created concurrently by the same build
		closeVal(v)
		e.gen = b.gen
		return e.val, nil
	}
	b.s.m[k] = &entry{val: v, gen: b.gen}
	b.created = append(b.created, k)
	return v, nil
}

// Commit makes this build current: every object not used by it is closed.
func (b *Build) Commit() {
	if b.done {
		return
	}
	b.done = true
	var stale []any
	b.s.mu.Lock()
	for k, e := range b.s.m {
		if e.gen < b.gen {
			stale = append(stale, e.val)
			delete(b.s.m, k)
		}
	}
	b.s.mu.Unlock()
	for _, v := range stale {
		closeVal(v)
	}
}

// Abort discards the objects this build created; older objects stay.
func (b *Build) Abort() {
	if b.done {
		return
	}
	b.done = true
	var fresh []any
	b.s.mu.Lock()
	for _, k := range b.created {
		if e, ok := b.s.m[k]; ok && e.gen == b.gen {
			fresh = append(fresh, e.val)
			delete(b.s.m, k)
		}
	}
	b.s.mu.Unlock()
	for _, v := range fresh {
		closeVal(v)
	}
}

// Len reports how many objects the store holds.
func (s *Store) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m)
}

func closeVal(v any) {
	if c, ok := v.(io.Closer); ok {
		_ = c.Close()
	}
}
