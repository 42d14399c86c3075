// Command compare runs the side-by-side benchmark: the same scenarios against
// the upstream directly, Guan, nginx, HAProxy and Caddy, configured
// equivalently, in interleaved rounds, and reports medians as a Markdown
// table. bench/run.sh installs the other products, builds the binaries and
// calls it; see bench/README.md.
package main

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"
)

// scenario is one row group of the report.
type scenario struct {
	id, title string
	variant   variant
	load      load
}

func scenarios() []scenario {
	return []scenario{
		{"1", "HTTP/1.1 GET, empty body, 64 connections", base, load{tool: "wrk", conns: 64, path: "/0"}},
		{"2", "HTTP/1.1 POST 1 KB up / 1 KB down, 100 connections", base, load{tool: "wrk", conns: 100, post: true, path: "/1k"}},
		{"3", "HTTP/2 over TLS (h2load), 100 connections × 10 streams, POST 1 KB up / 1 KB down", base, load{tool: "h2load", conns: 100, streams: 10, tls: true, post: true, path: "/1k"}},
		{"4", "HTTPS HTTP/1.1 keep-alive, GET 1 KB, 64 connections", base, load{tool: "wrk", conns: 64, tls: true, path: "/1k"}},
		{"5a", "New connections per second (Connection: close), plain, 64 connections", base, load{tool: "wrk", conns: 64, close: true, path: "/0"}},
		{"5b", "New connections per second (Connection: close), TLS, 64 connections", base, load{tool: "wrk", conns: 64, close: true, tls: true, path: "/0"}},
		{"6", "10k routers loaded, GET spread over 1k hosts, 64 connections", many, load{tool: "wrk", conns: 64, hosts: 1000, prepared: 1000, path: "/0"}},
		// The control of (6): (1)'s single router with (6)'s load
		// generator. Handing out prepared requests from Lua costs wrk CPU
		// that the proxy, on a machine with few cores, no longer has;
		// (6) against this isolates the cost of the routing table.
		{"6c", "Control for (6): one router, GET handed out by (6)'s Lua script (1k prepared requests, all to bench.local), 64 connections", base, load{tool: "wrk", conns: 64, prepared: 1000, path: "/0"}},
		{"7", "Middleware chain (headers, stripPrefix, basicAuth), GET, 64 connections", chain, load{tool: "wrk", conns: 64, auth: true, path: "/api/0"}},
		{"8", "Latency at a fixed rate of half Guan's maximum in (1) (HTTP/1.1 GET, constant rate, 64 connections)", base, load{tool: "rate", conns: 64, path: "/0"}},
	}
}

type options struct {
	quick             bool
	rounds            int
	duration, warmup  time.Duration
	gateway, upstream string
	out               string
	only, targets     string
	keep              bool
}

func main() {
	var o options
	flag.BoolVar(&o.quick, "quick", false, "one short round: proves the harness works, not for comparison")
	flag.IntVar(&o.rounds, "rounds", 3, "interleaved rounds (medians are reported)")
	flag.DurationVar(&o.duration, "duration", 5*time.Second, "measured time per run")
	flag.DurationVar(&o.warmup, "warmup", time.Second, "unmeasured load before each run")
	flag.StringVar(&o.gateway, "gateway", "", "Guan binary (required)")
	flag.StringVar(&o.upstream, "upstream", "", "bench/upstream binary (required)")
	flag.StringVar(&o.out, "out", "bench/results", "directory for the Markdown report")
	flag.StringVar(&o.only, "scenarios", "", "comma-separated scenario ids to run (default: all)")
	flag.StringVar(&o.targets, "targets", "direct,Guan,nginx,HAProxy,Caddy", "comma-separated targets")
	flag.BoolVar(&o.keep, "keep", false, "keep the working directory (configurations, logs)")
	flag.Parse()
	if o.quick {
		o.rounds, o.duration, o.warmup = 1, 2*time.Second, 500*time.Millisecond
	}
	if o.gateway == "" || o.upstream == "" {
		fmt.Fprintln(os.Stderr, "compare: -gateway and -upstream are required (bench/run.sh sets them)")
		os.Exit(2)
	}
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "compare:", err)
		os.Exit(1)
	}
}

