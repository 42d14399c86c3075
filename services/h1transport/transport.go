// Package h1transport is the upstream round tripper for plain http://
// HTTP/1.1 servers: it writes the request and reads the response on the
// calling goroutine over a per-host pool of idle keep-alive connections.
//
// It exists for speed. net/http.Transport runs a read and a write goroutine
// per connection and hands every request and response between them through
// channels, contexts and textproto; that costs about 35 allocations per
// proxied request. Here an exchange costs the response (one allocation with
// its body handle), the header block string, the header map and one values
// array. Anything it does not handle — TLS, HTTP/2, upgrades, 100-continue,
// CONNECT, request trailers — goes to a fallback round tripper (the
// net/http transport of the same serversTransport).
package h1transport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/guan-gateway/guan/h1wire"
	"golang.org/x/net/http/httpguts"
)

// Defaults, as in services/transport.
const (
	DefaultDialTimeout         = 30 * time.Second
	DefaultIdleConnTimeout     = 90 * time.Second
	DefaultMaxIdleConnsPerHost = 200
)

// Options configure a Transport.
type Options struct {
	// Fallback carries every request this transport does not handle.
	// Required.
	Fallback http.RoundTripper
	// DialTimeout bounds opening a connection; 0 means DefaultDialTimeout.
	DialTimeout time.Duration
	// ResponseHeaderTimeout bounds the wait for the response header after
	// the request was written; 0 means no limit.
	ResponseHeaderTimeout time.Duration
	// IdleConnTimeout closes a pooled connection idle this long; 0 means
	// DefaultIdleConnTimeout.
	IdleConnTimeout time.Duration
	// MaxIdleConnsPerHost bounds the idle pool of each server; 0 means
	// DefaultMaxIdleConnsPerHost, negative disables keep-alive.
	MaxIdleConnsPerHost int
	// Disabled sends every request to Fallback.
	Disabled bool
}

// Transport is an http.RoundTripper; see the package comment. It is safe
// for concurrent use.
type Transport struct {
	fallback    http.RoundTripper
	dialer      net.Dialer
	respTimeout time.Duration
	idleTimeout time.Duration
	maxIdle     int // < 0: no keep-alive
	disabled    bool

	hosts   atomic.Pointer[map[string]*hostPool] // copy on write; read without a lock
	hostsMu sync.Mutex
	closed  atomic.Bool
}

// New returns a transport. It panics without a fallback.
func New(o Options) *Transport {
	if o.Fallback == nil {
		panic("h1transport: Options.Fallback is required")
	}
	t := &Transport{
		fallback:    o.Fallback,
		dialer:      net.Dialer{Timeout: o.DialTimeout, KeepAlive: 15 * time.Second},
		respTimeout: o.ResponseHeaderTimeout,
		idleTimeout: o.IdleConnTimeout,
		maxIdle:     o.MaxIdleConnsPerHost,
		disabled:    o.Disabled,
	}
	if t.dialer.Timeout <= 0 {
		t.dialer.Timeout = DefaultDialTimeout
	}
	if t.idleTimeout <= 0 {
		t.idleTimeout = DefaultIdleConnTimeout
	}
	if t.maxIdle == 0 {
		t.maxIdle = DefaultMaxIdleConnsPerHost
	}
	t.hosts.Store(&map[string]*hostPool{})
	return t
}

// Handles reports whether RoundTrip exchanges req itself rather than
// passing it to the fallback.
func (t *Transport) Handles(req *http.Request) bool {
	if t.disabled || req.URL == nil || req.URL.Scheme != "http" || req.URL.Host == "" ||
		req.URL.User != nil || req.Method == http.MethodConnect || len(req.Trailer) > 0 {
		return false
	}
	if te := req.TransferEncoding; len(te) > 0 && (len(te) > 1 || te[0] != "chunked") {
		return false
	}
	h := req.Header
	if len(h["Expect"]) > 0 || len(h["Upgrade"]) > 0 {
		return false // 100-continue and protocol switches: net/http knows them
	}
	return !httpguts.HeaderValuesContainsToken(h["Connection"], "upgrade")
}

