package entrypoints

import (
	"context"
	cryptotls "crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/guan-gateway/guan/bodyprobe"
	"github.com/guan-gateway/guan/mqtt"
	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
	"golang.org/x/time/rate"
)

// Protocols of the QUIC side reported to Options.OnConn.
const (
	ProtoHTTP3    = "h3"
	ProtoMQTTQUIC = "mqtt-quic"
)

// alpnMQTT is the ALPN of MQTT over QUIC (as EMQX uses it).
const alpnMQTT = "mqtt"

// quicServer is the UDP side of an entrypoint: HTTP/3 (ALPN h3) or MQTT
// over QUIC (ALPN mqtt) on the UDP port of the entrypoint's address. The
// TLS configuration of each connection comes from the current snapshot,
// as for TCP: the same certificates, options and client authentication.
type quicServer struct {
	e    *EntryPoint
	set  quicSettings
	udp  *net.UDPConn
	tr   *quic.Transport
	ln   quicListener
	h3   *http3.Server
	open sync.WaitGroup // connections being served
	done chan struct{}  // closed when the accept loop returned

	mu    sync.Mutex
	conns map[*quic.Conn]struct{} // every open connection, to close them at the end
	// HTTP/3 connections and their requests in flight, so that a drain
	// closes the idle ones at once instead of waiting for their clients.
	h3conns  map[*h3Conn]struct{}
	draining atomic.Bool
}

// h3Conn is an HTTP/3 connection and its number of requests in flight.
type h3Conn struct {
	c      *quic.Conn
	active atomic.Int32
}

// quicListener is what quic.Listener and quic.EarlyListener share.
type quicListener interface {
	Accept(context.Context) (*quic.Conn, error)
	Close() error
}

// newQUIC binds the UDP port of the entrypoint's TCP address (the same
// port number, also when the TCP port was picked by the system).
func newQUIC(e *EntryPoint, h http.Handler) (*quicServer, error) {
	set := e.set.quic
	tcp := e.ln.Addr().(*net.TCPAddr)
	udp, err := listenUDP(net.JoinHostPort(hostOf(e.set.address), strconv.Itoa(tcp.Port)), e.set.reusePort)
	if err != nil {
		return nil, fmt.Errorf("entrypoint %q: QUIC: listen on UDP port %d: %w", e.name, tcp.Port, err)
	}
	q := &quicServer{e: e, set: set, udp: udp, tr: newTransport(udp), done: make(chan struct{}),
		conns: map[*quic.Conn]struct{}{}, h3conns: map[*h3Conn]struct{}{}}
	conf := &quic.Config{
		HandshakeIdleTimeout: set.handshakeTimeout,
		MaxIdleTimeout:       set.idleTimeout,
		MaxIncomingStreams:   set.maxStreams,
		Allow0RTT:            set.allow0RTT,
	}
	if set.mqtt {
		conf.MaxIncomingUniStreams = -1 // MQTT uses one bidirectional stream
	}
	tlsConf := &cryptotls.Config{MinVersion: cryptotls.VersionTLS13, GetConfigForClient: q.tlsFor}
	if set.allow0RTT {
		q.ln, err = q.tr.ListenEarly(tlsConf, conf)
	} else {
		q.ln, err = q.tr.Listen(tlsConf, conf)
	}
	if err != nil {
		udp.Close()
		return nil, fmt.Errorf("entrypoint %q: QUIC: %w", e.name, err)
	}
	warnSmallUDPBuffers(e.log, udp)
	if set.http3 {
		q.h3 = &http3.Server{
			Handler:        &h3Handler{q: q, next: h, allow0RTT: set.allow0RTT, read: e.set.readTimeout, write: e.set.writeTimeout},
			MaxHeaderBytes: e.set.maxHeaderBytes,
			IdleTimeout:    e.set.idleTimeout,
			ConnContext: func(ctx context.Context, c *quic.Conn) context.Context {
				hc := &h3Conn{c: c}
				q.mu.Lock()
				q.h3conns[hc] = struct{}{}
				q.mu.Unlock()
				context.AfterFunc(c.Context(), func() {
					q.mu.Lock()
					delete(q.h3conns, hc)
					q.mu.Unlock()
				})
				if q.draining.Load() {
					// Served after the drain listed the idle connections.
					q.closeIdle(hc)
				}
				return context.WithValue(ctx, quicConnKey{}, hc)
			},
			Logger: e.log,
		}
	}
	return q, nil
}

