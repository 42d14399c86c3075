package mirror

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/guan-gateway/guan/reqinfo"
)

func TestBoundedInFlightDropsCopies(t *testing.T) {
	release := make(chan struct{})
	var started atomic.Int32
	slow := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		started.Add(1)
		<-release
	})
	main := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("main")) })
	m, err := New(Options{Main: main, Mirrors: []Target{{Name: "slow", Percent: 100, Handler: slow}}, MaxInFlight: 2, MirrorBody: true, MaxBodySize: -1})
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		rec := httptest.NewRecorder()
		m.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
		if rec.Body.String() != "main" {
			t.Fatalf("main answered %q", rec.Body)
		}
	}
	if m.Dropped() != 3 {
		t.Fatalf("dropped %d copies, want 3 with 2 slots busy", m.Dropped())
	}
	close(release)
}

func TestCopiesDoNotShareRequestInfo(t *testing.T) {
	got := make(chan string, 1)
	mirrorH := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		info := reqinfo.From(r.Context())
		info.OriginStatus = 999 // must not reach the main request's info
		got <- info.Service
	})
	main := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
	m, _ := New(Options{Main: main, Mirrors: []Target{{Name: "copy@file", Percent: 100, Handler: mirrorH}}, MirrorBody: true, MaxBodySize: -1})
	info := &reqinfo.Info{}
	req := httptest.NewRequest("POST", "/", strings.NewReader("x"))
	m.ServeHTTP(httptest.NewRecorder(), req.WithContext(reqinfo.With(req.Context(), info)))
	select {
	case s := <-got:
		if s != "copy@file" {
			t.Fatalf("mirror info service %q", s)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no mirror copy")
	}
	if info.OriginStatus == 999 {
		t.Fatal("mirror wrote into the main request's info")
	}
}

// countingBody yields n bytes of a repeating pattern and counts what has
// been read from it, standing in for a client's upload.
type countingBody struct {
	n, read int64
	chunked bool
}

func (b *countingBody) Read(p []byte) (int, error) {
	if b.read >= b.n {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), b.n-b.read)]
	for i := range p {
		p[i] = byte((b.read + int64(i)) % 251)
	}
	b.read += int64(len(p))
	return len(p), nil
}

func (b *countingBody) Close() error { return nil }

// A body over maxBodySize reaches the main service whole and streaming: at
// most maxBodySize+1 bytes are read before the main service starts (none
// when Content-Length already says it is too large), and no mirror copy is
// made, so the gateway never holds the body.
func TestBodyOverLimitStreamsToMainOnly(t *testing.T) {
	const limit = 64 << 10
	const size = 8 << 20
	for _, chunked := range []bool{false, true} {
		src := &countingBody{n: size}
		var readBeforeMain, got int64
		main := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			readBeforeMain = src.read
			buf := make([]byte, 32<<10)
			for {
				n, err := r.Body.Read(buf)
				for i := range buf[:n] {
					if buf[i] != byte((got+int64(i))%251) {
						t.Errorf("chunked=%v: byte %d corrupted", chunked, got+int64(i))
						return
					}
				}
				got += int64(n)
				if err != nil {
					break
				}
			}
		})
		var mirrored atomic.Int32
		mir := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { mirrored.Add(1) })
		m, err := New(Options{Main: main, Mirrors: []Target{{Name: "m", Percent: 100, Handler: mir}}, MirrorBody: true, MaxBodySize: limit})
		if err != nil {
			t.Fatal(err)
		}
		req := httptest.NewRequest("POST", "/upload", nil)
		req.Body = src
		req.ContentLength = size
		if chunked {
			req.ContentLength = -1
		}
		m.ServeHTTP(httptest.NewRecorder(), req)
		if got != size {
			t.Fatalf("chunked=%v: main service got %d bytes, want %d", chunked, got, size)
		}
		if max := int64(limit + 1); chunked && readBeforeMain > max || !chunked && readBeforeMain != 0 {
			t.Fatalf("chunked=%v: %d bytes buffered before the main service started (limit %d)", chunked, readBeforeMain, limit)
		}
		// Copies take their slot before ServeHTTP returns: none is in
		// flight, none was dropped, so none was made.
		if len(m.slots) != 0 || m.Dropped() != 0 || mirrored.Load() != 0 {
			t.Fatalf("chunked=%v: a body over the limit was mirrored", chunked)
		}
	}
}

// Without an explicit limit the services package passes
// DefaultMaxBodySize; here the boundary itself: a body of exactly the
// limit is mirrored, one byte more is not.
func TestMaxBodySizeBoundary(t *testing.T) {
	got := make(chan int, 4)
	mir := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- len(b)
	})
	main := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.Copy(io.Discard, r.Body) })
	m, _ := New(Options{Main: main, Mirrors: []Target{{Name: "m", Percent: 100, Handler: mir}}, MirrorBody: true, MaxBodySize: DefaultMaxBodySize})
	for _, n := range []int{DefaultMaxBodySize, DefaultMaxBodySize + 1} {
		req := httptest.NewRequest("POST", "/", strings.NewReader(strings.Repeat("x", n)))
		req.ContentLength = -1 // decided by reading, not by the header
		m.ServeHTTP(httptest.NewRecorder(), req)
	}
	select {
	case n := <-got:
		if n != DefaultMaxBodySize {
			t.Fatalf("mirror got %d bytes, want %d", n, DefaultMaxBodySize)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a body of exactly maxBodySize was not mirrored")
	}
	for len(m.slots) > 0 {
		time.Sleep(time.Millisecond)
	}
	if len(got) != 0 {
		t.Fatal("a body one byte over maxBodySize was mirrored")
	}
}
