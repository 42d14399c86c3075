package tcpproxy

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/guan-gateway/guan/services/internal/svctest"
)

func TestEchoWithHalfClose(t *testing.T) {
	// The echo server answers after the client's EOF: a generous
	// terminationDelay keeps a slow race-detector run from cutting it.
	tr := DefaultTransport()
	tr.TerminationDelay = 30 * time.Second
	p, err := NewProxy(svctest.Serve(t, svctest.Echo("echo:")), nil, tr, nil)
	if err != nil {
		t.Fatal(err)
	}
	addr := svctest.ServeTCP(t, p)
	big := strings.Repeat("x", 200<<10)
	for _, msg := range []string{"hello", big} {
		got, err := svctest.Exchange(t, addr, msg)
		if err != nil || got != "echo:"+msg {
			t.Fatalf("got %d bytes, %v; want %d", len(got), err, len(msg)+5)
		}
	}
}

func TestTLSUpstream(t *testing.T) {
	srv := httptest.NewUnstartedServer(nil) // only for its certificate
	srv.StartTLS()
	defer srv.Close()
	cert := srv.TLS.Certificates[0]
	roots := x509.NewCertPool()
	roots.AddCert(srv.Certificate())
	l := svctest.Listen(t)
	svctest.Accept(tls.NewListener(l, &tls.Config{Certificates: []tls.Certificate{cert}}), svctest.Echo("echo:"))
	addr := l.Addr().String()
	// httptest's certificate is for example.com and 127.0.0.1.
	p, err := NewProxy(addr, &tls.Config{RootCAs: roots}, DefaultTransport(), nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := svctest.Exchange(t, svctest.ServeTCP(t, p), "secret")
	if err != nil || got != "echo:secret" {
		t.Fatalf("got %q, %v", got, err)
	}
}

func TestDialFailureClosesClient(t *testing.T) {
	p, _ := NewProxy(svctest.ClosedAddr(t), nil, DefaultTransport(), nil)
	got, err := svctest.Exchange(t, svctest.ServeTCP(t, p), "x")
	if got != "" {
		t.Fatalf("got %q, %v; want the connection closed", got, err)
	}
}

type named struct {
	name string
	hits chan string
}

func (n named) ServeTCP(c net.Conn) { c.Close(); n.hits <- n.name }

func TestBalancerWeights(t *testing.T) {
	hits := make(chan string, 100)
	b, err := NewBalancer([]Handler{named{"a", hits}, named{"b", hits}}, []int{3, 1})
	if err != nil {
		t.Fatal(err)
	}
	a, _ := net.Pipe()
	counts := map[string]int{}
	for range 40 {
		b.ServeTCP(a)
		counts[<-hits]++
	}
	if counts["a"] != 30 || counts["b"] != 10 {
		t.Fatalf("counts = %v, want a:30 b:10", counts)
	}
	if _, err := NewBalancer([]Handler{named{}}, []int{0}); err == nil {
		t.Fatal("all-zero weights accepted")
	}
}

func TestBadAddress(t *testing.T) {
	if _, err := NewProxy("no-port", nil, DefaultTransport(), nil); err == nil || !strings.Contains(err.Error(), "host:port") {
		t.Fatalf("err = %v", err)
	}
}

// stubbornBackend accepts connections, reads until the client's EOF and
// then holds the connection open without ever closing it, until release
// is called or the test ends. It reports each EOF it sees.
func stubbornBackend(t *testing.T) (addr string, eofs chan struct{}, release func()) {
	l := svctest.Listen(t)
	eofs = make(chan struct{}, 100)
	var mu sync.Mutex
	var held []net.Conn
	release = func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range held {
			c.Close()
		}
	}
	t.Cleanup(release)
	svctest.Accept(l, func(c net.Conn) {
		mu.Lock()
		held = append(held, c)
		mu.Unlock()
		io.Copy(io.Discard, c)
		eofs <- struct{}{}
		// Never close: a peer that ignores the half-close.
	})
	return l.Addr().String(), eofs, release
}

