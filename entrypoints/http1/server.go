// Package http1 serves HTTP/1.x connections for the entrypoints.
//
// net/http's server is a large share of a proxy's cost per request: for
// every request it starts a goroutine that reads ahead to notice a client
// that went away (a failed read, a deadline reset and a wake-up each time),
// clones the response header, and allocates about twenty objects
// (BenchmarkServeGET: 19 allocations against 7 here).
// This server keeps one goroutine per connection, parses the request head
// into one string, writes the response header straight from the handler's
// map, and watches for a vanished client only when a request has been in
// the handler for a while (see watch.go).
//
// A request's context is its connection's: it is canceled when the client
// leaves or the connection ends, not when the handler returns (see
// serverConn.ctx).
//
// It serves the common requests: bodiless or with a Content-Length body.
// A connection whose request needs more — a chunked body, Expect:
// 100-continue, a protocol upgrade, CONNECT, "*" or HTTP/2 with prior
// knowledge — is handed over, with the bytes already read, to Fallback
// (net/http's server) for the rest of its life.
package http1

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/guan-gateway/guan/cancelhook"
)

// Server serves HTTP/1.x connections given to ServeConn.
type Server struct {
	Handler http.Handler
	// ReadTimeout bounds reading a whole request from its first byte (and
	// the wait for the first request of a connection); 0: none.
	ReadTimeout time.Duration
	// WriteTimeout bounds writing a response, from the end of the
	// request's header; 0: none.
	WriteTimeout time.Duration
	// IdleTimeout bounds the wait for the next request; 0: ReadTimeout.
	IdleTimeout time.Duration
	// MaxHeaderBytes bounds the request line and header fields (431).
	MaxHeaderBytes int
	// ConnContext derives the base context of a connection's requests.
	ConnContext func(context.Context, net.Conn) context.Context
	// RequestContext, when set, derives each request's context from the
	// connection's (to attach per-request state in the same allocation as
	// the request).
	RequestContext func(context.Context) context.Context
	// Fallback takes over a connection this server does not serve
	// further; pending are the bytes already read from it, to be read
	// first, and tlsState its TLS state (nil for plain connections).
	Fallback func(c net.Conn, pending []byte, tlsState *tls.ConnectionState)
	// Log receives panics and protocol errors (debug level).
	Log *slog.Logger

	mu       sync.Mutex
	conns    map[*serverConn]struct{}
	draining atomic.Bool
}

// Connection states, for Shutdown: only idle connections are closed.
const (
	stateActive int32 = iota
	stateIdle
	stateClosed
)

// DefaultMaxHeaderBytes applies when MaxHeaderBytes is 0.
const DefaultMaxHeaderBytes = 1 << 20

// maxKeptHead: request-head buffers larger than this are dropped after
// the request rather than kept for the connection's next one.
const maxKeptHead = 8 << 10

// maxDiscard is how much of an unread request body is read and dropped to
// keep the connection; more and the connection is closed (as net/http).
const maxDiscard = 256 << 10

var (
	readerPool = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 4096) }}
	writerPool = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 4096) }}
)

// ServeConn serves c until it closes, fails, is handed to Fallback, or
// Shutdown closes it while idle. tlsState is c's TLS state (handshake
// done), nil for a plain connection. It returns when it is done with c;
// c is then closed or belongs to Fallback.
func (s *Server) ServeConn(c net.Conn, tlsState *tls.ConnectionState) {
	sc := &serverConn{srv: s, rwc: c, tls: tlsState, remoteAddr: c.RemoteAddr().String()}
	sc.src.conn = c
	if wf, ok := c.(waitFirstConn); ok && wf.WaitsFirst() {
		sc.src.wf = wf
		sc.src.sent = sc.waitBegins
	}
	sc.br = readerPool.Get().(*bufio.Reader)
	sc.br.Reset(&sc.src)
	sc.resp.c = sc
	sc.resp.header = make(http.Header)
	sc.state.Store(stateIdle)
	ctx := context.Background()
	if s.ConnContext != nil {
		ctx = s.ConnContext(ctx, c)
	}
	sc.ctx, sc.cancel = cancelhook.WithCancel(ctx) // the upstream exchange watches it through the slot
	defer sc.cancel()
	if !s.track(sc, true) {
		c.Close()
		return
	}
	handedOff := sc.serve()
	sc.flushFinal()
	s.track(sc, false)
	sc.stopWatch()
	if sc.watchTimer != nil {
		sc.watchTimer.Stop()
	}
	if !handedOff {
		sc.state.Store(stateClosed)
		c.Close()
	}
	sc.br.Reset(nil)
	readerPool.Put(sc.br)
	sc.br = nil
}

