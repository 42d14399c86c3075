package decode_test

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/guan-gateway/guan/config"
	"github.com/guan-gateway/guan/config/decode"
	"github.com/guan-gateway/guan/config/dynamic"
	"github.com/guan-gateway/guan/config/static"
)

func ptr[T any](v T) *T { return &v }

// Each case is written once in TOML and once in YAML; both must give the
// same result.
func TestDecodeBothFormats(t *testing.T) {
	tests := []struct {
		name  string
		toml  string
		yaml  string
		check func(t *testing.T, c *dynamic.Configuration)
		// wantErrs are "line:col: message" suffixes, per format.
		wantTOML []string
		wantYAML []string
	}{
		{
			name: "case-insensitive struct keys, exact map keys",
			toml: `
[http.Routers.Web-Router]
  entrypoints = ["web"]
  RULE = "Host(` + "`example.com`" + `)"
  priority = 7
[http.services.MySvc.loadbalancer]
  passHostHeader = false
`,
			yaml: `
http:
  Routers:
    Web-Router:
      entrypoints: [web]
      RULE: Host(` + "`example.com`" + `)
      priority: 7
  services:
    MySvc:
      loadbalancer:
        passHostHeader: false
`,
			check: func(t *testing.T, c *dynamic.Configuration) {
				r := c.HTTP.Routers["Web-Router"]
				if r == nil || r.Rule != "Host(`example.com`)" || r.Priority != 7 || !reflect.DeepEqual(r.EntryPoints, []string{"web"}) {
					t.Fatalf("router = %+v", r)
				}
				if _, ok := c.HTTP.Routers["web-router"]; ok {
					t.Fatal("map keys must keep their case")
				}
				lb := c.HTTP.Services["MySvc"].LoadBalancer
				if lb.PassHostHeader == nil || *lb.PassHostHeader {
					t.Fatalf("passHostHeader = %v", lb.PassHostHeader)
				}
			},
		},
		{
			name: "arrays of tables and lists of mappings",
			toml: `
[[http.services.s.loadBalancer.servers]]
  url = "http://127.0.0.1:9001"
  weight = 3
[[http.services.s.loadBalancer.servers]]
  url = "http://127.0.0.1:9002"
`,
			yaml: `
http:
  services:
    s:
      loadBalancer:
        servers:
          - url: http://127.0.0.1:9001
            weight: 3
          - url: http://127.0.0.1:9002
`,
			check: func(t *testing.T, c *dynamic.Configuration) {
				want := []dynamic.Server{{URL: "http://127.0.0.1:9001", Weight: ptr(3)}, {URL: "http://127.0.0.1:9002"}}
				if got := c.HTTP.Services["s"].LoadBalancer.Servers; !reflect.DeepEqual(got, want) {
					t.Fatalf("servers = %+v", got)
				}
			},
		},
		{
			name: "embedded struct fields are flattened",
			toml: `
[[tls.certificates]]
  certFile = "/certs/a.pem"
  keyFile = "/certs/a.key"
  stores = ["default"]
`,
			yaml: `
tls:
  certificates:
    - certFile: /certs/a.pem
      keyFile: /certs/a.key
      stores: [default]
`,
			check: func(t *testing.T, c *dynamic.Configuration) {
				want := []*dynamic.CertAndStores{{Certificate: dynamic.Certificate{CertFile: "/certs/a.pem", KeyFile: "/certs/a.key"}, Stores: []string{"default"}}}
				if !reflect.DeepEqual(c.TLS.Certificates, want) {
					t.Fatalf("certificates = %+v", c.TLS.Certificates[0])
				}
			},
		},
		{
			name: "durations from strings and integer seconds",
			toml: `
[http.services.s.loadBalancer.healthCheck]
  interval = "1m30s"
  timeout = 3
`,
			yaml: `
http:
  services:
    s:
      loadBalancer:
        healthCheck:
          interval: 1m30s
          timeout: 3
`,
			check: func(t *testing.T, c *dynamic.Configuration) {
				hc := c.HTTP.Services["s"].LoadBalancer.HealthCheck
				if hc.Interval.Std() != 90*time.Second || hc.Timeout.Std() != 3*time.Second {
					t.Fatalf("interval=%v timeout=%v", hc.Interval.Std(), hc.Timeout.Std())
				}
			},
		},
		{
			name: "empty section enables it",
			toml: "[http.middlewares.gz.compress]\n",
			yaml: "http:\n  middlewares:\n    gz:\n      compress:\n",
			check: func(t *testing.T, c *dynamic.Configuration) {
				if c.HTTP.Middlewares["gz"].Compress == nil {
					t.Fatal("compress should be set")
				}
			},
		},
		{
			name: "map of strings keeps header case",
			toml: `
[http.middlewares.h.headers.customRequestHeaders]
  X-Script-Name = "test"
`,
			yaml: `
http:
  middlewares:
    h:
      headers:
        customRequestHeaders:
          X-Script-Name: test
`,
			check: func(t *testing.T, c *dynamic.Configuration) {
				if got := c.HTTP.Middlewares["h"].Headers.CustomRequestHeaders; !reflect.DeepEqual(got, map[string]string{"X-Script-Name": "test"}) {
					t.Fatalf("headers = %v", got)
				}
			},
		},
		{
			name: "type mismatches",
			toml: `
[http.routers.web]
  rule = "Path(` + "`/`" + `)"
  priority = "high"
  entryPoints = "web"
[http.services.s.loadBalancer]
  passHostHeader = "yes"
  [[http.services.s.loadBalancer.servers]]
    url = 9001
`,
			yaml: `
http:
  routers:
    web:
      rule: Path(` + "`/`" + `)
      priority: high
      entryPoints: web
  services:
    s:
      loadBalancer:
        passHostHeader: "yes"
        servers:
          - url: 9001
`,
			wantTOML: []string{
				`f.toml:4:14: http.routers.web.priority: expected an integer, got string "high"`,
				`f.toml:5:17: http.routers.web.entryPoints: expected a list, got string "web" (write ["web"])`,
				`f.toml:7:20: http.services.s.loadBalancer.passHostHeader: expected a boolean (true or false), got string "yes"`,
				`f.toml:9:11: http.services.s.loadBalancer.servers[0].url: expected a string, got integer 9001 (quote it: "9001")`,
			},
			wantYAML: []string{
				`f.yaml:6:17: http.routers.web.priority: expected an integer, got string "high"`,
				`f.yaml:7:20: http.routers.web.entryPoints: expected a list, got string "web" (write ["web"])`,
				`f.yaml:11:25: http.services.s.loadBalancer.passHostHeader: expected a boolean (true or false), got string "yes"`,
				`f.yaml:13:18: http.services.s.loadBalancer.servers[0].url: expected a string, got integer 9001 (quote it: "9001")`,
			},
		},
		{
			name: "unknown keys with suggestions",
			toml: `
[http.routers.web]
  rul = "Path(` + "`/`" + `)"
[http.middlewares.m.plugin]
  average = 100
[htp]
`,
			yaml: `
http:
  routers:
    web:
      rul: Path(` + "`/`" + `)
  middlewares:
    m:
      plugin:
        average: 100
htp: {}
`,
			wantTOML: []string{
				`f.toml:3:3: unknown key "http.routers.web.rul" (did you mean "rule"?)`,
				`f.toml:4:21: http.middlewares.m.plugin: not supported yet (middleware plugins)`,
				`f.toml:6:2: unknown key "htp" (did you mean "http"?)`,
			},
			wantYAML: []string{
				`f.yaml:5:7: unknown key "http.routers.web.rul" (did you mean "rule"?)`,
				`f.yaml:8:7: http.middlewares.m.plugin: not supported yet (middleware plugins)`,
				`f.yaml:10:1: unknown key "htp" (did you mean "http"?)`,
			},
		},
		{
			name: "bad duration and integer overflow",
			toml: `
[http.services.s.loadBalancer.healthCheck]
  interval = "ten seconds"
  port = 99999999999999999999
`,
			yaml: `
http:
  services:
    s:
      loadBalancer:
        healthCheck:
          interval: ten seconds
          port: 99999999999999999999
`,
			wantTOML: []string{
				`f.toml:3:14: http.services.s.loadBalancer.healthCheck.interval: invalid duration "ten seconds"`,
				`f.toml:4:10: http.services.s.loadBalancer.healthCheck.port: integer 99999999999999999999 is out of range`,
			},
			wantYAML: []string{
				`f.yaml:7:21: http.services.s.loadBalancer.healthCheck.interval: invalid duration "ten seconds"`,
				// YAML resolves an overflowing integer as a float.
				`f.yaml:8:17: http.services.s.loadBalancer.healthCheck.port: expected an integer, got float 99999999999999999999`,
			},
		},
		{
			name: "same key twice in different case",
			toml: `
[http.routers.web]
  entryPoints = ["a"]
  entrypoints = ["b"]
`,
			yaml: `
http:
  routers:
    web:
      entryPoints: [a]
      entrypoints: [b]
`,
			wantTOML: []string{`f.toml:4:3: http.routers.web.entryPoints: key "entrypoints" sets the same value as "entryPoints" on line 3`},
			wantYAML: []string{`f.yaml:6:7: http.routers.web.entryPoints: key "entrypoints" sets the same value as "entryPoints" on line 5`},
		},
		{
			name:     "duplicate keys",
			toml:     "[http.routers.web]\nrule = \"a\"\nrule = \"b\"\n",
			yaml:     "http:\n  routers:\n    web:\n      rule: a\n      rule: b\n",
			wantTOML: []string{`f.toml:3:1: duplicate key "http.routers.web.rule" (first defined at line 2)`},
			wantYAML: []string{`f.yaml:5:7: duplicate key "http.routers.web.rule" (first defined at line 4)`},
		},
		{
			name:     "syntax errors",
			toml:     "[http.routers.web]\nrule = \"unterminated\n",
			yaml:     "http:\n  routers: [web\n  x: 1\n",
			wantTOML: []string{`f.toml:2:21: TOML syntax error: basic strings cannot have new lines`},
			wantYAML: []string{`f.yaml:1: YAML syntax error: did not find expected ',' or ']'`},
		},
	}
	for _, tt := range tests {
		for _, format := range []string{"toml", "yaml"} {
			t.Run(tt.name+"/"+format, func(t *testing.T) {
				src, want := tt.toml, tt.wantTOML
				if format == "yaml" {
					src, want = tt.yaml, tt.wantYAML
				}
				var c dynamic.Configuration
				_, err := decode.Bytes("f."+format, []byte(src), &c)
				if len(want) == 0 {
					if err != nil {
						t.Fatalf("unexpected error: %v", err)
					}
					tt.check(t, &c)
					return
				}
				var errs config.Errors
				if !errors.As(err, &errs) {
					t.Fatalf("want config.Errors, got %T %v", err, err)
				}
				if len(errs) != len(want) {
					t.Fatalf("got %d errors, want %d:\n%v", len(errs), len(want), err)
				}
				for i, w := range want {
					if !strings.HasPrefix(errs[i].Error(), w) {
						t.Errorf("error %d:\n got %s\nwant %s", i, errs[i].Error(), w)
					}
				}
			})
		}
	}
}

