package entrypoints

import (
	"bytes"
	"context"
	cryptotls "crypto/tls"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/emmansun/gmsm/smx509"

	"github.com/guan-gateway/guan/config/dynamic"
	"github.com/guan-gateway/guan/config/static"
	"github.com/guan-gateway/guan/reqinfo"
	guantls "github.com/guan-gateway/guan/tls"
	"github.com/guan-gateway/guan/tls/sm2certs"
	"github.com/guan-gateway/guan/tls/tlcp"
)

// tlcpFixture is a TLS manager with an ECDSA certificate for *.b.test and
// an SM2 sign/enc pair for the same names, and three option sets: default
// (TLS only), "gm" (tlcp = auto) and "gmonly" (tlcp = only).
type tlcpFixture struct {
	*tlsFixture
	sm *sm2certs.Set
}

func newTLCPFixture(t *testing.T) *tlcpFixture {
	t.Helper()
	ca := newCA(t)
	bCert, bKey := ca.issue(t, false, "*.b.test")
	sm, err := sm2certs.Generate(sm2certs.Options{Hosts: []string{"*.b.test"}})
	if err != nil {
		t.Fatal(err)
	}
	m, errs := guantls.NewManager(&dynamic.TLSConfiguration{
		Certificates: []*dynamic.CertAndStores{
			{Certificate: dynamic.Certificate{CertFile: bCert, KeyFile: bKey}},
			{Certificate: dynamic.Certificate{CertFile: string(sm.ServerSign.CertPEM), KeyFile: string(sm.ServerSign.KeyPEM)},
				EncCertFile: string(sm.ServerEnc.CertPEM), EncKeyFile: string(sm.ServerEnc.KeyPEM)},
		},
		Options: map[string]*dynamic.Options{
			"gm":     {TLCP: "auto"},
			"gmonly": {TLCP: "only"},
			"gmmtls": {TLCP: "auto", ClientAuth: dynamic.ClientAuth{CAFiles: []string{string(sm.CA.CertPEM)}}},
		},
	}, nil)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	return &tlcpFixture{tlsFixture: &tlsFixture{ca: ca, m: m}, sm: sm}
}

// optionBySNI: "<option>.b.test" uses that option; anything else default.
func (f *tlcpFixture) routing(t *testing.T) *testRouting {
	r := f.tlsFixture.routing(t, func(sni string) string {
		for _, o := range []string{"gm", "gmonly", "gmmtls"} {
			if strings.HasPrefix(sni, o+".") {
				return o
			}
		}
		return "default"
	})
	r.tlcp = func(c *cryptotls.Config) (*tlcp.Config, bool) {
		o := f.m.TLCP(c)
		return o.Config, o.Mode == guantls.TLCPOnly
	}
	return r
}

func (f *tlcpFixture) tlcpClient(sni string, withCert bool) *http.Client {
	roots := smx509.NewCertPool()
	roots.AddCert(f.sm.CA.Cert)
	cfg := &tlcp.Config{ServerName: sni, RootCAs: roots}
	if withCert {
		s, _ := tlcp.NewKeyPair(f.sm.ClientSign.CertPEM, f.sm.ClientSign.KeyPEM)
		e, _ := tlcp.NewKeyPair(f.sm.ClientEnc.CertPEM, f.sm.ClientEnc.KeyPEM)
		cfg.Certificates = []*tlcp.Certificate{{Sign: s, Enc: e}}
	}
	tr := &http.Transport{DialTLSContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		return tlcp.Dial(ctx, network, addr, cfg)
	}}
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// protoEcho answers with the protocol, TLS version and suite it saw.
var protoEcho = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	n := 0
	if r.TLS != nil {
		n = len(r.TLS.PeerCertificates)
	}
	fmt.Fprintf(w, "%s %s %s certs=%d", r.Proto, reqinfo.TLSVersion(r.TLS.Version), reqinfo.TLSCipher(r.TLS.Version, r.TLS.CipherSuite), n)
})

func TestTLCPAndTLSOnOnePort(t *testing.T) {
	f := newTLCPFixture(t)
	ep := startEP(t, epOpts{routing: f.routing(t), handler: protoEcho})
	url := "https://" + ep.Addr().String() + "/"

	// A TLS 1.3 client gets the ECDSA certificate and HTTP/2 ...
	tr := &http.Transport{TLSClientConfig: &cryptotls.Config{RootCAs: f.ca.pool, ServerName: "gm.b.test"}, ForceAttemptHTTP2: true}
	defer tr.CloseIdleConnections()
	resp, body := get(t, &http.Client{Transport: tr}, url)
	if body != "HTTP/2.0 1.3 TLS_AES_128_GCM_SHA256 certs=0" || resp.TLS.Version != cryptotls.VersionTLS13 {
		t.Fatalf("TLS client: %q", body)
	}
	// ... and a TLCP client the SM2 pair, on the same port.
	resp, body = get(t, f.tlcpClient("gm.b.test", false), url)
	if body != "HTTP/1.1 TLCP ECC_SM4_GCM_SM3 certs=0" {
		t.Fatalf("TLCP client: %q", body)
	}
	// Mutual authentication with SM2 client certificates; ECDHE needs them.
	_, body = get(t, f.tlcpClient("gmmtls.b.test", true), url)
	if body != "HTTP/1.1 TLCP ECDHE_SM4_GCM_SM3 certs=2" {
		t.Fatalf("TLCP client with certificates: %q", body)
	}
	if _, err := f.tlcpClient("gmmtls.b.test", false).Get(url); err == nil {
		t.Fatal("a TLCP client without a certificate passed RequireAndVerifyClientCert")
	}
}

