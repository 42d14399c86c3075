package dashboard

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/guan-gateway/guan/config/dynamic"
	"github.com/guan-gateway/guan/status"
)

type fakeSource struct {
	set      *status.Set
	features *Features
}

func (f *fakeSource) Status() *status.Set { return f.set }
func (f *fakeSource) RawDynamic() any {
	return &dynamic.Configuration{HTTP: &dynamic.HTTPConfiguration{Routers: map[string]*dynamic.Router{"web@file": {Rule: "Host(`a`)"}}}}
}
func (f *fakeSource) EntryPoints() []status.EntryPoint {
	return []status.EntryPoint{{Name: "websecure", Address: ":443"}, {Name: "web", Address: ":80"}, {Name: "traefik", Address: ":8080"}}
}
func (f *fakeSource) Version() (string, string) { return "1.2.3", "lotus" }

type featureSource struct{ fakeSource }

func (f *featureSource) Features() Features { return Features{Metrics: "Prometheus", AccessLog: true} }

func testSet() *status.Set {
	s := status.NewSet()
	s.Routers["web@file"] = &status.Router{
		Router: &dynamic.Router{EntryPoints: []string{"web"}, Service: "whoami", Rule: "Host(`example.com`)", Priority: 10, Middlewares: []string{"auth"}},
		Name:   "web@file", Provider: "file", Status: status.Enabled, Using: []string{"web"},
	}
	s.Routers["api@file"] = &status.Router{
		Router: &dynamic.Router{EntryPoints: []string{"websecure"}, Service: "api", Rule: "PathPrefix(`/api`)"},
		Name:   "api@file", Provider: "file", Status: status.Disabled, Err: []string{`service "api@file" does not exist`},
	}
	s.Routers["blog@kubernetes"] = &status.Router{
		Router: &dynamic.Router{EntryPoints: []string{"web"}, Service: "blog", Rule: "Host(`blog.example.com`)"},
		Name:   "blog@kubernetes", Provider: "kubernetes", Status: status.Warning, Err: []string{"no TLS certificate"}, Using: []string{"web"},
	}
	s.Routers["a/b@file"] = &status.Router{
		Router: &dynamic.Router{Service: "whoami", Rule: "Path(`/ab`)"}, Name: "a/b@file", Provider: "file", Status: status.Enabled,
	}
	s.Services["whoami@file"] = &status.Service{
		Service: &dynamic.Service{LoadBalancer: &dynamic.ServersLoadBalancer{Servers: []dynamic.Server{{URL: "http://127.0.0.1:9001"}, {URL: "http://127.0.0.1:9002"}}}},
		Name:    "whoami@file", Provider: "file", Type: "loadbalancer", Status: status.Enabled, UsedBy: []string{"web@file"},
		ServerStatus: func() map[string]string {
			return map[string]string{"http://127.0.0.1:9001": "UP", "http://127.0.0.1:9002": "DOWN"}
		},
	}
	s.Middlewares["auth@file"] = &status.Middleware{
		Middleware: &dynamic.Middleware{}, Name: "auth@file", Provider: "file", Type: "basicauth", Status: status.Enabled, UsedBy: []string{"web@file"},
	}
	s.TCPRouters["db@file"] = &status.TCPRouter{
		TCPRouter: &dynamic.TCPRouter{EntryPoints: []string{"pg"}, Service: "pg", Rule: "HostSNI(`*`)"},
		Name:      "db@file", Provider: "file", Status: status.Enabled, Using: []string{"pg"},
	}
	s.TCPServices["pg@file"] = &status.TCPService{
		TCPService: &dynamic.TCPService{LoadBalancer: &dynamic.TCPServersLoadBalancer{Servers: []dynamic.TCPServer{{Address: "127.0.0.1:5432"}}}},
		Name:       "pg@file", Provider: "file", Type: "loadbalancer", Status: status.Enabled,
	}
	return s
}

