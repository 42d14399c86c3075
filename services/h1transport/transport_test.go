package h1transport

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/guan-gateway/guan/closewatch"
	"github.com/guan-gateway/guan/sockio"
)

func get(t testing.TB, rt http.RoundTripper, url string) (*http.Response, error) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return rt.RoundTrip(req)
}

// TestMalformedResponses: anything a strict parser must refuse is an error
// (the proxy answers 502), either from RoundTrip or from reading the body.
func TestMalformedResponses(t *testing.T) {
	cases := map[string]string{
		"garbage status line":         "HTTP/1.1 OK\r\n\r\n",
		"HTTP/2 status line":          "HTTP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n",
		"two digit status":            "HTTP/1.1 20 OK\r\n\r\n",
		"status 099":                  "HTTP/1.1 099 Odd\r\n\r\n",
		"no space after code":         "HTTP/1.1 200OK\r\n\r\n",
		"lowercase proto":             "http/1.1 200 OK\r\n\r\n",
		"CL and TE":                   "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
		"conflicting CL":              "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
		"comma CL":                    "HTTP/1.1 200 OK\r\nContent-Length: 3, 3\r\n\r\nabc",
		"negative CL":                 "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
		"plus CL":                     "HTTP/1.1 200 OK\r\nContent-Length: +3\r\n\r\nabc",
		"huge CL":                     "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n",
		"gzip TE":                     "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
		"double chunked TE":           "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
		"space before colon":          "HTTP/1.1 200 OK\r\nContent-Length : 0\r\n\r\n",
		"no colon":                    "HTTP/1.1 200 OK\r\nBroken\r\n\r\n",
		"bare CR in value":            "HTTP/1.1 200 OK\r\nX-A: a\rb\r\nContent-Length: 0\r\n\r\n",
		"NUL in value":                "HTTP/1.1 200 OK\r\nX-A: a\x00b\r\nContent-Length: 0\r\n\r\n",
		"leading continuation":        "HTTP/1.1 200 OK\r\n folded: x\r\n\r\n",
		"bad chunk size":              "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",
		"empty chunk size":            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\r\nabc\r\n0\r\n\r\n",
		"chunk size overflow":         "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\nabc\r\n",
		"junk after chunk size":       "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5 junk\r\nabcde\r\n0\r\n\r\n",
		"missing CRLF after chunk":    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n0\r\n\r\n",
		"truncated chunked body":      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nabc",
		"truncated sized body":        "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc",
		"truncated header":            "HTTP/1.1 200 OK\r\nContent-Le",
		"nothing at all":              "",
		"forbidden announced trailer": "HTTP/1.1 200 OK\r\nTrailer: Content-Length\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
		"header over 1 MiB":           "HTTP/1.1 200 OK\r\n" + strings.Repeat("X-Pad: "+strings.Repeat("p", 1000)+"\r\n", 1100) + "\r\n",
		"too many 1xx":                strings.Repeat("HTTP/1.1 100 Continue\r\n\r\n", 7) + "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
	}
	for name, resp := range cases {
		t.Run(name, func(t *testing.T) {
			srv := newRawServer(t, respondOnce(resp))
			tr, _ := newH1(t, Options{})
			res, err := get(t, tr, srv.url())
			if err == nil {
				_, err = io.ReadAll(res.Body)
				res.Body.Close()
			}
			if err == nil {
				t.Fatalf("accepted: status %d", res.StatusCode)
			}
		})
	}
}

