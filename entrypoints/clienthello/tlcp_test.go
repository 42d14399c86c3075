package clienthello

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/tjfoc/gmsm/gmtls"

	"github.com/guan-gateway/guan/tls/tlcp"
)

// firstFlight returns what a client writes first, read from the server side
// of a pipe until it parses.
func firstFlight(t *testing.T, start func(c net.Conn)) []byte {
	t.Helper()
	cli, srv := net.Pipe()
	defer srv.Close()
	go func() { start(cli); cli.Close() }()
	_ = srv.SetReadDeadline(time.Now().Add(10 * time.Second))
	var got []byte
	buf := make([]byte, 4096)
	for {
		n, err := srv.Read(buf)
		got = append(got, buf[:n]...)
		if _, perr := Parse(got); !errors.Is(perr, ErrIncomplete) {
			return got
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

func TestParseTLCP(t *testing.T) {
	guan := firstFlight(t, func(c net.Conn) {
		_ = tlcp.Client(c, &tlcp.Config{ServerName: "sm.example.test"}).HandshakeContext(context.Background())
	})
	h, err := Parse(guan)
	if err != nil || !h.TLCP || h.ServerName != "sm.example.test" {
		t.Fatalf("Guan's TLCP ClientHello: %+v, %v", h, err)
	}
	// tjfoc's gmtls sends no SNI unless asked; it is TLCP all the same.
	other := firstFlight(t, func(c net.Conn) {
		_ = gmtls.Client(c, &gmtls.Config{GMSupport: gmtls.NewGMSupport(), InsecureSkipVerify: true}).Handshake()
	})
	if h, err := Parse(other); err != nil || !h.TLCP {
		t.Fatalf("gmtls ClientHello: %+v, %v", h, err)
	}
	tls13 := captureHello(t, &tls.Config{ServerName: "x.example"})
	if h, err := Parse(tls13); err != nil || h.TLCP {
		t.Fatalf("a TLS ClientHello read as TLCP: %+v, %v", h, err)
	}
}
