package e2e

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"golang.org/x/net/http2"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	grpcstatus "google.golang.org/grpc/status"
)

func TestProtocols(t *testing.T) {
	// Backends: WebSocket echo, SSE stream, plain, and a gRPC server (h2c).
	up := websocket.Upgrader{}
	wsAddr := serveOn(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		for {
			mt, msg, err := c.ReadMessage()
			if err != nil {
				return
			}
			c.WriteMessage(mt, append([]byte("echo:"), msg...))
		}
	}))
	sseDone := make(chan struct{})
	sseAddr := serveOn(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "data: first\n\n")
		w.(http.Flusher).Flush()
		select {
		case <-sseDone:
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
		io.WriteString(w, "data: last\n\n")
	}))
	plainAddr := serveOn(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "proto=%s xff=%s xfproto=%s", r.Proto, r.Header.Get("X-Forwarded-For"), r.Header.Get("X-Forwarded-Proto"))
	}))
	grpcAddr, hs := grpcHealthBackend(t)

	cfg := fmt.Sprintf(`
http:
  routers:
    ws: {rule: "PathPrefix(`+"`/ws`"+`)", service: ws}
    sse: {rule: "PathPrefix(`+"`/events`"+`)", service: sse}
    grpc: {rule: "PathPrefix(`+"`/grpc.health.v1.Health`"+`)", service: grpc}
    plain: {rule: "PathPrefix(`+"`/plain`"+`)", service: plain}
    secure: {rule: "Host(`+"`secure.test`"+`)", service: plain, tls: {}}
  services:
    ws: {loadBalancer: {servers: [{url: "http://%s"}]}}
    sse: {loadBalancer: {servers: [{url: "http://%s"}]}}
    grpc: {loadBalancer: {servers: [{url: "h2c://%s"}]}}
    plain: {loadBalancer: {servers: [{url: "http://%s"}]}}
`, wsAddr, sseAddr, grpcAddr, plainAddr)
	g := startGateway(t, map[string]string{"p.yaml": cfg}, gatewayOpts{})
	host := fmt.Sprintf("127.0.0.1:%d", g.web)

	t.Run("websocket", func(t *testing.T) {
		c, _, err := websocket.DefaultDialer.Dial("ws://"+host+"/ws", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		for _, m := range []string{"one", "two"} {
			if err := c.WriteMessage(websocket.TextMessage, []byte(m)); err != nil {
				t.Fatal(err)
			}
			_, got, err := c.ReadMessage()
			if err != nil || string(got) != "echo:"+m {
				t.Fatalf("echo of %q: %q %v", m, got, err)
			}
		}
	})

	t.Run("sse-flushed-promptly", func(t *testing.T) {
		resp, err := http.Get("http://" + host + "/events")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		line := make(chan string, 1)
		go func() {
			s, _ := bufio.NewReader(resp.Body).ReadString('\n')
			line <- s
		}()
		select {
		case s := <-line:
			if s != "data: first\n" {
				t.Fatalf("first event: %q", s)
			}
		case <-time.After(3 * time.Second):
			t.Fatal("first event held back until the stream ends")
		}
		close(sseDone)
	})

	t.Run("grpc-h2c-trailers-and-streaming", func(t *testing.T) {
		conn, err := grpc.NewClient(host, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		cli := healthpb.NewHealthClient(conn)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		r, err := cli.Check(ctx, &healthpb.HealthCheckRequest{Service: "guan.test"})
		if err != nil || r.Status != healthpb.HealthCheckResponse_SERVING {
			t.Fatalf("unary: %v %v", r, err)
		}
		// The grpc-status travels in trailers.
		_, err = cli.Check(ctx, &healthpb.HealthCheckRequest{Service: "unknown"})
		if grpcstatus.Code(err) != codes.NotFound {
			t.Fatalf("error status through trailers: %v", err)
		}
		stream, err := cli.Watch(ctx, &healthpb.HealthCheckRequest{Service: "guan.test"})
		if err != nil {
			t.Fatal(err)
		}
		if m, err := stream.Recv(); err != nil || m.Status != healthpb.HealthCheckResponse_SERVING {
			t.Fatalf("first streamed message: %v %v", m, err)
		}
		hs.SetServingStatus("guan.test", healthpb.HealthCheckResponse_NOT_SERVING)
		if m, err := stream.Recv(); err != nil || m.Status != healthpb.HealthCheckResponse_NOT_SERVING {
			t.Fatalf("second streamed message: %v %v", m, err)
		}
	})

	t.Run("h2c-downstream", func(t *testing.T) {
		c := &http.Client{Transport: &http2.Transport{AllowHTTP: true,
			DialTLSContext: func(ctx context.Context, network, addr string, _ *tls.Config) (net.Conn, error) {
				return (&net.Dialer{}).DialContext(ctx, network, addr)
			}}}
		resp, err := c.Get("http://" + host + "/plain")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.ProtoMajor != 2 {
			t.Fatalf("downstream protocol %s, want HTTP/2", resp.Proto)
		}
	})

	t.Run("h2-over-tls-and-forwarded-headers", func(t *testing.T) {
		c := &http.Client{Transport: &http.Transport{ForceAttemptHTTP2: true,
			TLSClientConfig: &tls.Config{InsecureSkipVerify: true, ServerName: "secure.test"}}}
		req, _ := http.NewRequest("GET", "https://"+host+"/", nil)
		req.Host = "secure.test"
		req.Header.Set("X-Forwarded-For", "6.6.6.6") // untrusted client: must be dropped
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.ProtoMajor != 2 {
			t.Fatalf("TLS downstream negotiated %s, want HTTP/2", resp.Proto)
		}
		if got := string(b); got != "proto=HTTP/1.1 xff=127.0.0.1 xfproto=https" {
			t.Fatalf("backend saw %q", got)
		}
	})

	t.Run("tls-metrics", func(t *testing.T) {
		body := g.metrics(t)
		for _, re := range []string{
			`guan_entrypoint_requests_tls_total\{entrypoint="web",tls_cipher="TLS_[A-Z0-9_]+",tls_version="1\.3"\} [1-9]`,
			`guan_router_requests_tls_total\{router="secure@file",service="plain@file",tls_cipher="TLS_[A-Z0-9_]+",tls_version="1\.3"\} [1-9]`,
			`guan_service_requests_tls_total\{service="plain@file",tls_cipher="TLS_[A-Z0-9_]+",tls_version="1\.3"\} [1-9]`,
		} {
			if !regexp.MustCompile(re).MatchString(body) {
				t.Errorf("metrics lack %s", re)
			}
		}
		if strings.Contains(body, `guan_entrypoint_requests_tls_total{entrypoint="traefik"`) {
			t.Error("plain HTTP requests counted as TLS")
		}
	})

	t.Run("connection-header-cannot-strip-gateway-headers", func(t *testing.T) {
		req, _ := http.NewRequest("GET", "http://"+host+"/plain", nil)
		req.Header.Set("Connection", "X-Forwarded-Proto, X-Forwarded-For")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if got := string(b); got != "proto=HTTP/1.1 xff=127.0.0.1 xfproto=http" {
			t.Fatalf("backend saw %q", got)
		}
	})

	t.Run("curl", func(t *testing.T) {
		if _, err := exec.LookPath("curl"); err != nil {
			t.Skip("curl is not installed (apt-get install curl)")
		}
		out, err := exec.Command("curl", "-sS", "-k", "--http2", "-o", "/dev/null", "-w", "%{http_version} %{http_code}",
			"--resolve", "secure.test:"+fmt.Sprint(g.web)+":127.0.0.1", fmt.Sprintf("https://secure.test:%d/", g.web)).CombinedOutput()
		if err != nil || string(out) != "2 200" {
			t.Fatalf("curl over TLS: %q %v", out, err)
		}
		out, err = exec.Command("curl", "-sS", fmt.Sprintf("http://%s/plain", host)).CombinedOutput()
		if err != nil || !strings.HasPrefix(string(out), "proto=HTTP/1.1") {
			t.Fatalf("curl plain: %q %v", out, err)
		}
	})
}
