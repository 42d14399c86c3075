package http1

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"strings"
	"sync"
	"testing"
	"time"
)

// served is a Server on a loopback listener; handed collects what was
// given to Fallback.
type served struct {
	srv    *Server
	addr   string
	mu     sync.Mutex
	handed []string
}

func serve(t *testing.T, h http.Handler, mod func(*Server)) *served {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &served{addr: l.Addr().String()}
	s.srv = &Server{Handler: h, ReadTimeout: 5 * time.Second, IdleTimeout: 5 * time.Second}
	s.srv.Fallback = func(c net.Conn, pending []byte, _ *tls.ConnectionState) {
		s.mu.Lock()
		s.handed = append(s.handed, string(pending))
		s.mu.Unlock()
		c.Close()
	}
	if mod != nil {
		mod(s.srv)
	}
	var wg sync.WaitGroup
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() { defer wg.Done(); s.srv.ServeConn(waitFirst(c), nil) }()
		}
	}()
	t.Cleanup(func() { l.Close(); s.srv.Shutdown(); wg.Wait() })
	return s
}

// exchange writes raw to a new connection and returns everything the
// server sent until it closed the connection or went quiet.
func (s *served) exchange(t *testing.T, raw string) string {
	t.Helper()
	c, err := net.Dial("tcp", s.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
	b, _ := io.ReadAll(c)
	return string(b)
}

func hello(w http.ResponseWriter, r *http.Request) {
	io.WriteString(w, "hello "+r.Method+" "+r.URL.Path+" "+r.Host)
}

func TestKeepAliveAndFraming(t *testing.T) {
	big := strings.Repeat("x", 5000)
	s := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/big":
			io.WriteString(w, big)
		case "/empty":
			w.WriteHeader(http.StatusNoContent)
		case "/length":
			w.Header().Set("Content-Length", "3")
			io.WriteString(w, "abc")
		default:
			hello(w, r)
		}
	}), nil)
	out := s.exchange(t, "GET /a HTTP/1.1\r\nHost: example.com\r\n\r\n"+
		"GET /big HTTP/1.1\r\nHost: example.com\r\n\r\n"+
		"GET /empty HTTP/1.1\r\nHost: example.com\r\n\r\n"+
		"HEAD /big HTTP/1.1\r\nHost: example.com\r\n\r\n"+
		"GET /length HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n")
	br := bufio.NewReader(strings.NewReader(out))
	want := []struct {
		status int
		body   string
		check  func(*http.Response) error
	}{
		{200, "hello GET /a example.com", func(r *http.Response) error {
			if r.ContentLength != 24 || r.Header.Get("Date") == "" || r.Header.Get("Content-Type") != "text/plain; charset=utf-8" {
				return fmt.Errorf("small body: length %d, header %v", r.ContentLength, r.Header)
			}
			return nil
		}},
		{200, big, func(r *http.Response) error {
			if len(r.TransferEncoding) != 1 || r.TransferEncoding[0] != "chunked" {
				return fmt.Errorf("big body not chunked: %v", r.TransferEncoding)
			}
			return nil
		}},
		{204, "", nil},
		{200, "", func(r *http.Response) error {
			if r.ContentLength != 5000 {
				return fmt.Errorf("HEAD: Content-Length %d, want 5000", r.ContentLength)
			}
			return nil
		}},
		{200, "abc", func(r *http.Response) error {
			if !r.Close {
				return fmt.Errorf("Connection: close not answered")
			}
			return nil
		}},
	}
	methods := []string{"GET", "GET", "GET", "HEAD", "GET"}
	for i, w := range want {
		res, err := http.ReadResponse(br, &http.Request{Method: methods[i]})
		if err != nil {
			t.Fatalf("response %d: %v (all: %q)", i, err, out)
		}
		b, _ := io.ReadAll(res.Body)
		if res.StatusCode != w.status || string(b) != w.body {
			t.Fatalf("response %d: %d %q", i, res.StatusCode, b)
		}
		if w.check != nil {
			if err := w.check(res); err != nil {
				t.Fatalf("response %d: %v", i, err)
			}
		}
	}
	if rest, _ := io.ReadAll(br); len(rest) != 0 {
		t.Fatalf("bytes after the last response: %q", rest)
	}
}

func TestHTTP10(t *testing.T) {
	s := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.(http.Flusher).Flush() // no length known: the body ends with the connection
		hello(w, r)
	}), nil)
	out := s.exchange(t, "GET /x HTTP/1.0\r\n\r\n")
	if !strings.HasPrefix(out, "HTTP/1.1 200 OK\r\n") || !strings.Contains(out, "Connection: close\r\n") || !strings.HasSuffix(out, "hello GET /x ") {
		t.Fatalf("HTTP/1.0 without keep-alive: %q", out)
	}
	out = s.exchange(t, "GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
	if !strings.Contains(out, "Connection: close\r\n") {
		t.Fatalf("flushed HTTP/1.0 response of unknown length must close: %q", out)
	}
	plain := serve(t, http.HandlerFunc(hello), nil)
	out = plain.exchange(t, "GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /b HTTP/1.0\r\n\r\n")
	if strings.Count(out, "HTTP/1.1 200 OK") != 2 || !strings.Contains(out, "Connection: keep-alive\r\n") {
		t.Fatalf("HTTP/1.0 keep-alive: %q", out)
	}
}

