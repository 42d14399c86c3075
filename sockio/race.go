//go:build race

package sockio

// raceEnabled turns the raw path off in race-detector builds: net's own
// reads and writes tell the detector that a write to a socket happens
// before the peer's read of it, and raw calls cannot. Without that edge,
// code ordered only by its I/O (a handler's write seen by the client that
// got the response) would be reported as racing.
const raceEnabled = true
