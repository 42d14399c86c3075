// Command h3load measures HTTP/3 against HTTP/2 over TLS on the same Guan
// entrypoint and upstream: requests per second (C connections, each with S
// concurrent streams, GET of a 1 KiB body) and new connections per second
// (handshake, one request, close; full handshakes, no resumption) for
// HTTP/3 beside HTTP/1.1 over TLS 1.3 on TCP. Both sides use Go clients
// (quic-go's http3 and net/http), so the load generator costs the same
// language on each side. Rounds are interleaved and medians reported; the
// table is printed and written to bench/results/.
//
// It also reports the gateway's memory per idle HTTP/3 connection: the
// clients share one UDP socket, so the count is not bounded by file
// descriptors as TCP connections are.
//
//	go run ./bench/h3load [-gateway BIN] [-rounds 3] [-duration 5s] [-conns 8] [-streams 8] [-idle 2000,10000]
package main

import (
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/guan-gateway/guan/bench/harness"
	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
)

func main() {
	gwBin := flag.String("gateway", "", "gateway binary (default: build ./cmd/gateway)")
	rounds := flag.Int("rounds", 3, "interleaved rounds")
	duration := flag.Duration("duration", 5*time.Second, "length of each measurement")
	conns := flag.Int("conns", 8, "connections for the requests/s measurement")
	streams := flag.Int("streams", 8, "concurrent requests per connection")
	dialers := flag.Int("dialers", 8, "concurrent clients for the connections/s measurement")
	idle := flag.String("idle", "2000,10000", "idle HTTP/3 connection counts to measure memory at")
	out := flag.String("out", "bench/results", "directory for the report")
	flag.Parse()

	work, err := os.MkdirTemp("", "guan-h3load-")
	harness.Check(err)
	defer os.RemoveAll(work)
	*gwBin = harness.BuildGateway(work, *gwBin)
	upBin := filepath.Join(work, "upstream")
	build := exec.Command("go", "build", "-o", upBin, "./bench/upstream")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	harness.Check(build.Run())
	up := exec.Command(upBin, "-listen", fmt.Sprintf("127.0.0.1:%d", harness.FreePort()))
	up.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	upOut, err := up.StdoutPipe()
	harness.Check(err)
	harness.Check(up.Start())
	defer up.Process.Kill()
	line := make([]byte, 64)
	n, err := upOut.Read(line)
	harness.Check(err)
	upstream := strings.TrimSpace(string(line[:n]))

	gw := startGateway(work, *gwBin, upstream)
	defer gw.Process.Kill()
	target := fmt.Sprintf("https://bench.test:%d/1k", gw.port)

	var h2, h3, c3, c1 []float64
	var h2cpu, h3cpu []float64
	for r := 0; r < *rounds; r++ {
		fmt.Fprintf(os.Stderr, "round %d/%d\n", r+1, *rounds)
		cpu0 := gw.cpu()
		rate, total := requests(newH2, gw.addr, target, *conns, *streams, *duration)
		h2 = append(h2, rate)
		h2cpu = append(h2cpu, (gw.cpu()-cpu0)/float64(total)*1e5)
		cpu0 = gw.cpu()
		rate, total = requests(newH3, gw.addr, target, *conns, *streams, *duration)
		h3 = append(h3, rate)
		h3cpu = append(h3cpu, (gw.cpu()-cpu0)/float64(total)*1e5)
		c1 = append(c1, connections(newH1Close, gw.addr, target, *dialers, *duration))
		c3 = append(c3, connections(newH3Close, gw.addr, target, *dialers, *duration))
	}

	var idleRows []string
	for _, f := range strings.Split(*idle, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			continue
		}
		// A fresh gateway per count: memory freed by an earlier run stays
		// in the process and would hide the cost.
		fresh := startGateway(filepath.Join(work, fmt.Sprint("idle", n)), *gwBin, upstream)
		perConn, err := idleMemory(fresh, target, n)
		fresh.Process.Kill()
		fresh.Wait()
		if err != nil {
			idleRows = append(idleRows, fmt.Sprintf("| %d | %v |", n, err))
			continue
		}
		idleRows = append(idleRows, fmt.Sprintf("| %d | %.1f KB |", n, perConn))
	}

	var b strings.Builder
	fmt.Fprintf(&b, "# HTTP/3 benchmark, %s\n\n", time.Now().UTC().Format("2006-01-02 15:04 UTC"))
	fmt.Fprintf(&b, "Machine: %d CPUs shared by the load generator, Guan and the upstream. One Guan entrypoint (TCP and UDP on one port), one upstream (HTTP/1.1, keep-alive). Go clients on both sides: net/http (HTTP/2, TLS 1.3) and quic-go's http3. Medians of %d interleaved rounds of %v.\n\n",
		runtime.NumCPU(), *rounds, *duration)
	fmt.Fprintf(&b, "| measure | HTTP/2 over TLS | HTTP/3 | HTTP/3 / HTTP/2 |\n|---|---:|---:|---:|\n")
	fmt.Fprintf(&b, "| GET 1 KiB, %d connections x %d streams (req/s) | %.0f | %.0f | %.2f |\n", *conns, *streams, harness.Median(h2), harness.Median(h3), harness.Median(h3)/harness.Median(h2))
	fmt.Fprintf(&b, "| Guan CPU seconds per 100k requests | %.2f | %.2f | %.2f |\n\n", harness.Median(h2cpu), harness.Median(h3cpu), harness.Median(h3cpu)/harness.Median(h2cpu))
	fmt.Fprintf(&b, "| new connections, full handshake + one GET + close, %d clients | TLS 1.3 over TCP | HTTP/3 (QUIC) | QUIC / TCP |\n|---|---:|---:|---:|\n", *dialers)
	fmt.Fprintf(&b, "| connections/s | %.0f | %.0f | %.2f |\n\n", harness.Median(c1), harness.Median(c3), harness.Median(c3)/harness.Median(c1))
	fmt.Fprintf(&b, "Gateway RSS per idle HTTP/3 connection (after one request each; QUIC and HTTP/3 state, no upstream connection of its own):\n\n| connections | RSS per connection |\n|---:|---:|\n%s\n\n", strings.Join(idleRows, "\n"))
	fmt.Fprintf(&b, "Raw rounds: HTTP/2 %v, HTTP/3 %v; connections TCP %v, QUIC %v\n", harness.Whole(h2), harness.Whole(h3), harness.Whole(c1), harness.Whole(c3))
	harness.Report(*out, "http3", b.String())
}

