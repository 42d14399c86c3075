package tcpproxy

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/guan-gateway/guan/services/internal/svctest"
)

func TestEchoWithHalfClose(t *testing.T) {
	p, err := NewProxy(svctest.Serve(t, svctest.Echo("echo:")), nil, nil)
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
	p, err := NewProxy(addr, &tls.Config{RootCAs: roots}, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := svctest.Exchange(t, svctest.ServeTCP(t, p), "secret")
	if err != nil || got != "echo:secret" {
		t.Fatalf("got %q, %v", got, err)
	}
}

func TestDialFailureClosesClient(t *testing.T) {
	p, _ := NewProxy(svctest.ClosedAddr(t), nil, nil)
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
	if _, err := NewProxy("no-port", nil, nil); err == nil || !strings.Contains(err.Error(), "host:port") {
		t.Fatalf("err = %v", err)
	}
}
