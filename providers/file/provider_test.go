package file_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/guan-gateway/guan/config"
	"github.com/guan-gateway/guan/config/static"
	"github.com/guan-gateway/guan/providers"
	"github.com/guan-gateway/guan/providers/file"
)

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func router(name, rule string) string {
	return "[http.routers." + name + "]\n  rule = \"" + rule + "\"\n  service = \"s\"\n"
}

// run starts the provider and returns its output channel.
func run(t *testing.T, cfg static.FileProvider) (*file.Provider, <-chan providers.Message) {
	t.Helper()
	p := file.New(cfg, nil)
	ctx, cancel := context.WithCancel(context.Background())
	out := make(chan providers.Message)
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx, out) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Run did not return after cancel")
		}
	})
	return p, out
}

// waitFor returns the first message that satisfies ok, skipping others.
func waitFor(t *testing.T, out <-chan providers.Message, what string, ok func(providers.Message) bool) providers.Message {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case m := <-out:
			if ok(m) {
				return m
			}
		case <-deadline:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func hasRule(name, rule string) func(providers.Message) bool {
	return func(m providers.Message) bool {
		if m.Err != nil || m.Config == nil || m.Config.HTTP == nil {
			return false
		}
		r := m.Config.HTTP.Routers[name]
		return r != nil && r.Rule == rule
	}
}

func TestWatchFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "dynamic.toml")
	write(t, path, router("web", "Path(`/v1`)"))
	_, out := run(t, static.FileProvider{Filename: path})

	m := waitFor(t, out, "initial config", hasRule("web", "Path(`/v1`)"))
	if m.Provider != "file" || m.BaseDir != dir || m.Meta.Pos("http", "routers", "web", "rule").Line != 2 {
		t.Fatalf("message = %+v", m)
	}

	t.Run("edit in place", func(t *testing.T) {
		write(t, path, router("web", "Path(`/v2`)"))
		waitFor(t, out, "edited config", hasRule("web", "Path(`/v2`)"))
	})
	t.Run("atomic rename save", func(t *testing.T) {
		tmp := filepath.Join(dir, ".dynamic.toml.swp")
		write(t, tmp, router("web", "Path(`/v3`)"))
		if err := os.Rename(tmp, path); err != nil {
			t.Fatal(err)
		}
		waitFor(t, out, "renamed config", hasRule("web", "Path(`/v3`)"))
	})
	t.Run("broken then fixed", func(t *testing.T) {
		write(t, path, "[http.routers.web]\n  rule = \"Path(`/v4`)\"\n  priority = \"high\"\n")
		m := waitFor(t, out, "error", func(m providers.Message) bool { return m.Err != nil })
		want := "provider file: " + path + ":3:14: http.routers.web.priority: expected an integer"
		if m.Config != nil || !strings.HasPrefix(m.Err.Error(), want) {
			t.Fatalf("err = %v, config = %v\nwant prefix %s", m.Err, m.Config, want)
		}
		var errs config.Errors
		if !errors.As(m.Err, &errs) || errs[0].Pos.Line != 3 {
			t.Fatalf("Err should unwrap to config.Errors: %#v", m.Err)
		}
		write(t, path, router("web", "Path(`/v5`)"))
		waitFor(t, out, "fixed config", hasRule("web", "Path(`/v5`)"))
	})
}

func TestWatchKubernetesConfigMapSwap(t *testing.T) {
	// A ConfigMap volume: dyn.yaml -> ..data/dyn.yaml, ..data -> ..v1; an
	// update creates ..v2 and renames a new ..data symlink over the old one.
	dir := t.TempDir()
	write(t, filepath.Join(dir, "..v1", "dyn.yaml"), "http:\n  routers:\n    web:\n      rule: Path(`/a`)\n")
	must(t, os.Symlink("..v1", filepath.Join(dir, "..data")))
	must(t, os.Symlink(filepath.Join("..data", "dyn.yaml"), filepath.Join(dir, "dyn.yaml")))

	_, out := run(t, static.FileProvider{Filename: filepath.Join(dir, "dyn.yaml")})
	waitFor(t, out, "initial", hasRule("web", "Path(`/a`)"))

	write(t, filepath.Join(dir, "..v2", "dyn.yaml"), "http:\n  routers:\n    web:\n      rule: Path(`/b`)\n")
	must(t, os.Symlink("..v2", filepath.Join(dir, "..data_tmp")))
	must(t, os.Rename(filepath.Join(dir, "..data_tmp"), filepath.Join(dir, "..data")))
	waitFor(t, out, "swapped", hasRule("web", "Path(`/b`)"))
}

