package addprefix

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/guan-gateway/guan/config/dynamic"
	"github.com/guan-gateway/guan/middlewares"
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
			got := make(chan seen, 1)
			next := http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
				got <- seen{r.URL.Path, r.URL.RawPath, r.RequestURI}
			})
			h, err := New(middlewares.Env{}, dynamic.AddPrefix{Prefix: tt.prefix}, next)
			if err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer(h)
			defer srv.Close()
			resp, err := srv.Client().Get(srv.URL + tt.reqPath)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if g := <-got; g != tt.want {
				t.Errorf("upstream saw %+v, want %+v", g, tt.want)
			}
		})
	}
}

func TestAddPrefixConfigError(t *testing.T) {
	if _, err := New(middlewares.Env{}, dynamic.AddPrefix{}, http.NotFoundHandler()); err == nil {
		t.Fatal("empty prefix accepted")
	}
}
