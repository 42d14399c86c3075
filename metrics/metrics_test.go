package metrics

import (
	"bufio"
	cryptotls "crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/guan-gateway/guan/config/static"
	"github.com/guan-gateway/guan/reqinfo"
)

// scrape fetches /metrics from a real server and returns "name{labels}" →
// value for the guan_ series.
func scrape(t *testing.T, m *Metrics) map[string]string {
	t.Helper()
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("/metrics answered %d", resp.StatusCode)
	}
	out := map[string]string{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || line == "" {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		out[line[:i]] = line[i+1:]
	}
	return out
}

// backend plays the router and service stages: it names them in reqinfo.
func backend(w http.ResponseWriter, r *http.Request) {
	info := reqinfo.From(r.Context())
	info.Router = "api@file"
	info.Service = "api-svc@file"
	if r.URL.Path == "/retry" {
		info.RetryAttempts = 2
	}
	if r.URL.Path == "/sse" {
		w.Header().Set("Content-Type", "text/event-stream")
	}
	io.Copy(io.Discard, r.Body)
	if r.URL.Path == "/missing" {
		w.WriteHeader(http.StatusNotFound)
	}
	io.WriteString(w, "hello")
}

func TestWrapCountsRequests(t *testing.T) {
	m := New(&static.Prometheus{AddRoutersLabels: true, Buckets: []float64{0.5, 1}})
	srv := httptest.NewServer(m.Wrap("web", http.HandlerFunc(backend)))
	defer srv.Close()

	do := func(method, path, body string, hdr ...string) {
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	do("GET", "/", "")
	do("GET", "/", "")
	do("POST", "/missing", "1234567")
	do("GET", "/", "", "Content-Type", "application/grpc+proto")
	do("GET", "/sse", "")
	do("GET", "/", "", "Accept", "text/event-stream")
	do("GET", "/retry", "")
	do("BREW", "/", "")

	got := scrape(t, m)
	want := map[string]string{
		`guan_entrypoint_requests_total{code="200",entrypoint="web",method="GET",protocol="http"}`:                           "3",
		`guan_entrypoint_requests_total{code="404",entrypoint="web",method="POST",protocol="http"}`:                          "1",
		`guan_entrypoint_requests_total{code="200",entrypoint="web",method="GET",protocol="grpc"}`:                           "1",
		`guan_entrypoint_requests_total{code="200",entrypoint="web",method="GET",protocol="sse"}`:                            "2",
		`guan_entrypoint_requests_total{code="200",entrypoint="web",method="EXTENSION_METHOD",protocol="http"}`:              "1",
		`guan_entrypoint_requests_bytes_total{code="404",entrypoint="web",method="POST",protocol="http"}`:                    "7",
		`guan_entrypoint_responses_bytes_total{code="200",entrypoint="web",method="GET",protocol="http"}`:                    "15",
		`guan_entrypoint_request_duration_seconds_count{code="200",entrypoint="web",method="GET",protocol="http"}`:           "3",
		`guan_entrypoint_request_duration_seconds_bucket{code="200",entrypoint="web",method="GET",protocol="http",le="0.5"}`: "3",
		`guan_router_requests_total{code="200",method="GET",protocol="http",router="api@file",service="api-svc@file"}`:       "3",
		`guan_service_requests_total{code="404",method="POST",protocol="http",service="api-svc@file"}`:                       "1",
		`guan_service_responses_bytes_total{code="404",method="POST",protocol="http",service="api-svc@file"}`:                "5",
		`guan_service_retries_total{service="api-svc@file"}`:                                                                 "2",
		`guan_config_reloads_total`:         "0",
		`guan_config_reloads_failure_total`: "0",
		`guan_config_last_reload_success`:   "0",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	if _, ok := got["go_goroutines"]; !ok {
		t.Error("Go runtime collector missing")
	}
	for k := range got {
		if strings.Contains(k, "_requests_tls_total") {
			t.Errorf("plain HTTP request counted as TLS: %s", k)
		}
	}
}

func TestTLSRequests(t *testing.T) {
	m := New(&static.Prometheus{AddRoutersLabels: true})
	h := m.Wrap("websecure", http.HandlerFunc(backend))
	for _, cs := range []*cryptotls.ConnectionState{
		{Version: cryptotls.VersionTLS13, CipherSuite: cryptotls.TLS_AES_128_GCM_SHA256},
		{Version: cryptotls.VersionTLS13, CipherSuite: cryptotls.TLS_AES_128_GCM_SHA256},
		{Version: cryptotls.VersionTLS12, CipherSuite: cryptotls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256},
	} {
		r := httptest.NewRequest("GET", "https://example.com/", nil)
		r.TLS = cs
		h.ServeHTTP(httptest.NewRecorder(), r)
	}
	got := scrape(t, m)
	want := map[string]string{
		`guan_entrypoint_requests_tls_total{entrypoint="websecure",tls_cipher="TLS_AES_128_GCM_SHA256",tls_version="1.3"}`:                "2",
		`guan_entrypoint_requests_tls_total{entrypoint="websecure",tls_cipher="TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",tls_version="1.2"}`: "1",
		`guan_router_requests_tls_total{router="api@file",service="api-svc@file",tls_cipher="TLS_AES_128_GCM_SHA256",tls_version="1.3"}`:  "2",
		`guan_service_requests_tls_total{service="api-svc@file",tls_cipher="TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",tls_version="1.2"}`:    "1",
		`guan_entrypoint_requests_total{code="200",entrypoint="websecure",method="GET",protocol="http"}`:                                  "3",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
}

// routed is a handler whose request was routed by router to service and
// retried retries times.
func routed(router, service string, retries int) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		info := reqinfo.From(r.Context())
		info.Router, info.Service, info.RetryAttempts = router, service, retries
		io.WriteString(w, "ok")
	})
}

