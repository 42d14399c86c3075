package dashboard

import (
	"archive/tar"
	"compress/gzip"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/guan-gateway/guan/config/dynamic"
	"github.com/guan-gateway/guan/config/static"
	"github.com/guan-gateway/guan/status"
)

type fakeSource struct {
	set      *status.Set
	features *Features
}

func (f *fakeSource) Status() *status.Set { return f.set }
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
	// rawdata is the runtime view, as Traefik's: every object's configuration
	// and state by qualified name, without the name, provider and type the
	// list endpoints add; kinds without objects are left out.
	var raw map[string]map[string]any
	getJSON(t, srv.URL+"/api/rawdata", &raw)
	if got := slices.Sorted(maps.Keys(raw)); !slices.Equal(got, []string{"middlewares", "routers", "services", "tcpRouters", "tcpServices"}) {
		t.Fatalf("rawdata sections %v", got)
	}
	assertJSON(t, raw["routers"]["web@file"], map[string]any{
		"entryPoints": []any{"web"}, "middlewares": []any{"auth"}, "service": "whoami",
		"rule": "Host(`example.com`)", "priority": 10.0, "status": "enabled", "using": []any{"web"},
	})
	assertJSON(t, raw["routers"]["api@file"], map[string]any{
		"entryPoints": []any{"websecure"}, "service": "api", "rule": "PathPrefix(`/api`)",
		"error": []any{`service "api@file" does not exist`}, "status": "disabled",
	})
	assertJSON(t, raw["services"]["whoami@file"], map[string]any{
		"loadBalancer": map[string]any{"servers": []any{map[string]any{"url": "http://127.0.0.1:9001"}, map[string]any{"url": "http://127.0.0.1:9002"}}},
		"status":       "enabled", "usedBy": []any{"web@file"},
		"serverStatus": map[string]any{"http://127.0.0.1:9001": "UP", "http://127.0.0.1:9002": "DOWN"},
	})
	assertJSON(t, raw["middlewares"]["auth@file"], map[string]any{"status": "enabled", "usedBy": []any{"web@file"}})
	assertJSON(t, raw["tcpRouters"]["db@file"], map[string]any{"entryPoints": []any{"pg"}, "service": "pg", "rule": "HostSNI(`*`)", "status": "enabled", "using": []any{"pg"}})
	assertJSON(t, raw["tcpServices"]["pg@file"], map[string]any{"loadBalancer": map[string]any{"servers": []any{map[string]any{"address": "127.0.0.1:5432"}}}, "status": "enabled"})

	// Nothing configured: an empty object, as Traefik answers.
	empty := newServer(t, &fakeSource{}, "", false)
	raw = nil
	getJSON(t, empty.URL+"/api/rawdata", &raw)
	if len(raw) != 0 {
		t.Fatalf("empty rawdata: %v", raw)
	}
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

// staticSource also has the static configuration: entrypoints show it
// whole and the support dump carries it.
type staticSource struct {
	fakeSource
	cfg *static.Configuration
}

func (s *staticSource) StaticConfig() any { return s.cfg }

func (s *staticSource) EntryPoints() []status.EntryPoint {
	var out []status.EntryPoint
	for name, ep := range s.cfg.EntryPoints {
		out = append(out, status.EntryPoint{Name: name, Address: ep.Address, Config: ep})
	}
	return out
}

func testStatic() *static.Configuration {
	perm := true
	cfg := &static.Configuration{
		EntryPoints: map[string]*static.EntryPoint{
			"web": {Address: ":80", ForwardedHeaders: &static.ForwardedHeaders{TrustedIPs: []string{"10.0.0.0/8"}},
				HTTP: &static.HTTP{Redirections: &static.Redirections{EntryPoint: &static.RedirectEntryPoint{To: "websecure", Permanent: &perm}}}},
			"websecure": {Address: ":443", HTTP: &static.HTTP{Middlewares: []string{"auth@file"}, TLS: &static.HTTPTLS{Options: "modern"}}},
		},
		Providers: &static.Providers{File: &static.FileProvider{Filename: "/etc/guan/secret-dynamic.toml"}},
		API:       &static.API{Insecure: true},
	}
	cfg.SetDefaults()
	return cfg
}

