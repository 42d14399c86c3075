// Package bench measures the gateway as a whole: the proxied request path,
// compiling and swapping large configurations, and idle memory.
package bench

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/guan-gateway/guan/cancelhook"
	"github.com/guan-gateway/guan/config/dynamic"
	"github.com/guan-gateway/guan/config/static"
	"github.com/guan-gateway/guan/pipeline"
	"github.com/guan-gateway/guan/providers"
	"github.com/guan-gateway/guan/snapshot"
	"github.com/guan-gateway/guan/statestore"
)

// The upstream runs in a child process so that its allocations do not count
// against the gateway's allocs/op.
func TestMain(m *testing.M) {
	if os.Getenv("GUAN_BENCH_BACKEND") == "1" {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			os.Exit(1)
		}
		fmt.Println(l.Addr().String())
		body := []byte("hello from the upstream\n")
		_ = http.Serve(l, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
			w.Write(body)
		}))
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func startUpstream(b *testing.B) string {
	b.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "GUAN_BENCH_BACKEND=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	addr, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		b.Fatal(err)
	}
	return "http://" + strings.TrimSpace(addr)
}

func input(cfg *dynamic.Configuration, store *statestore.Build) snapshot.Input {
	return snapshot.Input{
		EntryPoints:       map[string]*static.EntryPoint{"web": {Address: ":80"}},
		DefaultRuleSyntax: "v3",
		Providers:         map[string]providers.Message{"file": {Provider: "file", Config: cfg}},
		Internal:          map[string]http.Handler{},
		Store:             store,
		Logger:            slog.New(slog.DiscardHandler),
	}
}

// discardWriter is a ResponseWriter that keeps nothing, reused across requests.
type discardWriter struct {
	h    http.Header
	code int
}

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (d *discardWriter) WriteHeader(code int)        { d.code = code }

// BenchmarkProxiedGET: one HTTP/1.1 GET through a router with two
// middlewares (headers, stripPrefix) and a load-balanced service to a
// keep-alive upstream. Counts routing, middlewares, proxy and the upstream
// transport; the downstream HTTP server's parsing is not included.
func BenchmarkProxiedGET(b *testing.B) {
	up := startUpstream(b)
	cfg := &dynamic.Configuration{HTTP: &dynamic.HTTPConfiguration{
		Routers: map[string]*dynamic.Router{"api": {Rule: "Host(`bench.test`) && PathPrefix(`/api`)", Service: "svc", Middlewares: []string{"hdr", "strip"}}},
		Middlewares: map[string]*dynamic.Middleware{
			"hdr":   {Headers: &dynamic.Headers{CustomRequestHeaders: map[string]string{"X-Gateway": "guan"}}},
			"strip": {StripPrefix: &dynamic.StripPrefix{Prefixes: []string{"/api"}}},
		},
		Services: map[string]*dynamic.Service{"svc": {LoadBalancer: &dynamic.ServersLoadBalancer{Servers: []dynamic.Server{{URL: up}}}}},
	}}
	store := statestore.New()
	sb := store.Begin()
	snap, err := snapshot.Build(input(cfg, sb))
	if err != nil {
		b.Fatal(err)
	}
	sb.Commit()
	if p := snap.Problems(); len(p) > 0 {
		b.Fatal(p)
	}
	// A cancellable context, as the HTTP/1.x server's request has (its
	// connection's, with a slot for the upstream exchange's cancel hook):
	// the upstream client must watch it, which a background context would
	// spare it.
	ctx, cancel := cancelhook.WithCancel(context.Background())
	defer cancel()
	req := httptest.NewRequest("GET", "http://bench.test/api/items", nil).WithContext(ctx)
	req.RemoteAddr = "127.0.0.1:40000"
	origURL, origURI := *req.URL, req.RequestURI
	w := &discardWriter{h: http.Header{}}
	// reset makes req look freshly parsed again: middlewares rewrite the
	// request in place, as they may with a request of their own.
	reset := func() {
		*req.URL, req.RequestURI = origURL, origURI
		clear(req.Header)
	}
	rec := httptest.NewRecorder()
	snap.ServeHTTP("web", rec, req)
	if rec.Code != 200 {
		b.Fatalf("warm-up: %d %s", rec.Code, rec.Body)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		clear(w.h)
		w.code = 0
		reset()
		snap.ServeHTTP("web", w, req)
		if w.code != http.StatusOK {
			b.Fatalf("request %d answered %d", i, w.code)
		}
	}
}

