package tlcp

import (
	"bytes"
	"context"
	"crypto/rand"
	cryptotls "crypto/tls"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"

	"github.com/guan-gateway/guan/tls/sm2certs"
)

var (
	fixtureOnce sync.Once
	fixture     *sm2certs.Set
)

func certs(t testing.TB) *sm2certs.Set {
	fixtureOnce.Do(func() {
		var err error
		fixture, err = sm2certs.Generate(sm2certs.Options{Hosts: []string{"sm.example.test", "127.0.0.1"}})
		if err != nil {
			panic(err)
		}
	})
	return fixture
}

func pair(t testing.TB, sign, enc sm2certs.Pair) *Certificate {
	t.Helper()
	s, err := NewKeyPair(sign.CertPEM, sign.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	e, err := NewKeyPair(enc.CertPEM, enc.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return &Certificate{Sign: s, Enc: e}
}

func caPool(t testing.TB, set *sm2certs.Set) *smx509.CertPool {
	p := smx509.NewCertPool()
	p.AddCert(set.CA.Cert)
	return p
}

func serverConfig(t testing.TB, auth ClientAuthType) *Config {
	set := certs(t)
	return &Config{Certificates: []*Certificate{pair(t, set.ServerSign, set.ServerEnc)}, ClientAuth: auth, ClientCAs: caPool(t, set)}
}

func clientConfig(t testing.TB, withCert bool) *Config {
	set := certs(t)
	c := &Config{ServerName: "sm.example.test", RootCAs: caPool(t, set)}
	if withCert {
		c.Certificates = []*Certificate{pair(t, set.ClientSign, set.ClientEnc)}
	}
	return c
}

// serve accepts TLCP connections on a loopback port and echoes what it reads;
// each server-side handshake result goes to errs.
func serve(t testing.TB, cfg *Config) (addr string, errs chan error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	errs = make(chan error, 16)
	go func() {
		for {
			raw, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				c := Server(raw, cfg)
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(10 * time.Second))
				err := c.Handshake()
				errs <- err
				if err == nil {
					_, _ = io.Copy(c, c)
				}
			}()
		}
	}()
	return ln.Addr().String(), errs
}

func dial(t testing.TB, addr string, cfg *Config) (*Conn, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return Dial(ctx, "tcp", addr, cfg)
}

func echo(t *testing.T, c *Conn, payload []byte) {
	t.Helper()
	go func() { _, _ = c.Write(payload) }()
	got := make([]byte, len(payload))
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatalf("reading the echo: %v", err)
	}
	if !bytes.Equal(got, payload) {
		t.Fatal("echo differs from what was sent")
	}
}

