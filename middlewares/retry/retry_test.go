package retry

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/guan-gateway/guan/config"
	"github.com/guan-gateway/guan/config/dynamic"
	"github.com/guan-gateway/guan/middlewares"
	"github.com/guan-gateway/guan/middlewares/internal/mwtest"
	"github.com/guan-gateway/guan/reqinfo"
	"github.com/guan-gateway/guan/services/attempt"
)

// proxyTo is a real reverse proxy that follows the attempt contract: when
// the upstream cannot be reached it hands the error to a catcher if one is
// installed, and otherwise answers 502 itself.
func proxyTo(addr string) http.Handler {
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(&url.URL{Scheme: "http", Host: addr})
		},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if attempt.Catch(r.Context(), err) {
				return
			}
			w.WriteHeader(http.StatusBadGateway)
		},
	}
}

// echoUpstream answers with the request body and counts hits.
type echoUpstream struct {
	hits   atomic.Int64
	status int
}

func (e *echoUpstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	e.hits.Add(1)
	b, _ := io.ReadAll(r.Body)
	if e.status != 0 {
		w.WriteHeader(e.status)
	}
	w.Write(b)
}

func serveOn(t *testing.T, addr string, h http.Handler) {
	t.Helper()
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("reopen %s: %v", addr, err)
	}
	srv := &http.Server{Handler: h}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
}

func dur(d time.Duration) *config.Duration { c := config.Duration(d); return &c }

func TestRetryUntilUpstreamComesUp(t *testing.T) {
	addr := mwtest.ClosedAddr(t)
	up := &echoUpstream{}
	var tries atomic.Int64
	// Between retry and the proxy: the upstream starts listening only when
	// the second try begins, so the first one is refused for real.
	inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if tries.Add(1) == 2 {
			serveOn(t, addr, up)
		}
		w.Header().Add("X-Inner", "seen")
		proxyTo(addr).ServeHTTP(w, r)
	})
	h, err := New(middlewares.Env{}, dynamic.Retry{Attempts: 3}, inner)
	if err != nil {
		t.Fatal(err)
	}
	infos := make(chan *reqinfo.Info, 1)
	resp, body := mwtest.Serve(t, mwtest.WithInfo(h, infos)).Post(t, "/", strings.NewReader("payload"))
	if resp.StatusCode != 200 || body != "payload" {
		t.Fatalf("got %d %q, want 200 with the replayed body", resp.StatusCode, body)
	}
	if got := resp.Header.Values("X-Inner"); len(got) != 1 {
		t.Errorf("X-Inner = %v, want one value (failed attempt's headers leaked)", got)
	}
	if n := tries.Load(); n != 2 {
		t.Errorf("tries = %d, want 2", n)
	}
	if n := (<-infos).RetryAttempts; n != 1 {
		t.Errorf("RetryAttempts = %d, want 1", n)
	}
}

func TestRetry(t *testing.T) {
	big := bytes.Repeat([]byte("x"), MaxReplayBody+10)
	tests := []struct {
		name        string
		attempts    int
		upStatus    int  // upstream status when reachable
		down        bool // upstream never listens
		body        []byte
		chunked     bool
		wantStatus  int
		wantTries   int64
		wantRetries int
	}{
		{name: "500 is an answer, not retried", attempts: 3, upStatus: 500, wantStatus: 500, wantTries: 1},
		{name: "success first time", attempts: 3, body: []byte("hi"), wantStatus: 200, wantTries: 1},
		{name: "all attempts fail, proxy answers", attempts: 3, down: true, wantStatus: 502, wantTries: 3, wantRetries: 2},
		{name: "single attempt", attempts: 1, down: true, wantStatus: 502, wantTries: 1},
		{name: "chunked body retried while unread", attempts: 2, down: true, body: []byte("abc"), chunked: true, wantStatus: 502, wantTries: 2, wantRetries: 1},
		{name: "body too large is not retried", attempts: 3, down: true, body: big, wantStatus: 502, wantTries: 1},
		{name: "large chunked body is streamed, retried while unread", attempts: 3, down: true, body: big, chunked: true, wantStatus: 502, wantTries: 3, wantRetries: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr := mwtest.ClosedAddr(t)
			up := &echoUpstream{status: tt.upStatus}
			if !tt.down {
				serveOn(t, addr, up)
			}
			var tries atomic.Int64
			inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				tries.Add(1)
				proxyTo(addr).ServeHTTP(w, r)
			})
			h, err := New(middlewares.Env{}, dynamic.Retry{Attempts: tt.attempts}, inner)
			if err != nil {
				t.Fatal(err)
			}
			infos := make(chan *reqinfo.Info, 1)
			front := mwtest.Serve(t, mwtest.WithInfo(h, infos))
			var rd io.Reader = bytes.NewReader(tt.body)
			if tt.chunked {
				rd = io.MultiReader(rd) // hides the length: sent chunked
			}
			resp, got := front.Do(t, front.NewRequest(t, http.MethodPost, "/", rd))
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			if tt.wantStatus == 200 && got != string(tt.body) {
				t.Errorf("body %q, want %q", got, tt.body)
			}
			if n := tries.Load(); n != tt.wantTries {
				t.Errorf("tries = %d, want %d", n, tt.wantTries)
			}
			if n := (<-infos).RetryAttempts; n != tt.wantRetries {
				t.Errorf("RetryAttempts = %d, want %d", n, tt.wantRetries)
			}
			if !tt.down && up.hits.Load() != 1 {
				t.Errorf("upstream hits = %d, want 1", up.hits.Load())
			}
		})
	}
}

