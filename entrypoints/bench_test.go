package entrypoints

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/guan-gateway/guan/entrypoints/forwarded"
)

// benchAccept opens a connection, sends one request and reads the answer.
func benchAccept(b *testing.B, routing Routing) {
	ep, err := New(Options{Name: "web", Config: nil, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "ok")
	}), Listener: mustListen(b)})
	if err != nil {
		b.Fatal(err)
	}
	if routing != nil {
		ep.routing = func() Routing { return routing }
	}
	_ = ep.Start()
	defer func() { _ = ep.Shutdown(context.Background()) }()
	addr := ep.Addr().String()
	req := []byte("GET / HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n")
	b.ReportAllocs()
	for b.Loop() {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := c.Write(req); err != nil {
			b.Fatal(err)
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil || resp.StatusCode != 200 {
			b.Fatal(resp, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		c.Close()
	}
}

func mustListen(b *testing.B) net.Listener {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	return ln
}

func BenchmarkAcceptFirstRequest(b *testing.B) {
	b.Run("plain", func(b *testing.B) { benchAccept(b, nil) })
	b.Run("peeked", func(b *testing.B) { benchAccept(b, &testRouting{peek: true}) })
}

// BenchmarkEntryHandler measures what the entrypoint adds to each request:
// forwarded headers, the reqinfo context and the request copy.
func BenchmarkEntryHandler(b *testing.B) {
	fwd, _ := forwarded.New(false, nil)
	h := &entryHandler{name: "web", fwd: fwd, next: http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})}
	req := httptest.NewRequest("GET", "http://bench/", nil)
	req.RemoteAddr = "192.0.2.1:1234"
	w := httptest.NewRecorder()
	b.ReportAllocs()
	for b.Loop() {
		req.Header = http.Header{}
		h.ServeHTTP(w, req)
	}
}
