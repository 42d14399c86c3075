package retry

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/textproto"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/guan-gateway/guan/config/dynamic"
	"github.com/guan-gateway/guan/middlewares"
	"github.com/guan-gateway/guan/middlewares/internal/mwtest"
	"github.com/guan-gateway/guan/reqinfo"
	"github.com/guan-gateway/guan/services/proxy"
)

// guanProxy is the gateway's own proxy to addr, the handler retry wraps in
// a real configuration.
func guanProxy(t *testing.T, addr string) http.Handler {
	t.Helper()
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return proxy.New(proxy.Options{Target: &url.URL{Scheme: "http", Host: addr}, Transport: tr})
}

// flaky answers failStatus (with a failure header and body) to the first
// fail requests, then 200 with the request body. It records every body it
// received.
type flaky struct {
	fail       int64
	failStatus int
	failBody   string
	delay      time.Duration
	hits       atomic.Int64
	bodies     chan string
}

func (f *flaky) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := f.hits.Add(1)
	b, _ := io.ReadAll(r.Body)
	if f.bodies != nil {
		f.bodies <- string(b)
	}
	time.Sleep(f.delay)
	if n <= f.fail {
		w.Header().Set("X-Failed-Attempt", fmt.Sprint(n))
		w.WriteHeader(f.failStatus)
		io.WriteString(w, f.failBody)
		return
	}
	w.Header().Set("X-Served", "yes")
	w.Write(b)
}

func upstream(t *testing.T, h http.Handler) string {
	t.Helper()
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return s.Listener.Addr().String()
}

type front struct {
	*mwtest.Server
	infos chan *reqinfo.Info
	tries *atomic.Int64
}

// frontOf serves retry(cfg) in front of next, counting the attempts and
// setting a header the way a middleware between retry and the proxy does.
func frontOf(t *testing.T, cfg dynamic.Retry, next http.Handler) front {
	t.Helper()
	var tries atomic.Int64
	inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tries.Add(1)
		w.Header().Add("X-Inner", "seen")
		next.ServeHTTP(w, r)
	})
	h, err := New(middlewares.Env{}, cfg, inner)
	if err != nil {
		t.Fatal(err)
	}
	infos := make(chan *reqinfo.Info, 16)
	return front{mwtest.Serve(t, mwtest.WithInfo(h, infos)), infos, &tries}
}

func TestStatusRetriedUntilSuccess(t *testing.T) {
	up := &flaky{fail: 2, failStatus: 503, failBody: "try later"}
	f := frontOf(t, dynamic.Retry{Attempts: 3, Status: []string{"500-599"}}, guanProxy(t, upstream(t, up)))
	resp, body := f.Get(t, "/")
	if resp.StatusCode != 200 {
		t.Fatalf("status %d %q, want 200 from the third attempt", resp.StatusCode, body)
	}
	if got := resp.Header.Get("X-Failed-Attempt"); got != "" {
		t.Errorf("X-Failed-Attempt = %q: a discarded response's headers leaked", got)
	}
	if got := resp.Header.Values("X-Inner"); len(got) != 1 {
		t.Errorf("X-Inner = %v, want one value", got)
	}
	if n := up.hits.Load(); n != 3 {
		t.Errorf("upstream hits = %d, want 3", n)
	}
	if n := (<-f.infos).RetryAttempts; n != 2 {
		t.Errorf("RetryAttempts = %d, want 2", n)
	}
}

func TestStatusOnLastAttemptPassedThrough(t *testing.T) {
	up := &flaky{fail: 1 << 30, failStatus: 503, failBody: "still down"}
	f := frontOf(t, dynamic.Retry{Attempts: 3, Status: []string{"502", "503"}}, guanProxy(t, upstream(t, up)))
	resp, body := f.Get(t, "/")
	if resp.StatusCode != 503 || body != "still down" || resp.Header.Get("X-Failed-Attempt") != "3" {
		t.Fatalf("got %d %q (X-Failed-Attempt %q), want the third attempt's 503 as is",
			resp.StatusCode, body, resp.Header.Get("X-Failed-Attempt"))
	}
	if got := resp.Header.Values("X-Inner"); len(got) != 1 {
		t.Errorf("X-Inner = %v, want one value", got)
	}
	if n := up.hits.Load(); n != 3 {
		t.Errorf("upstream hits = %d, want 3", n)
	}
}

