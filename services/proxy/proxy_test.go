package proxy

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/textproto"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"testing/iotest"
	"time"

	"github.com/gorilla/websocket"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/guan-gateway/guan/config"
	"github.com/guan-gateway/guan/config/dynamic"
	"github.com/guan-gateway/guan/reqinfo"
	"github.com/guan-gateway/guan/services/attempt"
	"github.com/guan-gateway/guan/services/internal/svctest"
	"github.com/guan-gateway/guan/services/transport"
)

func newTransport(t *testing.T, cfg *dynamic.ServersTransport) *transport.Transport {
	t.Helper()
	tr, err := transport.New(cfg, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	return tr
}

func newProxy(t *testing.T, target string, mod func(*Options)) *Proxy {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	o := Options{Target: u, Transport: newTransport(t, nil).RoundTripper(u.Scheme), PassHostHeader: true}
	if mod != nil {
		mod(&o)
	}
	return New(o)
}

// front serves h through a real server, recording reqinfo per request.
func front(t *testing.T, h http.Handler, infos chan<- *reqinfo.Info) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		info := &reqinfo.Info{}
		h.ServeHTTP(w, r.WithContext(reqinfo.With(r.Context(), info)))
		if infos != nil {
			infos <- info
		}
	}))
	srv.Config.Protocols = new(http.Protocols)
	srv.Config.Protocols.SetHTTP1(true)
	srv.Config.Protocols.SetUnencryptedHTTP2(true)
	srv.Start()
	t.Cleanup(srv.Close)
	return srv
}

func TestForwarding(t *testing.T) {
	type seen struct {
		path, rawQuery, host, xff, custom, connOpt, keepAlive, xfh string
	}
	got := make(chan seen, 1)
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- seen{r.URL.Path, r.URL.RawQuery, r.Host, r.Header.Get("X-Forwarded-For"), r.Header.Get("X-Custom"),
			r.Header.Get("X-Conn-Opt"), r.Header.Get("Keep-Alive"), r.Header.Get("X-Forwarded-Host")}
		w.Header().Set("Connection", "X-Resp-Hop")
		w.Header().Set("X-Resp-Hop", "secret")
		w.Header().Set("X-Backend", "yes")
		w.WriteHeader(http.StatusTeapot)
		io.WriteString(w, "hello")
	}))
	defer backend.Close()
	backendHost := strings.TrimPrefix(backend.URL, "http://")

	tests := []struct {
		name         string
		server       string
		preservePath bool
		passHost     bool
		reqPath      string
		wantPath     string
		wantHost     string
	}{
		{"path kept, host passed", backend.URL + "/base", false, true, "/x?q=1", "/x", "example.test"},
		{"preservePath joins", backend.URL + "/base", true, true, "/x?q=1", "/base/x", "example.test"},
		{"preservePath root", backend.URL + "/base/", true, true, "/?q=1", "/base/", "example.test"},
		{"server host", backend.URL, false, false, "/x?q=1", "/x", backendHost},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			infos := make(chan *reqinfo.Info, 1)
			p := newProxy(t, tt.server, func(o *Options) { o.PreservePath = tt.preservePath; o.PassHostHeader = tt.passHost })
			fe := front(t, p, infos)
			req, _ := http.NewRequest("GET", fe.URL+tt.reqPath, nil)
			req.Host = "example.test"
			req.Header.Set("X-Forwarded-For", "203.0.113.9")
			req.Header.Set("X-Forwarded-Host", "orig.test")
			req.Header.Set("X-Custom", "kept")
			req.Header.Set("Connection", "X-Conn-Opt")
			req.Header.Set("X-Conn-Opt", "dropped")
			req.Header.Set("Keep-Alive", "timeout=5")
			res, err := fe.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			s := <-got
			if s.path != tt.wantPath || s.rawQuery != "q=1" || s.host != tt.wantHost {
				t.Errorf("backend saw path %q query %q host %q; want %q q=1 %q", s.path, s.rawQuery, s.host, tt.wantPath, tt.wantHost)
			}
			if s.xff != "203.0.113.9, 127.0.0.1" || s.xfh != "orig.test" {
				t.Errorf("X-Forwarded-For %q, X-Forwarded-Host %q", s.xff, s.xfh)
			}
			if s.custom != "kept" || s.connOpt != "" || s.keepAlive != "" {
				t.Errorf("custom %q, connection-listed %q, keep-alive %q", s.custom, s.connOpt, s.keepAlive)
			}
			if res.StatusCode != http.StatusTeapot || string(body) != "hello" || res.Header.Get("X-Backend") != "yes" {
				t.Errorf("response %d %q", res.StatusCode, body)
			}
			if res.Header.Get("X-Resp-Hop") != "" {
				t.Error("response header listed in Connection was forwarded")
			}
			info := <-infos
			if info.OriginStatus != http.StatusTeapot || info.OriginSize != 5 || info.ServiceAddr != backendHost ||
				info.ServiceURL != tt.server || info.OriginDuration <= 0 {
				t.Errorf("reqinfo = %+v", info)
			}
		})
	}
}

