package e2e

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// A backend that goes away trips the breaker: after a few 502s the gateway
// answers 503 itself, and the breaker closes again once the backend is back.
func TestCircuitBreakerTripsOnDeadBackend(t *testing.T) {
	be := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) }))
	be.Start()
	addr := be.Listener.Addr().String()
	g := startGateway(t, map[string]string{"cb.toml": fmt.Sprintf(`
[http.routers.app]
  rule = "PathPrefix(`+"`/`"+`)"
  service = "app"
  middlewares = ["guard"]
[http.services.app.loadBalancer]
  [[http.services.app.loadBalancer.servers]]
    url = "http://%s"
[http.middlewares.guard.circuitBreaker]
  expression = "NetworkErrorRatio() > 0.5"
  checkPeriod = "20ms"
  fallbackDuration = "500ms"
  recoveryDuration = "200ms"
`, addr)}, gatewayOpts{})
	if code, _, _ := get(t, http.DefaultClient, g.url("/"), nil); code != 200 {
		t.Fatalf("backend up: %d", code)
	}
	be.Close()
	codes := map[int]int{}
	for range 40 {
		code, _, _ := get(t, http.DefaultClient, g.url("/"), nil)
		codes[code]++
		time.Sleep(5 * time.Millisecond)
	}
	if codes[http.StatusBadGateway] == 0 || codes[http.StatusServiceUnavailable] < 20 {
		t.Fatalf("backend down: %v; want a few 502 then the breaker's 503", codes)
	}
	if m := g.metrics(t); !strings.Contains(m, `guan_middleware_decisions_total{middleware="guard@file",result="refused",type="circuitbreaker"}`) {
		t.Fatalf("refusals not counted:\n%s", grepLines(m, "decisions"))
	}

	// The backend comes back on the same address; after fallback and
	// recovery every request passes again.
	ln := listenOn(t, addr)
	back := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) })}
	go back.Serve(ln)
	t.Cleanup(func() { back.Close() })
	eventually(t, 5*time.Second, func() error {
		for range 5 {
			if code, _, _ := get(t, http.DefaultClient, g.url("/"), nil); code != 200 {
				return fmt.Errorf("status %d", code)
			}
		}
		return nil
	})
}

// listenOn listens on addr again, retrying while the old socket lingers.
func listenOn(t *testing.T, addr string) net.Listener {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		ln, err := net.Listen("tcp", addr)
		if err == nil {
			return ln
		}
		if time.Now().After(deadline) {
			t.Fatalf("listen on %s again: %v", addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