// Interim receives the interim responses (102, 103…) of one exchange.
type Interim interface {
	Interim(code int, h http.Header) error
}

// RoundTrip implements http.RoundTripper. Interim responses go to the
// request context's httptrace Got1xxResponse hook, as with net/http.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	return t.RoundTripInterim(req, nil)
}

// RoundTripInterim is RoundTrip with interim responses handed to hook
// (when not nil) rather than to an httptrace hook, which costs a proxy
// three allocations per request to install.
func (t *Transport) RoundTripInterim(req *http.Request, hook Interim) (*http.Response, error) {
	if !t.Handles(req) {
		if hook != nil {
			req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
				Got1xxResponse: func(code int, h textproto.MIMEHeader) error { return hook.Interim(code, http.Header(h)) },
			}))
		}
		return t.fallback.RoundTrip(req)
	}
	return t.RoundTripHandled(req, hook)
}

// RoundTripHandled is RoundTripInterim for a request Handles accepted: a
// caller that had to ask Handles anyway does not pay for the check twice.
func (t *Transport) RoundTripHandled(req *http.Request, hook Interim) (*http.Response, error) {
	body := req.Body
	if body == http.NoBody {
		body = nil
	}
	if err := validateRequest(req); err != nil {
		closeBody(body)
		return nil, err
	}
	ctx := req.Context()
	if err := ctx.Err(); err != nil {
		closeBody(body)
		return nil, err
	}
	hp := t.pool(req.URL.Host)
	// A request that can be sent again on a fresh connection whatever
	// happened to it may skip the liveness peek: if the pooled connection
	// turns out closed, the retry below costs what the peek would have
	// cost on every request.
	resendable := body == nil && retryable(req, 1, false)
	for try := 0; ; try++ {
		pc, err := t.getConn(ctx, hp, try > 0, resendable)
		if err != nil {
			closeBody(body)
			return nil, err
		}
		pc.interim = hook
		res, streamed, err := pc.roundTrip(ctx, req, body)
		if streamed {
			return res, err // the upload goroutine owns and closes the body
		}
		if err == nil {
			closeBody(body)
			return res, nil
		}
		if try > 0 || !pc.reused || pc.nread > 0 || ctx.Err() != nil || isTimeout(err) || !retryable(req, pc.nwritten, pc.bodyTouched) {
			closeBody(body)
			return nil, err
		}
		// The pooled connection was dead (the server closed it while we
		// picked it): send again on a fresh one.
		if body != nil && pc.bodyTouched {
			closeBody(body)
			if body, err = req.GetBody(); err != nil {
				return nil, fmt.Errorf("h1transport: rewind request body for a retry: %w", err)
			}
			if body == http.NoBody {
				body = nil
			}
		}
	}
}

// isTimeout reports a timeout: the server is slow, not gone, and sending
// the request again would only double its load.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// retryable is net/http's rule for sending a request again after a reused
// connection failed before any response byte: the body can be sent again,
// and either nothing reached the wire or the request is idempotent.
func retryable(req *http.Request, written int64, bodyTouched bool) bool {
	if req.Body != nil && req.Body != http.NoBody && req.GetBody == nil {
		return written == 0 && !bodyTouched
	}
	if written == 0 {
		return true
	}
	switch req.Method {
	case "", http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return true
	}
	h := req.Header
	return h["Idempotency-Key"] != nil || h["X-Idempotency-Key"] != nil
}

func closeBody(b io.ReadCloser) {
	if b != nil {
		b.Close()
	}
}

// validateRequest refuses what would let a caller inject bytes into the
// request framing (CR/LF in names, values or the Host) — request smuggling.
func validateRequest(req *http.Request) error {
	if err := ValidateTarget(req); err != nil {
		return err
	}
	for k, vv := range req.Header {
		if !httpguts.ValidHeaderFieldName(k) {
			return invalid("invalid header name %q", k)
		}
		for _, v := range vv {
			if !httpguts.ValidHeaderFieldValue(v) {
				return invalid("invalid value for header %q", k)
			}
		}
	}
	return nil
}

