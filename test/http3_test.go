package e2e

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
)

// h3Gateway is a gateway with an HTTP/3 entrypoint "websecure" whose
// routers cover every rule matcher and a middleware chain.
type h3Gateway struct {
	g       *gateway
	port    int // TCP and UDP
	ca      *testCA
	access  string
	udpAddr string
}

func startH3Gateway(t *testing.T, extraStatic string) *h3Gateway {
	t.Helper()
	ca := newTestCA(t, "h3 CA")
	cert, key, _ := ca.issue(t, "h3.test", false, "h3.test", "h3-re.test")
	url := func(name string) string { u, _ := backend(t, name); return u }
	var routers strings.Builder
	for _, r := range []struct{ name, rule string }{
		{"path", "Host(´h3.test´) && Path(´/exact´)"},
		{"prefix", "Host(´h3.test´) && PathPrefix(´/prefix´)"},
		{"hostre", "HostRegexp(´^h3-[a-z]+\\.test$´)"},
		{"pathre", "Host(´h3.test´) && PathRegexp(´^/re/[0-9]+$´)"},
		{"method", "Host(´h3.test´) && Method(´DELETE´)"},
		{"header", "Host(´h3.test´) && Header(´X-Canary´, ´1´)"},
		{"headerre", "Host(´h3.test´) && HeaderRegexp(´X-Team´, ´^ops-´)"},
		{"query", "Host(´h3.test´) && Query(´v´, ´2´)"},
		{"queryre", "Host(´h3.test´) && QueryRegexp(´id´, ´^[0-9]+$´)"},
		{"clientip", "Host(´h3.test´) && ClientIP(´127.0.0.0/8´) && PathPrefix(´/ip´)"},
	} {
		fmt.Fprintf(&routers, "[http.routers.%s]\n  entryPoints = [\"websecure\"]\n  rule = %q\n  priority = 100\n  service = %q\n  [http.routers.%s.tls]\n[[http.services.%s.loadBalancer.servers]]\n  url = %q\n",
			r.name, r.rule, r.name, r.name, r.name, url(r.name))
	}
	// htpasswd {SHA} for bob:secret.
	cfg := ticked(fmt.Sprintf(`
[[tls.certificates]]
  certFile = '''%s'''
  keyFile = '''%s'''
[http.routers.host]
  entryPoints = ["websecure"]
  rule = "Host(´h3.test´)"
  priority = 1
  service = "host"
  [http.routers.host.tls]
[[http.services.host.loadBalancer.servers]]
  url = %q
[http.routers.mw]
  entryPoints = ["websecure"]
  rule = "Host(´h3.test´) && PathPrefix(´/mw´)"
  priority = 200
  service = "host"
  middlewares = ["via", "strip", "auth"]
  [http.routers.mw.tls]
[http.middlewares.via.headers.customResponseHeaders]
  X-Via = "guan"
[http.middlewares.strip.stripPrefix]
  prefixes = ["/mw"]
[http.middlewares.auth.basicAuth]
  users = ["bob:{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ="]
%s`, cert, key, url("host"), routers.String()))
	port := freePort(t)
	access := filepath.Join(t.TempDir(), "access.log")
	g := startGateway(t, map[string]string{"h3.toml": cfg}, gatewayOpts{
		extraEPs:    map[string]int{"websecure": port},
		extraStatic: "[entryPoints.websecure.http3]\n" + extraStatic + jsonAccessLog(access),
	})
	return &h3Gateway{g: g, port: port, ca: ca, access: access, udpAddr: fmt.Sprintf("127.0.0.1:%d", port)}
}

// client is quic-go's HTTP/3 client, dialling the gateway whatever the
// URL's host.
func (h *h3Gateway) client() (*http.Client, *http3.Transport) {
	tr := &http3.Transport{
		TLSClientConfig: &tls.Config{RootCAs: h.ca.pool},
		Dial: func(ctx context.Context, _ string, tlsCfg *tls.Config, cfg *quic.Config) (*quic.Conn, error) {
			return quic.DialAddrEarly(ctx, h.udpAddr, tlsCfg, cfg)
		},
	}
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}, tr
}