func newServer(t *testing.T, src Source, base string, dash bool) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(NewAPI(src, base, dash))
	t.Cleanup(srv.Close)
	return srv
}

// getJSON fetches url and decodes the body into out.
func getJSON(t *testing.T, url string, out any) *http.Response {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("GET %s: Content-Type %q, want application/json", url, ct)
	}
	if err := json.Unmarshal(b, out); err != nil {
		t.Fatalf("GET %s: %v: %s", url, err, b)
	}
	return resp
}

func names(items []map[string]any) []string {
	var out []string
	for _, it := range items {
		out = append(out, it["name"].(string))
	}
	return out
}

func TestOverview(t *testing.T) {
	srv := newServer(t, &fakeSource{set: testSet()}, "/", false)
	var got map[string]any
	getJSON(t, srv.URL+"/api/overview", &got)
	want := map[string]any{
		"http": map[string]any{
			"routers":     map[string]any{"total": 4.0, "warnings": 1.0, "errors": 1.0},
			"services":    map[string]any{"total": 1.0, "warnings": 0.0, "errors": 0.0},
			"middlewares": map[string]any{"total": 1.0, "warnings": 0.0, "errors": 0.0},
		},
		"tcp": map[string]any{
			"routers":     map[string]any{"total": 1.0, "warnings": 0.0, "errors": 0.0},
			"services":    map[string]any{"total": 1.0, "warnings": 0.0, "errors": 0.0},
			"middlewares": map[string]any{"total": 0.0, "warnings": 0.0, "errors": 0.0},
		},
		"udp": map[string]any{
			"routers":  map[string]any{"total": 0.0, "warnings": 0.0, "errors": 0.0},
			"services": map[string]any{"total": 0.0, "warnings": 0.0, "errors": 0.0},
		},
		"features":  map[string]any{"tracing": "", "metrics": "", "accessLog": false},
		"providers": []any{"File", "Kubernetes"},
	}
	assertJSON(t, got, want)

	srv2 := newServer(t, &featureSource{fakeSource{set: testSet()}}, "", false)
	getJSON(t, srv2.URL+"/api/overview", &got)
	assertJSON(t, got["features"], map[string]any{"tracing": "", "metrics": "Prometheus", "accessLog": true})
}

func assertJSON(t *testing.T, got, want any) {
	t.Helper()
	g, _ := json.Marshal(got)
	w, _ := json.Marshal(want)
	if string(g) != string(w) {
		t.Fatalf("got  %s\nwant %s", g, w)
	}
}

func TestRouterShape(t *testing.T) {
	srv := newServer(t, &fakeSource{set: testSet()}, "", false)
	var r map[string]any
	getJSON(t, srv.URL+"/api/http/routers/web@file", &r)
	assertJSON(t, r, map[string]any{
		"entryPoints": []any{"web"}, "middlewares": []any{"auth"}, "service": "whoami",
		"rule": "Host(`example.com`)", "priority": 10.0, "name": "web@file", "provider": "file",
		"status": "enabled", "using": []any{"web"},
	})
	r = nil
	getJSON(t, srv.URL+"/api/http/routers/api%40file", &r)
	if r["status"] != "disabled" || r["error"].([]any)[0] != `service "api@file" does not exist` {
		t.Fatalf("disabled router: %v", r)
	}
	r = nil
	getJSON(t, srv.URL+"/api/http/routers/a%2Fb@file", &r)
	if r["name"] != "a/b@file" {
		t.Fatalf("escaped name: %v", r)
	}
}

