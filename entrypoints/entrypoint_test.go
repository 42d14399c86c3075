package entrypoints

import (
	"bufio"
	"context"
	cryptotls "crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/guan-gateway/guan/config/dynamic"
	"github.com/guan-gateway/guan/config/static"
	"github.com/guan-gateway/guan/reqinfo"
	guantls "github.com/guan-gateway/guan/tls"
)

// tlsFixture is a TLS manager with certificates for a.test and *.b.test.
type tlsFixture struct {
	ca *testCA
	m  *guantls.Manager
}

func newTLSFixture(t *testing.T, opts map[string]*dynamic.Options) *tlsFixture {
	t.Helper()
	ca := newCA(t)
	aCert, aKey := ca.issue(t, false, "a.test")
	bCert, bKey := ca.issue(t, false, "*.b.test")
	for _, o := range opts {
		if o.ClientAuth.ClientAuthType != "" {
			o.ClientAuth.CAFiles = []string{ca.pem}
		}
	}
	m, errs := guantls.NewManager(&dynamic.TLSConfiguration{
		Certificates: []*dynamic.CertAndStores{
			{Certificate: dynamic.Certificate{CertFile: aCert, KeyFile: aKey}},
			{Certificate: dynamic.Certificate{CertFile: bCert, KeyFile: bKey}},
		},
		Options: opts,
	}, nil)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	return &tlsFixture{ca: ca, m: m}
}

func (f *tlsFixture) config(t *testing.T, name string) *cryptotls.Config {
	t.Helper()
	c, err := f.m.Config(name)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// httpsRouting serves HTTPS with option names chosen by SNI.
func (f *tlsFixture) routing(t *testing.T, optionFor func(sni string) string) *testRouting {
	return &testRouting{peek: true, https: func(i ConnInfo) *cryptotls.Config {
		name := "default"
		if optionFor != nil {
			name = optionFor(i.ServerName)
		}
		return f.config(t, name)
	}}
}

func get(t *testing.T, c *http.Client, url string) (*http.Response, string) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

func TestPlainHTTP(t *testing.T) {
	tests := []struct {
		name    string
		routing Routing
		client  func() *http.Client
		want    string
	}{
		{"http1 without peeking", nil, func() *http.Client { return &http.Client{} }, "HTTP/1.1"},
		{"http1 after peeking", &testRouting{peek: true}, func() *http.Client { return &http.Client{} }, "HTTP/1.1"},
		{"h2c prior knowledge", nil, h2cClient, "HTTP/2.0"},
		{"h2c prior knowledge after peeking", &testRouting{peek: true}, h2cClient, "HTTP/2.0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			counter := newConnCounter()
			var info reqinfo.Info
			ep := startEP(t, epOpts{routing: tt.routing, onConn: counter.hook, handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				i, ok := reqinfo.Lookup(r.Context())
				if !ok {
					http.Error(w, "no reqinfo", 500)
					return
				}
				info = *i
				fmt.Fprint(w, r.Proto)
			})})
			client := tt.client()
			defer client.CloseIdleConnections()
			resp, body := get(t, client, "http://"+ep.Addr().String()+"/")
			if resp.StatusCode != 200 || body != tt.want {
				t.Fatalf("got %d %q, want 200 %q", resp.StatusCode, body, tt.want)
			}
			if info.EntryPoint != "web" || info.Start.IsZero() {
				t.Errorf("reqinfo = %+v, want EntryPoint web and a start time", info)
			}
			if open, opened := counter.get(ProtoHTTP); open != 1 || opened != 1 {
				t.Errorf("OnConn http: open %d opened %d, want 1 and 1", open, opened)
			}
			client.CloseIdleConnections()
			waitFor(t, "OnConn to report the closed connection", func() bool { open, _ := counter.get(ProtoHTTP); return open == 0 })
		})
	}
}

func h2cClient() *http.Client {
	var p http.Protocols
	p.SetUnencryptedHTTP2(true)
	return &http.Client{Transport: &http.Transport{Protocols: &p}}
}

