package errorpage

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/guan-gateway/guan/config/dynamic"
	"github.com/guan-gateway/guan/middlewares"
	"github.com/guan-gateway/guan/middlewares/internal/mwtest"
)

// pageServer is the error service: it describes the request it got.
func pageServer(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("X-Page", "yes")
		fmt.Fprintf(w, "<p>%s %s host=%s ims=%q</p>", r.Method, r.URL.RequestURI(), r.Host, r.Header.Get("If-None-Match"))
	}))
	t.Cleanup(srv.Close)
	return srv
}

func proxyFor(srv *httptest.Server) http.Handler {
	u, _ := url.Parse(srv.URL)
	return &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) { pr.SetURL(u); pr.Out.Host = pr.In.Host }}
}

func envWith(services map[string]http.Handler) middlewares.Env {
	return middlewares.Env{Name: "err@file", Service: func(name string) (http.Handler, error) {
		if h, ok := services[name]; ok {
			return h, nil
		}
		return nil, fmt.Errorf("service %q does not exist", name)
	}}
}

// backend answers with the status given in ?code= and a body.
var backend = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	code := 200
	fmt.Sscan(r.URL.Query().Get("code"), &code)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Backend", "yes")
	w.WriteHeader(code)
	io.WriteString(w, `{"from":"backend"}`)
})

func TestErrorPages(t *testing.T) {
	pages := pageServer(t)
	env := envWith(map[string]http.Handler{"pages@file": proxyFor(pages)})
	cfg := dynamic.ErrorPage{
		Status:         []string{"500-599", "404", "418,429"},
		StatusRewrites: map[string]int{"502-504": 500, "418": 404},
		Service:        "pages@file",
		Query:          "/{status}.html?orig={originalStatus}&u={url}",
	}
	h, err := New(env, cfg, backend)
	if err != nil {
		t.Fatal(err)
	}
	front := mwtest.Serve(t, h)
	tests := []struct {
		name     string
		method   string
		path     string
		header   map[string]string
		wantCode int
		wantBody string
		wantPage bool
	}{
		{name: "200 passes", path: "/a?code=200", wantCode: 200, wantBody: `{"from":"backend"}`},
		{name: "401 passes", path: "/a?code=401", wantCode: 401, wantBody: `{"from":"backend"}`},
		{name: "500 replaced", path: "/a?code=500", wantCode: 500, wantPage: true,
			wantBody: `<p>GET /500.html?orig=500&u=%2Fa%3Fcode%3D500 host=front.example ims=""</p>`},
		{name: "404 replaced", path: "/b?code=404", wantCode: 404, wantPage: true,
			wantBody: `<p>GET /404.html?orig=404&u=%2Fb%3Fcode%3D404 host=front.example ims=""</p>`},
		{name: "comma list", path: "/c?code=429", wantCode: 429, wantPage: true,
			wantBody: `<p>GET /429.html?orig=429&u=%2Fc%3Fcode%3D429 host=front.example ims=""</p>`},
		{name: "rewrite range", path: "/d?code=503", wantCode: 500, wantPage: true,
			wantBody: `<p>GET /500.html?orig=503&u=%2Fd%3Fcode%3D503 host=front.example ims=""</p>`},
		{name: "rewrite single", path: "/e?code=418", wantCode: 404, wantPage: true,
			wantBody: `<p>GET /404.html?orig=418&u=%2Fe%3Fcode%3D418 host=front.example ims=""</p>`},
		{name: "POST becomes GET, conditional headers dropped", method: http.MethodPost, path: "/f?code=500",
			header: map[string]string{"If-None-Match": `"abc"`}, wantCode: 500, wantPage: true,
			wantBody: `<p>GET /500.html?orig=500&u=%2Ff%3Fcode%3D500 host=front.example ims=""</p>`},
		{name: "HEAD keeps status", method: http.MethodHead, path: "/g?code=500", wantCode: 500, wantPage: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			method := tt.method
			if method == "" {
				method = http.MethodGet
			}
			req := front.NewRequest(t, method, tt.path, strings.NewReader("req body"))
			req.Host = "front.example"
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			resp, body := front.Do(t, req)
			if resp.StatusCode != tt.wantCode {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.wantCode)
			}
			if tt.wantBody != "" && body != tt.wantBody {
				t.Errorf("body %q\nwant %q", body, tt.wantBody)
			}
			if tt.wantPage {
				if ct := resp.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
					t.Errorf("Content-Type %q, want the page's", ct)
				}
				if resp.Header.Get("X-Backend") != "" {
					t.Error("backend headers leaked into the error page")
				}
				if resp.Header.Get("X-Page") != "yes" {
					t.Error("page headers missing")
				}
			} else if resp.Header.Get("Content-Type") != "application/json" {
				t.Errorf("passed-through response lost its Content-Type")
			}
		})
	}
}

// TestStreamsNonErrors proves a normal response is not buffered: the client
// reads the first chunk while the backend is still writing.
func TestStreamsNonErrors(t *testing.T) {
	release := make(chan struct{})
	stream := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(200)
		io.WriteString(w, "first\n")
		w.(http.Flusher).Flush()
		<-release
		io.WriteString(w, "second\n")
	})
	h, err := New(envWith(map[string]http.Handler{"p": http.NotFoundHandler()}), dynamic.ErrorPage{Status: []string{"500"}, Service: "p"}, stream)
	if err != nil {
		t.Fatal(err)
	}
	front := mwtest.Serve(t, h)
	defer close(release)
	resp, err := http.Get(front.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	line := make(chan string, 1)
	go func() {
		l, _ := bufio.NewReader(resp.Body).ReadString('\n')
		line <- l
	}()
	select {
	case l := <-line:
		if l != "first\n" {
			t.Fatalf("first line %q", l)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("first chunk not delivered before the response ended: response is buffered")
	}
}

func TestHijackThrough(t *testing.T) {
	up := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		defer conn.Close()
		brw.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 8\r\nConnection: close\r\n\r\nhijacked")
		brw.Flush()
	})
	h, err := New(envWith(map[string]http.Handler{"p": http.NotFoundHandler()}), dynamic.ErrorPage{Status: []string{"500"}, Service: "p"}, up)
	if err != nil {
		t.Fatal(err)
	}
	front := mwtest.Serve(t, h)
	if _, b := front.Get(t, "/"); b != "hijacked" {
		t.Fatalf("body %q", b)
	}
}

