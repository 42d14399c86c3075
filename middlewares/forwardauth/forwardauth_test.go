package forwardauth

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/guan-gateway/guan/config/dynamic"
	"github.com/guan-gateway/guan/middlewares"
	"github.com/guan-gateway/guan/reqinfo"
)

// seen is what the authentication server or the service received.
type seen struct {
	mu     sync.Mutex
	method string
	header http.Header
	body   string
	hits   int
}

func (s *seen) record(r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.method, s.header, s.body = r.Method, r.Header.Clone(), string(b)
	s.hits++
}

// authServer answers with handler and records each call.
func authServer(t *testing.T, handler func(w http.ResponseWriter, r *http.Request)) (string, *seen) {
	t.Helper()
	s := &seen{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.record(r)
		handler(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, s
}

// chain returns the middleware in front of a service that records what
// reaches it and sets a cookie of its own.
func chain(t *testing.T, cfg dynamic.ForwardAuth, env middlewares.Env) (http.Handler, *seen) {
	t.Helper()
	svc := &seen{}
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		svc.record(r)
		http.SetCookie(w, &http.Cookie{Name: "session", Value: "from-service"})
		http.SetCookie(w, &http.Cookie{Name: "theme", Value: "dark"})
		io.WriteString(w, "service")
	})
	if env.Name == "" {
		env.Name = "auth@file"
	}
	h, err := New(env, cfg, next)
	if err != nil {
		t.Fatal(err)
	}
	return h, svc
}

func do(h http.Handler, method, target, body string, hdr map[string]string) *httptest.ResponseRecorder {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	r := httptest.NewRequest(method, target, rd)
	r.RemoteAddr = "203.0.113.7:4242"
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestAllowedRequestGetsAuthHeaders(t *testing.T) {
	addr, auth := authServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Auth-User", "alice")
		w.Header().Set("X-Auth-Role", "admin")
		w.Header().Set("X-Other", "not copied")
	})
	h, svc := chain(t, dynamic.ForwardAuth{Address: addr + "/verify?realm=shop", AuthResponseHeaders: []string{"X-Auth-User", "x-auth-role"}}, middlewares.Env{})
	w := do(h, http.MethodPost, "http://shop.example/cart/items?id=3", "payload", map[string]string{"X-Auth-User": "mallory", "Authorization": "Bearer t0k"})
	if w.Code != 200 || w.Body.String() != "service" {
		t.Fatalf("allowed request: %d %q", w.Code, w.Body.String())
	}
	// What the authentication server was told.
	if auth.method != http.MethodGet || auth.body != "" {
		t.Fatalf("auth server got %s with body %q; want GET without the body", auth.method, auth.body)
	}
	want := map[string]string{
		"X-Forwarded-Method": "POST", "X-Forwarded-Uri": "/cart/items?id=3", "X-Forwarded-Host": "shop.example",
		"X-Forwarded-Proto": "http", "X-Forwarded-For": "203.0.113.7", "Authorization": "Bearer t0k",
	}
	for k, v := range want {
		if got := auth.header.Get(k); got != v {
			t.Errorf("auth server saw %s %q, want %q", k, got, v)
		}
	}
	// What the service got: the server's identity, not the client's claim.
	if got := svc.header.Get("X-Auth-User"); got != "alice" {
		t.Fatalf("service saw X-Auth-User %q; the auth server's value must replace the client's", got)
	}
	if svc.header.Get("X-Auth-Role") != "admin" || svc.header.Get("X-Other") != "" {
		t.Fatalf("service headers: %v", svc.header)
	}
	if svc.body != "payload" || svc.method != http.MethodPost {
		t.Fatalf("service got %s %q", svc.method, svc.body)
	}
}

