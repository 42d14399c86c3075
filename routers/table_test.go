package routers

import (
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"

	"github.com/guan-gateway/guan/reqinfo"
)

func mustRule(t testing.TB, rule string) *Rule {
	t.Helper()
	r, err := ParseHTTP(rule, "")
	if err != nil {
		t.Fatalf("ParseHTTP(%s): %v", rule, err)
	}
	return r
}

func TestTablePriorities(t *testing.T) {
	routes := []Route{
		{Name: "catchall", Rule: mustRule(t, "PathPrefix(`/`)")},                                // priority 15
		{Name: "host", Rule: mustRule(t, "Host(`a.com`)")},                                      // 13
		{Name: "host-api", Rule: mustRule(t, "Host(`a.com`) && PathPrefix(`/api`)")},            // 36
		{Name: "explicit-low", Rule: mustRule(t, "Host(`a.com`) && Path(`/low`)"), Priority: 1}, // below "host"
		{Name: "zz-tie", Rule: mustRule(t, "Host(`b.com`)"), Priority: 100},
		{Name: "aa-tie", Rule: mustRule(t, "Host(`b.com`)"), Priority: 100},
		{Name: "regexp", Rule: mustRule(t, "HostRegexp(`^c`) && PathPrefix(`/`)")}, // 34
		{Name: "top", Rule: mustRule(t, "Path(`/top`)"), Priority: 1000},
	}
	table := NewTable(routes)
	tests := []struct{ target, want string }{
		{"http://a.com/", "catchall"},      // 15 beats Host(`a.com`) at 13
		{"http://a.com/api/x", "host-api"}, // longest rule wins
		{"http://a.com/low", "catchall"},   // explicit priority 1 loses
		{"http://b.com/", "aa-tie"},        // ties broken by name
		{"http://c1.com/", "regexp"},
		{"http://a.com/top", "top"},
		{"http://zzz/", "catchall"},
	}
	for _, tt := range tests {
		got := table.Lookup(req("GET", tt.target))
		if got == nil || got.Name != tt.want {
			t.Errorf("%s: got %v, want %s", tt.target, routeName(got), tt.want)
		}
	}
	empty := NewTable([]Route{{Name: "a", Rule: mustRule(t, "Host(`a`)")}})
	if got := empty.Lookup(req("GET", "http://b/")); got != nil {
		t.Errorf("no match: got %s", got.Name)
	}
}

func routeName(r *Route) string {
	if r == nil {
		return "<nil>"
	}
	return r.Name
}

// TestTableServeHTTP drives a table behind a real server with a real client.
func TestTableServeHTTP(t *testing.T) {
	reply := func(body string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, body) })
	}
	table := NewTable([]Route{
		{Name: "api@file", Rule: mustRule(t, "Host(`api.test`) && PathPrefix(`/v1`)"), Handler: reply("api")},
		{Name: "web@file", Rule: mustRule(t, "Host(`web.test`)"), Handler: reply("web")},
	})
	seen := make(chan string, 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		info := &reqinfo.Info{}
		table.ServeHTTP(w, r.WithContext(reqinfo.With(r.Context(), info)))
		seen <- info.Router
	}))
	defer srv.Close()

	tests := []struct {
		host, path     string
		status         int
		body, routerID string
	}{
		{"api.test", "/v1/users", 200, "api", "api@file"},
		{"WEB.test:80", "/", 200, "web", "web@file"},
		{"api.test", "/v2", 404, "404 page not found\n", ""},
		{"other.test", "/", 404, "404 page not found\n", ""},
	}
	for _, tt := range tests {
		r, _ := http.NewRequest("GET", srv.URL+tt.path, nil)
		r.Host = tt.host
		resp, err := srv.Client().Do(r)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tt.status || string(body) != tt.body {
			t.Errorf("%s%s: got %d %q, want %d %q", tt.host, tt.path, resp.StatusCode, body, tt.status, tt.body)
		}
		if got := <-seen; got != tt.routerID {
			t.Errorf("%s%s: reqinfo router %q, want %q", tt.host, tt.path, got, tt.routerID)
		}
	}
}