// TestDeadPooledConnRetried: the server closes a kept-alive connection
// while it is being reused (after reading the request, before answering).
// Idempotent requests are sent again on a fresh connection; a POST whose
// body cannot be rewound is not.
func TestDeadPooledConnRetried(t *testing.T) {
	for _, tc := range []struct {
		name    string
		req     func(u string) *http.Request
		wantErr bool
	}{
		{"GET", func(u string) *http.Request { r, _ := http.NewRequest("GET", u, nil); return r }, false},
		{"POST with Idempotency-Key and rewindable body", func(u string) *http.Request {
			r, _ := http.NewRequest("POST", u, strings.NewReader("data")) // sets GetBody
			r.Header.Set("Idempotency-Key", "k1")
			return r
		}, false},
		{"PUT with rewindable body", func(u string) *http.Request {
			r, _ := http.NewRequest("PUT", u, strings.NewReader("data"))
			return r
		}, true}, // net/http's rule: only GET, HEAD, OPTIONS, TRACE or an idempotency key
		{"POST with one-shot body", func(u string) *http.Request {
			r, _ := http.NewRequest("POST", u, io.NopCloser(strings.NewReader("data")))
			r.ContentLength = 4
			return r
		}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			seen := 0
			srv := newRawServer(t, func(c net.Conn, br *bufio.Reader) {
				for {
					_, body, err := readReq(br)
					if err != nil {
						return
					}
					mu.Lock()
					seen++
					n := seen
					mu.Unlock()
					if n == 2 {
						return // read the request, then drop the connection
					}
					fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
				}
			})
			tr, _ := newH1(t, Options{})
			res, err := get(t, tr, srv.url())
			if err != nil {
				t.Fatal(err)
			}
			io.ReadAll(res.Body)
			res.Body.Close()

			res, err = tr.RoundTrip(tc.req(srv.url()))
			if tc.wantErr {
				if err == nil {
					res.Body.Close()
					t.Fatal("request with a one-shot body was sent twice")
				}
				return
			}
			if err != nil {
				t.Fatalf("not retried: %v", err)
			}
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if srv.conns.Load() != 2 {
				t.Fatalf("connections: %d, want 2", srv.conns.Load())
			}
			if tc.name != "GET" && string(b) != "data" {
				t.Fatalf("retried body %q", b)
			}
		})
	}
}

// TestServerClosedIdleConn: a pooled connection the server closed while
// idle is noticed before use, even for a POST that may not be retried. On
// Linux the close watch notices it, with no peek.
func TestServerClosedIdleConn(t *testing.T) {
	srv := newRawServer(t, respondOnce("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"))
	tr, _ := newH1(t, Options{})
	peeks := livenessPeeks.Load()
	for i := range 3 {
		res, err := postOnce(tr, srv.url())
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		io.ReadAll(res.Body)
		res.Body.Close()
		// The server closes after answering; wait until the pooled
		// connection sees the FIN.
		waitFor(t, "server close", func() bool { return int(srv.conns.Load()) == i+1 })
		time.Sleep(5 * time.Millisecond)
		waitFor(t, "the close watch", tr.closesNoticed)
	}
	if closeWatched && livenessPeeks.Load() != peeks {
		t.Fatalf("%d liveness peeks: the close watch should have spared them", livenessPeeks.Load()-peeks)
	}
}

// postOnce sends a POST whose one-byte body cannot be sent again.
func postOnce(tr *Transport, url string) (*http.Response, error) {
	req, _ := http.NewRequest("POST", url, io.NopCloser(strings.NewReader("x")))
	req.ContentLength = 1
	return tr.RoundTrip(req)
}

// closeWatched: connections are watched for the server's close (Linux).
const closeWatched = runtime.GOOS == "linux"

// closesNoticed reports that the close watch has seen the close of every
// pooled connection whose server closed it; without a watch, at once.
func (t *Transport) closesNoticed() bool {
	for _, hp := range *t.hosts.Load() {
		hp.mu.Lock()
		for _, pc := range hp.idle {
			if pc.hup != nil && !pc.hup.Closed() && pc.readable() {
				hp.mu.Unlock()
				return false // closed, and not noticed yet
			}
		}
		hp.mu.Unlock()
	}
	return true
}

