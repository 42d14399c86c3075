package h1transport

import (
	"sync"
	"sync/atomic"
	"time"
)

// The stale watch. A request waits for its response with
// sockio.WriteRead, which cannot see what the server sent before the
// request went out (its close, or bytes it sent unasked while the
// connection idled) once the poller has reported it: that wakes nothing.
// A connection idle for under a second is handed out on the word of the
// close watch (closewatch), which comes a scheduling delay after the close
// and knows nothing of bytes sent unasked; where there is no close watch, a
// bodiless idempotent request takes it unchecked. After that check,
// reading the client's body may take a while. A server that closed for
// good answers the request with a reset, which does wake the wait; one
// that only half-closed the connection and goes on reading, discarding
// what comes (Apache httpd's lingering close, at its keep-alive timeout or
// in a graceful restart), sends nothing at all.
//
// The watch finds such waits. Every staleTick it stamps the waits that
// began since the tick before, and peeks once at those it stamped then:
// anything that arrives after a wait began wakes it, so bytes or a close
// that are there to read while it still waits arrived before, and the
// watch wakes it with a deadline in the past. The exchange then reads as
// Read does, trying the socket first, and sees the close or the bytes. A
// wait with nothing to read is not looked at again. The request path pays
// two atomic operations; a peek is made only for a wait that lasts a tick.
const staleTick = 50 * time.Millisecond

// conn.waiting values; a stamp (the tick that first saw a wait) is
// firstStamp or more.
const (
	staleClaimed  = -1 // the watch set a deadline in the past
	notWaiting    = 0
	waitingUnseen = 1 // since after the last tick
	waitingClean  = 2 // peeked at: nothing had been missed
	firstStamp    = 3
)

var stale struct {
	mu      sync.Mutex
	conns   map[*conn]struct{}
	running bool
	tick    int64
}

// Counted for tests: peeks made, and waits woken.
var stalePeeks, staleWakes atomic.Int64

// watchStale registers a connection for its life.
func watchStale(pc *conn) {
	stale.mu.Lock()
	if stale.conns == nil {
		stale.conns = make(map[*conn]struct{})
	}
	stale.conns[pc] = struct{}{}
	if !stale.running {
		stale.running = true
		go staleLoop()
	}
	stale.mu.Unlock()
}

// unwatchStale ends it; a connection never watched (no raw socket) is not
// there, which is fine.
func unwatchStale(pc *conn) {
	stale.mu.Lock()
	delete(stale.conns, pc)
	stale.mu.Unlock()
}

// staleLoop runs while connections are registered.
func staleLoop() {
	t := time.NewTicker(staleTick)
	defer t.Stop()
	var due []*conn
	for range t.C {
		stale.mu.Lock()
		if len(stale.conns) == 0 {
			stale.running = false
			stale.mu.Unlock()
			return
		}
		stale.tick++
		tick := stale.tick + firstStamp
		due = due[:0]
		for pc := range stale.conns {
			switch v := pc.waiting.Load(); {
			case v == waitingUnseen:
				pc.waiting.CompareAndSwap(waitingUnseen, tick)
			case v >= firstStamp && v < tick:
				due = append(due, pc)
			}
		}
		stale.mu.Unlock()
		for _, pc := range due {
			pc.checkWait()
		}
		clear(due)
	}
}

// waitBegins is WriteRead's sent hook: the request is out, and the wait
// for its response begins. A close the close watch has seen already came
// before the request: the wait is woken at once, not a tick later.
func (pc *conn) waitBegins() {
	pc.waiting.Store(waitingUnseen)
	if pc.hup != nil && pc.hup.Closed() {
		pc.claim(waitingUnseen)
	}
}

// checkWait wakes a wait that missed what it should have seen.
func (pc *conn) checkWait() {
	v := pc.waiting.Load()
	if v < firstStamp {
		return
	}
	stalePeeks.Add(1)
	if !pc.readable() {
		pc.waiting.CompareAndSwap(v, waitingClean)
		return
	}
	pc.claim(v)
}

// claim wakes the wait, still in state v, with a deadline in the past.
func (pc *conn) claim(v int64) {
	pc.dlMu.Lock()
	if pc.waiting.CompareAndSwap(v, staleClaimed) {
		staleWakes.Add(1)
		pc.nc.SetReadDeadline(aLongTimeAgo)
	}
	pc.dlMu.Unlock()
}

// endWait ends a wait and, when the watch woke it, puts back the deadline
// the exchange had and reads again, trying the socket first; what it read
// before the wake-up, if anything, is kept.
func (pc *conn) endWait(p []byte, n int, err error) (int, error) {
	if pc.waiting.Swap(notWaiting) != staleClaimed {
		return n, err
	}
	pc.dlMu.Lock()
	if pc.hdrWaiting {
		pc.setHeaderDeadline() // the header timeout starts again
	} else {
		pc.nc.SetReadDeadline(time.Time{})
	}
	if pc.canceled.Load() {
		pc.nc.SetReadDeadline(aLongTimeAgo) // a cancellation meanwhile must win
	}
	pc.dlMu.Unlock()
	if n > 0 {
		return n, nil
	}
	return pc.sock.Read(p)
}