// tlsRequest is a GET received over TLS 1.3.
func tlsRequest() *http.Request {
	r := httptest.NewRequest("GET", "https://example.com/", nil)
	r.TLS = &cryptotls.ConnectionState{Version: cryptotls.VersionTLS13, CipherSuite: cryptotls.TLS_AES_128_GCM_SHA256}
	return r
}

// Requests routed by *@internal routers are counted only with
// metrics.addInternals; a user router to an internal service always is.
func TestInternalRouters(t *testing.T) {
	for _, add := range []bool{false, true} {
		m := FromStatic(&static.Metrics{AddInternals: add, Prometheus: &static.Prometheus{AddRoutersLabels: true}})
		for _, rs := range [][2]string{{"ping@internal", "ping@internal"}, {"web-to-websecure@internal", ""}, {"demo@file", "demo@internal"}} {
			m.Wrap("web", routed(rs[0], rs[1], 0)).ServeHTTP(httptest.NewRecorder(), tlsRequest())
		}
		got := scrape(t, m)
		wantEP := "1"
		if add {
			wantEP = "3"
		}
		if k := `guan_entrypoint_requests_total{code="200",entrypoint="web",method="GET",protocol="http"}`; got[k] != wantEP {
			t.Errorf("addInternals=%v: %s = %q, want %q", add, k, got[k], wantEP)
		}
		if k := `guan_entrypoint_requests_tls_total{entrypoint="web",tls_cipher="TLS_AES_128_GCM_SHA256",tls_version="1.3"}`; got[k] != wantEP {
			t.Errorf("addInternals=%v: %s = %q, want %q", add, k, got[k], wantEP)
		}
		for _, k := range []string{
			`guan_router_requests_total{code="200",method="GET",protocol="http",router="demo@file",service="demo@internal"}`,
			`guan_service_requests_total{code="200",method="GET",protocol="http",service="demo@internal"}`,
		} {
			if got[k] != "1" {
				t.Errorf("addInternals=%v: %s = %q, want 1", add, k, got[k])
			}
		}
		k := `guan_router_requests_total{code="200",method="GET",protocol="http",router="ping@internal",service="ping@internal"}`
		if _, ok := got[k]; ok != add {
			t.Errorf("addInternals=%v: %s present = %v", add, k, ok)
		}
	}
	if m := FromStatic(&static.Metrics{AddInternals: true}); m.Enabled() {
		t.Error("metrics enabled without metrics.prometheus")
	}
}

func TestLabelSwitches(t *testing.T) {
	no := false
	tests := []struct {
		name    string
		cfg     *static.Prometheus
		present []string
		absent  []string
	}{
		{"defaults", &static.Prometheus{}, []string{"guan_entrypoint_requests_total", "guan_service_requests_total"}, []string{"guan_router_requests_total"}},
		{"routers on", &static.Prometheus{AddRoutersLabels: true}, []string{"guan_router_requests_total"}, nil},
		{"entrypoints and services off", &static.Prometheus{AddEntryPointsLabels: &no, AddServicesLabels: &no}, nil, []string{"guan_entrypoint_requests_total", "guan_service_requests_total"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := New(tt.cfg)
			h := m.Wrap("web", http.HandlerFunc(backend))
			h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
			got := scrape(t, m)
			has := func(name string) bool {
				for k := range got {
					if strings.HasPrefix(k, name+"{") {
						return true
					}
				}
				return false
			}
			for _, n := range tt.present {
				if !has(n) {
					t.Errorf("%s missing", n)
				}
			}
			for _, n := range tt.absent {
				if has(n) {
					t.Errorf("%s present", n)
				}
			}
		})
	}
}

