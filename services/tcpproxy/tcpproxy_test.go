package tcpproxy

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// echoServer echoes everything it reads, then closes its write side when
// the client half-closes — the behaviour half-close support must preserve.
func echoServer(t *testing.T, wrap func(net.Listener) net.Listener) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if wrap != nil {
		l = wrap(l)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				b, _ := io.ReadAll(c) // until the client's EOF
				c.Write(append([]byte("echo:"), b...))
			}()
		}
	}()
	return l.Addr().String()
}

// front accepts client connections and hands them to h.
func front(t *testing.T, h Handler) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go h.ServeTCP(c)
		}
	}()
	return l.Addr().String()
}

func exchange(t *testing.T, addr, msg string) (string, error) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, msg); err != nil {
		return "", err
	}
	c.(*net.TCPConn).CloseWrite()
	b, err := io.ReadAll(c)
	return string(b), err
}

func TestEchoWithHalfClose(t *testing.T) {
	p, err := NewProxy(echoServer(t, nil), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	addr := front(t, p)
	big := strings.Repeat("x", 200<<10)
	for _, msg := range []string{"hello", big} {
		got, err := exchange(t, addr, msg)
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
	addr := echoServer(t, func(l net.Listener) net.Listener {
		return tls.NewListener(l, &tls.Config{Certificates: []tls.Certificate{cert}})
	})
	// httptest's certificate is for example.com and 127.0.0.1.
	p, err := NewProxy(addr, &tls.Config{RootCAs: roots}, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := exchange(t, front(t, p), "secret")
	if err != nil || got != "echo:secret" {
		t.Fatalf("got %q, %v", got, err)
	}
}

func TestDialFailureClosesClient(t *testing.T) {
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := l.Addr().String()
	l.Close()
	p, _ := NewProxy(dead, nil, nil)
	got, err := exchange(t, front(t, p), "x")
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
	if _, err := NewProxy("no-port", nil, nil); err == nil || !strings.Contains(err.Error(), "host:port") {
		t.Fatalf("err = %v", err)
	}
}
