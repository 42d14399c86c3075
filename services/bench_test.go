package services

import (
	"bufio"
	"bytes"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/guan-gateway/guan/config/dynamic"
	"github.com/guan-gateway/guan/reqinfo"
	"github.com/guan-gateway/guan/services/internal/svctest"
)

// cannedBackend is a keep-alive HTTP/1.1 server that answers every request
// with a fixed response without allocating, so the benchmark counts only
// the gateway side.
func cannedBackend(b *testing.B) string {
	resp := []byte("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok")
	return "http://" + svctest.Serve(b, func(c net.Conn) {
		defer c.Close()
		br := bufio.NewReaderSize(c, 8<<10)
		for {
			line, err := br.ReadSlice('\n')
			if err != nil {
				return
			}
			if len(bytes.TrimSpace(line)) == 0 { // end of a GET's header
				if _, err := c.Write(resp); err != nil {
					return
				}
			}
		}
	})
}

// sink is a minimal ResponseWriter; a real server hands each request a new
// header map, which is not the services' cost.
type sink struct {
	h    http.Header
	code int
	n    int
}

func (s *sink) Header() http.Header { return s.h }
func (s *sink) WriteHeader(c int)   { s.code = c }
func (s *sink) Write(p []byte) (int, error) {
	s.n += len(p)
	return len(p), nil
}

func BenchmarkProxyRoundTrip(b *testing.B) {
	s := New(Options{Services: map[string]*dynamic.Service{
		"svc@file": {LoadBalancer: &dynamic.ServersLoadBalancer{Servers: servers(cannedBackend(b))}},
	}})
	h, err := s.Handler("svc@file")
	if err != nil {
		b.Fatal(err)
	}
	req := httptest.NewRequest("GET", "http://gw.test/api/items?id=1", nil)
	req.RemoteAddr = "192.0.2.1:40000"
	req.Header.Set("User-Agent", "bench")
	req.Header.Set("Accept", "*/*")
	info := &reqinfo.Info{}
	req = req.WithContext(reqinfo.With(req.Context(), info))
	w := &sink{h: http.Header{}}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		clear(w.h)
		h.ServeHTTP(w, req)
		if w.code != 200 {
			b.Fatalf("status %d", w.code)
		}
	}
}