func TestServiceShape(t *testing.T) {
	srv := newServer(t, &fakeSource{set: testSet()}, "", false)
	var s map[string]any
	getJSON(t, srv.URL+"/api/http/services/whoami@file", &s)
	assertJSON(t, s, map[string]any{
		"loadBalancer": map[string]any{"servers": []any{map[string]any{"url": "http://127.0.0.1:9001"}, map[string]any{"url": "http://127.0.0.1:9002"}}},
		"name":         "whoami@file", "provider": "file", "type": "loadbalancer", "status": "enabled",
		"usedBy": []any{"web@file"}, "serverStatus": map[string]any{"http://127.0.0.1:9001": "UP", "http://127.0.0.1:9002": "DOWN"},
	})
	var m map[string]any
	getJSON(t, srv.URL+"/api/http/middlewares/auth@file", &m)
	assertJSON(t, m, map[string]any{"name": "auth@file", "provider": "file", "type": "basicauth", "status": "enabled", "usedBy": []any{"web@file"}})
	m = nil
	getJSON(t, srv.URL+"/api/tcp/routers/db@file", &m)
	assertJSON(t, m, map[string]any{"entryPoints": []any{"pg"}, "service": "pg", "rule": "HostSNI(`*`)", "name": "db@file", "provider": "file", "status": "enabled", "using": []any{"pg"}})
	m = nil
	getJSON(t, srv.URL+"/api/tcp/services/pg@file", &m)
	assertJSON(t, m, map[string]any{"loadBalancer": map[string]any{"servers": []any{map[string]any{"address": "127.0.0.1:5432"}}}, "name": "pg@file", "provider": "file", "type": "loadbalancer", "status": "enabled"})
}

func TestLists(t *testing.T) {
	srv := newServer(t, &fakeSource{set: testSet()}, "", false)
	tests := []struct {
		query string
		want  []string
		next  string
	}{
		{"", []string{"a/b@file", "api@file", "blog@kubernetes", "web@file"}, "1"},
		{"?per_page=2", []string{"a/b@file", "api@file"}, "2"},
		{"?per_page=2&page=2", []string{"blog@kubernetes", "web@file"}, "1"},
		{"?per_page=3&page=2", []string{"web@file"}, "1"},
		{"?search=EXAMPLE.com", []string{"blog@kubernetes", "web@file"}, "1"},
		{"?search=blog", []string{"blog@kubernetes"}, "1"},
		{"?status=disabled", []string{"api@file"}, "1"},
		{"?status=warning", []string{"blog@kubernetes"}, "1"},
		{"?serviceName=whoami@file", []string{"a/b@file", "web@file"}, "1"},
		{"?serviceName=whoami", []string{"a/b@file", "web@file"}, "1"},
		{"?middlewareName=auth@file", []string{"web@file"}, "1"},
		{"?sortBy=priority&direction=desc", []string{"web@file", "blog@kubernetes", "api@file", "a/b@file"}, "1"},
		{"?sortBy=status", []string{"api@file", "a/b@file", "web@file", "blog@kubernetes"}, "1"},
		{"?search=nothing-matches", nil, "1"},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			var got []map[string]any
			resp := getJSON(t, srv.URL+"/api/http/routers"+tt.query, &got)
			if !slices.Equal(names(got), tt.want) {
				t.Fatalf("got %v, want %v", names(got), tt.want)
			}
			if h := resp.Header.Get("X-Next-Page"); h != tt.next {
				t.Fatalf("X-Next-Page %q, want %q", h, tt.next)
			}
		})
	}

	var eps []map[string]any
	resp := getJSON(t, srv.URL+"/api/entrypoints?per_page=2", &eps)
	assertJSON(t, eps, []any{map[string]any{"name": "traefik", "address": ":8080"}, map[string]any{"name": "web", "address": ":80"}})
	if resp.Header.Get("X-Next-Page") != "2" {
		t.Fatalf("entrypoints X-Next-Page %q", resp.Header.Get("X-Next-Page"))
	}
	var ep map[string]any
	getJSON(t, srv.URL+"/api/entrypoints/websecure", &ep)
	assertJSON(t, ep, map[string]any{"name": "websecure", "address": ":443"})

	for _, p := range []string{"/api/http/services", "/api/http/middlewares", "/api/tcp/routers", "/api/tcp/services"} {
		var items []map[string]any
		getJSON(t, srv.URL+p, &items)
		if len(items) != 1 {
			t.Errorf("%s: %d items, want 1", p, len(items))
		}
	}
}