func TestHTTPS(t *testing.T) {
	f := newTLSFixture(t, map[string]*dynamic.Options{
		"modern": {MinVersion: "VersionTLS13"},
		"strict": {SniStrict: true},
		"mtls":   {ClientAuth: dynamic.ClientAuth{ClientAuthType: "RequireAndVerifyClientCert"}},
	})
	option := func(sni string) string {
		switch {
		case strings.HasPrefix(sni, "modern."):
			return "modern"
		case strings.HasPrefix(sni, "mtls."):
			return "mtls"
		case sni == "a.test":
			return "default"
		}
		return "strict"
	}
	counter := newConnCounter()
	ep := startEP(t, epOpts{routing: f.routing(t, option), onConn: counter.hook})
	clientCert, clientKey := f.ca.issue(t, true, "client")
	pair, _ := cryptotls.X509KeyPair([]byte(clientCert), []byte(clientKey))

	tests := []struct {
		name     string
		sni      string
		maxVer   uint16
		certs    []cryptotls.Certificate
		h2       bool
		wantCN   string // "" means the connection must fail
		wantBody string
	}{
		{name: "http2 via ALPN", sni: "a.test", h2: true, wantCN: "a.test", wantBody: "hello HTTP/2.0"},
		{name: "http1.1", sni: "a.test", wantCN: "a.test", wantBody: "hello HTTP/1.1"},
		{name: "wildcard certificate", sni: "modern.b.test", h2: true, wantCN: "*.b.test", wantBody: "hello HTTP/2.0"},
		{name: "sniStrict refuses unknown name", sni: "c.test"},
		{name: "minVersion enforced", sni: "modern.b.test", maxVer: cryptotls.VersionTLS12},
		{name: "mTLS without client cert", sni: "mtls.b.test"},
		{name: "mTLS with client cert", sni: "mtls.b.test", certs: []cryptotls.Certificate{pair}, wantCN: "*.b.test", wantBody: "hello HTTP/1.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := &cryptotls.Config{RootCAs: f.ca.pool, ServerName: tt.sni, MaxVersion: tt.maxVer, Certificates: tt.certs}
			tr := &http.Transport{TLSClientConfig: cfg, ForceAttemptHTTP2: tt.h2}
			defer tr.CloseIdleConnections()
			client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
			resp, err := client.Get("https://" + ep.Addr().String() + "/")
			if tt.wantCN == "" {
				if err == nil {
					resp.Body.Close()
					t.Fatal("request succeeded, want the TLS handshake refused")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if got := resp.TLS.PeerCertificates[0].Subject.CommonName; got != tt.wantCN {
				t.Errorf("certificate %q, want %q", got, tt.wantCN)
			}
			if string(body) != tt.wantBody {
				t.Errorf("body %q, want %q", body, tt.wantBody)
			}
		})
	}
	if _, opened := counter.get(ProtoHTTPS); opened < len(tests) {
		t.Errorf("OnConn https opened %d, want >= %d", opened, len(tests))
	}
}

func TestNoHTTPSClosesTLS(t *testing.T) {
	ep := startEP(t, epOpts{routing: &testRouting{peek: true}})
	conn, err := cryptotls.Dial("tcp", ep.Addr().String(), &cryptotls.Config{ServerName: "a.test", InsecureSkipVerify: true})
	if err == nil {
		conn.Close()
		t.Fatal("TLS handshake succeeded on an entrypoint without HTTPS")
	}
}

func TestTCPRoutes(t *testing.T) {
	f := newTLSFixture(t, nil)
	backendTLS := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "backend tls") }))
	defer backendTLS.Close()
	echo := startEcho(t)

	routing := &testRouting{peek: true,
		tcp: func(i ConnInfo) (TCPHandler, *cryptotls.Config, bool) {
			switch {
			case i.TLS && i.ServerName == "pass.test":
				return proxyTo(backendTLS.Listener.Addr().String()), nil, true
			case i.TLS && i.ServerName == "a.test":
				return proxyTo(echo), f.config(t, "default"), true
			case !i.TLS:
				return proxyTo(echo), nil, true
			}
			return nil, nil, false
		},
		https: func(ConnInfo) *cryptotls.Config { return f.config(t, "default") },
	}
	counter := newConnCounter()
	ep := startEP(t, epOpts{routing: routing, onConn: counter.hook})
	addr := ep.Addr().String()

	t.Run("tls passthrough", func(t *testing.T) {
		tr := &http.Transport{TLSClientConfig: &cryptotls.Config{ServerName: "pass.test", InsecureSkipVerify: true}}
		defer tr.CloseIdleConnections()
		resp, body := get(t, &http.Client{Transport: tr}, "https://"+addr+"/")
		if body != "backend tls" {
			t.Errorf("body %q", body)
		}
		if !resp.TLS.PeerCertificates[0].Equal(backendTLS.Certificate()) {
			t.Error("passthrough served the gateway's certificate, want the backend's")
		}
	})
	t.Run("tls termination to tcp", func(t *testing.T) {
		c, err := cryptotls.Dial("tcp", addr, &cryptotls.Config{ServerName: "a.test", RootCAs: f.ca.pool})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		assertEcho(t, c, "ping over tls")
	})
	t.Run("plain tcp", func(t *testing.T) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		assertEcho(t, c, "plain ping")
	})
	t.Run("other SNI falls back to HTTPS", func(t *testing.T) {
		tr := &http.Transport{TLSClientConfig: &cryptotls.Config{ServerName: "x.b.test", RootCAs: f.ca.pool}}
		defer tr.CloseIdleConnections()
		if _, body := get(t, &http.Client{Transport: tr}, "https://"+addr+"/"); body != "hello HTTP/1.1" {
			t.Errorf("body %q", body)
		}
	})
	for proto, want := range map[string]int{ProtoTLSPassthrough: 1, ProtoTLS: 1, ProtoTCP: 1, ProtoHTTPS: 1} {
		if _, opened := counter.get(proto); opened != want {
			t.Errorf("OnConn %s opened %d, want %d", proto, opened, want)
		}
	}
}

