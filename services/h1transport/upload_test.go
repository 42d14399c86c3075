package h1transport

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// failingBody yields some bytes, then fails.
type failingBody struct {
	data string
	err  error
}

func (b *failingBody) Read(p []byte) (int, error) {
	if b.data == "" {
		return 0, b.err
	}
	n := copy(p, b.data)
	b.data = b.data[n:]
	return n, nil
}

func (b *failingBody) Close() error { return nil }

// drainingServer reads the request header, then the body until the
// client's side closes, and never answers: a server waiting for the rest
// of an upload.
func drainingServer(t *testing.T) *rawServer {
	return newRawServer(t, func(c net.Conn, br *bufio.Reader) {
		if _, err := http.ReadRequest(br); err != nil {
			return
		}
		io.Copy(io.Discard, br)
	})
}

// TestBrokenUpload: a client body that fails or falls short of its
// Content-Length ends the exchange at once with the body's error; the
// server, which would wait for the missing bytes forever, does not hold
// the caller.
func TestBrokenUpload(t *testing.T) {
	boom := errors.New("client went away")
	cases := []struct {
		name    string
		body    func() io.ReadCloser
		length  int64
		wantErr func(error) bool
	}{
		{"streamed body fails", func() io.ReadCloser { return &failingBody{"abc", boom} }, -1,
			func(err error) bool { return errors.Is(err, boom) }},
		{"large sized body fails", func() io.ReadCloser { return &failingBody{strings.Repeat("x", 40<<10), boom} }, 100 << 10,
			func(err error) bool { return errors.Is(err, boom) }},
		{"large sized body too short", func() io.ReadCloser { return io.NopCloser(strings.NewReader(strings.Repeat("x", 40<<10))) }, 100 << 10,
			func(err error) bool { return err != nil }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := drainingServer(t)
			tr, _ := newH1(t, Options{})
			req, _ := http.NewRequest("POST", srv.url(), tc.body())
			req.ContentLength = tc.length
			done := make(chan error, 1)
			go func() {
				res, err := tr.RoundTrip(req)
				if err == nil {
					res.Body.Close()
				}
				done <- err
			}()
			select {
			case err := <-done:
				if !tc.wantErr(err) {
					t.Fatalf("got %v", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("round trip still waits on a server that will never answer")
			}
		})
	}
}

// TestSlowUploadNotCutByHeaderTimeout: the response header timeout starts
// when the request is sent, so an upload slower than the timeout still
// gets its answer.
func TestSlowUploadNotCutByHeaderTimeout(t *testing.T) {
	srv, _ := countingServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		io.WriteString(w, strings.ToUpper(string(b)))
	}))
	tr, _ := newH1(t, Options{ResponseHeaderTimeout: 100 * time.Millisecond})
	pr, pw := io.Pipe()
	go func() {
		for _, part := range []string{"slow ", "up", "lo", "ad"} {
			io.WriteString(pw, part)
			time.Sleep(80 * time.Millisecond) // 320 ms in all
		}
		pw.Close()
	}()
	req, _ := http.NewRequest("POST", srv.URL, pr)
	req.ContentLength = -1
	res, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if b, _ := io.ReadAll(res.Body); string(b) != "SLOW UPLOAD" {
		t.Fatalf("body %q", b)
	}
}

// TestTimeoutNotRetried: a request that timed out on a reused connection
// is not sent again: the server is slow, not gone, and a second copy would
// double its load.
func TestTimeoutNotRetried(t *testing.T) {
	var seen atomic.Int32
	release := make(chan struct{})
	defer close(release)
	srv := newRawServer(t, func(c net.Conn, br *bufio.Reader) {
		for {
			if _, _, err := readReq(br); err != nil {
				return
			}
			if seen.Add(1) > 1 {
				<-release // the second request never gets an answer
				return
			}
			io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
		}
	})
	tr, _ := newH1(t, Options{ResponseHeaderTimeout: 100 * time.Millisecond})
	res, err := get(t, tr, srv.url())
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	waitFor(t, "the connection to be pooled", func() bool { return tr.idleCount(srv.addr) == 1 })

	_, err = get(t, tr, srv.url())
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("want a timeout, got %v", err)
	}
	time.Sleep(50 * time.Millisecond) // a retry would arrive now
	if n := seen.Load(); n != 2 {
		t.Fatalf("server saw %d requests, want 2", n)
	}
	if n := srv.conns.Load(); n != 1 {
		t.Fatalf("server saw %d connections, want 1", n)
	}
}