func TestJSONReadsAsYAML(t *testing.T) {
	src := `{"http": {"routers": {"api": {"rule": "PathPrefix(` + "`/api`" + `)", "service": "s", "priority": 5}}}}`
	var c dynamic.Configuration
	meta, err := decode.Bytes("dyn.json", []byte(src), &c)
	if err != nil {
		t.Fatal(err)
	}
	if r := c.HTTP.Routers["api"]; r.Service != "s" || r.Priority != 5 {
		t.Fatalf("router = %+v", r)
	}
	if p := meta.Pos("http", "routers", "api", "service"); p.Line != 1 || p.Col == 0 {
		t.Fatalf("pos = %v", p)
	}
}

func TestUnknownExtension(t *testing.T) {
	var c dynamic.Configuration
	_, err := decode.Bytes("conf.ini", []byte("a=1"), &c)
	if err == nil || !strings.Contains(err.Error(), `unsupported file extension ".ini"`) {
		t.Fatalf("err = %v", err)
	}
	if _, err := decode.Bytes("x.toml", nil, c); err == nil {
		t.Fatal("non-pointer target must fail")
	}
}

func TestTOMLRedefinitions(t *testing.T) {
	tests := []struct{ src, want string }{
		{"[a]\n[a]\n", `f.toml:2:2: table [a] is defined twice (first at line 1)`},
		{"a = 1\n[a.b]\n", `f.toml:2:2: "a" is already defined as a integer at line 1: it cannot also be a table`},
		{"a = {b = 1}\na.c = 2\n", `f.toml:2:1: "a" is already defined at line 1 and cannot be extended`},
		{"a = [1]\n[[a]]\n", `f.toml:2:3: "a" is already defined as a list at line 1: it cannot also be a table`},
	}
	for _, tt := range tests {
		var v map[string]any
		_, err := decode.Bytes("f.toml", []byte(tt.src), &v)
		if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("%q: got %v, want %s", tt.src, err, tt.want)
		}
	}
}

