package opa

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	jwxt "github.com/lestrrat-go/jwx/v3/jwt"
	"github.com/open-policy-agent/opa/v1/tester"

	"github.com/guan-gateway/guan/config/dynamic"
	"github.com/guan-gateway/guan/middlewares"
	"github.com/guan-gateway/guan/middlewares/internal/mwtest"
	jwtmw "github.com/guan-gateway/guan/middlewares/jwt"
	"github.com/guan-gateway/guan/reqinfo"
)

// The policy's own tests, run with OPA's test runner as `opa test` would.
func TestPolicyWithOPATestRunner(t *testing.T) {
	results, err := tester.Run(context.Background(), "testdata/authz", "testdata/data/users.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(results) < 7 {
		t.Fatalf("%d policy tests ran, want 7", len(results))
	}
	for _, r := range results {
		if !r.Pass() {
			t.Errorf("policy test %s", r)
		}
	}
}

var svc = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Seen-Tenant", r.Header.Get("X-Tenant"))
	w.WriteHeader(http.StatusOK)
})

func build(t testing.TB, cfg dynamic.OPA, env middlewares.Env) http.Handler {
	t.Helper()
	if env.Name == "" {
		env.Name = "policy@file"
	}
	h, err := New(env, cfg, svc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.(*middleware).policy.Close() })
	return h
}

func send(h http.Handler, method, target, remote string, hdr map[string]string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, target, nil)
	r.RemoteAddr = remote
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	ctx, info := reqinfo.NewContext(r.Context())
	info.Router = "api@file"
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r.WithContext(ctx))
	return w
}

func TestBooleanPolicy(t *testing.T) {
	h := build(t, dynamic.OPA{Policy: "testdata/authz", Data: []string{"testdata/data/users.json"}}, middlewares.Env{})
	for _, tc := range []struct {
		method, target, remote string
		hdr                    map[string]string
		want                   int
	}{
		{"GET", "/public/a.css", "198.51.100.1:1", nil, 200},
		{"POST", "/public/a.css", "198.51.100.1:1", nil, 403},
		{"GET", "/healthz", "10.1.2.3:1", nil, 200},
		{"GET", "/healthz", "198.51.100.1:1", nil, 403},
		{"GET", "/orders?tenant=acme", "198.51.100.1:1", map[string]string{"X-User": "alice"}, 200},
		{"GET", "/orders?tenant=globex", "198.51.100.1:1", map[string]string{"X-User": "alice"}, 403},
		{"DELETE", "/orders/1", "[::ffff:192.0.2.7]:1", map[string]string{"X-User": "root"}, 403},
		{"DELETE", "/orders/1", "198.51.100.1:1", map[string]string{"X-User": "root"}, 200},
	} {
		if w := send(h, tc.method, tc.target, tc.remote, tc.hdr); w.Code != tc.want {
			t.Errorf("%s %s from %s %v: %d, want %d", tc.method, tc.target, tc.remote, tc.hdr, w.Code, tc.want)
		}
	}
}

func TestDecisionObject(t *testing.T) {
	results := map[string]int{}
	h := build(t, dynamic.OPA{Policy: "testdata/authz", Query: "data.guan.authz.decision", Data: []string{"testdata/data/users.json"}},
		middlewares.Env{Decision: func(r string) { results[r]++ }})
	w := send(h, "GET", "/orders", "198.51.100.1:1", nil)
	if w.Code != 401 || w.Header().Get("WWW-Authenticate") != "Bearer" || w.Body.String() != "who are you?" {
		t.Fatalf("no user: %d %v %q", w.Code, w.Header(), w.Body.String())
	}
	w = send(h, "GET", "/orders?tenant=globex", "198.51.100.1:1", map[string]string{"X-User": "alice"})
	if w.Code != 403 || w.Body.String() != "alice may not GET /orders" {
		t.Fatalf("wrong tenant: %d %q", w.Code, w.Body.String())
	}
	w = send(h, "GET", "/orders?tenant=acme", "198.51.100.1:1", map[string]string{"X-User": "alice", "X-Tenant": "spoofed"})
	if w.Code != 200 || w.Header().Get("X-Seen-Tenant") != "acme" {
		t.Fatalf("allowed: %d, service saw X-Tenant %q (the policy's value must replace the client's)", w.Code, w.Header().Get("X-Seen-Tenant"))
	}
	if results[resultDenied] != 2 || results[resultAllowed] != 1 {
		t.Fatalf("decisions %v", results)
	}
}

