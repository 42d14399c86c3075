package headers

import (
	"context"
	"crypto/tls"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/http/httputil"
	"net/textproto"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/guan-gateway/guan/config/dynamic"
	"github.com/guan-gateway/guan/middlewares"
)

func mustNew(t testing.TB, cfg dynamic.Headers, next http.Handler) http.Handler {
	t.Helper()
	h, err := New(middlewares.Env{Name: "test@file"}, cfg, next)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return h
}

func TestCustomRequestHeaders(t *testing.T) {
	type seen struct {
		host      string
		header    http.Header
		xffNilSet bool
	}
	got := make(chan seen, 1)
	next := http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		v, ok := r.Header["X-Forwarded-For"]
		got <- seen{r.Host, r.Header.Clone(), ok && v == nil}
	})
	h := mustNew(t, dynamic.Headers{CustomRequestHeaders: map[string]string{
		"x-script-name":   "test",
		"X-Remove-Me":     "",
		"Host":            "rewritten.example",
		"X-Forwarded-For": "",
		"X-Replace":       "new",
	}}, next)
	srv := httptest.NewServer(h)
	defer srv.Close()

	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/", nil)
	req.Header.Set("X-Remove-Me", "secret")
	req.Header.Add("X-Replace", "old1")
	req.Header.Add("X-Replace", "old2")
	req.Header.Set("X-Forwarded-For", "10.0.0.1")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	s := <-got
	if s.host != "rewritten.example" {
		t.Errorf("Host = %q, want rewritten.example", s.host)
	}
	if v := s.header.Get("X-Script-Name"); v != "test" {
		t.Errorf("X-Script-Name = %q", v)
	}
	if _, ok := s.header["X-Remove-Me"]; ok {
		t.Error("X-Remove-Me not removed")
	}
	if v := s.header.Values("X-Replace"); len(v) != 1 || v[0] != "new" {
		t.Errorf("X-Replace = %q, want [new]", v)
	}
	if !s.xffNilSet {
		t.Error("X-Forwarded-For should be present with a nil value so the proxy does not add one")
	}
}

