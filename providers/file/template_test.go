package file_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/guan-gateway/guan/config/static"
	"github.com/guan-gateway/guan/providers/file"
)

// TestTemplates: dynamic files are Go templates with sprig's functions, as
// in Traefik; errors point at the template's line.
func TestTemplates(t *testing.T) {
	t.Setenv("GUAN_TEST_BACKEND", "http://10.0.0.7:8080")
	dir := t.TempDir()
	write(t, filepath.Join(dir, "t.yaml"), `http:
  routers:
{{- range $i, $name := list "a.example" "b.example" }}
    {{ normalize $name }}:
      rule: "Host(`+"`{{ $name }}`"+`)"
      service: svc
{{- end }}
  services:
    svc:
      loadBalancer:
        servers:
          - url: {{ env "GUAN_TEST_BACKEND" | quote }}
`)
	write(t, filepath.Join(dir, "plain.toml"), "[http.middlewares.m.headers.customRequestHeaders]\n  X-Literal = \"{ not a template }\"\n")
	m := file.New(static.FileProvider{Directory: dir}, nil).Load()
	if m.Err != nil {
		t.Fatal(m.Err)
	}
	h := m.Config.HTTP
	if len(h.Routers) != 2 || h.Routers["b-example"] == nil || h.Routers["b-example"].Rule != "Host(`b.example`)" {
		t.Fatalf("routers %v", h.Routers)
	}
	if u := h.Services["svc"].LoadBalancer.Servers[0].URL; u != "http://10.0.0.7:8080" {
		t.Fatalf("server url %q", u)
	}

	for body, want := range map[string]string{
		"http:\n  routers:\n    {{ if }}\n":                "t.yaml:3: template: missing value for if",
		"http:\n\n  services: {{ fail \"no backend\" }}\n": "t.yaml:3:16: template: at <fail \"no backend\">: error calling fail: no backend",
		"http:\n  routers: {{ nosuch }}\n":                 `t.yaml:2: template: function "nosuch" not defined`,
		"http:\n  routers: {{ \"[\" }}\n":                  "(positions are in the file as its template generated it)",
	} {
		write(t, filepath.Join(dir, "t.yaml"), body)
		m := file.New(static.FileProvider{Directory: dir}, nil).Load()
		if m.Err == nil || !strings.Contains(m.Err.Error(), want) {
			t.Errorf("%q: got %v, want %q", body, m.Err, want)
		}
	}
}
