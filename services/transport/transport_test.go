package transport

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/guan-gateway/guan/config"
	"github.com/guan-gateway/guan/config/dynamic"
)

type testCA struct {
	cert    *x509.Certificate
	key     *ecdsa.PrivateKey
	certPEM string
}

func newCA(t *testing.T) *testCA {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &testCA{cert, key, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))}
}

// issue returns a leaf certificate and its PEM pair.
func (ca *testCA) issue(t *testing.T, dns []string, uri string, usage x509.ExtKeyUsage) (tls.Certificate, string, string) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: "leaf"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		DNSNames: dns, ExtKeyUsage: []x509.ExtKeyUsage{usage}, KeyUsage: x509.KeyUsageDigitalSignature,
	}
	if uri != "" {
		u, _ := url.Parse(uri)
		tmpl.URIs = []*url.URL{u}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	certPEM := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	keyPEM := string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}))
	pair, err := tls.X509KeyPair([]byte(certPEM), []byte(keyPEM))
	if err != nil {
		t.Fatal(err)
	}
	return pair, certPEM, keyPEM
}

func tlsBackend(t *testing.T, conf *tls.Config) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		client := "none"
		if len(r.TLS.PeerCertificates) > 0 {
			client = r.TLS.PeerCertificates[0].Subject.CommonName
		}
		io.WriteString(w, r.Proto+" "+client)
	}))
	srv.TLS = conf
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

func get(t *testing.T, tr *Transport, rawURL string) (string, error) {
	t.Helper()
	req, _ := http.NewRequest("GET", rawURL, nil)
	res, err := tr.RoundTripper("https").RoundTrip(req)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return string(b), err
}