func TestWatchDirectory(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "a.toml"), router("a", "Path(`/a`)"))
	write(t, filepath.Join(dir, "b.yaml"), "http:\n  services:\n    s:\n      loadBalancer:\n        servers:\n          - url: http://127.0.0.1:9001\n")
	_, out := run(t, static.FileProvider{Directory: dir})

	m := waitFor(t, out, "initial", hasRule("a", "Path(`/a`)"))
	if m.BaseDir != dir || m.Config.HTTP.Services["s"] == nil {
		t.Fatalf("message = %+v", m)
	}

	t.Run("file in a new subdirectory", func(t *testing.T) {
		write(t, filepath.Join(dir, "team", "nested", "c.yml"), "http:\n  routers:\n    c:\n      rule: Path(`/c`)\n")
		waitFor(t, out, "nested file", hasRule("c", "Path(`/c`)"))
		// The new directory is watched too.
		write(t, filepath.Join(dir, "team", "nested", "c.yml"), "http:\n  routers:\n    c:\n      rule: Path(`/c2`)\n")
		waitFor(t, out, "nested edit", hasRule("c", "Path(`/c2`)"))
	})
	t.Run("delete a file", func(t *testing.T) {
		must(t, os.Remove(filepath.Join(dir, "a.toml")))
		waitFor(t, out, "router a gone", func(m providers.Message) bool {
			return m.Err == nil && m.Config.HTTP.Routers["a"] == nil && m.Config.HTTP.Routers["c"] != nil
		})
	})
	t.Run("duplicate name across files", func(t *testing.T) {
		write(t, filepath.Join(dir, "z.toml"), "\n"+router("c", "Path(`/z`)"))
		m := waitFor(t, out, "duplicate warning", func(m providers.Message) bool { return len(m.Warnings) > 0 })
		want := "provider file: " + filepath.Join(dir, "z.toml") + `:2:15: HTTP router "c" is already defined at ` +
			filepath.Join(dir, "team", "nested", "c.yml") + ":3:5"
		if m.Err != nil || !strings.HasPrefix(m.Warnings[0].Error(), want) {
			t.Fatalf("err = %v, warnings = %v\nwant prefix %s", m.Err, m.Warnings, want)
		}
		if r := m.Config.HTTP.Routers["c"]; r == nil || r.Rule == "Path(`/z`)" {
			t.Fatalf("router c = %+v: the first definition must win", r)
		}
	})
}

func TestReloadAndNoWatch(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "d.yaml")
	write(t, path, "http:\n  routers:\n    r:\n      rule: Path(`/1`)\n")
	off := false
	p, out := run(t, static.FileProvider{Filename: path, Watch: &off})
	waitFor(t, out, "initial", hasRule("r", "Path(`/1`)"))

	write(t, path, "http:\n  routers:\n    r:\n      rule: Path(`/2`)\n")
	select {
	case m := <-out:
		t.Fatalf("watch is off but got %+v", m)
	case <-time.After(300 * time.Millisecond):
	}
	p.Reload()
	waitFor(t, out, "forced reload", hasRule("r", "Path(`/2`)"))
	p.Reload() // unchanged content is still sent when forced
	waitFor(t, out, "second forced reload", hasRule("r", "Path(`/2`)"))
}

func TestRunReturnsWhenOutputIsFull(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "d.toml")
	write(t, path, router("r", "Path(`/`)"))
	p := file.New(static.FileProvider{Filename: path}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx, make(chan providers.Message)) }() // nobody reads
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run blocked on a full channel")
	}
}

func TestLoadDirectory(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "b.toml"), "[[tls.certificates]]\n  certFile = \"b.pem\"\n[tls.options.modern]\n  minVersion = \"VersionTLS13\"\n")
	write(t, filepath.Join(dir, "a.yaml"), "tls:\n  certificates:\n    - certFile: a.pem\n")
	write(t, filepath.Join(dir, "sub", "c.json"), `{"tcp": {"routers": {"t": {"rule": "HostSNI(`+"`*`"+`)", "service": "ts"}}}}`)
	// Not read: hidden, editor leftovers, other extensions, hidden dirs.
	write(t, filepath.Join(dir, ".hidden.toml"), "bad")
	write(t, filepath.Join(dir, "a.toml~"), "bad")
	write(t, filepath.Join(dir, "#a.toml#"), "bad")
	write(t, filepath.Join(dir, "notes.txt"), "bad")
	write(t, filepath.Join(dir, ".git", "x.toml"), "bad")

	m := file.New(static.FileProvider{Directory: dir}, nil).Load()
	if m.Err != nil {
		t.Fatal(m.Err)
	}
	certs := m.Config.TLS.Certificates
	if len(certs) != 2 || certs[0].CertFile != "a.pem" || certs[1].CertFile != "b.pem" {
		t.Fatalf("certificates in lexical file order: %+v", certs)
	}
	if got := m.Meta.Pos("tls", "certificates", "1", "certFile").String(); got != filepath.Join(dir, "b.toml")+":2:3" {
		t.Errorf("cert 1 position = %s", got)
	}
	if m.Config.TCP.Routers["t"] == nil || m.Config.TLS.Options["modern"] == nil {
		t.Fatalf("config = %+v", m.Config)
	}
}

