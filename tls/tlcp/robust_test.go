package tlcp

import (
	cryptotls "crypto/tls"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// pair returns a handshaken client and server over a loopback TCP pair.
func handshaken(t *testing.T, scfg, ccfg *Config) (client, server *Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan error, 1)
	go func() {
		raw, err := ln.Accept()
		if err != nil {
			done <- err
			return
		}
		server = Server(raw, scfg)
		done <- server.Handshake()
	}()
	client, err = dial(t, ln.Addr().String(), ccfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close(); server.Close() })
	return client, server
}

// A flood of warning alerts or empty records ends the connection with
// unexpected_message instead of being read forever.
func TestWarningFloodIsRefused(t *testing.T) {
	c, s := handshaken(t, serverConfig(t, cryptotls.NoClientCert), clientConfig(t, false))
	c.outMu.Lock()
	for i := 0; i < 2*maxIgnoredRecords; i++ {
		c.pending, _ = c.out.seal(c.pending, recordAlert, []byte{alertLevelWarning, byte(alertUserCanceled)}, c.config.rand())
	}
	_ = c.flushLocked()
	c.outMu.Unlock()
	_, err := s.Read(make([]byte, 10))
	if err == nil || !strings.Contains(err.Error(), "unexpected message") {
		t.Fatalf("server read: %v", err)
	}
	var ae AlertError
	if _, err := c.Read(make([]byte, 1)); !errors.As(err, &ae) || alert(ae.Code) != alertUnexpectedMessage {
		t.Fatalf("client saw %v, want the server's unexpected_message alert", err)
	}
}

// A read deadline is not fatal: the connection reads again after it, as an
// HTTP server's idle keep-alive wait needs; and an idle connection holds no
// read buffer.
func TestDeadlineIsNotSticky(t *testing.T) {
	c, s := handshaken(t, serverConfig(t, cryptotls.NoClientCert), clientConfig(t, false))
	if s.rawBuf != nil || s.hand != nil {
		t.Fatal("a handshaken idle connection keeps its read buffers")
	}
	_ = s.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	if _, err := s.Read(make([]byte, 10)); err == nil {
		t.Fatal("read returned before the deadline with nothing sent")
	}
	_ = s.SetReadDeadline(time.Time{})
	go func() { _, _ = c.Write([]byte("after the timeout")) }()
	buf := make([]byte, 64)
	n, err := io.ReadAtLeast(s, buf, len("after the timeout"))
	if err != nil || string(buf[:n]) != "after the timeout" {
		t.Fatalf("read after a timeout: %q, %v", buf[:n], err)
	}
	if s.rawBuf != nil {
		t.Fatal("the read buffer was kept after its bytes were consumed")
	}
}

// The encryption certificate cannot stand in for the signing one.
func TestSigningCertificateMustAllowSigning(t *testing.T) {
	scfg := serverConfig(t, cryptotls.NoClientCert)
	enc := scfg.Certificates[0].Enc
	scfg.Certificates = []*Certificate{{Sign: enc, Enc: enc}}
	addr, errs := serve(t, scfg)
	_, err := dial(t, addr, clientConfig(t, false))
	if err == nil || !strings.Contains(err.Error(), "key usage") {
		t.Fatalf("client: %v", err)
	}
	<-errs
}
