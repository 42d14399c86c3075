package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseArgs(t *testing.T) {
	tests := []struct {
		args       []string
		configFile string
		flags      []string // name=value, or name for a bare flag
		err        string
	}{
		{args: []string{"--configFile=a.toml"}, configFile: "a.toml"},
		{args: []string{"-configfile", "b.yaml"}, configFile: "b.yaml"},
		{args: []string{"--CONFIGFILE=c.toml"}, configFile: "c.toml"},
		{args: []string{"--configFile"}, err: "--configFile needs a value"},
		{args: []string{"--configFile="}, err: "the path is empty"},
		{
			// A key that takes a value reads the next argument; booleans
			// and sections do not.
			args:  []string{"--entryPoints.web.address", ":80", "--api.insecure", "--log.level", "DEBUG", "--ping", "--accessLog=true"},
			flags: []string{"--entryPoints.web.address=:80", "--api.insecure", "--log.level=DEBUG", "--ping", "--accessLog=true"},
		},
		{args: []string{"--log.level"}, flags: []string{"--log.level"}}, // reported when decoded
		{args: []string{"--api.insecure", "true"}, err: `unknown argument "true"`},
		{args: []string{"stray"}, err: `unknown argument "stray"`},
		{args: []string{"--ping", "--configFile=a.toml"}, err: "--ping: static flags cannot be combined with --configFile"},
		{args: []string{"--configfile", "a.toml", "--api.insecure"}, err: "--api.insecure: static flags cannot be combined with --configfile"},
	}
	for _, tt := range tests {
		src, help, err := parseArgs(tt.args)
		if help {
			t.Errorf("%q: help", tt.args)
		}
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%q: err = %v, want %q", tt.args, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tt.args, err)
			continue
		}
		var flags []string
		for _, s := range src.flags {
			if s.Bare {
				flags = append(flags, s.Name)
			} else {
				flags = append(flags, s.Name+"="+s.Value)
			}
		}
		if src.configFile != tt.configFile || strings.Join(flags, " ") != strings.Join(tt.flags, " ") {
			t.Errorf("%q: configFile %q flags %q", tt.args, src.configFile, flags)
		}
	}
	for _, h := range []string{"-h", "--help", "-help"} {
		if _, help, _ := parseArgs([]string{"--ping", h}); !help {
			t.Errorf("%s is not help", h)
		}
	}
}

func TestHelpMentionsEverySource(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"--help"}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	for _, s := range []string{"--configFile=PATH", "--entryPoints.web.address=:80", "--api.insecure", "GUAN_ENTRYPOINTS_WEB_ADDRESS", "TRAEFIK_", "traefik-style.toml"} {
		if !strings.Contains(out.String(), s) {
			t.Errorf("help lacks %q:\n%s", s, out.String())
		}
	}
	if code := run([]string{"check", "--configFile=x.toml", "--ping"}, &out, &errOut); code != 2 {
		t.Errorf("--configFile with flags: exit %d", code)
	}
}

// One source only: --configFile, else flags, else environment variables,
// else the default file (here, in a directory without one, the embedded
// copy).
func TestLoadStaticPrecedence(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "s.toml")
	if err := os.WriteFile(file, []byte("[entryPoints.fromfile]\n  address = \":1\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	env := []string{"GUAN_ENTRYPOINTS_FROMENV_ADDRESS=:3", "PATH=/bin"}
	flags, _, err := parseArgs([]string{"--entryPoints.fromflags.address=:2"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		src  staticSource
		used string
		ep   string
	}{
		{staticSource{configFile: file, environ: env}, file, "fromfile"},
		{staticSource{flags: flags.flags, environ: env}, sourceFlags, "fromflags"},
		{staticSource{environ: env}, sourceEnv, "fromenv"},
		{staticSource{environ: []string{"GUAN_LISTEN_FDS=web:3"}}, "embedded:traefik-style.toml", "web"},
	}
	for _, tt := range tests {
		cfg, used, err := loadStatic(tt.src)
		if err != nil {
			t.Errorf("%s: %v", tt.used, err)
			continue
		}
		if used != tt.used || cfg.EntryPoints[tt.ep] == nil {
			t.Errorf("used %q, entrypoints %v; want %q with %q", used, cfg.EntryPoints, tt.used, tt.ep)
		}
	}

	_, used, err := loadStatic(staticSource{environ: []string{"GUAN_API_INSECURE=maybe"}})
	if err == nil || used != sourceEnv || describe(used, err) != "static configuration from environment variables:\nGUAN_API_INSECURE: expected a boolean, got \"maybe\"" {
		t.Errorf("used %q: %v", used, err)
	}
}
