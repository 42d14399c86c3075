package stripprefixregex

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/guan-gateway/guan/config/dynamic"
	"github.com/guan-gateway/guan/middlewares"
	"github.com/guan-gateway/guan/middlewares/internal/mwtest"
)

type seen struct {
	path, rawPath, requestURI string
	forwardedPrefix           string
}

func TestStripPrefixRegex(t *testing.T) {
	tests := []struct {
		name    string
		regex   []string
		reqPath string
		want    seen
	}{
		{"strips match", []string{"/a/api/"}, "/a/api/users", seen{"/users", "", "/users", "/a/api/"}},
		{"pattern", []string{"/b/[a-z0-9]+/"}, "/b/v2/users?x=1", seen{"/users", "", "/users?x=1", "/b/v2/"}},
		{"whole path", []string{"/b/[a-z0-9]+"}, "/b/v2", seen{"/", "", "/", "/b/v2"}},
		{"not at start: no strip", []string{"/api"}, "/x/api/users", seen{"/x/api/users", "", "/x/api/users", ""}},
		{"first matching expression wins", []string{"/nope", "/c/[0-9]+", "/c"}, "/c/12/d", seen{"/d", "", "/d", "/c/12"}},
		{"empty match ignored", []string{"x*"}, "/users", seen{"/users", "", "/users", ""}},
		{"encoded remainder kept", []string{"/api"}, "/api/a%2Fb", seen{"/a/b", "/a%2Fb", "/a%2Fb", "/api"}},
		{"matches decoded path", []string{"/my api"}, "/my%20api/x", seen{"/x", "", "/x", "/my api"}},
		// Stripping inside a segment must not leave a dot segment.
		{"dot-dot left by the strip is cleaned", []string{"/v[0-9]+"}, "/v1../admin?q", seen{"/admin", "", "/admin?q", "/v1"}},
		{"dot-dot with parameters left by the strip", []string{"/v[0-9]+"}, "/v1..;/admin", seen{"/admin", "", "/admin", "/v1"}},
		{"dot segment already there is kept", []string{"/v[0-9]+"}, "/v1/../admin", seen{"/../admin", "", "/../admin", "/v1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := mwtest.Forward(t, func(next http.Handler) (http.Handler, error) {
				return New(middlewares.Env{}, dynamic.StripPrefixRegex{Regex: tt.regex}, next)
			}, tt.reqPath)
			if got := (seen{g.Path, g.RawPath, g.RequestURI, strings.Join(g.Header.Values("X-Forwarded-Prefix"), ";")}); got != tt.want {
				t.Errorf("upstream saw %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestStripPrefixRegexConfigErrors(t *testing.T) {
	for _, cfg := range []dynamic.StripPrefixRegex{{}, {Regex: []string{"/a", ""}}, {Regex: []string{"/a(["}}} {
		_, err := New(middlewares.Env{}, cfg, http.NotFoundHandler())
		if err == nil {
			t.Errorf("config %+v accepted", cfg)
			continue
		}
		if !strings.Contains(err.Error(), "regex") {
			t.Errorf("error %q does not name the key", err)
		}
	}
}

// FuzzStripPrefixRegex checks that any request path leaves the middleware
// rooted, with RawPath still encoding Path.
func FuzzStripPrefixRegex(f *testing.F) {
	for _, s := range []string{"/api/x", "/b/v2%2Fx", "/a%2", "/%41pi", "/"} {
		f.Add(s)
	}
	var got *http.Request
	h, err := New(middlewares.Env{}, dynamic.StripPrefixRegex{Regex: []string{"/[a-z]+", "/b/[a-z0-9]+/"}}, http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { got = r }))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, target string) {
		u, err := url.ParseRequestURI(target)
		if err != nil || u.Scheme != "" || u.Host != "" || !strings.HasPrefix(u.Path, "/") {
			return // origin-form targets only: an absolute-form one ("A:/") is not rewritten in RequestURI
		}
		h.ServeHTTP(httptest.NewRecorder(), &http.Request{URL: u, RequestURI: target, Header: http.Header{}})
		if !strings.HasPrefix(got.URL.Path, "/") || !strings.HasPrefix(got.RequestURI, "/") {
			t.Fatalf("path %q, RequestURI %q", got.URL.Path, got.RequestURI)
		}
		if got.URL.RawPath != "" {
			if dec, err := url.PathUnescape(got.URL.RawPath); err != nil || dec != got.URL.Path {
				t.Fatalf("RawPath %q does not encode Path %q", got.URL.RawPath, got.URL.Path)
			}
		}
	})
}