func TestRequestBodyForwarded(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(w, r.Body)
	}))
	defer backend.Close()
	fe := front(t, newProxy(t, backend.URL, nil), nil)
	res, err := http.Post(fe.URL, "text/plain", strings.NewReader("ping body"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if string(b) != "ping body" {
		t.Fatalf("echo = %q", b)
	}
}

func closedPortURL(t *testing.T) string {
	t.Helper()
	return "http://" + svctest.ClosedAddr(t)
}

func TestErrorStatus(t *testing.T) {
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}))
	defer slow.Close()
	rht := config.Duration(50 * time.Millisecond)

	tests := []struct {
		name     string
		target   string
		tcfg     *dynamic.ServersTransport
		wantCode int
	}{
		{"connection refused", closedPortURL(t), nil, http.StatusBadGateway},
		{"unknown host", "http://does-not-exist.invalid", nil, http.StatusBadGateway},
		{"response header timeout", slow.URL, &dynamic.ServersTransport{ForwardingTimeouts: &dynamic.ForwardingTimeouts{ResponseHeaderTimeout: &rht}}, http.StatusGatewayTimeout},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var failures atomic.Int32
			p := newProxy(t, tt.target, func(o *Options) {
				o.Transport = newTransport(t, tt.tcfg).RoundTripper("http")
				o.OnFailure = func() { failures.Add(1) }
			})
			infos := make(chan *reqinfo.Info, 1)
			fe := front(t, p, infos)
			res, err := http.Get(fe.URL)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != tt.wantCode || string(b) != http.StatusText(tt.wantCode) {
				t.Fatalf("got %d %q, want %d %q", res.StatusCode, b, tt.wantCode, http.StatusText(tt.wantCode))
			}
			if info := <-infos; info.OriginStatus != tt.wantCode {
				t.Errorf("OriginStatus = %d", info.OriginStatus)
			}
			if failures.Load() != 1 {
				t.Errorf("OnFailure called %d times, want 1", failures.Load())
			}
		})
	}
}

func TestContextDeadlineIs504(t *testing.T) {
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	defer slow.Close()
	p := newProxy(t, slow.URL, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	rec := httptest.NewRecorder()
	p.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil).WithContext(ctx))
	if rec.Code != http.StatusGatewayTimeout || rec.Body.String() != "Gateway Timeout" {
		t.Fatalf("got %d %q", rec.Code, rec.Body)
	}
}

func TestRetryCatcherTakesError(t *testing.T) {
	target := closedPortURL(t)
	tests := []struct {
		name      string
		body      io.Reader
		wantCatch bool
	}{
		{"no body", nil, true},
		{"unread body", strings.NewReader("payload"), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newProxy(t, target, nil)
			c := &attempt.Catcher{}
			req := httptest.NewRequest("POST", "/", tt.body)
			req = req.WithContext(attempt.With(req.Context(), c))
			rec := httptest.NewRecorder()
			p.ServeHTTP(rec, req)
			if caught := c.Err != nil; caught != tt.wantCatch {
				t.Fatalf("caught = %v, want %v", caught, tt.wantCatch)
			}
			if rec.Body.Len() != 0 || len(rec.Header()) != 0 {
				t.Fatalf("proxy wrote %d %q although a retry takes over", rec.Code, rec.Body)
			}
		})
	}
}

