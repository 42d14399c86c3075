// Package e2e drives the real gateway binary with real clients against real
// backends, all on loopback ports chosen at run time.
package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var gatewayBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "guan-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	gatewayBin = filepath.Join(dir, "gateway")
	build := exec.Command("go", "build", "-race", "-o", gatewayBin, "../cmd/gateway")
	if os.Getenv("GUAN_E2E_NORACE") != "" {
		build = exec.Command("go", "build", "-o", gatewayBin, "../cmd/gateway")
	}
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building the gateway:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// freePort returns a loopback port that was free a moment ago.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// syncBuffer collects process output safely for concurrent readers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// gateway is one running gateway process.
type gateway struct {
	t       testing.TB
	dir     string // holds static.toml and dynamic/
	cmd     *exec.Cmd
	out     *syncBuffer
	web     int // port of the "web" entrypoint
	api     int // port of the "traefik" entrypoint
	exited  chan struct{}
	waitErr error
}

// gatewayOpts shape the static configuration written for a test.
type gatewayOpts struct {
	extraStatic  string // appended to the static TOML
	extraEPs     map[string]int
	throttle     string
	env          []string
	extraFiles   []*os.File
	noWebAddress bool // the web entrypoint comes from an inherited fd
	// webLifeCycle replaces the web entrypoint's lifeCycle keys (by
	// default graceTimeOut = "10s"); apiLifeCycle, when set, gives the
	// traefik entrypoint a lifeCycle section; ping holds keys for [ping].
	webLifeCycle string
	apiLifeCycle string
	ping         string
}

// startGateway writes a static configuration with a "web" and a "traefik"
// entrypoint, a file provider on dir/dynamic with the given files, and starts
// the binary, waiting until /ping answers. The ports come from freePort and
// another process may take one before the gateway binds it; the gateway is
// then started again on new ports.
func startGateway(t testing.TB, files map[string]string, o gatewayOpts) *gateway {
	t.Helper()
	for attempt := 1; ; attempt++ {
		g, err := tryStartGateway(t, files, o)
		if err == nil {
			return g
		}
		if attempt < 3 && strings.Contains(err.Error(), "address already in use") {
			t.Logf("a port was taken before the gateway bound it; starting again: %v", err)
			continue
		}
		t.Fatal(err)
	}
}

func tryStartGateway(t testing.TB, files map[string]string, o gatewayOpts) (*gateway, error) {
	t.Helper()
	dir := t.TempDir()
	dyn := filepath.Join(dir, "dynamic")
	if err := os.MkdirAll(dyn, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, body := range files {
		writeFile(t, filepath.Join(dyn, name), body)
	}
	g := &gateway{t: t, dir: dir, web: freePort(t), api: freePort(t), out: &syncBuffer{}, exited: make(chan struct{})}
	throttle := o.throttle
	if throttle == "" {
		throttle = "50ms"
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "[entryPoints.web]\n  address = \"127.0.0.1:%d\"\n", g.web)
	webLifeCycle := o.webLifeCycle
	if webLifeCycle == "" {
		webLifeCycle = "  graceTimeOut = \"10s\""
	}
	fmt.Fprintf(&sb, "[entryPoints.web.transport.lifeCycle]\n%s\n", webLifeCycle)
	fmt.Fprintf(&sb, "[entryPoints.traefik]\n  address = \"127.0.0.1:%d\"\n", g.api)
	if o.apiLifeCycle != "" {
		fmt.Fprintf(&sb, "[entryPoints.traefik.transport.lifeCycle]\n%s\n", o.apiLifeCycle)
	}
	for name, port := range o.extraEPs {
		fmt.Fprintf(&sb, "[entryPoints.%s]\n  address = \"127.0.0.1:%d\"\n", name, port)
	}
	fmt.Fprintf(&sb, "[providers]\n  providersThrottleDuration = %q\n[providers.file]\n  directory = %q\n  watch = true\n", throttle, dyn)
	sb.WriteString("[api]\n  insecure = true\n[ping]\n")
	if o.ping != "" {
		sb.WriteString(o.ping + "\n")
	}
	sb.WriteString("[metrics.prometheus]\n  addRoutersLabels = true\n[log]\n  level = \"DEBUG\"\n")
	sb.WriteString(o.extraStatic)
	writeFile(t, filepath.Join(dir, "static.toml"), sb.String())
	if err := g.start([]string{"--configFile=" + filepath.Join(dir, "static.toml")}, append(os.Environ(), o.env...), o.extraFiles); err != nil {
		return nil, err
	}
	return g, nil
}

// launch starts the binary with args and env in g.dir, stops it when the
// test ends (logging its output if the test failed), and waits until /ping
// answers on g.api.
func (g *gateway) launch(args, env []string, extraFiles []*os.File) {
	g.t.Helper()
	if err := g.start(args, env, extraFiles); err != nil {
		g.t.Fatal(err)
	}
}

// start is launch reporting a gateway that exits or never answers as an
// error.
func (g *gateway) start(args, env []string, extraFiles []*os.File) error {
	t := g.t
	t.Helper()
	g.cmd = exec.Command(gatewayBin, args...)
	g.cmd.Dir = g.dir
	g.cmd.Stdout, g.cmd.Stderr = g.out, g.out
	g.cmd.Env = env
	g.cmd.ExtraFiles = extraFiles
	if err := g.cmd.Start(); err != nil {
		return err
	}
	go func() { g.waitErr = g.cmd.Wait(); close(g.exited) }()
	t.Cleanup(func() {
		g.stop()
		if t.Failed() {
			t.Logf("gateway output:\n%s", g.out.String())
		}
	})
	return g.ready()
}

func (g *gateway) stop() {
	select {
	case <-g.exited:
		return
	default:
	}
	_ = g.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-g.exited:
	case <-time.After(15 * time.Second):
		_ = g.cmd.Process.Kill()
		<-g.exited
	}
}

