package replacepathregex

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

type seen struct{ path, rawPath, requestURI, replaced string }

func TestReplacePathRegex(t *testing.T) {
	tests := []struct {
		name        string
		regex, repl string
		reqPath     string
		want        seen
	}{
		{"group replacement", `^/foo/(.*)`, "/bar/$1", "/foo/x/y?q=1", seen{"/bar/x/y", "/bar/x/y", "/bar/x/y?q=1", "/foo/x/y"}},
		{"named group", `^/v(?P<ver>\d+)/(.*)`, "/api/${ver}/${2}", "/v2/users", seen{"/api/2/users", "/api/2/users", "/api/2/users", "/v2/users"}},
		{"no match: unchanged, no header", `^/foo/(.*)`, "/bar/$1", "/other", seen{"/other", "", "/other", ""}},
		{"matches escaped path", `^/a%2Fb/(.*)`, "/c/$1", "/a%2Fb/d", seen{"/c/d", "/c/d", "/c/d", "/a%2Fb/d"}},
		{"replacement introduces escape", `^/(.*)`, "/x%2F$1", "/y", seen{"/x/y", "/x%2Fy", "/x%2Fy", "/y"}},
		{"every match replaced", `o`, "0", "/foo/boo", seen{"/f00/b00", "/f00/b00", "/f00/b00", "/foo/boo"}},
		{"relative result gets slash", `^/(.*)`, "$1", "/z", seen{"/z", "/z", "/z", "/z"}},
		// A capture must not put a dot segment in the new path.
		{"dot-dot from a capture is cleaned", `^/foo(.*)`, "/bar/$1", "/foo../admin?q", seen{"/admin", "", "/admin?q", "/foo../admin"}},
		{"dot-dot alone from a capture", `^/foo(.*)`, "/bar/$1", "/foo..", seen{"/", "", "/", "/foo.."}},
		{"dot-dot with parameters from a capture", `^/foo(.*)`, "/bar/$1", "/foo..;/admin", seen{"/admin", "", "/admin", "/foo..;/admin"}},
		{"encoded dot-dot from a capture", `^/foo(.*)`, "/bar/$1", "/foo%2e%2e/admin", seen{"/admin", "", "/admin", "/foo%2e%2e/admin"}},
		{"dot segment already there is kept", `^/foo/(.*)`, "/bar/$1", "/foo/../x", seen{"/bar/../x", "/bar/../x", "/bar/../x", "/foo/../x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := mwtest.Forward(t, func(next http.Handler) (http.Handler, error) {
				return New(middlewares.Env{}, dynamic.ReplacePathRegex{Regex: tt.regex, Replacement: tt.repl}, next)
			}, tt.reqPath)
			if got := (seen{g.Path, g.RawPath, g.RequestURI, g.Header.Get("X-Replaced-Path")}); got != tt.want {
				t.Errorf("upstream saw %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestReplacePathRegexInvalidResult(t *testing.T) {
	h, err := New(middlewares.Env{}, dynamic.ReplacePathRegex{Regex: `^/(.*)`, Replacement: "/%zz$1"}, http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		t.Error("next called with an invalid path")
	}))
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/x", nil))
	if rec.Code != http.StatusInternalServerError {
		t.Fatalf("status %d, want 500", rec.Code)
	}
}

func TestReplacePathRegexConfigErrors(t *testing.T) {
	for _, cfg := range []dynamic.ReplacePathRegex{{Replacement: "/x"}, {Regex: "/x"}, {Regex: "(", Replacement: "/x"}} {
		if _, err := New(middlewares.Env{}, cfg, http.NotFoundHandler()); err == nil {
			t.Errorf("config %+v accepted", cfg)
		}
	}
}

// FuzzReplacePathRegex checks that whatever path arrives, the next handler
// sees a rooted path whose RawPath decodes to Path, or the request is
// refused with 500; and that no dot segment appears that the request path
// did not have.
func FuzzReplacePathRegex(f *testing.F) {
	for _, s := range []string{"/foo/bar", "/foo/a%2Fb", "/foo/%zz", "/foo/", "/x", "/foo../x", "/foo%2e;p"} {
		f.Add(s)
	}
	var got *http.Request
	next := http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { got = r })
	h, err := New(middlewares.Env{}, dynamic.ReplacePathRegex{Regex: `^/foo/(.*)`, Replacement: "/bar/$1"}, next)
	if err != nil {
		f.Fatal(err)
	}
	// The capture may start inside a segment.
	inSegment, err := New(middlewares.Env{}, dynamic.ReplacePathRegex{Regex: `^/foo(.*)`, Replacement: "/bar/$1"}, next)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, target string) {
		u, err := url.ParseRequestURI(target)
		if err != nil || u.Host != "" || !strings.HasPrefix(u.Path, "/") {
			return
		}
		if !urlpath.HasDotSegment(u) {
			got = nil
			u2 := *u
			inSegment.ServeHTTP(httptest.NewRecorder(), &http.Request{URL: &u2, RequestURI: target, Header: http.Header{}})
			if got != nil && urlpath.HasDotSegment(got.URL) {
				t.Fatalf("%q: dot segment in %q", target, got.URL.EscapedPath())
			}
		}
		got = nil
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, &http.Request{URL: u, RequestURI: target, Header: http.Header{}})
		if got == nil {
			if rec.Code != http.StatusInternalServerError {
				t.Fatalf("next not called, status %d", rec.Code)
			}
			return
		}
		if !strings.HasPrefix(got.URL.Path, "/") {
			t.Fatalf("path %q", got.URL.Path)
		}
		if dec, err := url.PathUnescape(got.URL.EscapedPath()); err != nil || dec != got.URL.Path {
			t.Fatalf("escaped path %q does not encode Path %q", got.URL.EscapedPath(), got.URL.Path)
		}
	})
}