// Entrypoints show their whole static configuration, defaults applied and
// zero durations left out, as Traefik shows its static entrypoints.
func TestEntryPointShape(t *testing.T) {
	srv := newServer(t, &staticSource{fakeSource: fakeSource{set: testSet()}, cfg: testStatic()}, "", false)
	var ep map[string]any
	getJSON(t, srv.URL+"/api/entrypoints/web", &ep)
	assertJSON(t, ep, map[string]any{
		"address": ":80",
		"transport": map[string]any{
			"lifeCycle":          map[string]any{"graceTimeOut": "10s"},
			"respondingTimeouts": map[string]any{"readTimeout": "1m0s", "idleTimeout": "3m0s"},
		},
		"forwardedHeaders": map[string]any{"trustedIPs": []any{"10.0.0.0/8"}},
		"http": map[string]any{
			"redirections":   map[string]any{"entryPoint": map[string]any{"to": "websecure", "scheme": "https", "permanent": true, "priority": 2147483646.0}},
			"maxHeaderBytes": 1048576.0,
		},
		"http2": map[string]any{"maxConcurrentStreams": 250.0},
		"name":  "web",
	})
	var eps []map[string]any
	getJSON(t, srv.URL+"/api/entrypoints", &eps)
	if !slices.Equal(names(eps), []string{"traefik", "web", "websecure"}) {
		t.Fatalf("entrypoints %v", names(eps))
	}
	websecure := eps[2]["http"].(map[string]any)
	assertJSON(t, websecure["middlewares"], []any{"auth@file"})
	assertJSON(t, websecure["tls"], map[string]any{"options": "modern"})
}

// Traefik's UDP lists exist, always empty in Guan; so is the TCP
// middleware list of a configuration without TCP middlewares.
func TestEmptyKinds(t *testing.T) {
	srv := newServer(t, &fakeSource{set: testSet()}, "", false)
	for _, kind := range []string{"tcp/middlewares", "udp/routers", "udp/services"} {
		var items []any
		resp := getJSON(t, srv.URL+"/api/"+kind, &items)
		if resp.StatusCode != 200 || items == nil || len(items) != 0 || resp.Header.Get("X-Next-Page") != "1" {
			t.Errorf("%s: %d %v next %q", kind, resp.StatusCode, items, resp.Header.Get("X-Next-Page"))
		}
		var e struct{ Message string }
		resp = getJSON(t, srv.URL+"/api/"+kind+"/x@file", &e)
		what := map[string]string{"tcp/middlewares": "middleware", "udp/routers": "router", "udp/services": "service"}[kind]
		if resp.StatusCode != 404 || e.Message != what+" not found: x@file" {
			t.Errorf("%s/x@file: %d %q", kind, resp.StatusCode, e.Message)
		}
		resp = getJSON(t, srv.URL+"/api/"+kind+"?page=2", &e)
		if resp.StatusCode != 400 {
			t.Errorf("%s?page=2: %d", kind, resp.StatusCode)
		}
	}
}

// Traefik's other sort keys and filters: routers by number of entrypoints,
// services by number of servers, TCP routers by service and middleware;
// a TLS router naming no options shows the default ones.
func TestMoreListParameters(t *testing.T) {
	set := testSet()
	set.Routers["two@file"] = &status.Router{
		Router: &dynamic.Router{EntryPoints: []string{"web", "websecure"}, Service: "whoami", Rule: "Path(`/two`)", TLS: &dynamic.RouterTLSConfig{}},
		Name:   "two@file", Provider: "file", Status: status.Enabled,
	}
	set.Services["one@file"] = &status.Service{
		Service: &dynamic.Service{LoadBalancer: &dynamic.ServersLoadBalancer{Servers: []dynamic.Server{{URL: "http://127.0.0.1:9003"}}}},
		Name:    "one@file", Provider: "file", Type: "loadbalancer", Status: status.Enabled,
	}
	set.Services["w@file"] = &status.Service{Service: &dynamic.Service{Weighted: &dynamic.WeightedRoundRobin{}}, Name: "w@file", Provider: "file", Type: "weighted", Status: status.Enabled}
	set.TCPRouters["other@file"] = &status.TCPRouter{
		TCPRouter: &dynamic.TCPRouter{EntryPoints: []string{"pg"}, Service: "other", Middlewares: []string{"limit@file"}, Rule: "HostSNI(`*`)"},
		Name:      "other@file", Provider: "file", Status: status.Enabled,
	}
	srv := newServer(t, &fakeSource{set: set}, "", false)
	for _, tt := range []struct {
		path string
		want []string
	}{
		{"/api/http/routers?sortBy=entryPoints&direction=desc", []string{"two@file", "web@file", "blog@kubernetes", "api@file", "a/b@file"}},
		{"/api/http/services?sortBy=servers", []string{"w@file", "one@file", "whoami@file"}},
		{"/api/tcp/routers?serviceName=pg", []string{"db@file"}},
		{"/api/tcp/routers?middlewareName=limit@file", []string{"other@file"}},
	} {
		var got []map[string]any
		getJSON(t, srv.URL+tt.path, &got)
		if !slices.Equal(names(got), tt.want) {
			t.Errorf("%s: %v, want %v", tt.path, names(got), tt.want)
		}
	}
	var r map[string]any
	getJSON(t, srv.URL+"/api/http/routers/two@file", &r)
	assertJSON(t, r["tls"], map[string]any{"options": "default"})
	if set.Routers["two@file"].TLS.Options != "" {
		t.Fatal("showing the default TLS options changed the state")
	}
	var raw map[string]map[string]map[string]any
	getJSON(t, srv.URL+"/api/rawdata", &raw)
	assertJSON(t, raw["routers"]["two@file"]["tls"], map[string]any{"options": "default"})
}