func TestStatusNotListedPassesAtOnce(t *testing.T) {
	for _, cfg := range []dynamic.Retry{
		{Attempts: 3, Status: []string{"500-599"}},
		{Attempts: 3}, // no status: a 503 is an answer
	} {
		up := &flaky{fail: 1, failStatus: 404, failBody: "nope"}
		if cfg.Status == nil {
			up.failStatus = 503
		}
		f := frontOf(t, cfg, guanProxy(t, upstream(t, up)))
		resp, body := f.Get(t, "/")
		if resp.StatusCode != up.failStatus || body != "nope" || up.hits.Load() != 1 {
			t.Errorf("%+v: got %d %q after %d hits, want %d at once", cfg.Status, resp.StatusCode, body, up.hits.Load(), up.failStatus)
		}
	}
}

// A discarded response with a long body is cut short rather than read
// whole, and the next attempt still answers.
func TestStatusLargeDiscardedBody(t *testing.T) {
	up := &flaky{fail: 1, failStatus: 500, failBody: strings.Repeat("e", 4<<20)}
	f := frontOf(t, dynamic.Retry{Attempts: 2, Status: []string{"500"}}, guanProxy(t, upstream(t, up)))
	resp, body := f.Do(t, f.NewRequest(t, http.MethodPut, "/", strings.NewReader("again")))
	if resp.StatusCode != 200 || body != "again" || up.hits.Load() != 2 {
		t.Fatalf("got %d %q after %d hits, want 200 from the second attempt", resp.StatusCode, body, up.hits.Load())
	}
}

func TestStatusRequestBodies(t *testing.T) {
	big := strings.Repeat("b", dynamic.RetryDefaultMaxRequestBodyBytes+1)
	i64 := func(n int64) *int64 { return &n }
	tests := []struct {
		name      string
		method    string
		body      string
		chunked   bool
		nonIdem   bool
		maxBody   *int64
		wantCode  int
		wantHits  int64
		wantTries int64
	}{
		{name: "GET without body", method: "GET", wantCode: 200, wantHits: 2},
		{name: "PUT is idempotent", method: "PUT", body: "put-body", wantCode: 200, wantHits: 2},
		{name: "DELETE is idempotent", method: "DELETE", body: "x", wantCode: 200, wantHits: 2},
		{name: "POST not retried by default", method: "POST", body: "post-body", wantCode: 503, wantHits: 1},
		{name: "PATCH not retried by default", method: "PATCH", body: "p", wantCode: 503, wantHits: 1},
		{name: "LOCK not retried by default", method: "LOCK", wantCode: 503, wantHits: 1},
		{name: "POST with retryNonIdempotentMethod", method: "POST", body: "post-body", nonIdem: true, wantCode: 200, wantHits: 2},
		{name: "body at maxRequestBodyBytes", method: "PUT", body: "12345678", maxBody: i64(8), wantCode: 200, wantHits: 2},
		{name: "body over maxRequestBodyBytes", method: "PUT", body: "123456789", maxBody: i64(8), wantCode: 503, wantHits: 1},
		{name: "maxRequestBodyBytes 0 keeps no body", method: "PUT", body: "1", maxBody: i64(0), wantCode: 503, wantHits: 1},
		{name: "maxRequestBodyBytes 0, no body", method: "GET", maxBody: i64(0), wantCode: 200, wantHits: 2},
		{name: "over the 2 MiB default", method: "PUT", body: big, wantCode: 503, wantHits: 1},
		{name: "no limit", method: "PUT", body: big, maxBody: i64(-1), wantCode: 200, wantHits: 2},
		{name: "chunked body is streamed, not retried", method: "PUT", body: "stream", chunked: true, wantCode: 503, wantHits: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			up := &flaky{fail: 1, failStatus: 503, failBody: "busy", bodies: make(chan string, 4)}
			cfg := dynamic.Retry{Attempts: 3, Status: []string{"503"}, RetryNonIdempotentMethod: tt.nonIdem, MaxRequestBodyBytes: tt.maxBody}
			f := frontOf(t, cfg, guanProxy(t, upstream(t, up)))
			var rd io.Reader
			if tt.body != "" {
				rd = strings.NewReader(tt.body)
				if tt.chunked {
					rd = io.MultiReader(rd)
				}
			}
			resp, got := f.Do(t, f.NewRequest(t, tt.method, "/", rd))
			if resp.StatusCode != tt.wantCode {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.wantCode)
			}
			if tt.wantCode == 200 && got != tt.body {
				t.Errorf("body of %d bytes, want the request's %d", len(got), len(tt.body))
			}
			if n := up.hits.Load(); n != tt.wantHits {
				t.Errorf("upstream hits = %d, want %d", n, tt.wantHits)
			}
			for range tt.wantHits {
				if b := <-up.bodies; b != tt.body {
					t.Errorf("upstream received %d bytes, want the whole %d-byte body on every attempt", len(b), len(tt.body))
				}
			}
		})
	}
}

