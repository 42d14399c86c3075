package e2e

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// SIGTERM: new connections are refused, the in-flight request completes,
// and the process exits 0.
func TestSIGTERMDrainsInFlight(t *testing.T) {
	release := make(chan struct{})
	started := make(chan struct{}, 1)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	slow := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		started <- struct{}{}
		<-release
		io.WriteString(w, "finished")
	})}
	go slow.Serve(l)
	t.Cleanup(func() { slow.Close() })

	g := startGateway(t, map[string]string{"main.toml": routeTo("slow", "http://"+l.Addr().String())}, gatewayOpts{})
	result := make(chan string, 1)
	go func() {
		resp, err := http.Get(g.url("/slow"))
		if err != nil {
			result <- "error: " + err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		result <- fmt.Sprintf("%d %s", resp.StatusCode, b)
	}()
	<-started
	if err := g.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// The listener closes: new connections are refused while the request runs.
	eventually(t, 10*time.Second, func() error {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", g.web), time.Second)
		if err == nil {
			c.Close()
			return fmt.Errorf("still accepting")
		}
		return nil
	})
	close(release)
	select {
	case r := <-result:
		if r != "200 finished" {
			t.Fatalf("in-flight request: %s", r)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("in-flight request never finished")
	}
	select {
	case <-g.exited:
		if g.waitErr != nil {
			t.Fatalf("exit: %v", g.waitErr)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("gateway did not exit after draining")
	}
}

// The web entrypoint serves on a listener handed over as an inherited file
// descriptor (GUAN_LISTEN_FDS), the hook binary upgrades build on.
func TestInheritedListener(t *testing.T) {
	a, _ := backend(t, "a")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f, err := l.(*net.TCPListener).File()
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close() // the duplicate in f keeps the socket open
	t.Cleanup(func() { f.Close() })

	// fd 3 in the child is ExtraFiles[0]. The static address differs: the
	// inherited socket must win.
	g := startGateway(t, map[string]string{"main.toml": routeTo("a", a)}, gatewayOpts{
		env:        []string{"GUAN_LISTEN_FDS=web:3"},
		extraFiles: []*os.File{f},
	})
	code, body, _ := get(t, nil, fmt.Sprintf("http://127.0.0.1:%d/inherited", port), nil)
	if code != 200 || !strings.HasPrefix(body, "a GET /inherited") {
		t.Fatalf("inherited listener: %d %q", code, body)
	}
	// The configured address was not bound.
	if c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", g.web), time.Second); err == nil {
		c.Close()
		t.Fatal("configured address is listening although the socket was inherited")
	}
}
