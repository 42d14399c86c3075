package addprefix

import (
	"net/http"
	"testing"

	"github.com/guan-gateway/guan/config/dynamic"
	"github.com/guan-gateway/guan/middlewares"
	"github.com/guan-gateway/guan/middlewares/internal/mwtest"
)

type seen struct{ path, rawPath, requestURI string }

func TestAddPrefix(t *testing.T) {
	tests := []struct {
		name    string
		prefix  string
		reqPath string
		want    seen
	}{
		{"plain", "/api", "/foo", seen{"/api/foo", "", "/api/foo"}},
		{"root", "/api", "/", seen{"/api/", "", "/api/"}},
		{"query kept", "/api", "/foo?a=1&b=2", seen{"/api/foo", "", "/api/foo?a=1&b=2"}},
		{"prefix without slash", "api", "/foo", seen{"/api/foo", "", "/api/foo"}},
		{"encoded slash kept", "/api", "/a%2Fb", seen{"/api/a/b", "/api/a%2Fb", "/api/a%2Fb"}},
		{"prefix needing escape", "/my api", "/a%2Fb", seen{"/my api/a/b", "/my%20api/a%2Fb", "/my%20api/a%2Fb"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := mwtest.Forward(t, func(next http.Handler) (http.Handler, error) {
				return New(middlewares.Env{}, dynamic.AddPrefix{Prefix: tt.prefix}, next)
			}, tt.reqPath)
			if got := (seen{g.Path, g.RawPath, g.RequestURI}); got != tt.want {
				t.Errorf("upstream saw %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestAddPrefixConfigError(t *testing.T) {
	if _, err := New(middlewares.Env{}, dynamic.AddPrefix{}, http.NotFoundHandler()); err == nil {
		t.Fatal("empty prefix accepted")
	}
	// A dot segment in the prefix would be resolved by the upstream.
	for _, p := range []string{"/api/..", "/..", "..", "/api/./v1", "/a/..;x/b"} {
		if _, err := New(middlewares.Env{}, dynamic.AddPrefix{Prefix: p}, http.NotFoundHandler()); err == nil {
			t.Errorf("prefix %q accepted", p)
		}
	}
	// The prefix is literal: "%2e" is sent as "%252e", not a dot.
	for _, p := range []string{"/api/", "/v1..", "/.well-known", "/...", "/%2e%2e"} {
		if _, err := New(middlewares.Env{}, dynamic.AddPrefix{Prefix: p}, http.NotFoundHandler()); err != nil {
			t.Errorf("prefix %q: %v", p, err)
		}
	}
}
