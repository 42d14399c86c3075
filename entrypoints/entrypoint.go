// Package entrypoints owns listening sockets and the connections accepted on
// them: it reads just enough of each connection to route it (plain HTTP,
// HTTPS by SNI, TCP, TLS passthrough), runs the HTTP server with the
// entrypoint's timeouts and limits, and drains connections on shutdown.
package entrypoints

import (
	"context"
	cryptotls "crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/guan-gateway/guan/config/static"
	"github.com/guan-gateway/guan/entrypoints/forwarded"
	"github.com/guan-gateway/guan/entrypoints/http1"
	"github.com/guan-gateway/guan/mqtt"
	"github.com/guan-gateway/guan/sockio"
	"github.com/guan-gateway/guan/tls/tlcp"
)

// Options configure an entrypoint.
type Options struct {
	Name   string
	Config *static.EntryPoint // defaults applied; nil settings get package defaults
	// Handler serves every HTTP request; it reads the current snapshot per
	// request itself. It sees forwarded headers already rewritten and a
	// reqinfo.Info in the request context.
	Handler http.Handler
	// Routing returns the current snapshot's view; called per connection.
	// nil means plain HTTP only.
	Routing  func() Routing
	Listener net.Listener // optional inherited listener; else listen on Config.Address
	Logger   *slog.Logger
	// OnConn reports open connections by protocol (ProtoHTTP, ProtoHTTPS,
	// ProtoTCP, ProtoTLS, ProtoTLSPassthrough, ProtoMQTT); may be nil.
	OnConn func(proto string, delta int)
	// MQTTEvents receives the MQTT handler's observations; may be nil.
	MQTTEvents mqtt.Events
}

// EntryPoint is one listening address and the connections accepted on it.
type EntryPoint struct {
	name    string
	set     settings
	ln      net.Listener
	log     *slog.Logger
	routing func() Routing
	onConn  func(string, int)
	srv     *http.Server  // HTTP/2, h2c and what h1 hands over
	h1      *http1.Server // HTTP/1.x
	mqtt    *mqtt.Handler // when the snapshot gives the entrypoint mqtt routers
	httpLn  *handoff
	quic    *quicServer // HTTP/3 or MQTT over QUIC; nil when neither is on

	started    atomic.Bool
	acceptDone chan struct{}

	mu       sync.Mutex
	conns    map[*conn]struct{}
	draining bool
	drained  chan struct{} // closed when conns empties while draining
}

// New validates the settings and opens the listener (or adopts
// o.Listener), so address conflicts are reported before Start.
func New(o Options) (*EntryPoint, error) {
	cfg := o.Config
	if cfg == nil {
		cfg = &static.EntryPoint{}
	}
	if o.Listener != nil {
		// An inherited listener replaces the configured address.
		c := *cfg
		c.Address = o.Listener.Addr().String()
		cfg = &c
	}
	set, err := resolve(o.Name, cfg)
	if err != nil {
		return nil, err
	}
	if o.Handler == nil {
		return nil, fmt.Errorf("entrypoint %q: no handler", o.Name)
	}
	fwd, err := forwarded.New(set.insecureForwarded, set.trustedIPs)
	if err != nil {
		return nil, fmt.Errorf("entryPoints.%s.%w", o.Name, err)
	}
	logger := o.Logger
	if logger == nil {
		logger = slog.Default()
	}
	logger = logger.With("entryPoint", o.Name)

	ln := o.Listener
	if ln == nil {
		if ln, err = listen(set.address, set.reusePort); err != nil {
			return nil, fmt.Errorf("entrypoint %q: listen on %s: %w", o.Name, set.address, err)
		}
	}
	e := &EntryPoint{
		name:       o.Name,
		set:        set,
		ln:         ln,
		log:        logger,
		routing:    o.Routing,
		onConn:     o.OnConn,
		httpLn:     newHandoff(ln.Addr()),
		acceptDone: make(chan struct{}),
		conns:      make(map[*conn]struct{}),
	}
	eh := &entryHandler{
		name: o.Name, next: o.Handler, fwd: fwd,
		maxReqs: set.keepAliveMaxRequests, maxAge: set.keepAliveMaxTime,
		limitsKA:         set.keepAliveMaxRequests > 0 || set.keepAliveMaxTime > 0,
		sanitize:         set.sanitizePath,
		denied:           set.deniedEncoded,
		keepConn:         set.keepConn,
		encodeSemicolons: set.encodeSemicolons,
		log:              logger,
		noAccessLog:      set.noAccessLog, noMetrics: set.noMetrics,
	}
	e.mqtt = &mqtt.Handler{EntryPoint: o.Name, Settings: mqttSettings(cfg.MQTT), Log: logger, Events: o.MQTTEvents}
	e.srv = e.newServer(eh)
	e.h1 = &http1.Server{
		Handler:        eh,
		ReadTimeout:    set.readTimeout,
		WriteTimeout:   set.writeTimeout,
		IdleTimeout:    set.idleTimeout,
		MaxHeaderBytes: set.maxHeaderBytes,
		ConnContext:    e.srv.ConnContext,
		RequestContext: newRequestContext,
		Fallback:       e.fallback,
		Log:            logger,
	}
	if set.quic.http3 || set.quic.mqtt {
		for attempt := 1; ; attempt++ {
			if e.quic, err = newQUIC(e, eh); err == nil {
				break
			}
			if o.Listener != nil {
				return nil, err
			}
			e.ln.Close()
			if !strings.HasSuffix(set.address, ":0") || attempt == 10 || !errors.Is(err, syscall.EADDRINUSE) {
				return nil, err
			}
			// The system picked a TCP port whose UDP twin is taken: pick again.
			if e.ln, err = listen(set.address, set.reusePort); err != nil {
				return nil, fmt.Errorf("entrypoint %q: listen on %s: %w", o.Name, set.address, err)
			}
			e.httpLn = newHandoff(e.ln.Addr())
		}
		if set.quic.http3 {
			eh.altSvc = e.quic.altSvc()
		}
	}
	return e, nil
}

