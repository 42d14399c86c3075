package snapshot

import (
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/guan-gateway/guan/config"
	"github.com/guan-gateway/guan/config/dynamic"
	"github.com/guan-gateway/guan/config/static"
	"github.com/guan-gateway/guan/entrypoints"
)

func TestDefaultEntryPoints(t *testing.T) {
	ep := func(asDefault bool) *static.EntryPoint {
		return &static.EntryPoint{Address: ":1", AsDefault: asDefault}
	}
	tests := []struct {
		name string
		eps  map[string]*static.EntryPoint
		want []string
	}{
		{"none marked: all but traefik", map[string]*static.EntryPoint{"web": ep(false), "websecure": ep(false), "traefik": ep(false)}, []string{"web", "websecure"}},
		{"only the marked ones", map[string]*static.EntryPoint{"web": ep(false), "websecure": ep(true), "admin": ep(true), "traefik": ep(false)}, []string{"admin", "websecure"}},
		{"traefik never, even marked", map[string]*static.EntryPoint{"web": ep(true), "traefik": ep(true)}, []string{"web"}},
		{"only traefik marked: none", map[string]*static.EntryPoint{"web": ep(false), "traefik": ep(true)}, nil},
	}
	for _, tt := range tests {
		if got := DefaultEntryPoints(tt.eps); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
}

// Routers without entryPoints, HTTP and TCP, attach only to the entrypoints
// marked asDefault; routers naming entrypoints are unaffected.
func TestAsDefaultEntryPoints(t *testing.T) {
	eps := map[string]*static.EntryPoint{
		"web":     {Address: ":80"},
		"public":  {Address: ":81", AsDefault: true},
		"traefik": {Address: ":8080"},
	}
	s := build(t, `
[http.routers.unnamed]
  rule = "Host(`+"`a.test`"+`)"
  service = "noop@internal"
[http.routers.named]
  rule = "Host(`+"`b.test`"+`)"
  service = "noop@internal"
  entryPoints = ["web"]
[tcp.routers.db]
  rule = "HostSNI(`+"`*`"+`)"
  service = "db"
[[tcp.services.db.loadBalancer.servers]]
  address = "127.0.0.1:1"
`, eps)
	if p := s.Problems(); len(p) > 0 {
		t.Fatal(p)
	}
	for _, c := range []struct {
		ep, host string
		code     int
	}{{"public", "a.test", 200}, {"web", "a.test", 404}, {"traefik", "a.test", 404}, {"web", "b.test", 200}, {"public", "b.test", 404}} {
		if rec := serve(s, c.ep, "http://"+c.host+"/"); rec.Code != c.code {
			t.Errorf("%s on %s: %d, want %d", c.host, c.ep, rec.Code, c.code)
		}
	}
	st := s.Status()
	if got := st.Routers["unnamed@file"].Using; !reflect.DeepEqual(got, []string{"public"}) {
		t.Errorf("unnamed router uses %v", got)
	}
	if got := st.TCPRouters["db@file"].Using; !reflect.DeepEqual(got, []string{"public"}) {
		t.Errorf("TCP router uses %v", got)
	}
	if _, _, ok := s.Routing("public").TCP(entrypoints.ConnInfo{}); !ok {
		t.Error("the TCP router is not on the asDefault entrypoint")
	}
	if _, _, ok := s.Routing("web").TCP(entrypoints.ConnInfo{}); ok {
		t.Error("the TCP router is on an entrypoint not marked asDefault")
	}
}

// The static serversTransport is default@internal: services naming no
// transport use it, a service naming its own is unaffected.
func TestStaticServersTransportIsTheDefault(t *testing.T) {
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(300 * time.Millisecond)
		w.Write([]byte("slow"))
	}))
	defer slow.Close()
	d := config.Duration(50 * time.Millisecond)
	st := &dynamic.ServersTransport{ForwardingTimeouts: &dynamic.ForwardingTimeouts{ResponseHeaderTimeout: &d}}
	s := buildInput(t, `
[http.routers.dflt]
  rule = "Host(`+"`default.test`"+`)"
  service = "dflt"
[http.routers.own]
  rule = "Host(`+"`own.test`"+`)"
  service = "own"
[[http.services.dflt.loadBalancer.servers]]
  url = "`+slow.URL+`"
[http.services.own.loadBalancer]
  serversTransport = "patient"
  [[http.services.own.loadBalancer.servers]]
    url = "`+slow.URL+`"
[http.serversTransports.patient]
`, Input{EntryPoints: map[string]*static.EntryPoint{"web": {Address: ":80"}}, DefaultRuleSyntax: "v3", DefaultTransport: st})
	if p := s.Problems(); len(p) > 0 {
		t.Fatal(p)
	}
	if rec := serve(s, "web", "http://default.test/"); rec.Code != http.StatusGatewayTimeout {
		t.Errorf("default transport: %d %q, want 504 from its responseHeaderTimeout", rec.Code, rec.Body)
	}
	if rec := serve(s, "web", "http://own.test/"); rec.Code != 200 || rec.Body.String() != "slow" {
		t.Errorf("own transport: %d %q", rec.Code, rec.Body)
	}
	raw := s.Raw()
	if raw.HTTP.ServersTransports["default@internal"] != st {
		t.Errorf("rawdata does not show default@internal: %v", raw.HTTP.ServersTransports)
	}
}

// Relative rootCAs of the static transport resolve against its directory,
// and a bad one disables the services that use it, naming default@internal.
func TestStaticServersTransportErrors(t *testing.T) {
	st := &dynamic.ServersTransport{RootCAs: []string{"missing-ca.pem"}}
	snap := buildInput(t, "[[http.services.s.loadBalancer.servers]]\n  url = \"https://127.0.0.1:9\"\n", Input{
		EntryPoints:         map[string]*static.EntryPoint{"web": {Address: ":80"}},
		ValidateUnused:      true,
		DefaultTransport:    st,
		DefaultTransportDir: "/nonexistent/static",
	})
	p := snap.Problems()
	if len(p) != 1 || !strings.Contains(p[0].Error(), `serversTransport "default@internal": rootCAs[0]`) ||
		!strings.Contains(p[0].Error(), "/nonexistent/static/missing-ca.pem") {
		t.Fatalf("problems = %v", p)
	}
}