// client is one connection's worth of HTTP client.
type client interface {
	Do(*http.Request) (*http.Response, error)
	Close()
}

type tcpClient struct {
	*http.Client
	tr *http.Transport
}

func (c tcpClient) Close() { c.tr.CloseIdleConnections() }

// newH2 is an HTTP/2 client held to one TCP connection.
func newH2(addr string) client {
	return newTCP(addr, func(tr *http.Transport) { tr.ForceAttemptHTTP2, tr.MaxConnsPerHost = true, 1 })
}

// newH1Close is an HTTP/1.1 client over TLS 1.3 that closes its connection
// after each request and resumes no session.
func newH1Close(addr string) client {
	return newTCP(addr, func(tr *http.Transport) {
		tr.TLSClientConfig.MinVersion, tr.DisableKeepAlives = tls.VersionTLS13, true
	})
}

// newTCP is a client over TLS on TCP to addr, shaped by set.
func newTCP(addr string, set func(*http.Transport)) client {
	tr := &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true, ServerName: "bench.test"},
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "tcp", addr)
		},
	}
	set(tr)
	return tcpClient{&http.Client{Transport: tr}, tr}
}

type h3Client struct {
	*http.Client
	tr *http3.Transport
}

func (c h3Client) Close() { c.tr.Close() }

// newH3 is an HTTP/3 client: one QUIC connection per transport.
func newH3(addr string) client {
	tr := &http3.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true, ServerName: "bench.test"},
		Dial: func(ctx context.Context, _ string, tc *tls.Config, qc *quic.Config) (*quic.Conn, error) {
			return quic.DialAddr(ctx, addr, tc, qc)
		},
	}
	return h3Client{&http.Client{Transport: tr}, tr}
}

// h3Close makes each request on a new QUIC connection, closed after it.
type h3Close struct{ addr string }

func newH3Close(addr string) client { return h3Close{addr} }

func (c h3Close) Do(req *http.Request) (*http.Response, error) {
	tr := newH3(c.addr).(h3Client)
	resp, err := tr.Do(req)
	if err != nil {
		tr.Close()
		return nil, err
	}
	resp.Body = closer{resp.Body, tr.Close}
	return resp, nil
}
func (h3Close) Close() {}

type closer struct {
	io.ReadCloser
	after func()
}

func (c closer) Close() error { err := c.ReadCloser.Close(); c.after(); return err }

// requests runs conns clients with streams concurrent requests each for d
// and returns the completed requests per second and their number.
func requests(newClient func(string) client, addr, url string, conns, streams int, d time.Duration) (float64, int64) {
	var done, failed atomic.Int64
	stop := time.Now().Add(d)
	var wg sync.WaitGroup
	for range conns {
		c := newClient(addr)
		// One request first, so every connection exists before the clock.
		get(c, url)
		for range streams {
			wg.Go(func() {
				for time.Now().Before(stop) {
					if get(c, url) {
						done.Add(1)
					} else {
						failed.Add(1)
					}
				}
			})
		}
		defer c.Close()
	}
	start := time.Now()
	wg.Wait()
	if f := failed.Load(); f > 0 {
		fmt.Fprintf(os.Stderr, "  %d requests failed\n", f)
	}
	return float64(done.Load()) / time.Since(start).Seconds(), done.Load()
}

