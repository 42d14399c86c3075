package e2e

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// digestAnswer answers a Digest challenge (the WWW-Authenticate value) for
// user/password on GET uri with nonce count nc, as a client would.
func digestAnswer(t *testing.T, challenge, user, password, uri string, nc int) string {
	t.Helper()
	param := func(name string) string {
		m := regexp.MustCompile(name + `="([^"]*)"`).FindStringSubmatch(challenge)
		if m == nil {
			t.Fatalf("no %s in challenge %q", name, challenge)
		}
		return m[1]
	}
	h := func(s string) string { sum := md5.Sum([]byte(s)); return hex.EncodeToString(sum[:]) }
	realm, nonce, count := param("realm"), param("nonce"), fmt.Sprintf("%08x", nc)
	response := h(h(user+":"+realm+":"+password) + ":" + nonce + ":" + count + ":abc123:auth:" + h("GET:"+uri))
	return fmt.Sprintf(`Digest username="%s", realm="%s", nonce="%s", uri="%s", response="%s", opaque="%s", qop=auth, nc=%s, cnonce="abc123", algorithm=MD5`,
		user, realm, nonce, uri, response, param("opaque"), count)
}

func TestDigestAuthThroughGateway(t *testing.T) {
	addr := serveOn(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "user=%s auth=%t", r.Header.Get("X-WebAuth-User"), r.Header.Get("Authorization") != "")
	}))
	marker, _ := backend(t, "marker")
	cfg := fmt.Sprintf(`
[http.routers.admin]
  rule = "PathPrefix(`+"`/admin`"+`)"
  service = "svc"
  middlewares = ["digest"]
[http.middlewares.digest.digestAuth]
  users = ["test:traefik:a2688e031edb4be6a3797f3882655c05"]
  usersFile = "more.htdigest"
  headerField = "X-WebAuth-User"
  removeHeader = true
[[http.services.svc.loadBalancer.servers]]
  url = "http://%s"
`, addr)
	g := startGateway(t, map[string]string{
		"auth.toml": cfg,
		// htdigest's output for test2/test2 and for a user of another realm.
		"more.htdigest": "test2:traefik:518845800f9e2bfb1f1f740ec24f074e\nother:elsewhere:518845800f9e2bfb1f1f740ec24f074e\n",
	}, gatewayOpts{})

	code, body, h := get(t, nil, g.url("/admin/x"), nil)
	challenge := h.Get("WWW-Authenticate")
	if code != 401 || !strings.HasPrefix(challenge, `Digest realm="traefik", qop="auth", algorithm=MD5, nonce="`) || body != "401 Unauthorized\n" {
		t.Fatalf("no credentials: %d %q %q", code, challenge, body)
	}

	if _, err := exec.LookPath("curl"); err != nil {
		t.Log("curl not installed: its part is skipped")
	} else {
		curl := func(userpw, path string) string {
			out, err := exec.Command("curl", "-sS", "--digest", "-u", userpw, "-w", " %{http_code}", g.url(path)).CombinedOutput()
			if err != nil {
				t.Fatalf("curl %s: %v %s", userpw, err, out)
			}
			return string(out)
		}
		for _, c := range []struct{ userpw, path, want string }{
			{"test:test", "/admin/a?b=c", "user=test auth=false 200"},
			{"test2:test2", "/admin/", "user=test2 auth=false 200"},
			{"test:wrong", "/admin/", "401 Unauthorized\n 401"},
			{"other:test2", "/admin/", "401 Unauthorized\n 401"},
		} {
			if got := curl(c.userpw, c.path); got != c.want {
				t.Errorf("curl --digest -u %s %s: %q, want %q", c.userpw, c.path, got, c.want)
			}
		}
	}

	// A logged-in client keeps its nonce across a reload; its counts are
	// still used once each.
	send := func(nc int) (int, http.Header) {
		code, _, h := get(t, nil, g.url("/admin/s"), map[string]string{"Authorization": digestAnswer(t, challenge, "test", "test", "/admin/s", nc)})
		return code, h
	}
	if code, h := send(1); code != 200 || !strings.HasPrefix(h.Get("Authentication-Info"), `rspauth="`) {
		t.Fatalf("first request: %d %v", code, h)
	}
	g.writeDynamic("marker.toml", fmt.Sprintf("[http.routers.marker]\n  rule = \"Path(`/marker`)\"\n  service = \"marker\"\n[[http.services.marker.loadBalancer.servers]]\n  url = %q\n", marker))
	eventually(t, 10*time.Second, func() error {
		if code, _, _ := get(t, nil, g.url("/marker"), nil); code != 200 {
			return fmt.Errorf("marker route answers %d", code)
		}
		return nil
	})
	if code, _ := send(2); code != 200 {
		t.Fatalf("after the reload: %d", code)
	}
	if code, h := send(2); code != 401 || !strings.HasSuffix(h.Get("WWW-Authenticate"), "stale=true") {
		t.Fatalf("replayed count: %d %v", code, h)
	}
}