// TestTableMatchesLinearScan checks the indexed lookup against a plain scan
// in priority order over random rule sets and requests.
func TestTableMatchesLinearScan(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	hosts := []string{"a.com", "b.com", "c.com", "A.com.", "xn--d.com", ".", "::1", "[::1]"}
	paths := []string{"/", "/api", "/api/", "/api/v1", "/apix", "/b", "/b/c", "/a%2Fb", "/ü"}
	leaf := func() string {
		switch rng.IntN(9) {
		case 0, 1, 2:
			return fmt.Sprintf("Host(`%s`)", hosts[rng.IntN(len(hosts))])
		case 3, 4:
			return fmt.Sprintf("PathPrefix(`%s`)", paths[rng.IntN(len(paths))])
		case 5:
			return fmt.Sprintf("Path(`%s`)", paths[rng.IntN(len(paths))])
		case 6:
			return "HostRegexp(`^[ab]`)"
		case 7:
			return []string{"Method(`GET`)", "Method(`POST`)"}[rng.IntN(2)]
		default:
			return "Header(`X-K`, `1`)"
		}
	}
	var gen func(depth int) string
	gen = func(depth int) string {
		if depth > 2 || rng.IntN(3) == 0 {
			return leaf()
		}
		switch rng.IntN(4) {
		case 0:
			return gen(depth+1) + " || " + gen(depth+1)
		case 1:
			return "!" + leaf()
		default:
			return "(" + gen(depth+1) + ") && " + gen(depth+1)
		}
	}
	reqHosts := []string{"a.com", "B.COM", "c.com.", "a.com:8080", "d.com", "", ".", "xn--d.com", "bz.com", "[::1]:8080", "[::1]"}
	reqPaths := []string{"/", "/api", "/api/v1/x", "/apix", "/b/c/d", "/a%2Fb", "/a/b", "/%C3%BC", "/zzz"}

	for round := 0; round < 40; round++ {
		n := 1 + rng.IntN(80)
		routes := make([]Route, n)
		for i := range routes {
			routes[i] = Route{Name: fmt.Sprintf("r%03d", rng.IntN(1000)), Rule: mustRule(t, gen(0))}
			if rng.IntN(3) == 0 {
				routes[i].Priority = rng.IntN(5) - 1
			}
		}
		table := NewTable(routes)
		naive := append([]Route(nil), routes...)
		sort.SliceStable(naive, func(i, j int) bool {
			pi, pj := naive[i].EffectivePriority(), naive[j].EffectivePriority()
			if pi != pj {
				return pi > pj
			}
			return naive[i].Name < naive[j].Name
		})
		for k := 0; k < 200; k++ {
			r := req([]string{"GET", "POST"}[rng.IntN(2)], reqPaths[rng.IntN(len(reqPaths))], "host="+reqHosts[rng.IntN(len(reqHosts))])
			if rng.IntN(2) == 0 {
				r.Header.Set("X-K", "1")
			}
			want := "<nil>"
			for i := range naive {
				if naive[i].Rule.Match(r) {
					want = naive[i].Name + " " + naive[i].Rule.String()
					break
				}
			}
			got := table.Lookup(r)
			gotS := "<nil>"
			if got != nil {
				gotS = got.Name + " " + got.Rule.String()
			}
			if got != nil && !got.Rule.Match(r) || gotS != want {
				t.Fatalf("round %d: %s %s%s: table %s, linear scan %s", round, r.Method, r.Host, r.URL.EscapedPath(), gotS, want)
			}
		}
	}
}

func TestLookupAllocFree(t *testing.T) {
	table := NewTable(benchRoutes(1000))
	r := req("GET", "http://host300.example.com/api/users")
	if got := table.Lookup(r); got == nil || got.Name != "host300-api" {
		t.Fatalf("got %s", routeName(got))
	}
	if n := testing.AllocsPerRun(100, func() { table.Lookup(r) }); n != 0 {
		t.Fatalf("Lookup allocates %v times, want 0", n)
	}
}