// TestPooledPostNotPeeked: on a kept-alive connection, requests with a
// body go out with no system call to check the connection first.
func TestPooledPostNotPeeked(t *testing.T) {
	if !closeWatched {
		t.Skip("the close watch uses epoll, which is Linux-only; elsewhere a pooled connection is peeked at before a POST")
	}
	srv := newRawServer(t, respondAlways("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"))
	tr, _ := newH1(t, Options{})
	peeks := livenessPeeks.Load()
	for i := range 5 {
		res, err := postOnce(tr, srv.url())
		if err != nil {
			t.Fatalf("request %d: %v", i+1, err)
		}
		io.ReadAll(res.Body)
		res.Body.Close()
	}
	if n := srv.conns.Load(); n != 1 {
		t.Fatalf("connections: %d, want 1", n)
	}
	if n := livenessPeeks.Load() - peeks; n != 0 {
		t.Fatalf("%d liveness peeks on a watched connection", n)
	}
}

// TestLingeringCloseOfIdleConn: a server that half-closes an idle
// keep-alive connection and goes on reading, discarding what comes (Apache
// httpd's lingering close, at its keep-alive timeout or a graceful
// restart), never answers a request sent on it and never resets it. The
// next request must still be answered, on a fresh connection, and must not
// wait for an answer that cannot come.
func TestLingeringCloseOfIdleConn(t *testing.T) {
	for _, method := range []string{"GET", "POST"} {
		t.Run(method, func(t *testing.T) {
			srv := newRawServer(t, func(c net.Conn, br *bufio.Reader) {
				if _, _, err := readReq(br); err != nil {
					return
				}
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
				time.Sleep(20 * time.Millisecond)
				c.(*net.TCPConn).CloseWrite()
				io.Copy(io.Discard, c) // lingers until the client closes
			})
			tr, _ := newH1(t, Options{})
			send := func() (*http.Response, error) {
				var body io.Reader
				if method == "POST" {
					body = io.NopCloser(strings.NewReader("x")) // one-shot: never resent
				}
				req, _ := http.NewRequest(method, srv.url(), body)
				if body != nil {
					req.ContentLength = 1
				}
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				t.Cleanup(cancel)
				return tr.RoundTrip(req.WithContext(ctx))
			}
			for i := range 2 {
				start := time.Now()
				res, err := send()
				if err != nil {
					t.Fatalf("request %d: %v", i+1, err)
				}
				if took := time.Since(start); took > time.Second {
					t.Fatalf("request %d took %v: the wait on the half-closed connection was not woken", i+1, took)
				}
				if b, _ := io.ReadAll(res.Body); string(b) != "ok" {
					t.Fatalf("request %d: body %q", i+1, b)
				}
				res.Body.Close()
				// The connection idles in the pool (well under a second:
				// no liveness peek) while the FIN arrives; the close
				// watch, or where there is none the stale watch, notices.
				time.Sleep(100 * time.Millisecond)
			}
			if n := srv.conns.Load(); n != 2 {
				t.Fatalf("connections: %d, want 2 (the half-closed one given up)", n)
			}
		})
	}
}

// lingerAfter serves one request with resp, then after a pause sends
// unasked (may be empty), half-closes if told to and reads on, discarding.
func lingerAfter(resp, unasked string, halfClose bool) func(net.Conn, *bufio.Reader) {
	return func(c net.Conn, br *bufio.Reader) {
		if _, _, err := readReq(br); err != nil {
			return
		}
		io.WriteString(c, resp)
		time.Sleep(20 * time.Millisecond)
		io.WriteString(c, unasked)
		if halfClose {
			c.(*net.TCPConn).CloseWrite()
		}
		io.Copy(io.Discard, c)
	}
}

// rawSockets reports whether connections are read through sockio (and so
// with WriteRead and the stale watch): not in race-detector builds.
func rawSockets(t *testing.T) bool {
	a, b := tcpPair(t)
	defer a.Close()
	defer b.Close()
	return sockio.New(a) != nil
}

func tcpPair(t *testing.T) (net.Conn, net.Conn) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	a, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	b, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	return a, b
}

