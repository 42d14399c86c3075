package replacepath

import (
	"net/http"
	"testing"

	"github.com/guan-gateway/guan/config/dynamic"
	"github.com/guan-gateway/guan/middlewares"
	"github.com/guan-gateway/guan/middlewares/internal/mwtest"
)

type seen struct{ path, rawPath, requestURI, replaced string }

func TestReplacePath(t *testing.T) {
	tests := []struct {
		name    string
		path    string
		reqPath string
		want    seen
	}{
		{"replaces", "/foo", "/bar/baz", seen{"/foo", "/foo", "/foo", "/bar/baz"}},
		{"query kept", "/foo", "/bar?x=1", seen{"/foo", "/foo", "/foo?x=1", "/bar"}},
		{"original escaped form saved", "/foo", "/a%2Fb", seen{"/foo", "/foo", "/foo", "/a%2Fb"}},
		{"configured escape kept", "/a%2Fb", "/x", seen{"/a/b", "/a%2Fb", "/a%2Fb", "/x"}},
		{"relative path gets slash", "foo", "/x", seen{"/foo", "/foo", "/foo", "/x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := mwtest.Forward(t, func(next http.Handler) (http.Handler, error) {
				return New(middlewares.Env{}, dynamic.ReplacePath{Path: tt.path}, next)
			}, tt.reqPath)
			if got := (seen{g.Path, g.RawPath, g.RequestURI, g.Header.Get(ReplacedPathHeader)}); got != tt.want {
				t.Errorf("upstream saw %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestReplacePathConfigErrors(t *testing.T) {
	for _, p := range []string{"", "/a%zz"} {
		if _, err := New(middlewares.Env{}, dynamic.ReplacePath{Path: p}, http.NotFoundHandler()); err == nil {
			t.Errorf("path %q accepted", p)
		}
	}
}
