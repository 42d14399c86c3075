package snapshot

import (
	cryptotls "crypto/tls"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/guan-gateway/guan/config/static"
	"github.com/guan-gateway/guan/status"
)

// tlsReq serves a request that arrived over a TLS connection set up for sni.
func tlsReq(s *Snapshot, sni, host, path string) int {
	r := httptest.NewRequest("GET", "https://"+host+path, nil)
	r.TLS = &cryptotls.ConnectionState{ServerName: sni}
	rec := httptest.NewRecorder()
	s.ServeHTTP("websecure", rec, r)
	return rec.Code
}

const mtlsRouters = `
[http.routers.regexp]
  rule = 'HostRegexp(` + "`^c\\.test$`" + `)'
  service = "noop@internal"
  [http.routers.regexp.tls]
    options = "mtls"
[http.routers.partner]
  rule = "PathPrefix(` + "`/partner`" + `)"
  service = "noop@internal"
  [http.routers.partner.tls]
    options = "mtls"
[http.routers.admin]
  rule = "Host(` + "`admin.test`" + `)"
  service = "noop@internal"
  [http.routers.admin.tls]
    options = "mtls"
[http.routers.public]
  rule = "Host(` + "`public.test`" + `)"
  service = "noop@internal"
  [http.routers.public.tls]
[http.routers.compat]
  rule = 'HostRegexp(` + "`^d\\.test$`" + `)'
  service = "noop@internal"
  [http.routers.compat.tls]
    options = "compat"
[http.routers.compathost]
  rule = "Host(` + "`e.test`" + `)"
  service = "noop@internal"
  [http.routers.compathost.tls]
    options = "compat"
[tls.options.mtls.clientAuth]
  clientAuthType = "RequireAnyClientCert"
[tls.options.compat]
  minVersion = "VersionTLS12"
`

// TLS options are chosen by SNI from the hosts of Host() rules; a router
// with other options whose rule names no exact host can be reached over a
// connection negotiated with the default options. Its requests then get
// 421 instead of bypassing its options (client certificates here), and the
// API says why.
func TestTLSOptionsWithoutExactHostAreEnforced(t *testing.T) {
	s := build(t, mtlsRouters, nil)
	if p := s.Problems(); len(p) > 0 {
		t.Fatal(p)
	}
	for _, tt := range []struct {
		sni, host, path string
		want            int
	}{
		{"c.test", "c.test", "/", http.StatusMisdirectedRequest},                  // HostRegexp, default options negotiated
		{"", "c.test", "/", http.StatusMisdirectedRequest},                        // no SNI
		{"public.test", "public.test", "/partner", http.StatusMisdirectedRequest}, // PathPrefix beats Host(public.test)
		{"x.test", "x.test", "/partner/a", http.StatusMisdirectedRequest},
		{"admin.test", "admin.test", "/partner", 200}, // negotiated with mtls: allowed
		{"admin.test", "admin.test", "/", 200},
		{"public.test", "public.test", "/", 200},
		// compat is equivalent to the default options: nothing to enforce.
		{"d.test", "d.test", "/", 200},
		{"public.test", "e.test", "/", 200}, // Host and SNI options differ in name only
		{"e.test", "public.test", "/", 200},
		{"public.test", "admin.test", "/", http.StatusMisdirectedRequest}, // the Host/SNI check still holds
	} {
		if got := tlsReq(s, tt.sni, tt.host, tt.path); got != tt.want {
			t.Errorf("SNI %q, Host %q, path %s: %d, want %d", tt.sni, tt.host, tt.path, got, tt.want)
		}
	}
	st := s.Status()
	for _, name := range []string{"regexp@file", "partner@file"} {
		ri := st.Routers[name]
		if ri.Status != status.Warning || len(ri.Err) != 1 || !strings.Contains(ri.Err[0], "Host()") ||
			!strings.Contains(ri.Err[0], "421") || !strings.Contains(ri.Err[0], `"mtls@file"`) {
			t.Errorf("%s: status %s, errors %q; want a warning about SNI and Host()", name, ri.Status, ri.Err)
		}
		if strings.Join(ri.Using, ",") != "web,websecure" {
			t.Errorf("%s: using %v", name, ri.Using)
		}
	}
	for _, name := range []string{"admin@file", "public@file", "compat@file", "compathost@file"} {
		if ri := st.Routers[name]; ri.Status != status.Enabled || len(ri.Err) != 0 {
			t.Errorf("%s: status %s, errors %q; want enabled", name, ri.Status, ri.Err)
		}
	}
}

