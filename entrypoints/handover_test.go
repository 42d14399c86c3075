package entrypoints

import (
	"bufio"
	cryptotls "crypto/tls"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// On one TLS connection, a request the HTTP/1.x server serves and then one
// it hands to net/http's (a chunked body): both see the connection's TLS
// state, and the second reads its body whole.
func TestHTTPSHandOverKeepsTLS(t *testing.T) {
	f := newTLSFixture(t, nil)
	ep := startEP(t, epOpts{routing: f.routing(t, nil), handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		sni := ""
		if r.TLS != nil {
			sni = r.TLS.ServerName
		}
		fmt.Fprintf(w, "%s tls=%q body=%q", r.URL.Path, sni, b)
	})})
	c, err := cryptotls.Dial("tcp", ep.Addr().String(), &cryptotls.Config{RootCAs: f.ca.pool, ServerName: "a.test", NextProtos: []string{"http/1.1"}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, "GET /first HTTP/1.1\r\nHost: a.test\r\n\r\n"+
		"POST /second HTTP/1.1\r\nHost: a.test\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n")
	br := bufio.NewReader(c)
	for _, want := range []string{`/first tls="a.test" body=""`, `/second tls="a.test" body="abc"`} {
		res, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("reading the answer %q: %v", want, err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if !strings.Contains(string(b), want) {
			t.Fatalf("got %q, want %q", b, want)
		}
	}
}
