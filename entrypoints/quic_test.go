package entrypoints

import (
	"bytes"
	"context"
	cryptotls "crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/guan-gateway/guan/config/static"
	"github.com/guan-gateway/guan/test/udprelay"
	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
)

// h3Setup is an entrypoint with HTTP/3 and a certificate for h3.test.
type h3Setup struct {
	ep     *EntryPoint
	ca     *testCA
	conns  *connCounter
	client *cryptotls.Config
}

func startH3(t *testing.T, cfg *static.EntryPoint, handler http.Handler) *h3Setup {
	t.Helper()
	ca := newCA(t)
	certPEM, keyPEM := ca.issue(t, false, "h3.test")
	cert, err := cryptotls.X509KeyPair([]byte(certPEM), []byte(keyPEM))
	if err != nil {
		t.Fatal(err)
	}
	srvTLS := &cryptotls.Config{Certificates: []cryptotls.Certificate{cert}, NextProtos: []string{"h2", "http/1.1"}}
	conns := newConnCounter()
	ep := startEP(t, epOpts{
		cfg:     cfg,
		handler: handler,
		routing: &testRouting{peek: true, https: func(ConnInfo) *cryptotls.Config { return srvTLS }},
		onConn:  conns.hook,
	})
	return &h3Setup{ep: ep, ca: ca, conns: conns, client: &cryptotls.Config{RootCAs: ca.pool, ServerName: "h3.test"}}
}

// h3TLS is the client's TLS configuration for raw QUIC dials (ALPN h3).
func (s *h3Setup) h3TLS() *cryptotls.Config {
	c := s.client.Clone()
	c.NextProtos = []string{http3.NextProtoH3}
	return c
}

// dialH3 opens an HTTP/3 connection to addr (early: with 0-RTT), closed
// when the test ends.
func dialH3(t *testing.T, addr string, tlsConf *cryptotls.Config, early bool) (*quic.Conn, *http3.ClientConn) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	dial := quic.DialAddr
	if early {
		dial = quic.DialAddrEarly
	}
	c, err := dial(ctx, addr, tlsConf, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.CloseWithError(0, "") })
	return c, (&http3.Transport{}).NewClientConn(c)
}

func (s *h3Setup) h3URL(path string) string {
	return fmt.Sprintf("https://127.0.0.1:%d%s", s.ep.QUICAddr().(*net.UDPAddr).Port, path)
}

func echoProto() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s %s %s early=%s", r.Method, r.Proto, r.TLS.ServerName, r.Header.Get("Early-Data"))
	})
}

