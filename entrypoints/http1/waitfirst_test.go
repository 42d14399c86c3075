package http1

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/guan-gateway/guan/sockio"
)

// sockConn is the connection the entrypoints give the server for plain
// TCP: read and written through sockio, able to wait first. The tests'
// server gets one wherever sockio works (not in race-detector builds),
// so every test here also covers the held response ends.
type sockConn struct {
	net.Conn
	s *sockio.Conn
}

// sockWriteReads counts response ends written inside the next wait.
var sockWriteReads atomic.Int64

func waitFirst(c net.Conn) net.Conn {
	if s := sockio.New(c); s != nil {
		return &sockConn{c, s}
	}
	return c
}

func (c *sockConn) Read(p []byte) (int, error)  { return c.s.Read(p) }
func (c *sockConn) Write(p []byte) (int, error) { return c.s.Write(p) }
func (c *sockConn) WaitsFirst() bool            { return true }
func (c *sockConn) Readable() bool              { return c.s.Readable() }
func (c *sockConn) WriteRead(w, p []byte, sent func()) (int, int, error) {
	sockWriteReads.Add(1)
	return c.s.WriteRead(w, p, sent)
}

func needWaitFirst(t *testing.T) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, ok := waitFirst(c).(*sockConn); !ok {
		t.Skip("sockio is off (race-detector build, or not Linux): connections cannot wait first; the run without -race covers this")
	}
}

// Each keep-alive response ends inside the wait for the next request,
// and every request still gets its own response.
func TestResponseEndWrittenWithNextWait(t *testing.T) {
	needWaitFirst(t)
	s := serve(t, http.HandlerFunc(hello), nil)
	c, br := dialServed(t, s)
	before := sockWriteReads.Load()
	const n = 50
	for i := range n {
		path := "/r" + strings.Repeat("x", i)
		io.WriteString(c, "GET "+path+" HTTP/1.1\r\nHost: h\r\n\r\n")
		res, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		b, _ := io.ReadAll(res.Body)
		if string(b) != "hello GET "+path+" h" {
			t.Fatalf("request %d: %q", i, b)
		}
	}
	if got := sockWriteReads.Load() - before; got < n {
		t.Fatalf("%d of %d responses were written with the wait for the next request", got, n)
	}
}

// A pipelined request that arrives on its own while the handler runs has
// woken the poller before the wait began; the stale watch finds it, long
// before the idle hold (2 s) would.
func TestPipelinedRequestDuringHandlerNotStalled(t *testing.T) {
	needWaitFirst(t)
	s := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			time.Sleep(30 * time.Millisecond)
		}
		hello(w, r)
	}), nil)
	wakes := staleWakes.Load()
	for i := range 5 {
		c, br := dialServed(t, s)
		io.WriteString(c, "GET /slow HTTP/1.1\r\nHost: h\r\n\r\n")
		time.Sleep(10 * time.Millisecond) // in the handler now
		start := time.Now()
		io.WriteString(c, "GET /next HTTP/1.1\r\nHost: h\r\n\r\n")
		for _, want := range []string{"hello GET /slow h", "hello GET /next h"} {
			res, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatalf("round %d: %v", i, err)
			}
			if b, _ := io.ReadAll(res.Body); string(b) != want {
				t.Fatalf("round %d: %q, want %q", i, b, want)
			}
		}
		if d := time.Since(start); d > idleHold/2 {
			t.Fatalf("round %d: the pipelined request was answered after %v: its wait missed it", i, d)
		}
		c.Close()
	}
	if staleWakes.Load() == wakes {
		t.Fatal("the stale watch never woke a wait: the case was not produced")
	}
}

// A client's close that came while the handler ran, before the wait, ends
// the connection soon, not at the idle timeout.
func TestCloseDuringHandlerSeen(t *testing.T) {
	needWaitFirst(t)
	done := make(chan struct{})
	s := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(30 * time.Millisecond)
		hello(w, r)
	}), func(s *Server) { s.IdleTimeout = time.Minute })
	c, err := net.Dial("tcp", s.addr)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(c, "GET /a HTTP/1.1\r\nHost: h\r\n\r\n")
	c.(*net.TCPConn).CloseWrite() // half-closed: the response can still be read
	go func() {
		defer close(done)
		io.ReadAll(bufio.NewReader(c))
	}()
	select {
	case <-done:
	case <-time.After(idleHold / 2):
		t.Fatal("the server kept a connection its client had closed")
	}
	c.Close()
}

// Shutdown that begins once a response is committed ends the connection
// after that response, which arrives whole.
func TestShutdownAfterCommitWritesHeldEnd(t *testing.T) {
	var srv atomic.Pointer[Server]
	s := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "11")
		w.WriteHeader(200)
		w.(http.Flusher).Flush()
		srv.Load().Shutdown()
		io.WriteString(w, "hello there")
	}), nil)
	srv.Store(s.srv)
	c, err := net.Dial("tcp", s.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: h\r\n\r\n")
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	out, err := io.ReadAll(c)
	if err != nil || !strings.HasSuffix(string(out), "\r\n\r\nhello there") {
		t.Fatalf("response %q, %v (want it whole, then the close)", out, err)
	}
}

type connKey struct{}

// A response end that cannot be written within WriteTimeout (a client
// that does not read) ends the connection: it is not taken for a quiet
// client and kept until the idle timeout.
func TestHeldEndWriteTimeoutCloses(t *testing.T) {
	needWaitFirst(t)
	s := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Fill the socket with non-blocking writes, down to its last
		// bytes: not even the held end fits, and nobody reads.
		c := r.Context().Value(connKey{}).(*sockConn)
		rc, _ := c.Conn.(*net.TCPConn).SyscallConn()
		rc.Control(func(fd uintptr) {
			for _, size := range []int{64 << 10, 16} {
				b := make([]byte, size)
				for {
					if _, err := syscall.Write(int(fd), b); err != nil {
						break
					}
				}
			}
		})
		io.WriteString(w, "the end")
	}), func(s *Server) {
		s.WriteTimeout = 300 * time.Millisecond
		s.IdleTimeout = time.Minute
		s.ConnContext = func(ctx context.Context, c net.Conn) context.Context {
			return context.WithValue(ctx, connKey{}, c)
		}
	})
	c, err := net.Dial("tcp", s.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: h\r\n\r\n")
	time.Sleep(time.Second) // not reading: the write times out
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.Copy(io.Discard, c); err != nil {
		t.Fatalf("the connection was kept after its response failed: %v", err)
	}
}
