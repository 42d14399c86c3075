package routers

import (
	"path/filepath"
	"testing"

	"github.com/guan-gateway/guan/config/decode"
	"github.com/guan-gateway/guan/config/dynamic"
)

// Every routing example decodes with the project decoder and every rule in it
// compiles, so the documentation never shows a rule the gateway rejects.
func TestRoutingExamples(t *testing.T) {
	files, err := filepath.Glob("../examples/reference/routing/*.*ml")
	if err != nil || len(files) < 4 {
		t.Fatalf("found %d example files (%v)", len(files), err)
	}
	for _, file := range files {
		var cfg dynamic.Configuration
		if _, err := decode.File(file, &cfg); err != nil {
			t.Errorf("%s: %v", file, err)
			continue
		}
		rules := 0
		if cfg.HTTP != nil {
			for name, r := range cfg.HTTP.Routers {
				rules++
				if _, err := ParseHTTP(r.Rule, r.RuleSyntax); err != nil {
					t.Errorf("%s: http router %q: %v", file, name, err)
				}
			}
		}
		if cfg.TCP != nil {
			for name, r := range cfg.TCP.Routers {
				rules++
				if _, err := ParseTCP(r.Rule, r.RuleSyntax); err != nil {
					t.Errorf("%s: tcp router %q: %v", file, name, err)
				}
			}
		}
		if rules == 0 {
			t.Errorf("%s: no routers", file)
		}
	}
}

// The documented behaviour of the example rules.
func TestExampleRulesBehave(t *testing.T) {
	var cfg dynamic.Configuration
	if _, err := decode.File("../examples/reference/routing/http-rules.yaml", &cfg); err != nil {
		t.Fatal(err)
	}
	var routes []Route
	for name, r := range cfg.HTTP.Routers {
		routes = append(routes, Route{Name: name, Rule: must(ParseHTTP(r.Rule, r.RuleSyntax)), Priority: r.Priority})
	}
	table := NewTable(routes)
	tests := []struct {
		r    string
		opts []string
		want string
	}{
		{"http://api.example.com/v1/x", nil, "api"},
		{"http://api.example.com/users/12", nil, "users"},
		{"http://api.example.com/users/x", nil, "fallback"},
		{"http://api.example.com/other?canary=1", nil, "canary"},
		{"http://www.example.com/", nil, "www"},
		{"http://acme.example.org/", nil, "tenants"},
		{"http://example.com/admin/x", []string{"remote=10.0.0.1:1"}, "admin"},
		{"http://example.com/admin/x", []string{"remote=192.0.2.1:1"}, "www"},
		{"http://x.test/healthz", nil, "health"},
		{"http://x.test/", []string{"User-Agent: Mozilla (iPhone)"}, "mobile"},
		{"http://x.test/?debug", []string{"User-Agent: Mozilla (iPhone)"}, "fallback"},
		{"http://quoted.example.com/", []string{`X-Note: say "hi"`}, "quoted"},
	}
	for _, tt := range tests {
		got := table.Lookup(req("GET", tt.r, tt.opts...))
		if routeName(got) != tt.want {
			t.Errorf("%s %v: got %s, want %s", tt.r, tt.opts, routeName(got), tt.want)
		}
	}
}