// serveOne accepts n client connections on a fresh listener and hands each
// to p.ServeTCP; done gets one value per ServeTCP that returned, i.e. per
// relay whose goroutines and connections are gone.
func serveOne(t *testing.T, p Handler, n int) (addr string, done chan struct{}) {
	l := svctest.Listen(t)
	done = make(chan struct{}, n)
	go func() {
		for range n {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() { p.ServeTCP(c); done <- struct{}{} }()
		}
	}()
	return l.Addr().String(), done
}

// halfClose connects to addr, sends a line and closes its write side.
func halfClose(t *testing.T, addr string) *net.TCPConn {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := c.Write([]byte("hello\n")); err != nil {
		t.Fatal(err)
	}
	tc := c.(*net.TCPConn)
	if err := tc.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	return tc
}

// A backend that never closes after the client's EOF no longer holds the
// relay: terminationDelay after the half-close both connections are closed
// and ServeTCP returns.
func TestTerminationDelayEndsHalfClosedConnections(t *testing.T) {
	backendAddr, eofs, _ := stubbornBackend(t)
	p, err := NewProxy(backendAddr, nil, DefaultTransport(), nil)
	if err != nil {
		t.Fatal(err)
	}
	const clients = 50
	addr, done := serveOne(t, p, clients)
	conns := make([]*net.TCPConn, clients)
	for i := range conns {
		conns[i] = halfClose(t, addr)
	}
	// The bound only guards against hanging: with the 100ms default every
	// relay ends long before it.
	timeout := time.After(30 * time.Second)
	for i := range clients {
		select {
		case <-eofs:
		case <-timeout:
			t.Fatalf("backend saw %d EOFs of %d: the half-close was not passed on", i, clients)
		}
	}
	for i := range clients {
		select {
		case <-done:
		case <-timeout:
			t.Fatalf("%d relays of %d still running after the backend ignored the half-close", clients-i, clients)
		}
	}
	// The client side was closed too: reading ends instead of blocking.
	for _, c := range conns {
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, err := io.ReadAll(c); err != nil {
			t.Fatalf("client read: %v, want EOF", err)
		}
	}
}

// A negative terminationDelay waits for the peer as long as it takes.
func TestNegativeTerminationDelayWaits(t *testing.T) {
	backendAddr, eofs, release := stubbornBackend(t)
	tr := DefaultTransport()
	tr.TerminationDelay = -1
	p, err := NewProxy(backendAddr, nil, tr, nil)
	if err != nil {
		t.Fatal(err)
	}
	addr, done := serveOne(t, p, 1)
	c := halfClose(t, addr)
	<-eofs
	select {
	case <-done:
		t.Fatal("relay ended although terminationDelay is negative and the backend is still open")
	case <-time.After(300 * time.Millisecond):
	}
	// The relay ends when the backend finally closes, and the client
	// sees the end.
	release()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("relay still running after the backend closed")
	}
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadAll(c); err != nil {
		t.Fatalf("client read: %v, want EOF", err)
	}
}

// Data the backend sends within terminationDelay after the client's EOF
// reaches the client.
func TestAnswerAfterHalfCloseWithinDelay(t *testing.T) {
	l := svctest.Listen(t)
	svctest.Accept(l, func(c net.Conn) {
		io.Copy(io.Discard, c)
		c.Write([]byte("late answer"))
		// and never close
	})
	tr := DefaultTransport()
	tr.TerminationDelay = 10 * time.Second
	p, err := NewProxy(l.Addr().String(), nil, tr, nil)
	if err != nil {
		t.Fatal(err)
	}
	addr, _ := serveOne(t, p, 1)
	c := halfClose(t, addr)
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 64)
	n, err := io.ReadAtLeast(c, buf, len("late answer"))
	if err != nil || string(buf[:n]) != "late answer" {
		t.Fatalf("got %q, %v", buf[:n], err)
	}
}

func TestDialTimeoutAndKeepAlive(t *testing.T) {
	tr := Transport{DialTimeout: 0, DialKeepAlive: -1, TerminationDelay: -1}
	p, err := NewProxy(svctest.Serve(t, svctest.Echo("echo:")), nil, tr, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := svctest.Exchange(t, svctest.ServeTCP(t, p), "no timeout, no keep-alive")
	if err != nil || got != "echo:no timeout, no keep-alive" {
		t.Fatalf("got %q, %v", got, err)
	}
}