// TestStaleWatchWakes: the waits the stale watch exists for end promptly.
func TestStaleWatchWakes(t *testing.T) {
	if !rawSockets(t) {
		t.Skip("race-detector builds read sockets through net, without sockio.WriteRead and the stale watch; the run without -race covers them")
	}
	const ok = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
	first := func(t *testing.T, tr *Transport, url string) {
		res, err := get(t, tr, url)
		if err != nil {
			t.Fatal(err)
		}
		io.ReadAll(res.Body)
		res.Body.Close()
	}
	within := func(t *testing.T, d time.Duration, what string, f func()) {
		t.Helper()
		wakes := staleWakes.Load()
		start := time.Now()
		f()
		if took := time.Since(start); took > d {
			t.Fatalf("%s took %v", what, took)
		}
		if staleWakes.Load() == wakes {
			t.Fatalf("%s: the stale watch woke no wait", what)
		}
	}
	t.Run("bytes sent unasked on a connection left open", func(t *testing.T) {
		// What the server sent while the connection idled is read as the
		// answer, as a request that reads first would read it: the point
		// is that the wait ends. (With a close after the bytes, the close
		// watch drops the connection before use.)
		srv := newRawServer(t, lingerAfter(ok, "HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", false))
		tr, _ := newH1(t, Options{})
		first(t, tr, srv.url())
		time.Sleep(100 * time.Millisecond)
		within(t, time.Second, "the GET after the unasked response", func() {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, "GET", srv.url(), nil)
			res, err := tr.RoundTrip(req)
			if err == nil {
				res.Body.Close()
			}
		})
	})
	t.Run("close while the client's body is read after the check", func(t *testing.T) {
		srv := newRawServer(t, lingerAfter(ok, "", true))
		tr, _ := newH1(t, Options{})
		first(t, tr, srv.url())
		time.Sleep(5 * time.Millisecond) // the check finds the connection open
		peeks := stalePeeks.Load()
		within(t, 2*time.Second, "the POST", func() {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, "POST", srv.url(), io.NopCloser(&slowReader{data: "x", delay: 150 * time.Millisecond}))
			req.ContentLength = 1
			res, err := tr.RoundTrip(req)
			if err == nil {
				res.Body.Close()
				t.Fatal("a POST went down a connection the server had closed, and got an answer")
			}
		})
		// The close arrived 130 ms before the request went out: the close
		// watch had seen it, and the wait was woken as it began, with no
		// peek a tick later.
		if closeWatched && stalePeeks.Load() != peeks {
			t.Fatal("the wait was found by the stale watch's peek, not at once")
		}
	})
}

// slowReader returns data after delay: a client whose body comes late.
type slowReader struct {
	data  string
	delay time.Duration
	done  bool
}

func (r *slowReader) Read(p []byte) (int, error) {
	if r.done {
		return 0, io.EOF
	}
	time.Sleep(r.delay)
	r.done = true
	return copy(p, r.data), nil
}

// TestStaleWatchLeavesSlowServer: a server that takes longer to answer
// than the stale watch's first look is still open, and its response comes
// on the same connection: the watch wakes only waits on closed connections.
func TestStaleWatchLeavesSlowServer(t *testing.T) {
	srv := newRawServer(t, func(c net.Conn, br *bufio.Reader) {
		for {
			if _, _, err := readReq(br); err != nil {
				return
			}
			time.Sleep(4 * staleTick)
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
		}
	})
	tr, _ := newH1(t, Options{})
	peeks, wakes := stalePeeks.Load(), staleWakes.Load()
	for i := range 3 {
		res, err := get(t, tr, srv.url())
		if err != nil {
			t.Fatalf("request %d: %v", i+1, err)
		}
		if b, _ := io.ReadAll(res.Body); string(b) != "ok" {
			t.Fatalf("request %d: body %q", i+1, b)
		}
		res.Body.Close()
	}
	if n := srv.conns.Load(); n != 1 {
		t.Fatalf("connections: %d, want 1", n)
	}
	if rawSockets(t) && stalePeeks.Load() == peeks {
		t.Fatal("the stale watch never looked at the long waits")
	}
	if staleWakes.Load() != wakes {
		t.Fatal("the stale watch woke a wait on a server that was still there")
	}
}