func TestRetryNotOfferedAfterBodySent(t *testing.T) {
	// The upstream reads the body then drops the connection: the body is
	// gone, so the proxy must answer instead of handing over to retry.
	addr := svctest.Serve(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		http.ReadRequest(br)
		io.ReadFull(br, make([]byte, 4))
		c.Close()
	})
	p := newProxy(t, "http://"+addr, nil)
	c := &attempt.Catcher{}
	req := httptest.NewRequest("POST", "/", strings.NewReader(strings.Repeat("x", 64<<10)))
	req = req.WithContext(attempt.With(req.Context(), c))
	rec := httptest.NewRecorder()
	p.ServeHTTP(rec, req)
	if c.Err != nil {
		t.Fatalf("catcher took %v after the body was consumed", c.Err)
	}
	if rec.Code != http.StatusBadGateway {
		t.Fatalf("code = %d, want 502", rec.Code)
	}
}

func TestClientGoneIs499(t *testing.T) {
	started := make(chan struct{})
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-r.Context().Done()
	}))
	defer backend.Close()
	p := newProxy(t, backend.URL, nil)
	ctx, cancel := context.WithCancel(context.Background())
	info := &reqinfo.Info{}
	req := httptest.NewRequest("GET", "/", nil).WithContext(reqinfo.With(ctx, info))
	go func() { <-started; cancel() }()
	rec := httptest.NewRecorder()
	p.ServeHTTP(rec, req)
	if info.OriginStatus != StatusClientClosedRequest || rec.Code != StatusClientClosedRequest || rec.Body.Len() != 0 {
		t.Fatalf("OriginStatus %d, status %d, body %q", info.OriginStatus, rec.Code, rec.Body)
	}
}

func TestWebSocketEcho(t *testing.T) {
	up := websocket.Upgrader{}
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		for {
			mt, msg, err := c.ReadMessage()
			if err != nil {
				return
			}
			c.WriteMessage(mt, append([]byte("echo:"), msg...))
		}
	}))
	defer backend.Close()
	infos := make(chan *reqinfo.Info, 1)
	fe := front(t, newProxy(t, backend.URL, nil), infos)
	conn, res, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(fe.URL, "http")+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("status %d", res.StatusCode)
	}
	for _, m := range []string{"one", "two"} {
		if err := conn.WriteMessage(websocket.TextMessage, []byte(m)); err != nil {
			t.Fatal(err)
		}
		_, got, err := conn.ReadMessage()
		if err != nil || string(got) != "echo:"+m {
			t.Fatalf("read %q, %v", got, err)
		}
	}
	conn.Close()
	if info := <-infos; info.OriginStatus != http.StatusSwitchingProtocols {
		t.Errorf("OriginStatus = %d", info.OriginStatus)
	}
}

func TestServerSentEventsFlushImmediately(t *testing.T) {
	release := make(chan struct{})
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "data: first\n\n")
		w.(http.Flusher).Flush()
		<-release
		io.WriteString(w, "data: second\n\n")
	}))
	defer backend.Close()
	defer close(release)
	fe := front(t, newProxy(t, backend.URL, func(o *Options) { o.FlushInterval = time.Hour }), nil)
	res, err := http.Get(fe.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	line, err := bufio.NewReader(res.Body).ReadString('\n')
	if err != nil || line != "data: first\n" {
		t.Fatalf("first event %q, %v", line, err)
	}
}

func TestKnownLengthBodyFlushedByInterval(t *testing.T) {
	release := make(chan struct{})
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "10")
		io.WriteString(w, "12345")
		w.(http.Flusher).Flush()
		<-release
		io.WriteString(w, "67890")
	}))
	defer backend.Close()
	defer close(release)
	fe := front(t, newProxy(t, backend.URL, func(o *Options) { o.FlushInterval = 20 * time.Millisecond }), nil)
	res, err := http.Get(fe.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	buf := make([]byte, 5)
	if _, err := io.ReadFull(res.Body, buf); err != nil || string(buf) != "12345" {
		t.Fatalf("first half %q, %v", buf, err)
	}
}