func TestRequestBody(t *testing.T) {
	s := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/read" {
			b, err := io.ReadAll(r.Body)
			fmt.Fprintf(w, "%d %q %v", r.ContentLength, b, err)
			return
		}
		io.WriteString(w, "ignored")
	}), nil)
	out := s.exchange(t, "POST /read HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello"+
		"POST /skip HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\nabcd"+
		"GET /read HTTP/1.1\r\nHost: h\r\n\r\n")
	for _, want := range []string{`5 "hello" <nil>`, "ignored", `0 "" <nil>`} {
		if !strings.Contains(out, want) {
			t.Fatalf("missing %q in %q", want, out)
		}
	}
	// An unread body larger than what is worth discarding closes the
	// connection after the response.
	large := strings.Repeat("z", maxDiscard+10)
	out = s.exchange(t, fmt.Sprintf("POST /skip HTTP/1.1\r\nHost: h\r\nContent-Length: %d\r\n\r\n%sGET /read HTTP/1.1\r\nHost: h\r\n\r\n", len(large), large))
	if strings.Count(out, "HTTP/1.1 200") != 1 {
		t.Fatalf("after an undiscarded body the connection must close: %q", out)
	}
}

func TestMalformedRequests(t *testing.T) {
	s := serve(t, http.HandlerFunc(hello), func(s *Server) { s.MaxHeaderBytes = 4096 })
	for _, c := range []struct {
		name, raw string
		status    int
	}{
		{"garbage", "HELLO\r\n\r\n", 400},
		{"bad method", "G(T / HTTP/1.1\r\nHost: h\r\n\r\n", 400},
		{"bad version", "GET / HTTP/1.x\r\nHost: h\r\n\r\n", 400},
		{"HTTP/2 without preface", "GET / HTTP/2.0\r\nHost: h\r\n\r\n", 505},
		{"no Host", "GET / HTTP/1.1\r\n\r\n", 400},
		{"two Hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400},
		{"bad Host", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400},
		{"conflicting lengths", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", 400},
		{"signed length", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: +1\r\n\r\na", 400},
		{"space before colon", "GET / HTTP/1.1\r\nHost: h\r\nX-A : 1\r\n\r\n", 400},
		{"folded line", "GET / HTTP/1.1\r\nHost: h\r\nX-A: 1\r\n  2\r\n\r\n", 400},
		{"control byte in value", "GET / HTTP/1.1\r\nHost: h\r\nX-A: a\x01b\r\n\r\n", 400},
		{"header too large", "GET / HTTP/1.1\r\nHost: h\r\nX-Big: " + strings.Repeat("a", 5000) + "\r\n\r\n", 431},
		{"bad target", "GET /%zz HTTP/1.1\r\nHost: h\r\n\r\n", 400},
	} {
		t.Run(c.name, func(t *testing.T) {
			out := s.exchange(t, c.raw)
			if want := fmt.Sprintf("HTTP/1.1 %d ", c.status); !strings.HasPrefix(out, want) || !strings.Contains(out, "Connection: close") {
				t.Fatalf("want %d and close, got %q", c.status, out)
			}
		})
	}
}

// Requests this server leaves to net/http go to Fallback with every byte
// read so far, the request's own and what followed.
func TestFallback(t *testing.T) {
	s := serve(t, http.HandlerFunc(hello), nil)
	for _, raw := range []string{
		"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
		"PUT / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n",
		"GET /ws HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
		"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
		"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
		"OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n",
	} {
		s.mu.Lock()
		s.handed = nil
		s.mu.Unlock()
		// A first, ordinary request is served here; the second is handed.
		first := "GET /first HTTP/1.1\r\nHost: h\r\n\r\n"
		out := s.exchange(t, first+raw)
		if !strings.Contains(out, "hello GET /first h") {
			t.Fatalf("first request not served: %q", out)
		}
		s.mu.Lock()
		handed := s.handed
		s.mu.Unlock()
		if len(handed) != 1 || handed[0] != raw {
			t.Fatalf("handed %q, want %q", handed, raw)
		}
	}
}

func TestTrailersInterimAndFlush(t *testing.T) {
	release := make(chan struct{})
	s := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/trailer":
			w.Header().Set("Trailer", "X-Sum")
			io.WriteString(w, "body")
			w.Header().Set("X-Sum", "42")
			w.Header().Set(http.TrailerPrefix+"X-Late", "yes")
		case "/hints":
			w.Header().Set("Link", "</a.css>; rel=preload")
			w.WriteHeader(http.StatusEarlyHints)
			w.Header().Del("Link")
			io.WriteString(w, "final")
		case "/stream":
			io.WriteString(w, "first")
			w.(http.Flusher).Flush()
			<-release
			io.WriteString(w, "second")
		}
	}), nil)
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()

	res, err := client.Get("http://" + s.addr + "/trailer")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if string(b) != "body" || res.Trailer.Get("X-Sum") != "42" || res.Trailer.Get("X-Late") != "yes" {
		t.Fatalf("trailers: %q %v", b, res.Trailer)
	}

	var hints []string
	ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{
		Got1xxResponse: func(code int, h textproto.MIMEHeader) error {
			hints = append(hints, fmt.Sprint(code, " ", h.Get("Link")))
			return nil
		},
	})
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+s.addr+"/hints", nil)
	res, err = client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(res.Body)
	res.Body.Close()
	if len(hints) != 1 || hints[0] != "103 </a.css>; rel=preload" || string(b) != "final" || res.Header.Get("Link") != "" {
		t.Fatalf("103: hints %q, final %q %v", hints, b, res.Header)
	}

	res, err = client.Get("http://" + s.addr + "/stream")
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 5)
	if _, err := io.ReadFull(res.Body, buf); err != nil || string(buf) != "first" {
		t.Fatalf("flushed part: %q %v", buf, err)
	}
	close(release)
	rest, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if string(rest) != "second" {
		t.Fatalf("rest %q", rest)
	}
}

