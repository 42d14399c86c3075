package loadbalancer

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/guan-gateway/guan/reqinfo"
	"github.com/guan-gateway/guan/services/health"
)

func named(name string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, name) })
}

func TestBalancer(t *testing.T) {
	st := health.NewServers([]string{"http://a", "http://b"}, nil)
	b, err := New(Options{Name: "svc@file", State: st, Servers: []Server{
		{URL: "http://a", Weight: 1, Handler: named("a")},
		{URL: "http://b", Weight: 1, Handler: named("b")},
	}})
	if err != nil {
		t.Fatal(err)
	}
	serve := func() (int, string, *reqinfo.Info) {
		info := &reqinfo.Info{}
		req := httptest.NewRequest("GET", "/", nil)
		rec := httptest.NewRecorder()
		b.ServeHTTP(rec, req.WithContext(reqinfo.With(req.Context(), info)))
		return rec.Code, rec.Body.String(), info
	}
	if _, body, info := serve(); body != "a" || info.Service != "svc@file" {
		t.Fatalf("body %q, service %q", body, info.Service)
	}
	st.SetActive(0, false)
	for range 3 {
		if _, body, _ := serve(); body != "b" {
			t.Fatalf("went to %q while a is down", body)
		}
	}
	st.SetActive(1, false)
	if code, body, info := serve(); code != 503 || body != "Service Unavailable" || info.OriginStatus != 503 {
		t.Fatalf("all down: %d %q", code, body)
	}
	if b.Healthy() {
		t.Fatal("Healthy with all servers down")
	}
}

func TestNewErrors(t *testing.T) {
	st := health.NewServers([]string{"http://a"}, nil)
	srv := []Server{{URL: "http://a", Weight: 1, Handler: named("a")}}
	tests := []struct {
		o    Options
		want string
	}{
		{Options{State: st}, "no servers"},
		{Options{Servers: srv, State: st, Strategy: "random"}, `strategy "random": use "wrr", "p2c", "hrw" or "leasttime"`},
		{Options{Servers: srv}, "health state"},
	}
	for _, tt := range tests {
		if _, err := New(tt.o); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("err = %v, want %q", err, tt.want)
		}
	}
}

func threeServers(t testing.TB, strategy string, weights ...int) (*Balancer, *health.Servers) {
	t.Helper()
	urls := []string{"http://a", "http://b", "http://c"}
	st := health.NewServers(urls, nil)
	srv := make([]Server, len(urls))
	for i, u := range urls {
		srv[i] = Server{URL: u, Weight: 1, Handler: named(u[len("http://"):])}
		if i < len(weights) {
			srv[i].Weight = weights[i]
		}
	}
	b, err := New(Options{Name: "svc@file", State: st, Servers: srv, Strategy: strategy})
	if err != nil {
		t.Fatal(err)
	}
	return b, st
}

func serveFrom(b *Balancer, remote string) (int, string) {
	req := httptest.NewRequest("GET", "/", nil)
	req.RemoteAddr = remote
	rec := httptest.NewRecorder()
	b.ServeHTTP(rec, req)
	return rec.Code, rec.Body.String()
}

// hrw: a client IP keeps its server whatever its port; a server that goes
// down gives away only its own clients, which come back when it is up.
func TestHRWStrategy(t *testing.T) {
	b, st := threeServers(t, "HRW")
	const clients = 300
	home := make([]string, clients)
	counts := map[string]int{}
	for c := range clients {
		ip := fmt.Sprintf("10.0.%d.%d", c/250, c%250+1)
		_, home[c] = serveFrom(b, ip+":1000")
		if _, again := serveFrom(b, ip+":2000"); again != home[c] {
			t.Fatalf("client %s moved from %s to %s", ip, home[c], again)
		}
		counts[home[c]]++
	}
	for _, n := range []string{"a", "b", "c"} {
		if counts[n] < clients/3-50 || counts[n] > clients/3+50 {
			t.Fatalf("clients per server %v: want about a third each", counts)
		}
	}
	st.SetActive(1, false) // b down
	for c := range clients {
		ip := fmt.Sprintf("10.0.%d.%d", c/250, c%250+1)
		_, got := serveFrom(b, ip+":1000")
		if got == "b" || (home[c] != "b" && got != home[c]) {
			t.Fatalf("client %s (home %s) sent to %s with b down", ip, home[c], got)
		}
	}
	st.SetActive(1, true)
	for c := range clients {
		ip := fmt.Sprintf("10.0.%d.%d", c/250, c%250+1)
		if _, got := serveFrom(b, ip+":1000"); got != home[c] {
			t.Fatalf("client %s did not return to %s: %s", ip, home[c], got)
		}
	}
	st.SetActive(0, false)
	st.SetActive(1, false)
	st.SetActive(2, false)
	if code, _ := serveFrom(b, "10.0.0.1:1000"); code != 503 {
		t.Fatalf("all down: %d", code)
	}
}

