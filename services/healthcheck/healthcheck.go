// Package healthcheck actively probes a load balancer's servers over HTTP or
// the gRPC health protocol (grpc.health.v1) and reports each result. Each
// server is probed by its own goroutine, so a slow server delays only its
// own checks and a failing one can be probed on a shorter interval.
//
// Probes are spread out so that the servers of a large service are not all
// probed in the same instant: each server's first probe runs after a random
// delay in [0, min(interval, FirstProbeWindow)), and every later delay
// (interval or unhealthyInterval) varies randomly by ±Jitter.
package healthcheck

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"

	"github.com/guan-gateway/guan/config/dynamic"
)

// Defaults, as in Traefik.
const (
	DefaultInterval = 30 * time.Second
	DefaultTimeout  = 5 * time.Second
)

// Probe spreading. The first probe of a server runs within
// min(interval, FirstProbeWindow) of its start, so a newly configured server
// is checked promptly whatever the interval; later probes are Jitter apart
// from the nominal interval, up or down, so servers started together drift
// apart.
const (
	FirstProbeWindow = time.Second
	Jitter           = 0.1
)

// firstDelay is the delay of a server's first probe for a random r in [0, 1).
func firstDelay(interval time.Duration, r float64) time.Duration {
	return time.Duration(r * float64(min(interval, FirstProbeWindow)))
}

// jittered is d varied by ±Jitter for a random r in [0, 1).
func jittered(d time.Duration, r float64) time.Duration {
	return time.Duration(float64(d) * (1 - Jitter + 2*Jitter*r))
}

// Transport is what probes are sent with: the service's servers transport.
type Transport interface {
	RoundTripper(scheme string) http.RoundTripper
	TLS() *tls.Config
}

// Report receives each probe result; err is nil when server i is healthy.
type Report func(i int, err error)

// Checker probes servers until closed.
type Checker struct {
	cfg       *dynamic.ServerHealthCheck
	servers   []*url.URL
	tr        Transport
	report    Report
	interval  time.Duration
	unhealthy time.Duration
	timeout   time.Duration
	grpc      bool
	rand      func() float64 // in [0, 1); safe for concurrent use

	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex
	conns  map[int]*grpc.ClientConn
}

// Validate checks a health-check configuration without starting anything.
func Validate(cfg *dynamic.ServerHealthCheck) error {
	switch strings.ToLower(cfg.Mode) {
	case "", "http", "grpc":
	default:
		return fmt.Errorf("healthCheck.mode %q: use \"http\" or \"grpc\"", cfg.Mode)
	}
	switch strings.ToLower(cfg.Scheme) {
	case "", "http", "https", "h2c":
	default:
		return fmt.Errorf("healthCheck.scheme %q: use http, https or h2c", cfg.Scheme)
	}
	if cfg.Port < 0 || cfg.Port > 65535 {
		return fmt.Errorf("healthCheck.port %d: use a port between 1 and 65535", cfg.Port)
	}
	if cfg.Interval != nil && cfg.Interval.Std() < 0 {
		return errors.New("healthCheck.interval must not be negative")
	}
	if cfg.Timeout != nil && cfg.Timeout.Std() < 0 {
		return errors.New("healthCheck.timeout must not be negative")
	}
	return nil
}

// Start begins probing servers; the first probe of each runs within
// min(interval, FirstProbeWindow).
func Start(cfg *dynamic.ServerHealthCheck, servers []*url.URL, tr Transport, report Report) (*Checker, error) {
	return startWith(cfg, servers, tr, report, rand.Float64)
}

// startWith is Start with the random source spreading the probes; rnd returns
// numbers in [0, 1) and must be safe for concurrent use.
func startWith(cfg *dynamic.ServerHealthCheck, servers []*url.URL, tr Transport, report Report, rnd func() float64) (*Checker, error) {
	if err := Validate(cfg); err != nil {
		return nil, err
	}
	c := &Checker{
		cfg: cfg, servers: servers, tr: tr, report: report, rand: rnd,
		interval: DefaultInterval, timeout: DefaultTimeout,
		grpc:  strings.EqualFold(cfg.Mode, "grpc"),
		conns: map[int]*grpc.ClientConn{},
	}
	if cfg.Interval != nil && cfg.Interval.Std() > 0 {
		c.interval = cfg.Interval.Std()
	}
	c.unhealthy = c.interval
	if cfg.UnhealthyInterval != nil && cfg.UnhealthyInterval.Std() > 0 {
		c.unhealthy = cfg.UnhealthyInterval.Std()
	}
	if cfg.Timeout != nil && cfg.Timeout.Std() > 0 {
		c.timeout = cfg.Timeout.Std()
	}
	ctx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	for i := range servers {
		c.wg.Add(1)
		go c.loop(ctx, i)
	}
	return c, nil
}