func (s *Server) track(sc *serverConn, add bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !add {
		delete(s.conns, sc)
		return true
	}
	if s.draining.Load() {
		return false
	}
	if s.conns == nil {
		s.conns = make(map[*serverConn]struct{})
	}
	s.conns[sc] = struct{}{}
	return true
}

// Shutdown stops serving new requests: idle connections are closed now,
// the others after the response in flight (with Connection: close). It
// does not wait; the entrypoint tracks the connections until they close.
func (s *Server) Shutdown() {
	s.draining.Store(true)
	s.mu.Lock()
	var idle []*serverConn
	for sc := range s.conns {
		if sc.state.CompareAndSwap(stateIdle, stateClosed) {
			idle = append(idle, sc)
		}
	}
	s.mu.Unlock()
	for _, sc := range idle {
		sc.rwc.Close()
	}
}

func (s *Server) maxHeaderBytes() int {
	if s.MaxHeaderBytes > 0 {
		return s.MaxHeaderBytes
	}
	return DefaultMaxHeaderBytes
}

// serverConn is one connection's state; the request, response and body
// objects are reused from one request to the next.
type serverConn struct {
	srv        *Server
	rwc        net.Conn
	src        source
	br         *bufio.Reader
	bw         *bufio.Writer // held while a response is written
	tls        *tls.ConnectionState
	remoteAddr string
	// ctx is every request's context: it is canceled when the client
	// leaves (seen by the watch) or the connection ends — not when a
	// handler returns, which saves a context, its channel and its
	// children map per request. Handlers wait for what they start, and
	// what outlives a request detaches (context.WithoutCancel).
	ctx    context.Context
	cancel context.CancelFunc
	state  atomic.Int32

	raw  []byte // the current request head as read
	norm []byte // its lines without CR, '\n'-separated

	resp response
	body *body // the current request's, nil without one
	// header is the last request's header map, emptied and reused for the
	// next: like resp's, it is not to be touched once the handler returned.
	header http.Header

	watchMu     sync.Mutex
	watchTimer  *time.Timer
	timerSet    bool   // watchTimer will fire
	armings     uint64 // times armWatch armed the watch
	armingsSeen uint64 // armings when watchTimer was last set by startWatch
	watchArmed  bool
	watching    bool
	watchDone   chan struct{}
	aborted     bool // the watch was stopped by us
	gone        bool // the watch saw the client leave
}

// source is what the buffered reader reads: the connection, after a byte
// the disconnect watch read ahead (which belongs to the next request).
//
// It also sets the read deadline of the request being read, lazily: only
// when a read has to go to the socket. A request that arrived whole with
// its first read (the common case) changes no timer; the deadline a quiet
// connection waits with stays set for the next wait.
type source struct {
	conn    net.Conn
	ahead   [1]byte
	hasByte bool

	due        time.Time // the request's read deadline (zero: none)
	duePending bool      // due is still to be set on conn
	holdUntil  time.Time // the idle-hold deadline set on conn; zero when another replaced it
	deadline   time.Time // the read deadline last set on conn through source

	// Held response ends (waitfirst.go): wf is the connection when it
	// can wait first, final the end of the last response, still to be
	// written by the next read, in finalBuf (back to its pool once
	// written).
	wf       waitFirstConn
	sent     func() // the serverConn's waitBegins, bound once
	holding  bool   // the response buffer's next write is held
	final    []byte
	finalBuf *bufio.Writer

	// The wait for the next request, for the stale watch (waitfirst.go):
	// notWaiting, a wait's number, or staleClaimed.
	waitState atomic.Int64
	waits     int64
	dlMu      sync.Mutex // orders the watch's deadline against the restore
}

func (s *source) Read(p []byte) (int, error) {
	if s.hasByte && len(p) > 0 {
		p[0] = s.ahead[0]
		s.hasByte = false
		return 1, nil
	}
	if s.duePending {
		s.duePending = false
		s.conn.SetReadDeadline(s.due)
		s.deadline = s.due
		s.holdUntil = time.Time{}
	}
	if s.final != nil {
		return s.writeAndRead(p)
	}
	return s.conn.Read(p)
}

