package opa

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/guan-gateway/guan/config/dynamic"
	"github.com/guan-gateway/guan/middlewares"
	"github.com/guan-gateway/guan/reqinfo"
)

// BenchmarkAllowDecision: one request through the middleware with the
// 20-rule example policy (testdata/authz), decided by its third rule
// (a reader reading orders of the own tenant). Reports the p50 and p99 of
// single decisions besides the mean.
func BenchmarkAllowDecision(b *testing.B) {
	h := build(b, dynamic.OPA{Policy: "testdata/authz", Data: []string{"testdata/data/users.json"}}, middlewares.Env{})
	r := httptest.NewRequest(http.MethodGet, "/orders/17?tenant=acme", nil)
	r.RemoteAddr = "198.51.100.1:4000"
	r.Header.Set("X-User", "alice")
	r.Header.Set("Accept", "application/json")
	r.Header.Set("User-Agent", "bench/1.0")
	ctx, info := reqinfo.NewContext(r.Context())
	info.Router = "api@file"
	r = r.WithContext(ctx)
	w := httptest.NewRecorder()
	if h.ServeHTTP(w, r); w.Code != 200 {
		b.Fatalf("the benchmark request is not allowed: %d", w.Code)
	}
	times := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		h.ServeHTTP(w, r)
		times = append(times, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(times)
	b.ReportMetric(float64(times[len(times)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(times[len(times)*99/100].Microseconds()), "p99-µs")
}