// fallback takes a connection over from the HTTP/1.x server for net/http's
// (see package http1): the bytes it read are replayed, and for a TLS
// connection its state travels in the connection (net/http only knows a
// *tls.Conn's) for tlsHandler to restore on each request.
func (e *EntryPoint) fallback(c net.Conn, pending []byte, state *cryptotls.ConnectionState) {
	e.httpLn.hand(&replayConn{Conn: c, pending: pending, state: state})
}

// serveHTTPS completes the TLS handshake of an HTTPS connection, then serves
// it: HTTP/2 with net/http, HTTP/1.x with the entrypoint's own server.
func (e *EntryPoint) serveHTTPS(tc *cryptotls.Conn) {
	if !e.handshakeHTTP(tc, "TLS") {
		return
	}
	state := tc.ConnectionState()
	if state.NegotiatedProtocol == "h2" {
		tc.SetReadDeadline(time.Time{})
		e.httpLn.hand(tc)
		return
	}
	e.h1.ServeConn(tc, &state)
}

// handshakeHTTP runs the handshake of an HTTPS connection under the
// entrypoint's read and write timeouts (the peek timeout when reads have
// none); the read deadline stays for the first request. It closes tc on
// failure.
func (e *EntryPoint) handshakeHTTP(tc handshaker, proto string) bool {
	if d := e.set.readTimeout; d > 0 {
		tc.SetReadDeadline(time.Now().Add(d))
	} else {
		tc.SetReadDeadline(time.Now().Add(e.set.peekTimeout()))
	}
	if d := e.set.writeTimeout; d > 0 {
		tc.SetWriteDeadline(time.Now().Add(d))
	}
	if err := tc.HandshakeContext(context.Background()); err != nil {
		e.log.Debug(proto+" handshake failed", "remote", tc.RemoteAddr().String(), "error", err)
		tc.Close()
		return false
	}
	tc.SetWriteDeadline(time.Time{})
	return true
}

// MQTT returns the entrypoint's MQTT handler (live sessions, counts).
func (e *EntryPoint) MQTT() *mqtt.Handler { return e.mqtt }

func mqttSettings(c *static.MQTTEntryPoint) mqtt.Settings {
	if c == nil {
		return mqtt.Settings{}
	}
	s := mqtt.Settings{MaxConnections: c.MaxConnections, MaxConnectionsPerIP: c.MaxConnectionsPerIP, MaxPacketSize: c.MaxPacketSize}
	if c.ConnectTimeout != nil {
		s.ConnectTimeout = c.ConnectTimeout.Std()
	}
	return s
}

