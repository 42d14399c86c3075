// Package svctest holds helpers for services tests: real TCP listeners on
// 127.0.0.1, a TCP echo upstream and stand-in child services. Helpers that
// take a testing.TB stop the test on failure, so call them from the test's
// own goroutine.
package svctest

import (
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

// Listen returns a loopback listener on a free port, closed when the test
// ends.
func Listen(t testing.TB) net.Listener {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// Accept hands every connection l accepts to handle, each in its own
// goroutine, until l is closed.
func Accept(l net.Listener, handle func(net.Conn)) {
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go handle(c)
		}
	}()
}

// Serve accepts connections on a fresh loopback listener, hands them to
// handle and returns the listener's address.
func Serve(t testing.TB, handle func(net.Conn)) string {
	t.Helper()
	l := Listen(t)
	Accept(l, handle)
	return l.Addr().String()
}

// ServeTCP is Serve for a TCP handler.
func ServeTCP(t testing.TB, h interface{ ServeTCP(net.Conn) }) string {
	t.Helper()
	return Serve(t, h.ServeTCP)
}

// Echo answers each connection, once the client has half-closed it, with
// prefix followed by everything the client sent, then closes it — the
// exchange half-close support must preserve.
func Echo(prefix string) func(net.Conn) {
	return func(c net.Conn) {
		defer c.Close()
		b, _ := io.ReadAll(c) // until the client's EOF
		c.Write(append([]byte(prefix), b...))
	}
}

// Exchange dials addr, sends msg, half-closes and returns all that comes
// back until the server closes.
func Exchange(t testing.TB, addr, msg string) (string, error) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, msg); err != nil {
		return "", err
	}
	c.(*net.TCPConn).CloseWrite()
	b, err := io.ReadAll(c)
	return string(b), err
}

// ClosedAddr returns a loopback address nobody listens on (yet).
func ClosedAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// Child is a child service for composite services: it answers with its name
// and reports the health it was given.
type Child struct {
	name    string
	healthy bool
}

// NewChild returns a child named name.
func NewChild(name string, healthy bool) *Child { return &Child{name, healthy} }

// Healthy reports the health the child was given.
func (c *Child) Healthy() bool { return c.healthy }

// ServeHTTP answers with the child's name.
func (c *Child) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	io.WriteString(w, c.name)
}
