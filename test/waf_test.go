package e2e

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

// waf from a dynamic file: the CRS blocks an SQL injection with 403 and a
// request id, passes an ordinary request, and counts both.
func TestWAFMiddleware(t *testing.T) {
	be, hits := backend(t, "shop")
	g := startGateway(t, map[string]string{"waf.toml": fmt.Sprintf(`
[http.routers.shop]
  rule = "PathPrefix(`+"`/`"+`)"
  service = "shop"
  middlewares = ["shield"]
[http.services.shop.loadBalancer]
  [[http.services.shop.loadBalancer.servers]]
    url = %q
[http.middlewares.shield.waf]
  paranoiaLevel = 1
`, be)}, gatewayOpts{})
	ua := map[string]string{"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0", "Accept": "text/html"}
	if code, _, _ := get(t, http.DefaultClient, g.url("/products?page=2&sort=price"), ua); code != 200 {
		t.Fatalf("ordinary request: %d", code)
	}
	code, body, h := get(t, http.DefaultClient, g.url("/products?id=1%27%20OR%20%271%27%3D%271"), ua)
	if code != 403 || h.Get("X-Request-Id") == "" || !strings.Contains(body, h.Get("X-Request-Id")) {
		t.Fatalf("SQL injection: %d %q %v", code, body, h)
	}
	if hits() != 1 {
		t.Fatalf("the service got %d requests; the blocked one must not reach it", hits())
	}
	eventually(t, 5*time.Second, func() error {
		out := g.out.String()
		if !strings.Contains(out, "waf: request blocked") || !regexp.MustCompile(`matched=\S*942100\S*949110`).MatchString(out) {
			return fmt.Errorf("no log line naming the rules of the block")
		}
		return nil
	})
	m := g.metrics(t)
	for _, r := range []string{"allowed", "blocked"} {
		if !strings.Contains(m, `guan_middleware_decisions_total{middleware="shield@file",result="`+r+`",type="waf"} 1`) {
			t.Fatalf("%s not counted:\n%s", r, grepLines(m, "decisions"))
		}
	}
}
