package e2e

import (
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Routers without entryPoints attach only to the entrypoints marked
// asDefault; a router naming its entrypoint is unaffected.
func TestAsDefaultEntryPoint(t *testing.T) {
	be, _ := backend(t, "be")
	public := freePort(t)
	g := startGateway(t, map[string]string{"r.toml": fmt.Sprintf(`
[http.routers.unnamed]
  rule = "Path(`+"`/unnamed`"+`)"
  service = "be"
[http.routers.named]
  rule = "Path(`+"`/named`"+`)"
  service = "be"
  entryPoints = ["web"]
[[http.services.be.loadBalancer.servers]]
  url = %q
`, be)}, gatewayOpts{extraStatic: fmt.Sprintf("[entryPoints.public]\n  address = \"127.0.0.1:%d\"\n  asDefault = true\n", public)})
	pub := func(path string) string { return fmt.Sprintf("http://127.0.0.1:%d%s", public, path) }
	for _, c := range []struct {
		url  string
		code int
	}{
		{pub("/unnamed"), 200},
		{g.url("/unnamed"), 404},
		{g.apiURL("/unnamed"), 404},
		{g.url("/named"), 200},
		{pub("/named"), 404},
	} {
		if code, body, _ := get(t, nil, c.url, nil); code != c.code {
			t.Errorf("GET %s: %d %q, want %d", c.url, code, body, c.code)
		}
	}
}

// The static serversTransport is the transport of every service that names
// none (default@internal); a service naming its own transport is
// unaffected.
func TestStaticServersTransport(t *testing.T) {
	tlsBE := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "secure backend")
	}))
	tlsBE.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake of /own
	tlsBE.StartTLS()
	t.Cleanup(tlsBE.Close)
	ca := filepath.Join(t.TempDir(), "backend-ca.pem")
	writeFile(t, ca, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: tlsBE.Certificate().Raw})))

	g := startGateway(t, map[string]string{"r.toml": fmt.Sprintf(`
[http.routers.dflt]
  rule = "Path(`+"`/default`"+`)"
  service = "dflt"
[http.routers.own]
  rule = "Path(`+"`/own`"+`)"
  service = "own"
[[http.services.dflt.loadBalancer.servers]]
  url = %[1]q
[http.services.own.loadBalancer]
  serversTransport = "system-roots"
  [[http.services.own.loadBalancer.servers]]
    url = %[1]q
[http.serversTransports.system-roots]
`, tlsBE.URL)}, gatewayOpts{
		extraStatic: fmt.Sprintf("[serversTransport]\n  rootCAs = [%q]\n  maxIdleConnsPerHost = 4\n", ca) +
			"  [serversTransport.forwardingTimeouts]\n    dialTimeout = \"2s\"\n    responseHeaderTimeout = \"5s\"\n",
	})
	if code, body, _ := get(t, nil, g.url("/default"), nil); code != 200 || body != "secure backend" {
		t.Errorf("service without a transport: %d %q, want the backend trusted through the static rootCAs", code, body)
	}
	if code, _, _ := get(t, nil, g.url("/own"), nil); code != http.StatusBadGateway {
		t.Errorf("service with its own transport: %d, want 502 (the backend's CA is not a system root)", code)
	}
	// The API's runtime view, like Traefik's, lists no transports; the
	// service on the static transport (default@internal) runs.
	if code, body, _ := get(t, nil, g.apiURL("/api/rawdata"), nil); code != 200 || !strings.Contains(body, `"dflt@file":{"loadBalancer"`) ||
		strings.Contains(body, `"error"`) {
		t.Errorf("rawdata: %d %s", code, body)
	}
}

// `gateway check` loads the static serversTransport's files relative to the
// static file, whatever the working directory, and reports a bad one with
// its position.
func TestStaticServersTransportCheck(t *testing.T) {
	tlsBE := httptest.NewTLSServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	tlsBE.Close()
	dir := t.TempDir()
	conf := filepath.Join(dir, "conf")
	mustMkdir(t, conf)
	writeFile(t, filepath.Join(conf, "ca.pem"), string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: tlsBE.Certificate().Raw})))
	static := filepath.Join(conf, "static.toml")
	run := func(rootCAs string) (string, error) {
		writeFile(t, static, fmt.Sprintf("[entryPoints.web]\n  address = \":80\"\n[serversTransport]\n  rootCAs = [%s]\n", rootCAs))
		cmd := exec.Command(gatewayBin, "check", "--configFile="+static)
		cmd.Dir = os.TempDir()
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := run(`"ca.pem"`); err != nil {
		t.Fatalf("relative rootCAs: %v\n%s", err, out)
	}
	out, err := run(`"ca.pem", "missing.pem"`)
	want := static + `:4:24: serversTransport.rootCAs[1]: read ` + filepath.Join(conf, "missing.pem")
	if err == nil || !strings.Contains(out, want) {
		t.Fatalf("missing rootCAs file: %v\n%s\nwant %s", err, out, want)
	}
}
