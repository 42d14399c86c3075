package e2e

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestObservabilitySwitches: routers and entrypoints can leave their
// requests out of the access log and metrics; a router's own settings
// replace its entrypoint's.
func TestObservabilitySwitches(t *testing.T) {
	a, _ := backend(t, "a")
	dyn := fmt.Sprintf(`
http:
  routers:
    quiet:
      rule: "Path(`+"`/quiet`"+`)"
      service: a
      observability: {accessLogs: false, metrics: false}
    plain:
      rule: "Path(`+"`/plain`"+`)"
      service: a
    loud:
      rule: "Path(`+"`/loud`"+`)"
      service: a
      observability: {metrics: true}
  services:
    a: {loadBalancer: {servers: [{url: "%s"}]}}
`, a)
	for _, tc := range []struct {
		name       string
		epSettings string
		logged     map[string]bool
	}{
		{"entrypoint default", "", map[string]bool{"/quiet": false, "/plain": true, "/loud": true}},
		{"entrypoint quiet", "[entryPoints.web.observability]\n  accessLogs = false\n  metrics = false\n",
			map[string]bool{"/quiet": false, "/plain": false, "/loud": true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			logPath := filepath.Join(t.TempDir(), "access.json")
			g := startGateway(t, map[string]string{"r.yaml": dyn}, gatewayOpts{extraStatic: tc.epSettings + jsonAccessLog(logPath)})
			for _, p := range []string{"/quiet", "/plain", "/loud", "/loud"} {
				if code, _, _ := get(t, nil, g.url(p), nil); code != 200 {
					t.Fatalf("%s: %d", p, code)
				}
			}
			// The access log is written after the response: wait for the
			// last request's line, then read the whole file.
			seen := map[string]bool{}
			eventually(t, 10*time.Second, func() error {
				entries, err := accessLogEntries(logPath)
				if err != nil {
					return err
				}
				clear(seen)
				for _, e := range entries {
					seen[fmt.Sprint(e["RequestPath"])] = true
				}
				if !seen["/loud"] {
					return fmt.Errorf("no line for /loud yet")
				}
				return nil
			})
			time.Sleep(100 * time.Millisecond) // a stray line would land now
			metrics := g.metrics(t)
			for path, want := range tc.logged {
				if seen[path] != want {
					t.Errorf("%s in the access log: %v, want %v", path, seen[path], want)
				}
				router := strings.TrimPrefix(path, "/") + "@file"
				counted := strings.Contains(metrics, `guan_router_requests_total{code="200",method="GET",protocol="http",router="`+router+`"`)
				if counted != want {
					t.Errorf("%s in router metrics: %v, want %v", path, counted, want)
				}
			}
		})
	}
}