// hrw weights: weight 0 never serves, and shares follow the others' weights.
func TestHRWStrategyWeights(t *testing.T) {
	b, _ := threeServers(t, "hrw", 3, 1, 0)
	counts := map[string]int{}
	const clients = 2000
	for c := range clients {
		_, got := serveFrom(b, fmt.Sprintf("10.1.%d.%d:1", c/250, c%250+1))
		counts[got]++
	}
	if counts["c"] != 0 || counts["a"] < clients*3/4-100 || counts["a"] > clients*3/4+100 {
		t.Fatalf("counts = %v, want about 75%% a, 25%% b, no c", counts)
	}
}

// leasttime: the server with the lowest mean TTFB × (1 + in flight) takes
// the request; equal scores follow the weights' round robin; down servers
// are skipped; requests in flight are counted while served.
func TestLeastTimeStrategy(t *testing.T) {
	b, st := threeServers(t, "leasttime", 2, 1, 1)
	// No samples yet: all score 0, so the round robin of weights 2:1:1.
	counts := map[string]int{}
	for range 8 {
		_, got := serveFrom(b, "10.0.0.1:1")
		counts[got]++
	}
	if counts["a"] != 4 || counts["b"] != 2 || counts["c"] != 2 {
		t.Fatalf("cold counts = %v, want a:4 b:2 c:2", counts)
	}
	st.ObserveTTFB(0, 30*time.Millisecond) // a: 30 / 2 = 15
	st.ObserveTTFB(1, 10*time.Millisecond) // b: 10
	st.ObserveTTFB(2, 20*time.Millisecond) // c: 20
	if _, got := serveFrom(b, "10.0.0.1:1"); got != "b" {
		t.Fatalf("went to %s, want the fastest b", got)
	}
	st.InFlight(1).Add(1) // b: 10 × 2 = 20 > a's 15
	if _, got := serveFrom(b, "10.0.0.1:1"); got != "a" {
		t.Fatalf("went to %s, want a while b is busy", got)
	}
	st.SetActive(0, false)
	st.InFlight(1).Add(-1)
	st.ObserveTTFB(1, 50*time.Millisecond) // b: mean 30
	if _, got := serveFrom(b, "10.0.0.1:1"); got != "c" {
		t.Fatalf("went to %s, want c with a down and b slower", got)
	}

	// The in-flight count is held while the server serves.
	seen := make(chan int64, 1)
	st2 := health.NewServers([]string{"http://x"}, nil)
	b2, err := New(Options{State: st2, Strategy: "leasttime", Servers: []Server{{URL: "http://x", Weight: 1,
		Handler: http.HandlerFunc(func(http.ResponseWriter, *http.Request) { seen <- st2.InFlight(0).Load() })}}})
	if err != nil {
		t.Fatal(err)
	}
	serveFrom(b2, "10.0.0.1:1")
	if n := <-seen; n != 1 || st2.InFlight(0).Load() != 0 {
		t.Fatalf("in flight while serving %d, after %d", n, st2.InFlight(0).Load())
	}
}

func TestUsesTTFB(t *testing.T) {
	for s, want := range map[string]bool{"leasttime": true, "LeastTime": true, "": false, "wrr": false, "p2c": false, "hrw": false} {
		if UsesTTFB(s) != want {
			t.Errorf("UsesTTFB(%q) = %v", s, !want)
		}
	}
}

// BenchmarkNext is the per-request cost of choosing a server, by strategy,
// over 8 servers (leasttime's tie: none measured yet, or all faster than a
// millisecond).
func BenchmarkNext(b *testing.B) {
	urls := make([]string, 8)
	srv := make([]Server, 8)
	for i := range urls {
		urls[i] = fmt.Sprintf("http://10.0.0.%d:8080", i+1)
		srv[i] = Server{URL: urls[i], Weight: i%3 + 1, Handler: named("x")}
	}
	req := httptest.NewRequest("GET", "/", nil)
	req.RemoteAddr = "192.0.2.10:40000"
	for _, name := range []string{"wrr", "p2c", "hrw", "leasttime", "leasttime-tied"} {
		b.Run(name, func(b *testing.B) {
			st := health.NewServers(urls, nil)
			bal, err := New(Options{State: st, Servers: srv, Strategy: strings.TrimSuffix(name, "-tied")})
			if err != nil {
				b.Fatal(err)
			}
			if name == "leasttime" {
				for i := range urls {
					st.ObserveTTFB(i, time.Duration(5+i)*time.Millisecond)
				}
			}
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if bal.next(req) < 0 {
						b.Fatal("no server")
					}
				}
			})
		})
	}
}
