package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// selfSigned returns a PEM certificate (serial 4242) and key for name.
func selfSigned(t *testing.T, name string) (certPEM, keyPEM string, notAfter time.Time) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	notAfter = time.Now().Add(90 * 24 * time.Hour).Truncate(time.Second)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(4242), Subject: pkix.Name{CommonName: name}, DNSNames: []string{name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: notAfter}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kb})), notAfter
}

func TestAPIMetricsAndAccessLog(t *testing.T) {
	a, _ := backend(t, "a")
	logPath := filepath.Join(t.TempDir(), "access.json")
	certPEM, keyPEM, notAfter := selfSigned(t, "cert.test")
	cfg := routeTo("a", a) + `
[http.middlewares.tag.headers.customRequestHeaders]
  X-Tag = "1"
[http.routers.demo]
  rule = "Host(` + "`demo.localhost`" + `)"
  service = "demo@internal"
[[tls.certificates]]
  certFile = """` + certPEM + `"""
  keyFile = """` + keyPEM + `"""
`
	g := startGateway(t, map[string]string{"main.toml": strings.Replace(cfg, `service = "svc"`, "service = \"svc\"\n  middlewares = [\"tag\"]", 1)},
		gatewayOpts{extraStatic: jsonAccessLog(logPath)})
	for i := 0; i < 3; i++ {
		if code, _, _ := get(t, nil, g.url("/api-test"), nil); code != 200 {
			t.Fatalf("status %d", code)
		}
	}
	// A user router to an internal service is logged and counted; the
	// internal routers (ping, API, metrics) are not, by default.
	if code, _, _ := get(t, nil, g.url("/demo-test"), map[string]string{"Host": "demo.localhost"}); code != 200 {
		t.Fatalf("demo status %d", code)
	}
	if code, _, _ := get(t, nil, g.apiURL("/ping"), nil); code != 200 {
		t.Fatalf("ping status %d", code)
	}

	t.Run("api", func(t *testing.T) {
		var routers []map[string]any
		_, body, _ := get(t, nil, g.apiURL("/api/http/routers"), nil)
		if err := json.Unmarshal([]byte(body), &routers); err != nil {
			t.Fatalf("%v: %s", err, body)
		}
		var main map[string]any
		for _, r := range routers {
			if r["name"] == "main@file" {
				main = r
			}
		}
		if main == nil || main["status"] != "enabled" || main["service"] != "svc@file" || main["provider"] != "file" {
			t.Fatalf("main router in API: %v", main)
		}
		var ov map[string]any
		_, body, _ = get(t, nil, g.apiURL("/api/overview"), nil)
		if err := json.Unmarshal([]byte(body), &ov); err != nil || ov["http"] == nil {
			t.Fatalf("overview: %v %s", err, body)
		}
		code, body, _ := get(t, nil, g.apiURL("/api/http/middlewares/tag@file"), nil)
		if code != 200 || !strings.Contains(body, `"usedBy":["main@file"]`) {
			t.Fatalf("middleware: %d %s", code, body)
		}
		if code, _, _ := get(t, nil, g.apiURL("/api/rawdata"), nil); code != 200 {
			t.Fatalf("rawdata: %d", code)
		}
		if code, body, _ := get(t, nil, g.apiURL("/dashboard/"), nil); code != 200 || !strings.Contains(strings.ToLower(body), "<html") {
			t.Fatalf("dashboard: %d", code)
		}
		// The API is not reachable from the public entrypoint.
		if _, body, _ := get(t, nil, g.url("/api/overview"), nil); strings.Contains(body, `"http"`) {
			t.Fatalf("API leaked on the web entrypoint: %s", body)
		}
	})

	t.Run("metrics", func(t *testing.T) {
		body := g.metrics(t)
		// Names and labels are Traefik v3's with the guan_ prefix.
		for _, want := range []string{
			`guan_entrypoint_requests_total{code="200",entrypoint="web",method="GET",protocol="http"}`,
			"\nguan_config_reloads_total ",
			"\nguan_config_last_reload_success ",
			`guan_open_connections{entrypoint="web",protocol="HTTP"}`,
			`router="main@file"`,
			`guan_router_requests_total{code="200",method="GET",protocol="http",router="demo@file",service="demo@internal"} 1`,
			fmt.Sprintf(`guan_tls_certs_not_after{cn="cert.test",sans="cert.test",serial="4242"} %s`, strconv.FormatFloat(float64(notAfter.Unix()), 'e', -1, 64)),
		} {
			if !strings.Contains(body, want) {
				t.Errorf("metrics lack %q", want)
			}
		}
		for _, unwanted := range []string{
			`guan_config_reloads_total{`,
			`guan_config_last_reload_success_timestamp_seconds`,
			`guan_open_connections{entrypoint="web",protocol="http"}`,
			`entrypoint="traefik",method=`, // only internal routers there: /ping, /api, /metrics
			`@internal",service=`,          // no internal router series
		} {
			if strings.Contains(body, unwanted) {
				t.Errorf("metrics have %q", unwanted)
			}
		}
	})

	t.Run("access-log-json", func(t *testing.T) {
		var entry map[string]any
		eventually(t, 5*time.Second, func() (err error) {
			entry, err = accessLogLine(logPath, "/api-test")
			return err
		})
		for k, want := range map[string]any{"RouterName": "main@file", "ServiceName": "svc@file", "DownstreamStatus": 200.0,
			"OriginStatus": 200.0, "RequestMethod": "GET", "entryPointName": "web", "ServiceURL": a} {
			if entry[k] != want {
				t.Errorf("access log %s = %v, want %v", k, entry[k], want)
			}
		}
	})

	t.Run("access-log-leaves-out-internal-routers", func(t *testing.T) {
		b, err := os.ReadFile(logPath)
		if err != nil {
			t.Fatal(err)
		}
		demo := false
		for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			var e map[string]any
			if err := json.Unmarshal([]byte(line), &e); err != nil {
				t.Fatalf("%v: %s", err, line)
			}
			router, _ := e["RouterName"].(string)
			path, _ := e["RequestPath"].(string)
			if path == "/ping" || strings.HasSuffix(router, "@internal") || e["entryPointName"] == "traefik" {
				t.Errorf("internal request logged without accessLog.addInternals: %s", line)
			}
			if router == "demo@file" && e["ServiceName"] == "demo@internal" {
				demo = true
			}
		}
		if !demo {
			t.Errorf("the demo@file request to demo@internal is not logged:\n%s", b)
		}
	})
}

