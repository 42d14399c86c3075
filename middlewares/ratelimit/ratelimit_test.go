package ratelimit

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/guan-gateway/guan/config"
	"github.com/guan-gateway/guan/config/dynamic"
	"github.com/guan-gateway/guan/middlewares"
	"github.com/guan-gateway/guan/reqinfo"
)

func i64(v int64) *int64 { return &v }

func dur(d time.Duration) *config.Duration { c := config.Duration(d); return &c }

var okHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })

func build(t *testing.T, env middlewares.Env, cfg dynamic.RateLimit) http.Handler {
	t.Helper()
	if env.Name == "" {
		env.Name = "test@file"
	}
	h, err := New(env, cfg, okHandler)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func send(h http.Handler, remote string, hdr map[string]string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodGet, "http://example.com/", nil)
	r.RemoteAddr = remote
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// The bucket arithmetic, at chosen times: burst at once, then one request
// per interval, and lateness is not lost while the bucket has room.
func TestGCRA(t *testing.T) {
	r := rule{interval: 100 * time.Millisecond, burst: 3}
	var tat time.Duration
	now := time.Second
	for i := range 3 {
		d, next := gcra(r, tat, now)
		if !d.allowed || d.remaining != int64(2-i) {
			t.Fatalf("request %d of the burst: %+v", i+1, d)
		}
		tat = next
	}
	d, _ := gcra(r, tat, now)
	if d.allowed || d.retryAfter != 100*time.Millisecond || d.reset != 300*time.Millisecond {
		t.Fatalf("4th request at once: %+v; want refused, retry after 100ms, full in 300ms", d)
	}
	d, next := gcra(r, tat, now+100*time.Millisecond)
	if !d.allowed || d.remaining != 0 {
		t.Fatalf("after one interval: %+v; want one more request", d)
	}
	// Long idle: the bucket is full again, not fuller.
	d, _ = gcra(r, next, now+time.Hour)
	if !d.allowed || d.remaining != 2 {
		t.Fatalf("after an hour idle: %+v; want a full bucket (2 left after this one)", d)
	}
}

func TestInMemoryLimitPerSource(t *testing.T) {
	h := build(t, middlewares.Env{}, dynamic.RateLimit{Average: 10, Burst: i64(3)})
	for i := range 3 {
		w := send(h, "192.0.2.1:1000", nil)
		if w.Code != http.StatusOK {
			t.Fatalf("request %d within the burst: %d", i+1, w.Code)
		}
		if got := w.Header().Get("RateLimit-Remaining"); got != strconv.Itoa(2-i) {
			t.Fatalf("request %d: RateLimit-Remaining %q, want %d", i+1, got, 2-i)
		}
	}
	w := send(h, "192.0.2.1:1001", nil)
	if w.Code != http.StatusTooManyRequests {
		t.Fatalf("4th request: %d, want 429", w.Code)
	}
	if w.Header().Get("Retry-After") != "1" || w.Header().Get("RateLimit-Limit") != "3" || w.Header().Get("RateLimit-Remaining") != "0" {
		t.Fatalf("429 headers: %v", w.Header())
	}
	if w.Header().Get("X-Retry-In") == "" {
		t.Fatal("429 without X-Retry-In")
	}
	// Another client has its own bucket.
	if w := send(h, "192.0.2.2:1000", nil); w.Code != http.StatusOK {
		t.Fatalf("another client: %d", w.Code)
	}
	time.Sleep(110 * time.Millisecond) // one token back (10 per second)
	if w := send(h, "192.0.2.1:1002", nil); w.Code != http.StatusOK {
		t.Fatalf("after a refill interval: %d", w.Code)
	}
}

func TestSourceCriteria(t *testing.T) {
	h := build(t, middlewares.Env{}, dynamic.RateLimit{Average: 1, Period: dur(time.Minute),
		SourceCriterion: &dynamic.SourceCriterion{RequestHeaderName: "X-Tenant"}})
	if w := send(h, "192.0.2.1:1", map[string]string{"X-Tenant": "a"}); w.Code != 200 {
		t.Fatal(w.Code)
	}
	// Same tenant from another IP: same bucket.
	if w := send(h, "192.0.2.9:1", map[string]string{"X-Tenant": "a"}); w.Code != 429 {
		t.Fatalf("tenant a again from another address: %d, want 429", w.Code)
	}
	if w := send(h, "192.0.2.1:1", map[string]string{"X-Tenant": "b"}); w.Code != 200 {
		t.Fatalf("tenant b: %d", w.Code)
	}
}

func TestNoLimitWhenAverageIsZero(t *testing.T) {
	h := build(t, middlewares.Env{}, dynamic.RateLimit{})
	for range 50 {
		if w := send(h, "192.0.2.1:1", nil); w.Code != 200 || w.Header().Get("RateLimit-Limit") != "" {
			t.Fatalf("average 0: %d %v", w.Code, w.Header())
		}
	}
}

func TestDecisionsAreCounted(t *testing.T) {
	got := map[string]int{}
	h := build(t, middlewares.Env{Decision: func(r string) { got[r]++ }}, dynamic.RateLimit{Average: 1, Period: dur(time.Minute), Burst: i64(2)})
	for range 5 {
		send(h, "192.0.2.1:1", nil)
	}
	if got[resultAllowed] != 2 || got[resultLimited] != 3 {
		t.Fatalf("decisions %v; want 2 allowed, 3 limited", got)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		cfg  dynamic.RateLimit
		want string
	}{
		{dynamic.RateLimit{Average: -1}, "average is -1"},
		{dynamic.RateLimit{Average: 1, Period: dur(-time.Second)}, "period is -1s"},
		{dynamic.RateLimit{Average: 1, Burst: i64(-2)}, "burst is -2"},
		{dynamic.RateLimit{Average: 1, Redis: &dynamic.RateLimitRedis{FailurePolicy: "maybe"}}, `redis.failurePolicy is "maybe"`},
		{dynamic.RateLimit{Average: 1, SourceCriterion: &dynamic.SourceCriterion{RequestHost: true, RequestHeaderName: "X"}}, "mutually exclusive"},
		{dynamic.RateLimit{Average: 1, Redis: &dynamic.RateLimitRedis{TLS: &dynamic.ClientTLS{Cert: "c.pem"}}}, "cert and key go together"},
	} {
		_, err := New(middlewares.Env{Name: "x@file"}, tc.cfg, okHandler)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want it to mention %q", tc.cfg, err, tc.want)
		}
	}
}