func TestResponseHeaders(t *testing.T) {
	backend := func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Server", "backend/1.0")
		w.Header().Set("X-Frame-Options", "SAMEORIGIN")
		w.Header().Set("X-Backend", "kept")
		_, _ = io.WriteString(w, "body")
	}
	tests := []struct {
		name   string
		cfg    dynamic.Headers
		tls    bool
		reqHdr map[string]string
		want   map[string]string // "" means absent
	}{
		{
			name: "custom set and delete",
			cfg:  dynamic.Headers{CustomResponseHeaders: map[string]string{"X-Custom": "v", "Server": ""}},
			want: map[string]string{"X-Custom": "v", "Server": "", "X-Backend": "kept"},
		},
		{
			name: "security headers",
			cfg: dynamic.Headers{
				FrameDeny: true, ContentTypeNosniff: true, BrowserXSSFilter: true,
				ContentSecurityPolicy: "default-src 'self'", ContentSecurityPolicyReportOnly: "script-src 'none'",
				ReferrerPolicy: "no-referrer", PermissionsPolicy: "camera=()",
			},
			want: map[string]string{
				"X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff", "X-Xss-Protection": "1; mode=block",
				"Content-Security-Policy": "default-src 'self'", "Content-Security-Policy-Report-Only": "script-src 'none'",
				"Referrer-Policy": "no-referrer", "Permissions-Policy": "camera=()", "Strict-Transport-Security": "",
			},
		},
		{
			name: "custom values win over flags",
			cfg:  dynamic.Headers{FrameDeny: true, CustomFrameOptionsValue: "ALLOW-FROM https://a.example", BrowserXSSFilter: true, CustomBrowserXSSValue: "0"},
			want: map[string]string{"X-Frame-Options": "ALLOW-FROM https://a.example", "X-Xss-Protection": "0"},
		},
		{
			name: "custom response header overrides security header",
			cfg:  dynamic.Headers{FrameDeny: true, CustomResponseHeaders: map[string]string{"X-Frame-Options": ""}},
			want: map[string]string{"X-Frame-Options": ""},
		},
		{
			name: "STS not sent over plain HTTP",
			cfg:  dynamic.Headers{STSSeconds: 300, PublicKey: `pin-sha256="x"; max-age=5`},
			want: map[string]string{"Strict-Transport-Security": "", "Public-Key-Pins": ""},
		},
		{
			name: "STS and HPKP over TLS",
			cfg:  dynamic.Headers{STSSeconds: 300, STSIncludeSubdomains: true, STSPreload: true, PublicKey: `pin-sha256="x"; max-age=5`},
			tls:  true,
			want: map[string]string{"Strict-Transport-Security": "max-age=300; includeSubDomains; preload", "Public-Key-Pins": `pin-sha256="x"; max-age=5`},
		},
		{
			name: "forced STS over plain HTTP",
			cfg:  dynamic.Headers{STSSeconds: 60, ForceSTSHeader: true},
			want: map[string]string{"Strict-Transport-Security": "max-age=60"},
		},
		{
			name:   "sslProxyHeaders mark request as TLS",
			cfg:    dynamic.Headers{STSSeconds: 60, SSLProxyHeaders: map[string]string{"x-forwarded-proto": "https"}},
			reqHdr: map[string]string{"X-Forwarded-Proto": "https"},
			want:   map[string]string{"Strict-Transport-Security": "max-age=60"},
		},
		{
			name:   "sslProxyHeaders value must match",
			cfg:    dynamic.Headers{STSSeconds: 60, SSLProxyHeaders: map[string]string{"X-Forwarded-Proto": "https"}},
			reqHdr: map[string]string{"X-Forwarded-Proto": "http"},
			want:   map[string]string{"Strict-Transport-Security": ""},
		},
		{
			name: "isDevelopment disables STS",
			cfg:  dynamic.Headers{STSSeconds: 60, ForceSTSHeader: true, IsDevelopment: true, FrameDeny: true},
			tls:  true,
			want: map[string]string{"Strict-Transport-Security": "", "X-Frame-Options": "DENY"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := mustNew(t, tt.cfg, http.HandlerFunc(backend))
			var srv *httptest.Server
			if tt.tls {
				srv = httptest.NewTLSServer(h)
			} else {
				srv = httptest.NewServer(h)
			}
			defer srv.Close()
			req, _ := http.NewRequest(http.MethodGet, srv.URL+"/", nil)
			for k, v := range tt.reqHdr {
				req.Header.Set(k, v)
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || string(body) != "body" {
				t.Fatalf("got %d %q, want 200 body", resp.StatusCode, body)
			}
			for k, want := range tt.want {
				if got := resp.Header.Get(k); got != want {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
		})
	}
}

func TestAllowedHosts(t *testing.T) {
	tests := []struct {
		name   string
		cfg    dynamic.Headers
		host   string
		fwd    string
		status int
	}{
		{"allowed", dynamic.Headers{AllowedHosts: []string{"a.example", "b.example"}}, "b.example", "", 200},
		{"case-insensitive", dynamic.Headers{AllowedHosts: []string{"a.example"}}, "A.Example", "", 200},
		{"other host rejected", dynamic.Headers{AllowedHosts: []string{"a.example"}}, "evil.example", "", 400},
		{"port is part of host", dynamic.Headers{AllowedHosts: []string{"a.example"}}, "a.example:8080", "", 400},
		{"proxy header used", dynamic.Headers{AllowedHosts: []string{"a.example"}, HostsProxyHeaders: []string{"X-Forwarded-Host"}}, "internal", "a.example", 200},
		{"proxy header checked", dynamic.Headers{AllowedHosts: []string{"a.example"}, HostsProxyHeaders: []string{"X-Forwarded-Host"}}, "a.example", "evil.example", 400},
		{"isDevelopment skips check", dynamic.Headers{AllowedHosts: []string{"a.example"}, IsDevelopment: true}, "evil.example", "", 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			called := make(chan struct{}, 1)
			h := mustNew(t, tt.cfg, http.HandlerFunc(func(http.ResponseWriter, *http.Request) { called <- struct{}{} }))
			srv := httptest.NewServer(h)
			defer srv.Close()
			req, _ := http.NewRequest(http.MethodGet, srv.URL+"/", nil)
			req.Host = tt.host
			if tt.fwd != "" {
				req.Header.Set("X-Forwarded-Host", tt.fwd)
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.status)
			}
			if reached := len(called) == 1; reached != (tt.status == 200) {
				t.Errorf("next reached = %v", reached)
			}
		})
	}
}