func TestTOMLValueForms(t *testing.T) {
	src := `
ints = [0x1F, 0o17, 0b101, 1_000, -5]
floats = [1.5, 1e3, 2]
inline = { a = 1, b.c = "x" }
`
	var v struct {
		Ints   []int64
		Floats []float64
		Inline map[string]any
	}
	if _, err := decode.Bytes("f.toml", []byte(src), &v); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(v.Ints, []int64{31, 15, 5, 1000, -5}) || !reflect.DeepEqual(v.Floats, []float64{1.5, 1000, 2}) {
		t.Fatalf("ints=%v floats=%v", v.Ints, v.Floats)
	}
	if !reflect.DeepEqual(v.Inline, map[string]any{"a": int64(1), "b": map[string]any{"c": "x"}}) {
		t.Fatalf("inline=%v", v.Inline)
	}
}

func TestYAMLAnchorsAndMerge(t *testing.T) {
	src := `
x-lb: &lb
  passHostHeader: false
  servers:
    - url: http://127.0.0.1:9001
http:
  services:
    a:
      loadBalancer: *lb
    b:
      loadBalancer:
        <<: *lb
        passHostHeader: true
`
	var v struct {
		XLB  any                        `json:"x-lb"`
		HTTP *dynamic.HTTPConfiguration `json:"http"`
	}
	if _, err := decode.Bytes("f.yml", []byte(src), &v); err != nil {
		t.Fatal(err)
	}
	a, b := v.HTTP.Services["a"].LoadBalancer, v.HTTP.Services["b"].LoadBalancer
	if *a.PassHostHeader || !*b.PassHostHeader || len(b.Servers) != 1 || b.Servers[0].URL != "http://127.0.0.1:9001" {
		t.Fatalf("a=%+v b=%+v", a, b)
	}
}