func TestEmptyPageKeepsStatus(t *testing.T) {
	silent := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	h, err := New(envWith(map[string]http.Handler{"p": silent}), dynamic.ErrorPage{Status: []string{"500-599"}, Service: "p"}, backend)
	if err != nil {
		t.Fatal(err)
	}
	front := mwtest.Serve(t, h)
	if resp, _ := front.Get(t, "/?code=503"); resp.StatusCode != 503 {
		t.Fatalf("status %d, want 503", resp.StatusCode)
	}
}

func TestConcurrent(t *testing.T) {
	pages := pageServer(t)
	h, err := New(envWith(map[string]http.Handler{"p": proxyFor(pages)}), dynamic.ErrorPage{Status: []string{"500-599"}, Service: "p", Query: "/{status}"}, backend)
	if err != nil {
		t.Fatal(err)
	}
	front := mwtest.Serve(t, h)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 10 {
				code := 200
				if (i+j)%2 == 0 {
					code = 502
				}
				req, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("%s/?code=%d", front.URL, code), nil)
				resp, b, err := front.Send(req)
				if err != nil {
					t.Error(err)
					return
				}
				isPage := strings.HasPrefix(string(b), "<p>GET /502")
				if resp.StatusCode != code || isPage != (code == 502) {
					t.Errorf("code %d: got %d %q", code, resp.StatusCode, b)
				}
			}
		})
	}
	wg.Wait()
}

func TestNewErrors(t *testing.T) {
	env := envWith(map[string]http.Handler{"p": http.NotFoundHandler()})
	build := func(cfg dynamic.ErrorPage) error {
		_, err := New(env, cfg, backend)
		return err
	}
	mwtest.RefusesConfigs(t, build,
		mwtest.Bad("no status", dynamic.ErrorPage{Service: "p"}, "status is empty"),
		mwtest.Bad("bad status", dynamic.ErrorPage{Status: []string{"5xx"}, Service: "p"}, "range"),
		mwtest.Bad("reversed range", dynamic.ErrorPage{Status: []string{"599-500"}, Service: "p"}, "reversed"),
		mwtest.Bad("out of range", dynamic.ErrorPage{Status: []string{"600"}, Service: "p"}, "100-599"),
		mwtest.Bad("bad rewrite key", dynamic.ErrorPage{Status: []string{"500"}, Service: "p", StatusRewrites: map[string]int{"x": 500}}, "statusRewrites"),
		mwtest.Bad("bad rewrite value", dynamic.ErrorPage{Status: []string{"500"}, Service: "p", StatusRewrites: map[string]int{"500": 1000}}, "statusRewrites"),
		mwtest.Bad("no service", dynamic.ErrorPage{Status: []string{"500"}}, "service is empty"),
		mwtest.Bad("unknown service", dynamic.ErrorPage{Status: []string{"500"}, Service: "nope"}, `"nope"`),
		mwtest.Bad("bad header name", dynamic.ErrorPage{Status: []string{"500"}, Service: "p", ErrorRequestHeaders: []string{"Accept", "bad name"}}, "errorRequestHeaders[1]"),
	)
}

// errorRequestHeaders: unset, the page request carries every request
// header; a list keeps only those (case-insensitively); an empty list none.
func TestErrorRequestHeaders(t *testing.T) {
	var got http.Header
	pages := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Clone()
		io.WriteString(w, "page")
	})
	for _, tt := range []struct {
		name       string
		keep       []string
		want, gone []string
	}{
		{"unset forwards all", nil, []string{"Accept", "Authorization", "Cookie", "X-Trace"}, nil},
		{"listed only", []string{"accept", "X-TRACE"}, []string{"Accept", "X-Trace"}, []string{"Authorization", "Cookie"}},
		{"empty list forwards none", []string{}, nil, []string{"Accept", "Authorization", "Cookie", "X-Trace"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h, err := New(envWith(map[string]http.Handler{"p": pages}), dynamic.ErrorPage{Status: []string{"500-599"}, Service: "p", ErrorRequestHeaders: tt.keep}, backend)
			if err != nil {
				t.Fatal(err)
			}
			front := mwtest.Serve(t, h)
			req := front.NewRequest(t, http.MethodGet, "/?code=503", nil)
			req.Header.Set("Accept", "text/html")
			req.Header.Set("Authorization", "Bearer secret")
			req.Header.Set("Cookie", "session=1")
			req.Header.Set("X-Trace", "abc")
			resp, body := front.Do(t, req)
			if resp.StatusCode != 503 || body != "page" {
				t.Fatalf("got %d %q", resp.StatusCode, body)
			}
			for _, k := range tt.want {
				if got.Get(k) == "" {
					t.Errorf("page request lacks %s: %v", k, got)
				}
			}
			for _, k := range tt.gone {
				if _, ok := got[k]; ok {
					t.Errorf("page request carries %s: %v", k, got)
				}
			}
		})
	}
}
