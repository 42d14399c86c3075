package transport

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/guan-gateway/guan/config/dynamic"
	"github.com/guan-gateway/guan/services/h1transport"
)

// TestHTTPUsesH1Transport: http:// servers go through the pooled HTTP/1.1
// client (one connection for sequential requests), upgrades fall back to
// net/http, and Close drops the idle connections.
func TestHTTPUsesH1Transport(t *testing.T) {
	var opened, closed atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.Proto)
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		switch s {
		case http.StateNew:
			opened.Add(1)
		case http.StateClosed:
			closed.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()

	tr, err := New(&dynamic.ServersTransport{}, "")
	if err != nil {
		t.Fatal(err)
	}
	rt := tr.RoundTripper("http")
	if _, ok := rt.(*h1transport.Transport); !ok {
		t.Fatalf("http round tripper is %T", rt)
	}
	for range 3 {
		req, _ := http.NewRequest("GET", srv.URL, nil)
		res, err := rt.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if string(b) != "HTTP/1.1" {
			t.Fatalf("body %q", b)
		}
	}
	if opened.Load() != 1 {
		t.Fatalf("opened %d connections, want 1", opened.Load())
	}
	tr.Close()
	deadline := time.Now().Add(10 * time.Second)
	for closed.Load() != 1 {
		if time.Now().After(deadline) {
			t.Fatal("idle connection not closed by Close")
		}
		time.Sleep(2 * time.Millisecond)
	}
	if tr.RoundTripper("https") == rt || tr.RoundTripper("h2c") == rt {
		t.Fatal("https or h2c served by the HTTP/1.1 client")
	}
}