// requestDeadline gives the request being read d (0: no limit) from now,
// set on the connection if and when a read needs the socket.
func (s *source) requestDeadline(d time.Duration) {
	s.due = time.Time{}
	if d > 0 {
		s.due = time.Now().Add(d)
	}
	s.duePending = true
}

// setDeadline sets a read deadline on the connection now.
func (s *source) setDeadline(t time.Time) error {
	s.deadlineChanged()
	s.deadline = t
	return s.conn.SetReadDeadline(t)
}

// deadlineChanged notes that the connection's read deadline was set
// elsewhere.
func (s *source) deadlineChanged() {
	s.duePending = false
	s.holdUntil = time.Time{}
}

// serve runs the request loop; true when the connection went to Fallback.
func (c *serverConn) serve() (handedOff bool) {
	s := c.srv
	first := true
	for {
		// Wait for the next request (bounded by the idle timeout), then
		// give it ReadTimeout from its first byte.
		wait := s.IdleTimeout
		if first || wait == 0 {
			wait = s.ReadTimeout
		}
		if !c.awaitRequest(wait) {
			return false // closed, timed out or reset while idle
		}
		// Idle, or still active when a pipelined request followed the
		// last response at once.
		if c.state.Swap(stateActive) == stateClosed {
			return false // Shutdown closed it
		}
		c.src.requestDeadline(s.ReadTimeout)
		req, fallback, perr := c.readRequest()
		if perr != nil {
			c.reject(perr)
			return false
		}
		if fallback {
			return c.handOff()
		}
		first = false
		if s.WriteTimeout > 0 {
			c.rwc.SetWriteDeadline(time.Now().Add(s.WriteTimeout))
		}
		keep := c.serveRequest(req)
		if !keep || s.draining.Load() {
			return false
		}
		if cap(c.raw) > maxKeptHead {
			// One large request must not make an idle connection hold
			// its buffers for good (a gateway may hold many idle ones).
			c.raw, c.norm = nil, nil
		}
		if c.src.final != nil {
			continue // idle once the response is out (waitBegins)
		}
		c.state.Store(stateIdle)
		if s.draining.Load() && c.state.CompareAndSwap(stateIdle, stateClosed) {
			return false
		}
	}
}

// idleHold is how long a quiet connection keeps its read buffer; after
// that it waits for its next request with a one-byte read and no buffer
// (a mobile gateway holds many connections that are idle for minutes).
const idleHold = 2 * time.Second

// awaitRequest waits up to wait (0: no limit) for the first byte of the
// next request; false when the connection closed, failed or timed out.
func (c *serverConn) awaitRequest(wait time.Duration) bool {
	c.src.duePending = false // the last request's, unused
	if c.br.Buffered() > 0 || c.src.hasByte {
		return c.flushFinal() // pipelined; not after a failed response
	}
	start := time.Now()
	hold := idleHold
	if wait > 0 && wait < hold {
		hold = wait
	}
	switch {
	case hold != idleHold:
		c.src.setDeadline(start.Add(hold)) // the idle timeout: exact
	case c.src.holdUntil.Sub(start) < idleHold*3/4:
		// The buffer goes back after 1.5 to 2 s of quiet: a busy
		// connection re-arms this deadline about every half second, not
		// before every request.
		c.src.setDeadline(start.Add(hold))
		c.src.holdUntil = start.Add(hold)
	}
	_, err := c.br.Peek(1)
	if err == nil {
		return true
	}
	if !isTimeout(err) || hold == wait || c.state.Load() == stateClosed {
		return false
	}
	// Quiet for a while: the buffer goes back to the pool until the client
	// speaks again, at the cost of one more read then.
	c.br.Reset(nil)
	readerPool.Put(c.br)
	c.br = nil
	c.header = nil
	if wait > 0 {
		c.src.setDeadline(start.Add(wait))
	} else {
		c.src.setDeadline(time.Time{})
	}
	n, _ := c.src.conn.Read(c.src.ahead[:])
	c.br = readerPool.Get().(*bufio.Reader)
	c.br.Reset(&c.src)
	if n == 1 {
		c.src.hasByte = true
		return true
	}
	return false
}

