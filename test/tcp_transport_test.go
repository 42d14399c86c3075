package e2e

import (
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// stubbornTLSBackend serves TLS, reads each connection until the client's
// EOF, reports what it read, and never closes it (until the test ends).
func stubbornTLSBackend(t *testing.T, tc *tls.Config) (addr string, got chan string) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	got = make(chan string, 10)
	var mu sync.Mutex
	var held []net.Conn
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range held {
			c.Close()
		}
	})
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c)
			mu.Unlock()
			go func() {
				b, _ := io.ReadAll(tls.Server(c, tc)) // until close_notify
				got <- string(b)
			}()
		}
	}()
	return l.Addr().String(), got
}

// A TCP service dials its server through a tcp.serversTransports entry
// (TLS with the transport's CA and server name) and, once the client has
// half-closed, closes both connections after the transport's
// terminationDelay although the server never closes its side.
func TestTCPServersTransportThroughBinary(t *testing.T) {
	ca := newTestCA(t, "db CA")
	_, _, pair := ca.issue(t, "db", false, "db.internal")
	backAddr, got := stubbornTLSBackend(t, &tls.Config{Certificates: []tls.Certificate{pair}})

	dyn := ticked(fmt.Sprintf(`
[tcp.routers.db]
  entryPoints = ["plain"]
  rule = "HostSNI(´*´)"
  service = "db"
[tcp.services.db.loadBalancer]
  serversTransport = "internal"
  [[tcp.services.db.loadBalancer.servers]]
    address = %q
    tls = true
[tcp.serversTransports.internal]
  dialTimeout = "5s"
  terminationDelay = "200ms"
  [tcp.serversTransports.internal.tls]
    serverName = "db.internal"
    rootCAs = ['''%s''']
`, backAddr, ca.pem))
	plainPort := freePort(t)
	startGateway(t, map[string]string{"tcp.toml": dyn}, gatewayOpts{extraEPs: map[string]int{"plain": plainPort}})

	c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", plainPort))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte("select 1")); err != nil {
		t.Fatal(err)
	}
	if err := c.(*net.TCPConn).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	select {
	case b := <-got:
		if b != "select 1" {
			t.Fatalf("backend read %q", b)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the backend never saw the client's data and EOF over TLS")
	}
	// The gateway closes the client connection terminationDelay after the
	// half-close; the bound only guards against hanging.
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if b, err := io.ReadAll(c); err != nil || len(b) != 0 {
		t.Fatalf("client read %q, %v; want EOF", b, err)
	}
}

// A TCP load balancer naming an undefined serversTransport fails
// `gateway check`.
func TestTCPServersTransportUnknown(t *testing.T) {
	dir := t.TempDir()
	dyn := filepath.Join(dir, "dyn.toml")
	writeFile(t, dyn, ticked(`
[tcp.routers.db]
  rule = "HostSNI(´*´)"
  service = "db"
[tcp.services.db.loadBalancer]
  serversTransport = "tcp-tls"
  [[tcp.services.db.loadBalancer.servers]]
    address = "127.0.0.1:5432"
`))
	static := filepath.Join(dir, "static.toml")
	writeFile(t, static, fmt.Sprintf("[entryPoints.db]\n  address = \":5432\"\n[providers.file]\n  filename = %q\n", dyn))
	out, err := exec.Command(gatewayBin, "check", "--configFile="+static).CombinedOutput()
	if err == nil || !strings.Contains(string(out), `unknown serversTransport "tcp-tls@file": define it under tcp.serversTransports`) {
		t.Fatalf("check: %v\n%s", err, out)
	}
}

// The static tcpServersTransport is default@internal for TCP: a load
// balancer naming no serversTransport dials its TLS server with the static
// transport's CA and server name.
func TestStaticTCPServersTransport(t *testing.T) {
	ca := newTestCA(t, "db CA")
	_, _, pair := ca.issue(t, "db", false, "db.internal")
	backAddr, got := stubbornTLSBackend(t, &tls.Config{Certificates: []tls.Certificate{pair}})
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	writeFile(t, caFile, ca.pem)

	dyn := ticked(fmt.Sprintf(`
[tcp.routers.db]
  entryPoints = ["plain"]
  rule = "HostSNI(´*´)"
  service = "db"
[[tcp.services.db.loadBalancer.servers]]
  address = %q
  tls = true
`, backAddr))
	plainPort := freePort(t)
	startGateway(t, map[string]string{"tcp.toml": dyn}, gatewayOpts{
		extraEPs:    map[string]int{"plain": plainPort},
		extraStatic: fmt.Sprintf("[tcpServersTransport]\n  terminationDelay = \"100ms\"\n  [tcpServersTransport.tls]\n    serverName = \"db.internal\"\n    rootCAs = [%q]\n", caFile),
	})
	c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", plainPort))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte("select 2")); err != nil {
		t.Fatal(err)
	}
	c.(*net.TCPConn).CloseWrite()
	select {
	case b := <-got:
		if b != "select 2" {
			t.Fatalf("backend read %q", b)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the backend never got the data: the static transport's CA was not used")
	}
}
