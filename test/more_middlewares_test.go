package e2e

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/guan-gateway/guan/services/hrw"
)

// headerEcho is a backend answering with the request headers it received,
// as JSON.
func headerEcho(t *testing.T) string {
	t.Helper()
	return "http://" + serveOn(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(r.Header)
	}))
}

// A client presenting a certificate over mutual TLS: the service gets it in
// X-Forwarded-Tls-Client-Cert and the selected fields in
// X-Forwarded-Tls-Client-Cert-Info, in Traefik's format, whatever the
// client sent in those headers. Without a certificate, or over plain HTTP,
// the values a client sends do not reach the service.
func TestMoreMiddlewaresPassTLSClientCert(t *testing.T) {
	gwCA := newTestCA(t, "gateway CA")
	clientCA := newTestCA(t, "client CA")
	gwCert, gwKey, _ := gwCA.issue(t, "gateway", false, "mtls.test", "optional.test")
	_, _, clientPair := clientCA.issue(t, "client-1", true, "client-1.partner.test")
	leaf, err := x509.ParseCertificate(clientPair.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	be := headerEcho(t)

	cfg := ticked(fmt.Sprintf(`
[[tls.certificates]]
  certFile = '''%s'''
  keyFile = '''%s'''
[tls.options.mtls.clientAuth]
  caFiles = ['''%s''']
  clientAuthType = "RequireAndVerifyClientCert"
[tls.options.optional.clientAuth]
  caFiles = ['''%s''']
  clientAuthType = "VerifyClientCertIfGiven"

[http.routers.mtls]
  entryPoints = ["websecure"]
  rule = "Host(´mtls.test´)"
  service = "echo"
  middlewares = ["cert"]
  [http.routers.mtls.tls]
    options = "mtls"
[http.routers.optional]
  entryPoints = ["websecure"]
  rule = "Host(´optional.test´)"
  service = "echo"
  middlewares = ["cert"]
  [http.routers.optional.tls]
    options = "optional"
[http.routers.plain]
  entryPoints = ["web"]
  rule = "PathPrefix(´/´)"
  service = "echo"
  middlewares = ["cert"]

[http.middlewares.cert.passTLSClientCert]
  pem = true
  [http.middlewares.cert.passTLSClientCert.info]
    notAfter = true
    sans = true
    [http.middlewares.cert.passTLSClientCert.info.subject]
      commonName = true
    [http.middlewares.cert.passTLSClientCert.info.issuer]
      commonName = true

[[http.services.echo.loadBalancer.servers]]
  url = %q
`, gwCert, gwKey, clientCA.pem, clientCA.pem, be))
	port := freePort(t)
	g := startGateway(t, map[string]string{"mtls.toml": cfg}, gatewayOpts{extraEPs: map[string]int{"websecure": port}})

	spoofed := map[string]string{
		"X-Forwarded-Tls-Client-Cert":      "MIIBspoofed",
		"X-Forwarded-Tls-Client-Cert-Info": "Subject%3D%22CN%3Dadmin%22",
	}
	// request returns the headers the backend received.
	request := func(c *http.Client, target, host string) http.Header {
		t.Helper()
		hdr := map[string]string{"Host": host}
		for k, v := range spoofed {
			hdr[k] = v
		}
		code, body, _ := get(t, c, target, hdr)
		if code != 200 {
			t.Fatalf("%s (%s): status %d: %s", target, host, code, body)
		}
		var h http.Header
		if err := json.Unmarshal([]byte(body), &h); err != nil {
			t.Fatalf("%s: %v: %s", target, err, body)
		}
		return h
	}
	tlsClient := func(sni string, cert *tls.Certificate) *http.Client {
		tc := clientTLS(sni, gwCA.pool, cert)
		return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: tc, ForceAttemptHTTP2: true}}
	}
	https := fmt.Sprintf("https://127.0.0.1:%d/", port)
	withCert := tlsClient("mtls.test", &clientPair)
	eventually(t, 10*time.Second, func() error {
		_, err := withCert.Get(https)
		return err
	})

	wantPEM := base64.StdEncoding.EncodeToString(leaf.Raw)
	wantInfo := url.QueryEscape(fmt.Sprintf(`Subject="CN=client-1";Issuer="CN=client CA";NA="%d";SAN="client-1.partner.test"`, leaf.NotAfter.Unix()))
	for _, c := range []*http.Client{withCert, tlsClient("optional.test", &clientPair)} {
		host := c.Transport.(*http.Transport).TLSClientConfig.ServerName
		h := request(c, https, host)
		if got := h.Values("X-Forwarded-Tls-Client-Cert"); len(got) != 1 || got[0] != wantPEM {
			t.Errorf("%s: X-Forwarded-Tls-Client-Cert = %q, want %q", host, got, wantPEM)
		}
		if got := h.Values("X-Forwarded-Tls-Client-Cert-Info"); len(got) != 1 || got[0] != wantInfo {
			t.Errorf("%s: X-Forwarded-Tls-Client-Cert-Info = %q, want %q", host, got, wantInfo)
		}
	}

	// No certificate (optional client auth), and plain HTTP: the client's
	// values are dropped by the entrypoint, nothing is added.
	for name, h := range map[string]http.Header{
		"TLS without a client certificate": request(tlsClient("optional.test", nil), https, "optional.test"),
		"plain HTTP":                       request(nil, g.url("/"), "plain.test"),
	} {
		for k := range spoofed {
			if v := h.Values(k); len(v) != 0 {
				t.Errorf("%s: the backend got %s: %q", name, k, v)
			}
		}
	}
}

