package tlcp

import (
	"bytes"
	"context"
	"io"
	"net"
	"testing"
	"time"

	"github.com/tjfoc/gmsm/gmtls"
	tjx509 "github.com/tjfoc/gmsm/x509"
)

// These tests talk to github.com/tjfoc/gmsm's gmtls, an independent TLCP
// implementation. It only speaks ECC_SM4_CBC_SM3 and its ECDHE server path
// panics, so it is only ever offered that suite.

func tjfocPair(t *testing.T, certPEM, keyPEM []byte) gmtls.Certificate {
	t.Helper()
	c, err := gmtls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatalf("gmtls.X509KeyPair: %v", err)
	}
	return c
}

func TestInteropTjfocClientToGuanServer(t *testing.T) {
	set := certs(t)
	addr, errs := serve(t, serverConfig(t, 0))
	roots := tjx509.NewCertPool()
	if !roots.AppendCertsFromPEM(set.CA.CertPEM) {
		t.Fatal("tjfoc cannot read the CA")
	}
	cfg := &gmtls.Config{GMSupport: gmtls.NewGMSupport(), RootCAs: roots, ServerName: "sm.example.test"}
	d := &net.Dialer{Timeout: 5 * time.Second}
	c, err := gmtls.DialWithDialer(d, "tcp", addr, cfg)
	if err != nil {
		t.Fatalf("gmtls client handshake with Guan: %v", err)
	}
	defer c.Close()
	if err := <-errs; err != nil {
		t.Fatalf("Guan server: %v", err)
	}
	if got := c.ConnectionState().CipherSuite; got != ECC_SM4_CBC_SM3 {
		t.Fatalf("suite %#x", got)
	}
	msg := bytes.Repeat([]byte("tjfoc→guan "), 3000)
	go func() { _, _ = c.Write(msg) }()
	got := make([]byte, len(msg))
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(c, got); err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("echo through Guan: %v", err)
	}
}

func TestInteropGuanClientToTjfocServer(t *testing.T) {
	set := certs(t)
	sign := tjfocPair(t, set.ServerSign.CertPEM, set.ServerSign.KeyPEM)
	enc := tjfocPair(t, set.ServerEnc.CertPEM, set.ServerEnc.KeyPEM)
	ln, err := gmtls.Listen("tcp", "127.0.0.1:0", &gmtls.Config{GMSupport: gmtls.NewGMSupport(), Certificates: []gmtls.Certificate{sign, enc}})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); _, _ = io.Copy(c, c) }()
		}
	}()
	cfg := clientConfig(t, false)
	cfg.CipherSuites = []uint16{ECC_SM4_CBC_SM3}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := Dial(ctx, "tcp", ln.Addr().String(), cfg)
	if err != nil {
		t.Fatalf("Guan client handshake with gmtls: %v", err)
	}
	defer c.Close()
	if st := c.ConnectionState(); st.CipherSuite != ECC_SM4_CBC_SM3 || len(st.PeerCertificates) != 2 {
		t.Fatalf("state %+v", st)
	}
	echo(t, c, bytes.Repeat([]byte("guan→tjfoc "), 3000))
}
