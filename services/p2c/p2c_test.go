package p2c

import (
	"sync/atomic"
	"testing"
)

type servers struct {
	down     map[int]bool
	inflight []atomic.Int64
}

func (s *servers) Len() int             { return len(s.inflight) }
func (s *servers) Up(i int) bool        { return !s.down[i] }
func (s *servers) InFlight(i int) int64 { return s.inflight[i].Load() }

func TestPickPrefersLessLoaded(t *testing.T) {
	s := &servers{inflight: make([]atomic.Int64, 2)}
	s.inflight[0].Store(10)
	for range 100 {
		if got := Pick(s); got != 1 {
			t.Fatalf("Pick = %d, want the idle server 1", got)
		}
	}
}

func TestPickSpreadsLoad(t *testing.T) {
	// Requests that stay in flight must spread evenly: p2c keeps the
	// difference between the most and least loaded server small.
	s := &servers{inflight: make([]atomic.Int64, 5)}
	for range 1000 {
		s.inflight[Pick(s)].Add(1)
	}
	lo, hi := int64(1<<62), int64(0)
	for i := range s.inflight {
		v := s.inflight[i].Load()
		lo, hi = min(lo, v), max(hi, v)
	}
	if hi-lo > 20 {
		t.Fatalf("load spread %d..%d too uneven", lo, hi)
	}
}

func TestPickSkipsDown(t *testing.T) {
	tests := []struct {
		name string
		n    int
		down map[int]bool
		want int
	}{
		{"only one up", 3, map[int]bool{0: true, 2: true}, 1},
		{"none up", 2, map[int]bool{0: true, 1: true}, -1},
		{"empty", 0, nil, -1},
		{"single", 1, nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &servers{down: tt.down, inflight: make([]atomic.Int64, tt.n)}
			for range 50 {
				if got := Pick(s); got != tt.want {
					t.Fatalf("Pick = %d, want %d", got, tt.want)
				}
			}
		})
	}
}

func BenchmarkP2CNext(b *testing.B) {
	s := &servers{inflight: make([]atomic.Int64, 8)}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := Pick(s)
			s.inflight[i].Add(1)
			s.inflight[i].Add(-1)
		}
	})
}
