package static_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/guan-gateway/guan/config/decode"
	"github.com/guan-gateway/guan/config/static"
)

func fromFlags(args ...string) (*static.Configuration, error) {
	var ss []decode.Setting
	for _, a := range args {
		ss = append(ss, decode.Flag(a))
	}
	c, _, err := static.FromSettings("flags", ss)
	return c, err
}

// The same configuration as a file, as flags and as environment variables
// decodes to the same value, defaults included.
func TestFlagsAndEnvironmentMatchTheFile(t *testing.T) {
	file, _, err := static.Parse("static.toml", []byte(`
[entryPoints.web]
  address = ":8000"
  [entryPoints.web.forwardedHeaders]
    trustedIPs = ["10.0.0.0/8", "192.168.0.1"]
  [entryPoints.web.transport.lifeCycle]
    graceTimeOut = 5
  [entryPoints.web.http.redirections.entryPoint]
    to = "websecure"
    permanent = false
[entryPoints.websecure]
  address = ":8443"
  [entryPoints.websecure.http]
    middlewares = ["a@file", "b@file"]
[providers.file]
  directory = "/dyn"
  watch = false
[api]
  insecure = true
[ping]
[metrics.prometheus]
  buckets = [0.5, 1.0]
[accessLog]
  [accessLog.fields.names]
    StartUTC = "drop"
[log]
  level = "DEBUG"
`))
	if err != nil {
		t.Fatal(err)
	}
	flags, err := fromFlags(
		"--entryPoints.web.address=:8000",
		"--entryPoints.web.forwardedHeaders.trustedIPs=10.0.0.0/8,192.168.0.1",
		"--entryPoints.web.transport.lifeCycle.graceTimeOut=5s",
		"--entrypoints.web.http.redirections.entrypoint.to=websecure",
		"--entrypoints.web.http.redirections.entrypoint.permanent=false",
		"--entryPoints.websecure.address=:8443",
		"--entryPoints.websecure.http.middlewares[0]=a@file",
		"--entryPoints.websecure.http.middlewares[1]=b@file",
		"--providers.file.directory=/dyn",
		"--providers.file.watch=false",
		"--api.insecure",
		"--ping",
		"--metrics.prometheus.buckets=0.5,1",
		"--accessLog.fields.names.StartUTC=drop",
		"--log.level=DEBUG",
	)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(flags, file) {
		t.Errorf("flags:\n%+v\nfile:\n%+v", flags, file)
	}

	env := static.Environ([]string{
		"GUAN_ENTRYPOINTS_WEB_ADDRESS=:8000",
		"GUAN_ENTRYPOINTS_WEB_FORWARDEDHEADERS_TRUSTEDIPS=10.0.0.0/8,192.168.0.1",
		"GUAN_ENTRYPOINTS_WEB_TRANSPORT_LIFECYCLE_GRACETIMEOUT=5",
		"GUAN_ENTRYPOINTS_WEB_HTTP_REDIRECTIONS_ENTRYPOINT_TO=websecure",
		"GUAN_ENTRYPOINTS_WEB_HTTP_REDIRECTIONS_ENTRYPOINT_PERMANENT=false",
		"GUAN_ENTRYPOINTS_WEBSECURE_ADDRESS=:8443",
		"GUAN_ENTRYPOINTS_WEBSECURE_HTTP_MIDDLEWARES_0=a@file",
		"GUAN_ENTRYPOINTS_WEBSECURE_HTTP_MIDDLEWARES_1=b@file",
		"TRAEFIK_PROVIDERS_FILE_DIRECTORY=/dyn", // Traefik's prefix works too
		"TRAEFIK_PROVIDERS_FILE_WATCH=false",
		"GUAN_API_INSECURE=true",
		"GUAN_PING=true",
		"GUAN_METRICS_PROMETHEUS_BUCKETS=0.5,1",
		"GUAN_ACCESSLOG_FIELDS_NAMES_STARTUTC=drop", // map keys come out lower-case
		"GUAN_LOG_LEVEL=DEBUG",
		"GUAN_LISTEN_FDS=web:3", // not static configuration
		"HOME=/root",
	})
	if len(env) != 15 {
		t.Fatalf("%d settings from the environment", len(env))
	}
	fromEnv, _, err := static.FromSettings("environment", env)
	if err != nil {
		t.Fatal(err)
	}
	if got := fromEnv.AccessLog.Fields.Names; !reflect.DeepEqual(got, map[string]string{"startutc": "drop"}) {
		t.Errorf("names from the environment: %v", got)
	}
	fromEnv.AccessLog.Fields.Names = file.AccessLog.Fields.Names
	if !reflect.DeepEqual(fromEnv, file) {
		t.Errorf("environment:\n%+v\nfile:\n%+v", fromEnv, file)
	}
}

