package http1

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// A handler may run past ReadTimeout (a long poll, a slow upstream): the
// deadline bounds reading the request, and the client is still there.
func TestReadTimeoutDoesNotCancelLongHandler(t *testing.T) {
	got := make(chan string, 1)
	s := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
			got <- "canceled"
		case <-time.After(800 * time.Millisecond):
			got <- "completed"
		}
		io.WriteString(w, "done")
	}), func(s *Server) { s.ReadTimeout = 300 * time.Millisecond })
	c, err := net.Dial("tcp", s.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	if v := <-got; v != "completed" {
		t.Fatalf("handler: %s", v)
	}
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("answer: %v", err)
	}
}

// A body read after its handler returned (an upload goroutine left behind)
// gets an error and no bytes; the next request on the connection gets its
// own body whole.
func TestLateBodyReadGetsNothing(t *testing.T) {
	late := make(chan error, 1)
	s := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/a":
			body := r.Body
			go func() {
				time.Sleep(150 * time.Millisecond)
				b, err := io.ReadAll(body)
				if len(b) > 0 {
					err = errors.New("read " + string(b))
				}
				late <- err
			}()
			io.WriteString(w, "a done")
		case "/b":
			time.Sleep(300 * time.Millisecond)
			b, err := io.ReadAll(r.Body)
			if err != nil {
				io.WriteString(w, "error "+err.Error())
				return
			}
			io.WriteString(w, "b got "+string(b))
		}
	}), nil)
	c, err := net.Dial("tcp", s.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(c)
	io.WriteString(c, "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n")
	res, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	io.ReadAll(res.Body)
	io.WriteString(c, "AAAAA") // /a's body, late
	io.WriteString(c, "POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\n\r\n")
	time.Sleep(50 * time.Millisecond)
	io.WriteString(c, "SECRET")
	res, err = http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	if string(b) != "b got SECRET" {
		t.Fatalf("/b: %q", b)
	}
	if err := <-late; !errors.Is(err, http.ErrBodyReadAfterClose) {
		t.Fatalf("late reader of /a's body: %v", err)
	}
}

func TestResponseFieldsGuarded(t *testing.T) {
	s := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/interim":
			w.Header().Set("Content-Length", "5")
			w.Header().Set("Transfer-Encoding", "chunked")
			w.WriteHeader(http.StatusEarlyHints)
			w.Write([]byte("hello"))
		case "/trailer":
			w.Header().Set("Trailer", "X-T, Content-Length")
			w.WriteHeader(200)
			w.Write([]byte("x"))
			w.Header().Set("X-T", "ok")
			w.Header().Set("Content-Length", "99")
			w.Header()[http.TrailerPrefix+"Bad\r\nInjected: 1\r\nX"] = []string{"v"}
		case "/nocontent":
			w.Header().Set("Content-Length", "3")
			w.WriteHeader(http.StatusNoContent)
		case "/sniff":
			io.WriteString(w, "<html><body>hi</body></html>")
		}
	}), nil)
	out := s.exchange(t, "GET /interim HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	interim, final, _ := strings.Cut(out, "\r\n\r\n")
	if !strings.HasPrefix(interim, "HTTP/1.1 103") || strings.Contains(interim, "Content-Length") || strings.Contains(interim, "Transfer-Encoding") {
		t.Fatalf("103 carries framing fields: %q", interim)
	}
	if !strings.Contains(final, "Content-Length: 5") || !strings.HasSuffix(final, "hello") {
		t.Fatalf("final answer after 103: %q", final)
	}
	out = s.exchange(t, "GET /trailer HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	if strings.Contains(out, "Injected") || !strings.Contains(out, "\r\nX-T: ok\r\n") || strings.Contains(out, "Content-Length: 99") {
		t.Fatalf("trailer section: %q", out)
	}
	out = s.exchange(t, "HEAD /nocontent HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	if !strings.HasPrefix(out, "HTTP/1.1 204") || strings.Contains(out, "Content-Length") {
		t.Fatalf("204 to HEAD: %q", out)
	}
	for _, method := range []string{"GET", "HEAD"} {
		out = s.exchange(t, method+" /sniff HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
		if !strings.Contains(out, "Content-Type: text/html; charset=utf-8") {
			t.Fatalf("%s: no sniffed Content-Type: %q", method, out)
		}
	}
}

// A connection quiet for longer than idleHold gives its read buffer back
// and still serves its next request, whole.
func TestLongIdleConnectionServesNextRequest(t *testing.T) {
	s := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		io.WriteString(w, r.URL.Path+" "+string(b))
	}), nil)
	c, err := net.Dial("tcp", s.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	for i, path := range []string{"/first", "/after-idle"} {
		if i == 1 {
			time.Sleep(idleHold + 300*time.Millisecond)
		}
		io.WriteString(c, "POST "+path+" HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nbody")
		res, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		b, _ := io.ReadAll(res.Body)
		if string(b) != path+" body" {
			t.Fatalf("%s: %q", path, b)
		}
	}
}
