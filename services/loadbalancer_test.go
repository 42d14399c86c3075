package services

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/guan-gateway/guan/config/dynamic"
)

func TestWRRRatioExact(t *testing.T) {
	a, b, c := newBackend(t, "a"), newBackend(t, "b"), newBackend(t, "c")
	s := New(Options{Services: map[string]*dynamic.Service{
		"svc@file": {LoadBalancer: &dynamic.ServersLoadBalancer{Servers: []dynamic.Server{
			{URL: a.URL, Weight: intp(3)}, {URL: b.URL, Weight: intp(1)}, {URL: c.URL, Weight: intp(0)},
		}}},
	}})
	h := mustHandler(t, s, "svc@file")
	counts := countBodies(t, h, 40)
	if counts["a"] != 30 || counts["b"] != 10 || counts["c"] != 0 {
		t.Fatalf("counts = %v, want a:30 b:10 c:0", counts)
	}
}

func TestP2CSpreadsConcurrentLoad(t *testing.T) {
	const n = 30
	release := make(chan struct{})
	arrived := make(chan string, n)
	var urls []string
	for _, name := range []string{"a", "b", "c"} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			arrived <- name
			<-release
		}))
		t.Cleanup(srv.Close)
		urls = append(urls, srv.URL)
	}
	s := New(Options{Services: map[string]*dynamic.Service{
		"svc@file": {LoadBalancer: &dynamic.ServersLoadBalancer{Strategy: "p2c", Servers: servers(urls...)}},
	}})
	h := mustHandler(t, s, "svc@file")
	var wg sync.WaitGroup
	counts := map[string]int{}
	for range n {
		wg.Go(func() { get(t, h) })
		counts[<-arrived]++ // one at a time, so in-flight counts are current
	}
	close(release)
	wg.Wait()
	for _, name := range []string{"a", "b", "c"} {
		// Two random picks can miss the idlest server, so allow a
		// difference of two from a perfectly even spread.
		if c := counts[name]; c < n/3-2 || c > n/3+2 {
			t.Fatalf("counts = %v: p2c should keep in-flight requests near even", counts)
		}
	}
}

func TestStickyCookie(t *testing.T) {
	a, b := newBackend(t, "a"), newBackend(t, "b")
	s := New(Options{Services: map[string]*dynamic.Service{
		"svc@file": {LoadBalancer: &dynamic.ServersLoadBalancer{
			Servers:     servers(a.URL, b.URL),
			Sticky:      &dynamic.Sticky{Cookie: &dynamic.Cookie{Name: "pin", HTTPOnly: true}},
			HealthCheck: fastHC(),
		}},
	}})
	h := mustHandler(t, s, "svc@file")
	res, first := get(t, h)
	cookies := res.Cookies()
	if len(cookies) != 1 || cookies[0].Name != "pin" || !cookies[0].HttpOnly {
		t.Fatalf("cookies = %v", cookies)
	}
	if hasAll(cookies[0].Value, "127.0.0.1") {
		t.Fatalf("cookie value %q discloses the server", cookies[0].Value)
	}
	for range 10 {
		res, body := get(t, h, cookies[0])
		if body != first || len(res.Cookies()) != 0 {
			t.Fatalf("pinned request went to %q (want %q), cookies %v", body, first, res.Cookies())
		}
	}
	// Unknown value: balanced normally and re-pinned.
	res, _ = get(t, h, &http.Cookie{Name: "pin", Value: "ffff"})
	if len(res.Cookies()) != 1 {
		t.Fatal("unknown cookie value was not replaced")
	}
	// The pinned server goes down: the client moves and gets a new cookie.
	pinned, other := a, b
	if first == "b" {
		pinned, other = b, a
	}
	pinned.sick.Store(true)
	waitUntil(t, h, statusIs(s, "svc@file", map[string]string{pinned.URL: "DOWN", other.URL: "UP"}))
	res, body := get(t, h, cookies[0])
	if body != other.name || len(res.Cookies()) != 1 || res.Cookies()[0].Value == cookies[0].Value {
		t.Fatalf("after pinned server went down: body %q, cookies %v", body, res.Cookies())
	}
}

