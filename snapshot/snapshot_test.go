package snapshot

import (
	"context"
	cryptotls "crypto/tls"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/guan-gateway/guan/config/decode"
	"github.com/guan-gateway/guan/config/dynamic"
	"github.com/guan-gateway/guan/config/static"
	"github.com/guan-gateway/guan/entrypoints"
	"github.com/guan-gateway/guan/providers"
	"github.com/guan-gateway/guan/reqinfo"
	"github.com/guan-gateway/guan/statestore"
	"github.com/guan-gateway/guan/status"
)

// build decodes a TOML dynamic configuration as the file provider would and
// compiles it with entrypoints web, websecure and traefik.
func build(t *testing.T, toml string, eps map[string]*static.EntryPoint) *Snapshot {
	t.Helper()
	if eps == nil {
		eps = map[string]*static.EntryPoint{"web": {Address: ":80"}, "websecure": {Address: ":443"}, "traefik": {Address: ":8080"}}
	}
	return buildInput(t, toml, Input{
		EntryPoints:       eps,
		DefaultRuleSyntax: "v3",
		Internal:          map[string]http.Handler{"noop@internal": http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})},
	})
}

// buildInput compiles toml, the configuration of the file provider, with
// the rest of in; a fresh store build and a silent logger stand in for
// those in leaves unset.
func buildInput(t *testing.T, toml string, in Input) *Snapshot {
	t.Helper()
	var cfg dynamic.Configuration
	meta, err := decode.Bytes("dyn.toml", []byte(toml), &cfg)
	if err != nil {
		t.Fatal(err)
	}
	in.Providers = map[string]providers.Message{"file": {Provider: "file", Config: &cfg, Meta: meta}}
	if in.Store == nil {
		b := statestore.New().Begin()
		t.Cleanup(b.Abort)
		in.Store = b
	}
	if in.Logger == nil {
		in.Logger = slog.New(slog.DiscardHandler)
	}
	snap, err := Build(in)
	if err != nil {
		t.Fatal(err)
	}
	return snap
}

func serve(s *Snapshot, ep, url string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	s.ServeHTTP(ep, rec, httptest.NewRequest("GET", url, nil))
	return rec
}

func TestRoutesRequestsAndQualifiesNames(t *testing.T) {
	be := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("backend " + r.URL.Path + " " + r.Header.Get("X-Mw")))
	}))
	defer be.Close()
	s := build(t, `
[http.routers.r]
  rule = "Host(`+"`a.test`"+`)"
  service = "svc"
  middlewares = ["mw"]
[http.middlewares.mw.headers.customRequestHeaders]
  X-Mw = "yes"
[[http.services.svc.loadBalancer.servers]]
  url = "`+be.URL+`"
`, nil)
	if p := s.Problems(); len(p) > 0 {
		t.Fatal(p)
	}
	if rec := serve(s, "web", "http://a.test/x"); rec.Code != 200 || rec.Body.String() != "backend /x yes" {
		t.Fatalf("web: %d %q", rec.Code, rec.Body)
	}
	// Routers without entryPoints skip the internal traefik entrypoint.
	if rec := serve(s, "traefik", "http://a.test/x"); rec.Code != 404 {
		t.Fatalf("traefik entrypoint served a user router: %d", rec.Code)
	}
	r := s.Status().Routers["r@file"]
	if r == nil || r.Service != "svc@file" || r.Middlewares[0] != "mw@file" || r.Status != status.Enabled {
		t.Fatalf("router status: %+v", r)
	}
	if got := strings.Join(r.Using, ","); got != "web,websecure" {
		t.Fatalf("using %q", got)
	}
	if mw := s.Status().Middlewares["mw@file"]; mw.Type != "headers" || len(mw.UsedBy) != 1 {
		t.Fatalf("middleware status: %+v", mw)
	}
}

