package h1transport

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// outcome is what a caller of a round tripper can observe.
type outcome struct {
	Status        string
	StatusCode    int
	Proto         string
	Header        http.Header
	ContentLength int64
	TE            []string
	Body          string
	Trailer       http.Header
}

func observe(t *testing.T, rt http.RoundTripper, newReq func() *http.Request) outcome {
	t.Helper()
	res, err := rt.RoundTrip(newReq())
	if err != nil {
		t.Fatalf("round trip: %v", err)
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	h := res.Header.Clone()
	h.Del("Date")
	return outcome{res.Status, res.StatusCode, res.Proto, h, res.ContentLength, res.TransferEncoding, string(body), res.Trailer}
}

var big = strings.Repeat("0123456789abcdef", 1<<16) // 1 MiB

// TestDifferential sends the same exchanges through this transport and
// through net/http.Transport and expects the same responses and the same
// number of upstream connections (keep-alive reuse).
func TestDifferential(t *testing.T) {
	echo := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Method", r.Method)
		w.Header().Set("X-Req-Length", strconv.FormatInt(r.ContentLength, 10))
		w.Header().Set("X-Req-TE", strings.Join(r.TransferEncoding, ","))
		w.Header().Set("X-Host", r.Host)
		w.Header().Set("X-UA", r.Header.Get("User-Agent"))
		w.Write(b)
	})
	cases := []struct {
		name    string
		handler http.Handler                   // a net/http server, or
		raw     func(net.Conn, *bufio.Reader)  // a hand-written one
		req     func(url string) *http.Request // built fresh per attempt
	}{
		{name: "GET small", handler: echo},
		{name: "GET large", handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", strconv.Itoa(len(big)))
			io.WriteString(w, big)
		})},
		{name: "GET chunked with trailers", handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Trailer", "Grpc-Status, Grpc-Message")
			w.Header().Set("Content-Type", "application/grpc")
			io.WriteString(w, "part one;")
			w.(http.Flusher).Flush()
			io.WriteString(w, big)
			w.Header().Set("Grpc-Status", "0")
			w.Header().Set("Grpc-Message", "ok")
			w.Header().Set(http.TrailerPrefix+"X-Late", "unannounced")
		})},
		{name: "HEAD", handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "1234")
		}), req: func(u string) *http.Request { r, _ := http.NewRequest("HEAD", u, nil); return r }},
		{name: "204", handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(204)
		})},
		{name: "304", handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Etag", `"x"`)
			w.WriteHeader(304)
		})},
		{name: "404 empty", handler: http.NotFoundHandler()},
		{name: "POST sized body", handler: echo, req: func(u string) *http.Request {
			r, _ := http.NewRequest("POST", u+"/p?q=1", strings.NewReader(big))
			return r
		}},
		{name: "POST sized body larger than the write buffer, sent inline", handler: echo, req: func(u string) *http.Request {
			r, _ := http.NewRequest("POST", u, strings.NewReader(big[:12<<10]))
			return r
		}},
		{name: "POST empty", handler: echo, req: func(u string) *http.Request {
			r, _ := http.NewRequest("POST", u, nil)
			return r
		}},
		{name: "PUT chunked body", handler: echo, req: func(u string) *http.Request {
			r, _ := http.NewRequest("PUT", u, io.MultiReader(strings.NewReader("streamed "), strings.NewReader(big)))
			r.ContentLength = -1
			return r
		}},
		{name: "custom Host and headers", handler: echo, req: func(u string) *http.Request {
			r, _ := http.NewRequest("GET", u+"/a%2Fb/c?x=%20y", nil)
			r.Host = "example.test"
			r.Header.Set("User-Agent", "probe/1")
			r.Header["X-Multi"] = []string{"a", "b"}
			return r
		}},
		{name: "Connection close", handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Connection", "close")
			io.WriteString(w, "bye")
		})},
		{name: "set-cookie twice", handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Add("Set-Cookie", "a=1")
			w.Header().Add("Set-Cookie", "b=2")
			w.Header().Add("X-Custom-Thing", "v")
		})},
		{name: "100 Continue then 200", raw: respondEach("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")},
		{name: "103 Early Hints then 200", raw: respondEach("HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\nLink: </b.css>\r\n\r\nok")},
		{name: "HTTP/1.0 until close", raw: respondOnce("HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end")},
		{name: "HTTP/1.0 keep-alive", raw: respondEach("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 3\r\n\r\nabc")},
		{name: "lowercase and odd keys", raw: respondEach("HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\nx-foo-bar: 1\r\nX-FOO-BAR: 2\r\nx_under: u\r\ncontent-length: 1\r\n\r\nx")},
		{name: "no reason phrase", raw: respondEach("HTTP/1.1 599\r\nContent-Length: 0\r\n\r\n")},
		{name: "custom reason", raw: respondEach("HTTP/1.1 200 Fine Thanks\r\nContent-Length: 0\r\n\r\n")},
		{name: "chunk extensions and bare LF", raw: respondEach("HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n\n3;ext=1\r\nabc\r\n0\r\nX-T: v\r\n\r\n")},
		{name: "identical duplicate Content-Length", raw: respondEach("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok")},
		{name: "HTTP/1.0 with Transfer-Encoding reads to close", raw: respondOnce("HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n")},
		{name: "folded header", raw: respondEach("HTTP/1.1 200 OK\r\nX-Folded: one\r\n  two\r\nContent-Length: 0\r\n\r\n")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			newReq := tc.req
			if newReq == nil {
				newReq = func(u string) *http.Request { r, _ := http.NewRequest("GET", u+"/x", nil); return r }
			}
			run := func(rt http.RoundTripper) ([]outcome, int32) {
				var url string
				var conns func() int32
				if tc.handler != nil {
					srv, n := countingServer(t, tc.handler)
					url, conns = srv.URL, n.Load
				} else {
					srv := newRawServer(t, tc.raw)
					url, conns = srv.url(), srv.conns.Load
				}
				var outs []outcome
				for range 3 {
					outs = append(outs, observe(t, rt, func() *http.Request { return newReq(url) }))
				}
				return outs, conns()
			}
			h1, fb := newH1(t, Options{})
			std := newStd()
			defer std.CloseIdleConnections()
			got, gotConns := run(h1)
			want, wantConns := run(std)
			if fb.n.Load() != 0 {
				t.Fatalf("request went to the fallback")
			}
			for i := range want {
				// The echo reports the upstream's view of the request,
				// which includes its Host and port: compare without them.
				for _, o := range []*outcome{&got[i], &want[i]} {
					delete(o.Header, "X-Host")
					if o.Header.Get("X-UA") == "Go-http-client/1.1" {
						o.Header.Set("X-UA", "") // net/http's default; none is sent here
					}
				}
				if !reflect.DeepEqual(got[i], want[i]) {
					t.Fatalf("attempt %d differs\n got: %s\nwant: %s", i, brief(got[i]), brief(want[i]))
				}
			}
			if gotConns != wantConns {
				t.Fatalf("used %d connections for 3 exchanges, net/http used %d", gotConns, wantConns)
			}
		})
	}
}

