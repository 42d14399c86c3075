package static_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/guan-gateway/guan/config"
	"github.com/guan-gateway/guan/config/static"
)

func TestAsDefaultReusePortAndServersTransportDecode(t *testing.T) {
	for name, src := range map[string]string{
		"s.toml": `
[entryPoints.web]
  address = ":80"
  asDefault = true
  reusePort = true
[serversTransport]
  insecureSkipVerify = true
  rootCAs = ["ca.pem"]
  maxIdleConnsPerHost = 7
  [serversTransport.forwardingTimeouts]
    dialTimeout = "3s"
    responseHeaderTimeout = "4s"
    idleConnTimeout = 5
`,
		"s.yaml": `
entryPoints:
  web:
    address: ":80"
    asDefault: true
    reusePort: true
serversTransport:
  insecureSkipVerify: true
  rootCAs: [ca.pem]
  maxIdleConnsPerHost: 7
  forwardingTimeouts:
    dialTimeout: 3s
    responseHeaderTimeout: 4s
    idleConnTimeout: 5
`,
	} {
		c, _, err := static.Parse(name, []byte(src))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if ep := c.EntryPoints["web"]; !ep.AsDefault || !ep.ReusePort {
			t.Errorf("%s: entrypoint %+v", name, ep)
		}
		st := c.ServersTransport
		if st == nil || !st.InsecureSkipVerify || len(st.RootCAs) != 1 || st.MaxIdleConnsPerHost != 7 {
			t.Fatalf("%s: serversTransport %+v", name, st)
		}
		ft := st.ForwardingTimeouts
		if ft.DialTimeout.Std() != 3*time.Second || ft.ResponseHeaderTimeout.Std() != 4*time.Second || ft.IdleConnTimeout.Std() != 5*time.Second {
			t.Errorf("%s: forwardingTimeouts %+v", name, ft)
		}
	}
}

func TestServersTransportValidation(t *testing.T) {
	src := `
[entryPoints.web]
  address = ":80"
[serversTransport]
  rootCAs = ["ca.pem", " "]
  [serversTransport.forwardingTimeouts]
    dialTimeout = "-1s"
    idleConnTimeout = "-2s"
`
	_, _, err := static.Parse("s.toml", []byte(src))
	var errs config.Errors
	if !errors.As(err, &errs) {
		t.Fatalf("err = %v", err)
	}
	want := []string{
		`s.toml:5:24: serversTransport.rootCAs[1]: is empty`,
		`s.toml:7:5: serversTransport.forwardingTimeouts.dialTimeout: must not be negative, got -1s`,
		`s.toml:8:5: serversTransport.forwardingTimeouts.idleConnTimeout: must not be negative, got -2s`,
	}
	if len(errs) != len(want) {
		t.Fatalf("got %d errors, want %d:\n%v", len(errs), len(want), err)
	}
	for i, w := range want {
		if !strings.HasPrefix(errs[i].Error(), w) {
			t.Errorf("error %d:\n got %s\nwant %s", i, errs[i], w)
		}
	}
	_, _, err = static.Parse("s.toml", []byte("[serversTransport]\n  spiffe = {}\n"))
	if err == nil || !strings.Contains(err.Error(), `serversTransport.spiffe: not supported yet (SPIFFE identities)`) {
		t.Errorf("unsupported key: %v", err)
	}
}

func TestBaseDirIsTheFilesDirectory(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "guan.toml")
	if err := os.WriteFile(path, []byte("[entryPoints.web]\naddress = \":80\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, _, err := static.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if c.BaseDir() != dir {
		t.Errorf("BaseDir = %q, want %q", c.BaseDir(), dir)
	}
	c, _, err = static.Parse("embedded:guan.toml", []byte("[entryPoints.web]\naddress = \":80\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if wd, _ := os.Getwd(); c.BaseDir() != wd {
		t.Errorf("embedded BaseDir = %q, want the working directory %q", c.BaseDir(), wd)
	}
}

func TestLogRotationKeys(t *testing.T) {
	c, _, err := static.Parse("s.yaml", []byte("log:\n  filePath: gw.log\n  maxSize: 10\n  maxBackups: 3\n  maxAge: 7\n  compress: true\n"))
	if err != nil {
		t.Fatal(err)
	}
	if l := c.Log; l.MaxSize != 10 || l.MaxBackups != 3 || l.MaxAge != 7 || !l.Compress || !l.Rotates() {
		t.Fatalf("log %+v", l)
	}
	if c, _, _ := static.Parse("s.yaml", []byte("log:\n  filePath: gw.log\n")); c.Log.Rotates() {
		t.Fatal("rotation on without any rotation key")
	}
	_, _, err = static.Parse("s.toml", []byte("[log]\n  maxSize = -1\n  compress = true\n"))
	for _, want := range []string{
		"s.toml:1:2: log.filePath: maxSize, maxBackups, maxAge and compress rotate a log file: set filePath too",
		"s.toml:2:3: log.maxSize: must not be negative, got -1",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("err = %v, want %q", err, want)
		}
	}
}