func TestObjectErrorsDisableOnlyTheObject(t *testing.T) {
	s := build(t, `
[http.routers.good]
  rule = "Path(`+"`/good`"+`)"
  service = "noop@internal"
[http.routers.badrule]
  rule = "Hots(`+"`x`"+`)"
  service = "noop@internal"
[http.routers.missing]
  rule = "Path(`+"`/m`"+`)"
  service = "nope"
[http.routers.cyclic]
  rule = "Path(`+"`/c`"+`)"
  service = "noop@internal"
  middlewares = ["a"]
[http.routers.someeps]
  rule = "Path(`+"`/e`"+`)"
  entryPoints = ["web", "ghost"]
  service = "noop@internal"
[http.middlewares.a.chain]
  middlewares = ["b"]
[http.middlewares.b.chain]
  middlewares = ["a"]
[tcp.routers.plain]
  rule = "HostSNI(`+"`db.test`"+`)"
  service = "db"
[[tcp.services.db.loadBalancer.servers]]
  address = "127.0.0.1:5432"
`, nil)
	st := s.Status()
	want := map[string]string{"good@file": status.Enabled, "badrule@file": status.Disabled, "missing@file": status.Disabled,
		"cyclic@file": status.Disabled, "someeps@file": status.Warning}
	for name, w := range want {
		if got := st.Routers[name].Status; got != w {
			t.Errorf("%s: status %s, want %s (errors %v)", name, got, w, st.Routers[name].Err)
		}
	}
	if st.TCPRouters["plain@file"].Status != status.Disabled {
		t.Error("a TCP router matching SNI without tls must be disabled")
	}
	if rec := serve(s, "web", "http://x/good"); rec.Code != 200 {
		t.Fatalf("good router not served: %d", rec.Code)
	}
	if rec := serve(s, "web", "http://x/e"); rec.Code != 200 {
		t.Fatalf("router with one unknown entrypoint should still serve the known one: %d", rec.Code)
	}
	text := s.Problems().Error()
	for _, w := range []string{
		`dyn.toml:6:3: http.routers "badrule@file": rule column 1: unknown matcher "Hots"`,
		`http.routers "missing@file": service "nope@file" does not exist`,
		"chain cycle",
		`entryPoint "ghost" doesn't exist`,
	} {
		if !strings.Contains(text, w) {
			t.Errorf("problems lack %q:\n%s", w, text)
		}
	}
}

func TestEntryPointRedirection(t *testing.T) {
	perm := false
	eps := map[string]*static.EntryPoint{
		"web":       {Address: ":80", HTTP: &static.HTTP{Redirections: &static.Redirections{EntryPoint: &static.RedirectEntryPoint{To: "websecure", Scheme: "https", Permanent: &perm}}}},
		"websecure": {Address: ":8443"},
	}
	s := build(t, "", eps)
	rec := serve(s, "web", "http://a.test/path?q=1")
	if rec.Code != http.StatusFound || rec.Header().Get("Location") != "https://a.test:8443/path?q=1" {
		t.Fatalf("redirect: %d %q", rec.Code, rec.Header().Get("Location"))
	}
}

// The access log and metrics tell internal routers from user routers by the
// router name in reqinfo; a user router to an internal service names that
// service.
func TestReqInfoNamesInternalRoutersAndServices(t *testing.T) {
	eps := map[string]*static.EntryPoint{
		"web":       {Address: ":80", HTTP: &static.HTTP{Redirections: &static.Redirections{EntryPoint: &static.RedirectEntryPoint{To: "websecure", Scheme: "https"}}}},
		"websecure": {Address: ":8443"},
	}
	s := build(t, `
[http.routers.demo]
  rule = "Host(`+"`demo.test`"+`)"
  entryPoints = ["websecure"]
  service = "noop@internal"
  [http.routers.demo.tls]
`, eps)
	if p := s.Problems(); len(p) > 0 {
		t.Fatal(p)
	}
	for _, tt := range []struct {
		ep, url, router, service string
		internal                 bool
	}{
		{"websecure", "https://demo.test/", "demo@file", "noop@internal", false},
		{"web", "http://demo.test/", "web-to-websecure@internal", "", true},
	} {
		ctx, info := reqinfo.NewContext(context.Background())
		r := httptest.NewRequest("GET", tt.url, nil).WithContext(ctx)
		if tt.ep == "websecure" {
			r.TLS = &cryptotls.ConnectionState{ServerName: "demo.test"}
		}
		s.ServeHTTP(tt.ep, httptest.NewRecorder(), r)
		if info.Router != tt.router || info.Service != tt.service || info.InternalRouter() != tt.internal {
			t.Errorf("%s: router %q service %q internal %v, want %q %q %v", tt.url, info.Router, info.Service, info.InternalRouter(), tt.router, tt.service, tt.internal)
		}
	}
	if len(s.Certificates()) != 0 {
		t.Errorf("Certificates() = %d entries without configured certificates", len(s.Certificates()))
	}
}

