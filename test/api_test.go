package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestAPIMetricsAndAccessLog(t *testing.T) {
	a, _ := backend(t, "a")
	logPath := filepath.Join(t.TempDir(), "access.json")
	cfg := routeTo("a", a) + `
[http.middlewares.tag.headers.customRequestHeaders]
  X-Tag = "1"
`
	g := startGateway(t, map[string]string{"main.toml": strings.Replace(cfg, `service = "svc"`, "service = \"svc\"\n  middlewares = [\"tag\"]", 1)},
		gatewayOpts{extraStatic: fmt.Sprintf("[accessLog]\n  filePath = %q\n  format = \"json\"\n", logPath)})
	for i := 0; i < 3; i++ {
		if code, _, _ := get(t, nil, g.url("/api-test"), nil); code != 200 {
			t.Fatalf("status %d", code)
		}
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
		_, body, _ := get(t, nil, g.apiURL("/metrics"), nil)
		for _, want := range []string{
			`guan_entrypoint_requests_total{code="200",entrypoint="web",method="GET",protocol="http"}`,
			`guan_config_reloads_total`,
			`guan_open_connections`,
			`router="main@file"`,
		} {
			if !strings.Contains(body, want) {
				t.Errorf("metrics lack %s", want)
			}
		}
	})

	t.Run("access-log-json", func(t *testing.T) {
		var entry map[string]any
		eventually(t, 5*time.Second, func() error {
			f, err := os.Open(logPath)
			if err != nil {
				return err
			}
			defer f.Close()
			sc := bufio.NewScanner(f)
			for sc.Scan() {
				var e map[string]any
				if json.Unmarshal(sc.Bytes(), &e) == nil && e["RequestPath"] == "/api-test" {
					entry = e
					return nil
				}
			}
			return fmt.Errorf("no access log line for /api-test yet")
		})
		for k, want := range map[string]any{"RouterName": "main@file", "ServiceName": "svc@file", "DownstreamStatus": 200.0,
			"OriginStatus": 200.0, "RequestMethod": "GET", "entryPointName": "web", "ServiceURL": a} {
			if entry[k] != want {
				t.Errorf("access log %s = %v, want %v", k, entry[k], want)
			}
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