func TestYAMLAliasBomb(t *testing.T) {
	var b strings.Builder
	b.WriteString("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i < 12; i++ {
		prev := "*a" + string(rune('0'+i-1))
		if i > 9 {
			prev = "*b" + string(rune('0'+i-10))
		}
		name := "a" + string(rune('0'+i))
		if i > 9 {
			name = "b" + string(rune('0'+i-10))
		}
		b.WriteString(name + ": &" + name + " [" + strings.Repeat(prev+", ", 9) + prev + "]\n")
	}
	var v map[string]any
	start := time.Now()
	_, err := decode.Bytes("bomb.yaml", []byte(b.String()), &v)
	if err == nil || !strings.Contains(err.Error(), "too many aliases") {
		t.Fatalf("err = %v", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("took %v", d)
	}
}

func TestCollectsAllErrorsInFileOrder(t *testing.T) {
	src := "[http.routers.b]\npriority = \"x\"\n[http.routers.a]\npriority = \"y\"\nbogus = 1\n"
	var c dynamic.Configuration
	_, err := decode.Bytes("f.toml", []byte(src), &c)
	var errs config.Errors
	if !errors.As(err, &errs) || len(errs) != 3 {
		t.Fatalf("err = %v", err)
	}
	for i := 1; i < len(errs); i++ {
		if errs[i].Pos.Line < errs[i-1].Pos.Line {
			t.Fatalf("errors out of order: %v", err)
		}
	}
}

func TestMetaPositions(t *testing.T) {
	src := `
[entryPoints.web]
  address = ":80"
[entryPoints.web.transport.respondingTimeouts]
  readTimeout = "5s"
[providers.file]
  directory = "/etc/guan"
[accessLog.filters]
  statusCodes = ["200", "500-599"]
`
	var c static.Configuration
	meta, err := decode.Bytes("static.toml", []byte(src), &c)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path []string
		want string
	}{
		{[]string{"entryPoints", "web", "address"}, "static.toml:3:3"},
		{[]string{"entryPoints", "web", "transport", "respondingTimeouts", "readTimeout"}, "static.toml:5:3"},
		// Unset key: the closest written parent.
		{[]string{"entryPoints", "web", "transport", "respondingTimeouts", "idleTimeout"}, "static.toml:4:28"},
		{[]string{"accessLog", "filters", "statusCodes", "1"}, "static.toml:9:25"},
		{[]string{"api", "basePath"}, "static.toml"},
		{nil, "static.toml"},
	}
	for _, tt := range tests {
		if got := meta.Pos(tt.path...).String(); got != tt.want {
			t.Errorf("Pos(%v) = %s, want %s", tt.path, got, tt.want)
		}
	}
	var nilMeta *decode.Meta
	if p := nilMeta.Pos("a"); p != (config.Position{}) {
		t.Fatalf("nil meta = %v", p)
	}
}