func (c *serverConn) setReadDeadline(d time.Duration) {
	if d > 0 {
		c.src.setDeadline(time.Now().Add(d))
	} else {
		c.src.setDeadline(time.Time{})
	}
}

// serveRequest runs the handler for req and completes the response; it
// reports whether the connection can carry another request.
func (c *serverConn) serveRequest(req *http.Request) (keep bool) {
	w := &c.resp
	w.reset(req)
	c.bw = writerPool.Get().(*bufio.Writer)
	c.bw.Reset((*connWriter)(c))
	if req.ContentLength == 0 {
		c.armWatch()
	}
	panicked := c.runHandler(w, req)
	// The body first: a reader the handler left behind gets an error from
	// now on, and cannot arm the watch while the next request is read.
	var unread int64
	bodyFailed := false
	if c.body != nil {
		unread, bodyFailed = c.body.finish()
		c.body = nil
	}
	c.stopWatch()
	if !panicked {
		w.finish()
		c.src.holding = c.src.wf != nil && !w.closeAfter
		if err := c.bw.Flush(); err != nil && w.err == nil {
			w.err = err
		}
		c.src.holding = false
	}
	if c.src.final != nil {
		c.src.finalBuf = c.bw // final lives in it
	} else {
		c.bw.Reset(nil)
		writerPool.Put(c.bw)
	}
	c.bw = nil
	if panicked || w.err != nil || w.closeAfter || c.gone || bodyFailed || unread > maxDiscard {
		return false // ServeConn writes what is held
	}
	// What the handler left of the body is read and dropped, within
	// reason, so that the next request starts where it should. It may be
	// there already: the response goes out first, as a plain write, and
	// the rest of the body is read trying the socket first.
	if unread > 0 {
		if !c.flushFinal() {
			return false
		}
		c.setReadDeadline(c.srv.ReadTimeout)
		if _, err := c.br.Discard(int(unread)); err != nil {
			return false
		}
	}
	return true
}

func (c *serverConn) runHandler(w *response, req *http.Request) (panicked bool) {
	defer func() {
		if p := recover(); p != nil {
			panicked = true
			if p == http.ErrAbortHandler {
				return
			}
			if c.srv.Log != nil {
				buf := make([]byte, 64<<10)
				buf = buf[:runtime.Stack(buf, false)]
				c.srv.Log.Error("panic serving request", "remote", c.remoteAddr, "panic", fmt.Sprint(p), "stack", string(buf))
			}
		}
	}()
	c.srv.Handler.ServeHTTP(w, req)
	return false
}

// reject answers a request that cannot be parsed and closes.
func (c *serverConn) reject(err error) {
	var pe *protocolError
	if !errors.As(err, &pe) {
		return // a read error: nobody to answer
	}
	if c.srv.Log != nil {
		c.srv.Log.Debug("rejecting HTTP/1.x request", "remote", c.remoteAddr, "status", pe.status, "error", pe.msg)
	}
	c.rwc.SetWriteDeadline(time.Now().Add(time.Second))
	text := http.StatusText(pe.status)
	fmt.Fprintf(c.rwc, "HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n%d %s", pe.status, text, pe.status, text)
}

// handOff gives the connection to Fallback with the current request's
// bytes and whatever followed them.
func (c *serverConn) handOff() bool {
	if c.srv.Fallback == nil {
		c.reject(&protocolError{status: http.StatusNotImplemented, msg: "request needs a server feature this entrypoint lacks"})
		return false
	}
	pending := append([]byte(nil), c.raw...)
	if n := c.br.Buffered(); n > 0 {
		b, _ := c.br.Peek(n)
		pending = append(pending, b...)
	}
	c.src.setDeadline(time.Time{})
	c.flushFinal()
	c.srv.Fallback(c.rwc, pending, c.tls)
	return true
}

// protocolError is a malformed request: answered with status, then the
// connection is closed.
type protocolError struct {
	status int
	msg    string
}

func (e *protocolError) Error() string { return e.msg }

func badRequest(format string, args ...any) error {
	return &protocolError{status: http.StatusBadRequest, msg: fmt.Sprintf(format, args...)}
}

// isTimeout reports a deadline error.
func isTimeout(err error) bool { return errors.Is(err, os.ErrDeadlineExceeded) }
