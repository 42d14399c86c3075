package healthcheck

import (
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/guan-gateway/guan/config"
	"github.com/guan-gateway/guan/config/dynamic"
	"github.com/guan-gateway/guan/services/transport"
)

func dur(d time.Duration) *config.Duration { c := config.Duration(d); return &c }

// results collects reports and lets a test wait for a given one.
type results struct{ ch chan error }

func newResults() *results { return &results{ch: make(chan error, 100)} }

func (r *results) report(i int, err error) { r.ch <- err }

func (r *results) waitFor(t *testing.T, healthy bool) error {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case err := <-r.ch:
			if (err == nil) == healthy {
				return err
			}
		case <-deadline:
			t.Fatalf("no result with healthy=%v within 5s", healthy)
		}
	}
}

func start(t *testing.T, cfg *dynamic.ServerHealthCheck, server string, r *results) *Checker {
	t.Helper()
	u, _ := url.Parse(server)
	tr, err := transport.New(nil, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	c, err := Start(cfg, []*url.URL{u}, tr, r.report)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestHTTPProbe(t *testing.T) {
	var healthy atomic.Bool
	healthy.Store(true)
	var gotHost, gotHeader, gotMethod, gotPath atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotHost.Store(r.Host)
		gotHeader.Store(r.Header.Get("X-Probe"))
		gotMethod.Store(r.Method)
		gotPath.Store(r.URL.RequestURI())
		switch {
		case r.URL.Path == "/redirect":
			http.Redirect(w, r, "/health", http.StatusFound)
		case !healthy.Load():
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()

	r := newResults()
	start(t, &dynamic.ServerHealthCheck{
		Path: "/health?full=1", Method: "HEAD", Hostname: "probe.test", Headers: map[string]string{"X-Probe": "1"},
		Interval: dur(20 * time.Millisecond), Timeout: dur(time.Second),
	}, srv.URL, r)
	r.waitFor(t, true)
	if gotHost.Load() != "probe.test" || gotHeader.Load() != "1" || gotMethod.Load() != "HEAD" || gotPath.Load() != "/health?full=1" {
		t.Fatalf("probe: host %v header %v method %v path %v", gotHost.Load(), gotHeader.Load(), gotMethod.Load(), gotPath.Load())
	}
	healthy.Store(false)
	if err := r.waitFor(t, false); !strings.Contains(err.Error(), "503") {
		t.Fatalf("err = %v", err)
	}
	healthy.Store(true)
	r.waitFor(t, true)
}

func TestHTTPProbeStatusAndRedirects(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/redirect" {
			http.Redirect(w, r, "/teapot", http.StatusFound)
			return
		}
		w.WriteHeader(http.StatusTeapot)
	}))
	defer srv.Close()
	no := false
	tests := []struct {
		name    string
		cfg     dynamic.ServerHealthCheck
		healthy bool
	}{
		{"418 is not 2xx/3xx", dynamic.ServerHealthCheck{Path: "/"}, false},
		{"expected status", dynamic.ServerHealthCheck{Path: "/", Status: 418}, true},
		{"redirect followed by default", dynamic.ServerHealthCheck{Path: "/redirect", Status: 418}, true},
		{"redirect not followed", dynamic.ServerHealthCheck{Path: "/redirect", FollowRedirects: &no}, true},
		{"redirect not followed, expected 418", dynamic.ServerHealthCheck{Path: "/redirect", Status: 418, FollowRedirects: &no}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newResults()
			tt.cfg.Interval = dur(time.Hour)
			start(t, &tt.cfg, srv.URL, r)
			select {
			case err := <-r.ch:
				if (err == nil) != tt.healthy {
					t.Fatalf("healthy = %v (%v), want %v", err == nil, err, tt.healthy)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("no probe result")
			}
		})
	}
}

func TestPortOverrideAndTimeout(t *testing.T) {
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	defer slow.Close()
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(slow.URL, "http://"))
	r := newResults()
	p, _ := strconv.Atoi(port)
	// The server URL points at a closed port; the probe goes to the slow
	// server's port and must time out.
	start(t, &dynamic.ServerHealthCheck{Port: p, Timeout: dur(50 * time.Millisecond), Interval: dur(time.Hour)}, "http://127.0.0.1:1", r)
	if err := r.waitFor(t, false); !strings.Contains(err.Error(), "deadline") {
		t.Fatalf("err = %v, want a timeout", err)
	}
}

