package services

import (
	"fmt"
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/guan-gateway/guan/config/dynamic"
	"github.com/guan-gateway/guan/services/hrw"
)

// A highestRandomWeight service over load balancers: one client IP always
// reaches the same child, the one hrw picks for the qualified child names,
// and unhealthy children are skipped with healthCheck.
func TestHighestRandomWeightBuild(t *testing.T) {
	a, b := newBackend(t, "a"), newBackend(t, "b")
	children := []dynamic.HRWService{{Name: "a"}, {Name: "b@file", Weight: intp(2)}}
	s := New(Options{Services: map[string]*dynamic.Service{
		"a@file":   checkedLB(a.URL),
		"b@file":   checkedLB(b.URL),
		"hrw@file": {HighestRandomWeight: &dynamic.HighestRandomWeight{Services: children, HealthCheck: &dynamic.HealthCheck{}}},
	}})
	h := mustHandler(t, s, "hrw@file")
	ref, _ := hrw.New(hrw.Options{Children: []hrw.Child{{Name: "a@file", Weight: 1, Handler: a.Config.Handler}, {Name: "b@file", Weight: 2, Handler: b.Config.Handler}}})
	from := func(ip string) string {
		req := httptest.NewRequest("GET", "/", nil)
		req.RemoteAddr = ip + ":4000"
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		body, _ := io.ReadAll(rec.Body)
		return strings.Fields(string(body))[0]
	}
	clients := map[string]string{}
	for i := range 40 {
		ip := fmt.Sprintf("198.51.100.%d", i)
		clients[ip] = from(ip)
		if want := []string{"a", "b"}[ref.Pick(ip)]; clients[ip] != want {
			t.Fatalf("client %s reached %s, want %s", ip, clients[ip], want)
		}
		if again := from(ip); again != clients[ip] {
			t.Fatalf("client %s reached %s, then %s", ip, clients[ip], again)
		}
	}
	if n := strings.Count(fmt.Sprint(clients), ":a"); n == 0 || n == len(clients) {
		t.Fatalf("%d of %d clients on a", n, len(clients))
	}
	a.sick.Store(true)
	waitUntil(t, mustHandler(t, s, "a@file"), statusIs(s, "a@file", map[string]string{a.URL: "DOWN"}))
	for ip := range clients {
		if got := from(ip); got != "b" {
			t.Fatalf("a is down, client %s reached %s", ip, got)
		}
	}

	for _, tt := range []struct {
		cfg  *dynamic.HighestRandomWeight
		want string
	}{
		{&dynamic.HighestRandomWeight{}, "no services"},
		{&dynamic.HighestRandomWeight{Services: []dynamic.HRWService{{}}}, "services[0]: name is empty"},
		{&dynamic.HighestRandomWeight{Services: []dynamic.HRWService{{Name: "a", Weight: intp(-1)}}}, "weight -1 must not be negative"},
		{&dynamic.HighestRandomWeight{Services: []dynamic.HRWService{{Name: "missing"}}}, `service "missing@file": unknown service`},
	} {
		s := New(Options{Services: map[string]*dynamic.Service{"a@file": checkedLB(a.URL), "x@file": {HighestRandomWeight: tt.cfg}}})
		if _, err := s.Handler("x@file"); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%+v: error %v, want %q", tt.cfg, err, tt.want)
		}
	}
}
