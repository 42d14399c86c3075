package static_test

import (
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/guan-gateway/guan/config"
	"github.com/guan-gateway/guan/config/static"
)

func TestParseAppliesDefaults(t *testing.T) {
	for name, src := range map[string]string{
		"static.toml": `
[entryPoints.web]
  address = ":8000"
[entryPoints.websecure]
  address = ":8443/tcp"
  [entryPoints.websecure.transport.respondingTimeouts]
    readTimeout = 5
[providers.file]
  directory = "dyn"
[api]
  insecure = true
[ping]
[metrics.prometheus]
[accessLog]
`,
		"static.yaml": `
entryPoints:
  web:
    address: ":8000"
  websecure:
    address: ":8443/tcp"
    transport:
      respondingTimeouts:
        readTimeout: 5
providers:
  file:
    directory: dyn
api:
  insecure: true
ping: {}
metrics:
  prometheus: {}
accessLog: {}
`,
	} {
		t.Run(name, func(t *testing.T) {
			c, _, err := static.Parse(name, []byte(src))
			if err != nil {
				t.Fatal(err)
			}
			web := c.EntryPoints["web"]
			tr := web.Transport
			if tr.LifeCycle.GraceTimeOut.Std() != 10*time.Second ||
				tr.RespondingTimeouts.ReadTimeout.Std() != 60*time.Second ||
				tr.RespondingTimeouts.IdleTimeout.Std() != 180*time.Second ||
				tr.RespondingTimeouts.WriteTimeout.Std() != 0 ||
				web.HTTP.MaxHeaderBytes != 1<<20 {
				t.Fatalf("entrypoint defaults: %+v %+v %+v", tr.LifeCycle, tr.RespondingTimeouts, web.HTTP)
			}
			if got := c.EntryPoints["websecure"].Transport.RespondingTimeouts.ReadTimeout.Std(); got != 5*time.Second {
				t.Fatalf("explicit readTimeout = %v", got)
			}
			if got := c.EntryPoints["traefik"]; got == nil || got.Address != ":8080" || got.Transport == nil {
				t.Fatalf("traefik entrypoint = %+v", got)
			}
			if c.Providers.ProvidersThrottleDuration.Std() != 2*time.Second || !*c.Providers.File.Watch {
				t.Fatalf("providers = %+v", c.Providers)
			}
			if !*c.API.Dashboard || c.API.BasePath != "/" || c.Ping.EntryPoint != "traefik" {
				t.Fatalf("api=%+v ping=%+v", c.API, c.Ping)
			}
			p := c.Metrics.Prometheus
			if p.EntryPoint != "traefik" || !reflect.DeepEqual(p.Buckets, []float64{0.1, 0.3, 1.2, 5.0}) {
				t.Fatalf("prometheus = %+v", p)
			}
			if c.AccessLog.Format != "common" || c.Log.Level != "ERROR" || c.Log.Format != "common" || c.Core.DefaultRuleSyntax != "v3" {
				t.Fatalf("accessLog=%+v log=%+v core=%+v", c.AccessLog, c.Log, c.Core)
			}
		})
	}
}

