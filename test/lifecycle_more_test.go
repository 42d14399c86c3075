package e2e

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"
)

// waitExit waits for the gateway to exit and returns how long that took
// from since.
func (g *gateway) waitExit(t *testing.T, since time.Time, limit time.Duration) time.Duration {
	t.Helper()
	select {
	case <-g.exited:
		if g.waitErr != nil {
			t.Fatalf("exit: %v", g.waitErr)
		}
		return time.Since(since)
	case <-time.After(limit):
		t.Fatalf("gateway still running %s after SIGTERM", limit)
	}
	return 0
}

// During requestAcceptGraceTimeout after SIGTERM the gateway keeps accepting
// and serving, while /ping answers ping.terminatingStatusCode so that a load
// balancer in front stops sending traffic; then it stops accepting and exits 0.
func TestRequestAcceptGraceWithTerminatingPing(t *testing.T) {
	a, hits := backend(t, "a")
	g := startGateway(t, map[string]string{"main.toml": routeTo("a", a)}, gatewayOpts{
		webLifeCycle: "  requestAcceptGraceTimeout = \"2s\"\n  graceTimeOut = \"2s\"",
		apiLifeCycle: "  requestAcceptGraceTimeout = \"2s\"",
		ping:         "  terminatingStatusCode = 418",
	})
	fresh := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 3 * time.Second}
	if code, _, _ := get(t, fresh, g.apiURL("/ping"), nil); code != 200 {
		t.Fatalf("/ping before the stop: %d", code)
	}
	stopAt := time.Now()
	if err := g.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	eventually(t, time.Second, func() error {
		resp, err := fresh.Get(g.apiURL("/ping"))
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != 418 {
			return fmt.Errorf("/ping answered %d, want the terminating status 418", resp.StatusCode)
		}
		return nil
	})
	// Still within the grace period: new connections are served.
	before := hits()
	code, body, _ := get(t, fresh, g.url("/during-grace"), nil)
	if code != 200 || !strings.HasPrefix(body, "a GET /during-grace") || hits() != before+1 {
		t.Fatalf("request during requestAcceptGraceTimeout: %d %q", code, body)
	}
	if since := time.Since(stopAt); since > 1700*time.Millisecond {
		t.Fatalf("test too slow to observe the grace period (%s)", since)
	}
	// Then the listener closes, and the process exits.
	eventually(t, 5*time.Second, func() error {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", g.web), time.Second)
		if err == nil {
			c.Close()
			return fmt.Errorf("still accepting %s after SIGTERM", time.Since(stopAt))
		}
		return nil
	})
	if refusedAfter := time.Since(stopAt); refusedAfter < 1900*time.Millisecond {
		t.Fatalf("stopped accepting %s after SIGTERM, before requestAcceptGraceTimeout (2s)", refusedAfter)
	}
	g.waitExit(t, stopAt, 10*time.Second)
}

// A request that outlives graceTimeOut is cut when it expires and the process
// still exits, with status 0.
func TestGraceTimeoutCutsLongRequest(t *testing.T) {
	started := make(chan struct{}, 1)
	hold := make(chan struct{})
	t.Cleanup(func() { close(hold) })
	addr := serveOn(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		started <- struct{}{}
		select {
		case <-hold:
		case <-r.Context().Done():
		}
	}))
	g := startGateway(t, map[string]string{"main.toml": routeTo("slow", "http://"+addr)},
		gatewayOpts{webLifeCycle: "  graceTimeOut = \"500ms\""})
	result := make(chan string, 1)
	go func() {
		resp, err := http.Get(g.url("/forever"))
		if err != nil {
			result <- "error"
			return
		}
		_, err = io.ReadAll(resp.Body)
		resp.Body.Close()
		result <- fmt.Sprintf("%d %v", resp.StatusCode, err)
	}()
	select {
	case <-started:
	case <-time.After(5 * time.Second):
		t.Fatal("request never reached the backend")
	}
	stopAt := time.Now()
	if err := g.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	took := g.waitExit(t, stopAt, 5*time.Second)
	if took < 400*time.Millisecond {
		t.Fatalf("exited %s after SIGTERM, before graceTimeOut (500ms) with a request in flight", took)
	}
	select {
	case r := <-result:
		if strings.HasPrefix(r, "200 <nil>") {
			t.Fatalf("the long request completed normally (%s) instead of being cut", r)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("the client's request was left hanging after the gateway exited")
	}
	// The log says what was cut.
	if out := g.out.String(); !strings.Contains(out, `msg="grace period over; closed remaining connections" entryPoint=web connections=1`) {
		t.Fatalf("the log does not report the one connection cut at the end of the grace period:\n%s", out)
	}
}