// Above retryPerCPU new connection attempts per second per CPU (two
// seconds' worth at once) — more full handshakes than the machine can do —
// a client must first prove it receives packets at its address with a
// Retry round trip (RFC 9000 §8.1.2): spoofed-source floods then cost the
// gateway a stateless packet each instead of a handshake. Clients holding
// a token from an earlier connection skip it.
var retryPerCPU = 1000

// retries counts the Retry packets sent, for tests.
var retries atomic.Int64

func newTransport(udp *net.UDPConn) *quic.Transport {
	per := rate.Limit(retryPerCPU * runtime.GOMAXPROCS(0))
	lim := rate.NewLimiter(per, 2*int(per))
	return &quic.Transport{Conn: udp, VerifySourceAddress: func(net.Addr) bool {
		if lim.Allow() {
			return false
		}
		retries.Add(1)
		return true
	}}
}

func hostOf(addr string) string {
	h, _, _ := net.SplitHostPort(addr)
	return h
}

// Addr returns the UDP address.
func (q *quicServer) Addr() net.Addr { return q.udp.LocalAddr() }

// altSvc is the Alt-Svc value announcing HTTP/3 on TCP responses. The
// one-slot capacity makes an append by a later handler copy it.
func (q *quicServer) altSvc() []string {
	port := q.set.advertisedPort
	if port == 0 {
		port = q.udp.LocalAddr().(*net.UDPAddr).Port
	}
	v := fmt.Sprintf(`h3=":%d"; ma=2592000`, port)
	return []string{v}[:1:1]
}

// tlsFor picks the TLS configuration of a QUIC handshake from the current
// snapshot: the HTTPS configuration for this SNI (HTTP/3) or the MQTT
// routers' one, restricted to TLS 1.3 and the QUIC application protocol.
func (q *quicServer) tlsFor(hello *cryptotls.ClientHelloInfo) (*cryptotls.Config, error) {
	rt := q.e.current()
	if rt == nil {
		return nil, errors.New("no routes")
	}
	var base *cryptotls.Config
	alpn := http3.NextProtoH3
	if q.set.mqtt {
		alpn = alpnMQTT
		_, base = rt.MQTT()
		if base == nil {
			return nil, errors.New("the entrypoint has no mqtt routers with tls")
		}
	} else {
		info := ConnInfo{ServerName: hello.ServerName, ALPN: hello.SupportedProtos, TLS: true}
		if hello.Conn != nil {
			info.RemoteAddr = hello.Conn.RemoteAddr()
		}
		if base = rt.HTTPS(info); base == nil {
			return nil, errors.New("the entrypoint has no HTTPS routers")
		}
		if _, only := rt.TLCP(base); only {
			return nil, errors.New("the router's TLS options serve TLCP only")
		}
	}
	if !slices.Contains(hello.SupportedProtos, alpn) {
		return nil, fmt.Errorf("the client does not offer ALPN %q", alpn)
	}
	if base.MaxVersion != 0 && base.MaxVersion < cryptotls.VersionTLS13 {
		return nil, errors.New("the router's TLS options stop below TLS 1.3, which QUIC needs")
	}
	// A copy per handshake, not a cached one: it costs far less than the
	// handshake, and it carries the current session ticket keys (they
	// rotate, see package tls).
	c := base.Clone()
	c.MinVersion = cryptotls.VersionTLS13
	c.NextProtos = []string{alpn}
	return c, nil
}

// start runs the accept loop.
func (q *quicServer) start() { go q.accept() }

func (q *quicServer) accept() {
	defer close(q.done)
	for {
		c, err := q.ln.Accept(context.Background())
		if err != nil {
			return
		}
		q.open.Add(1)
		q.mu.Lock()
		q.conns[c] = struct{}{}
		q.mu.Unlock()
		go q.serve(c)
	}
}

