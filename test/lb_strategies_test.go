package e2e

import (
	"fmt"
	"net/http"
	"testing"
	"time"
)

// strategy hrw: each client IP always reaches the same server; when that
// server fails its health check only its clients move, and they return once
// it passes again.
func TestLBStrategyHRW(t *testing.T) {
	names := []string{"a", "b", "c"}
	urls := make([]string, 3)
	healthy := make(map[string]func(bool), 3)
	for i, n := range names {
		u, h := switchable(t, n)
		urls[i], healthy[n] = u, h.Store
	}
	cfg := fmt.Sprintf(`
[http.routers.r]
  rule = "PathPrefix(`+"`/`"+`)"
  service = "svc"
[http.services.svc.loadBalancer]
  strategy = "hrw"
[http.services.svc.loadBalancer.healthCheck]
  path = "/health"
  interval = "100ms"
  timeout = "1s"
[[http.services.svc.loadBalancer.servers]]
  url = %q
[[http.services.svc.loadBalancer.servers]]
  url = %q
[[http.services.svc.loadBalancer.servers]]
  url = %q
`, urls[0], urls[1], urls[2])
	g := startGateway(t, map[string]string{"hrw.toml": cfg}, gatewayOpts{})

	const clients = 12
	ip := func(c int) string { return fmt.Sprintf("127.0.0.%d", c+1) }
	serve := func(c int) string {
		t.Helper()
		code, _, hdr := get(t, fromIP(ip(c)), g.url("/"), nil)
		if code != 200 {
			t.Fatalf("client %s: status %d", ip(c), code)
		}
		return hdr.Get("X-Backend")
	}
	home := make([]string, clients)
	used := map[string]bool{}
	for c := range clients {
		home[c] = serve(c)
		for range 3 {
			if got := serve(c); got != home[c] {
				t.Fatalf("client %s moved from %s to %s", ip(c), home[c], got)
			}
		}
		used[home[c]] = true
	}
	if len(used) < 2 {
		t.Fatalf("%d client IPs all hashed to %v", clients, home)
	}

	down := home[0]
	healthy[down](false)
	eventually(t, 5*time.Second, func() error {
		if got := serve(0); got == down {
			return fmt.Errorf("client %s still on %s", ip(0), down)
		}
		return nil
	})
	for c := range clients {
		if got := serve(c); got == down || (home[c] != down && got != home[c]) {
			t.Fatalf("with %s down, client %s (home %s) went to %s", down, ip(c), home[c], got)
		}
	}
	healthy[down](true)
	eventually(t, 5*time.Second, func() error {
		if got := serve(0); got != down {
			return fmt.Errorf("client %s not back on %s: %s", ip(0), down, got)
		}
		return nil
	})
	for c := range clients {
		if got := serve(c); got != home[c] {
			t.Fatalf("client %s did not return to %s: %s", ip(c), home[c], got)
		}
	}
}

// strategy leasttime: a server that takes longer to answer stops getting
// requests once it has been measured.
func TestLBStrategyLeastTime(t *testing.T) {
	fast, hitsFast := backend(t, "fast")
	slowHits := make(chan struct{}, 100)
	slow := "http://" + serveOn(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		slowHits <- struct{}{}
		time.Sleep(30 * time.Millisecond)
		w.Header().Set("X-Backend", "slow")
	}))

	cfg := fmt.Sprintf(`
[http.routers.r]
  rule = "PathPrefix(`+"`/`"+`)"
  service = "svc"
[http.services.svc.loadBalancer]
  strategy = "leasttime"
[[http.services.svc.loadBalancer.servers]]
  url = %q
[[http.services.svc.loadBalancer.servers]]
  url = %q
`, slow, fast)
	g := startGateway(t, map[string]string{"lt.toml": cfg}, gatewayOpts{})
	const n = 30
	for range n {
		if code, _, _ := get(t, nil, g.url("/"), nil); code != 200 {
			t.Fatalf("status %d", code)
		}
	}
	// Both start unmeasured (score 0) and take turns: the slow server gets
	// one request, then its 30ms mean loses to the fast one's.
	if s := len(slowHits); s > 2 || hitsFast() < n-2 {
		t.Fatalf("slow=%d fast=%d over %d requests: leasttime should avoid the slow server", s, hitsFast(), n)
	}
}
