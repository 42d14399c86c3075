package sockio

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// pair returns both ends of a loopback TCP connection; the first is read
// and written through sockio (wrap, so race builds test the raw path too).
func pair(t *testing.T) (*Conn, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			close(accepted)
			return
		}
		accepted <- c
	}()
	nc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	peer := <-accepted
	if peer == nil {
		t.Fatal("accept failed")
	}
	c := wrap(nc)
	if c == nil {
		t.Fatalf("raw socket calls not available on this system for %T", nc)
	}
	t.Cleanup(func() { nc.Close(); peer.Close() })
	return c, peer
}

func TestReadWriteBothWays(t *testing.T) {
	c, peer := pair(t)
	if _, err := c.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 4)
	if _, err := io.ReadFull(peer, got); err != nil || string(got) != "ping" {
		t.Fatalf("peer read %q, %v", got, err)
	}
	if _, err := peer.Write([]byte("pong")); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(c, got); err != nil || string(got) != "pong" {
		t.Fatalf("read %q, %v", got, err)
	}
}

// A write larger than the socket buffers must wait for the reader and
// still deliver every byte, in order.
func TestWriteLargerThanSocketBuffer(t *testing.T) {
	c, peer := pair(t)
	want := make([]byte, 16<<20)
	for i := range want {
		want[i] = byte(i * 7)
	}
	got := make(chan []byte, 1)
	go func() {
		time.Sleep(50 * time.Millisecond) // let the socket fill up first
		b, _ := io.ReadAll(peer)
		got <- b
	}()
	n, err := c.Write(want)
	if err != nil || n != len(want) {
		t.Fatalf("Write = %d, %v; want %d, nil", n, err, len(want))
	}
	c.nc.(*net.TCPConn).CloseWrite()
	if b := <-got; !bytes.Equal(b, want) {
		t.Fatalf("peer received %d bytes, not the %d written", len(b), len(want))
	}
}

func TestReadDeadline(t *testing.T) {
	c, _ := pair(t)
	c.nc.SetReadDeadline(time.Now().Add(30 * time.Millisecond))
	start := time.Now()
	_, err := c.Read(make([]byte, 8))
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Read after the deadline = %v; want a timeout", err)
	}
	var oe *net.OpError
	if !errors.As(err, &oe) || oe.Op != "read" {
		t.Fatalf("error %v is not labelled as a read", err)
	}
	if waited := time.Since(start); waited > 2*time.Second {
		t.Fatalf("Read returned after %v", waited)
	}
}

func TestEOFWhenPeerCloses(t *testing.T) {
	c, peer := pair(t)
	peer.Write([]byte("last"))
	peer.Close()
	b, err := io.ReadAll(c)
	if err != nil || string(b) != "last" {
		t.Fatalf("ReadAll = %q, %v; want \"last\", nil", b, err)
	}
	if n, err := c.Read(make([]byte, 1)); n != 0 || err != io.EOF {
		t.Fatalf("Read after EOF = %d, %v", n, err)
	}
}

// Writing to a connection the peer reset fails with an error; it must not
// raise SIGPIPE.
func TestWriteAfterResetFails(t *testing.T) {
	c, peer := pair(t)
	peer.(*net.TCPConn).SetLinger(0) // close with RST
	peer.Close()
	var err error
	for range 100 {
		if _, err = c.Write(make([]byte, 1024)); err != nil {
			break
		}
		time.Sleep(time.Millisecond)
	}
	if !errors.Is(err, syscall.ECONNRESET) && !errors.Is(err, syscall.EPIPE) {
		t.Fatalf("Write after reset = %v; want ECONNRESET or EPIPE", err)
	}
}