func TestErrors(t *testing.T) {
	srv := newServer(t, &fakeSource{set: testSet()}, "", false)
	tests := []struct {
		path string
		code int
		msg  string
	}{
		{"/api/http/routers/nope@file", 404, "router not found: nope@file"},
		{"/api/http/services/nope", 404, "service not found: nope"},
		{"/api/http/middlewares/nope", 404, "middleware not found: nope"},
		{"/api/tcp/routers/nope", 404, "router not found: nope"},
		{"/api/tcp/services/nope", 404, "service not found: nope"},
		{"/api/entrypoints/nope", 404, "entry point not found: nope"},
		{"/api/unknown", 404, "not found: /api/unknown"},
		{"/api/http/routers?page=9", 400, "invalid request: page: 9"},
		{"/api/http/routers?per_page=0", 400, "invalid request: per_page"},
		{"/dashboard/", 404, "not found"}, // dashboard disabled
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			var body struct{ Message string }
			resp := getJSON(t, srv.URL+tt.path, &body)
			if resp.StatusCode != tt.code || !strings.HasPrefix(body.Message, tt.msg) {
				t.Fatalf("got %d %q, want %d %q", resp.StatusCode, body.Message, tt.code, tt.msg)
			}
		})
	}
	resp, err := http.Post(srv.URL+"/api/overview", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("POST answered %d, want 405", resp.StatusCode)
	}
}

func TestVersionAndRawData(t *testing.T) {
	srv := newServer(t, &fakeSource{set: testSet()}, "", false)
	var v map[string]any
	getJSON(t, srv.URL+"/api/version", &v)
	if v["Version"] != "1.2.3" || v["Codename"] != "lotus" || !regexp.MustCompile(`^\d{4}-\d\d-\d\dT`).MatchString(v["startDate"].(string)) {
		t.Fatalf("version: %v", v)
	}
	var raw map[string]any
	getJSON(t, srv.URL+"/api/rawdata", &raw)
	assertJSON(t, raw, map[string]any{"http": map[string]any{"routers": map[string]any{"web@file": map[string]any{"rule": "Host(`a`)"}}}})
}

func TestNilStatus(t *testing.T) {
	// Before the first configuration is built the source may have no state.
	srv := newServer(t, &fakeSource{}, "", false)
	var items []any
	getJSON(t, srv.URL+"/api/http/routers", &items)
	if len(items) != 0 {
		t.Fatalf("got %v", items)
	}
}

func TestBasePathAndRedirect(t *testing.T) {
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	tests := []struct {
		base, path string
		code       int
		location   string
	}{
		{"/", "/", 302, "/dashboard/"},
		{"", "/dashboard", 302, "/dashboard/"},
		{"", "/api/overview", 200, ""},
		{"", "/dashboard/", 200, ""},
		{"/traefik/", "/traefik", 302, "/traefik/dashboard/"},
		{"/traefik", "/traefik/", 302, "/traefik/dashboard/"},
		{"/traefik", "/traefik/api/version", 200, ""},
		{"/traefik", "/traefik/dashboard/app.js", 200, ""},
		{"/traefik", "/api/version", 404, ""},
		{"/traefik", "/", 404, ""},
	}
	for _, tt := range tests {
		t.Run(tt.base+" "+tt.path, func(t *testing.T) {
			srv := newServer(t, &fakeSource{set: testSet()}, tt.base, true)
			resp, err := noRedirect.Get(srv.URL + tt.path)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.code || resp.Header.Get("Location") != tt.location {
				t.Fatalf("got %d Location %q, want %d %q", resp.StatusCode, resp.Header.Get("Location"), tt.code, tt.location)
			}
		})
	}
}
