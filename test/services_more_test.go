package e2e

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Mirroring, failover, sticky cookies, p2c and passive health checks, each
// behind its own host on one gateway.
func TestServicesEndToEnd(t *testing.T) {
	// mirroring: the main service answers, the shadow receives a copy.
	mainURL, mainHits := backend(t, "main")
	type copyReq struct{ method, uri, body string }
	copies := make(chan copyReq, 16)
	shadow := serveOn(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		copies <- copyReq{r.Method, r.RequestURI, string(b)}
		w.Header().Set("X-Backend", "shadow")
		io.WriteString(w, "shadow answer")
	}))
	// failover: two primary servers whose health can be switched, a fallback.
	p1, p1Healthy := switchable(t, "primary1")
	p2, p2Healthy := switchable(t, "primary2")
	fallback, _ := backend(t, "fallback")
	// sticky: three servers.
	s1, _ := backend(t, "s1")
	s2, _ := backend(t, "s2")
	s3, _ := backend(t, "s3")
	// p2c: a fast server and one that holds requests until released.
	fast, fastHits := backend(t, "fast")
	var slowHits atomic.Int64
	release := make(chan struct{})
	var releaseOnce sync.Once
	releaseSlow := func() { releaseOnce.Do(func() { close(release) }) }
	slow := serveOn(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		slowHits.Add(1)
		w.Header().Set("X-Backend", "slow")
		if r.URL.Path == "/hold" {
			<-release
		}
	}))
	// passive health: a live server and one that drops every connection.
	alive, aliveHits := backend(t, "alive")
	dead, deadConns := flakyBackend(t, 1<<40)

	cfg := ticked(fmt.Sprintf(`
[http.routers.mirror]
  rule = "Host(´mirror.test´)"
  service = "mirrored"
[http.services.mirrored.mirroring]
  service = "main"
  [[http.services.mirrored.mirroring.mirrors]]
    name = "shadow"
    percent = 100
[[http.services.main.loadBalancer.servers]]
  url = %q
[[http.services.shadow.loadBalancer.servers]]
  url = "http://%s"

[http.routers.failover]
  rule = "Host(´failover.test´)"
  service = "resilient"
[http.services.resilient.failover]
  service = "primary"
  fallback = "backup"
[http.services.primary.loadBalancer.healthCheck]
  path = "/health"
  interval = "100ms"
  timeout = "1s"
[[http.services.primary.loadBalancer.servers]]
  url = %q
[[http.services.primary.loadBalancer.servers]]
  url = %q
[[http.services.backup.loadBalancer.servers]]
  url = %q

[http.routers.sticky]
  rule = "Host(´sticky.test´)"
  service = "sticky"
[http.services.sticky.loadBalancer.sticky.cookie]
  name = "aff"
  httpOnly = true
[[http.services.sticky.loadBalancer.servers]]
  url = %q
[[http.services.sticky.loadBalancer.servers]]
  url = %q
[[http.services.sticky.loadBalancer.servers]]
  url = %q

[http.routers.p2c]
  rule = "Host(´p2c.test´)"
  service = "p2c"
[http.services.p2c.loadBalancer]
  strategy = "p2c"
[[http.services.p2c.loadBalancer.servers]]
  url = %q
[[http.services.p2c.loadBalancer.servers]]
  url = "http://%s"

[http.routers.passive]
  rule = "Host(´passive.test´)"
  service = "passive"
[http.services.passive.loadBalancer.passiveHealthCheck]
  failureWindow = "30s"
  maxFailedAttempts = 1
[[http.services.passive.loadBalancer.servers]]
  url = %q
[[http.services.passive.loadBalancer.servers]]
  url = %q
`, mainURL, shadow, p1, p2, fallback, s1, s2, s3, fast, slow, alive, dead))
	g := startGateway(t, map[string]string{"svc.toml": cfg}, gatewayOpts{})
	t.Cleanup(releaseSlow) // before the gateway stops, held requests must end

	do := func(t *testing.T, method, host, path, body string, cookies ...*http.Cookie) (int, string, http.Header) {
		t.Helper()
		var rd io.Reader
		if body != "" {
			rd = strings.NewReader(body)
		}
		req, err := http.NewRequest(method, g.url(path), rd)
		if err != nil {
			t.Fatal(err)
		}
		req.Host = host
		for _, c := range cookies {
			req.AddCookie(c)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), resp.Header
	}

	t.Run("mirroring", func(t *testing.T) {
		code, body, h := do(t, "POST", "mirror.test", "/orders?id=7", "payload")
		if code != 200 || h.Get("X-Backend") != "main" || !strings.HasPrefix(body, "main POST /orders?id=7") {
			t.Fatalf("client answer: %d %q %v", code, body, h)
		}
		select {
		case c := <-copies:
			if c != (copyReq{"POST", "/orders?id=7", "payload"}) {
				t.Fatalf("mirror received %+v", c)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("the mirror never received a copy")
		}
		if mainHits() != 1 {
			t.Fatalf("main service hits %d, want 1", mainHits())
		}
	})

	t.Run("failover", func(t *testing.T) {
		served := func() string {
			_, _, h := do(t, "GET", "failover.test", "/", "")
			return h.Get("X-Backend")
		}
		if b := served(); !strings.HasPrefix(b, "primary") {
			t.Fatalf("healthy primary: served by %q", b)
		}
		p1Healthy.Store(false)
		p2Healthy.Store(false)
		eventually(t, 10*time.Second, func() error {
			if b := served(); b != "fallback" {
				return fmt.Errorf("all primaries down, served by %q", b)
			}
			return nil
		})
		for i := 0; i < 5; i++ {
			if b := served(); b != "fallback" {
				t.Fatalf("request %d while primaries are down served by %q", i, b)
			}
		}
		p2Healthy.Store(true)
		eventually(t, 10*time.Second, func() error {
			if b := served(); b != "primary2" {
				return fmt.Errorf("primary2 recovered, served by %q", b)
			}
			return nil
		})
	})

	t.Run("sticky cookie", func(t *testing.T) {
		_, _, h := do(t, "GET", "sticky.test", "/", "")
		first := h.Get("X-Backend")
		var aff *http.Cookie
		for _, c := range (&http.Response{Header: h}).Cookies() {
			if c.Name == "aff" {
				aff = c
			}
		}
		if aff == nil || !aff.HttpOnly || strings.Contains(aff.Value, "127.0.0.1") {
			t.Fatalf("sticky cookie: %v (Set-Cookie %q)", aff, h.Values("Set-Cookie"))
		}
		for i := 0; i < 6; i++ {
			if _, _, h := do(t, "GET", "sticky.test", "/", "", &http.Cookie{Name: "aff", Value: aff.Value}); h.Get("X-Backend") != first {
				t.Fatalf("request %d with the cookie went to %q, first went to %q", i, h.Get("X-Backend"), first)
			}
		}
		seen := map[string]bool{}
		for i := 0; i < 3; i++ {
			_, _, h := do(t, "GET", "sticky.test", "/", "")
			seen[h.Get("X-Backend")] = true
		}
		if len(seen) < 2 {
			t.Fatalf("without the cookie requests should still be balanced: %v", seen)
		}
		// An unknown value is balanced normally and replaced.
		_, _, h = do(t, "GET", "sticky.test", "/", "", &http.Cookie{Name: "aff", Value: "bogus"})
		if !strings.Contains(strings.Join(h.Values("Set-Cookie"), ";"), "aff=") {
			t.Fatalf("unknown cookie value not replaced: %v", h)
		}
	})

	t.Run("p2c", func(t *testing.T) {
		seen := map[string]int{}
		for i := 0; i < 40; i++ {
			code, _, h := do(t, "GET", "p2c.test", "/", "")
			if code != 200 {
				t.Fatalf("status %d", code)
			}
			seen[h.Get("X-Backend")]++
		}
		if seen["fast"] == 0 || seen["slow"] == 0 {
			t.Fatalf("idle p2c should use both servers: %v", seen)
		}
		// While the slow server holds a request, p2c (comparing both servers)
		// sends every other request to the fast one.
		slowBefore, fastBefore := slowHits.Load(), fastHits()
		results := make(chan int, 20)
		for i := 0; i < 20; i++ {
			s, f := slowHits.Load(), fastHits()
			go func() {
				// Not do: t.Fatal must not run outside the test goroutine.
				req, _ := http.NewRequest("GET", g.url("/hold"), nil)
				req.Host = "p2c.test"
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					results <- -1
					return
				}
				resp.Body.Close()
				results <- resp.StatusCode
			}()
			eventually(t, 5*time.Second, func() error {
				if slowHits.Load() == s && fastHits() == f {
					return fmt.Errorf("request %d not received", i)
				}
				return nil
			})
		}
		if n := slowHits.Load() - slowBefore; n > 1 {
			t.Errorf("slow server got %d of 20 requests while one was in flight; fast got %d", n, fastHits()-fastBefore)
		}
		releaseSlow()
		for i := 0; i < 20; i++ {
			if code := <-results; code != 200 {
				t.Errorf("held request: %d", code)
			}
		}
	})

	t.Run("passive health", func(t *testing.T) {
		failures := 0
		for i := 0; i < 10; i++ {
			code, body, _ := do(t, "GET", "passive.test", "/", "")
			if code != 200 {
				failures++
				if code != 502 || body != "Bad Gateway" {
					t.Fatalf("failed request: %d %q", code, body)
				}
			}
		}
		if deadConns() != 1 || failures > 1 || aliveHits() < 9 {
			t.Fatalf("dead server got %d connections, %d requests failed, alive served %d: it should be ejected after one failure",
				deadConns(), failures, aliveHits())
		}
	})
}