func (q *quicServer) serve(c *quic.Conn) {
	proto := ProtoHTTP3
	if q.set.mqtt {
		proto = ProtoMQTTQUIC
	}
	if q.e.onConn != nil {
		q.e.onConn(proto, 1)
	}
	// Counted until the QUIC connection ends, which for an MQTT session is
	// after this goroutine returned (the session relays on its own).
	context.AfterFunc(c.Context(), func() {
		if q.e.onConn != nil {
			q.e.onConn(proto, -1)
		}
		q.mu.Lock()
		delete(q.conns, c)
		q.mu.Unlock()
		q.open.Done()
	})
	if q.set.http3 {
		err := q.h3.ServeQUICConn(c)
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			q.e.log.Debug("HTTP/3 connection ended", "remote", c.RemoteAddr().String(), "error", err)
		}
		_ = c.CloseWithError(quic.ApplicationErrorCode(http3.ErrCodeNoError), "")
		return
	}
	q.serveMQTT(c)
}

// serveMQTT serves the MQTT session on the connection's first
// bidirectional stream, once the handshake is complete (a CONNECT in 0-RTT
// data could be replayed).
func (q *quicServer) serveMQTT(c *quic.Conn) {
	ctx, cancel := context.WithTimeout(c.Context(), q.e.mqtt.ConnectTimeout())
	defer cancel()
	select {
	case <-c.HandshakeComplete():
	case <-ctx.Done():
		_ = c.CloseWithError(0, "handshake")
		return
	}
	str, err := c.AcceptStream(ctx)
	if err != nil {
		q.e.log.Debug("MQTT over QUIC: no stream opened", "remote", c.RemoteAddr().String(), "error", err)
		_ = c.CloseWithError(0, "no stream")
		return
	}
	var table mqtt.Table
	if rt := q.e.current(); rt != nil {
		table, _ = rt.MQTT()
	}
	if table == nil {
		_ = c.CloseWithError(0, "no mqtt routers")
		return
	}
	q.e.mqtt.ServeMQTT(&streamConn{Stream: str, conn: c}, c.ConnectionState().TLS.ServerName, table)
}

// shutdown stops accepting; HTTP/3 clients get GOAWAY and have until ctx
// ends to finish their requests (MQTT sessions are drained by the MQTT
// handler, as on TCP).
func (q *quicServer) shutdown(ctx context.Context) {
	q.ln.Close()
	<-q.done
	if q.h3 == nil {
		return
	}
	q.draining.Store(true)
	go func() { _ = q.h3.Shutdown(ctx) }()
	q.mu.Lock()
	var idle []*h3Conn
	for hc := range q.h3conns {
		if hc.active.Load() == 0 {
			idle = append(idle, hc)
		}
	}
	q.mu.Unlock()
	for _, hc := range idle {
		q.closeIdle(hc)
	}
}

// closeIdle closes a draining HTTP/3 connection without requests in
// flight, a little after its GOAWAY: requests the client sent before it
// saw the GOAWAY arrive meanwhile and are refused with H3_REQUEST_REJECTED,
// which clients retry elsewhere.
func (q *quicServer) closeIdle(hc *h3Conn) {
	wait := 2*hc.c.ConnectionStats().SmoothedRTT + 50*time.Millisecond
	time.AfterFunc(wait, func() {
		if hc.active.Load() == 0 {
			_ = hc.c.CloseWithError(quic.ApplicationErrorCode(http3.ErrCodeNoError), "shutting down")
		}
	})
}

// wait returns when every connection has ended or ctx is done.
func (q *quicServer) wait(ctx context.Context) bool {
	ch := make(chan struct{})
	go func() { q.open.Wait(); close(ch) }()
	select {
	case <-ch:
		return true
	case <-ctx.Done():
		return false
	}
}

// close ends every connection with CONNECTION_CLOSE, then the UDP socket,
// and returns how many connections were still open. It does not wait for
// HTTP/3 handlers that ignore their cancelled context.
func (q *quicServer) close() int {
	q.mu.Lock()
	left := make([]*quic.Conn, 0, len(q.conns))
	for c := range q.conns {
		left = append(left, c)
	}
	q.mu.Unlock()
	for _, c := range left {
		_ = c.CloseWithError(quic.ApplicationErrorCode(http3.ErrCodeNoError), "shutting down")
	}
	if q.h3 != nil {
		// http3.Server.Close waits for every handler to return.
		go func() { _ = q.h3.Close() }()
	}
	_ = q.tr.Close()
	_ = q.udp.Close()
	return len(left)
}