func TestTrailersHTTP1(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Trailer", "X-Announced")
		io.WriteString(w, "body")
		w.Header().Set("X-Announced", "a")
		w.Header().Set(http.TrailerPrefix+"X-Late", "b")
	}))
	defer backend.Close()
	fe := front(t, newProxy(t, backend.URL, nil), nil)
	res, err := http.Get(fe.URL)
	if err != nil {
		t.Fatal(err)
	}
	io.ReadAll(res.Body)
	res.Body.Close()
	if res.Trailer.Get("X-Announced") != "a" || res.Trailer.Get("X-Late") != "b" {
		t.Fatalf("trailers = %v", res.Trailer)
	}
}

func h2cBackend(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	srv.Config.Protocols = new(http.Protocols)
	srv.Config.Protocols.SetUnencryptedHTTP2(true)
	srv.Start()
	t.Cleanup(srv.Close)
	return srv
}

func TestH2CUpstream(t *testing.T) {
	backend := h2cBackend(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.Proto)
	}))
	target := "h2c://" + strings.TrimPrefix(backend.URL, "http://")
	fe := front(t, newProxy(t, target, nil), nil)
	res, err := http.Get(fe.URL)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if string(b) != "HTTP/2.0" {
		t.Fatalf("backend saw %q, want HTTP/2.0", b)
	}
}

func TestGRPCThroughH2C(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := grpc.NewServer()
	hs := health.NewServer()
	healthpb.RegisterHealthServer(gs, hs)
	go gs.Serve(l)
	defer gs.Stop()
	hs.SetServingStatus("svc", healthpb.HealthCheckResponse_SERVING)

	fe := front(t, newProxy(t, "h2c://"+l.Addr().String(), nil), nil)
	cc, err := grpc.NewClient(strings.TrimPrefix(fe.URL, "http://"), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	client := healthpb.NewHealthClient(cc)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	// Unary: grpc-status arrives in trailers; without them the call fails.
	resp, err := client.Check(ctx, &healthpb.HealthCheckRequest{Service: "svc"})
	if err != nil || resp.Status != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("Check = %v, %v", resp, err)
	}
	if _, err := client.Check(ctx, &healthpb.HealthCheckRequest{Service: "unknown"}); err == nil || !strings.Contains(err.Error(), "NotFound") {
		t.Fatalf("Check(unknown) err = %v, want NotFound", err)
	}

	// Server streaming: each update arrives while the stream stays open.
	stream, err := client.Watch(ctx, &healthpb.HealthCheckRequest{Service: "svc"})
	if err != nil {
		t.Fatal(err)
	}
	if m, err := stream.Recv(); err != nil || m.Status != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("first Watch message %v, %v", m, err)
	}
	hs.SetServingStatus("svc", healthpb.HealthCheckResponse_NOT_SERVING)
	if m, err := stream.Recv(); err != nil || m.Status != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Fatalf("second Watch message %v, %v", m, err)
	}
	cancel()
	t.Log("done")
}

func FuzzOutboundHeader(f *testing.F) {
	f.Add("keep-alive, X-Foo, Upgrade", "websocket", "trailers", "text/event-stream; charset=utf-8")
	f.Add(",,,", "", "", ";")
	f.Fuzz(func(t *testing.T, conn, upgrade, te, ct string) {
		r := httptest.NewRequest("GET", "/", nil)
		r.Header["Connection"] = []string{conn}
		r.Header["Upgrade"] = []string{upgrade}
		r.Header["Te"] = []string{te}
		r.Header["X-Foo"] = []string{"v"}
		up := upgradeType(r.Header)
		out := outboundHeader(r, up)
		if up == "" {
			if _, ok := out["Upgrade"]; ok {
				t.Fatal("Upgrade forwarded without an upgrade")
			}
		}
		for _, h := range []string{"Keep-Alive", "Transfer-Encoding", "Proxy-Connection"} {
			if _, ok := out[h]; ok {
				t.Fatalf("hop-by-hop %s forwarded", h)
			}
		}
		if len(out["X-Forwarded-For"]) != 1 {
			t.Fatalf("X-Forwarded-For = %q", out["X-Forwarded-For"])
		}
		res := http.Header{"Connection": {conn}, "Content-Type": {ct}, "X-Foo": {"v"}}
		removeHopByHop(res)
		_ = isEventStream(res)
		if _, ok := res["Connection"]; ok {
			t.Fatal("Connection kept in response")
		}
	})
}