func TestCORS(t *testing.T) {
	full := dynamic.Headers{
		AccessControlAllowMethods:         []string{"GET", "OPTIONS", "PUT"},
		AccessControlAllowHeaders:         []string{"Content-Type", "X-Token"},
		AccessControlAllowOriginList:      []string{"https://a.example"},
		AccessControlAllowOriginListRegex: []string{`^https://[a-z]+\.b\.example$`},
		AccessControlExposeHeaders:        []string{"X-Total"},
		AccessControlAllowCredentials:     true,
		AccessControlMaxAge:               100,
	}
	tests := []struct {
		name       string
		cfg        dynamic.Headers
		method     string
		reqHdr     map[string]string
		backendHit bool
		want       map[string]string
	}{
		{
			name:   "preflight answered directly",
			cfg:    full,
			method: http.MethodOptions,
			reqHdr: map[string]string{"Origin": "https://a.example", "Access-Control-Request-Method": "PUT"},
			want: map[string]string{
				"Access-Control-Allow-Origin": "https://a.example", "Access-Control-Allow-Methods": "GET,OPTIONS,PUT",
				"Access-Control-Allow-Headers": "Content-Type,X-Token", "Access-Control-Max-Age": "100",
				"Access-Control-Allow-Credentials": "true", "Vary": "Origin", "X-Backend": "",
			},
		},
		{
			name:   "preflight from other origin: no allow-origin",
			cfg:    full,
			method: http.MethodOptions,
			reqHdr: map[string]string{"Origin": "https://evil.example", "Access-Control-Request-Method": "PUT"},
			want:   map[string]string{"Access-Control-Allow-Origin": "", "Access-Control-Max-Age": "100"},
		},
		{
			name:       "OPTIONS without request method is not a preflight",
			cfg:        full,
			method:     http.MethodOptions,
			reqHdr:     map[string]string{"Origin": "https://a.example"},
			backendHit: true,
			want:       map[string]string{"X-Backend": "yes", "Access-Control-Allow-Origin": "https://a.example"},
		},
		{
			name:       "simple request exact origin",
			cfg:        full,
			method:     http.MethodGet,
			reqHdr:     map[string]string{"Origin": "https://a.example"},
			backendHit: true,
			want: map[string]string{
				"Access-Control-Allow-Origin": "https://a.example", "Access-Control-Expose-Headers": "X-Total",
				"Access-Control-Allow-Credentials": "true", "Vary": "Accept-Encoding,Origin", "Access-Control-Allow-Methods": "",
			},
		},
		{
			name:       "simple request regex origin echoed",
			cfg:        full,
			method:     http.MethodGet,
			reqHdr:     map[string]string{"Origin": "https://app.b.example"},
			backendHit: true,
			want:       map[string]string{"Access-Control-Allow-Origin": "https://app.b.example"},
		},
		{
			name:       "simple request unknown origin",
			cfg:        full,
			method:     http.MethodGet,
			reqHdr:     map[string]string{"Origin": "https://x.evil.example"},
			backendHit: true,
			want:       map[string]string{"Access-Control-Allow-Origin": "", "Vary": "Accept-Encoding,Origin"},
		},
		{
			name:       "wildcard, no Vary",
			cfg:        dynamic.Headers{AccessControlAllowOriginList: []string{"*"}},
			method:     http.MethodGet,
			reqHdr:     map[string]string{"Origin": "https://any.example"},
			backendHit: true,
			want:       map[string]string{"Access-Control-Allow-Origin": "*", "Vary": "Accept-Encoding"},
		},
		{
			name:       "wildcard with addVaryHeader",
			cfg:        dynamic.Headers{AccessControlAllowOriginList: []string{"*"}, AddVaryHeader: true},
			method:     http.MethodGet,
			reqHdr:     map[string]string{"Origin": "https://any.example"},
			backendHit: true,
			want:       map[string]string{"Access-Control-Allow-Origin": "*", "Vary": "Accept-Encoding,Origin"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hit := make(chan struct{}, 1)
			h := mustNew(t, tt.cfg, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				hit <- struct{}{}
				w.Header().Set("X-Backend", "yes")
				w.Header().Set("Vary", "Accept-Encoding")
				w.WriteHeader(http.StatusOK)
			}))
			srv := httptest.NewServer(h)
			defer srv.Close()
			req, _ := http.NewRequest(tt.method, srv.URL+"/", nil)
			for k, v := range tt.reqHdr {
				req.Header.Set(k, v)
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d", resp.StatusCode)
			}
			if (len(hit) == 1) != tt.backendHit {
				t.Errorf("backend reached = %v, want %v", len(hit) == 1, tt.backendHit)
			}
			for k, want := range tt.want {
				if got := strings.Join(resp.Header.Values(k), ";"); got != want {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
		})
	}
}

