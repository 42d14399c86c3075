package e2e

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emmansun/gmsm/smx509"
	"github.com/tjfoc/gmsm/gmtls"
	tjx509 "github.com/tjfoc/gmsm/x509"

	"github.com/guan-gateway/guan/tls/sm2certs"
	"github.com/guan-gateway/guan/tls/tlcp"
)

// The real binary serves TLCP and TLS 1.3 on one port to HTTP routers and a
// TCP router, to Guan's TLCP client and to tjfoc's gmtls, lists the SM2
// pair in /api/certificates, logs the protocol, and keeps serving the pair
// it loaded when a reload finds its files broken.
func TestTLCPGateway(t *testing.T) {
	sm, err := sm2certs.Generate(sm2certs.Options{Hosts: []string{"sm.test", "tcp.test", "mtls.test"}})
	if err != nil {
		t.Fatal(err)
	}
	certDir := t.TempDir()
	if err := sm.WriteFiles(certDir); err != nil {
		t.Fatal(err)
	}
	tlsCA := newTestCA(t, "tls CA")
	tlsCert, tlsKey, _ := tlsCA.issue(t, "sm.test", false, "sm.test", "tcp.test")
	be, hits := backend(t, "app")
	echo := tcpEcho(t, "ledger", nil)

	cfg := ticked(fmt.Sprintf(`
[[tls.certificates]]
  certFile = %[1]q
  keyFile = %[2]q
  encCertFile = %[3]q
  encKeyFile = %[4]q
[[tls.certificates]]
  certFile = '''%[5]s'''
  keyFile = '''%[6]s'''
# tjfoc's gmtls sends no SNI: the default options serve it.
[tls.options.default]
  tlcp = "auto"
[tls.options.gmonly]
  tlcp = "only"
[tls.options.gmmtls]
  tlcp = "auto"
  tlcpCipherSuites = ["ECDHE_SM4_GCM_SM3", "ECC_SM4_GCM_SM3"]
  [tls.options.gmmtls.clientAuth]
    caFiles = [%[7]q]
    clientAuthType = "RequireAndVerifyClientCert"

[http.routers.sm]
  entryPoints = ["websecure"]
  rule = "Host(´sm.test´)"
  service = "app"
  [http.routers.sm.tls]
[http.routers.mtls]
  entryPoints = ["websecure"]
  rule = "Host(´mtls.test´)"
  service = "app"
  [http.routers.mtls.tls]
    options = "gmmtls"
[[http.services.app.loadBalancer.servers]]
  url = %[8]q

[tcp.routers.ledger]
  entryPoints = ["websecure"]
  rule = "HostSNI(´tcp.test´)"
  service = "echo"
  [tcp.routers.ledger.tls]
    options = "gmonly"
[[tcp.services.echo.loadBalancer.servers]]
  address = %[9]q
`, filepath.Join(certDir, "sign.crt"), filepath.Join(certDir, "sign.key"), filepath.Join(certDir, "enc.crt"), filepath.Join(certDir, "enc.key"),
		tlsCert, tlsKey, filepath.Join(certDir, "ca.crt"), be, echo))
	port := freePort(t)
	g := startGateway(t, map[string]string{"tlcp.toml": cfg}, gatewayOpts{
		extraEPs:    map[string]int{"websecure": port},
		extraStatic: "[accessLog]\n  format = \"json\"\n",
	})
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	roots := smx509.NewCertPool()
	roots.AddCert(sm.CA.Cert)

	// Guan's TLCP client, one-way authentication: an ECC suite.
	var seen tlcp.ConnectionState
	smClient := func(name string, withCert bool) *http.Client {
		c := &tlcp.Config{ServerName: name, RootCAs: roots}
		if withCert {
			s, _ := tlcp.NewKeyPair(sm.ClientSign.CertPEM, sm.ClientSign.KeyPEM)
			e, _ := tlcp.NewKeyPair(sm.ClientEnc.CertPEM, sm.ClientEnc.KeyPEM)
			c.Certificates = []*tlcp.Certificate{{Sign: s, Enc: e}}
		}
		// Every host name of the test is served at addr.
		return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
			DisableKeepAlives: true,
			DialTLSContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				conn, err := tlcp.Dial(ctx, network, addr, c)
				if err == nil {
					seen = conn.ConnectionState()
				}
				return conn, err
			},
		}}
	}
	if code, body, _ := get(t, smClient("sm.test", false), "https://sm.test/ledger", nil); code != 200 || body != "app GET /ledger" {
		t.Fatalf("TLCP client: %d %q", code, body)
	}
	if seen.CipherSuite != tlcp.ECC_SM4_GCM_SM3 || len(seen.PeerCertificates) != 2 || seen.PeerCertificates[0].Subject.CommonName != "sm.test (sign)" {
		t.Fatalf("TLCP handshake: %+v", seen)
	}
	// Mutual authentication: the ECDHE suite.
	if code, _, _ := get(t, smClient("mtls.test", true), "https://mtls.test/", nil); code != 200 || seen.CipherSuite != tlcp.ECDHE_SM4_GCM_SM3 {
		t.Fatalf("TLCP client with certificates: %d, suite %s", code, tlcp.CipherSuiteName(seen.CipherSuite))
	}
	// A TLS 1.3 client on the same port gets the ECDSA certificate.
	tr := &http.Transport{TLSClientConfig: clientTLS("sm.test", tlsCA.pool, nil),
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		}}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Get("https://sm.test/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.TLS.Version != tls.VersionTLS13 || resp.StatusCode != 200 {
		t.Fatalf("TLS client: %d, version %x", resp.StatusCode, resp.TLS.Version)
	}
	// tjfoc's gmtls, an independent TLCP stack (ECC_SM4_CBC_SM3 only).
	tjRoots := tjx509.NewCertPool()
	tjRoots.AppendCertsFromPEM(sm.CA.CertPEM)
	tj, err := gmtls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr,
		&gmtls.Config{GMSupport: gmtls.NewGMSupport(), RootCAs: tjRoots, ServerName: "sm.test"})
	if err != nil {
		t.Fatalf("gmtls client: %v", err)
	}
	fmt.Fprintf(tj, "GET /tjfoc HTTP/1.1\r\nHost: sm.test\r\nConnection: close\r\n\r\n")
	_ = tj.SetReadDeadline(time.Now().Add(10 * time.Second))
	tjResp, err := http.ReadResponse(bufio.NewReader(tj), nil)
	if err != nil {
		t.Fatalf("gmtls client response: %v", err)
	}
	b, _ := io.ReadAll(tjResp.Body)
	tj.Close()
	if tjResp.StatusCode != 200 || string(b) != "app GET /tjfoc" {
		t.Fatalf("gmtls client: %d %q", tjResp.StatusCode, b)
	}
	if hits() != 4 {
		t.Fatalf("backend saw %d requests, want 4", hits())
	}

	// The TCP router (tlcp = only): TLCP clients get the echo, TLS clients
	// a protocol_version alert.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tc, err := tlcp.Dial(ctx, "tcp", addr, &tlcp.Config{ServerName: "tcp.test", RootCAs: roots})
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprint(tc, "ledger entry\n")
	line, err := bufio.NewReader(tc).ReadString('\n')
	tc.Close()
	if err != nil || line != "ledger:ledger entry\n" {
		t.Fatalf("TCP over TLCP: %q, %v", line, err)
	}
	if c, err := tls.Dial("tcp", addr, clientTLS("tcp.test", tlsCA.pool, nil)); err == nil {
		c.Close()
		t.Fatal("a TLS client reached a TLCP-only TCP router")
	} else if !strings.Contains(err.Error(), "protocol version") {
		t.Fatalf("TLS client on a TLCP-only router: %v", err)
	}

	// The access log names the protocol and suite.
	eventually(t, 5*time.Second, func() error {
		if !strings.Contains(g.out.String(), `"TLSCipher":"ECC_SM4_GCM_SM3","TLSVersion":"TLCP"`) {
			return fmt.Errorf("no TLCP access log line yet")
		}
		return nil
	})

	// /api/certificates lists both halves of the SM2 pair.
	var certs []struct {
		Subject, Protocol, Usage, KeyType string
		DaysLeft                          int
	}
	_, body, _ := get(t, http.DefaultClient, g.apiURL("/api/certificates"), nil)
	if err := json.Unmarshal([]byte(body), &certs); err != nil {
		t.Fatal(err)
	}
	found := 0
	for _, c := range certs {
		if c.Protocol == "tlcp" && c.KeyType == "SM2" && (c.Usage == "sign" || c.Usage == "enc") && c.DaysLeft >= 363 {
			found++
		}
	}
	if found != 2 || len(certs) != 3 {
		t.Fatalf("/api/certificates: %s", body)
	}
	if m := g.metrics(t); !strings.Contains(m, `guan_tls_certs_not_after{cn="sm.test (enc)"`) {
		t.Fatal("guan_tls_certs_not_after has no series for the SM2 encryption certificate")
	}

	// A reload that finds the encryption key broken is reported naming the
	// file, and the pair loaded before keeps serving.
	if err := os.WriteFile(filepath.Join(certDir, "enc.key"), []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	g.writeDynamic("tlcp.toml", cfg+"\n# touched\n")
	eventually(t, 10*time.Second, func() error {
		if !strings.Contains(g.out.String(), "encKeyFile") || !strings.Contains(g.out.String(), "the pair loaded before keeps serving") {
			return fmt.Errorf("no report of the broken encryption key yet")
		}
		return nil
	})
	if code, _, _ := get(t, smClient("sm.test", false), "https://sm.test/after-reload", nil); code != 200 {
		t.Fatalf("TLCP after a reload with a broken key: %d", code)
	}
}

