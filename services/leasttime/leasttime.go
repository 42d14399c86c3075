// Package leasttime picks the server with the lowest score
// mean response time × (1 + requests in flight) / weight, as Traefik's
// leasttime strategy does: fast servers get more requests, a server that is
// busy or slow gets fewer, and a heavier server takes proportionally more.
// Servers whose scores tie share requests in weighted round-robin order.
//
// Picking scans the servers once, reading atomics, and takes no lock.
package leasttime

import "github.com/guan-gateway/guan/services/wrr"

// Candidates is the set to choose from.
type Candidates interface {
	Len() int
	// Up reports whether server i may receive traffic.
	Up(i int) bool
	// InFlight is the number of requests server i is serving now.
	InFlight(i int) int64
	// Weight is server i's weight; it is > 0 when Up.
	Weight(i int) float64
	// MeanTTFB is server i's mean time to first byte over its latest
	// responses; 0 before the first, so a new server is tried early.
	MeanTTFB(i int) float64
}

// Score is server i's score; lower is better.
func Score(c Candidates, i int) float64 {
	return c.MeanTTFB(i) * float64(1+c.InFlight(i)) / c.Weight(i)
}

// Pick returns the up server with the lowest score, or -1 when none is up.
// When several share the lowest score, ties (the servers' weighted
// round-robin schedule) chooses among them; nil ties takes the first.
func Pick(c Candidates, ties *wrr.Schedule) int {
	best, n, low := -1, 0, 0.0
	for i := range c.Len() {
		if !c.Up(i) {
			continue
		}
		switch s := Score(c, i); {
		case best < 0 || s < low:
			best, n, low = i, 1, s
		case s == low:
			n++
		}
	}
	if n <= 1 || ties == nil {
		return best
	}
	// The schedule skips the servers that do not share the lowest score,
	// so the tied ones keep their weight ratio. Scores read again may have
	// moved meanwhile; then the first tied server found above is taken.
	if i := ties.NextFunc(func(i int) bool { return c.Up(i) && Score(c, i) == low }); i >= 0 {
		return i
	}
	return best
}