func startEcho(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); _, _ = io.Copy(c, c) }()
		}
	}()
	return ln.Addr().String()
}

func assertEcho(t *testing.T, c net.Conn, msg string) {
	t.Helper()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, msg); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, len(msg))
	if _, err := io.ReadFull(c, buf); err != nil {
		t.Fatal(err)
	}
	if string(buf) != msg {
		t.Errorf("echo %q, want %q", buf, msg)
	}
}

func TestServerFirstTCP(t *testing.T) {
	greeter := tcpFunc(func(c net.Conn) {
		_, _ = io.WriteString(c, "220 ready\r\n")
		_, _ = io.Copy(io.Discard, c)
	})
	tests := []struct {
		name     string
		catchAll CatchAll
		https    bool
	}{
		{"only tcp routes", CatchAllOnly, false},
		{"tcp catch-all beside https", CatchAllAfterDelay, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &testRouting{peek: true, catchAll: tt.catchAll, tcp: func(i ConnInfo) (TCPHandler, *cryptotls.Config, bool) {
				if i.TLS {
					return nil, nil, false
				}
				return greeter, nil, true
			}}
			f := newTLSFixture(t, nil)
			if tt.https {
				r.https = func(ConnInfo) *cryptotls.Config { return f.config(t, "") }
			}
			ep := startEP(t, epOpts{routing: r})
			c, err := net.Dial("tcp", ep.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
			line, err := bufio.NewReader(c).ReadString('\n')
			if err != nil || line != "220 ready\r\n" {
				t.Fatalf("greeting %q, %v", line, err)
			}
			if tt.https { // TLS clients still reach HTTPS
				tr := &http.Transport{TLSClientConfig: &cryptotls.Config{ServerName: "a.test", RootCAs: f.ca.pool}}
				defer tr.CloseIdleConnections()
				if _, body := get(t, &http.Client{Transport: tr}, "https://"+ep.Addr().String()+"/"); body != "hello HTTP/1.1" {
					t.Errorf("https body %q", body)
				}
			}
		})
	}
}