// A handler that writes nothing still gets the response headers on the
// implicit 200.
func TestHeadersOnImplicitResponse(t *testing.T) {
	h := mustNew(t, dynamic.Headers{CustomResponseHeaders: map[string]string{"X-Custom": "v"}, FrameDeny: true},
		http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	srv := httptest.NewServer(h)
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get("X-Custom") != "v" || resp.Header.Get("X-Frame-Options") != "DENY" {
		t.Fatalf("headers missing: %v", resp.Header)
	}
}

// Headers are applied when a streaming handler flushes before writing, and
// the client sees them before the body is complete.
func TestHeadersWithFlush(t *testing.T) {
	release := make(chan struct{})
	h := mustNew(t, dynamic.Headers{CustomResponseHeaders: map[string]string{"X-Custom": "v"}},
		http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/event-stream")
			if err := http.NewResponseController(w).Flush(); err != nil {
				t.Errorf("flush: %v", err)
			}
			<-release
			_, _ = io.WriteString(w, "data: x\n\n")
		}))
	srv := httptest.NewServer(h)
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
	resp, err := srv.Client().Do(req)
	if err != nil {
		close(release)
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.Header.Get("X-Custom") != "v" {
		t.Errorf("X-Custom missing on streamed response: %v", resp.Header)
	}
	close(release)
	if b, _ := io.ReadAll(resp.Body); string(b) != "data: x\n\n" {
		t.Errorf("body %q", b)
	}
}

// Informational responses pass through; the final response carries the
// headers.
func TestEarlyHints(t *testing.T) {
	h := mustNew(t, dynamic.Headers{CustomResponseHeaders: map[string]string{"X-Custom": "v"}},
		http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Link", "</style.css>; rel=preload")
			w.WriteHeader(http.StatusEarlyHints)
			w.WriteHeader(http.StatusCreated)
		}))
	srv := httptest.NewServer(h)
	defer srv.Close()
	var hints []int
	trace := &httptrace.ClientTrace{Got1xxResponse: func(code int, _ textproto.MIMEHeader) error {
		hints = append(hints, code)
		return nil
	}}
	req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), http.MethodGet, srv.URL, nil)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if len(hints) != 1 || hints[0] != http.StatusEarlyHints || resp.StatusCode != http.StatusCreated || resp.Header.Get("X-Custom") != "v" {
		t.Fatalf("hints %v, status %d, X-Custom %q", hints, resp.StatusCode, resp.Header.Get("X-Custom"))
	}
}

var upgrader = websocket.Upgrader{}

func echoWS(t *testing.T) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := upgrader.Upgrade(w, r, nil)
		if err != nil {
			t.Errorf("upgrade: %v", err)
			return
		}
		defer c.Close()
		for {
			mt, msg, err := c.ReadMessage()
			if err != nil {
				return
			}
			if err := c.WriteMessage(mt, msg); err != nil {
				return
			}
		}
	})
}

