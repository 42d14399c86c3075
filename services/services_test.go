package services

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/guan-gateway/guan/config/dynamic"
	"github.com/guan-gateway/guan/services/internal/svctest"
	"github.com/guan-gateway/guan/statestore"
)

func TestBuildErrors(t *testing.T) {
	good := &dynamic.Service{LoadBalancer: &dynamic.ServersLoadBalancer{Servers: servers("http://127.0.0.1:9")}}
	tests := []struct {
		name     string
		services map[string]*dynamic.Service
		ask      string
		want     []string
	}{
		{"unknown", nil, "nope@file", []string{`service "nope@file"`, "unknown service"}},
		{"no type", map[string]*dynamic.Service{"s@file": {}}, "s@file", []string{"no service type"}},
		{"two types", map[string]*dynamic.Service{"s@file": {LoadBalancer: good.LoadBalancer, Failover: &dynamic.Failover{}}}, "s@file", []string{"more than one service type"}},
		{"no servers", map[string]*dynamic.Service{"s@file": {LoadBalancer: &dynamic.ServersLoadBalancer{}}}, "s@file", []string{"no servers"}},
		{"bad url", map[string]*dynamic.Service{"s@file": {LoadBalancer: &dynamic.ServersLoadBalancer{Servers: servers("127.0.0.1:80")}}}, "s@file", []string{"servers[0]", "use a form like http://"}},
		{"bad scheme", map[string]*dynamic.Service{"s@file": {LoadBalancer: &dynamic.ServersLoadBalancer{Servers: servers("ftp://h")}}}, "s@file", []string{"scheme must be http, https or h2c"}},
		{"no host", map[string]*dynamic.Service{"s@file": {LoadBalancer: &dynamic.ServersLoadBalancer{Servers: servers("http:///x")}}}, "s@file", []string{"no host"}},
		{"unknown transport", map[string]*dynamic.Service{"s@file": {LoadBalancer: &dynamic.ServersLoadBalancer{Servers: good.LoadBalancer.Servers, ServersTransport: "tls"}}}, "s@file", []string{`unknown serversTransport "tls@file"`}},
		{"bad strategy", map[string]*dynamic.Service{"s@file": {LoadBalancer: &dynamic.ServersLoadBalancer{Servers: good.LoadBalancer.Servers, Strategy: "random"}}}, "s@file", []string{`strategy "random"`}},
		{"bad health mode", map[string]*dynamic.Service{"s@file": {LoadBalancer: &dynamic.ServersLoadBalancer{Servers: good.LoadBalancer.Servers, HealthCheck: &dynamic.ServerHealthCheck{Mode: "icmp"}}}}, "s@file", []string{"healthCheck.mode"}},
		{"unknown child", map[string]*dynamic.Service{"w@file": {Weighted: &dynamic.WeightedRoundRobin{Services: []dynamic.WRRService{{Name: "gone"}}}}}, "w@file", []string{`service "w@file"`, `service "gone@file"`, "unknown service"}},
		{"child error reaches parent", map[string]*dynamic.Service{
			"f@file":    {Failover: &dynamic.Failover{Service: "bad", Fallback: "good"}},
			"bad@file":  {LoadBalancer: &dynamic.ServersLoadBalancer{}},
			"good@file": good,
		}, "f@file", []string{`service "f@file"`, `service "bad@file"`, "no servers"}},
		{"cycle", map[string]*dynamic.Service{
			"a@file": {Weighted: &dynamic.WeightedRoundRobin{Services: []dynamic.WRRService{{Name: "b"}}}},
			"b@file": {Mirroring: &dynamic.Mirroring{Service: "a"}},
		}, "a@file", []string{"cycle a@file -> b@file -> a@file"}},
		{"mirror percent", map[string]*dynamic.Service{
			"m@file":    {Mirroring: &dynamic.Mirroring{Service: "good", Mirrors: []dynamic.MirrorService{{Name: "good", Percent: 150}}}},
			"good@file": good,
		}, "m@file", []string{"percent 150"}},
		{"failover incomplete", map[string]*dynamic.Service{"f@file": {Failover: &dynamic.Failover{Service: "x"}}}, "f@file", []string{"both service and fallback"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New(Options{Services: tt.services})
			h, err := s.Handler(tt.ask)
			if err == nil || h != nil {
				t.Fatalf("Handler = %v, %v; want an error", h, err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Fatalf("error %q does not mention %q", err, w)
				}
			}
			if _, again := s.Handler(tt.ask); again == nil || again.Error() != err.Error() {
				t.Fatalf("second call: %v, want the memoized error", again)
			}
		})
	}
}

func TestBadTransportIsReported(t *testing.T) {
	s := New(Options{
		Services:   map[string]*dynamic.Service{"s@file": {LoadBalancer: &dynamic.ServersLoadBalancer{Servers: servers("https://127.0.0.1:9"), ServersTransport: "tls"}}},
		Transports: map[string]*dynamic.ServersTransport{"tls@file": {RootCAs: []string{"missing-ca.pem"}}},
		BaseDir:    func(string) string { return "/nonexistent" },
	})
	_, err := s.Handler("s@file")
	if err == nil || !hasAll(err.Error(), `serversTransport "tls@file"`, "rootCAs[0]", "/nonexistent/missing-ca.pem") {
		t.Fatalf("err = %v", err)
	}
}

// countingBackend counts new upstream connections, to see pool reuse.
func countingBackend(t *testing.T) (*backend, *atomic.Int64) {
	var conns atomic.Int64
	b := newBackendWith(t, "b", func(s *http.Server) {
		s.ConnState = func(c net.Conn, st http.ConnState) {
			if st == http.StateNew {
				conns.Add(1)
			}
		}
	})
	return b, &conns
}