func TestTLCPModesRefuseTheOtherProtocol(t *testing.T) {
	f := newTLCPFixture(t)
	ep := startEP(t, epOpts{routing: f.routing(t), handler: protoEcho})
	url := "https://" + ep.Addr().String() + "/"

	// tlcp = only: TLS clients get a protocol_version alert.
	tr := &http.Transport{TLSClientConfig: &cryptotls.Config{RootCAs: f.ca.pool, ServerName: "gmonly.b.test"}}
	defer tr.CloseIdleConnections()
	if _, err := (&http.Client{Transport: tr}).Get(url); err == nil || !strings.Contains(err.Error(), "protocol version") {
		t.Fatalf("TLS client on a TLCP-only router: %v", err)
	}
	if _, body := get(t, f.tlcpClient("gmonly.b.test", false), url); !strings.Contains(body, "TLCP") {
		t.Fatalf("TLCP client on a TLCP-only router: %q", body)
	}
	// tlcp off (default options): TLCP clients get a protocol_version alert.
	_, err := f.tlcpClient("plain.b.test", false).Get(url)
	var ae tlcp.AlertError
	if !errors.As(err, &ae) || ae.Code != 70 {
		t.Fatalf("TLCP client on a TLS-only router: %v, want a protocol_version alert", err)
	}
}

func TestTLCPTerminatedTCPRoute(t *testing.T) {
	f := newTLCPFixture(t)
	up := echoServer(t)
	r := f.routing(t)
	r.tcp = func(i ConnInfo) (TCPHandler, *cryptotls.Config, bool) {
		if i.ServerName != "gm.b.test" {
			return nil, nil, false
		}
		return proxyTo(up), f.config(t, "gm"), true
	}
	ep := startEP(t, epOpts{routing: r})
	roots := smx509.NewCertPool()
	roots.AddCert(f.sm.CA.Cert)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := tlcp.Dial(ctx, "tcp", ep.Addr().String(), &tlcp.Config{ServerName: "gm.b.test", RootCAs: roots})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	msg := bytes.Repeat([]byte("sm4 "), 10000)
	go func() { _, _ = c.Write(msg) }()
	got := make([]byte, len(msg))
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadFull(c, got); err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("echo over a TLCP-terminated TCP route: %v", err)
	}
}

// echoServer is a plain TCP upstream that echoes.
func echoServer(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); _, _ = io.Copy(c, c) }()
		}
	}()
	return ln.Addr().String()
}

// Random and mutated ClientHellos at a live listener: every connection is
// dealt with on its own (closed, never a panic), and the listener serves a
// well-behaved client afterwards with its goroutines back where they were.
func TestTLCPListenerSurvivesMutatedClientHellos(t *testing.T) {
	f := newTLCPFixture(t)
	ep := startEP(t, epOpts{routing: f.routing(t), handler: protoEcho, cfg: tlcpShortTimeouts()})
	addr := ep.Addr().String()
	url := "https://" + addr + "/"
	get(t, f.tlcpClient("gm.b.test", false), url) // warm up
	f.tlcpClient("gm.b.test", false).CloseIdleConnections()
	time.Sleep(100 * time.Millisecond)
	base := runtime.NumGoroutine()

	hello := capturedTLCPHello(t)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 400; i++ {
		in := bytes.Clone(hello)
		switch i % 4 {
		case 0: // flip bytes
			for k := 0; k < 1+rng.IntN(8); k++ {
				in[rng.IntN(len(in))] ^= byte(1 + rng.IntN(255))
			}
		case 1: // truncate
			in = in[:rng.IntN(len(in))]
		case 2: // a valid hello, then garbage where the key exchange goes
			junk := make([]byte, 1+rng.IntN(600))
			for k := range junk {
				junk[k] = byte(rng.Uint32())
			}
			in = append(in, junk...)
		default: // a TLCP record header over random bytes
			in = in[:5+rng.IntN(len(in)-5)]
			for k := 5; k < len(in); k++ {
				in[k] = byte(rng.Uint32())
			}
		}
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = c.Write(in)
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Millisecond))
		_, _ = io.Copy(io.Discard, c)
		c.Close()
	}
	_, body := get(t, f.tlcpClient("gm.b.test", false), url)
	if !strings.Contains(body, "TLCP") {
		t.Fatalf("after the mutated hellos: %q", body)
	}
	waitFor(t, "connection goroutines to finish", func() bool { return runtime.NumGoroutine() <= base+4 })
}

func tlcpShortTimeouts() *static.EntryPoint {
	return &static.EntryPoint{Transport: &static.Transport{RespondingTimeouts: &static.RespondingTimeouts{ReadTimeout: cfgDur(time.Second), IdleTimeout: cfgDur(time.Second)}}}
}

// capturedTLCPHello is the first flight of Guan's TLCP client.
func capturedTLCPHello(t *testing.T) []byte {
	cli, srv := net.Pipe()
	defer srv.Close()
	go func() {
		_ = tlcp.Client(cli, &tlcp.Config{ServerName: "gm.b.test", InsecureSkipVerify: true}).Handshake()
		cli.Close()
	}()
	buf := make([]byte, 4096)
	_ = srv.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := srv.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	return buf[:n]
}