// TestUpgradedConnLeavesStaleWatch: a connection handed over as switched
// protocols (upgrade requests go to the fallback; a server may still answer
// 101 to another) is no longer the stale watch's, nor the close watch's,
// once it is closed; otherwise each would stay in memory.
func TestUpgradedConnLeavesStaleWatch(t *testing.T) {
	hups := closewatch.Watched()
	srv := newRawServer(t, func(c net.Conn, br *bufio.Reader) {
		if _, _, err := readReq(br); err != nil {
			return
		}
		io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\nConnection: Upgrade\r\n\r\n")
		io.Copy(io.Discard, c)
	})
	tr, _ := newH1(t, Options{})
	res, err := get(t, tr, srv.url())
	if err != nil {
		t.Fatal(err)
	}
	ub, ok := res.Body.(*upgradedBody)
	if !ok {
		t.Fatalf("body %T, want the upgraded connection", res.Body)
	}
	watched := func() bool {
		stale.mu.Lock()
		defer stale.mu.Unlock()
		_, ok := stale.conns[ub.pc]
		return ok
	}
	if rawSockets(t) && !watched() {
		t.Fatal("the connection was never watched: this test checks nothing")
	}
	if closeWatched && closewatch.Watched() != hups+1 {
		t.Fatalf("close watch: %d sockets, want %d", closewatch.Watched(), hups+1)
	}
	res.Body.Close()
	if watched() {
		t.Fatal("the closed upgraded connection is still in the stale watch")
	}
	if n := closewatch.Watched(); n != hups {
		t.Fatalf("the closed upgraded connection is still in the close watch: %d sockets, want %d", n, hups)
	}
}

// TestClosedConnsLeaveCloseWatch: every upstream connection is in the close
// watch while it is open, and out of it once closed, whichever way it ends.
func TestClosedConnsLeaveCloseWatch(t *testing.T) {
	hups := closewatch.Watched()
	srv := newRawServer(t, respondAlways("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"))
	tr, _ := newH1(t, Options{})
	var held []*http.Response
	for range 4 { // bodies left unread: four connections at once
		res, err := get(t, tr, srv.url())
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, res)
	}
	if closeWatched && closewatch.Watched() != hups+4 {
		t.Fatalf("close watch: %d sockets, want %d", closewatch.Watched(), hups+4)
	}
	held[0].Body.Close() // abandoned before its end: closed
	for _, res := range held[1:] {
		io.ReadAll(res.Body) // read to the end: pooled
		res.Body.Close()
	}
	tr.Close() // closes the pooled ones
	waitFor(t, "connections to leave the close watch", func() bool { return closewatch.Watched() == hups })
}

// TestCancelMidBody: canceling the request context ends a body read that
// is waiting for the server, with the context's error.
func TestCancelMidBody(t *testing.T) {
	release := make(chan struct{})
	srv := newRawServer(t, func(c net.Conn, br *bufio.Reader) {
		readReq(br)
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nfirst")
		<-release
	})
	defer close(release)
	tr, _ := newH1(t, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.url(), nil)
	res, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	n, err := res.Body.Read(buf)
	if string(buf[:n]) != "first" || err != nil {
		t.Fatalf("first read: %q %v", buf[:n], err)
	}
	time.AfterFunc(20*time.Millisecond, cancel)
	start := time.Now()
	_, err = res.Body.Read(buf)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("read after cancel: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("cancel took %v", d)
	}
	res.Body.Close()
	if tr.idleCount(srv.addr) != 0 {
		t.Fatal("canceled connection was pooled")
	}
}

// TestCancelBeforeHeader and the response header timeout.
func TestWaitingForHeader(t *testing.T) {
	release := make(chan struct{})
	srv := newRawServer(t, func(c net.Conn, br *bufio.Reader) {
		readReq(br)
		<-release
	})
	defer close(release)

	t.Run("responseHeaderTimeout", func(t *testing.T) {
		tr, _ := newH1(t, Options{ResponseHeaderTimeout: 50 * time.Millisecond})
		_, err := get(t, tr, srv.url())
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			t.Fatalf("want a timeout error, got %v", err)
		}
	})
	t.Run("context deadline", func(t *testing.T) {
		tr, _ := newH1(t, Options{})
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "GET", srv.url(), nil)
		_, err := tr.RoundTrip(req)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("want DeadlineExceeded, got %v", err)
		}
	})
	t.Run("already canceled", func(t *testing.T) {
		tr, _ := newH1(t, Options{})
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		req, _ := http.NewRequestWithContext(ctx, "GET", srv.url(), nil)
		if _, err := tr.RoundTrip(req); !errors.Is(err, context.Canceled) {
			t.Fatalf("want Canceled, got %v", err)
		}
	})
}