// Keys of Traefik v3's static reference that Guan reads: the static
// tcpServersTransport, forwardedHeaders.connection,
// http.encodeQuerySemicolons, http.tls.domains, api.disableDashboardAd and
// metrics.prometheus.headerLabels.
func TestTraefikCompatibilityKeys(t *testing.T) {
	for name, src := range map[string]string{
		"s.toml": `
[entryPoints.web]
  address = ":80"
  [entryPoints.web.forwardedHeaders]
    connection = ["X-Trace-Id"]
  [entryPoints.web.http]
    encodeQuerySemicolons = true
    [entryPoints.web.http.tls]
      certResolver = "le"
      [[entryPoints.web.http.tls.domains]]
        main = "example.com"
        sans = ["*.example.com"]
[tcpServersTransport]
  dialTimeout = "3s"
  dialKeepAlive = "-1s"
  terminationDelay = "250ms"
  [tcpServersTransport.tls]
    insecureSkipVerify = true
[api]
  disableDashboardAd = true
[metrics.prometheus]
  [metrics.prometheus.headerLabels]
    tenant = "X-Tenant"
`,
		"s.yaml": `
entryPoints:
  web:
    address: ":80"
    forwardedHeaders:
      connection: [X-Trace-Id]
    http:
      encodeQuerySemicolons: true
      tls:
        certResolver: le
        domains:
          - main: example.com
            sans: ["*.example.com"]
tcpServersTransport:
  dialTimeout: 3s
  dialKeepAlive: -1s
  terminationDelay: 250ms
  tls:
    insecureSkipVerify: true
api:
  disableDashboardAd: true
metrics:
  prometheus:
    headerLabels:
      tenant: X-Tenant
`,
	} {
		c, _, err := static.Parse(name, []byte(src))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		ep := c.EntryPoints["web"]
		if len(ep.ForwardedHeaders.Connection) != 1 || !ep.HTTP.EncodeQuerySemicolons ||
			len(ep.HTTP.TLS.Domains) != 1 || ep.HTTP.TLS.Domains[0].SANs[0] != "*.example.com" {
			t.Errorf("%s: entrypoint %+v %+v", name, ep.ForwardedHeaders, ep.HTTP)
		}
		st := c.TCPServersTransport
		if st == nil || st.DialTimeout.Std() != 3*time.Second || st.DialKeepAlive.Std() != -time.Second ||
			st.TerminationDelay.Std() != 250*time.Millisecond || !st.TLS.InsecureSkipVerify {
			t.Errorf("%s: tcpServersTransport %+v", name, st)
		}
		if !c.API.DisableDashboardAd || c.Metrics.Prometheus.HeaderLabels["tenant"] != "X-Tenant" {
			t.Errorf("%s: api %+v, headerLabels %v", name, c.API, c.Metrics.Prometheus.HeaderLabels)
		}
	}

	_, _, err := static.Parse("s.toml", []byte(`
[entryPoints.web]
  address = ":80"
  [entryPoints.web.forwardedHeaders]
    connection = ["X Trace"]
[tcpServersTransport]
  dialTimeout = "-1s"
  [tcpServersTransport.tls]
    rootCAs = [""]
[metrics.prometheus.headerLabels]
  "9lives" = "X-A"
  code = "X-B"
  tenant = "X Tenant"
`))
	var errs config.Errors
	if !errors.As(err, &errs) {
		t.Fatalf("err = %v", err)
	}
	for _, want := range []string{
		`s.toml:5:19: entryPoints.web.forwardedHeaders.connection[0]: "X Trace" is not a valid header name`,
		`s.toml:7:3: tcpServersTransport.dialTimeout: must not be negative, got -1s`,
		`s.toml:9:16: tcpServersTransport.tls.rootCAs[0]: is empty`,
		`s.toml:11:3: metrics.prometheus.headerLabels.9lives: "9lives" is not a valid Prometheus label name`,
		`s.toml:12:3: metrics.prometheus.headerLabels.code: "code" is already a label of the request metrics`,
		`s.toml:13:3: metrics.prometheus.headerLabels.tenant: "X Tenant" is not a valid header name`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in\n%v", want, err)
		}
	}
	if len(errs) != 6 {
		t.Errorf("got %d errors, want 6:\n%v", len(errs), err)
	}
}
