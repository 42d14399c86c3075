package snapshot

import (
	"bufio"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/guan-gateway/guan/config/decode"
	"github.com/guan-gateway/guan/config/dynamic"
	"github.com/guan-gateway/guan/config/static"
	"github.com/guan-gateway/guan/entrypoints"
	"github.com/guan-gateway/guan/providers"
	"github.com/guan-gateway/guan/statestore"
	"github.com/guan-gateway/guan/status"
)

// echoServer answers each line with "echo:line".
func echoServer(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				sc := bufio.NewScanner(c)
				for sc.Scan() {
					fmt.Fprintf(c, "echo:%s\n", sc.Text())
				}
			}()
		}
	}()
	return l.Addr().String()
}

// tcpThrough routes a real loopback connection from local with the
// snapshot's plain TCP routes of ep, as the entrypoint does, and reports
// the answer to one line ("" when the connection was closed unanswered).
func tcpThrough(t *testing.T, s *Snapshot, ep, local string) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		h, _, ok := s.Routing(ep).TCP(entrypoints.ConnInfo{RemoteAddr: c.RemoteAddr()})
		if ok {
			h.ServeTCP(c)
		}
	}()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, "hi\n")
	line, _ := bufio.NewReader(c).ReadString('\n')
	return strings.TrimSuffix(line, "\n")
}

// TCP routers run their middlewares, named in the router's provider, and
// the status lists them with their users.
func TestTCPRouterMiddlewares(t *testing.T) {
	be := echoServer(t)
	s := build(t, `
[tcp.routers.db]
  rule = "HostSNI(`+"`*`"+`)"
  entryPoints = ["web"]
  service = "db"
  middlewares = ["local", "few"]
[tcp.middlewares.local.ipAllowList]
  sourceRange = ["127.0.0.1/32"]
[tcp.middlewares.few.inFlightConn]
  amount = 3
[tcp.middlewares.unused.ipAllowList]
  sourceRange = ["10.0.0.0/8"]
[[tcp.services.db.loadBalancer.servers]]
  address = "`+be+`"
`, nil)
	if p := s.Problems(); len(p) > 0 {
		t.Fatal(p)
	}
	if got := tcpThrough(t, s, "web", "127.0.0.1"); got != "echo:hi" {
		t.Fatalf("allowed client: %q", got)
	}
	if got := tcpThrough(t, s, "web", "127.0.0.2"); got != "" {
		t.Fatalf("refused client got %q", got)
	}
	st := s.Status()
	if r := st.TCPRouters["db@file"]; r.Status != status.Enabled || !slices.Equal(r.Middlewares, []string{"local@file", "few@file"}) {
		t.Fatalf("router: %+v", r)
	}
	for name, want := range map[string]struct {
		typ    string
		usedBy []string
	}{"local@file": {"ipallowlist", []string{"db@file"}}, "few@file": {"inflightconn", []string{"db@file"}}, "unused@file": {"ipallowlist", nil}} {
		mi := st.TCPMiddlewares[name]
		if mi == nil || mi.Status != status.Enabled || mi.Type != want.typ || mi.Provider != "file" || !slices.Equal(mi.UsedBy, want.usedBy) {
			t.Errorf("%s: %+v", name, mi)
		}
	}
	if raw := s.Raw(); raw.TCP.Middlewares["few@file"].InFlightConn.Amount != 3 {
		t.Fatalf("rawdata: %+v", raw.TCP.Middlewares)
	}
}