// TestIdlePool: the pool keeps at most MaxIdleConnsPerHost connections,
// closes the rest, and expires idle ones.
func TestIdlePool(t *testing.T) {
	srv, conns := countingServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}))
	host := strings.TrimPrefix(srv.URL, "http://")
	tr, _ := newH1(t, Options{MaxIdleConnsPerHost: 2, IdleConnTimeout: 200 * time.Millisecond})

	// Five responses open at once need five connections.
	var open []*http.Response
	for range 5 {
		res, err := get(t, tr, srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		open = append(open, res)
	}
	for _, res := range open {
		io.ReadAll(res.Body)
		res.Body.Close()
	}
	if n := tr.idleCount(host); n != 2 {
		t.Fatalf("idle: %d, want 2", n)
	}
	for range 4 { // sequential requests reuse the pool
		res, err := get(t, tr, srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		io.ReadAll(res.Body)
		res.Body.Close()
	}
	if conns.Load() != 5 {
		t.Fatalf("connections: %d, want 5", conns.Load())
	}
	waitFor(t, "idle expiry", func() bool { return tr.idleCount(host) == 0 })

	t.Run("keep-alive disabled", func(t *testing.T) {
		tr, _ := newH1(t, Options{MaxIdleConnsPerHost: -1})
		before := conns.Load()
		for range 3 {
			res, err := get(t, tr, srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			io.ReadAll(res.Body)
			res.Body.Close()
		}
		if n := conns.Load() - before; n != 3 {
			t.Fatalf("connections: %d, want 3", n)
		}
	})
	t.Run("closed transport stops pooling", func(t *testing.T) {
		tr, _ := newH1(t, Options{})
		res, err := get(t, tr, srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		tr.Close()
		io.ReadAll(res.Body)
		res.Body.Close()
		if tr.idleCount(host) != 0 {
			t.Fatal("pooled after Close")
		}
	})
}

// TestEarlyClose: closing a body before its end closes the connection,
// unless the rest is small and already received.
func TestEarlyClose(t *testing.T) {
	for _, tc := range []struct {
		name   string
		size   int
		reused bool
	}{{"small rest drained", 100, true}, {"large rest closes", 1 << 20, false}} {
		t.Run(tc.name, func(t *testing.T) {
			body := strings.Repeat("b", tc.size)
			srv, conns := countingServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.WriteString(w, body)
			}))
			tr, _ := newH1(t, Options{})
			for range 2 {
				res, err := get(t, tr, srv.URL)
				if err != nil {
					t.Fatal(err)
				}
				buf := make([]byte, 10)
				io.ReadFull(res.Body, buf)
				if tc.reused {
					// The small body arrives in one segment; make sure it
					// is buffered before closing.
					waitFor(t, "body buffered", func() bool { return res.Body.(*bodyHandle).pc.br.Buffered() >= tc.size-10 })
				}
				res.Body.Close()
				res.Body.Close() // a second Close is harmless
				if _, err := res.Body.Read(buf); err == nil {
					t.Fatal("read after Close succeeded")
				}
			}
			want := int32(2)
			if tc.reused {
				want = 1
			}
			if conns.Load() != want {
				t.Fatalf("connections: %d, want %d", conns.Load(), want)
			}
		})
	}
}