func TestStateSurvivesReload(t *testing.T) {
	b, conns := countingBackend(t)
	b.sick.Store(true)
	cfg := func(path string, idle int) Options {
		return Options{
			Services: map[string]*dynamic.Service{"s@file": {LoadBalancer: &dynamic.ServersLoadBalancer{
				Servers: servers(b.URL), ServersTransport: "t",
				HealthCheck: &dynamic.ServerHealthCheck{Path: path, Interval: dur(time.Hour)},
			}}},
			Transports: map[string]*dynamic.ServersTransport{"t@file": {MaxIdleConnsPerHost: idle}},
		}
	}
	store := statestore.New()

	b1 := store.Begin()
	o := cfg("/health", 10)
	o.Store = b1
	s1 := New(o)
	h1 := mustHandler(t, s1, "s@file")
	waitUntil(t, h1, statusIs(s1, "s@file", map[string]string{b.URL: "DOWN"}))
	b1.Commit()
	objects := store.Len()

	// Same configuration: the health verdict (DOWN, next probe in an hour)
	// and the connection pool carry over.
	b2 := store.Begin()
	o = cfg("/health", 10)
	o.Store = b2
	s2 := New(o)
	if got := s2.ServerStatus("s@file"); got[b.URL] != "DOWN" {
		t.Fatalf("unchanged service lost its health state: %v", got)
	}
	b2.Commit()
	if store.Len() != objects {
		t.Fatalf("store holds %d objects, want %d (all reused)", store.Len(), objects)
	}
	before := conns.Load()

	// Changed health check and transport: fresh state, new pool.
	b3 := store.Begin()
	o = cfg("/", 11)
	o.Store = b3
	s3 := New(o)
	h3 := mustHandler(t, s3, "s@file")
	waitUntil(t, h3, statusIs(s3, "s@file", map[string]string{b.URL: "UP"}))
	b3.Commit()
	if store.Len() != objects {
		t.Fatalf("store holds %d objects, want %d (old ones closed)", store.Len(), objects)
	}
	if _, body := get(t, h3); body != "b" {
		t.Fatalf("got %q", body)
	}
	if conns.Load() == before {
		t.Fatal("changed transport reused the old connection pool")
	}
}

func TestTransportPoolReusedAcrossReload(t *testing.T) {
	b, conns := countingBackend(t)
	store := statestore.New()
	var last http.Handler
	for range 3 {
		bld := store.Begin()
		s := New(Options{Store: bld, Services: map[string]*dynamic.Service{
			"s@file": {LoadBalancer: &dynamic.ServersLoadBalancer{Servers: servers(b.URL)}},
		}})
		last = mustHandler(t, s, "s@file")
		if _, body := get(t, last); body != "b" {
			t.Fatalf("got %q", body)
		}
		bld.Commit()
	}
	if n := conns.Load(); n != 1 {
		t.Fatalf("%d upstream connections over three reloads, want 1", n)
	}
}

func TestTCPServices(t *testing.T) {
	a, b := svctest.Serve(t, svctest.Echo("a:")), svctest.Serve(t, svctest.Echo("b:"))
	s := New(Options{TCPServices: map[string]*dynamic.TCPService{
		"a@file":    {LoadBalancer: &dynamic.TCPServersLoadBalancer{Servers: []dynamic.TCPServer{{Address: a}}}},
		"b@file":    {LoadBalancer: &dynamic.TCPServersLoadBalancer{Servers: []dynamic.TCPServer{{Address: b}}}},
		"w@file":    {Weighted: &dynamic.TCPWeightedRoundRobin{Services: []dynamic.WRRService{{Name: "a", Weight: intp(2)}, {Name: "b"}}}},
		"bad@file":  {LoadBalancer: &dynamic.TCPServersLoadBalancer{Servers: []dynamic.TCPServer{{Address: "nohost"}}}},
		"loop@file": {Weighted: &dynamic.TCPWeightedRoundRobin{Services: []dynamic.WRRService{{Name: "loop"}}}},
	}})
	h, err := s.TCPHandler("w@file")
	if err != nil {
		t.Fatal(err)
	}
	addr := svctest.ServeTCP(t, h)
	counts := map[string]int{}
	for range 6 {
		got, _ := svctest.Exchange(t, addr, "ping")
		counts[got]++
	}
	if counts["a:ping"] != 4 || counts["b:ping"] != 2 {
		t.Fatalf("counts %v, want a:4 b:2", counts)
	}
	if _, err := s.TCPHandler("bad@file"); err == nil || !strings.Contains(err.Error(), "host:port") {
		t.Fatalf("bad address: %v", err)
	}
	if _, err := s.TCPHandler("loop@file"); err == nil || !strings.Contains(err.Error(), "cycle") {
		t.Fatalf("cycle: %v", err)
	}
}

func TestXForwardedForThroughSet(t *testing.T) {
	got := make(chan string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.Header.Get("X-Forwarded-For") + " " + r.Host
	}))
	defer srv.Close()
	no := false
	s := New(Options{Services: map[string]*dynamic.Service{
		"s@file": {LoadBalancer: &dynamic.ServersLoadBalancer{Servers: servers(srv.URL), PassHostHeader: &no}},
	}})
	req := httptest.NewRequest("GET", "http://front.test/", nil)
	req.RemoteAddr = "198.51.100.7:5555"
	mustHandler(t, s, "s@file").ServeHTTP(httptest.NewRecorder(), req)
	if v := <-got; v != "198.51.100.7 "+strings.TrimPrefix(srv.URL, "http://") {
		t.Fatalf("backend saw %q", v)
	}
}
