package e2e

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// chromiumDOM renders url in headless Chromium, letting scripts run, and
// returns the resulting DOM.
func chromiumDOM(t *testing.T, url string) string {
	t.Helper()
	bin, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("chromium is not installed (apt-get install chromium; scripts/test.sh does it)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
		"--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir="+t.TempDir(), "--virtual-time-budget=5000", "--dump-dom", url).Output()
	if err != nil {
		t.Fatalf("chromium: %v", err)
	}
	return string(out)
}

// An operator opening the dashboard sees every router with its status, and
// the reason a broken one is disabled.
func TestDashboardInBrowser(t *testing.T) {
	a, _ := backend(t, "a")
	cfg := routeTo("a", a) + `
[http.routers.broken]
  rule = "Host(` + "`broken.test`" + `)"
  service = "missing"
[mqtt.routers.devices]
  rule = "ClientIDPrefix(` + "`dev-`" + `)"
  service = "brokers"
[mqtt.services.brokers.loadBalancer]
  [[mqtt.services.brokers.loadBalancer.servers]]
    address = "127.0.0.1:1"
`
	g := startGateway(t, map[string]string{"main.toml": cfg}, gatewayOpts{
		extraEPs:    map[string]int{"websecure": freePort(t)},
		extraStatic: "[entryPoints.websecure.http3]\n",
	})
	dom := chromiumDOM(t, g.apiURL("/dashboard/#entrypoints"))
	if !strings.Contains(dom, "websecure") || !strings.Contains(dom, "HTTP/3 (UDP)") {
		t.Errorf("entrypoints view does not show websecure with HTTP/3")
	}
	dom = chromiumDOM(t, g.apiURL("/dashboard/#http-routers"))
	for _, want := range []string{"main@file", "broken@file", "PathPrefix(`/`)", "disabled",
		`service "missing@file" does not exist`, "enabled"} {
		if !strings.Contains(dom, strings.ReplaceAll(want, `"`, "&quot;")) && !strings.Contains(dom, want) {
			t.Errorf("dashboard does not show %q", want)
		}
	}
	dom = chromiumDOM(t, g.apiURL("/dashboard/#http-services"))
	if !strings.Contains(dom, a) || !strings.Contains(dom, "UP") {
		t.Errorf("services view does not show the server %s as UP", a)
	}
	// MQTT routers and broker pools, with their live connections.
	dom = chromiumDOM(t, g.apiURL("/dashboard/#mqtt-routers"))
	for _, want := range []string{"devices@file", "ClientIDPrefix(`dev-`)", "WebSocket only", "brokers@file"} {
		if !strings.Contains(dom, want) {
			t.Errorf("MQTT routers view does not show %q", want)
		}
	}
	dom = chromiumDOM(t, g.apiURL("/dashboard/#mqtt-services"))
	for _, want := range []string{"brokers@file", "127.0.0.1:1", "clientID", "0 connected"} {
		if !strings.Contains(dom, want) {
			t.Errorf("MQTT services view does not show %q", want)
		}
	}
	if t.Failed() {
		fmt.Println(dom)
	}
}