func run(o options) error {
	started := time.Now()
	dir, err := os.MkdirTemp("", "guan-compare-")
	if err != nil {
		return err
	}
	if o.keep {
		fmt.Println("working directory:", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	cpus := runtime.NumCPU()
	placement := newPlacement(cpus)

	f := fixture{dir: dir}
	if err := f.makeCertificate(); err != nil {
		return err
	}
	up, upAddrs, err := startUpstream(o.upstream, f, placement.upstream)
	if err != nil {
		return err
	}
	defer up.stop()
	f.upstream = upAddrs[0]

	ports, err := freePorts(8)
	if err != nil {
		return err
	}
	var all []*product
	direct := &product{name: "direct", version: "bench/upstream (Go net/http)", plain: upAddrs[0], secure: upAddrs[1]}
	guan, err := guanProduct(f, o.gateway, ports[0], ports[1])
	if err != nil {
		return err
	}
	ngx, err := nginxProduct(f, ports[2], ports[3])
	if err != nil {
		return err
	}
	hap, err := haproxyProduct(f, ports[4], ports[5])
	if err != nil {
		return err
	}
	cdy, err := caddyProduct(f, ports[6], ports[7])
	if err != nil {
		return err
	}
	for _, p := range []*product{direct, guan, ngx, hap, cdy} {
		if slices.ContainsFunc(strings.Split(o.targets, ","), func(s string) bool { return strings.EqualFold(strings.TrimSpace(s), p.name) }) {
			all = append(all, p)
		}
	}

	r := runner{dir: dir, pin: placement.loadgen, threads: 2}
	rep := newReport(o, cpus, placement, all, r)
	for _, sc := range scenarios() {
		if o.only != "" && !slices.Contains(strings.Split(o.only, ","), sc.id) {
			continue
		}
		if sc.id == "8" {
			g := rep.median("1", "Guan", func(m result) float64 { return m.rps })
			if g == 0 {
				fmt.Println("skipping (8): it needs Guan's figure from (1)")
				continue
			}
			sc.load.rate = g / 2
			sc.title = fmt.Sprintf("%s: %.0f req/s", sc.title, sc.load.rate)
		}
		rep.begin(sc)
		for round := 1; round <= o.rounds; round++ {
			for _, p := range all {
				res, err := measure(o, r, f, p, sc, placement)
				if err != nil {
					return fmt.Errorf("(%s) %s round %d: %w", sc.id, p.name, round, err)
				}
				fmt.Printf("  (%s) round %d %-8s %10.0f req/s  p50 %6.2f ms  p99 %6.2f ms  cpu %5.2f s/100k  pss %6.1f MB  errors %d\n",
					sc.id, round, p.name, res.rps, res.p50, res.p99, res.cpuPer100k, float64(res.peakKB)/1024, res.errors)
				rep.add(sc.id, p.name, res)
			}
		}
	}
	rep.elapsed = time.Since(started)
	text := rep.markdown()
	fmt.Println()
	fmt.Println(text)
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return err
	}
	mode := "full"
	if o.quick {
		mode = "quick"
	}
	name := filepath.Join(o.out, fmt.Sprintf("%s-%s.md", started.UTC().Format("2006-01-02-1504"), mode))
	if err := os.WriteFile(name, []byte(text), 0o644); err != nil {
		return err
	}
	fmt.Println("written to", name)
	return nil
}

// result is one run of one target in one scenario.
type result struct {
	rps, p50, p99, p999 float64
	cpuPer100k          float64 // proxy CPU seconds per 100k requests
	peakKB              int64   // proxy peak PSS
	errors              int64
}

func measure(o options, r runner, f fixture, p *product, sc scenario, pl placement) (result, error) {
	addr := p.plain
	if sc.load.tls {
		addr = p.secure
	}
	var proc *process
	if p.command != nil {
		var err error
		argv := append(slices.Clone(pl.proxy), p.command(sc.variant)...)
		proc, err = start(p.name, f.path("logs", p.name+".log"), p.env, argv)
		if err != nil {
			return result{}, err
		}
		defer proc.stop()
		if err := ready(p, sc, proc); err != nil {
			return result{}, fmt.Errorf("%w (log: %s)", err, proc.tail())
		}
	}
	var t tree
	var sampler *peakSampler
	if proc != nil {
		t = tree{root: proc.cmd.Process.Pid}
		sampler = samplePeak(t, 100*time.Millisecond)
	}
	gen := r.wrk
	switch sc.load.tool {
	case "h2load":
		gen = r.h2load
	case "rate":
		gen = constantRate
	}
	if o.warmup > 0 {
		if _, err := gen(sc.load, addr, o.warmup); err != nil {
			return result{}, err
		}
	}
	var cpu0 time.Duration
	if proc != nil {
		cpu0 = t.cpu()
	}
	m, err := gen(sc.load, addr, o.duration)
	if err != nil {
		return result{}, err
	}
	res := result{rps: m.rps(), p50: m.p50, p99: m.p99, p999: m.p999, errors: m.errors}
	if proc != nil {
		used := t.cpu() - cpu0
		if m.requests > 0 {
			res.cpuPer100k = used.Seconds() / float64(m.requests) * 100000
		}
		res.peakKB = sampler.stop()
		if !proc.alive() {
			return result{}, fmt.Errorf("%s exited during the run (log: %s)", p.name, proc.tail())
		}
	}
	return res, nil
}

// ready waits until the product answers the scenario's route.
func ready(p *product, sc scenario, proc *process) error {
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	path, host := "/0", benchHost
	switch sc.variant {
	case chain:
		path = "/api/0"
	case many:
		host = hostOf(manyRoutes - 1)
	}
	deadline := time.Now().Add(60 * time.Second)
	var last error
	for time.Now().Before(deadline) && proc.alive() {
		req, _ := http.NewRequest("GET", "http://"+p.plain+path, nil)
		req.Host = host
		req.Header.Set("Authorization", basicAuthorization())
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
			err = fmt.Errorf("status %d", resp.StatusCode)
		}
		last = err
		time.Sleep(50 * time.Millisecond)
	}
	if !proc.alive() {
		return fmt.Errorf("%s exited at start-up", p.name)
	}
	return fmt.Errorf("%s not ready on %s within 60s: %v", p.name, p.plain, last)
}

