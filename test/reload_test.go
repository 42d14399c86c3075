package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

func routeTo(name, url string) string {
	return fmt.Sprintf(`
[http.routers.main]
  rule = "PathPrefix(`+"`/`"+`)"
  service = "svc"
[http.services.svc.loadBalancer]
  [[http.services.svc.loadBalancer.servers]]
    url = %q
`, url)
}

// While a client loop runs over keep-alive connections, the configuration is
// switched back and forth: every request must succeed and reach one of the
// two backends, and the switch must take effect.
func TestHotReloadLosesNoRequest(t *testing.T) {
	a, _ := backend(t, "a")
	b, _ := backend(t, "b")
	g := startGateway(t, map[string]string{"main.toml": routeTo("a", a)}, gatewayOpts{})

	var failures, total atomic.Int64
	seen := sync.Map{}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := &http.Client{Timeout: 5 * time.Second}
			for {
				select {
				case <-stop:
					return
				default:
				}
				resp, err := c.Get(g.url("/loop"))
				total.Add(1)
				if err != nil {
					failures.Add(1)
					t.Errorf("request failed during reload: %v", err)
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					failures.Add(1)
					t.Errorf("status %d during reload", resp.StatusCode)
					continue
				}
				seen.Store(resp.Header.Get("X-Backend"), true)
			}
		}()
	}
	for i := 0; i < 6; i++ {
		target := a
		if i%2 == 0 {
			target = b
		}
		g.writeDynamic("main.toml", routeTo("x", target))
		want := map[string]string{a: "a", b: "b"}[target]
		eventually(t, 10*time.Second, func() error {
			_, _, h := get(t, nil, g.url("/check"), nil)
			if got := h.Get("X-Backend"); got != want {
				return fmt.Errorf("still routed to %q, want %q", got, want)
			}
			return nil
		})
	}
	close(stop)
	wg.Wait()
	if failures.Load() != 0 || total.Load() < 50 {
		t.Fatalf("%d of %d requests failed", failures.Load(), total.Load())
	}
	for _, name := range []string{"a", "b"} {
		if _, ok := seen.Load(name); !ok {
			t.Errorf("backend %s never answered", name)
		}
	}
}

// A file that does not parse is refused; the old configuration keeps
// serving and the API names the file and line.
func TestBrokenReloadKeepsServing(t *testing.T) {
	a, _ := backend(t, "a")
	g := startGateway(t, map[string]string{"main.toml": routeTo("a", a)}, gatewayOpts{})
	g.writeDynamic("main.toml", "[http.routers.main]\n  rule = \"PathPrefix(`/`)\n  service = \"svc\"\n")
	eventually(t, 10*time.Second, func() error {
		if !strings.Contains(g.out.String(), "main.toml:2") {
			return fmt.Errorf("no refusal with file:line logged yet")
		}
		return nil
	})
	code, _, h := get(t, nil, g.url("/still"), nil)
	if code != 200 || h.Get("X-Backend") != "a" {
		t.Fatalf("old configuration stopped serving: %d %q", code, h.Get("X-Backend"))
	}
	// Fixing the file applies again.
	b, _ := backend(t, "b")
	g.writeDynamic("main.toml", routeTo("b", b))
	eventually(t, 10*time.Second, func() error {
		if _, _, h := get(t, nil, g.url("/"), nil); h.Get("X-Backend") != "b" {
			return fmt.Errorf("fixed configuration not applied")
		}
		return nil
	})
}