func TestGauges(t *testing.T) {
	m := New(&static.Prometheus{})
	// The entrypoints' classification maps to Traefik's TCP and HTTP.
	m.ConnOpened("web", "tcp", 1)
	m.ConnOpened("web", "tls", 1)
	m.ConnOpened("web", "tls-passthrough", 1)
	m.ConnOpened("web", "tcp", -1)
	m.ConnOpened("web", "http", 1)
	m.ConnOpened("web", "https", 1)
	m.ConnOpened("web", "https", 1)
	m.ConnOpened("web", "http", -1)
	m.ReloadDone(true)
	m.ReloadDone(false)
	m.ReloadDone(true)
	m.ServerState("api@file", "http://127.0.0.1:9001", true)
	m.ServerState("api@file", "http://127.0.0.1:9002", false)
	m.ServerState("api@file", "http://127.0.0.1:9003", true)
	m.Prune(Live{Servers: map[[2]string]bool{ // 9003 removed
		{"api@file", "http://127.0.0.1:9001"}: true,
		{"api@file", "http://127.0.0.1:9002"}: true,
	}})
	got := scrape(t, m)
	want := map[string]string{
		`guan_open_connections{entrypoint="web",protocol="TCP"}`:                 "2",
		`guan_open_connections{entrypoint="web",protocol="HTTP"}`:                "2",
		`guan_config_reloads_total`:                                              "2",
		`guan_config_reloads_failure_total`:                                      "1",
		`guan_service_server_up{service="api@file",url="http://127.0.0.1:9001"}`: "1",
		`guan_service_server_up{service="api@file",url="http://127.0.0.1:9002"}`: "0",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	if _, ok := got[`guan_service_server_up{service="api@file",url="http://127.0.0.1:9003"}`]; ok {
		t.Error("removed server still exported")
	}
	for k := range got {
		if strings.HasPrefix(k, "guan_open_connections{") && !strings.Contains(k, `protocol="TCP"`) && !strings.Contains(k, `protocol="HTTP"`) {
			t.Errorf("open connections with a protocol other than TCP or HTTP: %s", k)
		}
	}
	now := time.Now().Unix()
	for _, k := range []string{"guan_config_last_reload_success", "guan_config_last_reload_failure"} {
		ts, err := strconv.ParseFloat(got[k], 64)
		if err != nil || int64(ts) < now-60 || int64(ts) > now+1 {
			t.Errorf("%s = %q, want the Unix time in seconds (about %d)", k, got[k], now)
		}
	}
	for _, k := range []string{"guan_config_last_reload_success_timestamp_seconds", `guan_config_reloads_total{status="success"}`} {
		if _, ok := got[k]; ok {
			t.Errorf("%s is exported; Traefik v3 has no such series", k)
		}
	}
}

func TestCertificates(t *testing.T) {
	m := New(&static.Prometheus{})
	notAfter := time.Date(2031, 5, 6, 7, 8, 9, 0, time.UTC)
	foo := &x509.Certificate{Subject: pkix.Name{CommonName: "foo.example"}, SerialNumber: big.NewInt(123456789),
		DNSNames: []string{"foo.example", "bar.example"}, NotAfter: notAfter}
	bare := &x509.Certificate{SerialNumber: big.NewInt(7), NotAfter: notAfter.Add(time.Hour)}
	m.SetCertificates([]*x509.Certificate{foo, bare, nil})
	got := scrape(t, m)
	want := map[string]string{
		`guan_tls_certs_not_after{cn="foo.example",sans="bar.example,foo.example",serial="123456789"}`: strconv.FormatFloat(float64(notAfter.Unix()), 'e', -1, 64),
		`guan_tls_certs_not_after{cn="",sans="",serial="7"}`:                                           strconv.FormatFloat(float64(notAfter.Add(time.Hour).Unix()), 'e', -1, 64),
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	if foo.DNSNames[0] != "foo.example" {
		t.Error("SetCertificates reordered the certificate's DNS names")
	}
	// A reload replaces the set: certificates no longer loaded disappear.
	m.SetCertificates([]*x509.Certificate{bare})
	got = scrape(t, m)
	for k := range got {
		if strings.Contains(k, `cn="foo.example"`) {
			t.Errorf("removed certificate still exported: %s", k)
		}
	}
	if len(got) == 0 || got[`guan_tls_certs_not_after{cn="",sans="",serial="7"}`] == "" {
		t.Error("remaining certificate not exported")
	}
}

func TestDisabledIsNoop(t *testing.T) {
	for _, m := range []*Metrics{New(nil), FromStatic(nil), FromStatic(&static.Metrics{}), nil} {
		h := http.HandlerFunc(backend)
		if w := m.Wrap("web", h); w == nil {
			t.Fatal("Wrap returned nil")
		}
		m.ConnOpened("web", "TCP", 1)
		m.ReloadDone(true)
		m.ServerState("s", "u", true)
		m.SetCertificates([]*x509.Certificate{{SerialNumber: big.NewInt(1)}})
		rec := httptest.NewRecorder()
		m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		if rec.Code != http.StatusNotFound {
			t.Fatalf("disabled /metrics answered %d", rec.Code)
		}
	}
}

func TestProtocol(t *testing.T) {
	tests := []struct {
		name   string
		method string
		hdr    http.Header
		resp   http.Header
		want   string
	}{
		{"plain", "GET", http.Header{}, http.Header{}, "http"},
		{"websocket", "GET", http.Header{"Upgrade": {"WebSocket"}, "Connection": {"Upgrade"}}, http.Header{}, "websocket"},
		{"h2 websocket", "CONNECT", http.Header{":protocol": {"websocket"}}, http.Header{}, "websocket"},
		{"grpc", "POST", http.Header{"Content-Type": {"application/grpc"}}, http.Header{}, "grpc"},
		{"grpc-web", "POST", http.Header{"Content-Type": {"application/grpc-web+proto"}}, http.Header{}, "grpc-web"},
		{"sse accept", "GET", http.Header{"Accept": {"text/event-stream"}}, http.Header{}, "sse"},
		{"sse response", "GET", http.Header{}, http.Header{"Content-Type": {"text/event-stream; charset=utf-8"}}, "sse"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &http.Request{Method: tt.method, Header: tt.hdr}
			if got := Protocol(r, tt.resp); got != tt.want {
				t.Fatalf("Protocol = %q, want %q", got, tt.want)
			}
		})
	}
}

func benchWrap(b *testing.B, withInfo bool) {
	m := New(&static.Prometheus{AddRoutersLabels: true})
	h := m.Wrap("web", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		info := reqinfo.From(r.Context())
		info.Router, info.Service = "api@file", "api-svc@file"
		w.WriteHeader(200)
	}))
	w := discardWriter{http.Header{}}
	r := httptest.NewRequest("GET", "/", nil)
	if withInfo {
		r = r.WithContext(reqinfo.With(r.Context(), &reqinfo.Info{}))
	}
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(w, r)
	}
}