func basicAuthorization() string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))
}

// placement keeps the load generator, the upstream and the proxy on separate
// CPUs where there are enough; on a 2-core machine they share.
type placement struct {
	loadgen, upstream, proxy []string
	note                     string
}

func newPlacement(cpus int) placement {
	if _, err := exec.LookPath("taskset"); err != nil || cpus < 4 {
		return placement{note: fmt.Sprintf("%d CPUs: the load generator, the upstream and the proxy share them (no pinning); absolute figures are low and ratios are what to read", cpus)}
	}
	gen := fmt.Sprintf("3-%d", cpus-1)
	return placement{
		proxy:    []string{"taskset", "-c", "0,1"},
		upstream: []string{"taskset", "-c", "2"},
		loadgen:  []string{"taskset", "-c", gen},
		note:     fmt.Sprintf("%d CPUs: proxy pinned to CPUs 0-1, upstream to CPU 2, load generator to CPUs %s", cpus, gen),
	}
}

// process is a started product, in its own process group so that nginx's
// workers stop with it.
type process struct {
	cmd     *exec.Cmd
	logPath string
	done    chan struct{}
}

func start(name, logPath string, env, argv []string) (*process, error) {
	if err := os.MkdirAll(filepath.Dir(logPath), 0o755); err != nil {
		return nil, err
	}
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &process{cmd: cmd, logPath: logPath, done: make(chan struct{})}
	go func() { cmd.Wait(); logf.Close(); close(p.done) }()
	return p, nil
}

func (p *process) alive() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

func (p *process) stop() {
	pgid := p.cmd.Process.Pid
	syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(3 * time.Second):
		syscall.Kill(-pgid, syscall.SIGKILL)
		<-p.done
	}
	// nginx's workers may outlive the master by a moment.
	syscall.Kill(-pgid, syscall.SIGKILL)
}

func (p *process) tail() string {
	b, _ := os.ReadFile(p.logPath)
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return strings.TrimSpace(string(b))
}

func startUpstream(bin string, f fixture, pin []string) (*process, []string, error) {
	argv := append(slices.Clone(pin), bin, "-listen", "127.0.0.1:0", "-tls-listen", "127.0.0.1:0", "-cert", f.cert, "-key", f.key)
	cmd := exec.Command(argv[0], argv[1:]...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, nil, err
	}
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, nil, fmt.Errorf("start upstream: %w", err)
	}
	p := &process{cmd: cmd, done: make(chan struct{})}
	sc := bufio.NewScanner(out)
	var addrs []string
	for len(addrs) < 2 && sc.Scan() {
		addrs = append(addrs, strings.TrimSpace(sc.Text()))
	}
	go func() { cmd.Wait(); close(p.done) }()
	if len(addrs) < 2 {
		p.stop()
		return nil, nil, errors.New("upstream did not print its addresses")
	}
	return p, addrs, nil
}

func freePorts(n int) ([]string, error) {
	var out []string
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		out = append(out, l.Addr().String())
	}
	return out, nil
}

// makeCertificate writes a self-signed ECDSA P-256 certificate, the same for
// every product, valid for bench.local, its subdomains and 127.0.0.1.
func (f *fixture) makeCertificate() error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: benchHost},
		DNSNames:     []string{benchHost, "*." + benchHost},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return err
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})
	if _, err := tls.X509KeyPair(certPEM, keyPEM); err != nil {
		return err
	}
	f.cert, f.key, f.combined = f.path("cert.pem"), f.path("key.pem"), f.path("combined.pem")
	for path, content := range map[string][]byte{f.cert: certPEM, f.key: keyPEM, f.combined: append(slices.Clone(certPEM), keyPEM...)} {
		if err := os.WriteFile(path, content, 0o600); err != nil {
			return err
		}
	}
	return nil
}