func manyRouters(n int) *dynamic.Configuration {
	cfg := &dynamic.Configuration{HTTP: &dynamic.HTTPConfiguration{
		Routers:  make(map[string]*dynamic.Router, n),
		Services: map[string]*dynamic.Service{"svc": {LoadBalancer: &dynamic.ServersLoadBalancer{Servers: []dynamic.Server{{URL: "http://127.0.0.1:9"}}}}},
	}}
	for i := 0; i < n; i++ {
		cfg.HTTP.Routers[fmt.Sprintf("r%d", i)] = &dynamic.Router{
			Rule:    fmt.Sprintf("Host(`h%d.example.com`) && PathPrefix(`/v%d`)", i, i%7),
			Service: "svc",
		}
	}
	return cfg
}

// BenchmarkCompileAndSwap10k: compile a 10k-router configuration into a
// snapshot and publish it, as a reload does.
func BenchmarkCompileAndSwap10k(b *testing.B) {
	cfg := manyRouters(10000)
	p := pipeline.New(pipeline.Options{
		Logger: slog.New(slog.DiscardHandler),
		Build: func(msgs map[string]providers.Message, s *statestore.Build) (*snapshot.Snapshot, error) {
			in := input(cfg, s)
			in.Providers = msgs
			return snapshot.Build(in)
		},
	})
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p.Update(providers.Message{Provider: "file", Config: cfg})
	}
	b.StopTimer()
	if n := len(p.Current().Status().Routers); n != 10000 {
		b.Fatalf("%d routers live", n)
	}
}

// BenchmarkIdleRSS starts the real binary on the default configuration (with
// loopback ports chosen here) and reports its resident memory once idle.
func BenchmarkIdleRSS(b *testing.B) {
	dir := b.TempDir()
	bin := filepath.Join(dir, "gateway")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/gateway").CombinedOutput(); err != nil {
		b.Fatalf("build: %v\n%s", err, out)
	}
	def, err := os.ReadFile("../traefik-style.toml")
	if err != nil {
		b.Fatal(err)
	}
	web, api := freePort(b), freePort(b)
	cfg := strings.Replace(string(def), `":8000"`, fmt.Sprintf(`"127.0.0.1:%d"`, web), 1)
	cfg = strings.Replace(cfg, `"127.0.0.1:8080"`, fmt.Sprintf(`"127.0.0.1:%d"`, api), 1)
	demo, _ := filepath.Abs("../examples/demo")
	cfg = strings.Replace(cfg, `"examples/demo"`, strconv.Quote(demo), 1)
	static := filepath.Join(dir, "static.toml")
	if err := os.WriteFile(static, []byte(cfg), 0o644); err != nil {
		b.Fatal(err)
	}
	for i := 0; i < b.N; i++ {
		cmd := exec.Command(bin, "--configFile="+static)
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		deadline := time.Now().Add(20 * time.Second)
		for {
			resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/", web))
			if err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				break
			}
			if time.Now().After(deadline) {
				cmd.Process.Kill()
				b.Fatal("gateway did not start")
			}
			time.Sleep(50 * time.Millisecond)
		}
		time.Sleep(time.Second) // let start-up garbage be collected
		rss := readRSS(b, cmd.Process.Pid)
		cmd.Process.Kill()
		cmd.Wait()
		b.ReportMetric(rss/1024, "MB-rss")
	}
}

func readRSS(b *testing.B, pid int) float64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			f := strings.Fields(line)
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb
		}
	}
	b.Fatal("no VmRSS")
	return 0
}

func freePort(b *testing.B) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