func TestHealthCheckEjectionAndRecovery(t *testing.T) {
	a, b := newBackend(t, "a"), newBackend(t, "b")
	var mu sync.Mutex
	events := map[string][]bool{}
	s := New(Options{
		Services: map[string]*dynamic.Service{
			"svc@file": {LoadBalancer: &dynamic.ServersLoadBalancer{Servers: servers(a.URL, b.URL), HealthCheck: fastHC()}},
		},
		OnServerState: func(service, url string, up bool) {
			mu.Lock()
			events[service+" "+url] = append(events[service+" "+url], up)
			mu.Unlock()
		},
	})
	h := mustHandler(t, s, "svc@file")
	a.sick.Store(true)
	waitUntil(t, h, statusIs(s, "svc@file", map[string]string{a.URL: "DOWN", b.URL: "UP"}))
	for range 6 {
		if _, body := get(t, h); body != "b" {
			t.Fatalf("request went to %q while a is down", body)
		}
	}
	a.sick.Store(false)
	waitUntil(t, h, statusIs(s, "svc@file", map[string]string{a.URL: "UP", b.URL: "UP"}))
	seen := map[string]bool{}
	for range 4 {
		_, body := get(t, h)
		seen[body] = true
	}
	if !seen["a"] || !seen["b"] {
		t.Fatalf("after recovery saw %v, want both", seen)
	}
	mu.Lock()
	defer mu.Unlock()
	got := events["svc@file "+a.URL]
	if len(got) < 3 || !got[0] || got[1] || !got[2] {
		t.Fatalf("OnServerState for a = %v, want [true false true]", got)
	}
}

func TestAllServersDownIs503(t *testing.T) {
	a := newBackend(t, "a")
	a.sick.Store(true)
	s := New(Options{Services: map[string]*dynamic.Service{
		"svc@file": {LoadBalancer: &dynamic.ServersLoadBalancer{Servers: servers(a.URL), HealthCheck: fastHC()}},
	}})
	h := mustHandler(t, s, "svc@file")
	waitUntil(t, h, statusIs(s, "svc@file", map[string]string{a.URL: "DOWN"}))
	res, body := get(t, h)
	if res.StatusCode != http.StatusServiceUnavailable || body != "Service Unavailable" {
		t.Fatalf("got %d %q", res.StatusCode, body)
	}
}

func TestPassiveHealthCheckEjects(t *testing.T) {
	dead, good := closedURL(t), newBackend(t, "good")
	s := New(Options{Services: map[string]*dynamic.Service{
		"svc@file": {LoadBalancer: &dynamic.ServersLoadBalancer{
			Servers:            servers(dead, good.URL),
			PassiveHealthCheck: &dynamic.PassiveServerHealthCheck{FailureWindow: dur(time.Minute), MaxFailedAttempts: 1},
		}},
	}})
	h := mustHandler(t, s, "svc@file")
	res, body := get(t, h) // wrr starts with the first server
	if res.StatusCode != http.StatusBadGateway || body != "Bad Gateway" {
		t.Fatalf("first request: %d %q, want 502 from the dead server", res.StatusCode, body)
	}
	if got := s.ServerStatus("svc@file"); got[dead] != "DOWN" {
		t.Fatalf("status %v: dead server not ejected", got)
	}
	for range 6 {
		if res, body := get(t, h); res.StatusCode != 200 || body != "good" {
			t.Fatalf("got %d %q after ejection", res.StatusCode, body)
		}
	}
}

func TestBackend500IsNotAPassiveFailure(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
	}))
	defer srv.Close()
	s := New(Options{Services: map[string]*dynamic.Service{
		"svc@file": {LoadBalancer: &dynamic.ServersLoadBalancer{
			Servers:            servers(srv.URL),
			PassiveHealthCheck: &dynamic.PassiveServerHealthCheck{MaxFailedAttempts: 1},
		}},
	}})
	h := mustHandler(t, s, "svc@file")
	for range 3 {
		if res, _ := get(t, h); res.StatusCode != 500 {
			t.Fatalf("status %d, want the backend's 500", res.StatusCode)
		}
	}
	if got := s.ServerStatus("svc@file"); got[srv.URL] != "UP" {
		t.Fatalf("status %v: a backend 500 ejected the server", got)
	}
}