// The default static configuration and the demo it loads pass `gateway check`
// from the repository root, as `go run ./cmd/gateway` would use them.
func TestDefaultConfigurationChecks(t *testing.T) {
	cmd := exec.Command(gatewayBin, "check")
	cmd.Dir = ".."
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("default configuration: %v\n%s", err, out)
	}
}

// Without any provider the internal routers still exist: /ping answers and
// entrypoint redirections apply.
func TestNoProviderStillServesInternals(t *testing.T) {
	dir := t.TempDir()
	web, api, secure := freePort(t), freePort(t), freePort(t)
	writeFile(t, dir+"/static.toml", fmt.Sprintf(`
[entryPoints.web]
  address = "127.0.0.1:%d"
  [entryPoints.web.http.redirections.entryPoint]
    to = "websecure"
[entryPoints.websecure]
  address = "127.0.0.1:%d"
[entryPoints.traefik]
  address = "127.0.0.1:%d"
[ping]
`, web, secure, api))
	cmd := exec.Command(gatewayBin, "--configFile="+dir+"/static.toml")
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	eventually(t, 20*time.Second, func() error {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/ping", api))
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("ping %d", resp.StatusCode)
		}
		return nil
	})
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	_, _, h := get(t, c, fmt.Sprintf("http://127.0.0.1:%d/x", web), nil)
	if loc := h.Get("Location"); loc != fmt.Sprintf("https://127.0.0.1:%d/x", secure) {
		t.Fatalf("redirection Location %q\n%s", loc, out.String())
	}
	// api is not enabled: /api is not served anywhere.
	if code, _, _ := get(t, nil, fmt.Sprintf("http://127.0.0.1:%d/api/rawdata", api), nil); code != 404 {
		t.Fatalf("API answered %d without [api]", code)
	}
}

