package h1transport

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"
)

// FuzzReadResponse feeds arbitrary bytes to the transport as a server's
// response: no panics, no hangs (the server closes after writing, and the
// request has a deadline), and a response that parses has a body that can
// be read to its end or an error.
func FuzzReadResponse(f *testing.F) {
	for _, s := range []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-T\r\n\r\n3;e=1\r\nabc\r\n0\r\nX-T: v\r\n\r\n",
		"HTTP/1.0 200 OK\r\n\r\nuntil close",
		"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
		"HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\nConnection: Upgrade\r\n\r\nraw",
		"HTTP/1.1 200 OK\r\nX-A: one\r\n two\r\ncontent-length: 0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc",
		"HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffff\r\n",
	} {
		f.Add([]byte(s), false)
	}
	f.Add([]byte("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"), true)

	var payload atomic.Pointer[[]byte]
	srv := newRawServer(f, func(c net.Conn, br *bufio.Reader) {
		for { // the request head
			line, err := br.ReadSlice('\n')
			if err != nil {
				return
			}
			if len(line) <= 2 {
				break
			}
		}
		c.Write(*payload.Load())
	})
	tr, _ := newH1(f, Options{MaxIdleConnsPerHost: -1})

	f.Fuzz(func(t *testing.T, resp []byte, head bool) {
		payload.Store(&resp)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		method := "GET"
		if head {
			method = "HEAD"
		}
		req, _ := http.NewRequestWithContext(ctx, method, srv.url(), nil)
		res, err := tr.RoundTrip(req)
		if err != nil {
			if ctx.Err() != nil {
				t.Fatalf("hung until the deadline: %v", err)
			}
			return
		}
		defer res.Body.Close()
		if res.StatusCode < 100 || res.StatusCode > 999 || res.Header == nil {
			t.Fatalf("implausible response: %d %v", res.StatusCode, res.Header)
		}
		n, err := io.Copy(io.Discard, io.LimitReader(res.Body, 1<<20))
		if ctx.Err() != nil {
			t.Fatalf("body hung until the deadline: %v", err)
		}
		if err == nil && res.ContentLength >= 0 && res.Body != http.NoBody && n != res.ContentLength {
			t.Fatalf("read %d bytes of a %d-byte body without an error", n, res.ContentLength)
		}
	})
}
