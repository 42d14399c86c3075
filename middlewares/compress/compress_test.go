package compress

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"github.com/guan-gateway/guan/config/dynamic"
	"github.com/guan-gateway/guan/middlewares"
)

var bigText = strings.Repeat("the quick brown fox jumps over the lazy dog. ", 100) // 4500 bytes

// rawClient does not decode responses itself.
var rawClient = &http.Client{Transport: &http.Transport{DisableCompression: true}}

func decodeBody(t *testing.T, enc string, r io.Reader) string {
	t.Helper()
	var dr io.Reader
	switch enc {
	case "":
		dr = r
	case gzipName:
		g, err := gzip.NewReader(r)
		if err != nil {
			t.Fatal(err)
		}
		dr = g
	case brotliName:
		dr = brotli.NewReader(r)
	case zstdName:
		z, err := zstd.NewReader(r)
		if err != nil {
			t.Fatal(err)
		}
		defer z.Close()
		dr = z
	default:
		t.Fatalf("unexpected encoding %q", enc)
	}
	b, err := io.ReadAll(dr)
	if err != nil {
		t.Fatalf("decode %s: %v", enc, err)
	}
	return string(b)
}

// backend serves bigText, shaped by query parameters.
var backend = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	body := bigText
	if n := q.Get("size"); n != "" {
		var size int
		fmt.Sscan(n, &size)
		body = bigText[:size]
	}
	if ct := q.Get("ct"); ct != "" {
		w.Header().Set("Content-Type", ct)
	}
	if ce := q.Get("ce"); ce != "" {
		w.Header().Set("Content-Encoding", ce)
	}
	if q.Get("cl") != "" {
		w.Header().Set("Content-Length", fmt.Sprint(len(body)))
	}
	w.Header().Set("ETag", `"v1"`)
	if code := q.Get("code"); code != "" {
		var c int
		fmt.Sscan(code, &c)
		w.WriteHeader(c)
		if c == 204 || c == 304 {
			return
		}
	}
	// Several small writes: the middleware must gather them.
	for i := 0; i < len(body); i += 100 {
		io.WriteString(w, body[i:min(i+100, len(body))])
	}
})

