// Package wrr picks among weighted choices in smooth weighted round-robin
// order. The order is computed once per configuration and walked with an
// atomic cursor, so picking takes no lock and the ratio over any full cycle
// is exact.
package wrr

import "sync/atomic"

// maxCycle bounds the precomputed order. Weights whose reduced sum exceeds it
// are scaled down proportionally (each non-zero weight keeps at least one slot).
const maxCycle = 1 << 16

// Availability tells whether choice i may be picked right now.
type Availability interface {
	Up(i int) bool
}

// Schedule is an immutable weighted order with a shared cursor.
type Schedule struct {
	seq    []uint32
	cursor atomic.Uint64
}

// New returns the schedule for weights; choices with weight <= 0 never come up.
func New(weights []int) *Schedule {
	w := reduce(weights)
	total := 0
	for _, v := range w {
		total += v
	}
	s := &Schedule{seq: make([]uint32, 0, total)}
	if total == 0 {
		return s
	}
	// Smooth weighted round robin: each round every choice gains its weight,
	// the richest is picked and pays the total. This interleaves choices
	// instead of sending bursts to the heaviest one.
	current := make([]int, len(w))
	for range total {
		best := -1
		for i, v := range w {
			if v == 0 {
				continue
			}
			current[i] += v
			if best < 0 || current[i] > current[best] {
				best = i
			}
		}
		current[best] -= total
		s.seq = append(s.seq, uint32(best))
	}
	return s
}

// Len is the length of one cycle (0 when no choice has weight).
func (s *Schedule) Len() int { return len(s.seq) }

// Next returns the next available choice, or -1 when none is available.
// Every slot of the cycle is consumed by exactly one call, so unavailable
// choices' slots pass to the following ones and the available choices keep
// their relative ratio.
func (s *Schedule) Next(a Availability) int {
	if a == nil {
		return s.NextFunc(func(int) bool { return true })
	}
	return s.NextFunc(a.Up)
}

// NextFunc is Next with availability given by up, which may be a closure:
// it does not escape, so a caller filtering on per-call state does not
// allocate.
func (s *Schedule) NextFunc(up func(i int) bool) int {
	n := uint64(len(s.seq))
	for range n {
		if i := int(s.seq[(s.cursor.Add(1)-1)%n]); up(i) {
			return i
		}
	}
	return -1
}

// reduce divides weights by their greatest common divisor and scales them
// down when the cycle would be longer than maxCycle.
func reduce(weights []int) []int {
	w := make([]int, len(weights))
	g, total := 0, 0
	for i, v := range weights {
		if v > 0 {
			w[i] = v
			g = gcd(g, v)
		}
	}
	if g == 0 {
		return w
	}
	for i := range w {
		w[i] /= g
		total += w[i]
	}
	if total <= maxCycle {
		return w
	}
	scale := float64(maxCycle-len(w)) / float64(total)
	for i, v := range w {
		if v > 0 {
			w[i] = max(1, int(float64(v)*scale))
		}
	}
	return w
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}