func do3(t *testing.T, c *http.Client, method, url string, hdr map[string]string) (int, string, http.Header, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header, resp.Proto
}

// Every rule matcher and a middleware chain over HTTP/3, with quic-go's
// client against the real binary; Alt-Svc on the TCP side; access log and
// metrics name the protocol.
func TestHTTP3Routing(t *testing.T) {
	h := startH3Gateway(t, "")
	c, tr := h.client()
	defer tr.Close()
	base := fmt.Sprintf("https://h3.test:%d", h.port)
	for _, tc := range []struct {
		method, url string
		hdr         map[string]string
		want        string
	}{
		{"GET", base + "/exact", nil, "path GET /exact"},
		{"GET", base + "/prefix/x", nil, "prefix GET /prefix/x"},
		{"GET", fmt.Sprintf("https://h3-re.test:%d/any", h.port), nil, "hostre GET /any"},
		{"GET", base + "/re/42", nil, "pathre GET /re/42"},
		{"DELETE", base + "/thing", nil, "method DELETE /thing"},
		{"GET", base + "/h", map[string]string{"X-Canary": "1"}, "header GET /h"},
		{"GET", base + "/h", map[string]string{"X-Team": "ops-east"}, "headerre GET /h"},
		{"GET", base + "/q?v=2", nil, "query GET /q?v=2"},
		{"GET", base + "/q?id=17", nil, "queryre GET /q?id=17"},
		{"GET", base + "/ip", nil, "clientip GET /ip"},
		{"GET", base + "/other", nil, "host GET /other"},
	} {
		code, body, _, proto := do3(t, c, tc.method, tc.url, tc.hdr)
		if code != 200 || body != tc.want || proto != "HTTP/3.0" {
			t.Errorf("%s %s %v: %d %q over %s, want 200 %q over HTTP/3.0", tc.method, tc.url, tc.hdr, code, body, proto, tc.want)
		}
	}

	// Middlewares: basicAuth refuses, then headers and stripPrefix apply.
	if code, _, hdr, _ := do3(t, c, "GET", base+"/mw/rest", nil); code != 401 || hdr.Get("Www-Authenticate") == "" {
		t.Errorf("without credentials over HTTP/3: %d %v, want 401 with WWW-Authenticate", code, hdr)
	}
	code, body, hdr, _ := do3(t, c, "GET", base+"/mw/rest", map[string]string{"Authorization": "Basic Ym9iOnNlY3JldA=="})
	if code != 200 || body != "host GET /rest" || hdr.Get("X-Via") != "guan" {
		t.Errorf("through the chain over HTTP/3: %d %q X-Via=%q", code, body, hdr.Get("X-Via"))
	}
	// A Host the certificate's SNI would not have chosen is still routed by
	// the same rules as over TCP: an unknown host gets 404.
	if code, _, _, _ := do3(t, c, "GET", fmt.Sprintf("https://h3-re.test:%d/exact", h.port), map[string]string{}); code != 200 {
		t.Errorf("HostRegexp over HTTP/3: %d", code)
	}

	// A router added by a reload is served over HTTP/3 on the next request.
	late, _ := backend(t, "late")
	h.g.writeDynamic("late.toml", ticked(fmt.Sprintf(`
[http.routers.late]
  entryPoints = ["websecure"]
  rule = "Host(´h3.test´) && Path(´/late´)"
  priority = 300
  service = "late"
  [http.routers.late.tls]
[[http.services.late.loadBalancer.servers]]
  url = %q
`, late)))
	eventually(t, 5*time.Second, func() error {
		if _, body, _, _ := do3(t, c, "GET", base+"/late", nil); body != "late GET /late" {
			return fmt.Errorf("after the reload: %q", body)
		}
		return nil
	})

	// HTTPS over TCP announces HTTP/3.
	tcp := &http.Client{Transport: &http.Transport{TLSClientConfig: clientTLS("h3.test", h.ca.pool, nil), DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "tcp", h.udpAddr)
	}}}
	_, _, th := get(t, tcp, base+"/exact", nil)
	if got, want := th.Get("Alt-Svc"), fmt.Sprintf(`h3=":%d"; ma=2592000`, h.port); got != want {
		t.Errorf("Alt-Svc over TCP: %q, want %q", got, want)
	}
	// Plain HTTP on the same gateway does not announce it.
	_, _, ph := get(t, nil, h.g.url("/"), nil)
	if v := ph.Get("Alt-Svc"); v != "" {
		t.Errorf("plain HTTP response announces %q", v)
	}

	eventually(t, 5*time.Second, func() error {
		e, err := accessLogLine(h.access, "/re/42")
		if err != nil {
			return err
		}
		if e["RequestProtocol"] != "HTTP/3.0" {
			return fmt.Errorf("access log RequestProtocol %v", e["RequestProtocol"])
		}
		return nil
	})
	m := h.g.metrics(t)
	if !regexp.MustCompile(`guan_entrypoint_requests_http_version_total\{entrypoint="websecure",http_version="3"\} 1[3-9]`).MatchString(m) {
		t.Errorf("HTTP/3 requests not counted:\n%s", grepLines(m, "http_version"))
	}
	if !regexp.MustCompile(`guan_open_connections\{entrypoint="websecure",protocol="HTTP"\} [1-9]`).MatchString(m) {
		t.Errorf("the open QUIC connection is not counted:\n%s", grepLines(m, "guan_open_connections"))
	}
}