func TestGRPCProbe(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := grpc.NewServer()
	hs := health.NewServer()
	healthpb.RegisterHealthServer(gs, hs)
	go gs.Serve(l)
	defer gs.Stop()

	r := newResults()
	start(t, &dynamic.ServerHealthCheck{Mode: "grpc", Interval: dur(20 * time.Millisecond)}, "h2c://"+l.Addr().String(), r)
	r.waitFor(t, true)
	hs.SetServingStatus("", healthpb.HealthCheckResponse_NOT_SERVING)
	if err := r.waitFor(t, false); !strings.Contains(err.Error(), "NOT_SERVING") {
		t.Fatalf("err = %v", err)
	}
	hs.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	r.waitFor(t, true)
}

func TestValidate(t *testing.T) {
	tests := []struct {
		cfg  dynamic.ServerHealthCheck
		want string
	}{
		{dynamic.ServerHealthCheck{Mode: "tcp"}, "mode"},
		{dynamic.ServerHealthCheck{Scheme: "ftp"}, "scheme"},
		{dynamic.ServerHealthCheck{Port: 70000}, "port"},
		{dynamic.ServerHealthCheck{Interval: dur(-time.Second)}, "interval"},
	}
	for _, tt := range tests {
		if err := Validate(&tt.cfg); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Validate(%+v) = %v, want mention of %q", tt.cfg, err, tt.want)
		}
	}
}

func TestProbeDelays(t *testing.T) {
	tests := []struct {
		name string
		got  time.Duration
		want time.Duration
	}{
		{"first, r=0", firstDelay(2*time.Second, 0), 0},
		{"first, long interval: within 1s", firstDelay(30*time.Second, 0.5), 500 * time.Millisecond},
		{"first, short interval: within it", firstDelay(200*time.Millisecond, 0.5), 100 * time.Millisecond},
		{"jitter low end", jittered(2*time.Second, 0), 1800 * time.Millisecond},
		{"jitter middle", jittered(2*time.Second, 0.5), 2 * time.Second},
		{"jitter high end", jittered(2*time.Second, 0.999), 2*time.Second + 199600*time.Microsecond},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, tt.got, tt.want)
		}
	}
}

// counterRand returns 0, 1/n, 2/n, ... (n-1)/n, 0, ...: deterministic, and
// safe for the checker's goroutines.
func counterRand(n int) func() float64 {
	var c atomic.Int64
	return func() float64 { return float64((c.Add(1)-1)%int64(n)) / float64(n) }
}

// Fifty servers of one service are not all probed in the same instant: their
// first probes spread over min(interval, FirstProbeWindow).
func TestFirstProbesAreSpread(t *testing.T) {
	const n = 50
	var mu sync.Mutex
	var first []time.Time
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		first = append(first, time.Now())
		mu.Unlock()
	}))
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	urls := make([]*url.URL, n)
	for i := range urls {
		urls[i] = u
	}
	tr, err := transport.New(nil, "")
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	r := newResults()
	c, err := startWith(&dynamic.ServerHealthCheck{Interval: dur(time.Hour)}, urls, tr, r.report, counterRand(n))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for range n {
		r.waitFor(t, true)
	}
	mu.Lock()
	defer mu.Unlock()
	lo, hi := first[0], first[0]
	for _, at := range first {
		if at.Before(lo) {
			lo = at
		}
		if at.After(hi) {
			hi = at
		}
	}
	// Delays are 0, 20ms, ... 980ms.
	if spread := hi.Sub(lo); spread < 600*time.Millisecond || spread > 3*time.Second {
		t.Fatalf("first probes of %d servers spread over %v, want about 1s", n, spread)
	}
}

// The random source decides when the first probe runs.
func TestFirstProbeDelayFromRandom(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	tr, err := transport.New(nil, "")
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	r := newResults()
	began := time.Now()
	c, err := startWith(&dynamic.ServerHealthCheck{Interval: dur(time.Hour)}, []*url.URL{u}, tr, r.report, func() float64 { return 0.9 })
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r.waitFor(t, true)
	if d := time.Since(began); d < 850*time.Millisecond {
		t.Fatalf("first probe after %v, want about 900ms", d)
	}
}