func brief(o outcome) string {
	if len(o.Body) > 80 {
		o.Body = o.Body[:80] + fmt.Sprintf("…(%d bytes)", len(o.Body))
	}
	return fmt.Sprintf("%+v", o)
}

// TestRequestWire checks the bytes written for the request framing.
func TestRequestWire(t *testing.T) {
	cases := []struct {
		name string
		req  func(u string) *http.Request
		want []string // lines that must appear
		not  []string // substrings that must not
	}{
		{"GET no body", func(u string) *http.Request {
			r, _ := http.NewRequest("GET", u+"/p?a=b", nil)
			r.Header["User-Agent"] = []string{""}
			return r
		}, []string{"GET /p?a=b HTTP/1.1", "Host: 127.0.0.1:"}, []string{"Content-Length", "Transfer-Encoding", "User-Agent"}},
		{"POST sized", func(u string) *http.Request {
			r, _ := http.NewRequest("POST", u, strings.NewReader("hello"))
			r.Header.Set("Transfer-Encoding", "bogus") // never copied from the header map
			r.Header.Set("Content-Length", "999")
			return r
		}, []string{"POST / HTTP/1.1", "Content-Length: 5"}, []string{"Transfer-Encoding", "Content-Length: 999"}}, // not "999": the port may hold it
		{"POST streamed", func(u string) *http.Request {
			r, _ := http.NewRequest("POST", u, io.NopCloser(strings.NewReader("hello")))
			r.ContentLength = -1
			return r
		}, []string{"Transfer-Encoding: chunked"}, []string{"Content-Length"}},
		{"Host override", func(u string) *http.Request {
			r, _ := http.NewRequest("GET", u, nil)
			r.Host = "api.example.com"
			r.Close = true
			return r
		}, []string{"Host: api.example.com", "Connection: close\r\n"}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := make(chan string, 1)
			srv := newRawServer(t, func(c net.Conn, br *bufio.Reader) {
				var head bytes.Buffer
				for {
					line, err := br.ReadString('\n')
					if err != nil {
						return
					}
					head.WriteString(line)
					if line == "\r\n" {
						break
					}
				}
				got <- head.String()
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
			})
			tr, _ := newH1(t, Options{})
			res, err := tr.RoundTrip(tc.req(srv.url()))
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			head := <-got
			for _, w := range tc.want {
				if !strings.Contains(head, w) {
					t.Errorf("request lacks %q:\n%s", w, head)
				}
			}
			for _, n := range tc.not {
				if strings.Contains(head, n) {
					t.Errorf("request contains %q:\n%s", n, head)
				}
			}
		})
	}
}