func (g *gateway) ready() error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-g.exited:
			return fmt.Errorf("gateway exited early: %v\n%s", g.waitErr, g.out.String())
		default:
		}
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/ping", g.api))
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("gateway not ready in time:\n%s", g.out.String())
}

func (g *gateway) url(path string) string { return fmt.Sprintf("http://127.0.0.1:%d%s", g.web, path) }
func (g *gateway) apiURL(path string) string {
	return fmt.Sprintf("http://127.0.0.1:%d%s", g.api, path)
}

// writeDynamic replaces a dynamic configuration file atomically, as editors do.
func (g *gateway) writeDynamic(name, body string) {
	g.t.Helper()
	final := filepath.Join(g.dir, "dynamic", name)
	tmp := filepath.Join(g.dir, ".tmp-"+name)
	writeFile(g.t, tmp, body)
	if err := os.Rename(tmp, final); err != nil {
		g.t.Fatal(err)
	}
}

func writeFile(t testing.TB, path, body string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

// eventually retries f until it returns nil or the timeout passes.
func eventually(t testing.TB, timeout time.Duration, f func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var err error
	for time.Now().Before(deadline) {
		if err = f(); err == nil {
			return
		}
		time.Sleep(25 * time.Millisecond)
	}
	t.Fatalf("condition not met within %s: %v", timeout, err)
}

// get performs a request and returns status and body.
func get(t testing.TB, c *http.Client, url string, hdr map[string]string) (int, string, http.Header) {
	t.Helper()
	if c == nil {
		c = http.DefaultClient
	}
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		if strings.EqualFold(k, "host") {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

// backend is a real HTTP server on loopback that names itself in responses.
func backend(t testing.TB, name string) (url string, hits func() int) {
	t.Helper()
	var mu sync.Mutex
	n := 0
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		n++
		mu.Unlock()
		w.Header().Set("X-Backend", name)
		fmt.Fprintf(w, "%s %s %s", name, r.Method, r.URL.RequestURI())
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return "http://" + l.Addr().String(), func() int { mu.Lock(); defer mu.Unlock(); return n }
}

func mustMkdir(t testing.TB, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
}

// metrics returns the gateway's Prometheus exposition from /metrics.
func (g *gateway) metrics(t testing.TB) string {
	t.Helper()
	_, body, _ := get(t, nil, g.apiURL("/metrics"), nil)
	return body
}