// A header listed in authResponseHeaders that the server did not send is
// removed: the client cannot supply it instead.
func TestAbsentAuthHeaderIsRemoved(t *testing.T) {
	addr, _ := authServer(t, func(w http.ResponseWriter, r *http.Request) {})
	h, svc := chain(t, dynamic.ForwardAuth{Address: addr, AuthResponseHeaders: []string{"X-Auth-User"}}, middlewares.Env{})
	do(h, http.MethodGet, "http://x/", "", map[string]string{"X-Auth-User": "mallory"})
	if v := svc.header.Get("X-Auth-User"); v != "" {
		t.Fatalf("client-sent X-Auth-User %q reached the service", v)
	}
}

func TestResponseHeadersRegex(t *testing.T) {
	addr, _ := authServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Claim-Sub", "42")
		w.Header().Set("X-Claim-Tenant", "acme")
	})
	h, svc := chain(t, dynamic.ForwardAuth{Address: addr, AuthResponseHeadersRegex: "^X-Claim-"}, middlewares.Env{})
	do(h, http.MethodGet, "http://x/", "", map[string]string{"X-Claim-Admin": "true", "X-Keep": "1"})
	if svc.header.Get("X-Claim-Sub") != "42" || svc.header.Get("X-Claim-Tenant") != "acme" {
		t.Fatalf("matching auth headers not copied: %v", svc.header)
	}
	if svc.header.Get("X-Claim-Admin") != "" || svc.header.Get("X-Keep") != "1" {
		t.Fatalf("client's matching header must be dropped, others kept: %v", svc.header)
	}
}

