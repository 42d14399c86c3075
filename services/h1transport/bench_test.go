package h1transport

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"testing"
)

// BenchmarkRoundTrip: one keep-alive GET with a small sized body, through
// this transport and through net/http.Transport. The server answers from
// a canned response, so allocations are the client's.
func BenchmarkRoundTrip(b *testing.B) {
	resp := []byte("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nDate: Mon, 01 Jan 2024 00:00:00 GMT\r\nContent-Length: 24\r\n\r\nhello from the upstream\n")
	srv := newRawServer(b, func(c net.Conn, br *bufio.Reader) {
		for {
			line, err := br.ReadSlice('\n')
			if err != nil {
				return
			}
			if len(line) <= 2 && bytes.HasSuffix(line, []byte("\n")) {
				if _, err := c.Write(resp); err != nil {
					return
				}
			}
		}
	})
	h1, _ := newH1(b, Options{})
	std := newStd()
	b.Cleanup(std.CloseIdleConnections)
	for _, tc := range []struct {
		name string
		rt   http.RoundTripper
	}{{"h1transport", h1}, {"net-http", std}} {
		b.Run(tc.name, func(b *testing.B) {
			req, _ := http.NewRequest("GET", srv.url()+"/items?id=1", nil)
			req.Header.Set("User-Agent", "bench")
			req.Header.Set("X-Forwarded-For", "127.0.0.1")
			buf := make([]byte, 512)
			b.ReportAllocs()
			for b.Loop() {
				res, err := tc.rt.RoundTrip(req)
				if err != nil {
					b.Fatal(err)
				}
				for {
					_, err := res.Body.Read(buf)
					if err == io.EOF {
						break
					}
					if err != nil {
						b.Fatal(err)
					}
				}
				res.Body.Close()
			}
		})
	}
}
