package http1

import (
	"bufio"
	"bytes"
	"net/http"
	"slices"
	"testing"
)

// FuzzReadRequest feeds arbitrary bytes to the request parser. Whatever it
// accepts, net/http's parser must accept too and read the same way —
// method, target, host, body length and fields — since a disagreement
// between two HTTP parsers on one path is how requests are smuggled.
func FuzzReadRequest(f *testing.F) {
	for _, s := range []string{
		"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
		"POST /p?q=1 HTTP/1.1\r\nHost: a:8080\r\nContent-Length: 3\r\nX-A: 1\r\nx-a: 2\r\n\r\nabc",
		"GET http://b/x HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET / HTTP/1.0\r\n\r\n",
		"\r\nGET / HTTP/1.1\nHost: a\n\n",
		"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx",
		"GET / HTTP/1.1\r\nHost: a\r\n X: folded\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		c := &serverConn{srv: &Server{MaxHeaderBytes: 8192}, remoteAddr: "192.0.2.1:1234"}
		c.br = bufio.NewReader(bytes.NewReader(in))
		c.ctx = t.Context()
		req, fallback, err := c.readRequest()
		if err != nil || fallback {
			return
		}
		// Empty lines before the request line are skipped here (RFC 9112
		// §2.2), not by net/http's parser.
		ref, rerr := http.ReadRequest(bufio.NewReader(bytes.NewReader(bytes.TrimLeft(in, "\r\n"))))
		if rerr != nil {
			t.Fatalf("accepted what net/http refuses (%v): %q", rerr, in)
		}
		if ref.Method != req.Method || ref.RequestURI != req.RequestURI || ref.Host != req.Host ||
			ref.ContentLength != req.ContentLength || ref.ProtoMinor != req.ProtoMinor {
			t.Fatalf("parsed differently from net/http:\n%q\nours %s %s %s %d 1.%d\nnet/http %s %s %s %d 1.%d", in,
				req.Method, req.RequestURI, req.Host, req.ContentLength, req.ProtoMinor,
				ref.Method, ref.RequestURI, ref.Host, ref.ContentLength, ref.ProtoMinor)
		}
		for k, vv := range req.Header {
			if !slices.Equal(vv, ref.Header[k]) {
				t.Fatalf("field %s: ours %q, net/http %q, in %q", k, vv, ref.Header[k], in)
			}
		}
		if len(ref.Header) != len(req.Header) {
			t.Fatalf("fields: ours %v, net/http %v, in %q", req.Header, ref.Header, in)
		}
	})
}