// A highestRandomWeight service sends every request of one client IP to
// the same child, whatever connection it comes on, and moves only the
// clients of a child that goes down.
func TestMoreMiddlewaresHighestRandomWeight(t *testing.T) {
	names := []string{"blue", "green", "red"}
	weights := []int{1, 2, 1}
	var redUp atomic.Bool
	redUp.Store(true)
	urls := map[string]string{}
	for _, n := range names {
		urls[n] = "http://" + serveOn(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/healthz" && n == "red" && !redUp.Load() {
				w.WriteHeader(http.StatusServiceUnavailable)
				return
			}
			io.WriteString(w, n)
		}))
	}
	cfg := ticked(fmt.Sprintf(`
[http.routers.app]
  entryPoints = ["web"]
  rule = "PathPrefix(´/´)"
  service = "app"
[http.services.app.highestRandomWeight]
  [[http.services.app.highestRandomWeight.services]]
    name = "blue"
    weight = %d
  [[http.services.app.highestRandomWeight.services]]
    name = "green"
    weight = %d
  [[http.services.app.highestRandomWeight.services]]
    name = "red"
    weight = %d
  [http.services.app.highestRandomWeight.healthCheck]
[[http.services.blue.loadBalancer.servers]]
  url = %q
[[http.services.green.loadBalancer.servers]]
  url = %q
[http.services.red.loadBalancer.healthCheck]
  path = "/healthz"
  interval = "100ms"
  timeout = "1s"
[[http.services.red.loadBalancer.servers]]
  url = %q
`, weights[0], weights[1], weights[2], urls["blue"], urls["green"], urls["red"]))
	g := startGateway(t, map[string]string{"hrw.toml": cfg}, gatewayOpts{})

	// pick is the child hashing picks for ip, without skip.
	pick := func(ip string, skip string) string {
		var children []hrw.Child
		for i, n := range names {
			if n != skip {
				children = append(children, hrw.Child{Name: n + "@file", Weight: weights[i], Handler: http.NotFoundHandler()})
			}
		}
		h, err := hrw.New(hrw.Options{Children: children})
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSuffix(children[h.Pick(ip)].Name, "@file")
	}
	eventually(t, 10*time.Second, func() error {
		if code, _, _ := get(t, nil, g.url("/"), nil); code != 200 {
			return fmt.Errorf("status %d", code)
		}
		return nil
	})

	// 24 client addresses, plus, when hashing sends none of them to red,
	// the first further loopback address it does send there: some client
	// must be on red to see that only its clients move.
	var ips []string
	onRed := false
	for i := 2; i < 26; i++ {
		ip := fmt.Sprintf("127.0.0.%d", i)
		ips = append(ips, ip)
		onRed = onRed || pick(ip, "") == "red"
	}
	for i := 26; !onRed && i < 255; i++ {
		if ip := fmt.Sprintf("127.0.0.%d", i); pick(ip, "") == "red" {
			ips = append(ips, ip)
			onRed = true
		}
	}
	if !onRed {
		t.Fatal("no address of 127.0.0.2-254 hashes to red")
	}

	clients := map[string]string{} // ip -> child
	reached := map[string]bool{}
	for _, ip := range ips {
		c := fromIP(ip)
		for range 3 {
			code, body, _ := get(t, c, g.url("/"), nil)
			if code != 200 {
				t.Fatalf("%s: status %d", ip, code)
			}
			if prev, ok := clients[ip]; ok && prev != body {
				t.Fatalf("client %s went to %s, then %s", ip, prev, body)
			}
			clients[ip] = body
		}
		if want := pick(ip, ""); clients[ip] != want {
			t.Errorf("client %s went to %s, want %s", ip, clients[ip], want)
		}
		reached[clients[ip]] = true
	}
	if len(reached) < 2 {
		t.Fatalf("%d clients all went to %v", len(ips), reached)
	}
	if !reached["red"] {
		t.Fatal("no client on red: cannot check that only its clients move")
	}

	// red fails its health check: its clients move, the others stay.
	redUp.Store(false)
	eventually(t, 10*time.Second, func() error {
		for ip, child := range clients {
			if child != "red" {
				continue
			}
			if _, body, _ := get(t, fromIP(ip), g.url("/"), nil); body == "red" {
				return fmt.Errorf("client %s still on red", ip)
			}
		}
		return nil
	})
	for ip, child := range clients {
		_, body, _ := get(t, fromIP(ip), g.url("/"), nil)
		want := child
		if child == "red" {
			want = pick(ip, "red")
		}
		if body != want {
			t.Errorf("red down: client %s (was on %s) went to %s, want %s", ip, child, body, want)
		}
	}
}

