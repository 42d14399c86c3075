package mqtt

import (
	"fmt"
	"slices"
	"testing"
)

// Client-ID affinity: stable, even, and only the clients of a departed
// broker move.
func TestRendezvousAffinity(t *testing.T) {
	three := &Service{Servers: []string{"10.0.0.1:1883", "10.0.0.2:1883", "10.0.0.3:1883"}}
	two := &Service{Servers: []string{"10.0.0.1:1883", "10.0.0.3:1883"}}
	count := map[string]int{}
	moved := 0
	const n = 30000
	for i := range n {
		id := fmt.Sprintf("dev-%d", i)
		a := three.order(id)
		if b := three.order(id); !slices.Equal(a, b) {
			t.Fatalf("%s: order changed between calls", id)
		}
		count[a[0]]++
		if got := two.order(id)[0]; got != a[0] {
			moved++
			if a[0] != "10.0.0.2:1883" {
				t.Fatalf("%s moved from %s to %s though its broker stayed", id, a[0], got)
			}
		}
	}
	for srv, c := range count {
		if c < n/3-n/30 || c > n/3+n/30 {
			t.Errorf("%s got %d of %d clients; want about a third", srv, c, n)
		}
	}
	if moved != count["10.0.0.2:1883"] {
		t.Errorf("%d clients moved, want exactly the %d of the departed broker", moved, count["10.0.0.2:1883"])
	}
	rr := &Service{Servers: three.Servers, RoundRobin: true}
	if a, b := rr.order("x")[0], rr.order("x")[0]; a == b {
		t.Error("round robin gave the same first broker twice in a row")
	}
}
