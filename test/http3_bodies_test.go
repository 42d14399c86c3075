package e2e

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"testing"
	"time"
)

// Request and response bodies over HTTP/3 go through the proxy as over
// HTTP/1.1 and HTTP/2: a large upload arrives whole, a streamed response
// is delivered as it is flushed, and response trailers reach the client.
func TestHTTP3BodiesStreamingAndTrailers(t *testing.T) {
	release := make(chan struct{})
	addr := serveOn(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/upload":
			h := sha256.New()
			n, _ := io.Copy(h, r.Body)
			fmt.Fprintf(w, "%d %s", n, hex.EncodeToString(h.Sum(nil)))
		case "/stream":
			w.Header().Set("Content-Type", "text/event-stream")
			io.WriteString(w, "data: first\n\n")
			w.(http.Flusher).Flush()
			select {
			case <-release:
			case <-time.After(10 * time.Second):
			}
			io.WriteString(w, "data: last\n\n")
		case "/shape":
			b, _ := io.ReadAll(r.Body)
			fmt.Fprintf(w, "%d %v %q", r.ContentLength, r.TransferEncoding, b)
		case "/trailer":
			w.Header().Set("Trailer", "X-Checksum")
			io.WriteString(w, "body")
			w.Header().Set("X-Checksum", "abc123")
		}
	}))
	ca := newTestCA(t, "h3 bodies CA")
	cert, key, _ := ca.issue(t, "h3.test", false, "h3.test")
	port := freePort(t)
	startGateway(t, map[string]string{"b.toml": ticked(fmt.Sprintf(`
[[tls.certificates]]
  certFile = '''%s'''
  keyFile = '''%s'''
[http.routers.b]
  entryPoints = ["websecure"]
  rule = "Host(´h3.test´)"
  service = "b"
  [http.routers.b.tls]
[[http.services.b.loadBalancer.servers]]
  url = "http://%s"
`, cert, key, addr))}, gatewayOpts{
		extraEPs:    map[string]int{"websecure": port},
		extraStatic: "[entryPoints.websecure.http3]\n" + jsonAccessLog(filepath.Join(t.TempDir(), "a.log")),
	})
	h := &h3Gateway{port: port, ca: ca, udpAddr: fmt.Sprintf("127.0.0.1:%d", port)}
	c, tr := h.client()
	defer tr.Close()
	base := fmt.Sprintf("https://h3.test:%d", port)

	t.Run("upload", func(t *testing.T) {
		body := make([]byte, 4<<20)
		rand.Read(body)
		sum := sha256.Sum256(body)
		resp, err := c.Post(base+"/upload", "application/octet-stream", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if want := fmt.Sprintf("%d %s", len(body), hex.EncodeToString(sum[:])); string(got) != want {
			t.Fatalf("the upstream received %q, want %q", got, want)
		}
	})
	t.Run("streaming", func(t *testing.T) {
		resp, err := c.Get(base + "/stream")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		br := bufio.NewReader(resp.Body)
		// The upstream waits for this read before it finishes: a buffered
		// response would never arrive.
		if line, err := br.ReadString('\n'); err != nil || line != "data: first\n" {
			t.Fatalf("first event: %q %v", line, err)
		}
		close(release)
		rest, _ := io.ReadAll(br)
		if string(rest) != "\ndata: last\n\n" {
			t.Fatalf("rest of the stream: %q", rest)
		}
	})
	// HTTP/3 carries no "no body" flag in the header: a GET reaches the
	// upstream without a body, not with an empty chunked one; a GET that
	// does carry a body keeps all of it.
	t.Run("body framing", func(t *testing.T) {
		resp, err := c.Get(base + "/shape")
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(got) != `0 [] ""` {
			t.Fatalf("a bodiless GET reached the upstream as %s", got)
		}
		req, _ := http.NewRequest(http.MethodGet, base+"/shape", io.NopCloser(bytes.NewReader([]byte("query-in-body"))))
		req.ContentLength = -1
		resp, err = c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		got, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(got) != `-1 [chunked] "query-in-body"` {
			t.Fatalf("a GET with a body reached the upstream as %s", got)
		}
	})
	t.Run("trailers", func(t *testing.T) {
		resp, err := c.Get(base + "/trailer")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(b) != "body" || resp.Trailer.Get("X-Checksum") != "abc123" {
			t.Fatalf("body %q, trailers %v", b, resp.Trailer)
		}
	})
}