func TestEverySuiteWithMutualAuth(t *testing.T) {
	addr, errs := serve(t, serverConfig(t, cryptotls.RequireAndVerifyClientCert))
	big := bytes.Repeat([]byte("0123456789abcdef"), 70000) // 1.1 MB: many full records
	for _, id := range DefaultCipherSuites() {
		t.Run(CipherSuiteName(id), func(t *testing.T) {
			cfg := clientConfig(t, true)
			cfg.CipherSuites = []uint16{id}
			c, err := dial(t, addr, cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if err := <-errs; err != nil {
				t.Fatalf("server: %v", err)
			}
			st := c.ConnectionState()
			if st.CipherSuite != id || st.Version != VersionTLCP || len(st.PeerCertificates) < 2 {
				t.Fatalf("state %+v", st)
			}
			echo(t, c, []byte("hello over "+CipherSuiteName(id)))
			echo(t, c, big)
		})
	}
}

func TestOneWayAuthPicksECC(t *testing.T) {
	addr, errs := serve(t, serverConfig(t, cryptotls.NoClientCert))
	c, err := dial(t, addr, clientConfig(t, false))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
	if got := c.ConnectionState().CipherSuite; got != ECC_SM4_GCM_SM3 {
		t.Fatalf("suite %s, want ECC_SM4_GCM_SM3 (ECDHE needs client certificates)", CipherSuiteName(got))
	}
	echo(t, c, []byte("ping"))
}

func TestMutualAuthMissingCertificate(t *testing.T) {
	addr, errs := serve(t, serverConfig(t, cryptotls.RequireAndVerifyClientCert))
	cfg := clientConfig(t, false)
	cfg.CipherSuites = []uint16{ECC_SM4_CBC_SM3}
	c, err := dial(t, addr, cfg)
	if err == nil {
		// The client's flight is out before the server's verdict arrives.
		_, err = c.Read(make([]byte, 1))
	}
	var ae AlertError
	if !errors.As(err, &ae) || alert(ae.Code) != alertHandshakeFailure {
		t.Fatalf("client: %v, want a handshake_failure alert", err)
	}
	if err := <-errs; err == nil || !strings.Contains(err.Error(), "client certificate is required") {
		t.Fatalf("server: %v", err)
	}
}

func TestECDHEWithoutClientCertificateFails(t *testing.T) {
	addr, errs := serve(t, serverConfig(t, cryptotls.RequireAndVerifyClientCert))
	cfg := clientConfig(t, false)
	cfg.CipherSuites = []uint16{ECDHE_SM4_GCM_SM3}
	if _, err := dial(t, addr, cfg); err == nil || !strings.Contains(err.Error(), "ECDHE") {
		t.Fatalf("client: %v", err)
	}
	<-errs
}

func TestUntrustedServerChain(t *testing.T) {
	addr, errs := serve(t, serverConfig(t, cryptotls.NoClientCert))
	other, err := sm2certs.Generate(sm2certs.Options{Hosts: []string{"sm.example.test"}})
	if err != nil {
		t.Fatal(err)
	}
	cfg := clientConfig(t, false)
	cfg.RootCAs = caPool(t, other)
	_, err = dial(t, addr, cfg)
	if err == nil || !strings.Contains(err.Error(), "unknown certificate authority") {
		t.Fatalf("client: %v, want unknown CA", err)
	}
	var ae AlertError
	if serr := <-errs; !errors.As(serr, &ae) || alert(ae.Code) != alertUnknownCA {
		t.Fatalf("server saw %v, want the client's unknown_ca alert", serr)
	}
}

func TestWrongServerName(t *testing.T) {
	addr, errs := serve(t, serverConfig(t, cryptotls.NoClientCert))
	cfg := clientConfig(t, false)
	cfg.ServerName = "other.example.test"
	if _, err := dial(t, addr, cfg); err == nil || !strings.Contains(err.Error(), "other.example.test") {
		t.Fatalf("client: %v", err)
	}
	<-errs
}

func TestUntrustedClientChain(t *testing.T) {
	addr, errs := serve(t, serverConfig(t, cryptotls.RequireAndVerifyClientCert))
	other, err := sm2certs.Generate(sm2certs.Options{Hosts: []string{"x"}})
	if err != nil {
		t.Fatal(err)
	}
	cfg := clientConfig(t, false)
	cfg.Certificates = []*Certificate{pair(t, other.ClientSign, other.ClientEnc)}
	c, err := dial(t, addr, cfg)
	if err == nil {
		_, err = c.Read(make([]byte, 1))
	}
	var ae AlertError
	if !errors.As(err, &ae) || alert(ae.Code) != alertUnknownCA {
		t.Fatalf("client: %v, want unknown_ca", err)
	}
	if serr := <-errs; serr == nil {
		t.Fatal("server accepted an untrusted client chain")
	}
}

func TestWrongEncryptionKey(t *testing.T) {
	cfg := serverConfig(t, cryptotls.NoClientCert)
	wrong, err := sm2.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Certificates[0].Enc.Key = wrong // the certificate says one key, the server holds another
	addr, errs := serve(t, cfg)
	cc := clientConfig(t, false)
	cc.CipherSuites = []uint16{ECC_SM4_CBC_SM3}
	_, err = dial(t, addr, cc)
	var ae AlertError
	// The server derives other keys, so the client's first protected record
	// (Finished) fails its integrity check.
	if !errors.As(err, &ae) || alert(ae.Code) != alertBadRecordMAC {
		t.Fatalf("client: %v, want bad_record_mac", err)
	}
	if serr := <-errs; serr == nil || !strings.Contains(serr.Error(), "bad record MAC") {
		t.Fatalf("server: %v", serr)
	}
}

func TestSessionResumption(t *testing.T) {
	scfg := serverConfig(t, cryptotls.NoClientCert)
	scfg.SessionCache = NewSessionCache(0, 0)
	addr, errs := serve(t, scfg)
	ccfg := clientConfig(t, false)
	ccfg.SessionCache = NewSessionCache(0, 0)
	for i, wantResume := range []bool{false, true, true} {
		c, err := dial(t, addr, ccfg)
		if err != nil {
			t.Fatal(err)
		}
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
		st := c.ConnectionState()
		if st.DidResume != wantResume || len(st.PeerCertificates) < 2 {
			t.Fatalf("connection %d: resumed=%v certs=%d", i, st.DidResume, len(st.PeerCertificates))
		}
		echo(t, c, []byte("after resumption"))
		c.Close()
	}
	// A server that forgot the session runs a full handshake.
	scfg.SessionCache.remove(string(ccfg.SessionCache.get("sm.example.test", time.Now()).id))
	c, err := dial(t, addr, ccfg)
	if err != nil {
		t.Fatal(err)
	}
	<-errs
	if c.ConnectionState().DidResume {
		t.Fatal("resumed a session the server no longer has")
	}
	c.Close()
}

func TestRenegotiationRefused(t *testing.T) {
	addr, errs := serve(t, serverConfig(t, cryptotls.NoClientCert))
	c, err := dial(t, addr, clientConfig(t, false))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	<-errs
	hello := clientHelloMsg{version: VersionTLCP, random: make([]byte, 32), cipherSuites: DefaultCipherSuites(), compression: []uint8{0}}
	if err := c.queue(recordHandshake, hello.marshal()); err != nil {
		t.Fatal(err)
	}
	if err := c.flush(); err != nil {
		t.Fatal(err)
	}
	// The server answers with a no_renegotiation warning and keeps serving.
	echo(t, c, []byte("still the first session"))
}

func TestPeerCloseIsEOF(t *testing.T) {
	addr, errs := serve(t, serverConfig(t, cryptotls.NoClientCert))
	c, err := dial(t, addr, clientConfig(t, false))
	if err != nil {
		t.Fatal(err)
	}
	<-errs
	if err := c.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	// The echo server sees EOF, closes with close_notify: the client reads EOF.
	if _, err := c.Read(make([]byte, 8)); err != io.EOF {
		t.Fatalf("got %v, want io.EOF", err)
	}
	c.Close()
}

func TestHandshakeContextDeadline(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() { // a peer that never answers
		c, err := ln.Accept()
		if err == nil {
			time.Sleep(3 * time.Second)
			c.Close()
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = Dial(ctx, "tcp", ln.Addr().String(), clientConfig(t, false))
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 2*time.Second {
		t.Fatalf("got %v after %v", err, time.Since(start))
	}
}

func TestLoadKeyFormats(t *testing.T) {
	set := certs(t)
	// SEC1 ("EC PRIVATE KEY"), as GmSSL and Tongsuo write it, with a
	// parameters block in front.
	der, err := smx509.MarshalSM2PrivateKey(set.ServerSign.Key)
	if err != nil {
		t.Fatal(err)
	}
	sec1 := "-----BEGIN EC PARAMETERS-----\nBggqgRzPVQGCLQ==\n-----END EC PARAMETERS-----\n" + string(pemBlock("EC PRIVATE KEY", der))
	if _, err := NewKeyPair(set.ServerSign.CertPEM, []byte(sec1)); err != nil {
		t.Fatalf("SEC1: %v", err)
	}
	if _, err := NewKeyPair(set.ServerSign.CertPEM, set.ServerEnc.KeyPEM); err == nil || !strings.Contains(err.Error(), "does not match") {
		t.Fatalf("mismatched key: %v", err)
	}
	if _, err := NewKeyPair([]byte("junk"), set.ServerSign.KeyPEM); err == nil {
		t.Fatal("junk certificate accepted")
	}
}