func TestDeniedRequestGetsTheAuthAnswer(t *testing.T) {
	addr, _ := authServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="shop"`)
		w.Header().Set("Location", "/login?next=cart")
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, "log in first")
	})
	var results []string
	h, svc := chain(t, dynamic.ForwardAuth{Address: addr + "/auth/check"}, middlewares.Env{Decision: func(r string) { results = append(results, r) }})
	ctx, info := reqinfo.NewContext(context.Background())
	r := httptest.NewRequest(http.MethodGet, "http://shop.example/cart", nil).WithContext(ctx)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != 401 || w.Body.String() != "log in first" || w.Header().Get("WWW-Authenticate") != `Bearer realm="shop"` {
		t.Fatalf("denied: %d %q %v", w.Code, w.Body.String(), w.Header())
	}
	if loc := w.Header().Get("Location"); loc != addr+"/login?next=cart" {
		t.Fatalf("Location %q; a relative Location is made absolute against the auth server", loc)
	}
	if svc.hits != 0 {
		t.Fatal("a denied request reached the service")
	}
	if len(results) != 1 || results[0] != resultDenied || info.Decision != "auth@file:denied" {
		t.Fatalf("decision %v, request info %q", results, info.Decision)
	}

	h, _ = chain(t, dynamic.ForwardAuth{Address: addr, PreserveLocationHeader: true}, middlewares.Env{})
	if loc := do(h, http.MethodGet, "http://x/", "", nil).Header().Get("Location"); loc != "/login?next=cart" {
		t.Fatalf("preserveLocationHeader: Location %q", loc)
	}
}

func TestUnreachableAuthServer(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	addr := srv.URL
	srv.Close()
	h, svc := chain(t, dynamic.ForwardAuth{Address: addr}, middlewares.Env{})
	if w := do(h, http.MethodGet, "http://x/", "", nil); w.Code != http.StatusInternalServerError || svc.hits != 0 {
		t.Fatalf("auth server down: %d, service hits %d; want 500 and nothing forwarded", w.Code, svc.hits)
	}
}

func TestForwardBody(t *testing.T) {
	addr, auth := authServer(t, func(w http.ResponseWriter, r *http.Request) {})
	limit := int64(10)
	h, svc := chain(t, dynamic.ForwardAuth{Address: addr, ForwardBody: true, MaxBodySize: &limit, PreserveRequestMethod: true}, middlewares.Env{})
	if w := do(h, http.MethodPut, "http://x/doc", "0123456789", nil); w.Code != 200 {
		t.Fatalf("body within maxBodySize: %d", w.Code)
	}
	if auth.method != http.MethodPut || auth.body != "0123456789" || svc.body != "0123456789" {
		t.Fatalf("auth server got %s %q, service %q; both need the whole body", auth.method, auth.body, svc.body)
	}
	if w := do(h, http.MethodPut, "http://x/doc", "0123456789A", nil); w.Code != http.StatusUnauthorized {
		t.Fatalf("body over maxBodySize: %d, want 401", w.Code)
	}
}

func TestAuthRequestHeadersFilter(t *testing.T) {
	addr, auth := authServer(t, func(w http.ResponseWriter, r *http.Request) {})
	h, _ := chain(t, dynamic.ForwardAuth{Address: addr, AuthRequestHeaders: []string{"authorization"}}, middlewares.Env{})
	do(h, http.MethodGet, "http://x/", "", map[string]string{"Authorization": "Basic eA==", "Cookie": "secret=1"})
	if auth.header.Get("Authorization") != "Basic eA==" || auth.header.Get("Cookie") != "" {
		t.Fatalf("auth server headers %v; only Authorization (and X-Forwarded-*) may pass", auth.header)
	}
}

func TestTrustForwardHeader(t *testing.T) {
	addr, auth := authServer(t, func(w http.ResponseWriter, r *http.Request) {})
	hdr := map[string]string{"X-Forwarded-Host": "claimed.example", "X-Forwarded-For": "198.51.100.1"}
	h, _ := chain(t, dynamic.ForwardAuth{Address: addr}, middlewares.Env{})
	do(h, http.MethodGet, "http://real.example/", "", hdr)
	if auth.header.Get("X-Forwarded-Host") != "real.example" || auth.header.Get("X-Forwarded-For") != "203.0.113.7" {
		t.Fatalf("untrusted: auth server saw %v", auth.header)
	}
	h, _ = chain(t, dynamic.ForwardAuth{Address: addr, TrustForwardHeader: true}, middlewares.Env{})
	do(h, http.MethodGet, "http://real.example/", "", hdr)
	if auth.header.Get("X-Forwarded-Host") != "claimed.example" || auth.header.Get("X-Forwarded-For") != "198.51.100.1, 203.0.113.7" {
		t.Fatalf("trusted: auth server saw %v", auth.header)
	}
}

func TestAuthCookiesAndUsername(t *testing.T) {
	addr, _ := authServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-User", "bob")
		http.SetCookie(w, &http.Cookie{Name: "session", Value: "from-auth"})
		http.SetCookie(w, &http.Cookie{Name: "tracking", Value: "no"})
	})
	h, _ := chain(t, dynamic.ForwardAuth{Address: addr, AddAuthCookiesToResponse: []string{"session"}, HeaderField: "x-user"}, middlewares.Env{})
	ctx, info := reqinfo.NewContext(context.Background())
	r := httptest.NewRequest(http.MethodGet, "http://x/", nil).WithContext(ctx)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	got := map[string]string{}
	for _, c := range w.Result().Cookies() {
		got[c.Name] = c.Value
	}
	if got["session"] != "from-auth" || got["theme"] != "dark" || got["tracking"] != "" || len(got) != 2 {
		t.Fatalf("cookies %v; want the auth server's session replacing the service's, theme kept, tracking not added", got)
	}
	if info.ClientUsername != "bob" {
		t.Fatalf("ClientUsername %q from headerField", info.ClientUsername)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		cfg  dynamic.ForwardAuth
		want string
	}{
		{dynamic.ForwardAuth{}, "address is empty"},
		{dynamic.ForwardAuth{Address: "auth.local:9000"}, "not an http:// or https:// URL"},
		{dynamic.ForwardAuth{Address: "http://a", AuthResponseHeadersRegex: "("}, "authResponseHeadersRegex"},
		{dynamic.ForwardAuth{Address: "https://a", TLS: &dynamic.ForwardAuthTLS{CA: "/nonexistent/ca.pem"}}, "tls: ca"},
	} {
		if _, err := New(middlewares.Env{}, tc.cfg, http.NotFoundHandler()); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want %q", tc.cfg, err, tc.want)
		}
	}
}