// serveTLCP completes a TLCP handshake, then serves HTTP/1.x on it (TLCP
// negotiates no ALPN, so there is no HTTP/2). Requests see the handshake as
// Request.TLS with Version tlcp.VersionTLCP.
func (e *EntryPoint) serveTLCP(tc *tlcp.Conn) {
	if !e.handshakeHTTP(tc, "TLCP") {
		return
	}
	state := tc.TLSState()
	e.h1.ServeConn(tc, &state)
}

func (e *EntryPoint) newServer(h *entryHandler) *http.Server {
	var protos http.Protocols
	protos.SetHTTP1(true)
	protos.SetHTTP2(true)
	protos.SetUnencryptedHTTP2(true) // h2c with prior knowledge
	srv := &http.Server{
		Handler:        tlsHandler{h},
		ReadTimeout:    e.set.readTimeout,
		WriteTimeout:   e.set.writeTimeout,
		IdleTimeout:    e.set.idleTimeout,
		MaxHeaderBytes: e.set.maxHeaderBytes,
		Protocols:      &protos,
		HTTP2:          &http.HTTP2Config{MaxConcurrentStreams: e.set.maxConcurrentStreams},
		ErrorLog:       slog.NewLogLogger(e.log.Handler(), slog.LevelDebug),
	}
	limitsKA := h.limitsKA
	srv.ConnContext = func(ctx context.Context, c net.Conn) context.Context {
		if rc, ok := c.(*replayConn); ok && rc.state != nil {
			ctx = context.WithValue(ctx, tlsStateKey{}, rc.state)
		}
		if limitsKA {
			if bc := baseConn(c); bc != nil {
				ctx = context.WithValue(ctx, connKey{}, bc)
			}
		}
		return ctx
	}
	return srv
}

// tlsStateKey carries the TLS state of a connection the HTTP/1.x server
// handed over.
type tlsStateKey struct{}

// tlsHandler gives requests on handed-over TLS connections their TLS state,
// which net/http cannot see through the replaying wrapper.
type tlsHandler struct{ next http.Handler }

func (h tlsHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.TLS == nil {
		if st, ok := r.Context().Value(tlsStateKey{}).(*cryptotls.ConnectionState); ok {
			r.TLS = st
		}
	}
	h.next.ServeHTTP(w, r)
}

// baseConn finds the entrypoint's conn under a TLS conn.
func baseConn(c net.Conn) *conn {
	for {
		switch v := c.(type) {
		case *conn:
			return v
		case interface{ NetConn() net.Conn }:
			c = v.NetConn()
		default:
			return nil
		}
	}
}

// Name returns the entrypoint name.
func (e *EntryPoint) Name() string { return e.name }

// Addr returns the listening address.
func (e *EntryPoint) Addr() net.Addr { return e.ln.Addr() }

// QUICAddr returns the UDP address of HTTP/3 or MQTT over QUIC; nil when
// the entrypoint has neither.
func (e *EntryPoint) QUICAddr() net.Addr {
	if e.quic == nil {
		return nil
	}
	return e.quic.Addr()
}

// Start begins accepting connections in the background.
func (e *EntryPoint) Start() error {
	if !e.started.CompareAndSwap(false, true) {
		return fmt.Errorf("entrypoint %q already started", e.name)
	}
	go func() {
		if err := e.srv.Serve(e.httpLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
			e.log.Error("HTTP server stopped", "error", err)
		}
	}()
	go e.acceptLoop()
	if e.quic != nil {
		e.quic.start()
	}
	return nil
}

func (e *EntryPoint) acceptLoop() {
	defer close(e.acceptDone)
	var backoff time.Duration
	for {
		raw, err := e.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of fds, aborted handshakes...: retry with a growing pause.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			e.log.Warn("accept failed; retrying", "error", err, "retryIn", backoff)
			time.Sleep(backoff)
			continue
		}
		backoff = 0
		c := &conn{Conn: raw, sock: sockio.New(raw), ep: e, accepted: time.Now()}
		if !e.track(c) {
			raw.Close()
			continue
		}
		rt := e.current()
		if rt == nil || !rt.PeekNeeded() {
			c.setProto(protoHTTP)
			go e.h1.ServeConn(c, nil)
			continue
		}
		go e.route(c, rt)
	}
}