// BenchmarkWrap is the usual case: the entrypoint attached reqinfo already.
func BenchmarkWrap(b *testing.B) { benchWrap(b, true) }

// BenchmarkWrapNoInfo includes attaching a reqinfo.Info to the request.
func BenchmarkWrapNoInfo(b *testing.B) { benchWrap(b, false) }

type discardWriter struct{ h http.Header }

func (d discardWriter) Header() http.Header         { return d.h }
func (d discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (d discardWriter) WriteHeader(int)             {}

// After a configuration change, the series of removed routers, services
// and servers go; those of live objects stay, and a removed object that
// comes back is counted afresh.
func TestPrune(t *testing.T) {
	m := New(&static.Prometheus{AddRoutersLabels: true})
	serve := func(router, service string, tls bool) {
		r := httptest.NewRequest("GET", "https://example.com/", nil)
		if tls {
			r = tlsRequest()
		}
		m.Wrap("web", routed(router, service, 1)).ServeHTTP(httptest.NewRecorder(), r)
	}
	serve("keep@file", "keep-svc@file", true)
	serve("gone@file", "gone-svc@file", true)
	serve("keep@file", "moved-svc@file", false) // live router, removed service
	m.ServerState("keep-svc@file", "http://a", true)
	m.ServerState("keep-svc@file", "http://b", false)
	m.ServerState("gone-svc@file", "http://c", true)

	m.Prune(Live{
		Routers:  map[string]bool{"keep@file": true},
		Services: map[string]bool{"keep-svc@file": true},
		Servers:  map[[2]string]bool{{"keep-svc@file", "http://a"}: true},
	})
	got := scrape(t, m)
	for k := range got {
		for _, gone := range []string{"gone@file", "gone-svc@file", "moved-svc@file", "http://b", "http://c"} {
			if strings.Contains(k, `"`+gone+`"`) {
				t.Errorf("removed object still exported: %s", k)
			}
		}
	}
	for _, k := range []string{
		`guan_router_requests_total{code="200",method="GET",protocol="http",router="keep@file",service="keep-svc@file"}`,
		`guan_router_requests_tls_total{router="keep@file",service="keep-svc@file",tls_cipher="TLS_AES_128_GCM_SHA256",tls_version="1.3"}`,
		`guan_service_requests_total{code="200",method="GET",protocol="http",service="keep-svc@file"}`,
		`guan_service_requests_tls_total{service="keep-svc@file",tls_cipher="TLS_AES_128_GCM_SHA256",tls_version="1.3"}`,
		`guan_service_retries_total{service="keep-svc@file"}`,
		`guan_service_server_up{service="keep-svc@file",url="http://a"}`,
		`guan_entrypoint_requests_total{code="200",entrypoint="web",method="GET",protocol="http"}`,
	} {
		if got[k] != "1" && !(strings.HasPrefix(k, "guan_entrypoint") && got[k] == "3") {
			t.Errorf("%s = %q after Prune, want it kept", k, got[k])
		}
	}

	// A removed router that comes back starts from zero and is exported:
	// its cache entry went with its series.
	serve("gone@file", "gone-svc@file", false)
	got = scrape(t, m)
	if k := `guan_router_requests_total{code="200",method="GET",protocol="http",router="gone@file",service="gone-svc@file"}`; got[k] != "1" {
		t.Errorf("%s = %q, want 1", k, got[k])
	}
	m.ServerState("gone-svc@file", "http://c", false)
	if k := `guan_service_server_up{service="gone-svc@file",url="http://c"}`; scrape(t, m)[k] != "0" {
		t.Errorf("%s not exported again", k)
	}
	New(nil).Prune(Live{}) // disabled: a no-op
}

// Prune racing with requests never leaves a cache entry whose series is no
// longer exported.
func TestPruneRacingRequests(t *testing.T) {
	m := New(&static.Prometheus{AddRoutersLabels: true})
	h := m.Wrap("web", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		info := reqinfo.From(r.Context())
		info.Router, info.Service = "r@file", "s@file"
	}))
	serve := func() { h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil)) }
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 2000 {
			serve()
		}
	}()
	for pruning := true; pruning; {
		select {
		case <-done:
			pruning = false
		default:
			m.Prune(Live{})
		}
	}
	m.Prune(Live{})
	for range 5 {
		serve()
	}
	got := scrape(t, m)
	for _, k := range []string{
		`guan_router_requests_total{code="200",method="GET",protocol="http",router="r@file",service="s@file"}`,
		`guan_service_requests_total{code="200",method="GET",protocol="http",service="s@file"}`,
	} {
		if got[k] != "5" {
			t.Errorf("%s = %q, want 5", k, got[k])
		}
	}
}

