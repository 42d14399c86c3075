package ratelimit

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/guan-gateway/guan/config/dynamic"
	"github.com/guan-gateway/guan/middlewares"
	"github.com/guan-gateway/guan/test/redisserver"
)

// benchLimit runs requests from 1000 sources through the middleware, in
// parallel, with a limit no source reaches: the cost of a decision.
func benchLimit(b *testing.B, cfg dynamic.RateLimit) {
	h, err := New(middlewares.Env{Name: "bench@file"}, cfg, okHandler)
	if err != nil {
		b.Fatal(err)
	}
	if l, ok := h.(*limiter); ok && l.redis != nil {
		b.Cleanup(func() { l.redis.Close() })
	}
	addrs := make([]string, 1000)
	for i := range addrs {
		addrs[i] = "10.0." + strconv.Itoa(i/250) + "." + strconv.Itoa(i%250) + ":1"
	}
	var next atomic.Int64
	b.SetParallelism(16) // a gateway decides for many requests at once
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		w := httptest.NewRecorder()
		r := httptest.NewRequest(http.MethodGet, "http://example.com/", nil)
		for pb.Next() {
			r.RemoteAddr = addrs[next.Add(1)%1000]
			clear(w.Header())
			h.ServeHTTP(w, r)
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "decisions/s")
}

func BenchmarkInMemory(b *testing.B) {
	benchLimit(b, dynamic.RateLimit{Average: 1_000_000, Burst: i64(1_000_000)})
}

func BenchmarkRedisLoopback(b *testing.B) {
	srv := redisserver.Start(b)
	benchLimit(b, dynamic.RateLimit{Average: 1_000_000, Burst: i64(1_000_000), Redis: &dynamic.RateLimitRedis{Endpoints: []string{srv.Addr}}})
}
