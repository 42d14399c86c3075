package wrr

import (
	"sync"
	"testing"
)

type upSet map[int]bool

func (u upSet) Up(i int) bool { return !u[i] }

func TestScheduleRatio(t *testing.T) {
	tests := []struct {
		name    string
		weights []int
		down    upSet
		cycles  int
		want    []int
	}{
		{"equal", []int{1, 1, 1}, nil, 4, []int{4, 4, 4}},
		{"3:1", []int{3, 1}, nil, 10, []int{30, 10}},
		{"gcd reduced", []int{200, 100}, nil, 5, []int{10, 5}},
		{"zero weight gets nothing", []int{2, 0, 1}, nil, 3, []int{6, 0, 3}},
		{"down server's share goes to the others in ratio", []int{2, 1, 1}, upSet{2: true}, 6, []int{16, 8, 0}},
		{"all zero", []int{0, 0}, nil, 1, []int{0, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New(tt.weights)
			got := make([]int, len(tt.weights))
			var a Availability
			if tt.down != nil {
				a = tt.down
			}
			for range tt.cycles * s.Len() {
				if i := s.Next(a); i >= 0 {
					got[i]++
				}
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("counts = %v, want %v", got, tt.want)
				}
			}
		})
	}
}

func TestScheduleSmooth(t *testing.T) {
	// 5:1:1 must not send five requests in a row to the first choice.
	s := New([]int{5, 1, 1})
	run, maxRun := 0, 0
	for range s.Len() {
		if s.Next(nil) == 0 {
			run++
			maxRun = max(maxRun, run)
		} else {
			run = 0
		}
	}
	if maxRun > 2 {
		t.Fatalf("longest burst to heaviest choice = %d, want interleaving", maxRun)
	}
}

func TestScheduleNoneUp(t *testing.T) {
	s := New([]int{1, 1})
	if got := s.Next(upSet{0: true, 1: true}); got != -1 {
		t.Fatalf("Next = %d, want -1", got)
	}
}

func TestScheduleHugeWeightsScaled(t *testing.T) {
	s := New([]int{1 << 30, 1<<30 - 1, 1})
	if s.Len() > maxCycle {
		t.Fatalf("cycle %d longer than %d", s.Len(), maxCycle)
	}
	seen := map[int]bool{}
	for range s.Len() {
		seen[s.Next(nil)] = true
	}
	if len(seen) != 3 {
		t.Fatalf("choices seen %v, want all three", seen)
	}
}

func TestScheduleConcurrentExact(t *testing.T) {
	s := New([]int{3, 2})
	var mu sync.Mutex
	got := make([]int, 2)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			local := make([]int, 2)
			for range 50 * s.Len() { // 4×50 full cycles in all
				local[s.Next(nil)]++
			}
			mu.Lock()
			got[0] += local[0]
			got[1] += local[1]
			mu.Unlock()
		})
	}
	wg.Wait()
	if got[0] != 600 || got[1] != 400 {
		t.Fatalf("counts = %v, want [600 400]", got)
	}
}

func BenchmarkWRRNext(b *testing.B) {
	s := New([]int{5, 3, 2, 1})
	up := upSet{}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			s.Next(up)
		}
	})
}

// NextFunc filters like Next; the filtered-out choices' slots pass on.
func TestScheduleNextFunc(t *testing.T) {
	s := New([]int{3, 1, 2})
	counts := make([]int, 3)
	for range 40 {
		counts[s.NextFunc(func(i int) bool { return i != 2 })]++
	}
	if counts[0] != 30 || counts[1] != 10 || counts[2] != 0 {
		t.Fatalf("counts = %v, want [30 10 0]", counts)
	}
	if got := s.NextFunc(func(int) bool { return false }); got != -1 {
		t.Fatalf("NextFunc with none up = %d", got)
	}
}