// A service whose server speaks TLCP only is reached through a
// serversTransport with a tlcp section, with mutual authentication.
func TestTLCPUpstreamThroughGateway(t *testing.T) {
	sm, err := sm2certs.Generate(sm2certs.Options{Hosts: []string{"ledger.internal"}})
	if err != nil {
		t.Fatal(err)
	}
	s, _ := tlcp.NewKeyPair(sm.ServerSign.CertPEM, sm.ServerSign.KeyPEM)
	e, _ := tlcp.NewKeyPair(sm.ServerEnc.CertPEM, sm.ServerEnc.KeyPEM)
	roots := smx509.NewCertPool()
	roots.AddCert(sm.CA.Cert)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	type connKey struct{}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			st := r.Context().Value(connKey{}).(*tlcp.Conn).ConnectionState()
			fmt.Fprintf(w, "ledger %s %s client=%s", r.URL.Path, tlcp.CipherSuiteName(st.CipherSuite), st.PeerCertificates[0].Subject.CommonName)
		}),
		ConnContext: func(ctx context.Context, c net.Conn) context.Context { return context.WithValue(ctx, connKey{}, c) },
	}
	go srv.Serve(tlcp.NewListener(ln, &tlcp.Config{Certificates: []*tlcp.Certificate{{Sign: s, Enc: e}},
		ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: roots}))
	defer srv.Close()

	cfg := ticked(fmt.Sprintf(`
[http.serversTransports.sm.tlcp]
  serverName = "ledger.internal"
  rootCAs = ['''%s''']
  [[http.serversTransports.sm.tlcp.certificates]]
    certFile = '''%s'''
    keyFile = '''%s'''
    encCertFile = '''%s'''
    encKeyFile = '''%s'''
[http.routers.ledger]
  entryPoints = ["web"]
  rule = "PathPrefix(´/´)"
  service = "ledger"
[http.services.ledger.loadBalancer]
  serversTransport = "sm"
  [[http.services.ledger.loadBalancer.servers]]
    url = "https://%s"
`, sm.CA.CertPEM, sm.ClientSign.CertPEM, sm.ClientSign.KeyPEM, sm.ClientEnc.CertPEM, sm.ClientEnc.KeyPEM, ln.Addr()))
	g := startGateway(t, map[string]string{"up.toml": cfg}, gatewayOpts{})
	for i := 0; i < 3; i++ {
		code, body, _ := get(t, http.DefaultClient, g.url(fmt.Sprintf("/entries/%d", i)), nil)
		if code != 200 || body != fmt.Sprintf("ledger /entries/%d ECDHE_SM4_GCM_SM3 client=tlcp-client (sign)", i) {
			t.Fatalf("through the gateway: %d %q", code, body)
		}
	}
}
