//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package h1transport

// setupPeek: no cheap liveness check here; a dead pooled connection is
// found when the request fails, and idempotent requests are retried.
func (pc *conn) setupPeek() {}

func (pc *conn) alive() bool { return true }

func (pc *conn) readable() bool { return false }