func TestTLSOptionsChosenBySNI(t *testing.T) {
	s := build(t, `
[http.routers.modern]
  rule = "Host(`+"`modern.test`"+`)"
  service = "noop@internal"
  [http.routers.modern.tls]
    options = "modern"
[http.routers.plain]
  rule = "Host(`+"`plain.test`"+`)"
  service = "noop@internal"
  [http.routers.plain.tls]
[tls.options.modern]
  minVersion = "VersionTLS13"
`, nil)
	r := s.Routing("websecure")
	if !r.PeekNeeded() {
		t.Fatal("an entrypoint with HTTPS routers must inspect connections")
	}
	if c := r.HTTPS(entrypoints.ConnInfo{ServerName: "modern.test", TLS: true}); c == nil || c.MinVersion != cryptotls.VersionTLS13 {
		t.Fatalf("modern.test got %+v", c)
	}
	if c := r.HTTPS(entrypoints.ConnInfo{ServerName: "plain.test", TLS: true}); c == nil || c.MinVersion != cryptotls.VersionTLS12 {
		t.Fatalf("plain.test did not get the default options")
	}
}

// A client that handshakes for one host and then asks for another whose TLS
// options differ (here: client certificates required) gets 421, not the
// other host's routes.
func TestMisdirectedRequestGets421(t *testing.T) {
	s := build(t, `
[http.routers.admin]
  rule = "Host(`+"`admin.test`"+`)"
  service = "noop@internal"
  [http.routers.admin.tls]
    options = "mtls"
[http.routers.public]
  rule = "Host(`+"`public.test`"+`)"
  service = "noop@internal"
  [http.routers.public.tls]
[tls.options.mtls.clientAuth]
  clientAuthType = "RequireAnyClientCert"
`, nil)
	req := func(sni, host string) int {
		r := httptest.NewRequest("GET", "https://"+host+"/", nil)
		r.TLS = &cryptotls.ConnectionState{ServerName: sni}
		rec := httptest.NewRecorder()
		s.ServeHTTP("websecure", rec, r)
		return rec.Code
	}
	if code := req("public.test", "admin.test"); code != http.StatusMisdirectedRequest {
		t.Fatalf("Host admin.test over a public.test handshake: %d, want 421", code)
	}
	if code := req("public.test", "public.test:443"); code != 200 {
		t.Fatalf("matching host: %d", code)
	}
	if code := req("admin.test", "admin.test"); code != 200 {
		t.Fatalf("admin over its own handshake: %d", code)
	}
}

// TLS and plain TCP routers never take each other's connections.
func TestTCPRoutersKeepToTheirKind(t *testing.T) {
	s := build(t, `
[tcp.routers.plain]
  rule = "HostSNI(`+"`*`"+`)"
  entryPoints = ["websecure"]
  service = "db"
[tcp.routers.terminating]
  rule = "HostSNI(`+"`*`"+`)"
  entryPoints = ["web"]
  service = "db"
  [tcp.routers.terminating.tls]
[http.routers.site]
  rule = "Host(`+"`site.test`"+`)"
  entryPoints = ["websecure"]
  service = "noop@internal"
  [http.routers.site.tls]
[[tcp.services.db.loadBalancer.servers]]
  address = "127.0.0.1:5432"
`, nil)
	if _, _, ok := s.Routing("websecure").TCP(entrypoints.ConnInfo{ServerName: "site.test", TLS: true}); ok {
		t.Error("a plain TCP router took a TLS connection meant for HTTPS")
	}
	if _, _, ok := s.Routing("websecure").TCP(entrypoints.ConnInfo{}); !ok {
		t.Error("the plain TCP router does not take plain connections")
	}
	if _, _, ok := s.Routing("web").TCP(entrypoints.ConnInfo{}); ok {
		t.Error("a TLS-terminating TCP router took a plaintext connection")
	}
	if _, conf, ok := s.Routing("web").TCP(entrypoints.ConnInfo{ServerName: "x", TLS: true}); !ok || conf == nil {
		t.Error("the TLS TCP router does not terminate TLS connections")
	}
	if got := s.Routing("websecure").CatchAllTCP(); got != entrypoints.CatchAllAfterDelay {
		t.Errorf("websecure has HTTPS routers: catch-all mode %v, want after-delay", got)
	}
}

