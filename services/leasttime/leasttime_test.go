package leasttime

import (
	"sync/atomic"
	"testing"

	"github.com/guan-gateway/guan/services/wrr"
)

type servers struct {
	down     map[int]bool
	weight   []float64
	ttfb     []float64
	inflight []atomic.Int64
}

func newServers(ttfb ...float64) *servers {
	s := &servers{ttfb: ttfb, inflight: make([]atomic.Int64, len(ttfb)), weight: make([]float64, len(ttfb))}
	for i := range s.weight {
		s.weight[i] = 1
	}
	return s
}

func (s *servers) Len() int               { return len(s.ttfb) }
func (s *servers) Up(i int) bool          { return !s.down[i] && s.weight[i] > 0 }
func (s *servers) InFlight(i int) int64   { return s.inflight[i].Load() }
func (s *servers) Weight(i int) float64   { return s.weight[i] }
func (s *servers) MeanTTFB(i int) float64 { return s.ttfb[i] }
func (s *servers) schedule() *wrr.Schedule {
	w := make([]int, len(s.weight))
	for i, v := range s.weight {
		w[i] = int(v)
	}
	return wrr.New(w)
}

func TestPickLowestScore(t *testing.T) {
	s := newServers(30, 10, 20)
	if got := Pick(s, s.schedule()); got != 1 {
		t.Fatalf("Pick = %d, want the fastest (1)", got)
	}
	// score = ttfb × (1 + in flight) / weight: 10×3 = 30 > 20×1.
	s.inflight[1].Store(2)
	if got := Pick(s, s.schedule()); got != 2 {
		t.Fatalf("Pick = %d, want 2 once 1 is busy", got)
	}
	// Weight 4 divides 30×1 down to 7.5.
	s.weight[0] = 4
	if got := Pick(s, s.schedule()); got != 0 {
		t.Fatalf("Pick = %d, want the heavy server 0", got)
	}
	s.down = map[int]bool{0: true}
	if got := Pick(s, s.schedule()); got != 2 {
		t.Fatalf("Pick = %d, want 2 with 0 down", got)
	}
	s.down = map[int]bool{0: true, 1: true, 2: true}
	if got := Pick(s, s.schedule()); got != -1 {
		t.Fatalf("Pick = %d with all down, want -1", got)
	}
}

// A server without samples scores 0 and is tried before the measured ones.
func TestPickColdServerFirst(t *testing.T) {
	s := newServers(5, 0, 7)
	for range 5 {
		if got := Pick(s, s.schedule()); got != 1 {
			t.Fatalf("Pick = %d, want the unmeasured server 1", got)
		}
	}
}

// Equal scores are shared in the weights' round-robin order; servers that
// do not tie get nothing.
func TestPickTiesFollowWeights(t *testing.T) {
	s := newServers(0, 0, 0, 3)
	s.weight = []float64{3, 1, 0, 5}
	sched := s.schedule()
	counts := make([]int, 4)
	for range 40 {
		counts[Pick(s, sched)]++
	}
	if counts[0] != 30 || counts[1] != 10 || counts[2] != 0 || counts[3] != 0 {
		t.Fatalf("counts = %v, want [30 10 0 0]", counts)
	}
	// Without a schedule the first tied server wins.
	if got := Pick(s, nil); got != 0 {
		t.Fatalf("Pick(nil) = %d, want 0", got)
	}
}

func BenchmarkLeastTimePick(b *testing.B) {
	for _, tc := range []struct {
		name string
		ttfb []float64
	}{
		{"distinct", []float64{12, 7, 9, 15, 8, 11, 10, 14}},
		{"tied", make([]float64, 8)}, // sub-millisecond servers: every pick breaks a tie
	} {
		b.Run(tc.name, func(b *testing.B) {
			s := newServers(tc.ttfb...)
			sched := s.schedule()
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := Pick(s, sched)
					s.inflight[i].Add(1)
					s.inflight[i].Add(-1)
				}
			})
		})
	}
}