// A client that goes away while its request waits on a slow upstream
// cancels the request's context.
func TestClientGoneCancelsContext(t *testing.T) {
	canceled := make(chan error, 1)
	s := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
			canceled <- r.Context().Err()
		case <-time.After(5 * time.Second):
			canceled <- nil
		}
	}), nil)
	c, err := net.Dial("tcp", s.addr)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: h\r\n\r\n")
	time.Sleep(2 * watchDelay)
	c.Close()
	select {
	case err := <-canceled:
		if err == nil {
			t.Fatal("context not canceled after the client left")
		}
	case <-time.After(3 * time.Second):
		t.Fatal("handler still waiting")
	}
}

// A pipelined request read ahead by the disconnect watch is served next.
func TestWatchKeepsPipelinedByte(t *testing.T) {
	s := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			time.Sleep(3 * watchDelay)
		}
		hello(w, r)
	}), nil)
	c, err := net.Dial("tcp", s.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "GET /slow HTTP/1.1\r\nHost: h\r\n\r\n")
	time.Sleep(2 * watchDelay) // the watch is reading now
	io.WriteString(c, "GET /next HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
	c.SetReadDeadline(time.Now().Add(3 * time.Second))
	out, _ := io.ReadAll(c)
	if !strings.Contains(string(out), "hello GET /slow h") || !strings.Contains(string(out), "hello GET /next h") {
		t.Fatalf("pipelined request lost: %q", out)
	}
}

func TestShutdownClosesIdleFinishesBusy(t *testing.T) {
	inHandler, release := make(chan struct{}), make(chan struct{})
	s := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/busy" {
			close(inHandler)
			<-release
		}
		hello(w, r)
	}), nil)
	defer func() {
		select {
		case <-release:
		default:
			close(release)
		}
	}()
	idle, _ := net.Dial("tcp", s.addr)
	defer idle.Close()
	io.WriteString(idle, "GET /a HTTP/1.1\r\nHost: h\r\n\r\n")
	br := bufio.NewReader(idle)
	if res, err := http.ReadResponse(br, nil); err != nil || res.StatusCode != 200 {
		t.Fatalf("idle connection's request: %v", err)
	} else {
		io.ReadAll(res.Body)
	}
	busy, _ := net.Dial("tcp", s.addr)
	defer busy.Close()
	io.WriteString(busy, "GET /busy HTTP/1.1\r\nHost: h\r\n\r\n")
	<-inHandler
	s.srv.Shutdown()
	idle.SetReadDeadline(time.Now().Add(2 * time.Second))
	if n, err := br.Read(make([]byte, 1)); n != 0 || err == nil {
		t.Fatal("idle connection not closed by Shutdown")
	}
	close(release)
	busy.SetReadDeadline(time.Now().Add(2 * time.Second))
	out, _ := io.ReadAll(busy)
	if !strings.Contains(string(out), "hello GET /busy") || !strings.Contains(string(out), "Connection: close") {
		t.Fatalf("busy request during shutdown: %q", out)
	}
}

func TestPanicAndHeaderInjection(t *testing.T) {
	s := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/panic" {
			panic("boom")
		}
		w.Header().Set("X-Evil", "a\r\nSet-Cookie: x=1")
		w.Header()["Content-Type"] = nil // no sniffing, no field
		io.WriteString(w, "<html>")
	}), nil)
	if out := s.exchange(t, "GET /panic HTTP/1.1\r\nHost: h\r\n\r\n"); out != "" {
		t.Fatalf("a panicking handler's connection is closed without an answer: %q", out)
	}
	out := s.exchange(t, "GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
	if strings.Contains(out, "\r\nSet-Cookie") || !strings.Contains(out, "X-Evil: a  Set-Cookie: x=1\r\n") || strings.Contains(out, "Content-Type") {
		t.Fatalf("response: %q", out)
	}
}