func TestHTTPSUpstream(t *testing.T) {
	ca := newCA(t)
	serverCert, _, _ := ca.issue(t, []string{"backend.internal"}, "spiffe://example.org/backend", x509.ExtKeyUsageServerAuth)
	_, clientCertPEM, clientKeyPEM := ca.issue(t, nil, "", x509.ExtKeyUsageClientAuth)
	clientPool := x509.NewCertPool()
	clientPool.AddCert(ca.cert)
	backend := tlsBackend(t, &tls.Config{
		Certificates: []tls.Certificate{serverCert},
		ClientAuth:   tls.VerifyClientCertIfGiven, ClientCAs: clientPool,
		NextProtos: []string{"h2", "http/1.1"},
	})

	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "ca.pem"), []byte(ca.certPEM), 0o600)
	os.WriteFile(filepath.Join(dir, "client.pem"), []byte(clientCertPEM), 0o600)
	os.WriteFile(filepath.Join(dir, "client.key"), []byte(clientKeyPEM), 0o600)

	tests := []struct {
		name    string
		cfg     dynamic.ServersTransport
		want    string
		wantErr string
	}{
		{"untrusted CA", dynamic.ServersTransport{ServerName: "backend.internal"}, "", "certificate signed by unknown authority"},
		{"rootCAs file and serverName, h2 negotiated",
			dynamic.ServersTransport{ServerName: "backend.internal", RootCAs: []string{"ca.pem"}}, "HTTP/2.0 none", ""},
		{"inline rootCAs, HTTP/2 disabled",
			dynamic.ServersTransport{ServerName: "backend.internal", RootCAs: []string{ca.certPEM}, DisableHTTP2: true}, "HTTP/1.1 none", ""},
		{"wrong serverName", dynamic.ServersTransport{ServerName: "other.internal", RootCAs: []string{"ca.pem"}}, "", "other.internal"},
		{"client certificate",
			dynamic.ServersTransport{ServerName: "backend.internal", RootCAs: []string{"ca.pem"},
				Certificates: []dynamic.Certificate{{CertFile: "client.pem", KeyFile: "client.key"}}}, "HTTP/2.0 leaf", ""},
		{"insecureSkipVerify", dynamic.ServersTransport{InsecureSkipVerify: true}, "HTTP/2.0 none", ""},
		{"peerCertURI matches", dynamic.ServersTransport{RootCAs: []string{"ca.pem"}, PeerCertURI: "spiffe://example.org/backend"}, "HTTP/2.0 none", ""},
		{"peerCertURI differs", dynamic.ServersTransport{RootCAs: []string{"ca.pem"}, PeerCertURI: "spiffe://example.org/other"}, "", "no URI SAN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr, err := New(&tt.cfg, dir)
			if err != nil {
				t.Fatal(err)
			}
			defer tr.Close()
			got, err := get(t, tr, backend.URL)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one mentioning %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name    string
		cfg     dynamic.ServersTransport
		wantErr string
	}{
		{"missing CA file", dynamic.ServersTransport{RootCAs: []string{"/nonexistent/ca.pem"}}, "rootCAs[0]"},
		{"not PEM", dynamic.ServersTransport{RootCAs: []string{"-----BEGIN garbage"}}, "no PEM certificate"},
		{"key missing", dynamic.ServersTransport{Certificates: []dynamic.Certificate{{CertFile: "-----BEGIN CERTIFICATE-----"}}}, "certificates[0]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := New(&tt.cfg, ""); err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestH2CPriorKnowledge(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, r.Proto) }))
	srv.Config.Protocols = new(http.Protocols)
	srv.Config.Protocols.SetUnencryptedHTTP2(true)
	srv.Start()
	defer srv.Close()
	tr, err := New(nil, "")
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	req, _ := http.NewRequest("GET", srv.URL, nil)
	res, err := tr.RoundTripper("h2c").RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if string(b) != "HTTP/2.0" {
		t.Fatalf("proto %q", b)
	}
	if WireScheme("h2c") != "http" || WireScheme("https") != "https" {
		t.Fatal("WireScheme")
	}
}

func TestDialTimeoutApplies(t *testing.T) {
	// A listener whose backlog is full makes connects hang; 10.255.255.1 is
	// unroutable on most hosts. Use the latter but accept an immediate
	// network-unreachable error on hosts without a default route.
	d := dynamic.ServersTransport{ForwardingTimeouts: &dynamic.ForwardingTimeouts{}}
	dt := 50 * time.Millisecond
	cd := durationFrom(dt)
	d.ForwardingTimeouts.DialTimeout = &cd
	tr, err := New(&d, "")
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	start := time.Now()
	req, _ := http.NewRequest("GET", "http://10.255.255.1:81/", nil)
	_, err = tr.RoundTripper("http").RoundTrip(req)
	if err == nil {
		t.Skip("10.255.255.1 answered; no unroutable address on this host")
	}
	if el := time.Since(start); el > 3*time.Second {
		t.Fatalf("dial took %v with dialTimeout %v", el, dt)
	}
}

func durationFrom(d time.Duration) config.Duration { return config.Duration(d) }

// minVersion, maxVersion and cipherSuites bound what is offered to HTTPS
// servers.
func TestTLSVersionsAndCipherSuites(t *testing.T) {
	ca := newCA(t)
	serverCert, _, _ := ca.issue(t, []string{"backend.internal"}, "", x509.ExtKeyUsageServerAuth)
	seen := make(chan [2]uint16, 4)
	backend := func(maxVersion uint16) *httptest.Server {
		srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			seen <- [2]uint16{r.TLS.Version, r.TLS.CipherSuite}
		}))
		srv.TLS = &tls.Config{Certificates: []tls.Certificate{serverCert}, MaxVersion: maxVersion}
		srv.StartTLS()
		t.Cleanup(srv.Close)
		return srv
	}
	tls13, tls12 := backend(tls.VersionTLS13), backend(tls.VersionTLS12)
	base := dynamic.ServersTransport{ServerName: "backend.internal", RootCAs: []string{ca.certPEM}}

	cfg := base
	cfg.MaxVersion = "VersionTLS12"
	cfg.CipherSuites = []string{"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"}
	tr, err := New(&cfg, "")
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	if _, err := get(t, tr, tls13.URL); err != nil {
		t.Fatal(err)
	}
	if got := <-seen; got != [2]uint16{tls.VersionTLS12, tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384} {
		t.Fatalf("negotiated %s %s", tls.VersionName(got[0]), tls.CipherSuiteName(got[1]))
	}

	cfg = base
	cfg.MinVersion = "VersionTLS13"
	tr13, err := New(&cfg, "")
	if err != nil {
		t.Fatal(err)
	}
	defer tr13.Close()
	if _, err := get(t, tr13, tls12.URL); err == nil || !strings.Contains(err.Error(), "protocol version") {
		t.Fatalf("TLS 1.2 server with minVersion TLS 1.3: err = %v", err)
	}
	if _, err := get(t, tr13, tls13.URL); err != nil {
		t.Fatal(err)
	}
	if got := <-seen; got[0] != tls.VersionTLS13 {
		t.Fatalf("negotiated %s", tls.VersionName(got[0]))
	}

	for _, bad := range []struct {
		cfg  dynamic.ServersTransport
		want string
	}{
		{dynamic.ServersTransport{MinVersion: "TLS1.2"}, `minVersion "TLS1.2": use one of`},
		{dynamic.ServersTransport{MaxVersion: "VersionTLS14"}, `maxVersion "VersionTLS14"`},
		{dynamic.ServersTransport{MinVersion: "VersionTLS13", MaxVersion: "VersionTLS12"}, "lower than minVersion"},
		{dynamic.ServersTransport{CipherSuites: []string{"TLS_RSA_WITH_AES_128_GCM_SHA256", "AES"}}, `cipherSuites[1]: unknown cipher suite "AES"`},
	} {
		if _, err := New(&bad.cfg, ""); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%+v: err = %v, want %q", bad.cfg, err, bad.want)
		}
	}
}