// TestFallback: what this transport does not speak goes to the fallback.
func TestFallback(t *testing.T) {
	srv, _ := countingServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}))
	cases := map[string]func(*http.Request){
		"upgrade":        func(r *http.Request) { r.Header.Set("Connection", "Upgrade"); r.Header.Set("Upgrade", "websocket") },
		"expect":         func(r *http.Request) { r.Header.Set("Expect", "100-continue") },
		"trailers":       func(r *http.Request) { r.Trailer = http.Header{"X-T": nil} },
		"URL user":       func(r *http.Request) { r.URL.User = url.User("u") },
		"TE identity":    func(r *http.Request) { r.TransferEncoding = []string{"identity"} },
		"https scheme":   func(r *http.Request) { r.URL.Scheme = "https" },
		"CONNECT method": func(r *http.Request) { r.Method = "CONNECT" },
	}
	for name, mod := range cases {
		t.Run(name, func(t *testing.T) {
			tr, fb := newH1(t, Options{})
			req, _ := http.NewRequest("GET", srv.URL, nil)
			mod(req)
			if res, err := tr.RoundTrip(req); err == nil {
				res.Body.Close()
			}
			if fb.n.Load() != 1 {
				t.Fatal("not delegated")
			}
		})
	}
	t.Run("disabled", func(t *testing.T) {
		tr, fb := newH1(t, Options{Disabled: true})
		res, err := get(t, tr, srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if fb.n.Load() != 1 {
			t.Fatal("not delegated")
		}
	})
}

// TestRefusesSmuggling: CR/LF in anything written into the request head
// is an error and nothing reaches the server.
func TestRefusesSmuggling(t *testing.T) {
	srv := newRawServer(t, respondEach("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"))
	cases := map[string]func(*http.Request){
		"value CRLF": func(r *http.Request) { r.Header["X-A"] = []string{"a\r\nContent-Length: 5"} },
		"value LF":   func(r *http.Request) { r.Header["X-A"] = []string{"a\nb"} },
		"name space": func(r *http.Request) { r.Header["X A"] = []string{"v"} },
		"host CRLF":  func(r *http.Request) { r.Host = "a\r\nX: y" },
		"method":     func(r *http.Request) { r.Method = "GET /x HTTP/1.1\r\n" },
		"query":      func(r *http.Request) { r.URL.RawQuery = "a=1 HTTP/1.1\r\nX: y" },
	}
	for name, mod := range cases {
		t.Run(name, func(t *testing.T) {
			tr, _ := newH1(t, Options{})
			req, _ := http.NewRequest("GET", srv.url(), nil)
			mod(req)
			if res, err := tr.RoundTrip(req); err == nil {
				res.Body.Close()
				t.Fatal("sent")
			}
		})
	}
	if srv.conns.Load() != 0 {
		t.Fatal("a connection was opened")
	}
}

// TestStreaming: chunks reach the caller as the server sends them, and a
// streamed request body reaches the server chunk by chunk (SSE, long
// uploads).
func TestStreaming(t *testing.T) {
	next := make(chan struct{})
	srv, _ := countingServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.NewResponseController(w).EnableFullDuplex()
		w.Header().Set("Content-Type", "text/event-stream")
		br := bufio.NewReader(r.Body)
		for i := range 3 {
			line, err := br.ReadString('\n') // one request chunk per event
			if err != nil {
				return
			}
			fmt.Fprintf(w, "data: %d %s", i, line) // line ends in a newline
			w.(http.Flusher).Flush()
			<-next
		}
	}))
	tr, _ := newH1(t, Options{})
	pr, pw := io.Pipe()
	req, _ := http.NewRequest("POST", srv.URL, pr)
	req.ContentLength = -1
	go io.WriteString(pw, "one\n")
	res, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	br := bufio.NewReader(res.Body)
	for i, word := range []string{"one", "two", "three"} {
		if i > 0 {
			next <- struct{}{}
			go io.WriteString(pw, word+"\n")
		}
		line, err := br.ReadString('\n')
		if err != nil || line != fmt.Sprintf("data: %d %s\n", i, word) {
			t.Fatalf("event %d: %q %v", i, line, err)
		}
	}
	next <- struct{}{}
	pw.Close()
	if rest, err := io.ReadAll(br); err != nil || len(rest) != 0 {
		t.Fatalf("end: %q %v", rest, err)
	}
}