// quicConnKey finds the QUIC connection of an HTTP/3 request.
type quicConnKey struct{}

// h3Handler applies what net/http's server does for TCP requests and
// quic-go's does not: the read and write timeouts, and the 0-RTT policy.
type h3Handler struct {
	q           *quicServer
	next        http.Handler
	allow0RTT   bool
	read, write time.Duration
}

func (h *h3Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hc, _ := r.Context().Value(quicConnKey{}).(*h3Conn)
	if hc != nil {
		hc.active.Add(1)
		defer func() {
			if hc.active.Add(-1) == 0 && h.q.draining.Load() {
				h.q.closeIdle(hc)
			}
		}()
	}
	if h.allow0RTT {
		if hc != nil && early(hc.c) {
			// Early data can be replayed by anyone who captured it: only
			// safe methods are served before the handshake completes
			// (RFC 8470), and the upstream is told.
			if !safeMethod(r.Method) {
				w.WriteHeader(http.StatusTooEarly)
				return
			}
			r.Header.Set("Early-Data", "1")
		}
	}
	if h.read > 0 || h.write > 0 {
		now := time.Now()
		rc := http.NewResponseController(w)
		if h.read > 0 {
			_ = rc.SetReadDeadline(now.Add(h.read))
		}
		if h.write > 0 {
			_ = rc.SetWriteDeadline(now.Add(h.write))
		}
	}
	settleBody(r)
	h.next.ServeHTTP(w, r)
}

// settleBody finds out whether a request whose method usually has no body
// (GET, HEAD, DELETE, OPTIONS, TRACE) and whose header gives no length
// carries one: HTTP/3 says it with the stream's end, not in the header.
// Clients send that end with the header, so one read answers at once
// (bounded by the read timeout otherwise). Without this the request would
// go upstream with a chunked body that some servers refuse on a GET, and
// the proxy would stream it from a goroutine of its own.
func settleBody(r *http.Request) {
	if r.ContentLength != -1 || r.Body == nil || r.Body == http.NoBody {
		return
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodDelete, http.MethodOptions, http.MethodTrace:
	default:
		return
	}
	rest, empty, err := bodyprobe.Probe(r.Body)
	switch {
	case empty:
		r.Body.Close()
		r.Body, r.ContentLength = http.NoBody, 0
	case err == nil:
		r.Body = rest
	}
}

// early reports a connection whose handshake is not complete: its requests
// came in 0-RTT data. A replayed ClientHello never completes the handshake
// (the replayer lacks the keys), so a complete one proves a live client.
func early(c *quic.Conn) bool {
	select {
	case <-c.HandshakeComplete():
		return false
	default:
		return true
	}
}

func safeMethod(m string) bool {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return true
	}
	return false
}

// streamConn is an MQTT session's QUIC stream as a net.Conn. Its
// addresses are the connection's, which follow a migrating client.
type streamConn struct {
	*quic.Stream
	conn   *quic.Conn
	wmu    sync.Mutex // quic-go's Close must not run concurrently with Write
	closed atomic.Bool
}

func (s *streamConn) Write(p []byte) (int, error) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	return s.Stream.Write(p)
}

func (s *streamConn) LocalAddr() net.Addr  { return s.conn.LocalAddr() }
func (s *streamConn) RemoteAddr() net.Addr { return s.conn.RemoteAddr() }

// quicLinger is how long a closed session's connection waits for the
// client to close it, so that what was written last (a refusing CONNACK,
// a DISCONNECT) is delivered before CONNECTION_CLOSE discards it.
const quicLinger = time.Second

// Close ends the stream (FIN after the data written) and the connection
// once the client has closed it or quicLinger has passed.
func (s *streamConn) Close() error {
	if !s.closed.CompareAndSwap(false, true) {
		return nil
	}
	s.Stream.CancelRead(0)
	// A writer blocked on flow control gives up now (as on a closed
	// net.Conn); what was written before is still sent, then FIN.
	_ = s.Stream.SetWriteDeadline(time.Now())
	s.wmu.Lock()
	err := s.Stream.Close()
	s.wmu.Unlock()
	go func() {
		t := time.NewTimer(quicLinger)
		defer t.Stop()
		select {
		case <-s.conn.Context().Done():
		case <-t.C:
		}
		_ = s.conn.CloseWithError(0, "")
	}()
	return err
}
