// Package p2c picks a server by the power of two random choices: draw two
// available servers at random and take the one with fewer requests in flight.
// It spreads load nearly as well as least-requests without scanning all
// servers or sharing a lock.
package p2c

import "math/rand/v2"

// Candidates is the set to choose from.
type Candidates interface {
	Len() int
	// Up reports whether server i may receive traffic.
	Up(i int) bool
	// InFlight is the number of requests server i is serving now.
	InFlight(i int) int64
}

// Pick returns the chosen index, or -1 when no candidate is up.
func Pick(c Candidates) int {
	n := c.Len()
	if n == 0 {
		return -1
	}
	a := firstUp(c, rand.IntN(n), n, -1)
	if a < 0 {
		return -1
	}
	if n == 1 {
		return a
	}
	// The second draw skips a, so two distinct servers are compared
	// whenever two are up.
	start := rand.IntN(n - 1)
	if start >= a {
		start++
	}
	b := firstUp(c, start, n, a)
	if b < 0 || c.InFlight(a) <= c.InFlight(b) {
		return a
	}
	return b
}

// firstUp walks from start (wrapping) to the first up index other than skip.
func firstUp(c Candidates, start, n, skip int) int {
	for k := range n {
		i := (start + k) % n
		if i != skip && c.Up(i) {
			return i
		}
	}
	return -1
}