// benchRoutes makes n routers: hosts with an /api, a /static and a host-only
// route each, plus a few catch-alls.
func benchRoutes(n int) []Route {
	routes := []Route{
		{Name: "catchall", Rule: must(ParseHTTP("PathPrefix(`/`)", "")), Priority: 1},
		{Name: "health", Rule: must(ParseHTTP("Path(`/healthz`)", ""))},
		{Name: "wildcard", Rule: must(ParseHTTP("HostRegexp(`^.+\\.internal$`)", ""))},
	}
	for i := 0; len(routes) < n; i++ {
		h := fmt.Sprintf("host%d.example.com", i)
		routes = append(routes,
			Route{Name: fmt.Sprintf("host%d-api", i), Rule: must(ParseHTTP("Host(`"+h+"`) && PathPrefix(`/api`)", ""))},
			Route{Name: fmt.Sprintf("host%d-static", i), Rule: must(ParseHTTP("Host(`"+h+"`) && PathPrefix(`/static`)", ""))},
			Route{Name: fmt.Sprintf("host%d", i), Rule: must(ParseHTTP("Host(`"+h+"`)", ""))},
		)
	}
	return routes[:n]
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func BenchmarkLookup(b *testing.B) {
	for _, n := range []int{10, 1000, 10000} {
		b.Run(fmt.Sprintf("routers=%d", n), func(b *testing.B) {
			table := NewTable(benchRoutes(n))
			// The last host group that fits in n routers.
			last := (n-3)/3 - 1
			r := req("GET", fmt.Sprintf("http://host%d.example.com/api/users", last))
			if got := table.Lookup(r); got == nil || !strings.HasSuffix(got.Name, "-api") {
				b.Fatalf("got %s", routeName(got))
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				table.Lookup(r)
			}
		})
	}
	// The side-by-side benchmark's scenario 6: 10k routers of one host
	// each, requests spread over 1k of the hosts.
	b.Run("host-only=10000/spread=1000", func(b *testing.B) {
		routes := make([]Route, 10000)
		for i := range routes {
			routes[i] = Route{Name: fmt.Sprintf("h%d", i), Rule: must(ParseHTTP(fmt.Sprintf("Host(`h%d.bench.local`)", i), ""))}
		}
		table := NewTable(routes)
		reqs := make([]*http.Request, 1000)
		for i := range reqs {
			reqs[i] = req("GET", fmt.Sprintf("http://h%d.bench.local/0", i*10))
			if got := table.Lookup(reqs[i]); got == nil || got.Name != fmt.Sprintf("h%d", i*10) {
				b.Fatalf("got %s", routeName(got))
			}
		}
		b.ReportAllocs()
		b.ResetTimer()
		i := 0
		for b.Loop() {
			table.Lookup(reqs[i])
			if i++; i == len(reqs) {
				i = 0
			}
		}
	})
	b.Run("same-host-prefixes=10000", func(b *testing.B) {
		routes := make([]Route, 0, 10001)
		for i := 0; i < 10000; i++ {
			routes = append(routes, Route{Name: fmt.Sprintf("p%d", i), Rule: must(ParseHTTP(fmt.Sprintf("Host(`api.example.com`) && PathPrefix(`/svc%d/`)", i), ""))})
		}
		routes = append(routes, Route{Name: "rest", Rule: must(ParseHTTP("Host(`api.example.com`)", ""))})
		table := NewTable(routes)
		r := req("GET", "http://api.example.com/svc7777/items/1")
		if got := table.Lookup(r); got == nil || got.Name != "p7777" {
			b.Fatalf("got %s", routeName(got))
		}
		b.ReportAllocs()
		b.ResetTimer()
		for b.Loop() {
			table.Lookup(r)
		}
	})
}

func BenchmarkNewTable10k(b *testing.B) {
	routes := benchRoutes(10000)
	b.ReportAllocs()
	for b.Loop() {
		NewTable(routes)
	}
}

func BenchmarkParseHTTP(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_, _ = ParseHTTP("Host(`example.com`) && (PathPrefix(`/api`) || Path(`/health`)) && !Method(`DELETE`)", "")
	}
}