// connections runs clients that each connect, GET once and close, for d,
// and returns connections per second.
func connections(newClient func(string) client, addr, url string, clients int, d time.Duration) float64 {
	var done atomic.Int64
	stop := time.Now().Add(d)
	start := time.Now()
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() {
			for time.Now().Before(stop) {
				c := newClient(addr)
				if get(c, url) {
					done.Add(1)
				}
				c.Close()
			}
		})
	}
	wg.Wait()
	return float64(done.Load()) / time.Since(start).Seconds()
}

func get(c client, url string) bool {
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	resp, err := c.Do(req)
	if err != nil {
		return false
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return err == nil && resp.StatusCode == 200
}

// idleMemory opens n HTTP/3 connections from one UDP socket, makes one
// request on each, and returns the gateway's RSS growth per connection in
// KB while they stay open.
func idleMemory(g *gateway, url string, n int) (float64, error) {
	udp, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return 0, err
	}
	tr := &quic.Transport{Conn: udp}
	defer tr.Close()
	ua, _ := net.ResolveUDPAddr("udp", g.addr)
	time.Sleep(500 * time.Millisecond)
	before := g.rss()
	var opened atomic.Int64
	var mu sync.Mutex
	var conns []*quic.Conn
	var wg sync.WaitGroup
	next := atomic.Int64{}
	for range 8 {
		wg.Go(func() {
			for next.Add(1) <= int64(n) {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				c, err := tr.Dial(ctx, ua, &tls.Config{InsecureSkipVerify: true, ServerName: "bench.test", NextProtos: []string{http3.NextProtoH3}}, &quic.Config{KeepAlivePeriod: 20 * time.Second})
				cancel()
				if err != nil {
					continue
				}
				cc := (&http3.Transport{}).NewClientConn(c)
				req, _ := http.NewRequest(http.MethodGet, url, nil)
				if resp, err := cc.RoundTrip(req); err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					opened.Add(1)
				}
				mu.Lock()
				conns = append(conns, c)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	time.Sleep(time.Second)
	after := g.rss()
	for _, c := range conns {
		c.CloseWithError(0, "")
	}
	if opened.Load() < int64(n)*95/100 {
		return 0, fmt.Errorf("only %d of %d connections made their request", opened.Load(), n)
	}
	return float64(after-before) / float64(opened.Load()) / 1000, nil
}

type gateway struct {
	*exec.Cmd
	addr string
	port int
}

// cpu returns the gateway's user+system CPU seconds so far.
func (g *gateway) cpu() float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", g.Process.Pid))
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / 100 // USER_HZ
}

// rss returns the gateway's resident set in bytes.
func (g *gateway) rss() int64 { return int64(harness.RSSKB(g.Process.Pid)) * 1024 }

func startGateway(dir, bin, upstream string) *gateway {
	harness.Check(os.MkdirAll(dir, 0o755))
	port, api := harness.FreePort(), harness.FreePort()
	certFile, keyFile := harness.SelfSigned(dir, "bench.test")
	dyn := filepath.Join(dir, "dynamic")
	harness.Check(os.MkdirAll(dyn, 0o755))
	harness.Check(os.WriteFile(filepath.Join(dyn, "bench.toml"), []byte(fmt.Sprintf(`
[[tls.certificates]]
  certFile = %q
  keyFile = %q
[http.routers.bench]
  entryPoints = ["websecure"]
  rule = "PathPrefix(%[3]s/%[3]s)"
  service = "up"
  [http.routers.bench.tls]
[[http.services.up.loadBalancer.servers]]
  url = "http://%[4]s"
`, certFile, keyFile, "`", upstream)), 0o644))
	static := filepath.Join(dir, "static.toml")
	harness.Check(os.WriteFile(static, []byte(fmt.Sprintf(`
[entryPoints.websecure]
  address = "127.0.0.1:%d"
  [entryPoints.websecure.http3]
  [entryPoints.websecure.quic]
    maxIdleTimeout = "5m"
[entryPoints.traefik]
  address = "127.0.0.1:%d"
[providers.file]
  directory = %q
[ping]
[log]
  level = "ERROR"
`, port, api, dyn)), 0o644))
	cmd := exec.Command(bin, "--configFile="+static)
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // gone with us, even on check's exit
	harness.Check(cmd.Start())
	for i := 0; ; i++ {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/ping", api))
		if err == nil {
			resp.Body.Close()
			break
		}
		if i > 200 {
			harness.Check(fmt.Errorf("gateway did not start"))
		}
		time.Sleep(25 * time.Millisecond)
	}
	return &gateway{Cmd: cmd, addr: fmt.Sprintf("127.0.0.1:%d", port), port: port}
}
