package http1

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Writing a response's end and waiting for the next request in one step.
//
// A keep-alive connection's loop used to flush the response, then read for
// the next request: a read that nearly always found nothing yet (the
// client had not seen the response), then a wait, then the read that got
// the request — about 0.9 system calls per request for nothing, 3% of the
// proxy's CPU on a GET. On a connection that can wait first (a plain TCP
// socket under sockio), the response buffer's last write is held instead,
// and the next read makes it inside the wait (sockio.WriteRead): a client
// that waits for the response before sending its next request cannot have
// sent it before, so waiting without a read first misses nothing.
//
// A client that pipelines may have sent it before. Bytes read together
// with the last request are in the buffer and served from there. Bytes
// that arrived later, while the handler ran, have woken the runtime's
// poller already, which forgets that when the wait starts: nothing would
// wake it but the idle hold's deadline. The stale watch below finds such a
// wait within two ticks and wakes it, and the read then tries the socket
// first.

// waitFirstConn is a connection that can write and then wait for what
// comes next without a read first (entrypoints' plain TCP connections).
type waitFirstConn interface {
	WaitsFirst() bool
	// WriteRead writes w, calls sent once w is out, and reads into p.
	WriteRead(w, p []byte, sent func()) (written, n int, err error)
	// Readable reports bytes or a close to read, without the read lock.
	Readable() bool
}

// connWriter is what a response's buffer writes to: the connection, except
// for the write serveRequest holds back (source.holding).
type connWriter serverConn

func (cw *connWriter) Write(p []byte) (int, error) {
	c := (*serverConn)(cw)
	if c.src.holding {
		// bufio.Writer's Flush hands over its own buffer: it stays
		// untouched until written, as the buffer is kept out of its pool.
		c.src.holding = false
		c.src.final = p
		return len(p), nil
	}
	return c.rwc.Write(p)
}

// writeAndRead writes the held response end and reads the next request's
// first bytes, waiting first.
func (s *source) writeAndRead(p []byte) (int, error) {
	final := s.final
	s.final = nil
	written, n, err := s.wf.WriteRead(final, p, s.sent)
	if s.finalBuf != nil {
		s.releaseFinal() // the write failed before the wait
	}
	claimed := s.waitState.Swap(notWaiting) == staleClaimed
	if written < len(final) {
		// The response did not go out (a write timeout, a reset): the
		// connection ends. Not reported as a timeout, which the caller
		// would take for a quiet client.
		return 0, fmt.Errorf("http1: writing the end of a response: %v", err)
	}
	if !claimed {
		return n, err
	}
	// The stale watch woke the wait: what it saw came before it began.
	s.dlMu.Lock()
	s.conn.SetReadDeadline(s.deadline)
	s.dlMu.Unlock()
	if n > 0 {
		return n, nil
	}
	return s.conn.Read(p)
}

func (s *source) releaseFinal() {
	s.finalBuf.Reset(nil)
	writerPool.Put(s.finalBuf)
	s.finalBuf = nil
}

// flushFinal writes a held response end as a plain write, for the paths
// that do not wait for a request next; false when the write failed.
func (c *serverConn) flushFinal() bool {
	if c.src.final == nil {
		return true
	}
	_, err := c.rwc.Write(c.src.final)
	c.src.final = nil
	c.src.releaseFinal()
	return err == nil
}

// waitBegins is WriteRead's sent hook: the response is out and the
// connection idle. Its buffer goes back to the pool now, not when the
// next request comes: an idle connection holds no write buffer. (WriteRead
// no longer looks at the bytes once written.) Shutdown closes idle
// connections; one that began draining before this saw the connection
// busy, so it is ended here.
func (c *serverConn) waitBegins() {
	c.src.releaseFinal()
	c.state.Store(stateIdle)
	if c.srv.draining.Load() && c.state.CompareAndSwap(stateIdle, stateClosed) {
		c.rwc.SetReadDeadline(aLongTimeAgo) // awaitRequest sees stateClosed
		return
	}
	c.src.waits++
	c.src.waitState.Store(c.src.waits)
	watchWait(c, c.src.waits)
}

// The stale watch. Every staleTick it peeks once at the waits that began
// in the tick before and still go on: anything that arrived after a wait
// began would have woken it, so bytes or a close there to read arrived
// before, and the watch wakes the wait with a deadline in the past. The
// request path pays a lock and an append; a peek is made only for a wait
// that lasts a tick or more, in place of the read the client's connection
// used to make before every wait.
const staleTick = 50 * time.Millisecond

// waitState values besides a wait's number (1 and up).
const (
	notWaiting   = 0
	staleClaimed = -1
)

type staleWait struct {
	c *serverConn
	n int64
}

var stale struct {
	mu      sync.Mutex
	fresh   []staleWait // waits begun since the last tick
	running bool
}

// Counted for tests: peeks made, and waits woken.
var stalePeeks, staleWakes atomic.Int64

func watchWait(c *serverConn, n int64) {
	stale.mu.Lock()
	stale.fresh = append(stale.fresh, staleWait{c, n})
	if !stale.running {
		stale.running = true
		go staleLoop()
	}
	stale.mu.Unlock()
}

// staleLoop runs while waits are being registered.
func staleLoop() {
	t := time.NewTicker(staleTick)
	defer t.Stop()
	var aged []staleWait
	for range t.C {
		for _, w := range aged {
			w.c.checkWait(w.n)
		}
		clear(aged) // no connection kept alive by the list
		stale.mu.Lock()
		if len(stale.fresh) == 0 {
			stale.running = false
			stale.mu.Unlock()
			return
		}
		aged, stale.fresh = stale.fresh, aged[:0]
		stale.mu.Unlock()
	}
}

// checkWait wakes wait n if it still goes on and missed something.
func (c *serverConn) checkWait(n int64) {
	s := &c.src
	if s.waitState.Load() != n {
		return
	}
	stalePeeks.Add(1)
	if !s.wf.Readable() {
		return
	}
	s.dlMu.Lock()
	if s.waitState.CompareAndSwap(n, staleClaimed) {
		staleWakes.Add(1)
		c.rwc.SetReadDeadline(aLongTimeAgo)
	}
	s.dlMu.Unlock()
}