// maxRequestBodyBytes bounds what status retries keep; a failure to reach
// the upstream is still retried with a body of up to MaxReplayBody.
func TestSmallMaxBodyKeepsNetworkRetries(t *testing.T) {
	addr := mwtest.ClosedAddr(t)
	up := &flaky{}
	limit := int64(4)
	proxied := guanProxy(t, addr)
	var tries atomic.Int64
	inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if tries.Add(1) == 2 {
			serveOn(t, addr, up)
		}
		proxied.ServeHTTP(w, r)
	})
	h, err := New(middlewares.Env{}, dynamic.Retry{Attempts: 3, Status: []string{"503"}, MaxRequestBodyBytes: &limit}, inner)
	if err != nil {
		t.Fatal(err)
	}
	f := mwtest.Serve(t, h)
	resp, body := f.Do(t, f.NewRequest(t, http.MethodPut, "/", strings.NewReader("longer than four")))
	if resp.StatusCode != 200 || body != "longer than four" || tries.Load() != 2 {
		t.Fatalf("got %d %q after %d tries, want 200 with the body after 2", resp.StatusCode, body, tries.Load())
	}
}

func TestDisableRetryOnNetworkError(t *testing.T) {
	tests := []struct {
		name      string
		status    []string
		wantTries int64
	}{
		// The proxy's own 502 for an unreachable server is a status like
		// any other: listed, it is retried.
		{name: "502 not listed", status: []string{"503"}, wantTries: 1},
		{name: "502 listed", status: []string{"502-504"}, wantTries: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := frontOf(t, dynamic.Retry{Attempts: 3, Status: tt.status, DisableRetryOnNetworkError: true},
				guanProxy(t, mwtest.ClosedAddr(t)))
			resp, body := f.Get(t, "/")
			if resp.StatusCode != 502 || body != "Bad Gateway" {
				t.Fatalf("got %d %q, want the proxy's 502", resp.StatusCode, body)
			}
			if n := f.tries.Load(); n != tt.wantTries {
				t.Errorf("tries = %d, want %d", n, tt.wantTries)
			}
		})
	}
	// Status retries still work.
	up := &flaky{fail: 1, failStatus: 503}
	f := frontOf(t, dynamic.Retry{Attempts: 3, Status: []string{"503"}, DisableRetryOnNetworkError: true}, guanProxy(t, upstream(t, up)))
	if resp, _ := f.Get(t, "/"); resp.StatusCode != 200 || up.hits.Load() != 2 {
		t.Errorf("got %d after %d hits, want 200 after 2", resp.StatusCode, up.hits.Load())
	}
}

func TestTimeoutStopsStatusRetries(t *testing.T) {
	up := &flaky{fail: 1 << 30, failStatus: 503, failBody: "slow and down", delay: 60 * time.Millisecond}
	f := frontOf(t, dynamic.Retry{Attempts: 50, Status: []string{"503"}, Timeout: dur(150 * time.Millisecond)}, guanProxy(t, upstream(t, up)))
	start := time.Now()
	resp, body := f.Get(t, "/")
	el := time.Since(start)
	// The failure that comes after the deadline is the answer, as is.
	if resp.StatusCode != 503 || body != "slow and down" {
		t.Fatalf("got %d %q, want the last 503 passed on", resp.StatusCode, body)
	}
	if n := up.hits.Load(); n < 1 || n > 4 {
		t.Errorf("upstream hits = %d, want 3 or so within 150ms of 60ms attempts", n)
	}
	if el > 3*time.Second {
		t.Errorf("took %s", el)
	}
}

func TestTimeoutStopsNetworkRetries(t *testing.T) {
	f := frontOf(t, dynamic.Retry{Attempts: 1000, InitialInterval: dur(20 * time.Millisecond), Timeout: dur(150 * time.Millisecond)},
		guanProxy(t, mwtest.ClosedAddr(t)))
	start := time.Now()
	resp, body := f.Get(t, "/")
	el := time.Since(start)
	if resp.StatusCode != 502 || body != "Bad Gateway" {
		t.Fatalf("got %d %q, want the proxy's 502 for the last failure", resp.StatusCode, body)
	}
	if got := resp.Header.Values("X-Inner"); len(got) != 1 {
		t.Errorf("X-Inner = %v, want one value", got)
	}
	if n := f.tries.Load(); n < 2 || n > 20 {
		t.Errorf("tries = %d, want a few within 150ms of 10-30ms waits", n)
	}
	if el < 100*time.Millisecond || el > 3*time.Second {
		t.Errorf("took %s, want about the 150ms timeout", el)
	}
	if info := <-f.infos; info.OriginStatus != 502 {
		t.Errorf("OriginStatus = %d, want 502", info.OriginStatus)
	}
}