// InvalidRequestError is a request that cannot be sent as it is: the
// client's fault, not the server's. A proxy answers it with 400 and does
// not count it against the server's health.
type InvalidRequestError struct{ msg string }

func (e *InvalidRequestError) Error() string { return "h1transport: " + e.msg }

func invalid(format string, args ...any) error {
	return &InvalidRequestError{fmt.Sprintf(format, args...)}
}

// ValidateTarget checks the method, request target and Host, which a
// downstream server (HTTP/2 above all) may let through with bytes that
// cannot go on an HTTP/1.1 request line: a method or query with spaces, a
// Host with a path. It does not allocate for a valid request.
func ValidateTarget(req *http.Request) error {
	if req.Method != "" && !h1wire.ValidToken(req.Method) {
		return invalid("invalid method %q", req.Method)
	}
	if u := req.URL; !validURIPart(u.RawQuery) || !validURIPart(u.Opaque) {
		return invalid("invalid request URI %q", u.RequestURI())
	}
	if h := requestHost(req); !httpguts.ValidHostHeader(h) || strings.ContainsAny(h, "/?#@") {
		return invalid("invalid Host %q", h)
	}
	return nil
}

func requestHost(req *http.Request) string {
	if req.Host != "" {
		return req.Host
	}
	return req.URL.Host
}

// CloseIdleConnections closes the pooled connections; connections in use
// stay open and may be pooled again afterwards.
func (t *Transport) CloseIdleConnections() {
	for _, hp := range *t.hosts.Load() {
		hp.closeIdle()
	}
}

// Close closes the pooled connections and stops pooling: connections still
// in use are closed when their exchange ends. The transport keeps working
// (without keep-alive), for requests that started before a reload.
func (t *Transport) Close() error {
	t.closed.Store(true)
	t.CloseIdleConnections()
	return nil
}

// hostPool holds the idle connections to one server, most recent last.
type hostPool struct {
	t    *Transport
	addr string // dial address, with port
	mu   sync.Mutex
	idle []*conn
}

func (t *Transport) pool(host string) *hostPool {
	if hp := (*t.hosts.Load())[host]; hp != nil {
		return hp
	}
	t.hostsMu.Lock()
	defer t.hostsMu.Unlock()
	old := *t.hosts.Load()
	if hp := old[host]; hp != nil {
		return hp
	}
	hp := &hostPool{t: t, addr: dialAddr(host)}
	m := make(map[string]*hostPool, len(old)+1)
	for k, v := range old {
		m[k] = v
	}
	m[host] = hp
	t.hosts.Store(&m)
	return hp
}

// dialAddr adds the default port to a URL host that has none.
func dialAddr(host string) string {
	if i := strings.LastIndexByte(host, ':'); i > strings.LastIndexByte(host, ']') {
		if i == len(host)-1 {
			return host + "80"
		}
		return host
	}
	return net.JoinHostPort(strings.Trim(host, "[]"), "80")
}

// getConn returns a live pooled connection or dials one.
func (t *Transport) getConn(ctx context.Context, hp *hostPool, fresh, resendable bool) (*conn, error) {
	if !fresh {
		for {
			pc, idleFor := hp.take()
			if pc == nil {
				break
			}
			if pc.reusable(idleFor, resendable) {
				pc.reused = true
				return pc, nil
			}
			pc.close()
		}
	}
	nc, err := t.dialer.DialContext(ctx, "tcp", hp.addr)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, ctxErr
		}
		return nil, err
	}
	return newConn(hp, nc), nil
}

// recentlyIdle bounds the idle time of a connection handed out without a
// liveness peek (see resendable in RoundTripInterim).
const recentlyIdle = time.Second

// livenessPeeks counts the peeks before reuse (alive), for tests.
var livenessPeeks atomic.Int64