// The API answers in Traefik v3's shapes: /api/rawdata is the runtime view,
// entrypoints show their static configuration, an entrypoint redirection
// lists its redirectScheme middleware, and the TCP middleware, UDP and
// support-dump endpoints exist.
func TestAPITraefikShapes(t *testing.T) {
	a, _ := backend(t, "a")
	redir, secure := freePort(t), freePort(t)
	g := startGateway(t, map[string]string{"main.toml": routeTo("a", a)}, gatewayOpts{
		extraEPs:    map[string]int{"redir": redir, "websecure": secure},
		extraStatic: "[entryPoints.redir.http.redirections.entryPoint]\n  to = \"websecure\"\n",
	})
	getJSON := func(path string, out any) {
		t.Helper()
		code, body, _ := get(t, nil, g.apiURL(path), nil)
		if code != 200 {
			t.Fatalf("%s: %d %s", path, code, body)
		}
		if err := json.Unmarshal([]byte(body), out); err != nil {
			t.Fatalf("%s: %v: %s", path, err, body)
		}
	}

	var raw map[string]map[string]map[string]any
	getJSON("/api/rawdata", &raw)
	if raw["http"] != nil || raw["routers"]["main@file"]["status"] != "enabled" || raw["services"]["svc@file"]["status"] != "enabled" {
		t.Fatalf("rawdata is not the runtime view: %v", raw)
	}
	rt := raw["routers"]["redir-to-websecure@internal"]
	if fmt.Sprint(rt["middlewares"]) != "[redirect-redir-to-websecure@internal]" || rt["service"] != "noop@internal" || rt["status"] != "enabled" {
		t.Fatalf("redirection router: %v", rt)
	}

	var mw map[string]any
	getJSON("/api/http/middlewares/redirect-redir-to-websecure@internal", &mw)
	want := fmt.Sprintf(`{"name":"redirect-redir-to-websecure@internal","provider":"internal","redirectScheme":{"permanent":true,"port":"%d","scheme":"https"},"status":"enabled","type":"redirectscheme","usedBy":["redir-to-websecure@internal"]}`, secure)
	if b, _ := json.Marshal(mw); string(b) != want {
		t.Fatalf("redirection middleware:\n got %s\nwant %s", b, want)
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	if code, _, h := get(t, c, fmt.Sprintf("http://127.0.0.1:%d/x", redir), nil); code != http.StatusMovedPermanently ||
		h.Get("Location") != fmt.Sprintf("https://127.0.0.1:%d/x", secure) {
		t.Fatalf("redirection: %d %q", code, h.Get("Location"))
	}

	var ep map[string]any
	getJSON("/api/entrypoints/web", &ep)
	tr, _ := ep["transport"].(map[string]any)
	if b, _ := json.Marshal(tr); string(b) != `{"lifeCycle":{"graceTimeOut":"10s"},"respondingTimeouts":{"idleTimeout":"3m0s","readTimeout":"1m0s"}}` ||
		ep["name"] != "web" || ep["address"] != fmt.Sprintf("127.0.0.1:%d", g.web) {
		t.Fatalf("entrypoint web: %v", ep)
	}
	ep = nil
	getJSON("/api/entrypoints/redir", &ep)
	if b, _ := json.Marshal(ep["http"]); !strings.Contains(string(b), `"redirections":{"entryPoint":{"permanent":true,"priority":2147483646,"scheme":"https","to":"websecure"}}`) {
		t.Fatalf("entrypoint redir http: %s", b)
	}

	var ov map[string]any
	getJSON("/api/overview", &ov)
	if fmt.Sprint(ov["providers"]) != "[File]" {
		t.Fatalf("overview providers: %v", ov["providers"])
	}
	for _, p := range []string{"/api/tcp/middlewares", "/api/udp/routers", "/api/udp/services"} {
		if code, body, h := get(t, nil, g.apiURL(p), nil); code != 200 || strings.TrimSpace(body) != "[]" || h.Get("X-Next-Page") != "1" {
			t.Errorf("%s: %d %q next %q", p, code, body, h.Get("X-Next-Page"))
		}
	}
	if code, body, h := get(t, nil, g.apiURL("/api/support-dump"), nil); code != 200 || h.Get("Content-Type") != "application/gzip" || !strings.HasPrefix(body, "\x1f\x8b") {
		t.Errorf("support-dump: %d %q", code, h.Get("Content-Type"))
	}
}
