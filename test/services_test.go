package e2e

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"
)

// A weighted service splits requests by weight over its children.
func TestWeightedRatio(t *testing.T) {
	a, hitsA := backend(t, "a")
	b, hitsB := backend(t, "b")
	cfg := fmt.Sprintf(`
[http.routers.r]
  rule = "PathPrefix(`+"`/`"+`)"
  service = "split"
[[http.services.split.weighted.services]]
  name = "sa"
  weight = 3
[[http.services.split.weighted.services]]
  name = "sb"
  weight = 1
[[http.services.sa.loadBalancer.servers]]
  url = %q
[[http.services.sb.loadBalancer.servers]]
  url = %q
`, a, b)
	g := startGateway(t, map[string]string{"w.toml": cfg}, gatewayOpts{})
	for i := 0; i < 400; i++ {
		if code, _, _ := get(t, nil, g.url("/"), nil); code != 200 {
			t.Fatalf("status %d", code)
		}
	}
	if hitsA() != 300 || hitsB() != 100 {
		t.Fatalf("weights 3:1 gave a=%d b=%d over 400 requests", hitsA(), hitsB())
	}
}

// switchable is a backend whose health endpoint can be failed on demand.
func switchable(t *testing.T, name string) (url string, healthy *atomic.Bool) {
	healthy = &atomic.Bool{}
	healthy.Store(true)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/health" {
			if !healthy.Load() {
				w.WriteHeader(http.StatusServiceUnavailable)
			}
			return
		}
		w.Header().Set("X-Backend", name)
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return "http://" + l.Addr().String(), healthy
}

// A server failing its health check leaves the rotation and comes back when
// it passes again; the API shows its state.
func TestHealthCheckEjectionAndRecovery(t *testing.T) {
	a, healthyA := switchable(t, "a")
	b, _ := switchable(t, "b")
	cfg := fmt.Sprintf(`
[http.routers.r]
  rule = "PathPrefix(`+"`/`"+`)"
  service = "svc"
[http.services.svc.loadBalancer.healthCheck]
  path = "/health"
  interval = "100ms"
  timeout = "1s"
[[http.services.svc.loadBalancer.servers]]
  url = %q
[[http.services.svc.loadBalancer.servers]]
  url = %q
`, a, b)
	g := startGateway(t, map[string]string{"h.toml": cfg}, gatewayOpts{})
	backendsSeen := func(n int) map[string]int {
		seen := map[string]int{}
		for i := 0; i < n; i++ {
			_, _, h := get(t, nil, g.url("/"), nil)
			seen[h.Get("X-Backend")]++
		}
		return seen
	}
	if s := backendsSeen(10); s["a"] == 0 || s["b"] == 0 {
		t.Fatalf("both servers should serve at first: %v", s)
	}
	healthyA.Store(false)
	eventually(t, 10*time.Second, func() error {
		if s := backendsSeen(10); s["a"] != 0 {
			return fmt.Errorf("unhealthy server still served: %v", s)
		}
		return nil
	})
	serverStatus := func() map[string]string {
		var svc struct {
			ServerStatus map[string]string `json:"serverStatus"`
		}
		_, body, _ := get(t, nil, g.apiURL("/api/http/services/svc@file"), nil)
		json.Unmarshal([]byte(body), &svc)
		return svc.ServerStatus
	}
	if st := serverStatus(); st[a] != "DOWN" || st[b] != "UP" {
		t.Fatalf("API server status while a is down: %v", st)
	}
	healthyA.Store(true)
	eventually(t, 10*time.Second, func() error {
		if s := backendsSeen(10); s["a"] == 0 {
			return fmt.Errorf("recovered server not back in rotation: %v", s)
		}
		return nil
	})
	if st := serverStatus(); st[a] != "UP" {
		t.Fatalf("API server status after recovery: %v", st)
	}
}

// Connection errors answer 502, slow backends 504, and bodies leak nothing.
func TestUpstreamErrors(t *testing.T) {
	dead := fmt.Sprintf("http://127.0.0.1:%d", freePort(t))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	slow := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(5 * time.Second):
		case <-r.Context().Done():
		}
	})}
	go slow.Serve(l)
	t.Cleanup(func() { slow.Close() })
	cfg := fmt.Sprintf(`
[http.routers.dead]
  rule = "Path(`+"`/dead`"+`)"
  service = "dead"
[http.routers.slow]
  rule = "Path(`+"`/slow`"+`)"
  service = "slow"
[[http.services.dead.loadBalancer.servers]]
  url = %q
[http.services.slow.loadBalancer]
  serversTransport = "short"
[[http.services.slow.loadBalancer.servers]]
  url = "http://%s"
[http.serversTransports.short.forwardingTimeouts]
  responseHeaderTimeout = "300ms"
`, dead, l.Addr())
	g := startGateway(t, map[string]string{"e.toml": cfg}, gatewayOpts{})
	if code, body, _ := get(t, nil, g.url("/dead"), nil); code != 502 || body != "Bad Gateway" {
		t.Fatalf("dead backend: %d %q", code, body)
	}
	if code, body, _ := get(t, nil, g.url("/slow"), nil); code != 504 || body != "Gateway Timeout" {
		t.Fatalf("slow backend: %d %q", code, body)
	}
}