func TestCloseUnblocksRead(t *testing.T) {
	c, _ := pair(t)
	done := make(chan error, 1)
	go func() {
		_, err := c.Read(make([]byte, 8))
		done <- err
	}()
	time.Sleep(20 * time.Millisecond)
	c.nc.Close()
	select {
	case err := <-done:
		if !errors.Is(err, net.ErrClosed) {
			t.Fatalf("Read on a closed connection = %v; want net.ErrClosed", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Read still blocked after Close")
	}
}

func TestOnlyTCP(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	if wrap(a) != nil {
		t.Fatal("a net.Pipe end was wrapped; only TCP sockets can be")
	}
}

// echoPeer answers every 4-byte request with the same 4 bytes, after
// delay, until the connection closes.
func echoPeer(peer net.Conn, delay time.Duration) {
	req := make([]byte, 4)
	for {
		if _, err := io.ReadFull(peer, req); err != nil {
			return
		}
		time.Sleep(delay)
		if _, err := peer.Write(req); err != nil {
			return
		}
	}
}

// Every answer wakes WriteRead, whether it is there at once or comes
// later: waiting without a read first must never miss one.
func TestWriteReadExchanges(t *testing.T) {
	for _, delay := range []time.Duration{0, 200 * time.Microsecond} {
		c, peer := pair(t)
		go echoPeer(peer, delay)
		c.nc.SetReadDeadline(time.Now().Add(10 * time.Second)) // a missed wake-up fails instead of hanging
		got := make([]byte, 4)
		waits := 0
		sent := func() { waits++ }
		for i := range 500 {
			req := []byte{byte(i), byte(i >> 8), 'r', 'q'}
			w, n, err := c.WriteRead(req, got, sent)
			if err != nil || w != 4 {
				t.Fatalf("delay %v, exchange %d: WriteRead = %d, %d, %v", delay, i, w, n, err)
			}
			if n < 4 {
				if _, err := io.ReadFull(c, got[n:]); err != nil {
					t.Fatal(err)
				}
			}
			if !bytes.Equal(got, req) {
				t.Fatalf("delay %v, exchange %d: answer %q to %q", delay, i, got, req)
			}
		}
		if waits != 500 {
			t.Fatalf("delay %v: sent was called %d times for 500 requests", delay, waits)
		}
	}
}

// readCalls is the process' count of read(2)-family system calls.
func readCalls(t *testing.T) int {
	b, err := os.ReadFile("/proc/self/io")
	if err != nil {
		t.Skipf("no /proc/self/io to count system calls: %v", err)
	}
	for line := range bytes.SplitSeq(b, []byte("\n")) {
		if v, ok := bytes.CutPrefix(line, []byte("syscr: ")); ok {
			n, err := strconv.Atoi(string(v))
			if err != nil {
				t.Fatalf("/proc/self/io: %q: %v", line, err)
			}
			return n
		}
	}
	t.Skip("/proc/self/io has no syscr line")
	return 0
}

// The point of WriteRead: against a server that takes a moment to answer,
// Write then Read makes a read that finds nothing before it waits;
// WriteRead does not.
func TestWriteReadSavesARead(t *testing.T) {
	const exchanges = 200
	count := func(exchange func(c *Conn, req, got []byte) error) int {
		c, peer := pair(t)
		go echoPeer(peer, 300*time.Microsecond)
		got := make([]byte, 4)
		before := readCalls(t)
		for i := range exchanges {
			if err := exchange(c, []byte{byte(i), 0, 0, 0}, got); err != nil {
				t.Fatal(err)
			}
		}
		return readCalls(t) - before
	}
	separate := count(func(c *Conn, req, got []byte) error {
		if _, err := c.Write(req); err != nil {
			return err
		}
		_, err := io.ReadFull(c, got)
		return err
	})
	together := count(func(c *Conn, req, got []byte) error {
		_, n, err := c.WriteRead(req, got, nil)
		if err == nil && n < len(got) {
			_, err = io.ReadFull(c, got[n:])
		}
		return err
	})
	// Both counts include the peer's reads, the same in both runs.
	t.Logf("read calls for %d exchanges: Write+Read %d, WriteRead %d", exchanges, separate, together)
	// The process' own other reads (the runtime's eventfd) add noise: a
	// margin of half an exchange each.
	if separate-together < exchanges/2 {
		t.Fatalf("WriteRead made %d read calls, Write and Read %d: want about one fewer per exchange (%d)", together, separate, exchanges)
	}
}

// A request the socket cannot take at once is finished as Write would,
// and the answer still read.
func TestWriteReadLargeRequest(t *testing.T) {
	c, peer := pair(t)
	want := make([]byte, 16<<20)
	for i := range want {
		want[i] = byte(i * 13)
	}
	go func() {
		time.Sleep(50 * time.Millisecond) // let the socket fill up first
		b := make([]byte, len(want))
		if _, err := io.ReadFull(peer, b); err != nil || !bytes.Equal(b, want) {
			peer.Write([]byte("bad!"))
			return
		}
		peer.Write([]byte("good"))
	}()
	got := make([]byte, 4)
	waits := 0
	w, n, err := c.WriteRead(want, got, func() { waits++ })
	if err != nil || w != len(want) {
		t.Fatalf("WriteRead = %d, %d, %v; want %d written", w, n, err, len(want))
	}
	if waits != 1 {
		t.Fatalf("sent was called %d times; want once, when the request was out", waits)
	}
	if _, err := io.ReadFull(c, got[n:]); err != nil || string(got) != "good" {
		t.Fatalf("answer %q, %v", got, err)
	}
}

func TestWriteReadErrors(t *testing.T) {
	t.Run("peer reset", func(t *testing.T) {
		c, peer := pair(t)
		peer.(*net.TCPConn).SetLinger(0)
		peer.Close()
		var err error
		for range 100 {
			if _, _, err = c.WriteRead(make([]byte, 1024), make([]byte, 8), nil); err != nil {
				break
			}
			time.Sleep(time.Millisecond)
		}
		if !errors.Is(err, syscall.ECONNRESET) && !errors.Is(err, syscall.EPIPE) {
			t.Fatalf("WriteRead to a reset connection = %v; want ECONNRESET or EPIPE", err)
		}
	})
	t.Run("peer closes after the request", func(t *testing.T) {
		c, peer := pair(t)
		go func() {
			io.ReadFull(peer, make([]byte, 4))
			peer.Close()
		}()
		w, n, err := c.WriteRead([]byte("ping"), make([]byte, 8), nil)
		if w != 4 || n != 0 || err != io.EOF {
			t.Fatalf("WriteRead = %d, %d, %v; want 4, 0, EOF", w, n, err)
		}
	})
	t.Run("deadline while waiting", func(t *testing.T) {
		c, _ := pair(t)
		c.nc.SetReadDeadline(time.Now().Add(30 * time.Millisecond))
		w, _, err := c.WriteRead([]byte("ping"), make([]byte, 8), nil)
		var oe *net.OpError
		if w != 4 || !errors.Is(err, os.ErrDeadlineExceeded) || !errors.As(err, &oe) || oe.Op != "read" {
			t.Fatalf("WriteRead = %d, %v; want the request written and a read timeout", w, err)
		}
	})
	t.Run("deadline already passed", func(t *testing.T) {
		c, _ := pair(t)
		c.nc.SetReadDeadline(time.Now().Add(-time.Second))
		w, _, err := c.WriteRead([]byte("ping"), make([]byte, 8), nil)
		if w != 0 || !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("WriteRead = %d, %v; want nothing written and a timeout", w, err)
		}
	})
}

// Readable sees bytes and a close while another goroutine waits to read
// (it must not need the read lock), and nothing on a quiet socket.
func TestReadable(t *testing.T) {
	c, peer := pair(t)
	if c.Readable() {
		t.Fatal("a quiet socket reported readable")
	}
	got := make(chan error, 1)
	c.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	go func() {
		b := make([]byte, 1)
		_, err := c.Read(b)
		got <- err
	}()
	time.Sleep(20 * time.Millisecond) // let the read wait
	if c.Readable() {
		t.Fatal("readable before anything was sent")
	}
	peer.Write([]byte("x"))
	if err := <-got; err != nil {
		t.Fatal(err)
	}
	peer.Write([]byte("y"))
	waitFor(t, c.Readable, "a byte")
	b := make([]byte, 1)
	c.Read(b)
	peer.Close()
	waitFor(t, c.Readable, "the peer's close")
	c.nc.Close()
	if c.Readable() {
		t.Fatal("a connection closed here reported readable")
	}
}

func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("Readable never saw %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}
