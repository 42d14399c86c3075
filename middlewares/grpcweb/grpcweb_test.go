package grpcweb

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"

	"github.com/guan-gateway/guan/config/dynamic"
	"github.com/guan-gateway/guan/middlewares"
	"github.com/guan-gateway/guan/middlewares/internal/mwtest"
	"github.com/guan-gateway/guan/services/proxy"
	"github.com/guan-gateway/guan/services/transport"
)

// Protobuf encodings, by hand: HealthCheckRequest{service: "svc"} and
// HealthCheckResponse{status: SERVING} / {status: NOT_SERVING}.
var (
	checkSvc      = []byte{0x0a, 3, 's', 'v', 'c'}
	checkUnknown  = []byte{0x0a, 7, 'u', 'n', 'k', 'n', 'o', 'w', 'n'}
	statusServing = []byte{0x08, 0x01}
	statusNot     = []byte{0x08, 0x02}
)

// upstream is a real gRPC server (h2c) with the health service; seen
// records the metadata of each unary call.
type upstream struct {
	addr   string
	health *health.Server
	mu     sync.Mutex
	seen   []metadata.MD
}

func startUpstream(t *testing.T) *upstream {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := &upstream{addr: l.Addr().String(), health: health.NewServer()}
	gs := grpc.NewServer(grpc.UnaryInterceptor(func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		md, _ := metadata.FromIncomingContext(ctx)
		u.mu.Lock()
		u.seen = append(u.seen, md)
		u.mu.Unlock()
		return h(ctx, req)
	}))
	healthpb.RegisterHealthServer(gs, u.health)
	u.health.SetServingStatus("svc", healthpb.HealthCheckResponse_SERVING)
	go gs.Serve(l)
	t.Cleanup(gs.Stop)
	return u
}

func (u *upstream) lastMD(t *testing.T) metadata.MD {
	t.Helper()
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.seen) == 0 {
		t.Fatal("the gRPC server saw no call")
	}
	return u.seen[len(u.seen)-1]
}