func TestWebSocket(t *testing.T) {
	cfg := dynamic.Headers{CustomResponseHeaders: map[string]string{"X-Custom": "v"}, CustomRequestHeaders: map[string]string{"X-Req": "1"}, FrameDeny: true}

	direct := httptest.NewServer(mustNew(t, cfg, echoWS(t)))
	defer direct.Close()

	// Through a reverse proxy, the 101 response is written with the header
	// map after the hijack, so the middleware's headers reach the client.
	backend := httptest.NewServer(echoWS(t))
	defer backend.Close()
	target, _ := url.Parse(backend.URL)
	proxied := httptest.NewServer(mustNew(t, cfg, httputil.NewSingleHostReverseProxy(target)))
	defer proxied.Close()

	for _, tt := range []struct {
		name       string
		srv        *httptest.Server
		wantHeader bool
	}{{"handler upgrades", direct, false}, {"reverse proxy", proxied, true}} {
		t.Run(tt.name, func(t *testing.T) {
			d := websocket.Dialer{HandshakeTimeout: 10 * time.Second, TLSClientConfig: &tls.Config{}}
			c, resp, err := d.Dial("ws"+strings.TrimPrefix(tt.srv.URL, "http"), nil)
			if err != nil {
				t.Fatalf("dial: %v", err)
			}
			defer c.Close()
			if tt.wantHeader && (resp.Header.Get("X-Custom") != "v" || resp.Header.Get("X-Frame-Options") != "DENY") {
				t.Errorf("handshake response headers: %v", resp.Header)
			}
			_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
			if err := c.WriteMessage(websocket.TextMessage, []byte("ping")); err != nil {
				t.Fatal(err)
			}
			_, msg, err := c.ReadMessage()
			if err != nil || string(msg) != "ping" {
				t.Fatalf("echo: %q, %v", msg, err)
			}
		})
	}
}

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  dynamic.Headers
		want string
	}{
		{"empty", dynamic.Headers{}, "no option"},
		{"bad request header name", dynamic.Headers{CustomRequestHeaders: map[string]string{"Bad Name": "x"}}, "customRequestHeaders"},
		{"newline in value", dynamic.Headers{CustomResponseHeaders: map[string]string{"X-A": "a\r\nX-B: b"}}, "control character"},
		{"duplicate names", dynamic.Headers{CustomResponseHeaders: map[string]string{"x-a": "1", "X-A": "2"}}, "twice"},
		{"bad origin regex", dynamic.Headers{AccessControlAllowOriginListRegex: []string{"(["}}, "accessControlAllowOriginListRegex[0]"},
		{"negative sts", dynamic.Headers{STSSeconds: -1}, "stsSeconds"},
		{"bad hosts proxy header", dynamic.Headers{HostsProxyHeaders: []string{"a b"}}, "hostsProxyHeaders[0]"},
		{"newline in CSP", dynamic.Headers{ContentSecurityPolicy: "a\nb"}, "Content-Security-Policy"},
		{"sslHost with a path", dynamic.Headers{SSLRedirect: ptr(true), SSLHost: ptr("a.example/x")}, "sslHost"},
		{"newline in featurePolicy", dynamic.Headers{FeaturePolicy: ptr("a\nb")}, "Feature-Policy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(middlewares.Env{}, tt.cfg, http.NotFoundHandler())
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one mentioning %q", err, tt.want)
			}
		})
	}
}

func BenchmarkHeaders(b *testing.B) {
	cfgs := map[string]dynamic.Headers{
		"request-only": {CustomRequestHeaders: map[string]string{"X-A": "1", "X-B": ""}},
		"full": {
			CustomRequestHeaders:         map[string]string{"X-A": "1"},
			CustomResponseHeaders:        map[string]string{"X-Custom": "v", "Server": ""},
			FrameDeny:                    true,
			ContentTypeNosniff:           true,
			ReferrerPolicy:               "no-referrer",
			STSSeconds:                   300,
			AllowedHosts:                 []string{"example.com"},
			AccessControlAllowOriginList: []string{"https://a.example"},
			AccessControlAllowMethods:    []string{"GET"},
		},
	}
	for name, cfg := range cfgs {
		b.Run(name, func(b *testing.B) {
			h := mustNew(b, cfg, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) }))
			req := httptest.NewRequest(http.MethodGet, "http://example.com/", nil)
			req.Header.Set("Origin", "https://a.example")
			hdr := make(http.Header, 16)
			w := &discardWriter{h: hdr}
			b.ReportAllocs()
			for b.Loop() {
				clear(hdr)
				h.ServeHTTP(w, req)
			}
		})
	}
}