func TestForwardedHeaders(t *testing.T) {
	tests := []struct {
		name    string
		trusted []string
		want    string
	}{
		{"untrusted client", []string{"10.0.0.0/8"}, "127.0.0.1|http|"},
		{"trusted client", []string{"127.0.0.1"}, "6.6.6.6|https|6.6.6.6"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ep := startEP(t, epOpts{
				cfg: &static.EntryPoint{ForwardedHeaders: &static.ForwardedHeaders{TrustedIPs: tt.trusted}},
				handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					fmt.Fprintf(w, "%s|%s|%s", r.Header.Get("X-Real-Ip"), r.Header.Get("X-Forwarded-Proto"), r.Header.Get("X-Forwarded-For"))
				}),
			})
			req, _ := http.NewRequest("GET", "http://"+ep.Addr().String()+"/", nil)
			req.Header.Set("X-Real-Ip", "6.6.6.6")
			req.Header.Set("X-Forwarded-Proto", "https")
			req.Header.Set("X-Forwarded-For", "6.6.6.6")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if string(body) != tt.want {
				t.Errorf("got %q, want %q", body, tt.want)
			}
		})
	}
}

func TestLimits(t *testing.T) {
	t.Run("maxHeaderBytes answers 431", func(t *testing.T) {
		ep := startEP(t, epOpts{cfg: &static.EntryPoint{HTTP: &static.HTTP{MaxHeaderBytes: 1024}}})
		req, _ := http.NewRequest("GET", "http://"+ep.Addr().String()+"/", nil)
		req.Header.Set("X-Big", strings.Repeat("x", 8192))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
			t.Errorf("status %d, want 431", resp.StatusCode)
		}
		req.Header.Set("X-Big", "small")
		if resp, err = http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
			t.Errorf("small headers: %v %v", resp, err)
		} else {
			resp.Body.Close()
		}
	})
	t.Run("idleTimeout closes idle keep-alive connections", func(t *testing.T) {
		ep := startEP(t, epOpts{cfg: &static.EntryPoint{Transport: &static.Transport{RespondingTimeouts: &static.RespondingTimeouts{IdleTimeout: cfgDur(200 * time.Millisecond)}}}})
		c, err := net.Dial("tcp", ep.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		fmt.Fprint(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		br := bufio.NewReader(c)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		idleSince := time.Now()
		if _, err := br.ReadByte(); !errors.Is(err, io.EOF) {
			t.Fatalf("idle connection read: %v, want EOF", err)
		}
		if d := time.Since(idleSince); d < 150*time.Millisecond || d > 8*time.Second {
			t.Errorf("closed after %v idle, want about 200ms", d)
		}
	})
	t.Run("keepAliveMaxRequests", func(t *testing.T) {
		ep := startEP(t, epOpts{cfg: &static.EntryPoint{Transport: &static.Transport{KeepAliveMaxRequests: 2}}})
		c, err := net.Dial("tcp", ep.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		br := bufio.NewReader(c)
		for i, wantClose := range []bool{false, true} {
			fmt.Fprint(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			if resp.Close != wantClose {
				t.Errorf("request %d: Connection close = %v, want %v", i+1, resp.Close, wantClose)
			}
		}
		if _, err := br.ReadByte(); !errors.Is(err, io.EOF) {
			t.Errorf("after the last allowed request: %v, want EOF", err)
		}
	})
}

func TestGracefulShutdown(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	ep := startEP(t, epOpts{handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			close(entered)
			<-release
		}
		fmt.Fprint(w, "done")
	})})
	addr := ep.Addr().String()

	// An idle keep-alive connection is closed at shutdown.
	idle, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	fmt.Fprint(idle, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	idleBr := bufio.NewReader(idle)
	if resp, err := http.ReadResponse(idleBr, nil); err != nil {
		t.Fatal(err)
	} else {
		_, _ = io.Copy(io.Discard, resp.Body)
	}

	slow := make(chan string, 1)
	go func() {
		resp, err := (&http.Client{Transport: &http.Transport{}}).Get("http://" + addr + "/slow")
		if err != nil {
			slow <- err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		slow <- string(b)
	}()
	<-entered

	shut := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		shut <- ep.Shutdown(ctx)
	}()

	waitFor(t, "new connections to be refused", func() bool {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return true
		}
		c.Close()
		return false
	})
	_ = idle.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := idleBr.ReadByte(); !errors.Is(err, io.EOF) {
		t.Errorf("idle keep-alive connection: %v, want closed", err)
	}
	select {
	case err := <-shut:
		t.Fatalf("Shutdown returned %v before the in-flight request finished", err)
	default:
	}
	close(release)
	if got := <-slow; got != "done" {
		t.Errorf("in-flight request got %q, want done", got)
	}
	if err := <-shut; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
}

