package services

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/guan-gateway/guan/config/dynamic"
)

func TestWeightedHealthPropagation(t *testing.T) {
	a, b := newBackend(t, "a"), newBackend(t, "b")
	children := []dynamic.WRRService{{Name: "a"}, {Name: "b"}}
	s := New(Options{Services: map[string]*dynamic.Service{
		"a@file":           checkedLB(a.URL),
		"b@file":           checkedLB(b.URL),
		"propagating@file": {Weighted: &dynamic.WeightedRoundRobin{Services: children, HealthCheck: &dynamic.HealthCheck{}}},
		"plain@file":       {Weighted: &dynamic.WeightedRoundRobin{Services: children}},
	}})
	prop, plain := mustHandler(t, s, "propagating@file"), mustHandler(t, s, "plain@file")
	a.sick.Store(true)
	waitUntil(t, mustHandler(t, s, "a@file"), statusIs(s, "a@file", map[string]string{a.URL: "DOWN"}))

	for range 4 {
		if _, body := get(t, prop); body != "b" {
			t.Fatalf("propagating weighted sent to %q, want only b", body)
		}
	}
	codes := map[int]int{}
	for range 4 {
		res, _ := get(t, plain)
		codes[res.StatusCode]++
	}
	if codes[503] != 2 || codes[200] != 2 {
		t.Fatalf("weighted without healthCheck: codes %v, want the down child still picked (2×503)", codes)
	}
	if h := prop.(interface{ Healthy() bool }); !h.Healthy() {
		t.Fatal("propagating weighted unhealthy with one child up")
	}
	b.sick.Store(true)
	waitUntil(t, mustHandler(t, s, "b@file"), statusIs(s, "b@file", map[string]string{b.URL: "DOWN"}))
	if h := prop.(interface{ Healthy() bool }); h.Healthy() {
		t.Fatal("propagating weighted healthy with every child down")
	}
	if res, body := get(t, prop); res.StatusCode != 503 || body != "Service Unavailable" {
		t.Fatalf("all children down: %d %q", res.StatusCode, body)
	}
}

func TestWeightedStickyAndRatio(t *testing.T) {
	a, b := newBackend(t, "a"), newBackend(t, "b")
	s := New(Options{Services: map[string]*dynamic.Service{
		"a@file": {LoadBalancer: &dynamic.ServersLoadBalancer{Servers: servers(a.URL)}},
		"b@file": {LoadBalancer: &dynamic.ServersLoadBalancer{Servers: servers(b.URL)}},
		"w@file": {Weighted: &dynamic.WeightedRoundRobin{Services: []dynamic.WRRService{{Name: "a", Weight: intp(2)}, {Name: "b@file", Weight: intp(1)}}}},
		"sw@file": {Weighted: &dynamic.WeightedRoundRobin{
			Services: []dynamic.WRRService{{Name: "a"}, {Name: "b"}},
			Sticky:   &dynamic.Sticky{Cookie: &dynamic.Cookie{}},
		}},
	}})
	w := mustHandler(t, s, "w@file")
	counts := map[string]int{}
	for range 30 {
		_, body := get(t, w)
		counts[body]++
	}
	if counts["a"] != 20 || counts["b"] != 10 {
		t.Fatalf("counts %v, want a:20 b:10", counts)
	}
	sw := mustHandler(t, s, "sw@file")
	res, first := get(t, sw)
	if len(res.Cookies()) != 1 || !strings.HasPrefix(res.Cookies()[0].Name, "_") {
		t.Fatalf("cookies %v, want one with a derived name", res.Cookies())
	}
	for range 5 {
		if _, body := get(t, sw, res.Cookies()[0]); body != first {
			t.Fatalf("sticky weighted moved from %q to %q", first, body)
		}
	}
}

func TestFailoverSwitchAndReturn(t *testing.T) {
	main, fb := newBackend(t, "main"), newBackend(t, "fallback")
	s := New(Options{Services: map[string]*dynamic.Service{
		"main@file":     {LoadBalancer: &dynamic.ServersLoadBalancer{Servers: servers(main.URL), HealthCheck: fastHC()}},
		"fallback@file": {LoadBalancer: &dynamic.ServersLoadBalancer{Servers: servers(fb.URL)}},
		"fo@file":       {Failover: &dynamic.Failover{Service: "main", Fallback: "fallback"}},
	}})
	fo, mainH := mustHandler(t, s, "fo@file"), mustHandler(t, s, "main@file")
	if _, body := get(t, fo); body != "main" {
		t.Fatalf("healthy main: got %q", body)
	}
	main.sick.Store(true)
	waitUntil(t, mainH, statusIs(s, "main@file", map[string]string{main.URL: "DOWN"}))
	if _, body := get(t, fo); body != "fallback" {
		t.Fatalf("main down: got %q", body)
	}
	main.sick.Store(false)
	waitUntil(t, mainH, statusIs(s, "main@file", map[string]string{main.URL: "UP"}))
	if _, body := get(t, fo); body != "main" {
		t.Fatalf("main back: got %q", body)
	}
}

func TestFailoverWithoutHealthCheckKeepsMain(t *testing.T) {
	fb := newBackend(t, "fallback")
	s := New(Options{Services: map[string]*dynamic.Service{
		"main@file":     {LoadBalancer: &dynamic.ServersLoadBalancer{Servers: servers(closedURL(t))}},
		"fallback@file": {LoadBalancer: &dynamic.ServersLoadBalancer{Servers: servers(fb.URL)}},
		"fo@file":       {Failover: &dynamic.Failover{Service: "main", Fallback: "fallback"}},
	}})
	if res, _ := get(t, mustHandler(t, s, "fo@file")); res.StatusCode != http.StatusBadGateway {
		t.Fatalf("status %d: main without health check must still be used", res.StatusCode)
	}
}

