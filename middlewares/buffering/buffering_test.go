package buffering

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/guan-gateway/guan/config/dynamic"
	"github.com/guan-gateway/guan/middlewares"
	"github.com/guan-gateway/guan/middlewares/internal/mwtest"
)

// echo returns the request body, its declared length and the transfer
// encoding the backend saw.
var echo = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	w.Header().Set("X-Seen-Length", fmt.Sprint(r.ContentLength))
	w.Header().Set("X-Seen-TE", strings.Join(r.TransferEncoding, ","))
	w.Write(b)
})

// sized answers with ?n= bytes.
var sized = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	var n int
	fmt.Sscan(r.URL.Query().Get("n"), &n)
	w.Header().Set("Content-Type", "application/octet-stream")
	chunk := bytes.Repeat([]byte("r"), 1000)
	for n > 0 {
		k := min(n, len(chunk))
		w.Write(chunk[:k])
		n -= k
	}
})

func tempFiles(t *testing.T, dir string) int {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

func TestRequestBuffering(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	big := bytes.Repeat([]byte("q"), 5000)
	tests := []struct {
		name     string
		cfg      dynamic.Buffering
		body     []byte
		chunked  bool
		wantCode int
	}{
		{name: "small in memory", cfg: dynamic.Buffering{}, body: []byte("hello"), wantCode: 200},
		{name: "chunked becomes sized", cfg: dynamic.Buffering{}, body: []byte("hello"), chunked: true, wantCode: 200},
		{name: "spills to disk", cfg: dynamic.Buffering{MemRequestBodyBytes: 100}, body: big, chunked: true, wantCode: 200},
		{name: "at the maximum", cfg: dynamic.Buffering{MaxRequestBodyBytes: 5000}, body: big, wantCode: 200},
		{name: "over max, length known", cfg: dynamic.Buffering{MaxRequestBodyBytes: 4999}, body: big, wantCode: 413},
		{name: "over max, chunked", cfg: dynamic.Buffering{MaxRequestBodyBytes: 4999, MemRequestBodyBytes: 10}, body: big, chunked: true, wantCode: 413},
		{name: "empty body", cfg: dynamic.Buffering{MaxRequestBodyBytes: 1}, body: nil, wantCode: 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var called atomic.Bool
			h, err := New(middlewares.Env{}, tt.cfg, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				called.Store(true)
				echo.ServeHTTP(w, r)
			}))
			if err != nil {
				t.Fatal(err)
			}
			var rd io.Reader = bytes.NewReader(tt.body)
			if tt.chunked {
				rd = io.MultiReader(rd)
			}
			resp, got := mwtest.Serve(t, h).Post(t, "/", rd)
			if resp.StatusCode != tt.wantCode {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.wantCode)
			}
			if tt.wantCode == 413 {
				if got != "Request Entity Too Large\n" {
					t.Errorf("body %q", got)
				}
				if !tt.chunked && called.Load() {
					t.Error("backend called although Content-Length exceeded the maximum")
				}
				return
			}
			if got != string(tt.body) {
				t.Errorf("backend got %d bytes, want %d", len(got), len(tt.body))
			}
			if l := resp.Header.Get("X-Seen-Length"); l != fmt.Sprint(len(tt.body)) {
				t.Errorf("backend saw Content-Length %s, want %d", l, len(tt.body))
			}
			if te := resp.Header.Get("X-Seen-TE"); te != "" {
				t.Errorf("backend saw Transfer-Encoding %q", te)
			}
			if resp.ContentLength != int64(len(tt.body)) {
				t.Errorf("response Content-Length %d, want %d", resp.ContentLength, len(tt.body))
			}
		})
	}
	if n := tempFiles(t, tmp); n != 0 {
		t.Errorf("%d temporary files left behind", n)
	}
}

func TestResponseBuffering(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	tests := []struct {
		name     string
		cfg      dynamic.Buffering
		n        int
		proxied  bool
		wantCode int
	}{
		{name: "in memory", n: 3000, wantCode: 200},
		{name: "spills to disk", cfg: dynamic.Buffering{MemResponseBodyBytes: 1000}, n: 20000, wantCode: 200},
		{name: "at the maximum", cfg: dynamic.Buffering{MaxResponseBodyBytes: 3000}, n: 3000, wantCode: 200},
		{name: "over the maximum", cfg: dynamic.Buffering{MaxResponseBodyBytes: 2999}, n: 3000, wantCode: 500},
		{name: "over the maximum through a proxy", cfg: dynamic.Buffering{MaxResponseBodyBytes: 10000, MemResponseBodyBytes: 100}, n: 50000, proxied: true, wantCode: 500},
		{name: "proxied within limits", cfg: dynamic.Buffering{MaxResponseBodyBytes: 50000, MemResponseBodyBytes: 100}, n: 50000, proxied: true, wantCode: 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var next http.Handler = sized
			if tt.proxied {
				up := httptest.NewServer(sized)
				defer up.Close()
				u, _ := url.Parse(up.URL)
				next = &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) { pr.SetURL(u) }, ErrorLog: nil}
			}
			h, err := New(middlewares.Env{}, tt.cfg, next)
			if err != nil {
				t.Fatal(err)
			}
			resp, got := mwtest.Serve(t, h).Get(t, fmt.Sprintf("/?n=%d", tt.n))
			if resp.StatusCode != tt.wantCode {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.wantCode)
			}
			if tt.wantCode != 200 {
				return
			}
			if len(got) != tt.n || resp.ContentLength != int64(tt.n) {
				t.Errorf("got %d bytes, Content-Length %d, want %d", len(got), resp.ContentLength, tt.n)
			}
			if resp.Header.Get("Content-Type") != "application/octet-stream" {
				t.Errorf("Content-Type lost")
			}
		})
	}
	if n := tempFiles(t, tmp); n != 0 {
		t.Errorf("%d temporary files left behind", n)
	}
}