// Bare sections get the same defaults as an empty table in a file.
func TestBareSectionFlags(t *testing.T) {
	c, err := fromFlags("--ping", "--metrics.prometheus", "--accessLog", "--api", "--entryPoints.web.address=:80")
	if err != nil {
		t.Fatal(err)
	}
	if c.Ping == nil || c.Ping.EntryPoint != "traefik" || c.Ping.TerminatingStatusCode != 503 {
		t.Errorf("ping %+v", c.Ping)
	}
	if p := c.Metrics.Prometheus; p == nil || len(p.Buckets) != 4 || p.EntryPoint != "traefik" {
		t.Errorf("prometheus %+v", p)
	}
	if a := c.AccessLog; a == nil || a.Format != "common" || a.Fields.DefaultMode != "keep" {
		t.Errorf("accessLog %+v", a)
	}
	if a := c.API; a == nil || a.Insecure || a.BasePath != "/" || !*a.Dashboard {
		t.Errorf("api %+v", a)
	}
	if ep := c.EntryPoints["traefik"]; ep == nil || ep.Address != ":8080" {
		t.Errorf("the traefik entrypoint is not added: %v", c.EntryPoints)
	}
	if g := c.EntryPoints["web"].Transport.LifeCycle.GraceTimeOut.Std(); g != 10*time.Second {
		t.Errorf("graceTimeOut default %v", g)
	}
	c, err = fromFlags("--entryPoints.web.address=:80", "--ping=false", "--api.dashboard=false")
	if err != nil || c.Ping != nil || c.API == nil || *c.API.Dashboard {
		t.Fatalf("err=%v ping=%v api=%+v", err, c.Ping, c.API)
	}
}

// Decoding and validation errors name the flag or variable at fault.
func TestSettingsErrorsNameTheSetting(t *testing.T) {
	_, err := fromFlags(
		"--entryPoints.web.adress=:80",
		"--api.insecure=maybe",
		"--providers.file=/dyn",
	)
	want := `--entryPoints.web.adress: unknown key "adress" (did you mean --entryPoints.web.address?)
--api.insecure: expected a boolean, got "maybe"
--providers.file: is a section: give true or false to turn it on or off, or set a key below it (directory, filename, watch, debugLogGeneratedTemplate); got "/dyn"`
	if err == nil || err.Error() != want {
		t.Errorf("got:\n%v\nwant:\n%s", err, want)
	}

	// Validation: the key is not repeated when the setting names it.
	_, err = fromFlags(
		"--entryPoints.web.address=nope",
		"--entryPoints.web.forwardedHeaders.trustedIPs=10.0.0.0/8,bad",
		"--ping.entryPoint=missing",
		"--providers.file",
	)
	want = `--entryPoints.web.address: address "nope" is not "[host]:port" (for example ":8000" or "127.0.0.1:8000")
--entryPoints.web.forwardedHeaders.trustedIPs: entryPoints.web.forwardedHeaders.trustedIPs[1]: "bad" is neither an IP address nor a CIDR range (like 10.0.0.0/8)
--ping.entryPoint: entrypoint "missing" does not exist (defined: web)
--providers.file: set either "filename" or "directory"`
	if err == nil || err.Error() != want {
		t.Errorf("got:\n%v\nwant:\n%s", err, want)
	}

	env := static.Environ([]string{"GUAN_API_INSECURE=maybe", "GUAN_ENTRYPOINT_WEB_ADDRESS=:80", "GUAN_PING_ENTRYPOINT=nope", "GUAN_ENTRYPOINTS_WEB_ADDRESS=:80"})
	_, _, err = static.FromSettings("environment", env)
	want = `GUAN_API_INSECURE: expected a boolean, got "maybe"
GUAN_ENTRYPOINT_WEB_ADDRESS: unknown key "ENTRYPOINT" (did you mean GUAN_ENTRYPOINTS_WEB_ADDRESS?)`
	if err == nil || err.Error() != want {
		t.Errorf("got:\n%v\nwant:\n%s", err, want)
	}
	_, _, err = static.FromSettings("environment", static.Environ([]string{"GUAN_PING_ENTRYPOINT=nope", "GUAN_ENTRYPOINTS_WEB_ADDRESS=:80"}))
	if err == nil || err.Error() != `GUAN_PING_ENTRYPOINT: entrypoint "nope" does not exist (defined: web)` {
		t.Errorf("got %v", err)
	}
}

func TestIsSwitchForStaticKeys(t *testing.T) {
	for path, want := range map[string]bool{
		"api.insecure": true, "ping": true, "metrics.prometheus": true, "accesslog": true,
		"entryPoints.web.address": false, "log.level": false, "entryPoints.web.transport.lifeCycle.graceTimeOut": false,
		"api.dashboard": true, "entryPoints.web.forwardedHeaders.trustedIPs": false,
	} {
		if got := static.IsSwitch(strings.Split(path, ".")); got != want {
			t.Errorf("IsSwitch(%s) = %v", path, got)
		}
	}
}