// TestEarlyResponse: a server that answers before reading the whole
// request body and closes still gets its response through.
func TestEarlyResponse(t *testing.T) {
	srv := newRawServer(t, func(c net.Conn, br *bufio.Reader) {
		http.ReadRequest(br)
		io.WriteString(c, "HTTP/1.1 413 Request Entity Too Large\r\nContent-Length: 3\r\nConnection: close\r\n\r\nbig")
		c.(*net.TCPConn).CloseWrite()
		time.Sleep(50 * time.Millisecond)
		c.(*net.TCPConn).SetLinger(0) // reset: the client's write fails
	})
	tr, _ := newH1(t, Options{})
	req, _ := http.NewRequest("POST", srv.url(), io.NopCloser(strings.NewReader(strings.Repeat("x", 64<<20))))
	req.ContentLength = 64 << 20
	res, err := tr.RoundTrip(req)
	if err != nil {
		t.Skipf("the kernel reported the reset before the response could be read: %v", err)
	}
	defer res.Body.Close()
	if res.StatusCode != 413 {
		t.Fatalf("status %d", res.StatusCode)
	}
}

// TestFullDuplexSizedBody: a server that streams a large response before
// reading a large sized request body does not deadlock the exchange.
func TestFullDuplexSizedBody(t *testing.T) {
	const size = 8 << 20
	srv, _ := countingServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.NewResponseController(w).EnableFullDuplex()
		w.Header().Set("Content-Length", fmt.Sprint(size))
		io.WriteString(w, big)
		for range size/len(big) - 1 {
			io.WriteString(w, big)
		}
		io.Copy(io.Discard, r.Body)
	}))
	tr, _ := newH1(t, Options{})
	req, _ := http.NewRequest("POST", srv.URL, strings.NewReader(strings.Repeat("u", size)))
	res, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if err != nil || n != size {
		t.Fatalf("read %d bytes: %v", n, err)
	}
}

// TestConcurrent hammers one transport from many goroutines (run with
// -race): every response matches its request.
func TestConcurrent(t *testing.T) {
	srv, _ := countingServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if r.URL.Query().Get("chunked") != "" {
			w.(http.Flusher).Flush()
		}
		fmt.Fprintf(w, "%s|%s", r.URL.Path, b)
	}))
	tr, _ := newH1(t, Options{MaxIdleConnsPerHost: 8})
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 20 {
				path := fmt.Sprintf("/g%d/%d", g, i)
				var req *http.Request
				switch i % 3 {
				case 0:
					req, _ = http.NewRequest("GET", srv.URL+path, nil)
				case 1:
					req, _ = http.NewRequest("POST", srv.URL+path, strings.NewReader(path))
				default:
					req, _ = http.NewRequest("PUT", srv.URL+path+"?chunked=1", io.NopCloser(strings.NewReader(path)))
					req.ContentLength = -1
				}
				res, err := tr.RoundTrip(req)
				if err != nil {
					errs <- err
					return
				}
				b, err := io.ReadAll(res.Body)
				res.Body.Close()
				want := path + "|"
				if i%3 != 0 {
					want += path
				}
				if err != nil || string(b) != want {
					errs <- fmt.Errorf("%s: got %q, %v", path, b, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestConcurrentClose: Close racing a Read aborts it and never damages the
// connection's next exchange.
func TestConcurrentClose(t *testing.T) {
	srv, _ := countingServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			io.WriteString(w, "x")
			w.(http.Flusher).Flush()
			<-r.Context().Done()
			return
		}
		io.WriteString(w, "fast")
	}))
	tr, _ := newH1(t, Options{})
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 10 {
				res, err := get(t, tr, srv.URL+"/slow")
				if err != nil {
					t.Error(err)
					return
				}
				go func() { time.Sleep(time.Millisecond); res.Body.Close() }()
				io.ReadAll(res.Body)
				res.Body.Close()
				res, err = get(t, tr, srv.URL+"/fast")
				if err != nil {
					t.Error(err)
					return
				}
				b, _ := io.ReadAll(res.Body)
				res.Body.Close()
				if string(b) != "fast" {
					t.Errorf("fast: %q", b)
				}
			}
		}()
	}
	wg.Wait()
}
