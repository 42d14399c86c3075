package decode_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/guan-gateway/guan/config"
	"github.com/guan-gateway/guan/config/decode"
	"github.com/guan-gateway/guan/config/dynamic"
	"github.com/guan-gateway/guan/config/static"
)

var tomlSeeds = []string{
	"[http.routers.web]\nrule = \"Host(`a`)\"\npriority = 3\nentryPoints = [\"web\"]\n",
	"[[http.services.s.loadBalancer.servers]]\nurl = \"http://127.0.0.1:9001\"\n[http.services.s.loadBalancer.healthCheck]\ninterval = 10\n",
	"[[tls.certificates]]\ncertFile = \"a\"\nstores = [\"default\"]\n[tls.options.default]\nminVersion = \"VersionTLS12\"\n",
	"[entryPoints.web]\naddress = \":80\"\n[entryPoints.web.transport.lifeCycle]\ngraceTimeOut = \"10s\"\n",
	"a = {b = [1, {c = 2}]}\n[[a.d]]\n",
	"x = 1979-05-27T07:32:00Z\ny = 0x1F\nz = inf\n",
}

var yamlSeeds = []string{
	"http:\n  routers:\n    web:\n      rule: Host(`a`)\n      priority: 3\n",
	"http:\n  services:\n    s:\n      loadBalancer:\n        servers:\n          - url: http://127.0.0.1:9001\n",
	"x: &a {k: v}\ny: *a\nz:\n  <<: *a\n",
	`{"entryPoints": {"web": {"address": ":80"}}, "log": {"level": "DEBUG"}}`,
	"tls:\n  certificates:\n    - certFile: a\n      stores: [default]\n",
	"- 1\n- 2\n",
}

func fuzzDecode(t *testing.T, filename string, data []byte) {
	for _, target := range []any{new(dynamic.Configuration), new(static.Configuration)} {
		_, err := decode.Bytes(filename, data, target)
		if err == nil {
			continue
		}
		var errs config.Errors
		if !errors.As(err, &errs) || len(errs) == 0 {
			t.Fatalf("error is not a non-empty config.Errors: %T %v", err, err)
		}
		for _, e := range errs {
			if e.Pos.File != filename {
				t.Fatalf("error without file name: %v", e)
			}
		}
	}
}

func FuzzDecodeTOML(f *testing.F) {
	for _, s := range tomlSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) { fuzzDecode(t, "fuzz.toml", data) })
}

func FuzzDecodeYAML(f *testing.F) {
	for _, s := range yamlSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) { fuzzDecode(t, "fuzz.yaml", data) })
}

const benchTOML = `
[http.routers.web]
  entryPoints = ["web"]
  rule = "Host(` + "`example.com`" + `) && PathPrefix(` + "`/api`" + `)"
  service = "api"
  middlewares = ["auth", "gz"]
[http.middlewares.gz.compress]
[http.middlewares.auth.basicAuth]
  users = ["u:$apr1$x$y"]
[http.services.api.loadBalancer]
  [[http.services.api.loadBalancer.servers]]
    url = "http://127.0.0.1:9001"
  [[http.services.api.loadBalancer.servers]]
    url = "http://127.0.0.1:9002"
  [http.services.api.loadBalancer.healthCheck]
    path = "/health"
    interval = "10s"
`

func BenchmarkDecodeTOML(b *testing.B) {
	data := []byte(benchTOML)
	b.ReportAllocs()
	for b.Loop() {
		var c dynamic.Configuration
		if _, err := decode.Bytes("b.toml", data, &c); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeYAML(b *testing.B) {
	data := []byte(`
http:
  routers:
    web:
      entryPoints: [web]
      rule: Host(` + "`example.com`" + `) && PathPrefix(` + "`/api`" + `)
      service: api
      middlewares: [auth, gz]
  middlewares:
    gz:
      compress: {}
    auth:
      basicAuth:
        users: ["u:$apr1$x$y"]
  services:
    api:
      loadBalancer:
        servers:
          - url: http://127.0.0.1:9001
          - url: http://127.0.0.1:9002
        healthCheck:
          path: /health
          interval: 10s
`)
	b.ReportAllocs()
	for b.Loop() {
		var c dynamic.Configuration
		if _, err := decode.Bytes("b.yaml", data, &c); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzSettings decodes arbitrary flags and environment variables (one per
// line) into both configurations: no panic, and every error is a
// config.Errors naming a setting.
func FuzzSettings(f *testing.F) {
	for _, s := range []string{
		"--entryPoints.web.address=:80\n--api.insecure\n--ping=false\n--ping.entryPoint=web",
		"--entryPoints.web.forwardedHeaders.trustedIPs[0]=a\n--entryPoints.web.forwardedHeaders.trustedIPs[1]=b",
		"--serversTransport.certificates[0].certFile=c\n--metrics.prometheus.buckets=1,2,x",
		"GUAN_ENTRYPOINTS_WEB_ADDRESS=:80\nGUAN_API_INSECURE=maybe\nTRAEFIK_API_INSECURE=true",
		"--a[0][1].b\n--http.routers.r.rule=x\n--http.routers.r.entryPoints=a,b\n--tls.options.o.minVersion",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, lines string) {
		var flags []decode.Setting
		var environ []string
		for _, l := range strings.Split(lines, "\n") {
			if strings.HasPrefix(l, "-") {
				flags = append(flags, decode.Flag(l))
			} else {
				environ = append(environ, l)
			}
		}
		env := decode.Environ(environ, []string{"GUAN_"}, &static.Configuration{})
		for _, settings := range [][]decode.Setting{flags, env} {
			for _, target := range []any{new(dynamic.Configuration), new(static.Configuration)} {
				_, err := decode.Settings("flags", settings, target)
				if err == nil {
					continue
				}
				var errs config.Errors
				if !errors.As(err, &errs) || len(errs) == 0 {
					t.Fatalf("error is not a non-empty config.Errors: %T %v", err, err)
				}
				for _, e := range errs {
					if e.Pos.File == "" || e.Pos.Line != 0 {
						t.Fatalf("error without its setting: %v", e)
					}
				}
			}
		}
	})
}