// gateway serves grpcWeb in front of Guan's proxy to target, on HTTP/1.1
// as browsers mostly reach it.
func gateway(t *testing.T, cfg dynamic.GrpcWeb, target string) *mwtest.Server {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := transport.New(nil, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	p := proxy.New(proxy.Options{Target: u, Transport: tr.RoundTripper(u.Scheme), PassHostHeader: true})
	h, err := New(middlewares.Env{Name: "gw@file"}, cfg, p)
	if err != nil {
		t.Fatal(err)
	}
	return mwtest.Serve(t, h)
}

func frame(flag byte, payload []byte) []byte {
	b := make([]byte, 5, 5+len(payload))
	b[0] = flag
	binary.BigEndian.PutUint32(b[1:], uint32(len(payload)))
	return append(b, payload...)
}

// reply is a gRPC-Web response body split into messages and trailers.
type reply struct {
	messages [][]byte
	trailers map[string]string
}

func readFrames(t *testing.T, r io.Reader) reply {
	t.Helper()
	var rep reply
	for {
		var hdr [5]byte
		if _, err := io.ReadFull(r, hdr[:]); err == io.EOF {
			return rep
		} else if err != nil {
			t.Fatalf("frame header: %v", err)
		}
		payload := make([]byte, binary.BigEndian.Uint32(hdr[1:]))
		if _, err := io.ReadFull(r, payload); err != nil {
			t.Fatalf("frame payload: %v", err)
		}
		if hdr[0]&0x80 == 0 {
			rep.messages = append(rep.messages, payload)
			continue
		}
		if rep.trailers != nil {
			t.Fatal("two trailer frames")
		}
		rep.trailers = map[string]string{}
		for _, line := range strings.Split(string(payload), "\r\n") {
			if k, v, ok := strings.Cut(line, ":"); ok {
				if k != strings.ToLower(k) {
					t.Errorf("trailer name %q is not lower-case", k)
				}
				rep.trailers[k] = strings.TrimSpace(v)
			}
		}
	}
}

// decodeText decodes a grpc-web-text body: base64 chunks, each padded, one
// after the other.
func decodeText(t *testing.T, s string) []byte {
	t.Helper()
	var out []byte
	for s != "" {
		n := len(s)
		if i := strings.IndexByte(s, '='); i >= 0 {
			for n = i; n < len(s) && s[n] == '='; n++ {
			}
		}
		b, err := base64.StdEncoding.DecodeString(s[:n])
		if err != nil {
			t.Fatalf("base64 chunk %q: %v", s[:n], err)
		}
		out, s = append(out, b...), s[n:]
	}
	return out
}

func call(t *testing.T, gw *mwtest.Server, contentType string, msg []byte) (*http.Response, reply) {
	t.Helper()
	body := frame(0, msg)
	text := strings.HasPrefix(contentType, "application/grpc-web-text")
	if text {
		body = []byte(base64.StdEncoding.EncodeToString(body))
	}
	req := gw.NewRequest(t, http.MethodPost, "/grpc.health.v1.Health/Check", bytes.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("X-Grpc-Web", "1")
	req.Header.Set("X-User-Agent", "grpc-web-javascript/0.1")
	resp, raw := gw.Do(t, req)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d: %q", resp.StatusCode, raw)
	}
	if text {
		raw = string(decodeText(t, raw))
	}
	return resp, readFrames(t, strings.NewReader(raw))
}

func TestUnary(t *testing.T) {
	up := startUpstream(t)
	gw := gateway(t, dynamic.GrpcWeb{AllowOrigins: []string{"*"}}, "h2c://"+up.addr)
	for _, ct := range []string{"application/grpc-web", "application/grpc-web+proto", "application/grpc-web-text", "application/grpc-web-text+proto"} {
		t.Run(ct, func(t *testing.T) {
			resp, rep := call(t, gw, ct, checkSvc)
			wantCT := strings.Replace(ct, "+proto", "", 1) + "+proto" // the server answers application/grpc+proto... or application/grpc
			if got := resp.Header.Get("Content-Type"); got != wantCT && got != strings.TrimSuffix(wantCT, "+proto") {
				t.Errorf("Content-Type = %q", got)
			}
			if len(rep.messages) != 1 || !bytes.Equal(rep.messages[0], statusServing) {
				t.Fatalf("messages %x, want one %x", rep.messages, statusServing)
			}
			if rep.trailers["grpc-status"] != "0" {
				t.Fatalf("trailers %v, want grpc-status 0", rep.trailers)
			}
			if resp.Header.Get("Grpc-Status") != "" {
				t.Errorf("grpc-status in the headers too: %v", resp.Header)
			}
			// The service saw a gRPC request.
			md := up.lastMD(t)
			if got := md.Get("content-type"); len(got) != 1 || !strings.HasPrefix(got[0], "application/grpc") || strings.HasPrefix(got[0], "application/grpc-web") {
				t.Errorf("upstream content-type %v", got)
			}
			if got := md.Get("x-user-agent"); len(got) != 1 || got[0] != "grpc-web-javascript/0.1" {
				t.Errorf("upstream x-user-agent %v", got)
			}
		})
	}
}

// What the service receives is a well-formed gRPC request, checked by a
// gRPC endpoint on Go's HTTP/2 server (as grpc-go's ServeHTTP or connect
// use), which refuses a body shorter than its declared Content-Length; its
// response declares its trailers in advance, the other way to send them.
func TestUpstreamSeesGRPC(t *testing.T) {
	type seen struct {
		proto, contentType, te, contentLength string
		body                                  []byte
		err                                   error
	}
	got := make(chan seen, 1)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		got <- seen{r.Proto, r.Header.Get("Content-Type"), r.Header.Get("Te"), r.Header.Get("Content-Length"), b, err}
		w.Header().Set("Content-Type", "application/grpc")
		w.Header().Set("Trailer", "Grpc-Status, Grpc-Message")
		w.Write(frame(0, statusServing))
		w.Header().Set("Grpc-Status", "0")
		w.Header().Set("Grpc-Message", "fine")
	})}
	srv.Protocols = new(http.Protocols)
	srv.Protocols.SetUnencryptedHTTP2(true)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	gw := gateway(t, dynamic.GrpcWeb{}, "h2c://"+l.Addr().String())

	for _, ct := range []string{"application/grpc-web+proto", "application/grpc-web-text+proto"} {
		t.Run(ct, func(t *testing.T) {
			_, rep := call(t, gw, ct, checkSvc)
			s := <-got
			if s.err != nil || !bytes.Equal(s.body, frame(0, checkSvc)) {
				t.Fatalf("upstream read %x, %v", s.body, s.err)
			}
			if s.proto != "HTTP/2.0" || s.contentType != "application/grpc+proto" || s.te != "trailers" || s.contentLength != "" {
				t.Fatalf("upstream saw %+v", s)
			}
			if len(rep.messages) != 1 || !bytes.Equal(rep.messages[0], statusServing) || rep.trailers["grpc-status"] != "0" || rep.trailers["grpc-message"] != "fine" {
				t.Fatalf("reply %x %v", rep.messages, rep.trailers)
			}
		})
	}
}