// Close stops all probes and waits for them to end.
func (c *Checker) Close() error {
	c.cancel()
	c.wg.Wait()
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, cc := range c.conns {
		cc.Close()
	}
	clear(c.conns)
	return nil
}

func (c *Checker) loop(ctx context.Context, i int) {
	defer c.wg.Done()
	t := time.NewTimer(firstDelay(c.interval, c.rand()))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		err := c.probe(ctx, i)
		if ctx.Err() != nil {
			return
		}
		c.report(i, err)
		next := c.interval
		if err != nil {
			next = c.unhealthy
		}
		t.Reset(jittered(next, c.rand()))
	}
}

func (c *Checker) probe(ctx context.Context, i int) error {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	if c.grpc {
		return c.probeGRPC(ctx, i)
	}
	return c.probeHTTP(ctx, i)
}

// target returns the scheme and host:port probes go to.
func (c *Checker) target(i int) (scheme, host string) {
	u := c.servers[i]
	scheme = u.Scheme
	if c.cfg.Scheme != "" {
		scheme = strings.ToLower(c.cfg.Scheme)
	}
	host = u.Host
	if c.cfg.Port > 0 {
		h := u.Hostname()
		host = net.JoinHostPort(h, strconv.Itoa(c.cfg.Port))
	}
	return scheme, host
}

func (c *Checker) probeHTTP(ctx context.Context, i int) error {
	scheme, host := c.target(i)
	wire := scheme
	if wire == "h2c" {
		wire = "http"
	}
	// The path is taken from the root of the server, as in Traefik.
	path, query, _ := strings.Cut(c.cfg.Path, "?")
	if path == "" {
		path = "/"
	}
	u := &url.URL{Scheme: wire, Host: host, Path: path, RawQuery: query}
	method := c.cfg.Method
	if method == "" {
		method = http.MethodGet
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), nil)
	if err != nil {
		return fmt.Errorf("build health request: %w", err)
	}
	if c.cfg.Hostname != "" {
		req.Host = c.cfg.Hostname
	}
	for k, v := range c.cfg.Headers {
		if strings.EqualFold(k, "Host") {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	client := &http.Client{Transport: c.tr.RoundTripper(scheme)}
	if c.cfg.FollowRedirects != nil && !*c.cfg.FollowRedirects {
		client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	}
	res, err := client.Do(req)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10)) // keep the connection reusable
	res.Body.Close()
	if want := c.cfg.Status; want != 0 {
		if res.StatusCode != want {
			return fmt.Errorf("health check answered %d, want %d", res.StatusCode, want)
		}
		return nil
	}
	if res.StatusCode < 200 || res.StatusCode >= 400 {
		return fmt.Errorf("health check answered %d, want 2xx or 3xx", res.StatusCode)
	}
	return nil
}

func (c *Checker) probeGRPC(ctx context.Context, i int) error {
	cc, err := c.grpcConn(i)
	if err != nil {
		return err
	}
	if len(c.cfg.Headers) > 0 {
		md := metadata.New(c.cfg.Headers)
		ctx = metadata.NewOutgoingContext(ctx, md)
	}
	res, err := healthpb.NewHealthClient(cc).Check(ctx, &healthpb.HealthCheckRequest{})
	if err != nil {
		return fmt.Errorf("grpc health check: %w", err)
	}
	if res.Status != healthpb.HealthCheckResponse_SERVING {
		return fmt.Errorf("grpc health status %s", res.Status)
	}
	return nil
}

func (c *Checker) grpcConn(i int) (*grpc.ClientConn, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cc, ok := c.conns[i]; ok {
		return cc, nil
	}
	scheme, host := c.target(i)
	creds := insecure.NewCredentials()
	if scheme == "https" {
		conf := c.tr.TLS().Clone()
		if c.cfg.Hostname != "" && conf.ServerName == "" {
			conf.ServerName = c.cfg.Hostname
		}
		creds = credentials.NewTLS(conf)
	}
	opts := []grpc.DialOption{grpc.WithTransportCredentials(creds)}
	if c.cfg.Hostname != "" {
		opts = append(opts, grpc.WithAuthority(c.cfg.Hostname))
	}
	cc, err := grpc.NewClient("passthrough:///"+host, opts...)
	if err != nil {
		return nil, fmt.Errorf("grpc health check client for %s: %w", host, err)
	}
	c.conns[i] = cc
	return cc, nil
}