func TestBackoffWaits(t *testing.T) {
	addr := mwtest.ClosedAddr(t)
	h, err := New(middlewares.Env{}, dynamic.Retry{Attempts: 3, InitialInterval: dur(40 * time.Millisecond)}, proxyTo(addr))
	if err != nil {
		t.Fatal(err)
	}
	front := mwtest.Serve(t, h)
	start := time.Now()
	front.Get(t, "/")
	// Two waits of at least half the (growing) interval each.
	if el := time.Since(start); el < 40*time.Millisecond {
		t.Errorf("finished after %s, want the backoff to wait", el)
	}
}

func TestConcurrentRetries(t *testing.T) {
	addr := mwtest.ClosedAddr(t)
	var once sync.Once
	up := &echoUpstream{}
	var tries atomic.Int64
	inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if tries.Add(1) > 4 {
			once.Do(func() { serveOn(t, addr, up) })
		}
		proxyTo(addr).ServeHTTP(w, r)
	})
	h, err := New(middlewares.Env{}, dynamic.Retry{Attempts: 20}, inner)
	if err != nil {
		t.Fatal(err)
	}
	front := mwtest.Serve(t, h)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			want := strings.Repeat("b", i*100)
			req, _ := http.NewRequest(http.MethodPost, front.URL, strings.NewReader(want))
			resp, got, err := front.Send(req)
			if err != nil {
				t.Error(err)
				return
			}
			if resp.StatusCode != 200 || got != want {
				t.Errorf("got %d with %d bytes, want 200 with %d", resp.StatusCode, len(got), len(want))
			}
		})
	}
	wg.Wait()
}

func TestNewErrors(t *testing.T) {
	for _, cfg := range []dynamic.Retry{{}, {Attempts: -1}, {Attempts: 2, InitialInterval: dur(-time.Second)}} {
		if _, err := New(middlewares.Env{}, cfg, http.NotFoundHandler()); err == nil {
			t.Errorf("New(%+v) accepted", cfg)
		}
	}
}

// TestUsesGetBody: a body an earlier middleware made replayable is rewound
// with GetBody instead of being copied again.
func TestUsesGetBody(t *testing.T) {
	addr := mwtest.ClosedAddr(t)
	up := &echoUpstream{}
	var tries, rewinds atomic.Int64
	inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if tries.Add(1) == 3 {
			serveOn(t, addr, up)
		}
		proxyTo(addr).ServeHTTP(w, r)
	})
	h, err := New(middlewares.Env{}, dynamic.Retry{Attempts: 3}, inner)
	if err != nil {
		t.Fatal(err)
	}
	front := mwtest.Serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(b))
		r.ContentLength = int64(len(b))
		r.GetBody = func() (io.ReadCloser, error) {
			rewinds.Add(1)
			return io.NopCloser(bytes.NewReader(b)), nil
		}
		h.ServeHTTP(w, r)
	}))
	resp, got := front.Post(t, "/", strings.NewReader("rewind"))
	if resp.StatusCode != 200 || got != "rewind" {
		t.Fatalf("got %d %q", resp.StatusCode, got)
	}
	if n := rewinds.Load(); n < 2 {
		t.Errorf("GetBody called %d times, want at least 2 (one per retry)", n)
	}
}

// A streaming request body is not held back: a client that sends part of
// its body and waits for the response before sending the rest (gRPC client
// streams) gets its response; and the stream, unread by a refused first
// attempt, reaches the upstream whole on the next one.
func TestRetryStreamsUnknownLengthBodies(t *testing.T) {
	addr := mwtest.ClosedAddr(t)
	var tries atomic.Int64
	firstPart := make(chan struct{})
	inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if tries.Add(1) == 2 {
			serveOn(t, addr, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				// HTTP/1 servers discard an unread body before answering
				// unless told the exchange is full duplex.
				http.NewResponseController(w).EnableFullDuplex()
				w.WriteHeader(200)
				w.(http.Flusher).Flush() // answer before the body ends
				b, _ := io.ReadAll(r.Body)
				w.Write(b)
			}))
		}
		proxyTo(addr).ServeHTTP(w, r)
	})
	h, err := New(middlewares.Env{}, dynamic.Retry{Attempts: 3}, inner)
	if err != nil {
		t.Fatal(err)
	}
	front := mwtest.Serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.NewResponseController(w).EnableFullDuplex()
		h.ServeHTTP(w, r)
	}))
	pr, pw := io.Pipe()
	go func() {
		pw.Write([]byte("first,"))
		<-firstPart
		pw.Write([]byte("second"))
		pw.Close()
	}()
	req := front.NewRequest(t, http.MethodPost, "/", pr)
	resp, err := front.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	close(firstPart) // only now, after the response started
	body, _ := io.ReadAll(resp.Body)
	if string(body) != "first,second" || tries.Load() != 2 {
		t.Fatalf("body %q after %d tries, want the whole stream after 2", body, tries.Load())
	}
}