func TestErrorStatus(t *testing.T) {
	up := startUpstream(t)
	gw := gateway(t, dynamic.GrpcWeb{}, "h2c://"+up.addr)
	for _, ct := range []string{"application/grpc-web+proto", "application/grpc-web-text"} {
		resp, rep := call(t, gw, ct, checkUnknown)
		// A status without messages comes as a trailers-only response:
		// gRPC-Web carries it in the headers then, and ends the body with
		// an empty trailer frame.
		status := rep.trailers["grpc-status"]
		if status == "" {
			status = resp.Header.Get("Grpc-Status")
		}
		if len(rep.messages) != 0 || status != "5" {
			t.Fatalf("%s: messages %x, trailers %v, headers %v; want grpc-status 5 (NotFound)", ct, rep.messages, rep.trailers, resp.Header)
		}
	}
}

// A server stream's messages reach the client as they are sent.
func TestServerStreaming(t *testing.T) {
	up := startUpstream(t)
	gw := gateway(t, dynamic.GrpcWeb{}, "h2c://"+up.addr)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req := gw.NewRequest(t, http.MethodPost, "/grpc.health.v1.Health/Watch", bytes.NewReader(frame(0, checkSvc)))
	req = req.WithContext(ctx)
	req.Header.Set("Content-Type", "application/grpc-web+proto")
	resp, err := gw.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	next := func() []byte {
		t.Helper()
		got := make(chan []byte, 1)
		go func() {
			var hdr [5]byte
			if _, err := io.ReadFull(br, hdr[:]); err != nil {
				got <- nil
				return
			}
			p := make([]byte, binary.BigEndian.Uint32(hdr[1:]))
			io.ReadFull(br, p)
			got <- p
		}()
		select {
		case p := <-got:
			return p
		case <-time.After(5 * time.Second):
			t.Fatal("stream message held back")
			return nil
		}
	}
	if m := next(); !bytes.Equal(m, statusServing) {
		t.Fatalf("first message %x", m)
	}
	up.health.SetServingStatus("svc", healthpb.HealthCheckResponse_NOT_SERVING)
	if m := next(); !bytes.Equal(m, statusNot) {
		t.Fatalf("second message %x", m)
	}
}