// A router naming a missing service is disabled with its error in the API;
// the rest of the configuration applies.
func TestSemanticErrorDisablesOnlyThatRouter(t *testing.T) {
	a, _ := backend(t, "a")
	cfg := routeTo("a", a) + `
[http.routers.broken]
  rule = "Host(` + "`broken.test`" + `)"
  service = "missing"
`
	g := startGateway(t, map[string]string{"main.toml": cfg}, gatewayOpts{})
	if _, _, h := get(t, nil, g.url("/"), nil); h.Get("X-Backend") != "a" {
		t.Fatal("valid router not applied")
	}
	var r struct {
		Status string   `json:"status"`
		Err    []string `json:"error"`
	}
	_, body, _ := get(t, nil, g.apiURL("/api/http/routers/broken@file"), nil)
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	if r.Status != "disabled" || len(r.Err) == 0 || !strings.Contains(r.Err[0], "missing@file") {
		t.Fatalf("broken router status: %+v", r)
	}
}

// SIGHUP forces a reload even when the watcher saw nothing.
func TestSIGHUPReloads(t *testing.T) {
	a, _ := backend(t, "a")
	g := startGateway(t, map[string]string{"main.toml": routeTo("a", a)}, gatewayOpts{})
	before := strings.Count(g.out.String(), "configuration applied")
	if err := g.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, func() error {
		if strings.Count(g.out.String(), "configuration applied") <= before {
			return fmt.Errorf("no reload after SIGHUP")
		}
		return nil
	})
}

// gateway check prints file:line:col for each problem and exits 1.
func TestCheckCommand(t *testing.T) {
	dir := t.TempDir()
	dyn := filepath.Join(dir, "dyn")
	writeFile(t, filepath.Join(dir, "static.toml"), fmt.Sprintf("[entryPoints.web]\n  address = \":0\"\n[providers.file]\n  directory = %q\n", dyn))
	mustMkdir(t, dyn)
	writeFile(t, filepath.Join(dyn, "bad.toml"), "[http.routers.r]\n  rule = \"Hots(`a`)\"\n  service = \"s\"\n[http.services.s.loadBalancer]\n  [[http.services.s.loadBalancer.servers]]\n    url = \"http://127.0.0.1:1\"\n")
	out, err := exec.Command(gatewayBin, "check", "--configFile="+filepath.Join(dir, "static.toml")).CombinedOutput()
	if err == nil {
		t.Fatalf("check accepted a bad rule:\n%s", out)
	}
	if !strings.Contains(string(out), "bad.toml:2:") || !strings.Contains(string(out), "Hots") {
		t.Fatalf("check output lacks file:line and the problem:\n%s", out)
	}
	// An unknown static key is named with its path.
	writeFile(t, filepath.Join(dir, "static.toml"), "[entryPoints.web]\n  adress = \":0\"\n")
	out, err = exec.Command(gatewayBin, "check", "--configFile="+filepath.Join(dir, "static.toml")).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "static.toml:2:") || !strings.Contains(string(out), "entryPoints.web.adress") {
		t.Fatalf("unknown static key not reported with position:\n%s", out)
	}
	// A good configuration passes.
	writeFile(t, filepath.Join(dir, "static.toml"), fmt.Sprintf("[entryPoints.web]\n  address = \":0\"\n[providers.file]\n  directory = %q\n", dyn))
	writeFile(t, filepath.Join(dyn, "bad.toml"), routeTo("a", "http://127.0.0.1:1"))
	if out, err = exec.Command(gatewayBin, "check", "--configFile="+filepath.Join(dir, "static.toml")).CombinedOutput(); err != nil {
		t.Fatalf("good configuration refused: %v\n%s", err, out)
	}
	// A name defined in two files: the first wins, with a warning.
	writeFile(t, filepath.Join(dyn, "z.toml"), "[http.services.svc.loadBalancer]\n  [[http.services.svc.loadBalancer.servers]]\n    url = \"http://127.0.0.1:2\"\n")
	out, err = exec.Command(gatewayBin, "check", "--configFile="+filepath.Join(dir, "static.toml")).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "warning: provider file: "+filepath.Join(dyn, "z.toml")+":1:") || !strings.Contains(string(out), `HTTP service "svc" is already defined at `+filepath.Join(dyn, "bad.toml")) {
		t.Fatalf("duplicate name: %v\n%s", err, out)
	}
}