type discardWriter struct{ h http.Header }

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (d *discardWriter) WriteHeader(int)             {}

func ptr[T any](v T) *T { return &v }

// The deprecated SSL options and featurePolicy, still honoured by Traefik v3.
func TestDeprecatedSecureOptions(t *testing.T) {
	next := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "next") })
	tests := []struct {
		name     string
		cfg      dynamic.Headers
		host     string
		tls      bool
		hdr      map[string]string
		wantCode int
		wantLoc  string
	}{
		{"sslRedirect from http", dynamic.Headers{SSLRedirect: ptr(true)}, "a.example:8000", false, nil, 301, "https://a.example:8000/p%20q?x=1;y=2"},
		{"sslRedirect over TLS passes", dynamic.Headers{SSLRedirect: ptr(true)}, "a.example", true, nil, 200, ""},
		{"sslProxyHeaders count as TLS", dynamic.Headers{SSLRedirect: ptr(true), SSLProxyHeaders: map[string]string{"X-Forwarded-Proto": "https"}}, "a.example", false, map[string]string{"X-Forwarded-Proto": "https"}, 200, ""},
		{"sslTemporaryRedirect", dynamic.Headers{SSLRedirect: ptr(true), SSLTemporaryRedirect: ptr(true)}, "a.example", false, nil, 307, "https://a.example/p%20q?x=1;y=2"},
		{"sslHost", dynamic.Headers{SSLRedirect: ptr(true), SSLHost: ptr("secure.example:8443")}, "a.example", false, nil, 301, "https://secure.example:8443/p%20q?x=1;y=2"},
		{"sslForceHost over TLS", dynamic.Headers{SSLForceHost: ptr(true), SSLHost: ptr("secure.example")}, "a.example", true, nil, 301, "https://secure.example/p%20q?x=1;y=2"},
		{"sslForceHost on the host passes", dynamic.Headers{SSLForceHost: ptr(true), SSLHost: ptr("secure.example")}, "secure.example", true, nil, 200, ""},
		{"hostsProxyHeaders give the host", dynamic.Headers{SSLRedirect: ptr(true), HostsProxyHeaders: []string{"X-Forwarded-Host"}}, "internal", false, map[string]string{"X-Forwarded-Host": "public.example"}, 301, "https://public.example/p%20q?x=1;y=2"},
		{"sslRedirect false", dynamic.Headers{SSLRedirect: ptr(false), FrameDeny: true}, "a.example", false, nil, 200, ""},
		{"isDevelopment disables", dynamic.Headers{SSLRedirect: ptr(true), IsDevelopment: true}, "a.example", false, nil, 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := mustNew(t, tt.cfg, next)
			req := httptest.NewRequest(http.MethodPost, "http://x/p%20q?x=1;y=2", nil)
			req.Host = tt.host
			if tt.tls {
				req.TLS = &tls.ConnectionState{}
			}
			for k, v := range tt.hdr {
				req.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.wantCode || rec.Header().Get("Location") != tt.wantLoc {
				t.Fatalf("got %d Location %q, want %d %q", rec.Code, rec.Header().Get("Location"), tt.wantCode, tt.wantLoc)
			}
		})
	}

	h := mustNew(t, dynamic.Headers{FeaturePolicy: ptr("camera 'none'")}, next)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "http://x/", nil))
	if got := rec.Header().Get("Feature-Policy"); got != "camera 'none'" || rec.Body.String() != "next" {
		t.Fatalf("Feature-Policy %q, body %q", got, rec.Body.String())
	}
}