func TestShutdownForceClosesTCP(t *testing.T) {
	hold := tcpFunc(func(c net.Conn) { _, _ = io.Copy(io.Discard, c) }) // never ends on its own
	counter := newConnCounter()
	ep := startEP(t, epOpts{routing: &testRouting{peek: true, catchAll: CatchAllOnly, tcp: func(ConnInfo) (TCPHandler, *cryptotls.Config, bool) { return hold, nil, true }}, onConn: counter.hook})
	c, err := net.Dial("tcp", ep.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	waitFor(t, "the TCP connection to be routed", func() bool { open, _ := counter.get(ProtoTCP); return open == 1 })

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := ep.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Shutdown = %v, want deadline exceeded after force-closing", err)
	}
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Errorf("TCP connection after shutdown: %v, want closed", err)
	}
	waitFor(t, "OnConn to report the closed connection", func() bool { open, _ := counter.get(ProtoTCP); return open == 0 })
}

func TestInheritedListenerAndFile(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	// The address in the configuration is ignored for an inherited listener.
	ep := startEP(t, epOpts{ln: ln, cfg: &static.EntryPoint{Address: ":1"}})
	if ep.Addr().String() != ln.Addr().String() {
		t.Fatalf("Addr %s, want the inherited %s", ep.Addr(), ln.Addr())
	}
	f, err := ep.File()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dup, err := net.FileListener(f)
	if err != nil {
		t.Fatal(err)
	}
	defer dup.Close()
	if dup.Addr().String() != ln.Addr().String() {
		t.Errorf("File() listens on %s, want %s", dup.Addr(), ln.Addr())
	}
	if _, body := get(t, http.DefaultClient, "http://"+ep.Addr().String()+"/"); body != "hello HTTP/1.1" {
		t.Errorf("body %q", body)
	}
}

func TestNewErrors(t *testing.T) {
	tests := []struct {
		cfg  static.EntryPoint
		want string
	}{
		{static.EntryPoint{Address: ""}, "entryPoints.web.address: empty"},
		{static.EntryPoint{Address: ":8000/udp"}, "only TCP entrypoints"},
		{static.EntryPoint{Address: "8000"}, "use host:port"},
		{static.EntryPoint{Address: "127.0.0.1:0", ForwardedHeaders: &static.ForwardedHeaders{TrustedIPs: []string{"x"}}}, "entryPoints.web.forwardedHeaders.trustedIPs"},
		{static.EntryPoint{Address: "127.0.0.1:0", Transport: &static.Transport{RespondingTimeouts: &static.RespondingTimeouts{ReadTimeout: cfgDur(-time.Second)}}}, "readTimeout: -1s is negative"},
	}
	for _, tt := range tests {
		_, err := New(Options{Name: "web", Config: &tt.cfg, Handler: http.NotFoundHandler()})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("New(%+v) = %v, want error containing %q", tt.cfg, err, tt.want)
		}
	}
	busy, _ := net.Listen("tcp", "127.0.0.1:0")
	defer busy.Close()
	if _, err := New(Options{Name: "web", Config: &static.EntryPoint{Address: busy.Addr().String()}, Handler: http.NotFoundHandler()}); err == nil || !strings.Contains(err.Error(), "listen on") {
		t.Errorf("busy address: %v", err)
	}
}

func TestShutdownDoesNotWaitForSilentConnections(t *testing.T) {
	ep := startEP(t, epOpts{routing: &testRouting{peek: true}})
	c, err := net.Dial("tcp", ep.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	waitFor(t, "the connection to be accepted", func() bool {
		ep.mu.Lock()
		defer ep.mu.Unlock()
		return len(ep.conns) == 1
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	if err := ep.Shutdown(ctx); err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Shutdown took %v waiting for a connection that never sent a request", d)
	}
}