// reusable decides whether a pooled connection may carry the request.
func (pc *conn) reusable(idleFor time.Duration, resendable bool) bool {
	switch {
	case idleFor >= recentlyIdle:
		// Peeked at all the same: it is the one a server's idle timeout
		// may have closed, and the peek also finds bytes sent unasked.
		return pc.alive()
	case pc.hup != nil:
		// The close watch has seen any close or reset that arrived more
		// than a scheduling delay ago: no system call. A close in that
		// delay is the race a peek has too, over a shorter time: a
		// server closing its idle connections in a graceful restart
		// failed about as many POSTs either way (docs/performance.md).
		// What the watch cannot see, bytes sent unasked on a connection
		// left open, HTTP/1.1 servers send only before they close (a
		// 408), and the close follows them at once.
		return !pc.hup.Closed()
	case resendable:
		// A failure before any response byte resends it.
		return true
	default:
		return pc.alive()
	}
}

// take pops the most recently used idle connection that has not expired,
// with how long it was idle.
func (hp *hostPool) take() (*conn, time.Duration) {
	now := time.Now()
	hp.mu.Lock()
	for n := len(hp.idle); n > 0; n = len(hp.idle) {
		pc := hp.idle[n-1]
		hp.idle[n-1] = nil
		hp.idle = hp.idle[:n-1]
		pc.idle = false
		if idleFor := now.Sub(pc.idleAt); idleFor < hp.t.idleTimeout {
			hp.mu.Unlock()
			return pc, idleFor
		}
		// Expired but its timer has not run yet.
		hp.mu.Unlock()
		pc.close()
		hp.mu.Lock()
	}
	hp.mu.Unlock()
	return nil, 0
}

// put pools pc for reuse, or closes it when the pool is full or closed.
func (hp *hostPool) put(pc *conn) {
	t := hp.t
	if t.maxIdle < 0 {
		pc.close()
		return
	}
	hp.mu.Lock()
	// closed is read under hp.mu: Close sets it before it empties the
	// pools under the same lock, so no connection is pooled after Close.
	if len(hp.idle) >= t.maxIdle || t.closed.Load() {
		hp.mu.Unlock()
		pc.close()
		return
	}
	pc.idle = true
	pc.idleAt = time.Now()
	hp.idle = append(hp.idle, pc)
	switch {
	case pc.idleTimer == nil:
		pc.idleTimer = time.AfterFunc(t.idleTimeout, pc.expire)
		pc.timerArmed = true
	case !pc.timerArmed:
		pc.idleTimer.Reset(t.idleTimeout)
		pc.timerArmed = true
	}
	hp.mu.Unlock()
}

// remove takes pc out of the idle list; false when it is not idle.
func (hp *hostPool) remove(pc *conn) bool {
	hp.mu.Lock()
	defer hp.mu.Unlock()
	if !pc.idle {
		return false
	}
	for i, c := range hp.idle {
		if c == pc {
			last := len(hp.idle) - 1
			copy(hp.idle[i:], hp.idle[i+1:])
			hp.idle[last] = nil
			hp.idle = hp.idle[:last]
			break
		}
	}
	pc.idle = false
	return true
}

func (hp *hostPool) closeIdle() {
	hp.mu.Lock()
	idle := hp.idle
	hp.idle = nil
	for _, pc := range idle {
		pc.idle = false
	}
	hp.mu.Unlock()
	for _, pc := range idle {
		pc.close()
	}
}

// timeoutError is a net.Error with Timeout true, so that the proxy answers
// 504.
type timeoutError struct{ msg string }

func (e *timeoutError) Error() string   { return e.msg }
func (e *timeoutError) Timeout() bool   { return true }
func (e *timeoutError) Temporary() bool { return true }

var (
	errResponseHeaderTimeout = &timeoutError{"h1transport: timeout awaiting the upstream response header (responseHeaderTimeout)"}
	errBodyClosed            = errors.New("http: read on closed response body")
)