// metrics.prometheus.headerLabels: the requests_total counters get one
// label per entry, valued from the request header ("" when absent; Host is
// the request's host). The other metrics keep their labels.
func TestHeaderLabels(t *testing.T) {
	m := New(&static.Prometheus{AddRoutersLabels: true, HeaderLabels: map[string]string{"tenant": "x-tenant", "host": "Host"}})
	h := m.Wrap("web", http.HandlerFunc(backend))
	for _, tenant := range []string{"acme", "acme", ""} {
		r := httptest.NewRequest("GET", "http://shop.example/", nil)
		if tenant != "" {
			r.Header.Set("X-Tenant", tenant)
		}
		h.ServeHTTP(httptest.NewRecorder(), r)
	}
	got := scrape(t, m)
	for k, v := range map[string]string{
		`guan_entrypoint_requests_total{code="200",entrypoint="web",host="shop.example",method="GET",protocol="http",tenant="acme"}`:                     "2",
		`guan_entrypoint_requests_total{code="200",entrypoint="web",host="shop.example",method="GET",protocol="http",tenant=""}`:                         "1",
		`guan_router_requests_total{code="200",host="shop.example",method="GET",protocol="http",router="api@file",service="api-svc@file",tenant="acme"}`: "2",
		`guan_service_requests_total{code="200",host="shop.example",method="GET",protocol="http",service="api-svc@file",tenant=""}`:                      "1",
		`guan_service_request_duration_seconds_count{code="200",method="GET",protocol="http",service="api-svc@file"}`:                                    "3",
	} {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	m.Prune(Live{Routers: map[string]bool{}, Services: map[string]bool{}})
	for k := range scrape(t, m) {
		if strings.Contains(k, "api-svc@file") {
			t.Errorf("pruned service still exported: %s", k)
		}
	}
}
