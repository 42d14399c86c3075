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
	if err == nil || !strings.Contains(err.Error(), `unknown key "serversTransport.spiffe"`) {
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
