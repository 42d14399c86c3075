package retry

import (
	"bytes"
	"io"
	"net/http"
	"testing"

	"github.com/guan-gateway/guan/config/dynamic"
	"github.com/guan-gateway/guan/middlewares"
)

// nullWriter is a response writer that keeps nothing, so the benchmarks
// count only what the middleware allocates.
type nullWriter struct {
	h    http.Header
	code int
}

func (w *nullWriter) Header() http.Header         { return w.h }
func (w *nullWriter) WriteHeader(code int)        { w.code = code }
func (w *nullWriter) Write(b []byte) (int, error) { return len(b), nil }

func benchRetry(b *testing.B, cfg dynamic.Retry, method string, body []byte) {
	ok := []byte("ok")
	h, err := New(middlewares.Env{}, cfg, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body != nil {
			io.Copy(io.Discard, r.Body)
		}
		w.WriteHeader(http.StatusOK)
		w.Write(ok)
	}))
	if err != nil {
		b.Fatal(err)
	}
	req, _ := http.NewRequest(method, "http://example.com/x", nil)
	rd := bytes.NewReader(nil)
	w := &nullWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		if body != nil {
			rd.Reset(body)
			req.Body = io.NopCloser(rd)
			req.ContentLength = int64(len(body))
		}
		clear(w.h)
		h.ServeHTTP(w, req)
	}
}

// BenchmarkRetryGET is the common case: the first attempt succeeds.
func BenchmarkRetryGET(b *testing.B) {
	benchRetry(b, dynamic.Retry{Attempts: 3}, http.MethodGet, nil)
}

// BenchmarkRetryPOST replays a small request body.
func BenchmarkRetryPOST(b *testing.B) {
	benchRetry(b, dynamic.Retry{Attempts: 3}, http.MethodPost, []byte(`{"k":"v"}`))
}

// BenchmarkRetryGETStatus has status retries armed; the response passes.
func BenchmarkRetryGETStatus(b *testing.B) {
	benchRetry(b, dynamic.Retry{Attempts: 3, Status: []string{"500-599"}}, http.MethodGet, nil)
}

// BenchmarkRetryPOSTStatus buffers the body for status retries.
func BenchmarkRetryPOSTStatus(b *testing.B) {
	benchRetry(b, dynamic.Retry{Attempts: 3, Status: []string{"500-599"}, RetryNonIdempotentMethod: true}, http.MethodPost, []byte(`{"k":"v"}`))
}
