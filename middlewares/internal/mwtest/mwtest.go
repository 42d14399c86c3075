// Package mwtest holds helpers for middleware tests: a middleware under test
// runs behind a real HTTP server on 127.0.0.1 and is driven by a real client.
// Helpers that take a testing.TB stop the test on failure, so call them from
// the test's own goroutine.
package mwtest

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/guan-gateway/guan/middlewares"
	"github.com/guan-gateway/guan/reqinfo"
)

// Server is a real HTTP server in front of a handler, closed when the test
// ends. Its methods take the testing.TB of the (sub)test they run in.
type Server struct {
	*httptest.Server
}

// Serve starts h on a loopback port.
func Serve(t testing.TB, h http.Handler) *Server {
	t.Helper()
	s := &Server{httptest.NewServer(h)}
	t.Cleanup(s.Close)
	return s
}

// Get requests target (a path with an optional query) and returns the
// response with its body read and closed.
func (s *Server) Get(t testing.TB, target string) (*http.Response, string) {
	t.Helper()
	return s.Do(t, s.NewRequest(t, http.MethodGet, target, nil))
}

// Post sends body to target as text/plain, like Get.
func (s *Server) Post(t testing.TB, target string, body io.Reader) (*http.Response, string) {
	t.Helper()
	req := s.NewRequest(t, http.MethodPost, target, body)
	req.Header.Set("Content-Type", "text/plain")
	return s.Do(t, req)
}

// NewRequest returns a request for target on s, for callers that set
// headers before Do.
func (s *Server) NewRequest(t testing.TB, method, target string, body io.Reader) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, s.URL+target, body)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// Do sends req and returns the response with its body read and closed.
func (s *Server) Do(t testing.TB, req *http.Request) (*http.Response, string) {
	t.Helper()
	resp, body, err := s.Send(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

// Send is Do for any goroutine: it returns the error instead.
func (s *Server) Send(req *http.Request) (*http.Response, string, error) {
	resp, err := s.Client().Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, "", fmt.Errorf("reading the response body: %w", err)
	}
	return resp, string(b), nil
}

// Seen is what the handler after a middleware received.
type Seen struct {
	Path, RawPath, RequestURI string
	Header                    http.Header
}

// Forward builds a middleware around a handler that records its request,
// serves it on a real server, sends GET target through it and returns what
// that handler saw. The test fails if the request never got through.
func Forward(t testing.TB, build middlewares.Constructor, target string) Seen {
	t.Helper()
	got := make(chan Seen, 1)
	h, err := build(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		got <- Seen{r.URL.Path, r.URL.RawPath, r.RequestURI, r.Header.Clone()}
	}))
	if err != nil {
		t.Fatal(err)
	}
	resp, body := Serve(t, h).Get(t, target)
	select {
	case s := <-got:
		return s
	case <-time.After(10 * time.Second):
		t.Fatalf("request not passed on: the middleware answered %d %q", resp.StatusCode, body)
		return Seen{}
	}
}

// WithInfo attaches a reqinfo.Info to each request the way the entrypoint
// does, and sends it to got once h is done with the request.
func WithInfo(h http.Handler, got chan<- *reqinfo.Info) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		info := &reqinfo.Info{}
		h.ServeHTTP(w, r.WithContext(reqinfo.With(r.Context(), info)))
		got <- info
	})
}

// ClosedAddr returns a loopback address nobody listens on (yet).
func ClosedAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// BadConfig is a configuration a constructor must refuse, with a piece of
// the error message that tells the user what to fix. Make one with Bad.
type BadConfig[C any] struct {
	name string
	cfg  C
	want string
}

// Bad describes a case for RefusesConfigs.
func Bad[C any](name string, cfg C, want string) BadConfig[C] {
	return BadConfig[C]{name, cfg, want}
}

// RefusesConfigs checks, in a subtest per case, that build fails with an
// error that mentions the case's want.
func RefusesConfigs[C any](t *testing.T, build func(C) error, cases ...BadConfig[C]) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := build(c.cfg)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error = %v, want mention of %q", err, c.want)
			}
		})
	}
}
