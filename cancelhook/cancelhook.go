// Package cancelhook gives a long-lived context — a client connection's —
// one slot for a function to run when it is canceled.
//
// Why: an upstream exchange must learn that its client went away, and
// context.AfterFunc, the general way, allocates and registers a child in
// the context for every exchange (half a microsecond on the proxy path, for
// a cancellation that almost never comes). An HTTP/1.x connection carries
// one request at a time, so one reusable slot serves its exchanges; a
// caller that finds the slot taken, or the context derived with its own
// cancellation, uses context.AfterFunc as before.
package cancelhook

import (
	"context"
	"sync"
)

// Slot holds the function to run when its context is canceled.
type Slot struct {
	done  <-chan struct{}
	mu    sync.Mutex
	f     func()
	fired bool
}

type key struct{}

// WithCancel is context.WithCancel with a slot: cancel also runs the
// registered function, in its own goroutine as context.AfterFunc would.
func WithCancel(parent context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(parent)
	s := &Slot{done: ctx.Done()}
	ctx = context.WithValue(ctx, key{}, s)
	return ctx, func() {
		cancel()
		s.mu.Lock()
		f := s.f
		s.f, s.fired = nil, true
		s.mu.Unlock()
		if f != nil {
			go f()
		}
	}
}

// Register puts f in the slot of ctx. It returns nil — and f is not
// registered — when ctx has no slot, when ctx can be canceled otherwise
// than by the slot's cancel (a context derived with a deadline or its own
// cancel), when the slot is taken, or when ctx is already canceled.
func Register(ctx context.Context, f func()) *Slot {
	s, _ := ctx.Value(key{}).(*Slot)
	if s == nil || ctx.Done() != s.done {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f != nil || s.fired {
		return nil
	}
	s.f = f
	return s
}

// Unregister empties the slot. It reports false when the function has
// already been started by a cancel (as context.AfterFunc's stop does).
func (s *Slot) Unregister() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		return false
	}
	s.f = nil
	return true
}