// grpcWebCall posts one gRPC-Web request (binary or text) to the gateway
// and returns the response, its messages and its trailers.
func grpcWebCall(t *testing.T, url, contentType string, msg []byte) (*http.Response, [][]byte, map[string]string) {
	t.Helper()
	body := make([]byte, 5, 5+len(msg))
	binary.BigEndian.PutUint32(body[1:], uint32(len(msg)))
	body = append(body, msg...)
	text := strings.HasPrefix(contentType, "application/grpc-web-text")
	if text {
		body = []byte(base64.StdEncoding.EncodeToString(body))
	}
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("X-Grpc-Web", "1")
	req.Header.Set("Origin", "https://app.example.com")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if text {
		// Padded base64 pieces, one after the other.
		var dec []byte
		for s := string(raw); s != ""; {
			n := len(s)
			if i := strings.IndexByte(s, '='); i >= 0 {
				for n = i; n < len(s) && s[n] == '='; n++ {
				}
			}
			b, err := base64.StdEncoding.DecodeString(s[:n])
			if err != nil {
				t.Fatalf("text response %q: %v", raw, err)
			}
			dec, s = append(dec, b...), s[n:]
		}
		raw = dec
	}
	var msgs [][]byte
	var trailers map[string]string
	for len(raw) >= 5 {
		n := int(binary.BigEndian.Uint32(raw[1:5]))
		if len(raw) < 5+n {
			t.Fatalf("truncated frame in %x", raw)
		}
		payload := raw[5 : 5+n]
		if raw[0]&0x80 == 0 {
			msgs = append(msgs, payload)
		} else {
			trailers = map[string]string{}
			for _, line := range strings.Split(string(payload), "\r\n") {
				if k, v, ok := strings.Cut(line, ":"); ok {
					trailers[k] = strings.TrimSpace(v)
				}
			}
		}
		raw = raw[5+n:]
	}
	if len(raw) != 0 {
		t.Fatalf("%d stray bytes after the frames", len(raw))
	}
	return resp, msgs, trailers
}

func TestGRPCWebThroughGateway(t *testing.T) {
	grpcAddr, _ := grpcHealthBackend(t)

	cfg := fmt.Sprintf(`
http:
  routers:
    grpc:
      rule: "PathPrefix(`+"`/grpc.health.v1.Health`"+`)"
      service: grpc
      middlewares: [web]
  middlewares:
    web:
      grpcWeb:
        allowOrigins: ["https://app.example.com"]
  services:
    grpc: {loadBalancer: {servers: [{url: "h2c://%s"}]}}
`, grpcAddr)
	g := startGateway(t, map[string]string{"g.yaml": cfg}, gatewayOpts{})
	check := g.url("/grpc.health.v1.Health/Check")
	// HealthCheckRequest{service: "guan.test"} and {service: "nope"}, and
	// HealthCheckResponse{status: SERVING}, encoded by hand.
	known := append([]byte{0x0a, 9}, "guan.test"...)
	unknown := append([]byte{0x0a, 4}, "nope"...)
	serving := []byte{0x08, 0x01}

	for _, ct := range []string{"application/grpc-web+proto", "application/grpc-web-text"} {
		t.Run(ct, func(t *testing.T) {
			resp, msgs, trailers := grpcWebCall(t, check, ct, known)
			if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), strings.TrimSuffix(ct, "+proto")) {
				t.Fatalf("status %d, Content-Type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
			}
			if len(msgs) != 1 || !bytes.Equal(msgs[0], serving) || trailers["grpc-status"] != "0" {
				t.Fatalf("messages %x trailers %v; want one %x and grpc-status 0", msgs, trailers, serving)
			}
			if resp.Header.Get("Access-Control-Allow-Origin") != "https://app.example.com" {
				t.Errorf("Access-Control-Allow-Origin = %q", resp.Header.Get("Access-Control-Allow-Origin"))
			}
			// An error status: NotFound (5), in the trailer frame or, for
			// a trailers-only answer, in the headers.
			resp, msgs, trailers = grpcWebCall(t, check, ct, unknown)
			status := trailers["grpc-status"]
			if status == "" {
				status = resp.Header.Get("Grpc-Status")
			}
			if len(msgs) != 0 || status != "5" {
				t.Fatalf("unknown service: messages %x trailers %v headers %v", msgs, trailers, resp.Header)
			}
		})
	}

	t.Run("preflight", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodOptions, check, nil)
		req.Header.Set("Origin", "https://app.example.com")
		req.Header.Set("Access-Control-Request-Method", "POST")
		req.Header.Set("Access-Control-Request-Headers", "content-type,x-grpc-web")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("Access-Control-Allow-Origin") != "https://app.example.com" {
			t.Fatalf("preflight: %d %v", resp.StatusCode, resp.Header)
		}
	})

	// Native gRPC clients use the same route untouched.
	t.Run("native-grpc", func(t *testing.T) {
		conn, err := grpc.NewClient(fmt.Sprintf("127.0.0.1:%d", g.web), grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		res, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{Service: "guan.test"})
		if err != nil || res.Status != healthpb.HealthCheckResponse_SERVING {
			t.Fatalf("Check = %v, %v", res, err)
		}
	})
}