func TestHTTP3ServesWithTheHTTPSCertificateAndAnnouncesItself(t *testing.T) {
	s := startH3(t, &static.EntryPoint{HTTP3: &static.HTTP3{}}, echoProto())
	tcpPort := s.ep.Addr().(*net.TCPAddr).Port
	if udp := s.ep.QUICAddr().(*net.UDPAddr).Port; udp != tcpPort {
		t.Fatalf("QUIC on UDP port %d, TCP on %d: want the same port", udp, tcpPort)
	}

	tr := &http3.Transport{TLSClientConfig: s.client}
	defer tr.Close()
	resp, err := (&http.Client{Transport: tr}).Get(s.h3URL("/"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if got := string(body); got != "GET HTTP/3.0 h3.test early=" {
		t.Fatalf("HTTP/3 response %q", got)
	}
	if open, opened := s.conns.get(ProtoHTTP3); open != 1 || opened != 1 {
		t.Fatalf("h3 connections open=%d opened=%d, want 1/1", open, opened)
	}

	// HTTPS over TCP announces HTTP/3 on the same port.
	tcpClient := &http.Client{Transport: &http.Transport{TLSClientConfig: s.client.Clone()}}
	resp, err = tcpClient.Get(fmt.Sprintf("https://127.0.0.1:%d/", tcpPort))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got, want := resp.Header.Get("Alt-Svc"), fmt.Sprintf(`h3=":%d"; ma=2592000`, tcpPort); got != want {
		t.Fatalf("Alt-Svc %q, want %q", got, want)
	}

	tr.Close()
	waitFor(t, "the h3 connection to be counted closed", func() bool { open, _ := s.conns.get(ProtoHTTP3); return open == 0 })
}

func TestHTTP3AdvertisedPort(t *testing.T) {
	s := startH3(t, &static.EntryPoint{HTTP3: &static.HTTP3{AdvertisedPort: 443}}, echoProto())
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: s.client.Clone()}}
	resp, err := c.Get(fmt.Sprintf("https://%s/", s.ep.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Get("Alt-Svc"); got != `h3=":443"; ma=2592000` {
		t.Fatalf("Alt-Svc %q", got)
	}
}

func TestHTTP3RefusesTLS12OnlyOptionsAndOtherALPN(t *testing.T) {
	ca := newCA(t)
	certPEM, keyPEM := ca.issue(t, false, "h3.test")
	cert, _ := cryptotls.X509KeyPair([]byte(certPEM), []byte(keyPEM))
	tls12 := &cryptotls.Config{Certificates: []cryptotls.Certificate{cert}, MaxVersion: cryptotls.VersionTLS12}
	ep := startEP(t, epOpts{
		cfg:     &static.EntryPoint{HTTP3: &static.HTTP3{}},
		routing: &testRouting{peek: true, https: func(ConnInfo) *cryptotls.Config { return tls12 }},
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := quic.DialAddr(ctx, ep.QUICAddr().String(), &cryptotls.Config{RootCAs: ca.pool, ServerName: "h3.test", NextProtos: []string{http3.NextProtoH3}}, nil)
	if err == nil {
		t.Fatal("QUIC handshake with TLS options capped at TLS 1.2 succeeded")
	}
}

// resume connects once to collect a session ticket in cache.
func resume(t *testing.T, addr string, tlsConf *cryptotls.Config) {
	t.Helper()
	c, cc := dialH3(t, addr, tlsConf, false)
	get3(t, cc)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if tc, ok := tlsConf.ClientSessionCache.(*ticketCache); ok {
		select {
		case <-tc.got:
		case <-ctx.Done():
			t.Fatal("no session ticket received")
		}
	}
	_ = c.CloseWithError(0, "")
}

// ticketCache is a client session cache that says when a ticket arrived.
type ticketCache struct {
	cryptotls.ClientSessionCache
	got  chan struct{}
	once sync.Once
}

func newTicketCache() *ticketCache {
	return &ticketCache{ClientSessionCache: cryptotls.NewLRUClientSessionCache(4), got: make(chan struct{})}
}

func (c *ticketCache) Put(key string, cs *cryptotls.ClientSessionState) {
	c.ClientSessionCache.Put(key, cs)
	if cs != nil {
		c.once.Do(func() { close(c.got) })
	}
}

// earlyRequest sends a request on cc at once, before the handshake
// completes when cc's connection was dialled early, and returns the status
// and body. It may run on its own goroutine: it reports, not fails.
func earlyRequest(cc *http3.ClientConn, method string) (int, string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	str, err := cc.OpenRequestStream(ctx)
	if err != nil {
		return 0, "", err
	}
	req, _ := http.NewRequest(method, "https://h3.test/", nil)
	if err := str.SendRequestHeader(req); err != nil {
		return 0, "", err
	}
	str.Close()
	resp, err := str.ReadResponse()
	if err != nil {
		return 0, "", err
	}
	body, err := io.ReadAll(str)
	return resp.StatusCode, string(body), err
}

func TestHTTP3ZeroRTT(t *testing.T) {
	for _, allow := range []bool{true, false} {
		t.Run(fmt.Sprintf("allow0RTT=%v", allow), func(t *testing.T) {
			s := startH3(t, &static.EntryPoint{HTTP3: &static.HTTP3{Allow0RTT: allow}}, echoProto())
			// 40 ms each way: the requests reach the gateway a round trip
			// before the client's Finished does.
			relay := udprelay.Start(t, s.ep.QUICAddr(), 40*time.Millisecond)
			tlsConf := s.h3TLS()
			tlsConf.ClientSessionCache = newTicketCache()
			resume(t, relay.Addr(), tlsConf)
			c, cc := dialH3(t, relay.Addr(), tlsConf, true)
			type result struct {
				code int
				body string
				err  error
			}
			var get, post result
			var wg sync.WaitGroup
			wg.Go(func() { get.code, get.body, get.err = earlyRequest(cc, http.MethodGet) })
			wg.Go(func() { post.code, post.body, post.err = earlyRequest(cc, http.MethodPost) })
			wg.Wait()
			if get.err != nil || post.err != nil {
				t.Fatalf("early requests: GET %v, POST %v", get.err, post.err)
			}
			<-c.HandshakeComplete()
			state := c.ConnectionState()
			if !state.TLS.DidResume {
				t.Fatal("the session was not resumed")
			}
			if state.Used0RTT != allow {
				t.Fatalf("0-RTT used: %v, want %v", state.Used0RTT, allow)
			}
			if allow {
				if get.code != 200 || get.body != "GET HTTP/3.0 h3.test early=1" {
					t.Fatalf("early GET: %d %q, want 200 marked Early-Data: 1", get.code, get.body)
				}
				if post.code != http.StatusTooEarly {
					t.Fatalf("early POST: %d %q, want 425", post.code, post.body)
				}
				// After the handshake, the same POST goes through.
				if code, body, err := earlyRequest(cc, http.MethodPost); code != 200 || body != "POST HTTP/3.0 h3.test early=" {
					t.Fatalf("POST after the handshake: %d %q %v", code, body, err)
				}
				return
			}
			if get.code != 200 || get.body != "GET HTTP/3.0 h3.test early=" || post.code != 200 {
				t.Fatalf("without 0-RTT: GET %d %q, POST %d %q; want both served after the handshake", get.code, get.body, post.code, post.body)
			}
		})
	}
}

func remoteAddrHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, r.RemoteAddr) })
}