// An upstream response without Content-Type is sent without one, unless the
// router has a contentType middleware, which restores detection.
func TestMoreMiddlewaresContentType(t *testing.T) {
	untyped := serveOn(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header()["Content-Type"] = nil // no type, and no sniffing here either
		io.WriteString(w, "<html><body>untyped</body></html>")
	}))
	cfg := ticked(fmt.Sprintf(`
[http.routers.plain]
  rule = "Path(´/plain´)"
  service = "untyped"
[http.routers.detect]
  rule = "Path(´/detect´)"
  service = "untyped"
  middlewares = ["autodetect"]
[http.middlewares.autodetect.contentType]
[[http.services.untyped.loadBalancer.servers]]
  url = "http://%s"
`, untyped))
	g := startGateway(t, map[string]string{"ct.toml": cfg}, gatewayOpts{})
	eventually(t, 10*time.Second, func() error {
		if code, _, _ := get(t, nil, g.url("/detect"), nil); code != 200 {
			return fmt.Errorf("status %d", code)
		}
		return nil
	})
	if _, _, h := get(t, nil, g.url("/plain"), nil); len(h.Values("Content-Type")) != 0 {
		t.Errorf("without the middleware: Content-Type %q", h.Values("Content-Type"))
	}
	if _, _, h := get(t, nil, g.url("/detect"), nil); h.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Errorf("with the middleware: Content-Type %q", h.Values("Content-Type"))
	}
}
