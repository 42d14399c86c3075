package http1

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"testing"
)

// BenchmarkServeGET: keep-alive GETs over loopback through this server and,
// for comparison, net/http's, with a handler that answers a fixed 2-byte
// body. The client reads raw bytes so that allocations are the server's.
func BenchmarkServeGET(b *testing.B) {
	length := []string{"2"}
	ok := []byte("ok")
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header()["Content-Length"] = length
		w.Write(ok)
	})
	b.Run("http1", func(b *testing.B) {
		benchGET(b, serveAll(b, &Server{Handler: h}, func(c net.Conn) net.Conn { return c }))
	})
	// As the entrypoints serve plain TCP: through sockio, the end of each
	// response written inside the wait for the next request.
	b.Run("http1-waitfirst", func(b *testing.B) {
		benchGET(b, serveAll(b, &Server{Handler: h}, waitFirst))
	})
	b.Run("net-http", func(b *testing.B) {
		l := listen(b)
		srv := &http.Server{Handler: h}
		go srv.Serve(l)
		defer srv.Close()
		benchGET(b, l.Addr().String())
	})
}

// serveAll serves every connection to a new listener, as wrap makes it;
// it returns the listener's address.
func serveAll(b *testing.B, srv *Server, wrap func(net.Conn) net.Conn) string {
	l := listen(b)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go srv.ServeConn(wrap(c), nil)
		}
	}()
	return l.Addr().String()
}

func listen(b *testing.B) net.Listener {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { l.Close() })
	return l
}

func benchGET(b *testing.B, addr string) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	req := []byte("GET /x HTTP/1.1\r\nHost: bench\r\nUser-Agent: bench\r\nAccept: */*\r\n\r\n")
	br := bufio.NewReader(c)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := c.Write(req); err != nil {
			b.Fatal(err)
		}
		n := -1
		for {
			line, err := br.ReadSlice('\n')
			if err != nil {
				b.Fatal(err)
			}
			if len(line) <= 2 {
				break
			}
			if v, ok := bytes.CutPrefix(line, []byte("Content-Length: ")); ok {
				n = 0
				for _, d := range bytes.TrimSpace(v) {
					n = n*10 + int(d-'0')
				}
			}
		}
		if _, err := io.CopyN(io.Discard, br, int64(n)); err != nil {
			b.Fatal(err)
		}
	}
}