// TestNoPoolingAfterClose: a response finished after Close does not park
// its connection in a pool nobody will empty.
func TestNoPoolingAfterClose(t *testing.T) {
	srv := newRawServer(t, respondEach("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"))
	tr, _ := newH1(t, Options{})
	res, err := get(t, tr, srv.url())
	if err != nil {
		t.Fatal(err)
	}
	tr.Close()
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if n := tr.idleCount(srv.addr); n != 0 {
		t.Fatalf("%d connections pooled after Close", n)
	}
}

// TestChunkSizeLine: what a chunk-size line may carry (RFC 9112 §7.1).
func TestChunkSizeLine(t *testing.T) {
	for line, want := range map[string]int64{
		"0": 0, "1a": 26, "FF": 255, "3;ext=1": 3, "3 ;ext": 3, "3\t; a=b": 3, "3  ": 3,
	} {
		if n, err := parseChunkSize([]byte(line)); err != nil || n != want {
			t.Errorf("%q: %d %v, want %d", line, n, err, want)
		}
	}
	for _, line := range []string{"", "5 junk", "5 5", "x", "-1", "0x5", " 5"} {
		if n, err := parseChunkSize([]byte(line)); err == nil {
			t.Errorf("%q accepted as %d", line, n)
		}
	}
}

// TestBodyWhereNoneMayBe: a 204 that announces a body (sent late, after
// the header) must not poison the next exchange on the connection.
func TestBodyWhereNoneMayBe(t *testing.T) {
	srv := newRawServer(t, func(c net.Conn, br *bufio.Reader) {
		for {
			if _, _, err := readReq(br); err != nil {
				return
			}
			io.WriteString(c, "HTTP/1.1 204 No Content\r\nContent-Length: 6\r\n\r\n")
			time.Sleep(50 * time.Millisecond)
			io.WriteString(c, "POISON")
		}
	})
	tr, _ := newH1(t, Options{})
	for i := range 2 {
		res, err := get(t, tr, srv.url())
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != 204 {
			t.Fatalf("request %d: status %d", i, res.StatusCode)
		}
		time.Sleep(100 * time.Millisecond) // the stray body arrives meanwhile
	}
	if n := srv.conns.Load(); n != 2 {
		t.Fatalf("%d connections: the connection of a 204 with a body was reused", n)
	}
}

// TestFinishedUploadKeepsConnection: the response to a streamed upload can
// be read to its end before the goroutine that wrote the body's last bytes
// runs again. The exchange must wait for it rather than give up a reusable
// connection: every one of these uploads goes down the same connection.
func TestFinishedUploadKeepsConnection(t *testing.T) {
	srv, conns := countingServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Write(b)
	}))
	tr, _ := newH1(t, Options{})
	payload := strings.Repeat("x", 64<<10)
	for i := range 300 {
		req, _ := http.NewRequest("PUT", srv.URL, io.MultiReader(strings.NewReader("streamed "), strings.NewReader(payload)))
		req.ContentLength = -1
		res, err := tr.RoundTrip(req)
		if err != nil {
			t.Fatalf("upload %d: %v", i, err)
		}
		b, err := io.ReadAll(res.Body)
		res.Body.Close()
		if err != nil || len(b) != len(payload)+len("streamed ") {
			t.Fatalf("upload %d: %d bytes back, %v", i, len(b), err)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Fatalf("300 uploads in turn used %d connections, want 1", n)
	}
}
