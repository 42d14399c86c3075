package e2e

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// forwardAuth from a dynamic file: the authentication server decides by
// the Authorization header; its identity header reaches the service, its
// refusal reaches the client, and the access log names the user and the
// refusal.
func TestForwardAuth(t *testing.T) {
	auth := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer good" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="e2e"`)
			http.Error(w, "who are you?", http.StatusUnauthorized)
			return
		}
		w.Header().Set("X-Auth-User", "carol:"+r.Header.Get("X-Forwarded-Method")+":"+r.Header.Get("X-Forwarded-Uri"))
	}))
	t.Cleanup(auth.Close)
	svc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello "+r.Header.Get("X-Auth-User"))
	}))
	t.Cleanup(svc.Close)
	dir := t.TempDir()
	logPath := filepath.Join(dir, "access.json")
	g := startGateway(t, map[string]string{"auth.toml": fmt.Sprintf(`
[http.routers.app]
  rule = "PathPrefix(`+"`/`"+`)"
  service = "app"
  middlewares = ["sso"]
[http.services.app.loadBalancer]
  [[http.services.app.loadBalancer.servers]]
    url = %q
[http.middlewares.sso.forwardAuth]
  address = %q
  authResponseHeaders = ["X-Auth-User"]
  headerField = "X-Auth-User"
`, svc.URL, auth.URL+"/check")}, gatewayOpts{extraStatic: jsonAccessLog(logPath)})

	code, body, _ := get(t, http.DefaultClient, g.url("/orders?id=1"), map[string]string{"Authorization": "Bearer good", "X-Auth-User": "mallory"})
	if code != 200 || body != "hello carol:GET:/orders?id=1" {
		t.Fatalf("allowed: %d %q", code, body)
	}
	code, body, h := get(t, http.DefaultClient, g.url("/orders"), map[string]string{"Authorization": "Bearer bad"})
	if code != 401 || !strings.Contains(body, "who are you?") || h.Get("WWW-Authenticate") != `Bearer realm="e2e"` {
		t.Fatalf("denied: %d %q %v", code, body, h)
	}
	eventually(t, 5*time.Second, func() error {
		ok, err := accessLogLine(logPath, "/orders?id=1")
		if err != nil {
			return err
		}
		if ok["ClientUsername"] != "carol:GET:/orders?id=1" {
			return fmt.Errorf("allowed line: ClientUsername %v", ok["ClientUsername"])
		}
		denied, err := accessLogLine(logPath, "/orders")
		if err != nil {
			return err
		}
		if denied["MiddlewareDecision"] != "sso@file:denied" || denied["DownstreamStatus"] != 401.0 {
			return fmt.Errorf("denied line: %v", denied)
		}
		return nil
	})
	if m := g.metrics(t); !strings.Contains(m, `guan_middleware_decisions_total{middleware="sso@file",result="denied",type="forwardauth"} 1`) {
		t.Fatalf("decisions not counted:\n%s", grepLines(m, "decisions"))
	}
}