func TestMirroring(t *testing.T) {
	main, mir := newBackend(t, "main"), newBackend(t, "mirror")
	mir.arrived = make(chan string, 100)
	max := int64(8)
	noBody := false
	s := New(Options{Services: map[string]*dynamic.Service{
		"main@file":   {LoadBalancer: &dynamic.ServersLoadBalancer{Servers: servers(main.URL)}},
		"mirror@file": {LoadBalancer: &dynamic.ServersLoadBalancer{Servers: servers(mir.URL)}},
		"half@file":   {Mirroring: &dynamic.Mirroring{Service: "main", Mirrors: []dynamic.MirrorService{{Name: "mirror", Percent: 50}}}},
		"limited@file": {Mirroring: &dynamic.Mirroring{Service: "main", MaxBodySize: &max,
			Mirrors: []dynamic.MirrorService{{Name: "mirror", Percent: 100}}}},
		"nobody@file": {Mirroring: &dynamic.Mirroring{Service: "main", MirrorBody: &noBody,
			Mirrors: []dynamic.MirrorService{{Name: "mirror", Percent: 100}}}},
	}})
	post := func(h http.Handler, path, body string) (int, string) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("POST", path, strings.NewReader(body)))
		return rec.Code, rec.Body.String()
	}
	expectMirror := func(want string) {
		t.Helper()
		select {
		case got := <-mir.arrived:
			if got != want {
				t.Fatalf("mirror got %q, want %q", got, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("mirror never got %q", want)
		}
	}

	half := mustHandler(t, s, "half@file")
	for i := range 10 {
		if code, body := post(half, "/half", "b"); code != 200 || body != "main" {
			t.Fatalf("request %d: %d %q", i, code, body)
		}
	}
	for range 5 {
		expectMirror("/half b")
	}

	limited := mustHandler(t, s, "limited@file")
	if _, body := post(limited, "/small", "12345678"); body != "main" {
		t.Fatal(body)
	}
	expectMirror("/small 12345678")
	if _, body := post(limited, "/large", "123456789"); body != "main" {
		t.Fatal(body)
	}
	if main.hits.Load() != 12 {
		t.Fatalf("main served %d requests, want 12", main.hits.Load())
	}

	if _, body := post(mustHandler(t, s, "nobody@file"), "/nobody", "secret"); body != "main" {
		t.Fatal(body)
	}
	// /large must not have been mirrored: the next copy is /nobody's.
	expectMirror("/nobody ")
	if mir.hits.Load() != 7 {
		t.Fatalf("mirror got %d requests, want 7", mir.hits.Load())
	}
}

// Without maxBodySize a mirroring service mirrors bodies up to 1 MiB only
// (Traefik mirrors any size); -1 lifts the limit.
func TestMirroringDefaultMaxBodySize(t *testing.T) {
	main, mir := newBackend(t, "main"), newBackend(t, "mirror")
	mir.arrived = make(chan string, 10)
	unlimited := int64(-1)
	s := New(Options{Services: map[string]*dynamic.Service{
		"main@file":      {LoadBalancer: &dynamic.ServersLoadBalancer{Servers: servers(main.URL)}},
		"mirror@file":    {LoadBalancer: &dynamic.ServersLoadBalancer{Servers: servers(mir.URL)}},
		"default@file":   {Mirroring: &dynamic.Mirroring{Service: "main", Mirrors: []dynamic.MirrorService{{Name: "mirror", Percent: 100}}}},
		"unlimited@file": {Mirroring: &dynamic.Mirroring{Service: "main", MaxBodySize: &unlimited, Mirrors: []dynamic.MirrorService{{Name: "mirror", Percent: 100}}}},
	}})
	big := strings.Repeat("x", 1<<20+1)
	post := func(name, path string) {
		t.Helper()
		rec := httptest.NewRecorder()
		mustHandler(t, s, name).ServeHTTP(rec, httptest.NewRequest("POST", path, strings.NewReader(big)))
		if rec.Body.String() != "main" {
			t.Fatalf("%s: main answered %q", name, rec.Body)
		}
	}
	post("default@file", "/default")
	post("unlimited@file", "/unlimited")
	select {
	case got := <-mir.arrived:
		if got != "/unlimited "+big {
			t.Fatalf("mirror got %.20q (%d bytes), want /unlimited with the whole body", got, len(got))
		}
	case <-time.After(5 * time.Second):
		t.Fatal("maxBodySize -1 did not mirror a large body")
	}
	if main.hits.Load() != 2 || mir.hits.Load() != 1 {
		t.Fatalf("main %d, mirror %d requests; want 2 and 1 (the body over the default limit not mirrored)", main.hits.Load(), mir.hits.Load())
	}
}

func TestSlowMirrorDoesNotDelayMain(t *testing.T) {
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer slow.Close()
	defer close(release) // before slow.Close, which waits for its requests
	main := newBackend(t, "main")
	s := New(Options{Services: map[string]*dynamic.Service{
		"main@file": {LoadBalancer: &dynamic.ServersLoadBalancer{Servers: servers(main.URL)}},
		"slow@file": {LoadBalancer: &dynamic.ServersLoadBalancer{Servers: servers(slow.URL)}},
		"m@file":    {Mirroring: &dynamic.Mirroring{Service: "main", Mirrors: []dynamic.MirrorService{{Name: "slow", Percent: 100}}}},
	}})
	h := mustHandler(t, s, "m@file")
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 5 {
			if _, body := get(t, h); body != "main" {
				t.Errorf("got %q", body)
			}
		}
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("main responses waited for the slow mirror")
	}
}
