//go:build !race

// The race detector's sync.Pool drops a share of what is put back on
// purpose, so reuse is measured only in normal builds.

package headerpool

import "testing"

func TestReuseAvoidsAllocation(t *testing.T) {
	// Warm the pool; a GC during the loop may empty it, so allow a little.
	Put(Get())
	allocs := testing.AllocsPerRun(1000, func() {
		h := Get()
		h["Content-Type"] = nil
		h["Content-Length"] = nil
		Put(h)
	})
	if allocs > 0.1 {
		t.Fatalf("Get/fill/Put allocated %.2f times per run; a reused map should not allocate", allocs)
	}
}
