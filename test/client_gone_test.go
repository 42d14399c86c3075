package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestClientGoneLogged499: a client that gives up while the upstream is
// still working is logged and counted as 499, not as an implicit 200.
func TestClientGoneLogged499(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	slow := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
	})}
	go slow.Serve(l)
	t.Cleanup(func() { slow.Close() })

	logPath := filepath.Join(t.TempDir(), "access.json")
	g := startGateway(t, map[string]string{"main.toml": routeTo("slow", "http://"+l.Addr().String())},
		gatewayOpts{extraStatic: fmt.Sprintf("[accessLog]\n  filePath = %q\n  format = \"json\"\n", logPath)})

	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", g.url("/gone"), nil)
	if res, err := http.DefaultClient.Do(req); err == nil {
		res.Body.Close()
		t.Fatalf("the slow upstream answered: %d", res.StatusCode)
	}

	eventually(t, 10*time.Second, func() error {
		f, err := os.Open(logPath)
		if err != nil {
			return err
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			var e map[string]any
			if json.Unmarshal(sc.Bytes(), &e) == nil && e["RequestPath"] == "/gone" {
				if e["DownstreamStatus"] != 499.0 {
					t.Fatalf("DownstreamStatus %v, want 499", e["DownstreamStatus"])
				}
				return nil
			}
		}
		return fmt.Errorf("no access log line for /gone yet")
	})
	_, metrics, _ := get(t, nil, g.apiURL("/metrics"), nil)
	found := false
	for _, line := range strings.Split(metrics, "\n") {
		if strings.HasPrefix(line, "guan_entrypoint_requests_total{") && strings.Contains(line, `code="499"`) {
			found = true
		}
	}
	if !found {
		t.Errorf("no guan_entrypoint_requests_total with code 499 in /metrics")
	}
}