// current returns the snapshot's routing view; nil for plain HTTP only.
func (e *EntryPoint) current() Routing {
	if e.routing == nil {
		return nil
	}
	return e.routing()
}

func (e *EntryPoint) track(c *conn) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.draining {
		return false
	}
	e.conns[c] = struct{}{}
	return true
}

func (e *EntryPoint) untrack(c *conn) {
	e.mu.Lock()
	delete(e.conns, c)
	if e.drained != nil && len(e.conns) == 0 {
		close(e.drained)
		e.drained = nil
	}
	e.mu.Unlock()
}

// Shutdown drains the entrypoint: it keeps serving for
// lifeCycle.requestAcceptGraceTimeout, stops accepting, lets in-flight
// requests finish, closes idle keep-alive connections and waits for
// hijacked and TCP connections. When ctx or lifeCycle.graceTimeOut ends
// first, the remaining connections are closed and the error says so.
func (e *EntryPoint) Shutdown(ctx context.Context) error {
	if e.set.graceTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, e.set.acceptGrace+e.set.graceTimeout)
		defer cancel()
	}
	if e.set.acceptGrace > 0 {
		t := time.NewTimer(e.set.acceptGrace)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
		}
	}

	e.ln.Close()
	if e.started.Load() {
		<-e.acceptDone
	}
	if e.quic != nil && e.started.Load() {
		// HTTP/3 clients get GOAWAY; MQTT-over-QUIC sessions are drained
		// with the others below.
		e.quic.shutdown(ctx)
	}
	e.mu.Lock()
	e.draining = true
	drained := make(chan struct{})
	if len(e.conns) == 0 {
		close(drained)
	} else {
		e.drained = drained
	}
	// Connections still waiting for their first bytes carry no request yet
	// (browsers open such speculative connections): do not wait for them.
	var silent []*conn
	for c := range e.conns {
		if c.proto.Load() == protoUnset {
			silent = append(silent, c)
		}
	}
	e.mu.Unlock()
	for _, c := range silent {
		c.Close()
	}

	e.h1.Shutdown() // idle HTTP/1.x connections close now, busy ones after their response
	// MQTT clients are told to go (5.0: DISCONNECT 0x8B) a few at a time
	// over most of the grace period, so they do not all reconnect at once.
	go e.mqtt.Drain(ctx, e.set.graceTimeout*8/10)
	srvErr := e.srv.Shutdown(ctx) // returns once net/http's conns are closed, or at ctx end
	e.httpLn.Close()
	select {
	case <-drained:
		if e.quic == nil || e.quic.wait(ctx) {
			e.closeQUIC()
			return srvErr
		}
	case <-ctx.Done():
	}

	// Out of time: close what is left (HTTP connections with requests in
	// flight, hijacked, TCP, still peeking). Count them first: closing the
	// HTTP server untracks its connections.
	e.mu.Lock()
	open := len(e.conns)
	e.mu.Unlock()
	open += e.closeQUIC()
	_ = e.srv.Close()
	e.mu.Lock()
	left := make([]*conn, 0, len(e.conns))
	for c := range e.conns {
		left = append(left, c)
	}
	e.mu.Unlock()
	for _, c := range left {
		c.Close()
	}
	e.log.Warn("grace period over; closed remaining connections", "connections", open)
	return fmt.Errorf("entrypoint %q: %d connections still open at the end of the grace period were closed: %w", e.name, open, ctx.Err())
}

// closeQUIC closes the QUIC side and returns how many of its connections
// were still open.
func (e *EntryPoint) closeQUIC() int {
	if e.quic == nil {
		return 0
	}
	return e.quic.close()
}

// File returns a duplicate of the listening socket, to hand to a new
// process (see package inherit). The caller closes it.
func (e *EntryPoint) File() (*os.File, error) {
	fl, ok := e.ln.(interface{ File() (*os.File, error) })
	if !ok {
		return nil, fmt.Errorf("entrypoint %q: listener %T cannot be passed to another process", e.name, e.ln)
	}
	f, err := fl.File()
	if err != nil {
		return nil, fmt.Errorf("entrypoint %q: duplicate listener: %w", e.name, err)
	}
	return f, nil
}
