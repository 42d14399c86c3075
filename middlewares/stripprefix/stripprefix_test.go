package stripprefix

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/guan-gateway/guan/config/dynamic"
	"github.com/guan-gateway/guan/middlewares"
	"github.com/guan-gateway/guan/middlewares/internal/mwtest"
	"github.com/guan-gateway/guan/urlpath"
)

type seen struct {
	path, rawPath, requestURI string
	forwardedPrefix           string
}

func TestStripPrefix(t *testing.T) {
	yes := true
	tests := []struct {
		name       string
		prefixes   []string
		forceSlash *bool
		reqPath    string
		want       seen
	}{
		{"strips prefix", []string{"/api"}, nil, "/api/users", seen{"/users", "", "/users", "/api"}},
		{"whole path leaves root", []string{"/api"}, nil, "/api", seen{"/", "", "/", "/api"}},
		{"trailing slash prefix", []string{"/api/"}, nil, "/api/users", seen{"/users", "", "/users", "/api/"}},
		{"plain string prefix", []string{"/api"}, nil, "/apiv2/x", seen{"/v2/x", "", "/v2/x", "/api"}},
		{"first match in list order", []string{"/a", "/a/b"}, nil, "/a/b/c", seen{"/b/c", "", "/b/c", "/a"}},
		{"later entries tried", []string{"/x", "/a/b"}, nil, "/a/b/c", seen{"/c", "", "/c", "/a/b"}},
		{"no match passes through", []string{"/api"}, nil, "/other?q=1", seen{"/other", "", "/other?q=1", ""}},
		{"query kept", []string{"/api"}, nil, "/api/x?q=1", seen{"/x", "", "/x?q=1", "/api"}},
		{"encoded remainder kept", []string{"/api"}, nil, "/api/a%2Fb", seen{"/a/b", "/a%2Fb", "/a%2Fb", "/api"}},
		{"encoded prefix", []string{"/my api"}, nil, "/my%20api/a%2Fb", seen{"/a/b", "/a%2Fb", "/a%2Fb", "/my api"}},
		{"prefix ends inside encoded segment", []string{"/a/"}, nil, "/a%2Fb%2Fc", seen{"/b/c", "/b%2Fc", "/b%2Fc", "/a/"}},
		{"double slash kept", []string{"/api"}, nil, "/api//x", seen{"//x", "", "//x", "/api"}},
		{"forceSlash drops one slash", []string{"/api"}, &yes, "/api//x", seen{"/x", "", "/x", "/api"}},
		// Stripping inside a segment must not leave a dot segment.
		{"dot-dot left by the strip is cleaned", []string{"/api"}, nil, "/api../admin?q=1", seen{"/admin", "", "/admin?q=1", "/api"}},
		{"dot left by the strip is cleaned", []string{"/api"}, nil, "/api./x", seen{"/x", "", "/x", "/api"}},
		{"dot-dot alone leaves root", []string{"/api"}, nil, "/api..", seen{"/", "", "/", "/api"}},
		{"encoded dot-dot left by the strip", []string{"/api"}, nil, "/api%2e%2e/admin", seen{"/admin", "", "/admin", "/api"}},
		{"dot-dot with parameters left by the strip", []string{"/api"}, nil, "/api..;x=1/admin", seen{"/admin", "", "/admin", "/api"}},
		{"dot-dot after forceSlash", []string{"/api/"}, &yes, "/api/../admin", seen{"/../admin", "", "/../admin", "/api/"}},
		{"longer dots are a name", []string{"/api"}, nil, "/api.../x", seen{"/.../x", "", "/.../x", "/api"}},
		// A dot segment the request already had (http.sanitizePath off) is
		// the operator's choice and passes as is.
		{"dot segment already there", []string{"/api"}, nil, "/api/../x", seen{"/../x", "", "/../x", "/api"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := mwtest.Forward(t, func(next http.Handler) (http.Handler, error) {
				return New(middlewares.Env{}, dynamic.StripPrefix{Prefixes: tt.prefixes, ForceSlash: tt.forceSlash}, next)
			}, tt.reqPath)
			if got := (seen{g.Path, g.RawPath, g.RequestURI, strings.Join(g.Header.Values(ForwardedPrefixHeader), ";")}); got != tt.want {
				t.Errorf("upstream saw %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestStripPrefixConfigErrors(t *testing.T) {
	for _, cfg := range []dynamic.StripPrefix{{}, {Prefixes: []string{"/a", " "}}} {
		if _, err := New(middlewares.Env{}, cfg, http.NotFoundHandler()); err == nil {
			t.Errorf("config %+v accepted", cfg)
		}
	}
}

func TestRawOffset(t *testing.T) {
	tests := []struct {
		raw  string
		n    int
		want int
	}{
		{"/a%2Fb", 2, 2},
		{"/a%2Fb", 3, 5},
		{"/a%2Fb", 4, 6},
		{"/a%2Fb", 5, -1},
		{"/a%2", 3, -1},
		{"/a%zz", 3, -1},
	}
	for _, tt := range tests {
		if got := rawOffset(tt.raw, tt.n); got != tt.want {
			t.Errorf("rawOffset(%q, %d) = %d, want %d", tt.raw, tt.n, got, tt.want)
		}
	}
}

// FuzzStripPrefix checks, for any request path, that the upstream path starts
// with "/", RawPath still encodes Path, RequestURI matches the URL and the
// forwarded prefix is set exactly when something was stripped, and that
// no dot segment appears that the request path did not have.
func FuzzStripPrefix(f *testing.F) {
	for _, s := range []string{"/api/x", "/api", "/api%2Fx", "/apix?y=1", "/%41pi/b", "/", "/a%2", "//api", "/api../x", "/api%2e%2E;p/x", "/api./"} {
		f.Add(s, "/api")
	}
	f.Fuzz(func(t *testing.T, target, prefix string) {
		if prefix == "" || strings.TrimSpace(prefix) == "" {
			return
		}
		u, err := url.ParseRequestURI(target)
		if err != nil || u.Host != "" || u.Scheme != "" || !strings.HasPrefix(u.Path, "/") {
			return
		}
		req := &http.Request{Method: http.MethodGet, URL: u, RequestURI: target, Header: http.Header{}}
		var got *http.Request
		h, err := New(middlewares.Env{}, dynamic.StripPrefix{Prefixes: []string{prefix}}, http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { got = r }))
		if err != nil {
			t.Fatal(err)
		}
		stripped := strings.HasPrefix(u.Path, prefix)
		hadDots := urlpath.HasDotSegment(u)
		h.ServeHTTP(httptest.NewRecorder(), req)
		if !hadDots && urlpath.HasDotSegment(got.URL) {
			t.Fatalf("%q less %q: dot segment in %q", target, prefix, got.URL.EscapedPath())
		}
		if !strings.HasPrefix(got.URL.Path, "/") {
			t.Fatalf("path %q does not start with /", got.URL.Path)
		}
		if got.URL.RawPath != "" {
			if dec, err := url.PathUnescape(got.URL.RawPath); err != nil || dec != got.URL.Path {
				t.Fatalf("RawPath %q does not encode Path %q", got.URL.RawPath, got.URL.Path)
			}
		}
		if got.RequestURI != got.URL.RequestURI() && stripped {
			t.Fatalf("RequestURI %q, URL says %q", got.RequestURI, got.URL.RequestURI())
		}
		if (got.Header.Get(ForwardedPrefixHeader) != "") != stripped {
			t.Fatalf("X-Forwarded-Prefix %q, stripped=%v", got.Header.Get(ForwardedPrefixHeader), stripped)
		}
	})
}

func BenchmarkStripPrefix(b *testing.B) {
	h, err := New(middlewares.Env{}, dynamic.StripPrefix{Prefixes: []string{"/other", "/api"}}, http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	if err != nil {
		b.Fatal(err)
	}
	u := &url.URL{Path: "/api/users/42"}
	req := &http.Request{Method: http.MethodGet, URL: u, Header: http.Header{}}
	rw := httptest.NewRecorder()
	b.ReportAllocs()
	for b.Loop() {
		u.Path = "/api/users/42"
		req.RequestURI = "/api/users/42"
		delete(req.Header, ForwardedPrefixHeader)
		h.ServeHTTP(rw, req)
	}
}