func TestCORS(t *testing.T) {
	up := startUpstream(t)
	gw := gateway(t, dynamic.GrpcWeb{AllowOrigins: []string{"https://app.example.com"}}, "h2c://"+up.addr)
	preflight := func(origin string) *http.Response {
		req := gw.NewRequest(t, http.MethodOptions, "/grpc.health.v1.Health/Check", nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		req.Header.Set("Access-Control-Request-Headers", "content-type,x-grpc-web,x-user-agent")
		resp, _ := gw.Do(t, req)
		return resp
	}
	resp := preflight("https://app.example.com")
	if resp.StatusCode != 200 || resp.Header.Get("Access-Control-Allow-Origin") != "https://app.example.com" ||
		!strings.Contains(strings.ToLower(resp.Header.Get("Access-Control-Allow-Headers")), "x-grpc-web") || resp.Header.Get("Access-Control-Allow-Methods") != "POST" {
		t.Fatalf("allowed preflight: %d %v", resp.StatusCode, resp.Header)
	}
	if resp := preflight("https://evil.example.com"); resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("preflight from another origin allowed: %v", resp.Header)
	}

	req := gw.NewRequest(t, http.MethodPost, "/grpc.health.v1.Health/Check", bytes.NewReader(frame(0, checkSvc)))
	req.Header.Set("Content-Type", "application/grpc-web+proto")
	req.Header.Set("Origin", "https://app.example.com")
	resp, _ = gw.Do(t, req)
	if resp.Header.Get("Access-Control-Allow-Origin") != "https://app.example.com" || !strings.Contains(strings.ToLower(resp.Header.Get("Access-Control-Expose-Headers")), "grpc-status") {
		t.Fatalf("cross-origin call: %v", resp.Header)
	}
}

func TestWildcardOrigin(t *testing.T) {
	h, err := New(middlewares.Env{}, dynamic.GrpcWeb{AllowOrigins: []string{"*"}}, http.NotFoundHandler())
	if err != nil {
		t.Fatal(err)
	}
	srv := mwtest.Serve(t, h)
	req := srv.NewRequest(t, http.MethodOptions, "/pkg.Svc/M", nil)
	req.Header.Set("Origin", "https://anything.example")
	req.Header.Set("Access-Control-Request-Method", "POST")
	req.Header.Set("Access-Control-Request-Headers", "x-grpc-web")
	resp, _ := srv.Do(t, req)
	if resp.Header.Get("Access-Control-Allow-Origin") != "https://anything.example" {
		t.Fatalf("wildcard preflight: %v", resp.Header)
	}
}

// Requests that are not gRPC-Web reach the next handler as they came.
func TestOtherRequestsUntouched(t *testing.T) {
	build := func(next http.Handler) (http.Handler, error) {
		return New(middlewares.Env{}, dynamic.GrpcWeb{AllowOrigins: []string{"*"}}, next)
	}
	seen := mwtest.Forward(t, build, "/page?x=1")
	if seen.Path != "/page" || seen.Header.Get("Te") != "" {
		t.Fatalf("plain GET changed: %+v", seen)
	}

	got := make(chan string, 1)
	h, _ := build(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- fmt.Sprintf("%s %s %s", r.Method, r.Proto, r.Header.Get("Content-Type"))
	}))
	srv := mwtest.Serve(t, h)
	// A preflight that is not for gRPC-Web is the application's business.
	req := srv.NewRequest(t, http.MethodOptions, "/api", nil)
	req.Header.Set("Origin", "https://x.example")
	req.Header.Set("Access-Control-Request-Method", "PUT")
	srv.Do(t, req)
	if s := <-got; s != "OPTIONS HTTP/1.1 " {
		t.Fatalf("preflight reached next as %q", s)
	}
	resp, _ := srv.Post(t, "/form", strings.NewReader("a=b"))
	if s := <-got; s != "POST HTTP/1.1 text/plain" || resp.Header.Get("Access-Control-Expose-Headers") != "" {
		t.Fatalf("POST reached next as %q, headers %v", s, resp.Header)
	}
}

func TestNewErrors(t *testing.T) {
	build := func(cfg dynamic.GrpcWeb) error {
		_, err := New(middlewares.Env{}, cfg, http.NotFoundHandler())
		return err
	}
	mwtest.RefusesConfigs(t, build,
		mwtest.Bad("empty origin", dynamic.GrpcWeb{AllowOrigins: []string{"https://a.example", ""}}, "allowOrigins[1]"),
		mwtest.Bad("comma list", dynamic.GrpcWeb{AllowOrigins: []string{"https://a.example, https://b.example"}}, "one origin per entry"),
		mwtest.Bad("partial wildcard", dynamic.GrpcWeb{AllowOrigins: []string{"https://*.example.com"}}, `only "*" alone`),
	)
}