// The overview lists the providers the Source names, and leaves the key out
// when there are none, as Traefik does.
func TestOverviewProviders(t *testing.T) {
	srv := newServer(t, &fakeSource{}, "", false)
	var ov map[string]any
	getJSON(t, srv.URL+"/api/overview", &ov)
	if _, ok := ov["providers"]; ok {
		t.Fatalf("providers without any: %v", ov["providers"])
	}
}

// /api/support-dump is a tar.gz of the version, the anonymized static
// configuration and the runtime configuration.
func TestSupportDump(t *testing.T) {
	srv := newServer(t, &staticSource{fakeSource: fakeSource{set: testSet()}, cfg: testStatic()}, "", false)
	resp, err := http.Get(srv.URL + "/api/support-dump")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/gzip" ||
		resp.Header.Get("Content-Disposition") != "attachment; filename=support-dump.tar.gz" {
		t.Fatalf("%d %v", resp.StatusCode, resp.Header)
	}
	gz, err := gzip.NewReader(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]map[string]any{}
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		var v map[string]any
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatalf("%s: %v: %s", h.Name, err, b)
		}
		files[h.Name] = v
	}
	if got := slices.Sorted(maps.Keys(files)); !slices.Equal(got, []string{"runtime-config.json", "static-config.json", "version.json"}) {
		t.Fatalf("files %v", got)
	}
	if v := files["version.json"]; v["version"] != "1.2.3" || v["codename"] != "lotus" || v["startDate"] == nil {
		t.Errorf("version.json %v", v)
	}
	if files["runtime-config.json"]["routers"].(map[string]any)["web@file"] == nil {
		t.Errorf("runtime-config.json lacks web@file: %v", files["runtime-config.json"])
	}
	st := files["static-config.json"]
	b, _ := json.Marshal(st)
	for _, secret := range []string{"secret-dynamic", "10.0.0.0", ":443", "auth@file", "modern"} {
		if strings.Contains(string(b), secret) {
			t.Errorf("static-config.json shows %s: %s", secret, b)
		}
	}
	web := st["entryPoints"].(map[string]any)["web"].(map[string]any)
	assertJSON(t, web["address"], "xxxx")
	assertJSON(t, web["transport"].(map[string]any)["lifeCycle"], map[string]any{"graceTimeOut": "10s", "requestAcceptGraceTimeout": "0s"})
	assertJSON(t, st["api"], map[string]any{"insecure": true, "dashboard": true, "basePath": "xxxx"})
	// Enumerations stay.
	assertJSON(t, st["core"], map[string]any{"defaultRuleSyntax": "v3"})
	assertJSON(t, web["http"].(map[string]any)["redirections"], map[string]any{"entryPoint": map[string]any{"to": "xxxx", "scheme": "https", "permanent": true, "priority": 2147483646.0}})

	// Without the static configuration the dump still answers.
	srv2 := newServer(t, &fakeSource{set: testSet()}, "", false)
	resp2, err := http.Get(srv2.URL + "/api/support-dump")
	if err != nil {
		t.Fatal(err)
	}
	resp2.Body.Close()
	if resp2.StatusCode != 200 {
		t.Fatalf("support dump without static configuration: %d", resp2.StatusCode)
	}
}
