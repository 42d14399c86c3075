package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The static configuration given as flags or as environment variables
// instead of a file, as in a docker-compose `command:` or `environment:`.

// sourcesDynamic writes a dynamic configuration directory routing every
// request to a backend, and returns it.
func sourcesDynamic(t *testing.T, dir, backendURL string) string {
	t.Helper()
	dyn := filepath.Join(dir, "dynamic")
	mustMkdir(t, dyn)
	writeFile(t, filepath.Join(dyn, "route.toml"), fmt.Sprintf(`
[http.routers.all]
  rule = "PathPrefix(`+"`/`"+`)"
  service = "app"
[http.services.app.loadBalancer]
  [[http.services.app.loadBalancer.servers]]
    url = %q
`, backendURL))
	return dyn
}

// cleanEnv is the test's environment without static configuration
// variables, which would otherwise be a source of their own.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GUAN_") && !strings.HasPrefix(kv, "TRAEFIK_") {
			env = append(env, kv)
		}
	}
	return env
}

// startWith starts the binary with args and env in dir and waits until
// /ping answers on the api port.
func startWith(t *testing.T, dir string, web, api int, args, env []string) *gateway {
	t.Helper()
	g := &gateway{t: t, dir: dir, web: web, api: api, out: &syncBuffer{}, exited: make(chan struct{})}
	g.launch(args, env, nil)
	return g
}

// checkServes asserts the route to the backend and the insecure API work.
func checkServes(t *testing.T, g *gateway, backendName string) {
	t.Helper()
	eventually(t, 10*time.Second, func() error {
		code, body, _ := get(t, nil, g.url("/hello"), nil)
		if code != 200 || !strings.HasPrefix(body, backendName+" GET /hello") {
			return fmt.Errorf("GET /hello: %d %q", code, body)
		}
		return nil
	})
	code, body, _ := get(t, nil, g.apiURL("/api/http/routers/all@file"), nil)
	if code != 200 || !strings.Contains(body, `"status":"enabled"`) {
		t.Fatalf("api: %d %s", code, body)
	}
}

func TestStaticConfigurationFromFlags(t *testing.T) {
	dir := t.TempDir()
	url, _ := backend(t, "flags-backend")
	dyn := sourcesDynamic(t, dir, url)
	web, api := freePort(t), freePort(t)
	flags := []string{
		fmt.Sprintf("--entryPoints.web.address=127.0.0.1:%d", web),
		"--entrypoints.web.forwardedHeaders.trustedIPs=127.0.0.1,10.0.0.0/8", // keys in any case; a list
		"--entryPoints.web.transport.lifeCycle.graceTimeOut=2",               // seconds
		"--entryPoints.traefik.address", fmt.Sprintf("127.0.0.1:%d", api),    // value as the next argument
		"--api.insecure",
		"--ping",
		"--metrics.prometheus",
		"--providers.file.directory=" + dyn,
		"--providers.providersThrottleDuration=50ms",
		"--log.level=DEBUG",
	}
	// A traefik-style.toml in the working directory is not read: the
	// flags are the whole configuration.
	writeFile(t, filepath.Join(dir, "traefik-style.toml"), "[entryPoints.web]\n  address = \"bad\"\n")

	out, err := runCheck(dir, cleanEnv(), flags...)
	if err != nil || !strings.Contains(out, "configuration OK (command-line flags): ") {
		t.Fatalf("check: %v\n%s", err, out)
	}

	g := startWith(t, dir, web, api, flags, cleanEnv())
	checkServes(t, g, "flags-backend")
	if code, body, _ := get(t, nil, g.apiURL("/metrics"), nil); code != 200 || !strings.Contains(body, "guan_entrypoint_requests_total") {
		t.Fatalf("metrics: %d", code)
	}
	if !strings.Contains(g.out.String(), "static configuration loaded from command-line flags") {
		t.Fatalf("the source is not logged:\n%s", g.out.String())
	}

	// A typo: the gateway names the flag, suggests the key and exits 1.
	bad := exec.Command(gatewayBin, "--entryPoints.web.adress=:80", "--api.insecure=maybe")
	bad.Env = cleanEnv()
	b, err := bad.CombinedOutput()
	if code := exitCode(err); code != 1 ||
		!strings.Contains(string(b), `--entryPoints.web.adress: unknown key "adress" (did you mean --entryPoints.web.address?)`) ||
		!strings.Contains(string(b), `--api.insecure: expected a boolean, got "maybe"`) {
		t.Fatalf("exit %d:\n%s", code, b)
	}
	// A file and flags together: a usage error.
	both := exec.Command(gatewayBin, "--configFile=x.toml", "--ping")
	b, err = both.CombinedOutput()
	if code := exitCode(err); code != 2 || !strings.Contains(string(b), "--ping: static flags cannot be combined with --configFile") {
		t.Fatalf("exit %d:\n%s", code, b)
	}
}

func TestStaticConfigurationFromEnvironment(t *testing.T) {
	dir := t.TempDir()
	url, _ := backend(t, "env-backend")
	dyn := sourcesDynamic(t, dir, url)
	web, api := freePort(t), freePort(t)
	env := append(cleanEnv(),
		fmt.Sprintf("GUAN_ENTRYPOINTS_WEB_ADDRESS=127.0.0.1:%d", web),
		fmt.Sprintf("GUAN_ENTRYPOINTS_TRAEFIK_ADDRESS=127.0.0.1:%d", api),
		"GUAN_ENTRYPOINTS_WEB_FORWARDEDHEADERS_TRUSTEDIPS=127.0.0.1,10.0.0.0/8",
		"GUAN_API_INSECURE=true",
		"GUAN_PING=true",
		"TRAEFIK_PROVIDERS_FILE_DIRECTORY="+dyn, // Traefik's prefix works too
		"GUAN_PROVIDERS_PROVIDERSTHROTTLEDURATION=50ms",
		"GUAN_LOG_LEVEL=DEBUG",
	)

	out, err := runCheck(dir, env)
	if err != nil || !strings.Contains(out, "configuration OK (environment variables): ") {
		t.Fatalf("check: %v\n%s", err, out)
	}

	g := startWith(t, dir, web, api, nil, env)
	checkServes(t, g, "env-backend")
	if !strings.Contains(g.out.String(), "static configuration loaded from environment variables") {
		t.Fatalf("the source is not logged:\n%s", g.out.String())
	}

	bad := exec.Command(gatewayBin, "check")
	bad.Dir = dir
	bad.Env = append(cleanEnv(), "GUAN_API_INSECURE=maybe", "GUAN_ENTRYPOINTS_WEB_ADRESS=:80")
	b, err := bad.CombinedOutput()
	if code := exitCode(err); code != 1 ||
		!strings.Contains(string(b), `GUAN_API_INSECURE: expected a boolean, got "maybe"`) ||
		!strings.Contains(string(b), `GUAN_ENTRYPOINTS_WEB_ADRESS: unknown key "ADRESS" (did you mean GUAN_ENTRYPOINTS_WEB_ADDRESS?)`) {
		t.Fatalf("exit %d:\n%s", code, b)
	}
}

func runCheck(dir string, env []string, flags ...string) (string, error) {
	cmd := exec.Command(gatewayBin, append([]string{"check"}, flags...)...)
	cmd.Dir = dir
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func exitCode(err error) int {
	if e, ok := err.(*exec.ExitError); ok {
		return e.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}