// Buckets that filled up again are dropped as the table grows, so a flood
// of one-off sources does not grow memory without bound.
func TestBucketsSweepFullBuckets(t *testing.T) {
	b := NewBuckets()
	r := rule{interval: time.Millisecond, burst: 1}
	for i := range 100_000 {
		b.take("src-"+strconv.Itoa(i), r)
		if i%10_000 == 0 {
			time.Sleep(2 * time.Millisecond) // let earlier buckets fill up
		}
	}
	time.Sleep(2 * time.Millisecond)
	for i := range 40_000 {
		b.take("late-"+strconv.Itoa(i), r)
	}
	if n := b.Len(); n > 60_000 {
		t.Fatalf("%d buckets kept after 140k one-off sources whose buckets refilled; full buckets are not swept", n)
	}
}

// A refusal names the middleware and the result in the request info the
// access log writes (MiddlewareDecision).
func TestRefusalInRequestInfo(t *testing.T) {
	h := build(t, middlewares.Env{Name: "limit@file"}, dynamic.RateLimit{Average: 1, Period: dur(time.Minute)})
	var last *reqinfo.Info
	for range 2 {
		ctx, info := reqinfo.NewContext(context.Background())
		r := httptest.NewRequest(http.MethodGet, "http://example.com/", nil).WithContext(ctx)
		r.RemoteAddr = "192.0.2.1:1"
		h.ServeHTTP(httptest.NewRecorder(), r)
		last = info
	}
	if last.Decision != "limit@file:limited" {
		t.Fatalf("Decision %q after a refusal, want limit@file:limited", last.Decision)
	}
}