// A TCP router whose middleware is missing, of the HTTP kind, or broken is
// disabled; a broken middleware is disabled and reported at its position;
// Traefik's deprecated ipWhiteList works with a warning.
func TestTCPMiddlewareErrors(t *testing.T) {
	s := build(t, `
[tcp.routers.missing]
  rule = "HostSNI(`+"`*`"+`)"
  service = "db"
  middlewares = ["nope"]
[tcp.routers.http]
  rule = "HostSNI(`+"`*`"+`)"
  service = "db"
  middlewares = ["headers"]
[tcp.routers.broken]
  rule = "HostSNI(`+"`*`"+`)"
  service = "db"
  middlewares = ["zero"]
[tcp.routers.old]
  rule = "HostSNI(`+"`*`"+`)"
  service = "db"
  middlewares = ["old"]
[http.middlewares.headers.headers.customRequestHeaders]
  X-A = "b"
[tcp.middlewares.zero.inFlightConn]
  amount = 0
[tcp.middlewares.empty]
[tcp.middlewares.old.ipWhiteList]
  sourceRange = ["127.0.0.1"]
[[tcp.services.db.loadBalancer.servers]]
  address = "127.0.0.1:9"
`, nil)
	st := s.Status()
	for name, want := range map[string]string{
		"missing@file": `TCP middleware "nope@file" does not exist`,
		"http@file":    `middleware "headers@file" is an HTTP middleware: TCP routers take TCP middlewares (tcp.middlewares)`,
		"broken@file":  "inFlightConn: amount is 0",
	} {
		r := st.TCPRouters[name]
		if r.Status != status.Disabled || len(r.Err) != 1 || !strings.Contains(r.Err[0], want) {
			t.Errorf("router %s: %s %q, want disabled with %q", name, r.Status, r.Err, want)
		}
	}
	if r := st.TCPRouters["old@file"]; r.Status != status.Enabled {
		t.Errorf("router old@file: %s %q", r.Status, r.Err)
	}
	if mi := st.TCPMiddlewares["zero@file"]; mi.Status != status.Disabled || len(mi.Err) != 1 {
		t.Errorf("zero@file: %+v", mi)
	}
	if mi := st.TCPMiddlewares["empty@file"]; mi.Status != status.Disabled || !strings.Contains(strings.Join(mi.Err, ""), "no TCP middleware type is set") {
		t.Errorf("empty@file: %+v", mi)
	}
	if mi := st.TCPMiddlewares["old@file"]; mi.Status != status.Warning || mi.Type != "ipwhitelist" ||
		!slices.Equal(mi.Err, []string{"ipWhiteList is deprecated: rename it ipAllowList (same options)"}) || !slices.Equal(mi.UsedBy, []string{"old@file"}) {
		t.Errorf("old@file: %+v", mi)
	}
	text := s.Problems().Error()
	for _, w := range []string{
		`dyn.toml:20:18: tcp.middlewares "zero@file": inFlightConn: amount is 0`,
		`tcp.middlewares "empty@file": no TCP middleware type is set`,
		`tcp.routers "missing@file": TCP middleware "nope@file" does not exist`,
	} {
		if !strings.Contains(text, w) {
			t.Errorf("problems lack %q:\n%s", w, text)
		}
	}
	if strings.Contains(text, "ipWhiteList") || strings.Count(text, "amount is 0") != 2 {
		t.Errorf("problems:\n%s", text)
	}
}

// A router may name another provider's TCP middleware as name@provider; a
// bare name is its own provider's.
func TestTCPMiddlewaresAcrossProviders(t *testing.T) {
	decodeCfg := func(src string) (*dynamic.Configuration, *decode.Meta) {
		var cfg dynamic.Configuration
		meta, err := decode.Bytes("dyn.toml", []byte(src), &cfg)
		if err != nil {
			t.Fatal(err)
		}
		return &cfg, meta
	}
	fileCfg, fileMeta := decodeCfg(`
[tcp.routers.a]
  rule = "HostSNI(` + "`*`" + `)"
  service = "db"
  middlewares = ["shared@other", "own"]
[tcp.middlewares.own.inFlightConn]
  amount = 1
[[tcp.services.db.loadBalancer.servers]]
  address = "127.0.0.1:9"
`)
	otherCfg, otherMeta := decodeCfg(`
[tcp.middlewares.shared.ipAllowList]
  sourceRange = ["127.0.0.1"]
`)
	b := statestore.New().Begin()
	t.Cleanup(b.Abort)
	s, err := Build(Input{
		EntryPoints: map[string]*static.EntryPoint{"web": {Address: ":80"}},
		Providers: map[string]providers.Message{
			"file":  {Provider: "file", Config: fileCfg, Meta: fileMeta},
			"other": {Provider: "other", Config: otherCfg, Meta: otherMeta},
		},
		Store:  b,
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	if p := s.Problems(); len(p) > 0 {
		t.Fatal(p)
	}
	st := s.Status()
	if r := st.TCPRouters["a@file"]; !slices.Equal(r.Middlewares, []string{"shared@other", "own@file"}) || r.Status != status.Enabled {
		t.Fatalf("router: %+v", r)
	}
	if mi := st.TCPMiddlewares["shared@other"]; mi == nil || mi.Provider != "other" || !slices.Equal(mi.UsedBy, []string{"a@file"}) {
		t.Fatalf("shared@other: %+v", mi)
	}
}

// An unknown TCP middleware type is a configuration error naming it and
// the types there are.
func TestUnknownTCPMiddlewareType(t *testing.T) {
	var cfg dynamic.Configuration
	_, err := decode.Bytes("dyn.toml", []byte(`
[tcp.middlewares.m.rateLimit]
  average = 1
`), &cfg)
	if err == nil || !strings.Contains(err.Error(), `dyn.toml:2:20: unknown key "tcp.middlewares.m.rateLimit" (valid keys here: inFlightConn, ipAllowList, ipWhiteList)`) {
		t.Fatalf("error: %v", err)
	}
}
