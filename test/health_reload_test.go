package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// sickBackend is a backend whose health endpoint answers 503; it counts the
// other requests it gets.
func sickBackend(t *testing.T) (url string, hits *atomic.Int64) {
	t.Helper()
	hits = &atomic.Int64{}
	addr := serveOn(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/health" {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		hits.Add(1)
		w.Header().Set("X-Backend", "sick")
	}))
	return "http://" + addr, hits
}

// A server found DOWN by its health check stays DOWN when a reload adds a
// server to its service: it takes no request, although its next probe is an
// hour away.
func TestHealthStateSurvivesAddedServer(t *testing.T) {
	sick, sickHits := sickBackend(t)
	// The good server counts requests, not health probes: the reload
	// probes it at a moment of the runtime's choosing.
	var goodCount atomic.Int64
	good := "http://" + serveOn(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/health" {
			goodCount.Add(1)
		}
		w.Header().Set("X-Backend", "good")
	}))
	goodHits := func() int { return int(goodCount.Load()) }
	cfg := func(urls ...string) string {
		var sb strings.Builder
		sb.WriteString(`
[http.routers.r]
  rule = "PathPrefix(` + "`/`" + `)"
  service = "svc"
[http.services.svc.loadBalancer.healthCheck]
  path = "/health"
  interval = "1h"
  timeout = "2s"
`)
		for _, u := range urls {
			fmt.Fprintf(&sb, "[[http.services.svc.loadBalancer.servers]]\n  url = %q\n", u)
		}
		return sb.String()
	}
	g := startGateway(t, map[string]string{"svc.toml": cfg(sick)}, gatewayOpts{})
	serverStatus := func() map[string]string {
		var svc struct {
			ServerStatus map[string]string `json:"serverStatus"`
		}
		_, body, _ := get(t, nil, g.apiURL("/api/http/services/svc@file"), nil)
		json.Unmarshal([]byte(body), &svc)
		return svc.ServerStatus
	}
	eventually(t, 10*time.Second, func() error {
		if st := serverStatus(); st[sick] != "DOWN" {
			return fmt.Errorf("server status %v, want %s DOWN", st, sick)
		}
		return nil
	})

	g.writeDynamic("svc.toml", cfg(sick, good))
	eventually(t, 10*time.Second, func() error {
		if st := serverStatus(); len(st) != 2 {
			return fmt.Errorf("server status %v, want two servers", st)
		}
		return nil
	})
	if st := serverStatus(); st[sick] != "DOWN" || st[good] != "UP" {
		t.Fatalf("after the reload: %v, want %s DOWN and %s UP", st, sick, good)
	}
	before := sickHits.Load()
	for range 20 {
		if code, _, h := get(t, nil, g.url("/"), nil); code != 200 || h.Get("X-Backend") != "good" {
			t.Fatalf("got %d from %q, want 200 from good", code, h.Get("X-Backend"))
		}
	}
	if n := sickHits.Load() - before; n != 0 || goodHits() != 20 {
		t.Fatalf("after the reload the DOWN server took %d requests, good %d", n, goodHits())
	}
	metrics := g.metrics(t)
	if want := fmt.Sprintf("guan_service_server_up{service=%q,url=%q} 0", "svc@file", sick); !strings.Contains(metrics, want) {
		t.Fatalf("/metrics lacks %s", want)
	}
}
