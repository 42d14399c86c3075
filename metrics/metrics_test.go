package metrics

import (
	"bufio"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

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
		`guan_entrypoint_requests_total{code="200",entrypoint="web",method="OTHER",protocol="http"}`:                         "1",
		`guan_entrypoint_requests_bytes_total{code="404",entrypoint="web",method="POST",protocol="http"}`:                    "7",
		`guan_entrypoint_responses_bytes_total{code="200",entrypoint="web",method="GET",protocol="http"}`:                    "15",
		`guan_entrypoint_request_duration_seconds_count{code="200",entrypoint="web",method="GET",protocol="http"}`:           "3",
		`guan_entrypoint_request_duration_seconds_bucket{code="200",entrypoint="web",method="GET",protocol="http",le="0.5"}`: "3",
		`guan_router_requests_total{code="200",method="GET",protocol="http",router="api@file",service="api-svc@file"}`:       "3",
		`guan_service_requests_total{code="404",method="POST",protocol="http",service="api-svc@file"}`:                       "1",
		`guan_service_responses_bytes_total{code="404",method="POST",protocol="http",service="api-svc@file"}`:                "5",
		`guan_service_retries_total{service="api-svc@file"}`:                                                                 "2",
		`guan_config_reloads_total{status="success"}`:                                                                        "0",
		`guan_config_reloads_total{status="failure"}`:                                                                        "0",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	if _, ok := got["go_goroutines"]; !ok {
		t.Error("Go runtime collector missing")
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
	m.ConnOpened("web", "TCP", 1)
	m.ConnOpened("web", "TCP", 1)
	m.ConnOpened("web", "TCP", -1)
	m.ReloadDone(true)
	m.ReloadDone(false)
	m.ReloadDone(true)
	m.ServerState("api@file", "http://127.0.0.1:9001", true)
	m.ServerState("api@file", "http://127.0.0.1:9002", false)
	m.ServerState("api@file", "http://127.0.0.1:9003", true)
	m.ServerRemoved("api@file", "http://127.0.0.1:9003")
	got := scrape(t, m)
	want := map[string]string{
		`guan_open_connections{entrypoint="web",protocol="TCP"}`:                 "1",
		`guan_config_reloads_total{status="success"}`:                            "2",
		`guan_config_reloads_total{status="failure"}`:                            "1",
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
	for _, k := range []string{"guan_config_last_reload_success_timestamp_seconds", "guan_config_last_reload_failure_timestamp_seconds"} {
		if got[k] == "" || got[k] == "0" {
			t.Errorf("%s = %q, want a timestamp", k, got[k])
		}
	}
}

func TestDisabledIsNoop(t *testing.T) {
	for _, m := range []*Metrics{New(nil), nil} {
		h := http.HandlerFunc(backend)
		if w := m.Wrap("web", h); w == nil {
			t.Fatal("Wrap returned nil")
		}
		m.ConnOpened("web", "TCP", 1)
		m.ReloadDone(true)
		m.ServerState("s", "u", true)
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
