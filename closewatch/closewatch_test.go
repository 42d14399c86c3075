//go:build linux

package closewatch

import (
	"net"
	"syscall"
	"testing"
	"time"
)

// pair returns the two ends of a loopback TCP connection, the first one
// watched.
func pair(t *testing.T) (*net.TCPConn, *net.TCPConn, *Entry) {
	t.Helper()
	c, s := tcpPair(t)
	return c, s, watchConn(t, c)
}

// tcpPair returns the client and server ends of a loopback connection.
func tcpPair(t *testing.T) (*net.TCPConn, *net.TCPConn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	s, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(); s.Close() })
	return c.(*net.TCPConn), s.(*net.TCPConn)
}

func watchConn(t *testing.T, c *net.TCPConn) *Entry {
	t.Helper()
	rc, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	e, err := Watch(rc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Stop)
	return e
}

func waitClosed(t *testing.T, e *Entry) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for !e.Closed() {
		if time.Now().After(deadline) {
			t.Fatal("the peer's close was not reported in 3s")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestReportsClose(t *testing.T) {
	for _, tc := range []struct {
		name  string
		close func(s *net.TCPConn)
	}{
		{"close", func(s *net.TCPConn) { s.Close() }},
		{"half-close (lingering close)", func(s *net.TCPConn) { s.CloseWrite() }},
		{"reset", func(s *net.TCPConn) { s.SetLinger(0); s.Close() }},
		{"close after unread bytes", func(s *net.TCPConn) { s.Write([]byte("HTTP/1.1 408 Request Timeout\r\n\r\n")); s.Close() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, s, e := pair(t)
			if e.Closed() {
				t.Fatal("reported closed before any close")
			}
			tc.close(s)
			waitClosed(t, e)
		})
	}
}

// TestDataDoesNotWake: responses on a watched connection cost nothing:
// the watch is not woken by data, only by the close.
func TestDataDoesNotWake(t *testing.T) {
	c, s, e := pair(t)
	time.Sleep(20 * time.Millisecond) // let earlier tests' events drain
	before := wakes.Load()
	buf := make([]byte, 64)
	for range 200 {
		if _, err := s.Write([]byte("HTTP/1.1 200 OK\r\n\r\n")); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Read(buf); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Write([]byte("GET / HTTP/1.1\r\n\r\n")); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Read(buf); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(20 * time.Millisecond)
	if n := wakes.Load() - before; n != 0 {
		t.Fatalf("data woke the watch %d times", n)
	}
	if e.Closed() {
		t.Fatal("data reported as a close")
	}
	s.Close()
	waitClosed(t, e)
	if wakes.Load() == before {
		t.Fatal("the close was reported without a wake-up")
	}
}

// TestCloseBeforeWatch: a close that arrived before the registration is
// reported by it.
func TestCloseBeforeWatch(t *testing.T) {
	c, s := tcpPair(t)
	s.Close()
	// Read the EOF through a peek so the FIN has surely arrived.
	rc, _ := c.SyscallConn()
	deadline := time.Now().Add(3 * time.Second)
	for {
		var n int
		var perr error
		rc.Control(func(fd uintptr) {
			n, _, perr = syscall.Recvfrom(int(fd), make([]byte, 1), syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		})
		if perr == nil && n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no FIN in 3s")
		}
		time.Sleep(time.Millisecond)
	}
	waitClosed(t, watchConn(t, c))
}

// TestStop: a stopped entry leaves the registry, and its socket's later
// close is not reported to it.
func TestStop(t *testing.T) {
	n0 := Watched()
	_, s, e := pair(t)
	if Watched() != n0+1 {
		t.Fatalf("registered: %d, want %d", Watched(), n0+1)
	}
	e.Stop()
	if Watched() != n0 {
		t.Fatalf("after Stop: %d, want %d", Watched(), n0)
	}
	s.Close()
	time.Sleep(50 * time.Millisecond)
	if e.Closed() {
		t.Fatal("a stopped entry was reported closed")
	}
}

// TestWatchFails: a socket that cannot be registered (here, closed
// already) gives an error and leaves nothing registered.
func TestWatchFails(t *testing.T) {
	c, _ := tcpPair(t)
	rc, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	n0 := Watched()
	if e, err := Watch(rc); err == nil {
		e.Stop()
		t.Fatal("a closed socket was registered")
	}
	if Watched() != n0 {
		t.Fatalf("registered after a failure: %d, want %d", Watched(), n0)
	}
}

// TestManyConnections: each close is reported to its own entry only.
func TestManyConnections(t *testing.T) {
	const n = 200
	servers := make([]*net.TCPConn, n)
	entries := make([]*Entry, n)
	for i := range n {
		_, servers[i], entries[i] = pair(t)
	}
	for i := 0; i < n; i += 2 {
		servers[i].Close()
	}
	for i := 0; i < n; i += 2 {
		waitClosed(t, entries[i])
	}
	time.Sleep(20 * time.Millisecond)
	for i := 1; i < n; i += 2 {
		if entries[i].Closed() {
			t.Fatalf("entry %d reported closed; its peer is open", i)
		}
	}
}