// TestH2CUpgradeDeclined: curl --http2 on a cleartext URL offers an h2c
// upgrade; the gateway declines it and the upstream sees a plain request.
func TestH2CUpgradeDeclined(t *testing.T) {
	type seen struct{ upgrade, connection, settings string }
	got := make(chan seen, 1)
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- seen{r.Header.Get("Upgrade"), r.Header.Get("Connection"), r.Header.Get("Http2-Settings")}
		io.WriteString(w, "plain")
	}))
	defer backend.Close()
	fe := front(t, newProxy(t, backend.URL, nil), nil)
	req, _ := http.NewRequest("GET", fe.URL, nil)
	req.Header.Set("Connection", "Upgrade, HTTP2-Settings")
	req.Header.Set("Upgrade", "h2c")
	req.Header.Set("HTTP2-Settings", "AAMAAABkAAQCAAAAAAIAAAAA")
	res, err := fe.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || res.Proto != "HTTP/1.1" || string(body) != "plain" {
		t.Fatalf("%s %d %q", res.Proto, res.StatusCode, body)
	}
	if s := <-got; s != (seen{}) {
		t.Fatalf("upstream saw upgrade headers %+v", s)
	}
}

// TestEarlyHintsForwarded: a 103 from the upstream reaches the client
// before the final response, with only its own fields, over the
// hand-written HTTP/1.1 transport and over h2c.
func TestEarlyHintsForwarded(t *testing.T) {
	backend := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</style.css>; rel=preload; as=style")
		w.WriteHeader(http.StatusEarlyHints)
		w.Header().Set("Link", "</final>")
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "final")
	}))
	backend.Config.Protocols = new(http.Protocols)
	backend.Config.Protocols.SetHTTP1(true)
	backend.Config.Protocols.SetUnencryptedHTTP2(true)
	backend.Start()
	defer backend.Close()
	for _, scheme := range []string{"http", "h2c"} {
		t.Run(scheme, func(t *testing.T) {
			target := scheme + "://" + strings.TrimPrefix(backend.URL, "http://")
			p := newProxy(t, target, nil)
			fe := front(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("X-Middleware", "set before the proxy")
				p.ServeHTTP(w, r)
			}), nil)
			var hints []textproto.MIMEHeader
			ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{
				Got1xxResponse: func(code int, h textproto.MIMEHeader) error {
					if code == http.StatusEarlyHints {
						hints = append(hints, h)
					}
					return nil
				},
			})
			req, _ := http.NewRequestWithContext(ctx, "GET", fe.URL, nil)
			res, err := fe.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if len(hints) != 1 || hints[0].Get("Link") != "</style.css>; rel=preload; as=style" || hints[0].Get("X-Middleware") != "" {
				t.Fatalf("early hints %v", hints)
			}
			if res.StatusCode != 200 || string(body) != "final" || res.Header.Get("X-Middleware") == "" || res.Header.Get("Link") != "</final>" {
				t.Fatalf("final %d %q %v", res.StatusCode, body, res.Header)
			}
		})
	}
}

// timeoutErr is what a server's request body returns when the client
// sends too slowly for readTimeout.
type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

type stallingBody struct {
	sent   bool
	cancel func() // as net/http does when readTimeout strikes
}

func (b *stallingBody) Read(p []byte) (int, error) {
	if !b.sent {
		b.sent = true
		return copy(p, "abc"), nil
	}
	if b.cancel != nil {
		b.cancel()
	}
	return 0, timeoutErr{}
}
func (b *stallingBody) Close() error { return nil }