func TestCompress(t *testing.T) {
	tests := []struct {
		name     string
		cfg      dynamic.Compress
		method   string
		path     string
		header   map[string]string
		noAE     bool
		wantEnc  string
		wantCode int
	}{
		{name: "zstd preferred by default", header: map[string]string{"Accept-Encoding": "gzip, br, zstd"}, wantEnc: zstdName},
		{name: "brotli", header: map[string]string{"Accept-Encoding": "br"}, wantEnc: brotliName},
		{name: "gzip", header: map[string]string{"Accept-Encoding": "gzip, deflate"}, wantEnc: gzipName},
		{name: "client weights", header: map[string]string{"Accept-Encoding": "zstd;q=0.1, gzip"}, wantEnc: gzipName},
		{name: "configured order", cfg: dynamic.Compress{Encodings: []string{"gzip", "br"}}, header: map[string]string{"Accept-Encoding": "zstd, br, gzip"}, wantEnc: gzipName},
		{name: "no Accept-Encoding", noAE: true, wantEnc: ""},
		{name: "no Accept-Encoding with default", cfg: dynamic.Compress{DefaultEncoding: "gzip"}, noAE: true, wantEnc: gzipName},
		{name: "empty Accept-Encoding", header: map[string]string{"Accept-Encoding": ""}, wantEnc: ""},
		{name: "identity", header: map[string]string{"Accept-Encoding": "identity"}, wantEnc: ""},
		{name: "below minimum", path: "/?size=1000", header: map[string]string{"Accept-Encoding": "gzip"}, wantEnc: ""},
		{name: "at minimum", path: "/?size=1024", header: map[string]string{"Accept-Encoding": "gzip"}, wantEnc: gzipName},
		{name: "custom minimum", cfg: dynamic.Compress{MinResponseBodyBytes: 10}, path: "/?size=20", header: map[string]string{"Accept-Encoding": "gzip"}, wantEnc: gzipName},
		{name: "small Content-Length decided early", path: "/?size=500&cl=1", header: map[string]string{"Accept-Encoding": "gzip"}, wantEnc: ""},
		{name: "large Content-Length removed", path: "/?cl=1", header: map[string]string{"Accept-Encoding": "gzip"}, wantEnc: gzipName},
		{name: "already encoded", path: "/?ce=custom", header: map[string]string{"Accept-Encoding": "gzip"}, wantEnc: "custom"},
		{name: "gRPC response", path: "/?ct=application/grpc", header: map[string]string{"Accept-Encoding": "gzip"}, wantEnc: ""},
		{name: "gRPC request", header: map[string]string{"Accept-Encoding": "gzip", "Content-Type": "application/grpc"}, wantEnc: ""},
		{name: "excluded type", cfg: dynamic.Compress{ExcludedContentTypes: []string{"text/event-stream", "Application/JSON"}}, path: "/?ct=application/json%3B%20charset=utf-8", header: map[string]string{"Accept-Encoding": "gzip"}, wantEnc: ""},
		{name: "excluded with params", cfg: dynamic.Compress{ExcludedContentTypes: []string{"text/plain; charset=latin1"}}, path: "/?ct=text/plain%3Bcharset=utf-8", header: map[string]string{"Accept-Encoding": "gzip"}, wantEnc: gzipName},
		{name: "included type", cfg: dynamic.Compress{IncludedContentTypes: []string{"application/json"}}, path: "/?ct=application/json", header: map[string]string{"Accept-Encoding": "gzip"}, wantEnc: gzipName},
		{name: "not included type", cfg: dynamic.Compress{IncludedContentTypes: []string{"application/json"}}, path: "/?ct=text/html", header: map[string]string{"Accept-Encoding": "gzip"}, wantEnc: ""},
		{name: "sniffed type excluded", cfg: dynamic.Compress{IncludedContentTypes: []string{"application/json"}}, header: map[string]string{"Accept-Encoding": "gzip"}, wantEnc: ""},
		{name: "HEAD", method: http.MethodHead, header: map[string]string{"Accept-Encoding": "gzip"}, wantEnc: ""},
		{name: "Range request", header: map[string]string{"Accept-Encoding": "gzip", "Range": "bytes=0-10"}, wantEnc: ""},
		{name: "error status still compressed", path: "/?code=500", header: map[string]string{"Accept-Encoding": "gzip"}, wantEnc: gzipName, wantCode: 500},
		{name: "204", path: "/?code=204", header: map[string]string{"Accept-Encoding": "gzip"}, wantEnc: "", wantCode: 204},
		{name: "304", path: "/?code=304", header: map[string]string{"Accept-Encoding": "gzip"}, wantEnc: "", wantCode: 304},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := New(middlewares.Env{}, tt.cfg, backend)
			if err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer(h)
			defer srv.Close()
			method := tt.method
			if method == "" {
				method = http.MethodGet
			}
			path := tt.path
			if path == "" {
				path = "/"
			}
			req, _ := http.NewRequest(method, srv.URL+path, nil)
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			if tt.noAE {
				req.Header.Del("Accept-Encoding")
			}
			resp, err := rawClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			wantCode := tt.wantCode
			if wantCode == 0 {
				wantCode = 200
			}
			if resp.StatusCode != wantCode {
				t.Fatalf("status %d, want %d", resp.StatusCode, wantCode)
			}
			ce := resp.Header.Get("Content-Encoding")
			if ce != tt.wantEnc {
				t.Fatalf("Content-Encoding %q, want %q", ce, tt.wantEnc)
			}
			if method == http.MethodHead || wantCode == 204 || wantCode == 304 {
				return
			}
			if tt.wantEnc == "custom" {
				return
			}
			if !strings.Contains(strings.Join(resp.Header.Values("Vary"), ","), "Accept-Encoding") && tt.header["Range"] == "" && tt.header["Content-Type"] == "" {
				t.Errorf("Vary = %q, want Accept-Encoding", resp.Header.Values("Vary"))
			}
			body := decodeBody(t, ce, resp.Body)
			want := bigText
			if s := req.URL.Query().Get("size"); s != "" {
				var n int
				fmt.Sscan(s, &n)
				want = bigText[:n]
			}
			if body != want {
				t.Fatalf("decoded body differs: %d bytes, want %d", len(body), len(want))
			}
			if ce != "" {
				if resp.ContentLength == int64(len(want)) {
					t.Errorf("Content-Length %d of the uncompressed body kept", resp.ContentLength)
				}
				if et := resp.Header.Get("ETag"); et != `W/"v1"` {
					t.Errorf("ETag %q, want weak", et)
				}
				if resp.Header.Get("Content-Type") == "" {
					t.Error("Content-Type missing on compressed response")
				}
			}
		})
	}
}