// Claims of a token accepted by a jwt middleware earlier in the chain
// are input.jwt.
func TestJWTClaimsInInput(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "p.rego"), []byte(`package guan.authz
allow if input.jwt.role == "auditor"
`), 0o644)
	pol, err := New(middlewares.Env{Name: "p@file"}, dynamic.OPA{Policy: filepath.Join(dir, "p.rego")}, svc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pol.(*middleware).policy.Close() })
	secret := "opa-test-secret-opa-test-secret!"
	h, err := jwtmw.New(middlewares.Env{Name: "j@file"}, dynamic.JWT{Secret: secret}, pol)
	if err != nil {
		t.Fatal(err)
	}
	for role, want := range map[string]int{"auditor": 200, "intern": 403} {
		w := send(h, "GET", "/x", "198.51.100.1:1", map[string]string{"Authorization": "Bearer " + hs256(t, secret, role)})
		if w.Code != want {
			t.Errorf("role %s: %d, want %d", role, w.Code, want)
		}
	}
}

// Editing the policy while requests flow: new decisions within the reload
// delay, no request fails; a broken edit is refused and the last good
// policy keeps deciding.
func TestHotReload(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "p.rego")
	write := func(s string) {
		tmp := path + ".tmp"
		if err := os.WriteFile(tmp, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, path); err != nil { // as editors save
			t.Fatal(err)
		}
	}
	write("package guan.authz\nallow if input.method == \"GET\"\n")
	var logs mwtest.Logs
	h := build(t, dynamic.OPA{Policy: dir}, middlewares.Env{Logger: logs.Logger()})

	var failed, done atomic.Bool
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // traffic during the edits
		defer wg.Done()
		for !done.Load() {
			if c := send(h, "GET", "/", "198.51.100.1:1", nil).Code; c != 200 && c != 403 {
				failed.Store(true)
			}
		}
	}()
	defer func() { done.Store(true); wg.Wait() }()

	if send(h, "POST", "/", "198.51.100.1:1", nil).Code != 403 {
		t.Fatal("POST allowed before the edit")
	}
	write("package guan.authz\nallow if input.method in {\"GET\", \"POST\"}\n")
	waitFor(t, func() bool { return send(h, "POST", "/", "198.51.100.1:1", nil).Code == 200 })

	write("package guan.authz\nallow if {\n  input.method ==\n}\n") // does not compile
	waitFor(t, func() bool { return strings.Contains(logs.String(), "policy change refused") })
	if !strings.Contains(logs.String(), "p.rego:") {
		t.Fatalf("the refusal does not name file:line:\n%s", logs.String())
	}
	if send(h, "POST", "/", "198.51.100.1:1", nil).Code != 200 {
		t.Fatal("after a broken edit the last good policy must keep deciding")
	}
	if failed.Load() {
		t.Fatal("a request failed during the policy edits")
	}
}

func waitFor(t *testing.T, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatal("not within 5 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestConfigErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.rego")
	os.WriteFile(bad, []byte("package guan.authz\n\nallow if {\n  input.method ==\n}\n"), 0o644)
	for _, tc := range []struct {
		cfg  dynamic.OPA
		want string
	}{
		{dynamic.OPA{}, "policy is empty"},
		{dynamic.OPA{Policy: "/nonexistent/p.rego"}, "no such file"},
		{dynamic.OPA{Policy: "testdata/data/users.json"}, "not a .rego file"},
		{dynamic.OPA{Policy: bad}, "bad.rego:5"},
		{dynamic.OPA{Policy: "testdata/authz", Query: "data.guan.(("}, "query"},
		{dynamic.OPA{Policy: "testdata/authz", Data: []string{"/nonexistent.json"}}, "data:"},
	} {
		_, err := New(middlewares.Env{}, tc.cfg, svc)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want %q", tc.cfg, err, tc.want)
		}
	}
}

func hs256(t *testing.T, secret, role string) string {
	t.Helper()
	tok := jwxt.New()
	tok.Set("sub", "someone")
	tok.Set("role", role)
	tok.Set("exp", time.Now().Add(time.Hour))
	b, err := jwxt.Sign(tok, jwxt.WithKey(jwa.HS256(), []byte(secret)))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