// TestRetryExpression: the upstream is down for the first try and comes up
// for the second; the buffered body is sent again.
func TestRetryExpression(t *testing.T) {
	addr := mwtest.ClosedAddr(t)
	proxy := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
		pr.SetURL(&url.URL{Scheme: "http", Host: addr})
	}}
	var tries atomic.Int64
	var upSrv *http.Server
	defer func() {
		if upSrv != nil {
			upSrv.Close()
		}
	}()
	inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if tries.Add(1) == 2 {
			l, err := net.Listen("tcp", addr)
			if err != nil {
				t.Errorf("reopen: %v", err)
			} else {
				upSrv = &http.Server{Handler: echo}
				go upSrv.Serve(l)
			}
		}
		w.Header().Add("X-Try", fmt.Sprint(tries.Load()))
		proxy.ServeHTTP(w, r)
	})
	h, err := New(middlewares.Env{}, dynamic.Buffering{RetryExpression: "IsNetworkError() && Attempts() < 3"}, inner)
	if err != nil {
		t.Fatal(err)
	}
	resp, got := mwtest.Serve(t, h).Post(t, "/", strings.NewReader("replay me"))
	if resp.StatusCode != 200 || got != "replay me" {
		t.Fatalf("got %d %q", resp.StatusCode, got)
	}
	if v := resp.Header.Values("X-Try"); len(v) != 1 || v[0] != "2" {
		t.Errorf("X-Try = %v, want only the successful attempt's headers", v)
	}
}

func TestRetryExpressionLimits(t *testing.T) {
	var tries atomic.Int64
	failing := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tries.Add(1)
		w.WriteHeader(http.StatusBadGateway)
	})
	for _, tc := range []struct {
		expr string
		want int64
	}{
		{"IsNetworkError() && Attempts() < 2", 2},
		{"ResponseCode() == 500", 1},
		{"IsNetworkError()", maxAttempts}, // never false: bounded
	} {
		tries.Store(0)
		h, err := New(middlewares.Env{}, dynamic.Buffering{RetryExpression: tc.expr}, failing)
		if err != nil {
			t.Fatal(err)
		}
		srv := mwtest.Serve(t, h)
		resp, _ := srv.Get(t, "/")
		srv.Close()
		if resp.StatusCode != 502 || tries.Load() != tc.want {
			t.Errorf("%s: status %d after %d tries, want 502 after %d", tc.expr, resp.StatusCode, tries.Load(), tc.want)
		}
	}
}

func TestConcurrent(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
	h, err := New(middlewares.Env{}, dynamic.Buffering{MemRequestBodyBytes: 512, MemResponseBodyBytes: 512, MaxRequestBodyBytes: 8000}, echo)
	if err != nil {
		t.Fatal(err)
	}
	srv := mwtest.Serve(t, h)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 10 {
				size := (i*1000 + j*97) % 9000
				body := bytes.Repeat([]byte{byte('a' + i)}, size)
				req, _ := http.NewRequest(http.MethodPost, srv.URL, bytes.NewReader(body))
				resp, got, err := srv.Send(req)
				if err != nil {
					t.Error(err)
					return
				}
				want := 200
				if size > 8000 {
					want = 413
				}
				if resp.StatusCode != want || (want == 200 && got != string(body)) {
					t.Errorf("size %d: status %d, %d bytes", size, resp.StatusCode, len(got))
				}
			}
		})
	}
	wg.Wait()
}

func TestNewErrors(t *testing.T) {
	for _, cfg := range []dynamic.Buffering{
		{MaxRequestBodyBytes: -1},
		{MemResponseBodyBytes: -5},
		{RetryExpression: "Attempts() <"},
	} {
		if _, err := New(middlewares.Env{}, cfg, echo); err == nil {
			t.Errorf("New(%+v) accepted", cfg)
		}
	}
}

type nopWriter struct{ h http.Header }

func (w *nopWriter) Header() http.Header         { return w.h }
func (w *nopWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *nopWriter) WriteHeader(int)             {}

func BenchmarkSmallResponse(b *testing.B) {
	payload := bytes.Repeat([]byte("x"), 2048)
	h, _ := New(middlewares.Env{}, dynamic.Buffering{}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write(payload)
	}))
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	w := &nopWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(w, req)
	}
}