// An entrypoint redirection is a router "<ep>-to-<to>@internal" whose
// redirectScheme middleware "redirect-<ep>-to-<to>@internal" is listed like
// any other, as in Traefik; a ":port" target is normalized in the names.
func TestEntryPointRedirectionStatus(t *testing.T) {
	eps := map[string]*static.EntryPoint{
		"web":       {Address: ":80", HTTP: &static.HTTP{Redirections: &static.Redirections{EntryPoint: &static.RedirectEntryPoint{To: "websecure"}}}},
		"alt":       {Address: ":81", HTTP: &static.HTTP{Redirections: &static.Redirections{EntryPoint: &static.RedirectEntryPoint{To: ":8443", Scheme: "https"}}}},
		"websecure": {Address: ":443"},
	}
	s := build(t, "", eps)
	if p := s.Problems(); len(p) > 0 {
		t.Fatal(p)
	}
	st := s.Status()
	ri := st.Routers["web-to-websecure@internal"]
	if ri == nil || ri.Status != status.Enabled || ri.Provider != "internal" || ri.Service != "noop@internal" ||
		strings.Join(ri.Middlewares, ",") != "redirect-web-to-websecure@internal" || ri.Priority != maxPriority ||
		ri.Rule != "HostRegexp(`^.+$`)" || strings.Join(ri.Using, ",") != "web" {
		t.Fatalf("router: %+v %+v", ri, ri.Router)
	}
	mi := st.Middlewares["redirect-web-to-websecure@internal"]
	if mi == nil || mi.Status != status.Enabled || mi.Provider != "internal" || mi.Type != "redirectscheme" ||
		mi.RedirectScheme == nil || *mi.RedirectScheme != (dynamic.RedirectScheme{Scheme: "https", Port: "443", Permanent: true}) ||
		strings.Join(mi.UsedBy, ",") != "web-to-websecure@internal" {
		t.Fatalf("middleware: %+v", mi)
	}
	if st.Routers["alt-to-8443@internal"] == nil || st.Middlewares["redirect-alt-to-8443@internal"] == nil {
		t.Fatalf("normalized names missing: %v", sortedKeys(st.Routers))
	}
	if rec := serve(s, "alt", "http://a.test/x"); rec.Code != http.StatusMovedPermanently || rec.Header().Get("Location") != "https://a.test:8443/x" {
		t.Fatalf("alt redirect: %d %q", rec.Code, rec.Header().Get("Location"))
	}
	if si := st.Services["noop@internal"]; si == nil || strings.Join(si.UsedBy, ",") != "alt-to-8443@internal,web-to-websecure@internal" {
		t.Fatalf("noop@internal: %+v", si)
	}
}

// A router whose middlewares fail on one of its entrypoints (an entrypoint
// middleware that does not exist; "zstrict" sorts after "web", so the
// failure comes after a route was built) is disabled and serves on none.
func TestRouterFailingOnOneEntryPointServesOnNone(t *testing.T) {
	eps := map[string]*static.EntryPoint{
		"web":     {Address: ":80"},
		"zstrict": {Address: ":81", HTTP: &static.HTTP{Middlewares: []string{"missing@file"}}},
	}
	s := build(t, `
[http.routers.both]
  rule = "Path(`+"`/b`"+`)"
  service = "noop@internal"
`, eps)
	r := s.Status().Routers["both@file"]
	if r.Status != status.Disabled || len(r.Using) != 0 {
		t.Fatalf("status %s, using %v, errors %v", r.Status, r.Using, r.Err)
	}
	for _, ep := range []string{"web", "zstrict"} {
		if rec := serve(s, ep, "http://x/b"); rec.Code != 404 {
			t.Errorf("%s: a disabled router served: %d", ep, rec.Code)
		}
	}
}

// A router asking for a certificate resolver still serves, with a warning
// saying there is no ACME yet.
func TestCertResolverWarns(t *testing.T) {
	s := build(t, `
[http.routers.acme]
  rule = "Host(`+"`a.test`"+`)"
  service = "noop@internal"
  [http.routers.acme.tls]
    certResolver = "letsencrypt"
[tcp.routers.db]
  rule = "HostSNI(`+"`db.test`"+`)"
  service = "db"
  [tcp.routers.db.tls]
    certResolver = "letsencrypt"
[[tcp.services.db.loadBalancer.servers]]
  address = "127.0.0.1:5432"
`, nil)
	st := s.Status()
	for name, r := range map[string]struct {
		status string
		errs   []string
	}{
		"acme@file": {st.Routers["acme@file"].Status, st.Routers["acme@file"].Err},
		"db@file":   {st.TCPRouters["db@file"].Status, st.TCPRouters["db@file"].Err},
	} {
		if r.status != status.Warning || len(r.errs) != 1 || !strings.Contains(r.errs[0], "not supported yet") {
			t.Errorf("%s: status %s, errors %v", name, r.status, r.errs)
		}
	}
}