func TestLoadDuplicates(t *testing.T) {
	tests := []struct {
		name, a, b, want string
	}{
		{"service", "[http.services.s.loadBalancer]\n", "http:\n  services:\n    s: {weighted: {}}\n", `HTTP service "s" is already defined at`},
		{"middleware", "[http.middlewares.m.compress]\n", "http:\n  middlewares:\n    m: {compress: {}}\n", `HTTP middleware "m"`},
		{"transport", "[http.serversTransports.t]\n", "http:\n  serversTransports:\n    t: {}\n", `servers transport "t"`},
		{"tcp router", "[tcp.routers.r]\n", "tcp:\n  routers:\n    r: {}\n", `TCP router "r"`},
		{"tcp service", "[tcp.services.s]\n", "tcp:\n  services:\n    s: {}\n", `TCP service "s"`},
		{"tls option", "[tls.options.o]\n", "tls:\n  options:\n    o: {}\n", `TLS option "o"`},
		{"tls store", "[tls.stores.default]\n", "tls:\n  stores:\n    default: {}\n", `TLS store "default"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			write(t, filepath.Join(dir, "1.toml"), tt.a)
			write(t, filepath.Join(dir, "2.yaml"), tt.b)
			m := file.New(static.FileProvider{Directory: dir}, nil).Load()
			if m.Err != nil || m.Config == nil {
				t.Fatalf("a name defined twice refused the files: %v", m.Err)
			}
			if len(m.Warnings) != 1 {
				t.Fatalf("warnings = %v", m.Warnings)
			}
			w := m.Warnings[0].Error()
			if !strings.Contains(w, tt.want) || !strings.Contains(w, filepath.Join(dir, "2.yaml")+":3:") || !strings.Contains(w, filepath.Join(dir, "1.toml")+":1:") {
				t.Fatalf("warning = %s", w)
			}
		})
	}
	t.Run("first definition wins", func(t *testing.T) {
		dir := t.TempDir()
		write(t, filepath.Join(dir, "1.toml"), "[http.services.s.loadBalancer]\n")
		write(t, filepath.Join(dir, "2.yaml"), "http:\n  services:\n    s:\n      weighted: {}\n")
		m := file.New(static.FileProvider{Directory: dir}, nil).Load()
		s := m.Config.HTTP.Services["s"]
		if s.LoadBalancer == nil || s.Weighted != nil {
			t.Fatalf("service s = %+v", s)
		}
		if pos := m.Meta.Pos("http", "services", "s", "weighted"); pos.File != filepath.Join(dir, "1.toml") {
			t.Fatalf("the skipped definition's keys still have positions: %v", pos)
		}
	})
}

func TestLoadMissingSource(t *testing.T) {
	dir := t.TempDir()
	for _, cfg := range []static.FileProvider{
		{Filename: filepath.Join(dir, "nope.toml")},
		{Directory: filepath.Join(dir, "nope")},
		{},
	} {
		m := file.New(cfg, nil).Load()
		if m.Err == nil || m.Config != nil || !strings.HasPrefix(m.Err.Error(), "provider file: ") {
			t.Errorf("%+v: %+v", cfg, m)
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func BenchmarkLoadDirectory(b *testing.B) {
	dir := b.TempDir()
	for _, n := range []string{"a", "b", "c", "d"} {
		if err := os.WriteFile(filepath.Join(dir, n+".toml"), []byte(router(n, "Path(`/"+n+"`)")), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	p := file.New(static.FileProvider{Directory: dir}, nil)
	b.ReportAllocs()
	for b.Loop() {
		if m := p.Load(); m.Err != nil {
			b.Fatal(m.Err)
		}
	}
}