func TestMetaMergeAndShift(t *testing.T) {
	var a, b dynamic.Configuration
	ma, err := decode.Bytes("a.toml", []byte("[[tls.certificates]]\ncertFile = \"a\"\n"), &a)
	if err != nil {
		t.Fatal(err)
	}
	mb, err := decode.Bytes("b.yaml", []byte("tls:\n  certificates:\n    - certFile: b\n"), &b)
	if err != nil {
		t.Fatal(err)
	}
	mb.ShiftIndex(1, "tls", "certificates")
	all := decode.NewMeta("dir")
	all.Merge(ma)
	all.Merge(mb)
	if got := all.Pos("tls", "certificates", "0", "certFile").String(); got != "a.toml:2:1" {
		t.Errorf("cert 0 = %s", got)
	}
	if got := all.Pos("tls", "certificates", "1", "certFile").String(); got != "b.yaml:3:7" {
		t.Errorf("cert 1 = %s", got)
	}
	if got := all.Pos("nope").String(); got != "dir" {
		t.Errorf("fallback = %s", got)
	}
}

func TestFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "d.yaml")
	if err := os.WriteFile(path, []byte("http:\n  routers:\n    r:\n      service: s\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var c dynamic.Configuration
	if _, err := decode.File(path, &c); err != nil || c.HTTP.Routers["r"].Service != "s" {
		t.Fatalf("err=%v cfg=%+v", err, c.HTTP)
	}
	_, err := decode.File(filepath.Join(dir, "missing.toml"), &c)
	if err == nil || !strings.Contains(err.Error(), "missing.toml: cannot read the file: no such file or directory") {
		t.Fatalf("err = %v", err)
	}
}

// A Traefik section Guan does not implement is still an error, but the
// message says so instead of suggesting a look-alike key ("tcp" for
// "udp", "providersThrottleDuration, file" for "docker").
func TestUnsupportedTraefikSections(t *testing.T) {
	var st static.Configuration
	_, err := decode.Bytes("s.toml", []byte(`
[entryPoints.web]
  address = ":80"
  [entryPoints.web.udp]
[providers.docker]
  exposedByDefault = false
[providers.File]
  filename = "d.toml"
[Tracing]
[metrics.datadog]
`), &st)
	want := []string{
		`s.toml:4:20: entryPoints.web.udp: not supported yet (UDP entrypoints)`,
		`s.toml:5:12: providers.docker: not supported yet (Traefik's Docker provider); Guan reads dynamic configuration from files (providers.file)`,
		`s.toml:9:2: Tracing: not supported yet (Traefik's OpenTelemetry tracing)`,
		`s.toml:10:10: metrics.datadog: not supported yet (Traefik's Datadog metrics exporter); Guan exports Prometheus metrics (metrics.prometheus)`,
	}
	checkErrors(t, err, want)

	var dyn dynamic.Configuration
	_, err = decode.Bytes("d.yaml", []byte(`
http:
  middlewares:
    limit:
      plugin:
        average: 10
    certs: {passTLSClientCert: {pem: true}}
  serversTransports:
    st:
      spiffe: {}
udp:
  routers: {}
tcp:
  services:
    t:
      loadBalancer:
        proxyProtocol:
          version: 2
`), &dyn)
	want = []string{
		`d.yaml:5:7: http.middlewares.limit.plugin: not supported yet (middleware plugins)`,
		`d.yaml:10:7: http.serversTransports.st.spiffe: not supported yet (SPIFFE identities)`,
		`d.yaml:11:1: udp: not supported yet (UDP routing)`,
		`d.yaml:17:9: tcp.services.t.loadBalancer.proxyProtocol: not supported yet (the PROXY protocol)`,
	}
	checkErrors(t, err, want)

	// A misspelt key of a supported section still gets its suggestion.
	_, err = decode.Bytes("s.toml", []byte("[providers.fil]\n"), &st)
	checkErrors(t, err, []string{`s.toml:1:12: unknown key "providers.fil" (did you mean "file"?)`})

	// Flags and environment variables get the same message.
	_, err = decode.Settings("flags", []decode.Setting{decode.Flag("--providers.docker.endpoint=unix:///var/run/docker.sock")}, &st)
	checkErrors(t, err, []string{`--providers.docker.endpoint: unknown key "docker": not supported yet (Traefik's Docker provider); Guan reads dynamic configuration from files (providers.file)`})
}

func checkErrors(t *testing.T, err error, want []string) {
	t.Helper()
	var errs config.Errors
	if !errors.As(err, &errs) {
		t.Fatalf("err = %v, want %d errors", err, len(want))
	}
	if len(errs) != len(want) {
		t.Fatalf("got %d errors, want %d:\n%v", len(errs), len(want), err)
	}
	for i, w := range want {
		if errs[i].Error() != w {
			t.Errorf("error %d:\n got %s\nwant %s", i, errs[i], w)
		}
	}
}
