package h1transport

import (
	"io"
	"sync"
	"time"
)

// The stale watch. A request waits for its response with
// sockio.WriteRead, which cannot see a close by the server that arrived
// before the request went out: a bodiless idempotent request skips the
// liveness peek on a connection idle for under a second, and after the peek
// reading the client's body may take a while. A server that closed for good
// answers the request with a reset, which wakes the wait; one that only
// half-closed the connection and goes on reading, discarding what comes
// (Apache httpd's lingering close, at its keep-alive timeout or in a
// graceful restart), sends nothing at all. The watch finds such waits:
// every staleTick it stamps the waits it has not seen yet and peeks at
// those it stamped a tick or more before; a connection the server has
// closed gets a deadline in the past, which wakes its exchange: the
// request goes again on a fresh connection when it may be (a reused
// connection, nothing read yet, a request that can be resent), else it
// fails as with any close before the response. The request path pays two
// atomic operations; peeks are made only for waits that last.
const staleTick = 50 * time.Millisecond

// conn.waiting values.
const (
	notWaiting    = 0
	waitingUnseen = 1  // since a moment the watch has not stamped yet
	staleClaimed  = -1 // the watch found the server gone and set the deadline
	// Anything else: the number of the tick that first saw the wait.
)

var stale struct {
	mu      sync.Mutex
	conns   map[*conn]struct{}
	running bool
	tick    int64
}

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
		tick := stale.tick + 1 // never waitingUnseen
		due = due[:0]
		for pc := range stale.conns {
			switch v := pc.waiting.Load(); {
			case v == waitingUnseen:
				pc.waiting.CompareAndSwap(waitingUnseen, tick)
			case v > waitingUnseen && tick-v >= 2:
				due = append(due, pc)
			}
		}
		stale.mu.Unlock()
		for _, pc := range due {
			pc.wakeIfClosed()
		}
		clear(due)
	}
}

// wakeIfClosed ends a wait the server cannot answer any more.
func (pc *conn) wakeIfClosed() {
	v := pc.waiting.Load()
	if v <= waitingUnseen || !pc.peerClosed() {
		return
	}
	pc.dlMu.Lock()
	if pc.waiting.CompareAndSwap(v, staleClaimed) {
		pc.nc.SetReadDeadline(aLongTimeAgo)
	}
	pc.dlMu.Unlock()
}

// endWait ends a wait that the watch may have claimed. n is what the wait
// read: after a claim it is normally nothing, and the exchange reports the
// server's close, so that the request is sent again. A response read in the
// instant before the claim is kept, and the deadline undone.
func (pc *conn) endWait(n int, err error) (int, error) {
	if pc.waiting.Swap(notWaiting) != staleClaimed {
		return n, err
	}
	pc.closeAfter = true
	if n == 0 {
		return 0, io.EOF
	}
	pc.dlMu.Lock()
	switch {
	case pc.canceled.Load():
	case pc.hdrWaiting:
		pc.setHeaderDeadline()
	default:
		pc.nc.SetReadDeadline(time.Time{})
	}
	pc.dlMu.Unlock()
	return n, nil
}