// No retry is started that could only begin after the deadline.
func TestTimeoutShorterThanBackoff(t *testing.T) {
	f := frontOf(t, dynamic.Retry{Attempts: 5, InitialInterval: dur(time.Second), Timeout: dur(50 * time.Millisecond)},
		guanProxy(t, mwtest.ClosedAddr(t)))
	start := time.Now()
	resp, _ := f.Get(t, "/")
	if resp.StatusCode != 502 || f.tries.Load() != 1 {
		t.Fatalf("got %d after %d tries, want 502 after 1", resp.StatusCode, f.tries.Load())
	}
	if el := time.Since(start); el > 500*time.Millisecond {
		t.Errorf("took %s, want no wait", el)
	}
}

// A client that goes away stops the retries.
func TestClientGoneStopsStatusRetries(t *testing.T) {
	up := &flaky{fail: 1 << 30, failStatus: 503}
	proxied := guanProxy(t, upstream(t, up))
	done := make(chan int64, 1)
	h, err := New(middlewares.Env{}, dynamic.Retry{Attempts: 10, Status: []string{"503"}, InitialInterval: dur(10 * time.Second)}, proxied)
	if err != nil {
		t.Fatal(err)
	}
	f := mwtest.Serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r)
		done <- up.hits.Load()
	}))
	ctx, cancel := context.WithCancel(t.Context())
	req := f.NewRequest(t, http.MethodGet, "/", nil).WithContext(ctx)
	go func() {
		for up.hits.Load() == 0 {
			time.Sleep(time.Millisecond)
		}
		time.Sleep(20 * time.Millisecond) // into the backoff
		cancel()
	}()
	if _, err := f.Client().Do(req); err == nil {
		t.Fatal("request succeeded, want it cancelled")
	}
	select {
	case n := <-done:
		if n != 1 {
			t.Errorf("upstream hits = %d, want 1", n)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("retry kept waiting after the client left")
	}
}

// An interim response (103 Early Hints) reaches the client without
// committing the attempt: its final status can still be retried, and the
// final response carries the final headers only.
func TestInterimResponseDoesNotCommit(t *testing.T) {
	var hits atomic.Int64
	up := upstream(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := hits.Add(1)
		w.Header().Set("Link", "</style.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		w.Header().Del("Link")
		if n == 1 {
			w.WriteHeader(503)
			return
		}
		io.WriteString(w, "ok")
	}))
	f := frontOf(t, dynamic.Retry{Attempts: 2, Status: []string{"503"}}, guanProxy(t, up))
	var hints atomic.Int64
	trace := &httptrace.ClientTrace{Got1xxResponse: func(code int, h textproto.MIMEHeader) error {
		if code == http.StatusEarlyHints && h.Get("Link") != "" {
			hints.Add(1)
		}
		return nil
	}}
	req := f.NewRequest(t, http.MethodGet, "/", nil)
	req = req.WithContext(httptrace.WithClientTrace(req.Context(), trace))
	resp, body := f.Do(t, req)
	if resp.StatusCode != 200 || body != "ok" {
		t.Fatalf("got %d %q, want 200 from the second attempt", resp.StatusCode, body)
	}
	if resp.Header.Get("Link") != "" || len(resp.Header.Values("X-Inner")) != 1 {
		t.Errorf("final headers %v: want X-Inner once and no Link", resp.Header)
	}
	if hints.Load() == 0 {
		t.Error("no 103 with its Link reached the client")
	}
}

func TestNewRefusesOptions(t *testing.T) {
	build := func(cfg dynamic.Retry) error {
		_, err := New(middlewares.Env{}, cfg, http.NotFoundHandler())
		return err
	}
	mwtest.RefusesConfigs(t, build,
		mwtest.Bad("status word", dynamic.Retry{Attempts: 2, Status: []string{"5xx"}}, `"5xx"`),
		mwtest.Bad("status out of range", dynamic.Retry{Attempts: 2, Status: []string{"500-600"}}, "outside 100-599"),
		mwtest.Bad("status reversed", dynamic.Retry{Attempts: 2, Status: []string{"599-500"}}, "reversed"),
		mwtest.Bad("nothing to retry", dynamic.Retry{Attempts: 2, DisableRetryOnNetworkError: true}, "status"),
		mwtest.Bad("negative timeout", dynamic.Retry{Attempts: 2, Timeout: dur(-time.Second)}, "timeout"),
	)
	ok := dynamic.Retry{Attempts: 2, Status: []string{"500-599", "429, 408"}, DisableRetryOnNetworkError: true}
	if err := build(ok); err != nil {
		t.Errorf("New(%+v): %v", ok, err)
	}
}
