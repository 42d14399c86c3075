package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/guan-gateway/guan/test/redisserver"
)

// Three gateway processes share one limit of 100 req/s through a real
// Redis; with Redis killed they fall back to their own buckets without
// stalling requests, and share the limit again once Redis is back.
func TestRateLimitSharedThroughRedis(t *testing.T) {
	srv := redisserver.Start(t)
	be, _ := backend(t, "api")
	dyn := fmt.Sprintf(`
[http.routers.api]
  rule = "PathPrefix(`+"`/`"+`)"
  service = "api"
  middlewares = ["limit"]
[http.services.api.loadBalancer]
  [[http.services.api.loadBalancer.servers]]
    url = %q
[http.middlewares.limit.rateLimit]
  average = 100
  burst = 10
  [http.middlewares.limit.rateLimit.sourceCriterion]
    requestHeaderName = "X-Tenant"
  [http.middlewares.limit.rateLimit.redis]
    endpoints = [%q]
    dialTimeout = "250ms"
    readTimeout = "250ms"
    writeTimeout = "250ms"
`, be, srv.Addr)
	var gws []*gateway
	for range 3 {
		gws = append(gws, startGateway(t, map[string]string{"api.toml": dyn}, gatewayOpts{}))
	}

	// load sends requests of one tenant to every gateway, 3 senders per
	// gateway at 50 req/s each (450 req/s against a limit of 100), for d.
	load := func(d time.Duration) (admitted, refused int64, slowest time.Duration) {
		var ok, limited atomic.Int64
		var mu sync.Mutex
		var wg sync.WaitGroup
		stop := time.Now().Add(d)
		client := &http.Client{Timeout: 5 * time.Second}
		for _, g := range gws {
			for range 3 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					tick := time.NewTicker(20 * time.Millisecond)
					defer tick.Stop()
					for time.Now().Before(stop) {
						req, _ := http.NewRequest(http.MethodGet, g.url("/"), nil)
						req.Header.Set("X-Tenant", "acme")
						start := time.Now()
						resp, err := client.Do(req)
						took := time.Since(start)
						mu.Lock()
						slowest = max(slowest, took)
						mu.Unlock()
						if err != nil {
							t.Errorf("request failed: %v", err)
							return
						}
						resp.Body.Close()
						switch resp.StatusCode {
						case http.StatusOK:
							ok.Add(1)
						case http.StatusTooManyRequests:
							limited.Add(1)
						default:
							t.Errorf("status %d", resp.StatusCode)
						}
						<-tick.C
					}
				}()
			}
		}
		wg.Wait()
		return ok.Load(), limited.Load(), slowest
	}

	admitted, refused, _ := load(10 * time.Second)
	t.Logf("Redis up, 10 s: %d admitted, %d refused", admitted, refused)
	if admitted < 950 || admitted > 1050 {
		t.Fatalf("3 gateways admitted %d requests in 10 s (%d refused); the shared limit is 100/s (1000 ± 5%%)", admitted, refused)
	}

	srv.Kill()
	admitted, _, slowest := load(2 * time.Second)
	t.Logf("Redis down, 2 s: %d admitted, slowest request %v", admitted, slowest)
	if slowest > time.Second {
		t.Fatalf("with Redis killed a request took %v; the Redis timeouts are 250ms", slowest)
	}
	// Each gateway now limits on its own: more than the shared 210 pass,
	// at most 3 × (100/s × 2 s + the burst).
	if admitted <= 230 || admitted > 3*(200+10)+30 {
		t.Fatalf("with Redis down %d requests admitted in 2 s; want each gateway's local limit (about 3 × 210)", admitted)
	}
	for _, g := range gws {
		if m := g.metrics(t); !strings.Contains(m, `guan_middleware_decisions_total{middleware="limit@file",result="allowed_local",type="ratelimit"}`) {
			t.Fatalf("no allowed_local decisions in metrics while Redis is down:\n%s", grepLines(m, "decisions"))
		}
	}

	srv.Restart()
	eventually(t, 10*time.Second, func() error {
		for _, g := range gws {
			if !strings.Contains(g.out.String(), "Redis answers again") {
				return fmt.Errorf("a gateway has not seen Redis come back")
			}
		}
		return nil
	})
	admitted, _, _ = load(3 * time.Second)
	t.Logf("Redis back, 3 s: %d admitted", admitted)
	if admitted < 270 || admitted > 345 {
		t.Fatalf("after Redis came back 3 gateways admitted %d in 3 s; want the shared 100/s again (about 310)", admitted)
	}
}

func grepLines(s, substr string) string {
	var out []string
	for line := range strings.SplitSeq(s, "\n") {
		if strings.Contains(line, substr) {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}
