package services

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/guan-gateway/guan/config/dynamic"
)

// leasttime built from configuration: the proxies record response times, so
// after one request each the slow server stops getting any.
func TestLeastTimeAvoidsSlowServer(t *testing.T) {
	fast := newBackend(t, "fast")
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(15 * time.Millisecond)
		w.Write([]byte("slow"))
	}))
	t.Cleanup(slow.Close)
	s := New(Options{Services: map[string]*dynamic.Service{
		"svc@file": {LoadBalancer: &dynamic.ServersLoadBalancer{Strategy: "leasttime", Servers: servers(slow.URL, fast.URL)}},
	}})
	h := mustHandler(t, s, "svc@file")
	counts := countBodies(t, h, 20)
	if counts["slow"] != 1 || counts["fast"] != 19 {
		t.Fatalf("counts = %v, want slow:1 (its cold-start turn) fast:19", counts)
	}
}

// hrw built from configuration: one client IP, one server, until that
// server's health check fails.
func TestHRWFollowsHealth(t *testing.T) {
	a, b := newBackend(t, "a"), newBackend(t, "b")
	s := New(Options{Services: map[string]*dynamic.Service{
		"svc@file": {LoadBalancer: &dynamic.ServersLoadBalancer{Strategy: "hrw", Servers: servers(a.URL, b.URL), HealthCheck: fastHC()}},
	}})
	h := mustHandler(t, s, "svc@file")
	_, home := get(t, h)
	for range 10 {
		if _, got := get(t, h); got != home {
			t.Fatalf("client moved from %s to %s", home, got)
		}
	}
	sick, other := a, "b"
	if home == "b" {
		sick, other = b, "a"
	}
	sick.sick.Store(true)
	waitUntil(t, h, func() bool { _, got := get(t, h); return got == other })
}