func get3(t *testing.T, cc *http3.ClientConn) string {
	t.Helper()
	body, err := tryGet3(cc)
	if err != nil {
		t.Fatal(err)
	}
	return body
}

// tryGet3 is get3 for other goroutines than the test's.
func tryGet3(cc *http3.ClientConn) (string, error) {
	req, _ := http.NewRequest(http.MethodGet, "https://h3.test/", nil)
	resp, err := cc.RoundTrip(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

func TestHTTP3ConnectionMigration(t *testing.T) {
	s := startH3(t, &static.EntryPoint{HTTP3: &static.HTTP3{}}, remoteAddrHandler())
	tlsConf := s.client.Clone()
	tlsConf.NextProtos = []string{http3.NextProtoH3}
	udp1, _ := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	tr1 := &quic.Transport{Conn: udp1}
	defer tr1.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := tr1.Dial(ctx, s.ep.QUICAddr(), tlsConf, nil)
	if err != nil {
		t.Fatal(err)
	}
	cc := (&http3.Transport{}).NewClientConn(c)
	if got := get3(t, cc); got != udp1.LocalAddr().String() {
		t.Fatalf("before migration the gateway saw %s, want %s", got, udp1.LocalAddr())
	}

	// The client moves to another socket (another network), on the same
	// QUIC connection.
	udp2, _ := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	tr2 := &quic.Transport{Conn: udp2}
	defer tr2.Close()
	path, err := c.AddPath(tr2)
	if err != nil {
		t.Fatal(err)
	}
	if err := path.Probe(ctx); err != nil {
		t.Fatal(err)
	}
	if err := path.Switch(); err != nil {
		t.Fatal(err)
	}
	if got := get3(t, cc); got != udp2.LocalAddr().String() {
		t.Fatalf("after migration the gateway saw %s, want %s", got, udp2.LocalAddr())
	}
	if _, opened := s.conns.get(ProtoHTTP3); opened != 1 {
		t.Fatalf("%d QUIC connections opened, want the one that migrated", opened)
	}
}

func TestHTTP3SurvivesNATRebinding(t *testing.T) {
	s := startH3(t, &static.EntryPoint{HTTP3: &static.HTTP3{}}, remoteAddrHandler())
	relay := udprelay.Start(t, s.ep.QUICAddr(), 0)
	_, cc := dialH3(t, relay.Addr(), s.h3TLS(), false)
	before := get3(t, cc)
	relay.Rebind(t)
	// The gateway validates the new path (PATH_CHALLENGE) before it moves
	// the connection there; requests keep being answered meanwhile.
	want := relay.ServerSide()
	var after string
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if after = get3(t, cc); after == want {
			break
		}
	}
	if after != want {
		t.Fatalf("after rebinding the gateway saw %s (before: %s), want the new port %s", after, before, want)
	}
	if _, opened := s.conns.get(ProtoHTTP3); opened != 1 {
		t.Fatalf("%d QUIC connections opened, want 1", opened)
	}
}

func TestHTTP3DrainLetsRequestsFinish(t *testing.T) {
	release := make(chan struct{})
	started := make(chan struct{})
	s := startH3(t, &static.EntryPoint{HTTP3: &static.HTTP3{}}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-release
		io.WriteString(w, "finished")
	}))
	tr := &http3.Transport{TLSClientConfig: s.client}
	defer tr.Close()
	done := make(chan string, 1)
	go func() {
		resp, err := (&http.Client{Transport: tr}).Get(s.h3URL("/"))
		if err != nil {
			done <- err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		done <- string(b)
	}()
	<-started
	shut := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		shut <- s.ep.Shutdown(ctx)
	}()
	time.Sleep(100 * time.Millisecond)
	close(release)
	if got := <-done; got != "finished" {
		t.Fatalf("in-flight request during drain: %q", got)
	}
	if err := <-shut; err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	// The UDP port is closed: a new handshake fails.
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if _, err := quic.DialAddr(ctx, s.ep.QUICAddr().String(), &cryptotls.Config{RootCAs: s.ca.pool, ServerName: "h3.test", NextProtos: []string{"h3"}}, nil); err == nil {
		t.Fatal("QUIC handshake after shutdown succeeded")
	}
}

