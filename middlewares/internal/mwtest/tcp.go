package mwtest

import (
	"errors"
	"io"
	"net"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/guan-gateway/guan/middlewares"
)

// ServeTCP runs h on a loopback listener, as an entrypoint does: every
// accepted connection is given to h and closed when ServeTCP returns. It
// returns the listener's address; the listener and the connections being
// served are closed when the test ends.
func ServeTCP(t testing.TB, h middlewares.TCPHandler) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { l.Close(); close(done) })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				stop := make(chan struct{})
				defer close(stop)
				go func() {
					select {
					case <-done: // the test ended: unblock a handler still serving
						c.Close()
					case <-stop:
					}
				}()
				defer c.Close()
				h.ServeTCP(c)
			}()
		}
	}()
	return l.Addr().String()
}

// DialFrom connects to addr from the loopback address local ("127.0.0.2";
// "" lets the system choose). Linux routes all of 127.0.0.0/8 to the
// loopback interface, so any such address works as a distinct client. The
// connection is closed when the test ends.
func DialFrom(t testing.TB, addr, local string) net.Conn {
	t.Helper()
	d := net.Dialer{Timeout: 5 * time.Second}
	if local != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(local)}
	}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial %s from %q: %v", addr, local, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// ExpectServed checks that c reaches an Echo handler: a line sent comes back.
func ExpectServed(t testing.TB, c net.Conn) {
	t.Helper()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	defer c.SetDeadline(time.Time{})
	if _, err := io.WriteString(c, "ping\n"); err != nil {
		t.Fatalf("write: %v", err)
	}
	buf := make([]byte, 5)
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "ping\n" {
		t.Fatalf("connection not served: read %q, %v", buf, err)
	}
}

// ExpectClosed checks that the gateway side closed c without sending
// anything: a read ends with EOF or a reset, not with data or a timeout.
func ExpectClosed(t testing.TB, c net.Conn) {
	t.Helper()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, "ping\n") // may fail already: the peer is gone
	n, err := c.Read(make([]byte, 16))
	switch {
	case n > 0:
		t.Fatalf("connection served (%d bytes read), want it closed", n)
	case errors.Is(err, os.ErrDeadlineExceeded):
		t.Fatal("connection still open after 5s, want it closed")
	case err == nil:
		t.Fatal("read returned nothing and no error")
	}
}

// Echo is a TCP handler that copies what it reads back to the client until
// the client stops sending, and tells the test when a connection arrives.
type Echo struct {
	Arrived chan struct{} // receives once per connection
	open    atomic.Int64
}

// NewEcho returns an Echo with room for many arrivals.
func NewEcho() *Echo { return &Echo{Arrived: make(chan struct{}, 1024)} }

// ServeTCP echoes c.
func (e *Echo) ServeTCP(c net.Conn) {
	e.open.Add(1)
	defer e.open.Add(-1)
	e.Arrived <- struct{}{}
	io.Copy(c, c)
}

// Open reports how many connections the echo is serving.
func (e *Echo) Open() int64 { return e.open.Load() }
