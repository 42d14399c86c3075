// Package headerpool keeps emptied header maps for reuse.
//
// Why: a proxied request builds two header maps that die with it — the
// copy sent upstream and the upstream's response header — and a Go map
// costs two allocations (the map and, on first insert, its slot group)
// plus the rehashing as it grows. A map that was cleared keeps its slots,
// so a reused one costs none of that.
package headerpool

import (
	"net/http"
	"sync"
)

// maxFields bounds what is kept: a map that once held an unusual number of
// fields keeps that capacity, and is left to the collector instead.
const maxFields = 64

// New maps start small (eight slots, one group) and grow as they are used;
// a response header rarely needs more.
var pool = sync.Pool{New: func() any { return make(http.Header) }}

// Get returns an empty header map.
func Get() http.Header { return pool.Get().(http.Header) }

// Put empties h and keeps it for a later Get. The caller must hold the only
// reference to h: nothing may read or write it afterwards. Value slices
// taken from it stay valid; they are not reused.
func Put(h http.Header) {
	if h == nil || len(h) > maxFields {
		return
	}
	clear(h)
	pool.Put(h)
}