// TestStreamingFlush: a flushed chunk reaches the client, compressed, while
// the handler is still running.
func TestStreamingFlush(t *testing.T) {
	release := make(chan struct{})
	h, err := New(middlewares.Env{}, dynamic.Compress{}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "data: one\n\n")
		w.(http.Flusher).Flush()
		<-release
		io.WriteString(w, "data: two\n\n")
	}))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err := rawClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("Content-Encoding %q", resp.Header.Get("Content-Encoding"))
	}
	zr, err := gzip.NewReader(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 1)
	go func() {
		l, _ := bufio.NewReader(zr).ReadString('\n')
		lines <- l
	}()
	select {
	case l := <-lines:
		if l != "data: one\n" {
			t.Fatalf("first line %q", l)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("flushed event did not arrive while the handler was running")
	}
	close(release)
}

func TestNewErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  dynamic.Compress
		want string
	}{
		{"both type lists", dynamic.Compress{ExcludedContentTypes: []string{"a/b"}, IncludedContentTypes: []string{"c/d"}}, "mutually exclusive"},
		{"negative min", dynamic.Compress{MinResponseBodyBytes: -1}, "minResponseBodyBytes"},
		{"unknown encoding", dynamic.Compress{Encodings: []string{"deflate"}}, "deflate"},
		{"duplicate encoding", dynamic.Compress{Encodings: []string{"gzip", "gzip"}}, "twice"},
		{"default not listed", dynamic.Compress{Encodings: []string{"gzip"}, DefaultEncoding: "br"}, "defaultEncoding"},
		{"bad media type", dynamic.Compress{ExcludedContentTypes: []string{"not a type"}}, "media type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(middlewares.Env{}, tt.cfg, backend)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want mention of %q", err, tt.want)
			}
		})
	}
}

// TestConcurrentEncodings shares pooled encoders between many requests.
func TestConcurrentEncodings(t *testing.T) {
	h, err := New(middlewares.Env{}, dynamic.Compress{}, backend)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	encs := []string{gzipName, brotliName, zstdName, ""}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 12 {
				enc := encs[(i+j)%len(encs)]
				size := 500 + 300*((i*j)%14)
				req, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("%s/?size=%d", srv.URL, size), nil)
				req.Header.Set("Accept-Encoding", enc)
				resp, err := rawClient.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				ce := resp.Header.Get("Content-Encoding")
				if size < defaultMinSize && ce != "" || size >= defaultMinSize && ce != enc {
					t.Errorf("size %d enc %q: got Content-Encoding %q", size, enc, ce)
				}
				var got string
				func() {
					defer resp.Body.Close()
					got = decodeBody(t, ce, resp.Body)
				}()
				if got != bigText[:size] {
					t.Errorf("size %d enc %q: body mismatch", size, enc)
				}
			}
		})
	}
	wg.Wait()
}

type benchWriter struct {
	h http.Header
	n int
}

func (w *benchWriter) Header() http.Header         { return w.h }
func (w *benchWriter) Write(b []byte) (int, error) { w.n += len(b); return len(b), nil }
func (w *benchWriter) WriteHeader(int)             {}

func BenchmarkCompress(b *testing.B) {
	payload := bytes.Repeat([]byte(`{"id":12345,"name":"gateway","tags":["a","b","c"],"ok":true},`), 128) // ~8 KiB
	h, err := New(middlewares.Env{}, dynamic.Compress{}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(payload)
	}))
	if err != nil {
		b.Fatal(err)
	}
	for _, enc := range []string{gzipName, brotliName, zstdName, "identity"} {
		b.Run(enc, func(b *testing.B) {
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			req.Header.Set("Accept-Encoding", enc)
			w := &benchWriter{h: http.Header{}}
			b.ReportAllocs()
			b.SetBytes(int64(len(payload)))
			for b.Loop() {
				clear(w.h)
				h.ServeHTTP(w, req)
			}
		})
	}
}

// A Content-Type key without a value (the proxy's "send none" for an
// upstream response without a type) stays without a value.
func TestNoContentTypeKept(t *testing.T) {
	h, err := New(middlewares.Env{Name: "c@file"}, dynamic.Compress{}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header()["Content-Type"] = nil
		io.WriteString(w, bigText)
	}))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	req, _ := http.NewRequest("GET", srv.URL, nil)
	req.Header.Set("Accept-Encoding", "gzip")
	res, err := rawClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.Header.Get("Content-Encoding") != gzipName {
		t.Fatalf("not compressed: %v", res.Header)
	}
	if ct, ok := res.Header["Content-Type"]; ok {
		t.Fatalf("Content-Type %q was invented", ct)
	}
	if got := decodeBody(t, gzipName, res.Body); got != bigText {
		t.Fatal("body changed")
	}
}
