package hrw

import (
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/guan-gateway/guan/services/internal/svctest"
)

func serve(h http.Handler, remoteAddr string) (int, string) {
	req := httptest.NewRequest("GET", "/", nil)
	req.RemoteAddr = remoteAddr
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	b, _ := io.ReadAll(rec.Body)
	return rec.Code, string(b)
}

func ip(i int) string { return fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255) }

func TestStickyPerClientIP(t *testing.T) {
	h, err := New(Options{Children: []Child{
		{"a", 1, svctest.NewChild("a", true)},
		{"b", 1, svctest.NewChild("b", true)},
		{"c", 1, svctest.NewChild("c", true)},
	}})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for i := range 50 {
		_, first := serve(h, ip(i)+":1000")
		seen[first] = true
		for port := range 5 {
			// Another connection of the same client: only the IP counts.
			if _, got := serve(h, fmt.Sprintf("%s:%d", ip(i), 2000+port)); got != first {
				t.Fatalf("client %s went to %s, then %s", ip(i), first, got)
			}
		}
	}
	if len(seen) != 3 {
		t.Fatalf("50 clients reached %v, want all three children", seen)
	}
	// IPv6 peers and a RemoteAddr without a port are hashed too.
	_, a := serve(h, "[2001:db8::1]:443")
	if _, b := serve(h, "[2001:db8::1]:444"); a != b {
		t.Fatalf("IPv6 client went to %s, then %s", a, b)
	}
	if code, _ := serve(h, "pipe"); code != 200 {
		t.Fatalf("RemoteAddr without port: %d", code)
	}
}

func TestWeightsShareClients(t *testing.T) {
	h, _ := New(Options{Children: []Child{
		{"heavy", 3, svctest.NewChild("heavy", true)},
		{"light", 1, svctest.NewChild("light", true)},
		{"off", 0, svctest.NewChild("off", true)},
	}})
	got := map[string]int{}
	const n = 20000
	for i := range n {
		_, name := serve(h, ip(i)+":1")
		got[name]++
	}
	if got["off"] != 0 {
		t.Fatalf("weight 0 child got %d clients", got["off"])
	}
	if share := float64(got["heavy"]) / n; math.Abs(share-0.75) > 0.02 {
		t.Fatalf("weight 3 of 4 got %.3f of the clients (%v)", share, got)
	}
}

// Only the clients of a child that goes down move, and they come back when
// it is up again.
func TestHealthMovesOnlyThatChildsClients(t *testing.T) {
	b := svctest.NewChild("b", true)
	flaky := &toggle{Child: b, up: true}
	children := []Child{
		{"a", 1, svctest.NewChild("a", true)},
		{"b", 1, flaky},
		{"c", 1, svctest.NewChild("c", true)},
	}
	h, _ := New(Options{Children: children, Propagate: true})
	before := map[string]string{}
	for i := range 300 {
		_, before[ip(i)] = serve(h, ip(i)+":1")
	}
	flaky.up = false
	moved := 0
	for i := range 300 {
		_, got := serve(h, ip(i)+":1")
		switch {
		case got == "b":
			t.Fatalf("client %s still sent to the unhealthy child", ip(i))
		case before[ip(i)] != "b" && got != before[ip(i)]:
			t.Fatalf("client %s of healthy child %s moved to %s", ip(i), before[ip(i)], got)
		case before[ip(i)] == "b":
			moved++
		}
	}
	if moved == 0 {
		t.Fatal("no client was on b")
	}
	if !h.Healthy() {
		t.Fatal("unhealthy with two healthy children")
	}
	flaky.up = true
	for i := range 300 {
		if _, got := serve(h, ip(i)+":1"); got != before[ip(i)] {
			t.Fatalf("client %s did not come back to %s: %s", ip(i), before[ip(i)], got)
		}
	}

	// Without propagation the unhealthy child keeps its clients.
	flaky.up = false
	h2, _ := New(Options{Children: children})
	for i := range 300 {
		if _, got := serve(h2, ip(i)+":1"); got != before[ip(i)] {
			t.Fatalf("without healthCheck, client %s moved from %s to %s", ip(i), before[ip(i)], got)
		}
	}
	if !h2.Healthy() {
		t.Fatal("without propagation the service always reports healthy")
	}
}

type toggle struct {
	*svctest.Child
	up bool
}

func (c *toggle) Healthy() bool { return c.up }

func TestNoChildAvailable(t *testing.T) {
	h, _ := New(Options{Children: []Child{{"a", 1, svctest.NewChild("a", false)}}, Propagate: true})
	if code, body := serve(h, "192.0.2.1:1"); code != http.StatusServiceUnavailable || body != "Service Unavailable" {
		t.Fatalf("got %d %q", code, body)
	}
	if h.Healthy() {
		t.Fatal("healthy without a healthy child")
	}
	h, _ = New(Options{Children: []Child{{"a", 0, svctest.NewChild("a", true)}}})
	if code, _ := serve(h, "192.0.2.1:1"); code != http.StatusServiceUnavailable {
		t.Fatalf("only weight 0: got %d", code)
	}
	if _, err := New(Options{}); err == nil {
		t.Fatal("no children accepted")
	}
}

// Names that differ only in their last byte get independent scores: with
// Traefik's unmixed FNV-1a, app1 at weight 3 would get every client and
// three equal children would split 50/25/25.
func TestSimilarNamesFollowWeights(t *testing.T) {
	for _, tt := range []struct {
		names   []string
		weights []int
		want    []float64
	}{
		{[]string{"app1", "app2"}, []int{3, 1}, []float64{0.75, 0.25}},
		{[]string{"app1", "app2"}, []int{1, 2}, []float64{1.0 / 3, 2.0 / 3}},
		{[]string{"svc-a@file", "svc-b@file", "svc-c@file"}, []int{1, 1, 1}, []float64{1.0 / 3, 1.0 / 3, 1.0 / 3}},
	} {
		children := make([]Child, len(tt.names))
		for i, n := range tt.names {
			children[i] = Child{n, tt.weights[i], svctest.NewChild(n, true)}
		}
		h, _ := New(Options{Children: children})
		got := make([]int, len(children))
		const n = 20000
		for i := range n {
			got[h.Pick(ip(i))]++
		}
		for i, w := range tt.want {
			if share := float64(got[i]) / n; math.Abs(share-w) > 0.02 {
				t.Errorf("%v weights %v: %s got %.3f of the clients, want %.3f (%v)", tt.names, tt.weights, tt.names[i], share, w, got)
			}
		}
	}
}

// The hash is FNV-1a of the client IP then the name, as in Traefik.
func TestFNV(t *testing.T) {
	f := fnv.New64a()
	f.Write([]byte("192.0.2.1" + "app@file"))
	if got := fnvString(fnvString(fnvOffset, "192.0.2.1"), "app@file"); got != f.Sum64() {
		t.Fatalf("fnv %x, want %x", got, f.Sum64())
	}
}

func BenchmarkPick(b *testing.B) {
	children := make([]Child, 4)
	for i := range children {
		children[i] = Child{fmt.Sprintf("service-%d", i), 1, svctest.NewChild("x", true)}
	}
	h, _ := New(Options{Children: children})
	b.ReportAllocs()
	for b.Loop() {
		h.Pick("192.0.2.10")
	}
}
