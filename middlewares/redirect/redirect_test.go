package redirect

import (
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/guan-gateway/guan/config/dynamic"
	"github.com/guan-gateway/guan/middlewares"
)

// result is what a client observes: a redirect, or the request reaching next.
type result struct {
	status   int
	location string
}

// do sends one request through h on a real server; host overrides the Host
// header, target is the request-target written on the wire.
func do(t *testing.T, h http.Handler, useTLS bool, method, host, target string, hdr map[string]string) result {
	t.Helper()
	var srv *httptest.Server
	if useTLS {
		srv = httptest.NewTLSServer(h)
	} else {
		srv = httptest.NewServer(h)
	}
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	req, err := http.NewRequest(method, srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Opaque sends target verbatim, including absolute-form URIs.
	req.URL = &url.URL{Scheme: u.Scheme, Host: u.Host, Opaque: target}
	req.Host = host
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	client := srv.Client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode >= 300 && resp.StatusCode < 400 && method != http.MethodHead && string(body) != http.StatusText(resp.StatusCode) {
		t.Errorf("redirect body %q", body)
	}
	return result{resp.StatusCode, resp.Header.Get("Location")}
}

var nextOK = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) })

func TestRedirectScheme(t *testing.T) {
	tests := []struct {
		name   string
		cfg    dynamic.RedirectScheme
		tls    bool
		method string
		host   string
		target string
		hdr    map[string]string
		want   result
	}{
		{"http to https", dynamic.RedirectScheme{Scheme: "https"}, false, "GET", "foo.example", "/p?q=1", nil, result{302, "https://foo.example/p?q=1"}},
		{"permanent GET", dynamic.RedirectScheme{Scheme: "https", Permanent: true}, false, "GET", "foo.example", "/", nil, result{301, "https://foo.example/"}},
		{"temporary POST keeps method", dynamic.RedirectScheme{Scheme: "https"}, false, "POST", "foo.example", "/", nil, result{307, "https://foo.example/"}},
		{"permanent POST", dynamic.RedirectScheme{Scheme: "https", Permanent: true}, false, "POST", "foo.example", "/", nil, result{308, "https://foo.example/"}},
		{"permanent HEAD", dynamic.RedirectScheme{Scheme: "https", Permanent: true}, false, "HEAD", "foo.example", "/", nil, result{308, "https://foo.example/"}},
		{"port added", dynamic.RedirectScheme{Scheme: "https", Port: "8443"}, false, "GET", "foo.example:8000", "/a", nil, result{302, "https://foo.example:8443/a"}},
		{"default port omitted", dynamic.RedirectScheme{Scheme: "https", Port: "443"}, false, "GET", "foo.example:80", "/a", nil, result{302, "https://foo.example/a"}},
		{"request port dropped", dynamic.RedirectScheme{Scheme: "https"}, false, "GET", "foo.example:8080", "/a", nil, result{302, "https://foo.example/a"}},
		{"ipv6 host", dynamic.RedirectScheme{Scheme: "https", Port: "8443"}, false, "GET", "[::1]:8000", "/a", nil, result{302, "https://[::1]:8443/a"}},
		{"encoded path kept", dynamic.RedirectScheme{Scheme: "https"}, false, "GET", "foo.example", "/a%2Fb?x=%20", nil, result{302, "https://foo.example/a%2Fb?x=%20"}},
		{"already https", dynamic.RedirectScheme{Scheme: "https"}, true, "GET", "foo.example", "/", nil, result{418, ""}},
		{"already https on port 443", dynamic.RedirectScheme{Scheme: "https", Port: "443"}, true, "GET", "foo.example:443", "/", nil, result{418, ""}},
		{"https but wrong port", dynamic.RedirectScheme{Scheme: "https", Port: "8443"}, true, "GET", "foo.example", "/", nil, result{302, "https://foo.example:8443/"}},
		{"https on right port", dynamic.RedirectScheme{Scheme: "https", Port: "8443"}, true, "GET", "foo.example:8443", "/", nil, result{418, ""}},
		{"X-Forwarded-Proto https trusted", dynamic.RedirectScheme{Scheme: "https"}, false, "GET", "foo.example", "/", map[string]string{"X-Forwarded-Proto": "https"}, result{418, ""}},
		{"X-Forwarded-Proto wss", dynamic.RedirectScheme{Scheme: "https"}, false, "GET", "foo.example", "/", map[string]string{"X-Forwarded-Proto": "wss"}, result{418, ""}},
		{"X-Forwarded-Proto http on TLS", dynamic.RedirectScheme{Scheme: "https"}, true, "GET", "foo.example", "/", map[string]string{"X-Forwarded-Proto": "http"}, result{302, "https://foo.example/"}},
		{"unknown X-Forwarded-Proto ignored", dynamic.RedirectScheme{Scheme: "https"}, false, "GET", "foo.example", "/", map[string]string{"X-Forwarded-Proto": "gopher"}, result{302, "https://foo.example/"}},
		{"https to http", dynamic.RedirectScheme{Scheme: "http"}, true, "GET", "foo.example", "/x", nil, result{302, "http://foo.example/x"}},
		{"scheme case-insensitive", dynamic.RedirectScheme{Scheme: "HTTPS"}, true, "GET", "foo.example", "/", nil, result{418, ""}},
		{"absolute-form URI", dynamic.RedirectScheme{Scheme: "https"}, false, "GET", "ignored.example", "http://abs.example:8080/p?q", nil, result{302, "https://abs.example/p?q"}},
		// Schemes are case-insensitive: the scheme and authority of an
		// upper-case absolute-form URI never end up in the path.
		{"upper-case absolute-form URI", dynamic.RedirectScheme{Scheme: "https"}, false, "GET", "ignored.example", "HTTP://abs.example:8080/p?q", nil, result{302, "https://abs.example/p?q"}},
		{"upper-case https absolute-form URI, other port", dynamic.RedirectScheme{Scheme: "https", Port: "8443"}, false, "GET", "rs.test", "HTTPS://rs.test/x", nil, result{302, "https://rs.test:8443/x"}},
		{"upper-case https absolute-form URI is https", dynamic.RedirectScheme{Scheme: "https"}, false, "GET", "rs.test", "HTTPS://rs.test/x", nil, result{418, ""}},
		{"mixed-case absolute-form URI", dynamic.RedirectScheme{Scheme: "https"}, false, "GET", "ignored.example", "hTtP://abs.example/p", nil, result{302, "https://abs.example/p"}},
		{"absolute-form URI of another scheme", dynamic.RedirectScheme{Scheme: "https"}, false, "GET", "ignored.example", "ftp://abs.example/p", nil, result{302, "https://abs.example/p"}},
		{"scheme-like text in the query", dynamic.RedirectScheme{Scheme: "https"}, false, "GET", "foo.example", "/p?next=http://x/", nil, result{302, "https://foo.example/p?next=http://x/"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := NewScheme(middlewares.Env{}, tt.cfg, nextOK)
			if err != nil {
				t.Fatal(err)
			}
			if got := do(t, h, tt.tls, tt.method, tt.host, tt.target, tt.hdr); got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestRedirectRegex(t *testing.T) {
	tests := []struct {
		name   string
		cfg    dynamic.RedirectRegex
		tls    bool
		method string
		host   string
		target string
		want   result
	}{
		{"host rewrite", dynamic.RedirectRegex{Regex: `^http://localhost/(.*)`, Replacement: "http://mydomain/${1}"}, false, "GET", "localhost", "/a/b?c=d", result{302, "http://mydomain/a/b?c=d"}},
		{"permanent", dynamic.RedirectRegex{Regex: `^http://localhost/(.*)`, Replacement: "http://mydomain/$1", Permanent: true}, false, "GET", "localhost", "/x", result{301, "http://mydomain/x"}},
		{"permanent PUT", dynamic.RedirectRegex{Regex: `^http://localhost/(.*)`, Replacement: "http://mydomain/$1", Permanent: true}, false, "PUT", "localhost", "/x", result{308, "http://mydomain/x"}},
		{"temporary DELETE", dynamic.RedirectRegex{Regex: `^http://localhost/(.*)`, Replacement: "http://mydomain/$1"}, false, "DELETE", "localhost", "/x", result{307, "http://mydomain/x"}},
		{"no match passes", dynamic.RedirectRegex{Regex: `^http://localhost/(.*)`, Replacement: "http://mydomain/$1"}, false, "GET", "other", "/x", result{418, ""}},
		{"host port visible", dynamic.RedirectRegex{Regex: `^http://([^/:]+):8080/(.*)`, Replacement: "https://$1/$2"}, false, "GET", "foo.example:8080", "/p", result{302, "https://foo.example/p"}},
		{"TLS seen as https", dynamic.RedirectRegex{Regex: `^https://foo\.example/(.*)`, Replacement: "https://www.foo.example/$1"}, true, "GET", "foo.example", "/p", result{302, "https://www.foo.example/p"}},
		{"same URL: no loop", dynamic.RedirectRegex{Regex: `^(http://[^/]+)/(.*)`, Replacement: "$1/$2"}, false, "GET", "foo.example", "/p", result{418, ""}},
		{"add trailing slash once", dynamic.RedirectRegex{Regex: `^(http://[^/]+/[^?]*[^/?])(\?.*)?$`, Replacement: "$1/$2"}, false, "GET", "foo.example", "/dir?x", result{302, "http://foo.example/dir/?x"}},
		{"trailing slash present", dynamic.RedirectRegex{Regex: `^(http://[^/]+/[^?]*[^/?])(\?.*)?$`, Replacement: "$1/$2"}, false, "GET", "foo.example", "/dir/?x", result{418, ""}},
		{"absolute-form URI", dynamic.RedirectRegex{Regex: `^http://abs\.example/(.*)`, Replacement: "https://abs.example/$1"}, false, "GET", "ignored", "http://abs.example/p", result{302, "https://abs.example/p"}},
		{"upper-case absolute-form URI", dynamic.RedirectRegex{Regex: `^http://abs\.example/(.*)`, Replacement: "https://abs.example/$1"}, false, "GET", "ignored", "HTTP://abs.example/p", result{302, "https://abs.example/p"}},
		{"invalid result is 500", dynamic.RedirectRegex{Regex: `^http://localhost/(.*)`, Replacement: "http://my domain\x7f/$1"}, false, "GET", "localhost", "/x", result{500, ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := NewRegex(middlewares.Env{}, tt.cfg, nextOK)
			if err != nil {
				t.Fatal(err)
			}
			if got := do(t, h, tt.tls, tt.method, tt.host, tt.target, nil); got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestConfigErrors(t *testing.T) {
	scheme := []dynamic.RedirectScheme{{}, {Scheme: "ht tp"}, {Scheme: "1http"}, {Scheme: "https", Port: "x"}, {Scheme: "https", Port: "70000"}, {Scheme: "https", Port: "0"}}
	for _, cfg := range scheme {
		if _, err := NewScheme(middlewares.Env{}, cfg, nextOK); err == nil {
			t.Errorf("redirectScheme %+v accepted", cfg)
		}
	}
	regex := []dynamic.RedirectRegex{{Replacement: "x"}, {Regex: "x"}, {Regex: "(", Replacement: "x"}}
	for _, cfg := range regex {
		_, err := NewRegex(middlewares.Env{}, cfg, nextOK)
		if err == nil {
			t.Errorf("redirectRegex %+v accepted", cfg)
		} else if !strings.HasPrefix(err.Error(), "redirectRegex: ") {
			t.Errorf("error %q does not name the middleware", err)
		}
	}
}

// FuzzRedirectRegex drives both redirect middlewares with arbitrary Host
// headers and request URIs: they must not panic, a redirect must carry a
// Location that parses as a URL, and the scheme redirect must never point at
// the URL the client is already on.
func FuzzRedirectRegex(f *testing.F) {
	f.Add("localhost", "/a/b?c=d", false)
	f.Add("[::1]:8080", "http://x.example:81/p", true)
	f.Add("h:443", "https://y/", false)
	f.Add("", "*", false)
	rr, err := NewRegex(middlewares.Env{}, dynamic.RedirectRegex{Regex: `^(https?)://([^/]+)/(.*)`, Replacement: "https://new.example/$3?from=$2"}, nextOK)
	if err != nil {
		f.Fatal(err)
	}
	rs, err := NewScheme(middlewares.Env{}, dynamic.RedirectScheme{Scheme: "https", Port: "8443"}, nextOK)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, host, uri string, useTLS bool) {
		u, err := url.ParseRequestURI(uri)
		if err != nil {
			return
		}
		req := &http.Request{Method: http.MethodGet, Host: host, URL: u, RequestURI: uri, Header: http.Header{}}
		if useTLS {
			req.TLS = &tls.ConnectionState{}
		}
		for _, h := range []http.Handler{rr, rs} {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code/100 != 3 {
				continue
			}
			loc := rec.Header().Get("Location")
			if _, err := url.Parse(loc); err != nil || loc == "" {
				t.Fatalf("Location %q: %v", loc, err)
			}
			if strings.ContainsAny(loc, "\r\n") {
				t.Fatalf("Location %q contains a line break", loc)
			}
		}
		// Loop safety: a TLS request already on port 8443 is never redirected.
		if _, port, err := net.SplitHostPort(host); err == nil && port == "8443" && useTLS && strings.HasPrefix(uri, "/") {
			rec := httptest.NewRecorder()
			rs.ServeHTTP(rec, req)
			if rec.Code/100 == 3 {
				t.Fatalf("already on https://%s%s but redirected to %q", host, uri, rec.Header().Get("Location"))
			}
		}
	})
}

func BenchmarkRedirectSchemePassThrough(b *testing.B) {
	h, err := NewScheme(middlewares.Env{}, dynamic.RedirectScheme{Scheme: "https"}, http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	if err != nil {
		b.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodGet, "https://example.com/path?q=1", nil)
	rw := httptest.NewRecorder()
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(rw, req)
	}
}

func TestSplitHostPort(t *testing.T) {
	tests := []struct{ in, host, port string }{
		{"example.com", "example.com", ""},
		{"example.com:8080", "example.com", ":8080"},
		{"[::1]", "[::1]", ""},
		{"[::1]:443", "::1", ":443"},
		{"::1", "::1", ""},
		{"", "", ""},
	}
	for _, tt := range tests {
		if h, p := splitHostPort(tt.in); h != tt.host || p != tt.port {
			t.Errorf("splitHostPort(%q) = %q, %q; want %q, %q", tt.in, h, p, tt.host, tt.port)
		}
	}
}
