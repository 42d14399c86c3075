package e2e

import (
	"compress/gzip"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// A chain of path, auth, header and compression middlewares, as a user
// would stack them in front of an API.
func TestMiddlewareChain(t *testing.T) {
	big := strings.Repeat("guan ", 2000)
	addr := serveOn(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprintf(w, "path=%s user=%s auth=%q prefix=%s\n%s", r.URL.Path, r.Header.Get("X-User"), r.Header.Get("Authorization"), r.Header.Get("X-Forwarded-Prefix"), big)
	}))
	// htpasswd -nbB alice secret (bcrypt) and {SHA} for bob:secret.
	cfg := fmt.Sprintf(`
[http.routers.api]
  rule = "PathPrefix(`+"`/api`"+`)"
  service = "svc"
  middlewares = ["secured"]
[http.middlewares.secured.chain]
  middlewares = ["auth", "strip", "gz"]
[http.middlewares.auth.basicAuth]
  users = ["bob:{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ="]
  headerField = "X-User"
  removeHeader = true
[http.middlewares.strip.stripPrefix]
  prefixes = ["/api"]
[http.middlewares.gz.compress]
  encodings = ["gzip"]
[[http.services.svc.loadBalancer.servers]]
  url = "http://%s"
`, addr)
	g := startGateway(t, map[string]string{"m.toml": cfg}, gatewayOpts{})
	code, _, h := get(t, nil, g.url("/api/users"), nil)
	if code != 401 || !strings.Contains(h.Get("WWW-Authenticate"), `Basic realm="traefik"`) {
		t.Fatalf("no credentials: %d %v", code, h)
	}
	req, _ := http.NewRequest("GET", g.url("/api/users"), nil)
	req.SetBasicAuth("bob", "secret")
	req.Header.Set("Accept-Encoding", "gzip")
	tr := &http.Transport{DisableCompression: true}
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("authorized: %d encoding %q", resp.StatusCode, resp.Header.Get("Content-Encoding"))
	}
	zr, err := gzip.NewReader(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(zr)
	first := strings.SplitN(string(body), "\n", 2)[0]
	if first != `path=/users user=bob auth="" prefix=/api` {
		t.Fatalf("backend saw %q", first)
	}
}

// inFlightReq counts survive a reload that leaves the middleware unchanged.
func TestInFlightCountSurvivesReload(t *testing.T) {
	release := make(chan struct{})
	started := make(chan struct{}, 4)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		started <- struct{}{}
		<-release
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	cfg := func(extra string) string {
		return fmt.Sprintf(`
[http.routers.r]
  rule = "PathPrefix(`+"`/`"+`)"
  service = "svc"
  middlewares = ["one-at-a-time"]
[http.middlewares.one-at-a-time.inFlightReq]
  amount = 1
[[http.services.svc.loadBalancer.servers]]
  url = "http://%s"
%s`, l.Addr(), extra)
	}
	g := startGateway(t, map[string]string{"f.toml": cfg("")}, gatewayOpts{})
	done := make(chan int, 1)
	go func() {
		resp, err := http.Get(g.url("/held"))
		if err != nil {
			done <- 0
			return
		}
		resp.Body.Close()
		done <- resp.StatusCode
	}()
	<-started
	if code, _, _ := get(t, nil, g.url("/second"), nil); code != 429 {
		t.Fatalf("second request while one is in flight: %d, want 429", code)
	}
	// Reload with an unrelated router added.
	g.writeDynamic("f.toml", cfg("[http.routers.other]\n  rule = \"Host(`other.test`)\"\n  service = \"noop@internal\"\n"))
	eventually(t, 10*time.Second, func() error {
		if code, _, _ := get(t, nil, g.url("/"), map[string]string{"Host": "other.test"}); code != 200 {
			return fmt.Errorf("reload not applied yet")
		}
		return nil
	})
	if code, _, _ := get(t, nil, g.url("/third"), nil); code != 429 {
		t.Fatalf("after reload the in-flight count was lost: %d, want 429", code)
	}
	close(release)
	if code := <-done; code != 200 {
		t.Fatalf("held request: %d", code)
	}
}
