package http1

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strconv"
	"testing"
	"time"
)

// Read deadlines are set only when a read has to wait on the socket, and a
// quiet connection's idle-hold deadline is left in place across requests.
// These tests pin down that ReadTimeout still bounds every request read,
// from its own first byte, and that nothing shorter does.

// echoBody answers with the length of the body it read, or the read error.
func echoBody(w http.ResponseWriter, r *http.Request) {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		w.WriteHeader(http.StatusRequestTimeout)
		io.WriteString(w, "body: "+err.Error())
		return
	}
	io.WriteString(w, "read "+strconv.Itoa(len(b)))
}

func dialServed(t *testing.T, s *served) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", s.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, bufio.NewReader(c)
}

// sendWhole sends req n times, each in one write, and expects 200s.
func sendWhole(t *testing.T, c net.Conn, br *bufio.Reader, n int, req string) {
	t.Helper()
	for range n {
		io.WriteString(c, req)
		if code, err := readStatus(t, c, br); err != nil || code != 200 {
			t.Fatalf("whole request: status %d, error %v", code, err)
		}
	}
}

func readStatus(t *testing.T, c net.Conn, br *bufio.Reader) (int, error) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(3 * time.Second))
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode, nil
}

// Many requests that each arrive whole, then one whose head stops halfway:
// the connection is closed once ReadTimeout has passed since that
// request's first byte, not later and not at a deadline left from before.
func TestReadTimeoutBoundsTrickledHeadAfterWholeRequests(t *testing.T) {
	const readTimeout = 400 * time.Millisecond
	s := serve(t, http.HandlerFunc(hello), func(s *Server) { s.ReadTimeout = readTimeout })
	c, br := dialServed(t, s)
	sendWhole(t, c, br, 50, "GET /a HTTP/1.1\r\nHost: x\r\n\r\n")
	time.Sleep(300 * time.Millisecond) // quiet, but well within the idle timeout
	start := time.Now()
	io.WriteString(c, "GET /b HTTP/1.1\r\nHo")
	c.SetReadDeadline(time.Now().Add(3 * time.Second))
	_, err := br.ReadByte()
	took := time.Since(start)
	if err == nil {
		t.Fatal("the server answered a request whose head never ended")
	}
	if took < readTimeout-50*time.Millisecond || took > readTimeout+600*time.Millisecond {
		t.Fatalf("connection closed %v after the head's first byte; ReadTimeout is %v", took, readTimeout)
	}
}

// A body that arrives in two parts 2.5 s apart — longer than the 2 s a quiet
// connection keeps its buffer, shorter than ReadTimeout — is read whole.
func TestSlowBodyWithinReadTimeoutIsRead(t *testing.T) {
	s := serve(t, http.HandlerFunc(echoBody), func(s *Server) { s.ReadTimeout = 5 * time.Second })
	c, br := dialServed(t, s)
	// One whole request first, so the connection waits with its hold deadline.
	sendWhole(t, c, br, 1, "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nx")
	io.WriteString(c, "POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nab")
	time.Sleep(idleHold + 500*time.Millisecond)
	io.WriteString(c, "cd")
	if code, err := readStatus(t, c, br); err != nil || code != 200 {
		t.Fatalf("slow body within ReadTimeout: status %d, error %v", code, err)
	}
}

// A body that stops short is cut off at ReadTimeout from the request's
// first byte, even when the connection served whole requests before.
func TestReadTimeoutBoundsSlowBody(t *testing.T) {
	const readTimeout = 400 * time.Millisecond
	s := serve(t, http.HandlerFunc(echoBody), func(s *Server) { s.ReadTimeout = readTimeout })
	c, br := dialServed(t, s)
	sendWhole(t, c, br, 20, "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nx")
	start := time.Now()
	io.WriteString(c, "POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nab")
	code, err := readStatus(t, c, br)
	took := time.Since(start)
	if err == nil && code == 200 {
		t.Fatal("a body that stopped short was answered as read")
	}
	if took < readTimeout-50*time.Millisecond || took > readTimeout+600*time.Millisecond {
		t.Fatalf("body read ended %v after the request's first byte; ReadTimeout is %v", took, readTimeout)
	}
}