func TestInternalEntryPointOnlyWhenNeeded(t *testing.T) {
	tests := []struct {
		name, src string
		want      string // address of "traefik", "" when absent
	}{
		{"nothing needs it", "[entryPoints.web]\naddress = \":80\"\n", ""},
		{"secure api is routed manually", "[api]\n", ""},
		{"ping manual routing", "[ping]\nmanualRouting = true\n", ""},
		{"ping on traefik", "[ping]\n", ":8080"},
		{"declared keeps its address", "[entryPoints.traefik]\naddress = \":9090\"\n[api]\ninsecure = true\n", ":9090"},
	}
	for _, tt := range tests {
		c, _, err := static.Parse("s.toml", []byte(tt.src))
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		got := ""
		if ep := c.EntryPoints["traefik"]; ep != nil {
			got = ep.Address
		}
		if got != tt.want {
			t.Errorf("%s: traefik = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestValidateErrorsArePositioned(t *testing.T) {
	src := `
[entryPoints.a]
  address = "8080"
[entryPoints.b]
  address = ":53/udp"
[entryPoints.c]
  address = ":70000"
  [entryPoints.c.forwardedHeaders]
    trustedIPs = ["10.0.0.0/8", "10.0.0.0/33", "bogus"]
  [entryPoints.c.http.redirections.entryPoint]
    to = "websecure"
[log]
  level = "LOUD"
  format = "xml"
[accessLog.filters]
  statusCodes = ["200", "2xx", "600", "599-500"]
[providers.file]
  filename = "a.toml"
  directory = "dyn"
[api]
  basePath = "dashboard"
`
	_, _, err := static.Parse("s.toml", []byte(src))
	var errs config.Errors
	if !errors.As(err, &errs) {
		t.Fatalf("err = %v", err)
	}
	want := []string{
		`s.toml:3:3: entryPoints.a.address: address "8080" is not "[host]:port"`,
		`s.toml:5:3: entryPoints.b.address: address ":53/udp": UDP entrypoints are not supported yet`,
		`s.toml:7:3: entryPoints.c.address: address ":70000": port "70000" must be a number from 0 to 65535`,
		`s.toml:9:33: entryPoints.c.forwardedHeaders.trustedIPs[1]: "10.0.0.0/33" is neither an IP address nor a CIDR range`,
		`s.toml:9:48: entryPoints.c.forwardedHeaders.trustedIPs[2]: "bogus" is neither`,
		`s.toml:11:5: entryPoints.c.http.redirections.entryPoint.to: entrypoint "websecure" does not exist (defined: a, b, c)`,
		`s.toml:13:3: log.level: unknown log level "LOUD": use DEBUG, INFO, WARN or ERROR`,
		`s.toml:14:3: log.format: "xml" is not one of common, json`,
		`s.toml:16:25: accessLog.filters.statusCodes[1]: "2xx" is not a status code or range`,
		`s.toml:16:32: accessLog.filters.statusCodes[2]: "600": status codes are from 100 to 599`,
		`s.toml:16:39: accessLog.filters.statusCodes[3]: "599-500": the range is reversed, write "500-599"`,
		`s.toml:17:12: providers.file: set only one of "filename" and "directory", not both`,
		`s.toml:21:3: api.basePath: must begin with "/", got "dashboard"`,
	}
	if len(errs) != len(want) {
		t.Fatalf("got %d errors, want %d:\n%v", len(errs), len(want), err)
	}
	for i, w := range want {
		if !strings.HasPrefix(errs[i].Error(), w) {
			t.Errorf("error %d:\n got %s\nwant %s", i, errs[i], w)
		}
	}
}

func TestValidateNeedsAFileSource(t *testing.T) {
	_, _, err := static.Parse("s.yaml", []byte("providers:\n  file:\n    watch: false\n"))
	if err == nil || !strings.Contains(err.Error(), `s.yaml:2:3: providers.file: set either "filename" or "directory"`) {
		t.Fatalf("err = %v", err)
	}
}

func TestDecodeErrorsStopBeforeValidation(t *testing.T) {
	_, meta, err := static.Parse("s.toml", []byte("[entrypoints.web]\nadress = \":80\"\n"))
	if err == nil || err.Error() != `s.toml:2:1: unknown key "entryPoints.web.adress" (did you mean "address"?)` {
		t.Fatalf("err = %v", err)
	}
	if meta == nil {
		t.Fatal("meta should be returned for positioning")
	}
}

func TestListenAddress(t *testing.T) {
	tests := []struct {
		addr, want, err string
	}{
		{":8000", ":8000", ""},
		{"127.0.0.1:8080", "127.0.0.1:8080", ""},
		{"[::1]:443/tcp", "[::1]:443", ""},
		{"localhost:80/TCP", "localhost:80", ""},
		{":0", ":0", ""},
		{":443/udp", "", "UDP entrypoints are not supported yet"},
		{":443/sctp", "", `unknown protocol "sctp"`},
		{"8000", "", `is not "[host]:port"`},
		{":http", "", "must be a number from 0 to 65535"},
		{"bad_host:80", "", "is neither an IP address nor a host name"},
		{"", "", "address is empty"},
	}
	for _, tt := range tests {
		ep := &static.EntryPoint{Address: tt.addr}
		network, addr, err := ep.ListenAddress()
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%q: err = %v, want %q", tt.addr, err, tt.err)
			}
			continue
		}
		if err != nil || network != "tcp" || addr != tt.want {
			t.Errorf("%q: got %s %s %v", tt.addr, network, addr, err)
		}
	}
}

func TestParseLogLevel(t *testing.T) {
	for in, want := range map[string]slog.Level{
		"debug": slog.LevelDebug, "TRACE": slog.LevelDebug, "Info": slog.LevelInfo,
		"WARN": slog.LevelWarn, "error": slog.LevelError, "FATAL": slog.LevelError, "panic": slog.LevelError, "": slog.LevelError,
	} {
		if got, err := static.ParseLogLevel(in); err != nil || got != want {
			t.Errorf("%q: %v %v", in, got, err)
		}
	}
	if _, err := static.ParseLogLevel("verbose"); err == nil {
		t.Error("verbose should be rejected")
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "guan.yml")
	if err := os.WriteFile(path, []byte("entryPoints:\n  web:\n    address: \":8000\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, meta, err := static.Load(path)
	if err != nil || c.EntryPoints["web"].Address != ":8000" {
		t.Fatalf("c=%+v err=%v", c, err)
	}
	if got := meta.Pos("entryPoints", "web", "address"); got.Line != 3 || got.File != path {
		t.Fatalf("pos = %v", got)
	}
	if _, _, err := static.Load(filepath.Join(dir, "nope.toml")); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Fatalf("err = %v", err)
	}
}

func TestRedirectionDefaultsAndPortTarget(t *testing.T) {
	src := "[entryPoints.web]\naddress = \":80\"\n[entryPoints.web.http.redirections.entryPoint]\nto = \":443\"\n"
	c, _, err := static.Parse("s.toml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	r := c.EntryPoints["web"].HTTP.Redirections.EntryPoint
	if r.Scheme != "https" || !*r.Permanent || r.Priority == 0 {
		t.Fatalf("redirect = %+v", r)
	}
}

// The QUIC keys are checked with the rest, at their line.
func TestValidateQUICKeys(t *testing.T) {
	src := `
[entryPoints.web]
  address = ":443"
  [entryPoints.web.http3]
    advertisedPort = 70000
  [entryPoints.web.quic]
    maxIncomingStreams = -1
    maxIdleTimeout = "0s"
[entryPoints.both]
  address = ":8883"
  [entryPoints.both.http3]
  [entryPoints.both.mqtt]
    quic = true
[entryPoints.none]
  address = ":9000"
  [entryPoints.none.quic]
    handshakeTimeout = "5s"
`
	_, _, err := static.Parse("q.toml", []byte(src))
	var errs config.Errors
	if !errors.As(err, &errs) {
		t.Fatalf("err = %v", err)
	}
	want := []string{
		`q.toml:5:5: entryPoints.web.http3.advertisedPort: 70000 is not a port`,
		`q.toml:7:5: entryPoints.web.quic.maxIncomingStreams: must not be negative`,
		`q.toml:8:5: entryPoints.web.quic.maxIdleTimeout: must be positive, got 0s`,
		`q.toml:13:5: entryPoints.both.mqtt.quic: http3 is on too`,
		`q.toml:16:21: entryPoints.none.quic: nothing listens on QUIC here`,
	}
	if len(errs) != len(want) {
		t.Fatalf("got %d errors, want %d:\n%v", len(errs), len(want), err)
	}
	for i, w := range want {
		if !strings.HasPrefix(errs[i].Error(), w) {
			t.Errorf("error %d:\n got %s\nwant %s", i, errs[i], w)
		}
	}
}
