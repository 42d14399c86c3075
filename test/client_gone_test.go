package e2e

import (
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestClientGoneLogged499: a client that gives up while the upstream is
// still working is logged and counted as 499, not as an implicit 200.
//
// The upstream exchange is abandoned too: the upstream sees its connection
// closed soon after the client left, not when its own work ends.
func TestClientGoneLogged499(t *testing.T) {
	upstreamGone := make(chan time.Time, 1)
	slow := serveOn(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
			upstreamGone <- time.Now()
		case <-time.After(10 * time.Second):
		}
	}))

	logPath := filepath.Join(t.TempDir(), "access.json")
	g := startGateway(t, map[string]string{"main.toml": routeTo("slow", "http://"+slow)},
		gatewayOpts{extraStatic: jsonAccessLog(logPath)})

	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", g.url("/gone"), nil)
	if res, err := http.DefaultClient.Do(req); err == nil {
		res.Body.Close()
		t.Fatalf("the slow upstream answered: %d", res.StatusCode)
	}
	left := time.Now()
	select {
	case at := <-upstreamGone:
		if d := at.Sub(left); d > 2*time.Second {
			t.Errorf("the upstream's request was canceled %v after the client left", d)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the upstream exchange went on 5 s after the client left")
	}

	eventually(t, 10*time.Second, func() error {
		e, err := accessLogLine(logPath, "/gone")
		if err != nil {
			return err
		}
		if e["DownstreamStatus"] != 499.0 {
			t.Fatalf("DownstreamStatus %v, want 499", e["DownstreamStatus"])
		}
		return nil
	})
	metrics := g.metrics(t)
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
