package e2e

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

// A mirror that takes 2 s per request (and, at the end, one that is gone)
// neither slows nor fails the main requests: copies beyond maxInFlight are
// dropped and counted.
func TestSlowMirrorNeverSlowsTheMainRequest(t *testing.T) {
	mainURL, mainHits := backend(t, "main")
	var inFlight, peak, received atomic.Int64
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		received.Add(1)
		time.Sleep(2 * time.Second)
	}))
	t.Cleanup(slow.Close)
	g := startGateway(t, map[string]string{"mirror.toml": fmt.Sprintf(`
[http.routers.shop]
  rule = "PathPrefix(`+"`/`"+`)"
  service = "mirrored"
[http.services.mirrored.mirroring]
  service = "main"
  maxInFlight = 4
  [[http.services.mirrored.mirroring.mirrors]]
    name = "shadow"
    percent = 100
[http.services.main.loadBalancer]
  [[http.services.main.loadBalancer.servers]]
    url = %q
[http.services.shadow.loadBalancer]
  [[http.services.shadow.loadBalancer.servers]]
    url = %q
`, mainURL, slow.URL)}, gatewayOpts{})

	const n = 60
	var slowest time.Duration
	for i := range n {
		start := time.Now()
		code, _, _ := get(t, http.DefaultClient, g.url("/order/"+strconv.Itoa(i)), nil)
		if code != http.StatusOK {
			t.Fatalf("main request %d: status %d", i, code)
		}
		slowest = max(slowest, time.Since(start))
	}
	t.Logf("%d main requests with a 2 s mirror: slowest %v; mirror received %d, peak %d in flight", n, slowest, received.Load(), peak.Load())
	if slowest > 500*time.Millisecond {
		t.Fatalf("a main request took %v while the mirror was slow; copies must not delay it", slowest)
	}
	if mainHits() != n {
		t.Fatalf("main service got %d requests, want %d", mainHits(), n)
	}
	if p := peak.Load(); p > 4 {
		t.Fatalf("%d copies in flight at once, maxInFlight is 4", p)
	}
	dropped := regexp.MustCompile(`guan_service_mirror_dropped_total\{mirror="shadow@file",service="mirrored@file"\} (\d+)`)
	m := dropped.FindStringSubmatch(g.metrics(t))
	if m == nil {
		t.Fatalf("no guan_service_mirror_dropped_total series:\n%s", grepLines(g.metrics(t), "mirror"))
	}
	if d, _ := strconv.Atoi(m[1]); d < n-8 || int64(d)+received.Load() != n {
		t.Fatalf("dropped %s copies and the mirror received %d of %d; want all but the ones in flight dropped", m[1], received.Load(), n)
	}

	// A mirror that is gone entirely: still no effect on the main requests.
	slow.Close()
	time.Sleep(2100 * time.Millisecond) // let the copies in flight finish
	for i := range 20 {
		start := time.Now()
		if code, _, _ := get(t, http.DefaultClient, g.url("/after/"+strconv.Itoa(i)), nil); code != http.StatusOK {
			t.Fatalf("main request with the mirror down: status %d", code)
		}
		if d := time.Since(start); d > 500*time.Millisecond {
			t.Fatalf("a main request took %v with the mirror down", d)
		}
	}
}