// The same through an entrypoint's http.tls.options: routers without their
// own tls section inherit the options, and the SNI choice must honour them.
func TestEntryPointTLSOptionsEnforced(t *testing.T) {
	eps := map[string]*static.EntryPoint{"websecure": {Address: ":443", HTTP: &static.HTTP{TLS: &static.HTTPTLS{Options: "mtls"}}}}
	s := build(t, `
[http.routers.api]
  rule = "PathPrefix(`+"`/api`"+`)"
  service = "noop@internal"
[http.routers.site]
  rule = "Host(`+"`site.test`"+`)"
  service = "noop@internal"
[tls.options.mtls.clientAuth]
  clientAuthType = "RequireAnyClientCert"
`, eps)
	if code := tlsReq(s, "other.test", "other.test", "/api"); code != http.StatusMisdirectedRequest {
		t.Errorf("PathPrefix router over default options: %d, want 421", code)
	}
	if code := tlsReq(s, "site.test", "site.test", "/api"); code != 200 {
		t.Errorf("PathPrefix router over site.test's mtls connection: %d, want 200", code)
	}
	if ri := s.Status().Routers["api@file"]; ri.Status != status.Warning {
		t.Errorf("api@file: %s %q", ri.Status, ri.Err)
	}
}

// Routers that disagree on the options of one host: the host gets the
// default options, so the router that wants others gets 421 rather than
// being served without them, and both routers say so.
func TestConflictingTLSOptionsOnAHost(t *testing.T) {
	s := build(t, `
[http.routers.strict]
  rule = "Host(`+"`a.test`"+`) && PathPrefix(`+"`/admin`"+`)"
  service = "noop@internal"
  [http.routers.strict.tls]
    options = "mtls"
[http.routers.open]
  rule = "Host(`+"`a.test`"+`)"
  service = "noop@internal"
  [http.routers.open.tls]
[tls.options.mtls.clientAuth]
  clientAuthType = "RequireAnyClientCert"
`, nil)
	if code := tlsReq(s, "a.test", "a.test", "/admin"); code != http.StatusMisdirectedRequest {
		t.Errorf("mtls router on a host with default options: %d, want 421", code)
	}
	if code := tlsReq(s, "a.test", "a.test", "/"); code != 200 {
		t.Errorf("default router: %d", code)
	}
	st := s.Status()
	if ri := st.Routers["strict@file"]; ri.Status != status.Warning || len(ri.Err) != 2 || !strings.Contains(ri.Err[1], "421") {
		t.Errorf("strict@file: %s %q", ri.Status, ri.Err)
	}
	if ri := st.Routers["open@file"]; ri.Status != status.Warning || len(ri.Err) != 1 || !strings.Contains(ri.Err[0], "different TLS options") {
		t.Errorf("open@file: %s %q", ri.Status, ri.Err)
	}
}

// A router whose TLS options cannot be used is disabled, not served with
// the default options.
func TestUnusableTLSOptionsDisableTheRouter(t *testing.T) {
	s := build(t, `
[http.routers.typo]
  rule = "Host(`+"`a.test`"+`)"
  service = "noop@internal"
  [http.routers.typo.tls]
    options = "mtsl"
[http.routers.broken]
  rule = 'HostRegexp(`+"`^b\\.test$`"+`)'
  service = "noop@internal"
  [http.routers.broken.tls]
    options = "broken"
[tls.options.broken.clientAuth]
  caFiles = ["missing-ca.pem"]
`, nil)
	st := s.Status()
	for _, name := range []string{"typo@file", "broken@file"} {
		if ri := st.Routers[name]; ri.Status != status.Disabled || len(ri.Err) == 0 || len(ri.Using) != 0 {
			t.Errorf("%s: %s %q using %v; want disabled", name, ri.Status, ri.Err, ri.Using)
		}
	}
	if code := tlsReq(s, "a.test", "a.test", "/"); code != http.StatusNotFound {
		t.Errorf("router with unknown options answered %d, want 404", code)
	}
	if code := tlsReq(s, "b.test", "b.test", "/"); code != http.StatusNotFound {
		t.Errorf("router with broken options answered %d, want 404", code)
	}
}

// The check costs no allocation on the request path: a guarded route
// allocates no more than an unguarded one.
func TestTLSGuardAllocatesNothing(t *testing.T) {
	s := build(t, mtlsRouters, nil)
	allocs := func(sni, url string) float64 {
		r := httptest.NewRequest("GET", url, nil)
		r.TLS = &cryptotls.ConnectionState{ServerName: sni}
		w := &discardWriter{h: http.Header{}}
		s.ServeHTTP("websecure", w, r)
		if w.code != 0 {
			t.Fatalf("%s: status %d", url, w.code)
		}
		return testing.AllocsPerRun(100, func() { s.ServeHTTP("websecure", w, r) })
	}
	plain := allocs("public.test", "https://public.test/")
	if guarded := allocs("admin.test", "https://admin.test/partner"); guarded > plain {
		t.Fatalf("%v allocations per guarded request, %v unguarded", guarded, plain)
	}
}

type discardWriter struct {
	h    http.Header
	code int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *discardWriter) WriteHeader(c int)           { w.code = c }
