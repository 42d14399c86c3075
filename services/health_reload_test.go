package services

import (
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/guan-gateway/guan/config/dynamic"
	"github.com/guan-gateway/guan/statestore"
)

// A reload that changes a service's server list or weights keeps the health
// state of the servers whose URL and health-check settings are unchanged:
// an actively failed server stays DOWN, a passively ejected one stays
// ejected, and neither takes a request. New servers start UP.
func TestHealthStateSurvivesServerListChange(t *testing.T) {
	sick, good, added := newBackend(t, "sick"), newBackend(t, "good"), newBackend(t, "added")
	sick.sick.Store(true)
	// flaky passes its health check but drops every request: the
	// passive health check ejects it.
	flakySrv := newBackendWith(t, "flaky", func(srv *http.Server) {
		next := srv.Handler
		srv.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/health" {
				if c, _, err := w.(http.Hijacker).Hijack(); err == nil {
					c.Close()
				}
				return
			}
			next.ServeHTTP(w, r)
		})
	})
	flaky := flakySrv.URL
	var mu sync.Mutex
	events := map[string][]bool{}
	store := statestore.New()
	build := func(weights map[string]int, urls ...string) (*Set, *statestore.Build) {
		bld := store.Begin()
		srvs := servers(urls...)
		for i := range srvs {
			if w, ok := weights[srvs[i].URL]; ok {
				srvs[i].Weight = intp(w)
			}
		}
		return New(Options{
			Store: bld,
			Services: map[string]*dynamic.Service{"s@file": {LoadBalancer: &dynamic.ServersLoadBalancer{
				Servers: srvs,
				// One probe only: a verdict after the reload can only be
				// the carried-over one.
				HealthCheck:        &dynamic.ServerHealthCheck{Path: "/health", Interval: dur(time.Hour)},
				PassiveHealthCheck: &dynamic.PassiveServerHealthCheck{FailureWindow: dur(time.Hour)},
			}}},
			OnServerState: func(service, url string, up bool) {
				mu.Lock()
				events[url] = append(events[url], up)
				mu.Unlock()
			},
		}), bld
	}

	s1, b1 := build(nil, sick.URL, flaky, good.URL)
	h1 := mustHandler(t, s1, "s@file")
	waitUntil(t, h1, statusIs(s1, "s@file", map[string]string{sick.URL: "DOWN", flaky: "UP", good.URL: "UP"}))
	for range 3 { // the flaky server fails once and is ejected for an hour
		get(t, h1)
	}
	if got := s1.ServerStatus("s@file"); got[flaky] != "DOWN" {
		t.Fatalf("flaky server not ejected: %v", got)
	}
	b1.Commit()
	objects := store.Len()

	// Add a server and change a weight.
	s2, b2 := build(map[string]int{good.URL: 2}, sick.URL, flaky, good.URL, added.URL)
	h2 := mustHandler(t, s2, "s@file")
	want := map[string]string{sick.URL: "DOWN", flaky: "DOWN", good.URL: "UP", added.URL: "UP"}
	if got := s2.ServerStatus("s@file"); !statusIs(s2, "s@file", want)() {
		t.Fatalf("after adding a server: %v, want %v", got, want)
	}
	b2.Commit()
	if n := store.Len(); n != objects+1 {
		t.Fatalf("store holds %d objects, want %d (one new server)", n, objects+1)
	}
	sickHits := sick.hits.Load()
	seen := map[string]int{}
	for range 30 {
		res, body := get(t, h2)
		if res.StatusCode != 200 {
			t.Fatalf("got %d %q: a request went to the ejected server", res.StatusCode, body)
		}
		seen[body]++
	}
	if sick.hits.Load() != sickHits || seen["sick"] > 0 {
		t.Fatalf("the DOWN server took requests after the reload: %v", seen)
	}
	if seen["good"] != 20 || seen["added"] != 10 {
		t.Fatalf("spread %v, want good 20, added 10", seen)
	}
	mu.Lock()
	if ev := events[sick.URL]; len(ev) == 0 || ev[len(ev)-1] {
		t.Fatalf("OnServerState for the DOWN server after the reload: %v", ev)
	}
	mu.Unlock()

	// Removing servers closes their state; the rest keeps it.
	s3, b3 := build(nil, sick.URL, good.URL)
	if got := s3.ServerStatus("s@file"); got[sick.URL] != "DOWN" || got[good.URL] != "UP" {
		t.Fatalf("after removing servers: %v", got)
	}
	b3.Commit()
	if n := store.Len(); n != objects-1 {
		t.Fatalf("store holds %d objects, want %d (removed servers closed)", n, objects-1)
	}

	// A changed health check starts the servers afresh, UP.
	bld := store.Begin()
	s4 := New(Options{Store: bld, Services: map[string]*dynamic.Service{"s@file": {LoadBalancer: &dynamic.ServersLoadBalancer{
		Servers:     servers(sick.URL, good.URL),
		HealthCheck: &dynamic.ServerHealthCheck{Path: "/health", Interval: dur(time.Hour), Timeout: dur(3 * time.Second)},
	}}}})
	if got := s4.ServerStatus("s@file"); got[sick.URL] != "UP" {
		t.Fatalf("changed health check kept the old verdict: %v", got)
	}
	bld.Commit()
}
