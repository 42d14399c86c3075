package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func rotationRoutes(t *testing.T) map[string]string {
	a, _ := backend(t, "a")
	return map[string]string{"r.yaml": fmt.Sprintf(`
http:
  routers:
    r:
      rule: "PathPrefix(`+"`/`"+`)"
      service: a
  services:
    a: {loadBalancer: {servers: [{url: "%s"}]}}
`, a)}
}

// fileHas waits until the file at path contains want.
func fileHas(t *testing.T, path, want string) {
	t.Helper()
	eventually(t, 10*time.Second, func() error {
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if !strings.Contains(string(b), want) {
			return fmt.Errorf("%s has no %q yet:\n%s", path, want, b)
		}
		return nil
	})
}

// TestLogRotationOnSIGUSR1: after both log files are renamed, SIGUSR1 makes
// the gateway write its application log and its access log to new files at
// the configured paths.
func TestLogRotationOnSIGUSR1(t *testing.T) {
	dir := t.TempDir()
	appLog, accessLog := filepath.Join(dir, "gw.log"), filepath.Join(dir, "access.log")
	g := startGateway(t, rotationRoutes(t), gatewayOpts{extraStatic: fmt.Sprintf(
		"  filePath = %q\n[accessLog]\n  filePath = %q\n", appLog, accessLog)})

	if code, _, _ := get(t, nil, g.url("/before"), nil); code != 200 {
		t.Fatalf("/before: %d", code)
	}
	fileHas(t, accessLog, "/before")
	fileHas(t, appLog, "starting")

	for _, p := range []string{appLog, accessLog} {
		if err := os.Rename(p, p+".1"); err != nil {
			t.Fatal(err)
		}
	}
	if err := g.cmd.Process.Signal(syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	fileHas(t, appLog, "SIGUSR1: log files reopened")
	if code, _, _ := get(t, nil, g.url("/after"), nil); code != 200 {
		t.Fatalf("/after: %d", code)
	}
	fileHas(t, accessLog, "/after")

	oldApp, _ := os.ReadFile(appLog + ".1")
	oldAccess, _ := os.ReadFile(accessLog + ".1")
	if strings.Contains(string(oldApp), "log files reopened") || strings.Contains(string(oldAccess), "/after") {
		t.Fatalf("the renamed files got lines after the reopen:\n%s\n%s", oldApp, oldAccess)
	}
	if out := g.out.String(); strings.Contains(out, "level=") {
		t.Fatalf("application log lines on stderr with log.filePath set:\n%s", out)
	}
}

// TestAccessLogReopenFailureKeepsStderr: a reopen that fails is logged and
// falls back to stderr; the next successful reopen leaves stderr open, so
// the application log (on stderr) keeps working.
func TestAccessLogReopenFailureKeepsStderr(t *testing.T) {
	logDir := filepath.Join(t.TempDir(), "logs")
	accessLog := filepath.Join(logDir, "access.log")
	g := startGateway(t, rotationRoutes(t), gatewayOpts{extraStatic: fmt.Sprintf("[accessLog]\n  filePath = %q\n", accessLog)})

	// Make the directory unusable: a regular file where it was.
	if err := os.Rename(logDir, logDir+".old"); err != nil {
		t.Fatal(err)
	}
	writeFile(t, logDir, "")
	if err := g.cmd.Process.Signal(syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, func() error {
		if out := g.out.String(); !strings.Contains(out, "SIGUSR1: accessLog.filePath") {
			return fmt.Errorf("no reopen error logged yet")
		}
		return nil
	})
	if code, _, _ := get(t, nil, g.url("/fallback"), nil); code != 200 {
		t.Fatalf("/fallback: %d", code)
	}
	eventually(t, 10*time.Second, func() error {
		if !strings.Contains(g.out.String(), "/fallback") {
			return fmt.Errorf("no access log line on stderr yet")
		}
		return nil
	})

	if err := os.Remove(logDir); err != nil {
		t.Fatal(err)
	}
	if err := g.cmd.Process.Signal(syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	// The line logged after the second reopen reaches stderr: fd 2 is open.
	eventually(t, 10*time.Second, func() error {
		if n := strings.Count(g.out.String(), "SIGUSR1: log files reopened"); n != 2 {
			return fmt.Errorf("%d reopen lines on stderr, want 2", n)
		}
		return nil
	})
	if code, _, _ := get(t, nil, g.url("/back"), nil); code != 200 {
		t.Fatalf("/back: %d", code)
	}
	fileHas(t, accessLog, "/back")
	if strings.Count(g.out.String(), "SIGUSR1: accessLog.filePath") != 1 {
		t.Fatalf("the second reopen reported an error:\n%s", g.out.String())
	}
}
