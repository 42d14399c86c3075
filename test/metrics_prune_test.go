package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// Removing a router, a service and a server removes their series from
// /metrics; the series of what remains stay.
func TestMetricsOfRemovedObjectsArePruned(t *testing.T) {
	a, _ := backend(t, "a")
	b, _ := backend(t, "b")
	c, _ := backend(t, "c")
	both := fmt.Sprintf(`
[http.routers.one]
  rule = "PathPrefix(`+"`/one`"+`)"
  service = "svc1"
[http.routers.two]
  rule = "PathPrefix(`+"`/two`"+`)"
  service = "svc2"
[[http.services.svc1.loadBalancer.servers]]
  url = %q
[[http.services.svc1.loadBalancer.servers]]
  url = %q
[[http.services.svc2.loadBalancer.servers]]
  url = %q
`, a, b, c)
	g := startGateway(t, map[string]string{"m.toml": both}, gatewayOpts{})
	for _, path := range []string{"/one", "/one", "/two"} {
		if code, _, _ := get(t, nil, g.url(path), nil); code != 200 {
			t.Fatalf("GET %s: %d", path, code)
		}
	}
	present := func(metrics string, series ...string) error {
		for _, s := range series {
			if !strings.Contains(metrics, s) {
				return fmt.Errorf("/metrics lacks %s", s)
			}
		}
		return nil
	}
	kept := []string{
		`router="one@file",service="svc1@file"`,
		`guan_service_requests_total{code="200",method="GET",protocol="http",service="svc1@file"} 2`,
		fmt.Sprintf(`guan_service_server_up{service="svc1@file",url=%q} 1`, a),
	}
	removed := []string{
		`router="two@file"`,
		`service="svc2@file"`,
		fmt.Sprintf(`url=%q`, b),
	}
	metrics := g.metrics(t)
	if err := present(metrics, append(kept, removed...)...); err != nil {
		t.Fatal(err)
	}

	g.writeDynamic("m.toml", fmt.Sprintf(`
[http.routers.one]
  rule = "PathPrefix(`+"`/one`"+`)"
  service = "svc1"
[[http.services.svc1.loadBalancer.servers]]
  url = %q
`, a))
	eventually(t, 10*time.Second, func() error {
		metrics := g.metrics(t)
		for _, s := range removed {
			if strings.Contains(metrics, s) {
				return fmt.Errorf("/metrics still has %s", s)
			}
		}
		return present(metrics, kept...)
	})
	if code, _, _ := get(t, nil, g.url("/two"), nil); code != 404 {
		t.Fatalf("removed router still routes: %d", code)
	}
}
