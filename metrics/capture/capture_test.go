package capture

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// serve runs h behind a handler that captures, and reports the capture's
// view after h returned.
type result struct {
	status, reqSize, size int64
	hijacked              bool
}

func capturing(h http.HandlerFunc, out chan<- result) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, owner := Begin(w, r)
		if !owner {
			panic("outer Begin must own the capture")
		}
		// A second observer reuses the same capture.
		inner, owner2 := Begin(c, r)
		if owner2 || inner != c {
			panic("inner Begin must reuse the capture")
		}
		h(c, r)
		out <- result{int64(c.ResponseStatus(true)), c.RequestSize(), c.Size(), c.Hijacked()}
		c.Release()
	})
}

func TestCaptureRecordsResponse(t *testing.T) {
	tests := []struct {
		name       string
		body       string
		handler    http.HandlerFunc
		wantStatus int64
		wantSize   int64
		wantReq    int64
	}{
		{"implicit 200", "", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hello") }, 200, 5, 0},
		{"nothing written", "", func(w http.ResponseWriter, r *http.Request) {}, 200, 0, 0},
		{"explicit status", "", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusTeapot)
			io.WriteString(w, "short and stout")
		}, 418, 15, 0},
		{"1xx does not fix status", "", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusEarlyHints)
			w.WriteHeader(http.StatusCreated)
		}, 201, 0, 0},
		{"request body counted", "0123456789", func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
			w.WriteHeader(http.StatusAccepted)
		}, 202, 0, 10},
		{"ReadFrom counted", "", func(w http.ResponseWriter, r *http.Request) {
			w.(io.ReaderFrom).ReadFrom(strings.NewReader(strings.Repeat("x", 70000)))
		}, 200, 70000, 0},
		{"flush through ResponseController", "", func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "a")
			if err := http.NewResponseController(w).Flush(); err != nil {
				panic(err)
			}
			io.WriteString(w, "b")
		}, 200, 2, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := make(chan result, 1)
			srv := httptest.NewServer(capturing(tt.handler, out))
			defer srv.Close()
			resp, err := http.Post(srv.URL, "text/plain", strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			got := <-out
			if got.status != tt.wantStatus || got.size != tt.wantSize || got.reqSize != tt.wantReq {
				t.Fatalf("got status %d size %d request size %d, want %d %d %d", got.status, got.size, got.reqSize, tt.wantStatus, tt.wantSize, tt.wantReq)
			}
			if int64(resp.StatusCode) != tt.wantStatus || int64(len(b)) != tt.wantSize {
				t.Fatalf("client saw %d with %d bytes", resp.StatusCode, len(b))
			}
		})
	}
}

func TestCaptureHijack(t *testing.T) {
	out := make(chan result, 1)
	srv := httptest.NewServer(capturing(func(w http.ResponseWriter, r *http.Request) {
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			panic(err)
		}
		defer conn.Close()
		brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: test\r\nConnection: Upgrade\r\n\r\nping")
		brw.Flush()
	}, out))
	defer srv.Close()

	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(conn, "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: test\r\nConnection: Upgrade\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 101 {
		t.Fatalf("client got %d", resp.StatusCode)
	}
	got := <-out
	if !got.hijacked || got.status != 101 {
		t.Fatalf("capture saw hijacked=%v status=%d, want true 101", got.hijacked, got.status)
	}
}

func TestCaptureHijackUnsupported(t *testing.T) {
	rec := httptest.NewRecorder() // cannot hijack
	r := httptest.NewRequest("GET", "/", nil)
	c, _ := Begin(rec, r)
	defer c.Release()
	if _, _, err := c.Hijack(); err == nil {
		t.Fatal("Hijack on a writer without Hijacker succeeded")
	}
	if c.Unwrap() != rec {
		t.Fatal("Unwrap does not return the wrapped writer")
	}
}

func TestResponseStatusAfterPanic(t *testing.T) {
	c, _ := Begin(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	defer c.Release()
	if got := c.ResponseStatus(false); got != 500 {
		t.Fatalf("status after a panic before writing = %d, want 500", got)
	}
}

func BenchmarkBegin(b *testing.B) {
	rec := httptest.NewRecorder()
	r := httptest.NewRequest("GET", "/", nil)
	msg := []byte("hello")
	b.ReportAllocs()
	for b.Loop() {
		c, _ := Begin(rec, r)
		c.WriteHeader(200)
		c.Write(msg)
		_ = c.Status()
		c.Release()
	}
}
