package services

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/guan-gateway/guan/config"
	"github.com/guan-gateway/guan/config/dynamic"
	"github.com/guan-gateway/guan/services/health"
	"github.com/guan-gateway/guan/services/internal/svctest"
)

// backend is a real upstream server that answers with its name and can be
// made unhealthy (its /health answers 503).
type backend struct {
	*httptest.Server
	name    string
	sick    atomic.Bool
	hits    atomic.Int64
	arrived chan string // request paths, when not nil
}

func newBackend(t *testing.T, name string) *backend {
	t.Helper()
	return newBackendWith(t, name, nil)
}

func newBackendWith(t *testing.T, name string, configure func(*http.Server)) *backend {
	t.Helper()
	b := &backend{name: name}
	b.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/health" {
			if b.sick.Load() {
				w.WriteHeader(http.StatusServiceUnavailable)
			}
			return
		}
		b.hits.Add(1)
		body, _ := io.ReadAll(r.Body)
		if b.arrived != nil {
			b.arrived <- r.URL.Path + " " + string(body)
		}
		io.WriteString(w, b.name)
	}))
	if configure != nil {
		configure(b.Config)
	}
	b.Start()
	t.Cleanup(b.Close)
	return b
}

func closedURL(t *testing.T) string {
	t.Helper()
	return "http://" + svctest.ClosedAddr(t)
}

func dur(d time.Duration) *config.Duration { c := config.Duration(d); return &c }
func intp(i int) *int                      { return &i }

func servers(urls ...string) []dynamic.Server {
	s := make([]dynamic.Server, len(urls))
	for i, u := range urls {
		s[i] = dynamic.Server{URL: u}
	}
	return s
}

func fastHC() *dynamic.ServerHealthCheck {
	return &dynamic.ServerHealthCheck{Path: "/health", Interval: dur(50 * time.Millisecond), Timeout: dur(2 * time.Second)}
}

// checkedLB is a load balancer over url with a fast active health check.
func checkedLB(url string) *dynamic.Service {
	return &dynamic.Service{LoadBalancer: &dynamic.ServersLoadBalancer{Servers: servers(url), HealthCheck: fastHC()}}
}

// countBodies sends n requests through h, each of which must get a 200,
// and counts the response bodies.
func countBodies(t *testing.T, h http.Handler, n int) map[string]int {
	t.Helper()
	counts := map[string]int{}
	for range n {
		res, body := get(t, h)
		if res.StatusCode != 200 {
			t.Fatalf("status %d", res.StatusCode)
		}
		counts[body]++
	}
	return counts
}

// get sends a request through h and returns status and body.
func get(t *testing.T, h http.Handler, cookies ...*http.Cookie) (*http.Response, string) {
	t.Helper()
	req := httptest.NewRequest("GET", "/", nil)
	for _, c := range cookies {
		req.AddCookie(c)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	res := rec.Result()
	return res, rec.Body.String()
}

func mustHandler(t *testing.T, s *Set, name string) http.Handler {
	t.Helper()
	h, err := s.Handler(name)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// waitUntil waits, event-driven, until cond holds on a watched service.
func waitUntil(t *testing.T, h http.Handler, cond func() bool) {
	t.Helper()
	w, ok := h.(health.Watcher)
	if !ok {
		t.Fatalf("%T does not report health changes", h)
	}
	deadline := time.After(10 * time.Second)
	for {
		ch := w.Changed()
		if cond() {
			return
		}
		select {
		case <-ch:
		case <-deadline:
			t.Fatal("condition not reached within 10s")
		}
	}
}

func statusIs(s *Set, name string, want map[string]string) func() bool {
	return func() bool {
		got := s.ServerStatus(name)
		if len(got) != len(want) {
			return false
		}
		for k, v := range want {
			if got[k] != v {
				return false
			}
		}
		return true
	}
}

func hasAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}
