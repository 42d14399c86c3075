package transport

import (
	"context"
	cryptotls "crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/emmansun/gmsm/smx509"

	"github.com/guan-gateway/guan/config/dynamic"
	"github.com/guan-gateway/guan/tls/sm2certs"
	"github.com/guan-gateway/guan/tls/tlcp"
)

// smBackend is an HTTP server that speaks TLCP only.
func smBackend(t *testing.T, set *sm2certs.Set, auth cryptotls.ClientAuthType) string {
	t.Helper()
	s, _ := tlcp.NewKeyPair(set.ServerSign.CertPEM, set.ServerSign.KeyPEM)
	e, _ := tlcp.NewKeyPair(set.ServerEnc.CertPEM, set.ServerEnc.KeyPEM)
	cfg := &tlcp.Config{Certificates: []*tlcp.Certificate{{Sign: s, Enc: e}}, ClientAuth: auth, SessionCache: tlcp.NewSessionCache(0, 0)}
	cfg.ClientCAs = caPool(set)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	type connKey struct{}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			st := r.Context().Value(connKey{}).(*tlcp.Conn).ConnectionState()
			fmt.Fprintf(w, "%s %s %s certs=%d", r.Proto, r.Host, r.URL.Path, len(st.PeerCertificates))
		}),
		// net/http fills Request.TLS for crypto/tls only: keep the conn.
		ConnContext: func(ctx context.Context, c net.Conn) context.Context { return context.WithValue(ctx, connKey{}, c) },
	}
	go srv.Serve(tlcp.NewListener(ln, cfg))
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

func TestTLCPUpstream(t *testing.T) {
	set, err := sm2certs.Generate(sm2certs.Options{Hosts: []string{"127.0.0.1", "bank.internal"}})
	if err != nil {
		t.Fatal(err)
	}
	addr := smBackend(t, set, cryptotls.NoClientCert)
	mtlsAddr := smBackend(t, set, cryptotls.RequireAndVerifyClientCert)
	ca := string(set.CA.CertPEM)

	fetch := func(tr *Transport, url string) (string, error) {
		req, _ := http.NewRequest("GET", url, nil)
		resp, err := tr.RoundTripper("https").RoundTrip(req)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b), nil
	}
	tr, err := New(&dynamic.ServersTransport{TLCP: &dynamic.TLCPClient{RootCAs: []string{ca}}}, "")
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	// The server name defaults to the URL's host (an IP here).
	if body, err := fetch(tr, "https://"+addr+"/ledger"); err != nil || body != "HTTP/1.1 "+addr+" /ledger certs=0" {
		t.Fatalf("TLCP upstream: %q, %v", body, err)
	}
	// An explicit server name is verified instead.
	named, _ := New(&dynamic.ServersTransport{TLCP: &dynamic.TLCPClient{RootCAs: []string{ca}, ServerName: "bank.internal", CipherSuites: []string{"ECC_SM4_CBC_SM3"}}}, "")
	if _, err := fetch(named, "https://"+addr+"/"); err != nil {
		t.Fatalf("serverName: %v", err)
	}
	wrong, _ := New(&dynamic.ServersTransport{TLCP: &dynamic.TLCPClient{RootCAs: []string{ca}, ServerName: "other.internal"}}, "")
	if _, err := fetch(wrong, "https://"+addr+"/"); err == nil || !strings.Contains(err.Error(), "other.internal") {
		t.Fatalf("wrong serverName: %v", err)
	}
	// Mutual authentication with a client sign/enc pair.
	if _, err := fetch(tr, "https://"+mtlsAddr+"/"); err == nil {
		t.Fatal("reached a backend that requires a client certificate without one")
	}
	mtls, err := New(&dynamic.ServersTransport{TLCP: &dynamic.TLCPClient{RootCAs: []string{ca}, Certificates: []dynamic.SM2KeyPairs{{
		CertFile: string(set.ClientSign.CertPEM), KeyFile: string(set.ClientSign.KeyPEM),
		EncCertFile: string(set.ClientEnc.CertPEM), EncKeyFile: string(set.ClientEnc.KeyPEM),
	}}}}, "")
	if err != nil {
		t.Fatal(err)
	}
	if body, err := fetch(mtls, "https://"+mtlsAddr+"/"); err != nil || !strings.HasSuffix(body, "certs=2") {
		t.Fatalf("mutual TLCP upstream: %q, %v", body, err)
	}
	// Configuration errors say what to fix.
	for _, tt := range []struct {
		cfg  dynamic.TLCPClient
		want string
	}{
		{dynamic.TLCPClient{}, "rootCAs is needed"},
		{dynamic.TLCPClient{InsecureSkipVerify: true, CipherSuites: []string{"AES"}}, "unknown TLCP cipher suite"},
		{dynamic.TLCPClient{RootCAs: []string{ca}, Certificates: []dynamic.SM2KeyPairs{{CertFile: string(set.ClientSign.CertPEM), KeyFile: string(set.ClientEnc.KeyPEM), EncCertFile: "x", EncKeyFile: "y"}}}, "encCertFile"},
	} {
		if _, err := New(&dynamic.ServersTransport{TLCP: &tt.cfg}, t.TempDir()); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%+v: %v, want %q", tt.cfg, err, tt.want)
		}
	}
}

func caPool(set *sm2certs.Set) *smx509.CertPool {
	p := smx509.NewCertPool()
	p.AddCert(set.CA.Cert)
	return p
}