// ngtcp2's client (an independent QUIC and HTTP/3 implementation) gets
// its response, also after it moved to another local address mid-
// connection.
func TestHTTP3WithNgtcp2Client(t *testing.T) {
	bin, err := exec.LookPath("gtlsclient")
	if err != nil {
		t.Skip("gtlsclient (Debian package ngtcp2-client) is not installed; scripts/test.sh installs it")
	}
	h := startH3Gateway(t, "")
	for _, mode := range []struct {
		name string
		args []string
	}{
		{"plain", nil},
		// The request leaves after the client changed its local address.
		{"migration", []string{"--change-local-addr=100ms", "--delay-stream=400ms"}},
		{"nat-rebinding", []string{"--change-local-addr=100ms", "--nat-rebinding", "--delay-stream=400ms"}},
	} {
		t.Run(mode.name, func(t *testing.T) {
			dir := t.TempDir()
			args := append([]string{"--quiet", "--no-quic-dump", "--exit-on-all-streams-close", "--timeout=5s",
				"--sni=h3.test", "--download=" + dir}, mode.args...)
			args = append(args, "127.0.0.1", fmt.Sprint(h.port), fmt.Sprintf("https://h3.test:%d/prefix/ngtcp2", h.port))
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput()
			if err != nil {
				t.Fatalf("gtlsclient: %v\n%s", err, out)
			}
			body, err := os.ReadFile(filepath.Join(dir, "ngtcp2"))
			if err != nil || string(body) != "prefix GET /prefix/ngtcp2" {
				t.Fatalf("downloaded %q (%v); gtlsclient said:\n%s", body, err, out)
			}
		})
	}
}

// curl speaks HTTP/3 only when built with it; Debian's is not.
func TestHTTP3WithCurl(t *testing.T) {
	out, err := exec.Command("curl", "--version").Output()
	if err != nil {
		t.Skip("curl is not installed")
	}
	if !regexp.MustCompile(`(?m)^Features:.*\bHTTP3\b`).Match(out) {
		t.Skip("the installed curl has no HTTP3 feature (Debian builds it without); TestHTTP3WithNgtcp2Client covers an independent client")
	}
	h := startH3Gateway(t, "")
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	writeFile(t, caFile, h.ca.pem)
	got, err := exec.Command("curl", "-sS", "--http3-only", "--cacert", caFile,
		"--resolve", fmt.Sprintf("h3.test:%d:127.0.0.1", h.port), fmt.Sprintf("https://h3.test:%d/exact", h.port)).CombinedOutput()
	if err != nil || string(got) != "path GET /exact" {
		t.Fatalf("curl --http3-only: %v %q", err, got)
	}
}