func TestSmallUDPBuffersAreReported(t *testing.T) {
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.SetReadBuffer(64 << 10); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	warnSmallUDPBuffers(slog.New(slog.NewTextHandler(&out, nil)), c)
	if !strings.Contains(out.String(), "net.core.rmem_max") {
		t.Fatalf("no warning for a 64 KiB receive buffer: %q", out.String())
	}
}

func TestHTTP3DrainClosesIdleConnections(t *testing.T) {
	s := startH3(t, &static.EntryPoint{HTTP3: &static.HTTP3{}}, echoProto())
	c, cc := dialH3(t, s.ep.QUICAddr().String(), s.h3TLS(), false)
	get3(t, cc)
	// The client stays connected and idle: the drain must not wait for it.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.ep.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown with an idle HTTP/3 client: %v", err)
	}
	select {
	case <-c.Context().Done():
	case <-ctx.Done():
		t.Fatal("the idle HTTP/3 connection was not closed by the drain")
	}
}

func TestQUICLimits(t *testing.T) {
	var inFlight, most atomic.Int32
	release := make(chan struct{})
	s := startH3(t, &static.EntryPoint{HTTP3: &static.HTTP3{}, QUIC: &static.QUIC{MaxIncomingStreams: 2, MaxIdleTimeout: cfgDur(300 * time.Millisecond)}}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := inFlight.Add(1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		<-release
		inFlight.Add(-1)
	}))
	_, cc := dialH3(t, s.ep.QUICAddr().String(), s.h3TLS(), false)
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Go(func() {
			_, err := tryGet3(cc)
			errs <- err
		})
	}
	waitFor(t, "two requests in flight", func() bool { return inFlight.Load() == 2 })
	time.Sleep(100 * time.Millisecond)
	if n := inFlight.Load(); n != 2 {
		t.Fatalf("%d requests in flight with maxIncomingStreams = 2", n)
	}
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if m := most.Load(); m != 2 {
		t.Fatalf("at most %d requests were in flight, want 2", m)
	}

	// Quiet for longer than maxIdleTimeout: the gateway drops the
	// connection (silently, as QUIC does on idle timeout).
	if open, _ := s.conns.get(ProtoHTTP3); open != 1 {
		t.Fatalf("%d connections open before the idle period", open)
	}
	waitFor(t, "the idle connection to be dropped", func() bool { open, _ := s.conns.get(ProtoHTTP3); return open == 0 })
}

// A handler that ignores its cancelled context does not hold the
// shutdown past the grace period.
func TestHTTP3ShutdownDoesNotWaitForStuckHandlers(t *testing.T) {
	stuck := make(chan struct{})
	defer close(stuck)
	started := make(chan struct{}, 1)
	s := startH3(t, &static.EntryPoint{HTTP3: &static.HTTP3{}}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		started <- struct{}{}
		<-stuck
	}))
	tr := &http3.Transport{TLSClientConfig: s.client}
	defer tr.Close()
	go func() {
		if resp, err := (&http.Client{Transport: tr}).Get(s.h3URL("/")); err == nil {
			resp.Body.Close()
		}
	}()
	<-started
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- s.ep.Shutdown(ctx) }()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("shutdown reported a clean drain with a request still running")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("shutdown still waiting for a stuck handler 5 s after a 0.5 s grace period")
	}
}

// Above the rate of new connection attempts, clients go through a Retry
// first, and still connect; below it, none is sent.
func TestQUICRetryAboveTheConnectionRate(t *testing.T) {
	connect := func(s *h3Setup) {
		t.Helper()
		for i := range 3 {
			tr := &http3.Transport{TLSClientConfig: s.client}
			resp, err := (&http.Client{Transport: tr}).Get(s.h3URL("/"))
			if err != nil {
				t.Fatalf("connection %d: %v", i, err)
			}
			resp.Body.Close()
			tr.Close()
		}
	}
	before := retries.Load()
	connect(startH3(t, &static.EntryPoint{HTTP3: &static.HTTP3{}}, echoProto()))
	if n := retries.Load() - before; n != 0 {
		t.Fatalf("%d Retry packets for 3 connections under the rate", n)
	}

	old := retryPerCPU
	retryPerCPU = 0 // every attempt pays a Retry
	defer func() { retryPerCPU = old }()
	before = retries.Load()
	connect(startH3(t, &static.EntryPoint{HTTP3: &static.HTTP3{}}, echoProto()))
	if n := retries.Load() - before; n < 3 {
		t.Fatalf("%d Retry packets for 3 connections over the rate, want one each at least", n)
	}
}