// TestClientFaultsAreNotUpstreamFailures: a request the client got wrong
// is answered 400 (408 for a stalled body) without counting against the
// server's health; the upstream is fine.
func TestClientFaultsAreNotUpstreamFailures(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		io.WriteString(w, "ok")
	}))
	defer backend.Close()
	var failures atomic.Int32
	p := newProxy(t, backend.URL, func(o *Options) { o.OnFailure = func() { failures.Add(1) } })
	for name, tc := range map[string]struct {
		mod  func(r *http.Request)
		want int
	}{
		"space in query":        {func(r *http.Request) { r.URL.RawQuery = "c d" }, 400},
		"space in method":       {func(r *http.Request) { r.Method = "GET /x" }, 400},
		"path in Host":          {func(r *http.Request) { r.Host = "p.test/x" }, 400},
		"body stalls (timeout)": {func(r *http.Request) { r.Method, r.Body, r.ContentLength = "POST", &stallingBody{}, -1 }, 408},
		"body stalls, server cancels the request": {func(r *http.Request) {
			ctx, cancel := context.WithCancel(r.Context())
			*r = *r.WithContext(ctx)
			r.Method, r.Body, r.ContentLength = "POST", &stallingBody{cancel: cancel}, -1
		}, 408},
		"body cut short": {func(r *http.Request) {
			r.Method, r.Body, r.ContentLength = "POST", io.NopCloser(io.MultiReader(strings.NewReader("abc"), iotest.ErrReader(io.ErrUnexpectedEOF))), 10
		}, 400},
	} {
		t.Run(name, func(t *testing.T) {
			req := httptest.NewRequest("GET", "http://example.test/a", nil)
			tc.mod(req)
			rec := httptest.NewRecorder()
			p.ServeHTTP(rec, req)
			if rec.Code != tc.want {
				t.Fatalf("status %d, want %d", rec.Code, tc.want)
			}
		})
	}
	if n := failures.Load(); n != 0 {
		t.Fatalf("%d client faults counted as upstream failures", n)
	}
}

// TestUnrequestedSwitchingProtocols: an upstream answering 101 to a request
// that asked for no upgrade must not get the client's connection as a raw
// tunnel past routing and middlewares.
func TestUnrequestedSwitchingProtocols(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				if _, err := http.ReadRequest(br); err != nil {
					return
				}
				io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\n\r\n") // names no protocol
				io.Copy(io.Discard, br)
			}()
		}
	}()
	fe := front(t, newProxy(t, "http://"+l.Addr().String(), nil), nil)
	res, err := http.Get(fe.URL + "/raw101")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusBadGateway {
		t.Fatalf("status %d, want 502", res.StatusCode)
	}
}

// A response without Content-Type reaches the client without one, over
// HTTP/1.1 and HTTP/2, unless the request asked for detection (the
// contentType middleware). A type sent by the upstream is kept as is.
func TestContentTypeNotSniffed(t *testing.T) {
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ct := r.URL.Query().Get("ct"); ct != "" {
			w.Header().Set("Content-Type", ct)
		} else {
			w.Header()["Content-Type"] = nil // the backend's net/http must not sniff either
		}
		io.WriteString(w, "<!DOCTYPE html><html><body>hi</body></html>")
	}))
	t.Cleanup(backend.Close)
	p := newProxy(t, backend.URL, nil)
	fe := front(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Has("detect") {
			r = r.WithContext(DetectContentType(r.Context()))
		}
		p.ServeHTTP(w, r)
	}), nil)
	h2 := &http.Client{Transport: &http.Transport{Protocols: new(http.Protocols)}}
	h2.Transport.(*http.Transport).Protocols.SetUnencryptedHTTP2(true)
	protos := map[string]bool{}
	for _, c := range []*http.Client{http.DefaultClient, h2} {
		for query, want := range map[string][]string{
			"":                              nil,
			"?detect":                       {"text/html; charset=utf-8"},
			"?ct=application/x-test":        {"application/x-test"},
			"?ct=application/x-test&detect": {"application/x-test"},
		} {
			res, err := c.Get(fe.URL + "/" + query)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			protos[res.Proto] = true
			if got := res.Header["Content-Type"]; strings.Join(got, "|") != strings.Join(want, "|") {
				t.Errorf("%s %q: Content-Type %q, want %q", res.Proto, query, got, want)
			}
		}
	}
	if !protos["HTTP/1.1"] || !protos["HTTP/2.0"] {
		t.Fatalf("protocols used: %v", protos)
	}
}
