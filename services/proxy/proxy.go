// Package proxy forwards one request to one upstream server and copies the
// response back: HTTP/1.1, HTTP/2 (TLS or h2c), protocol upgrades
// (WebSocket), trailers (gRPC) and streaming with prompt flushing.
//
// It is written against http.RoundTripper directly rather than on
// httputil.ReverseProxy: ReverseProxy clones the request, wraps the body,
// allocates a ProxyRequest and an httptrace hook for every request (about
// ten allocations before the transport is reached). Here a GET costs a
// shallow request copy, its URL, one header copy and the X-Forwarded-For
// value; small responses copy without a flush timer; buffers are pooled.
package proxy

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/guan-gateway/guan/headerpool"
	"github.com/guan-gateway/guan/reqinfo"
	"github.com/guan-gateway/guan/services/attempt"
	"github.com/guan-gateway/guan/services/h1transport"
)

// StatusClientClosedRequest is recorded when the client went away first.
const StatusClientClosedRequest = 499

// DefaultFlushInterval is responseForwarding.flushInterval's default.
const DefaultFlushInterval = 100 * time.Millisecond

// Options configure a proxy to one server.
type Options struct {
	// Target is the server URL (http, https or h2c). With PreservePath its
	// path is prefixed to the request path.
	Target *url.URL
	// Transport sends the request; its URL scheme is already the wire
	// scheme (h2c is sent as http on an h2c transport).
	Transport http.RoundTripper
	// PassHostHeader forwards the client's Host; otherwise the server's.
	PassHostHeader bool
	PreservePath   bool
	// FlushInterval for bodies with a known length; 0 means the default,
	// negative flushes after every write. Event streams and bodies without
	// Content-Length always flush after every write.
	FlushInterval time.Duration
	// OnFailure is told when the server could not be reached or answered
	// nothing (refused, reset, timeout) — input for passive health checks.
	OnFailure func()
	// OnResponse is told how long the server took to send its response
	// headers (time to first byte) — input for the leasttime strategy.
	OnResponse func(ttfb time.Duration)
	Logger     *slog.Logger
}

// Proxy is an http.Handler forwarding to one server.
type Proxy struct {
	rt            http.RoundTripper
	interimRT     interimRoundTripper // rt, when it takes the 1xx hook directly
	scheme, host  string
	targetURL     string
	targetPath    string
	targetRawPath string
	passHost      bool
	preservePath  bool
	flush         time.Duration
	onFailure     func()
	onResponse    func(time.Duration)
	log           *slog.Logger
}

// New returns a proxy to o.Target.
func New(o Options) *Proxy {
	p := &Proxy{
		rt:            o.Transport,
		scheme:        o.Target.Scheme,
		host:          o.Target.Host,
		targetURL:     o.Target.String(),
		targetPath:    o.Target.Path,
		targetRawPath: o.Target.RawPath,
		passHost:      o.PassHostHeader,
		preservePath:  o.PreservePath,
		flush:         o.FlushInterval,
		onFailure:     o.OnFailure,
		onResponse:    o.OnResponse,
		log:           o.Logger,
	}
	p.interimRT, _ = o.Transport.(interimRoundTripper)
	if p.scheme == "h2c" {
		p.scheme = "http"
	}
	if p.flush == 0 {
		p.flush = DefaultFlushInterval
	}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	return p
}

var emptyValue = []string{""}

// ServeHTTP forwards r.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	info, _ := reqinfo.Lookup(ctx)
	start := time.Now()
	if info != nil {
		info.ServiceURL = p.targetURL
		info.ServiceAddr = p.host
	}

	// A shallow copy (r stays untouched for retries), allocated with the
	// hook that passes interim responses on.
	ob := &outbound{req: *r, w: w}
	out := &ob.req
	u := *r.URL
	out.URL = &u
	u.Scheme, u.Host = p.scheme, p.host
	if p.preservePath {
		u.Path, u.RawPath = joinPath(p.targetPath, p.targetRawPath, r.URL)
	}
	out.RequestURI = ""
	out.Close = false
	out.TransferEncoding = nil
	if !p.passHost {
		out.Host = ""
	}

	upType := upgradeType(r.Header)
	out.Header = outboundHeader(r, upType)
	if _, ok := out.Header["User-Agent"]; !ok {
		out.Header["User-Agent"] = emptyValue // don't announce Go's client
	}

	if err := h1transport.ValidateTarget(out); err != nil {
		// The client's request line or Host cannot go upstream (HTTP/2
		// lets more through than HTTP/1.1 can carry): its fault, not the
		// server's.
		p.log.Debug("request cannot be forwarded", "url", p.targetURL, "error", err)
		p.failWith(w, info, http.StatusBadRequest)
		return
	}

	var body *bodyTracker
	if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
		out.Body = nil // lets the transport retry on a stale pooled connection
	} else {
		body = &bodyTracker{rc: r.Body}
		out.Body = body
		defer body.Close()
	}

	var res *http.Response
	var err error
	// The header maps of a request h1transport sends go back to the pool:
	// nothing else holds them once the exchange is done.
	pooled := p.interimRT != nil && p.interimRT.Handles(out)
	switch {
	case pooled:
		res, err = p.interimRT.RoundTripHandled(out, ob)
		headerpool.Put(out.Header)
		out.Header = nil
	case p.interimRT != nil:
		res, err = p.interimRT.RoundTripInterim(out, ob)
	default:
		res, err = p.rt.RoundTrip(out.WithContext(httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
			Got1xxResponse: func(code int, h textproto.MIMEHeader) error { return ob.Interim(code, http.Header(h)) },
		})))
	}
	if err != nil {
		p.fail(w, r, err, body, info, start)
		return
	}
	if p.onResponse != nil {
		p.onResponse(time.Since(start))
	}
	if info != nil {
		info.OriginStatus = res.StatusCode
	}
	if res.StatusCode == http.StatusSwitchingProtocols {
		p.upgrade(w, r, res, upType, info, start)
		return
	}
	n := p.copyResponse(w, r, res)
	if pooled {
		headerpool.Put(res.Header) // copyResponse shared its value slices, not the map
		res.Header = nil
	}
	if info != nil {
		info.OriginSize = n
		info.OriginDuration = time.Since(start)
	}
}

// fail answers a request that got no response.
func (p *Proxy) fail(w http.ResponseWriter, r *http.Request, err error, body *bodyTracker, info *reqinfo.Info, start time.Time) {
	if info != nil {
		info.OriginDuration = time.Since(start)
	}
	code := clientFault(err, body)
	if cerr := r.Context().Err(); code != http.StatusRequestTimeout && errors.Is(cerr, context.Canceled) {
		// The client went away; nobody is left to read the answer, but
		// the status is written so access logs and metrics record 499
		// (as Traefik does) rather than an implicit 200.
		if info != nil {
			info.OriginStatus = StatusClientClosedRequest
		}
		p.log.Debug("client closed the request before the upstream answered", "url", p.targetURL, "error", err)
		w.WriteHeader(StatusClientClosedRequest)
		return
	}
	// A body slower than readTimeout cancels the request context too:
	// 408 says the server gave up, not the client.
	if code != 0 {
		// A malformed or stalled request: answering it is not the
		// server's failure, so passive health and retries are left out.
		p.log.Debug("request failed on the client's side", "url", p.targetURL, "status", code, "error", err)
		p.failWith(w, info, code)
		return
	}
	if p.onFailure != nil {
		p.onFailure()
	}
	if (body == nil || body.n.Load() == 0) && attempt.Catch(r.Context(), err) {
		return // a retry middleware tries again
	}
	code = StatusFor(err)
	if info != nil {
		info.OriginStatus = code
	}
	p.log.Debug("upstream request failed", "url", p.targetURL, "status", code, "error", err)
	WriteError(w, code)
}

// clientFault returns the status for a failure the client caused — a
// request the transport refused (400), a request body that broke off or was
// malformed (400), or came too slowly (408) — and 0 for anything else.
func clientFault(err error, body *bodyTracker) int {
	var bad *h1transport.InvalidRequestError
	if errors.As(err, &bad) {
		return http.StatusBadRequest
	}
	if body == nil {
		return 0
	}
	if berr := body.err.Load(); berr != nil {
		if isTimeout(*berr) {
			return http.StatusRequestTimeout
		}
		return http.StatusBadRequest
	}
	return 0
}

// StatusFor maps a transport error to the status the client gets.
func StatusFor(err error) int {
	if errors.Is(err, context.DeadlineExceeded) || isTimeout(err) {
		return http.StatusGatewayTimeout
	}
	return http.StatusBadGateway
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// WriteError writes a plain status-text error body, never an internal error.
func WriteError(w http.ResponseWriter, code int) {
	h := w.Header()
	h["Content-Type"] = textPlain
	h["X-Content-Type-Options"] = nosniff
	w.WriteHeader(code)
	io.WriteString(w, http.StatusText(code))
}

var (
	textPlain = []string{"text/plain; charset=utf-8"}
	nosniff   = []string{"nosniff"}
)

// copyResponse writes res to w and returns the number of body bytes written.
func (p *Proxy) copyResponse(w http.ResponseWriter, r *http.Request, res *http.Response) int64 {
	defer res.Body.Close()
	removeHopByHop(res.Header)
	h := w.Header()
	for k, vv := range res.Header {
		if prev, ok := h[k]; ok {
			h[k] = append(prev, vv...)
		} else {
			h[k] = vv // res is ours alone; share its slice
		}
	}
	noSniff(h, r)
	announced := len(res.Trailer)
	if announced > 0 {
		keys := make([]string, 0, announced)
		for k := range res.Trailer {
			keys = append(keys, k)
		}
		h["Trailer"] = []string{strings.Join(keys, ", ")}
	}
	w.WriteHeader(res.StatusCode)
	if announced > 0 {
		flush(w) // force chunking so trailers can follow
	}

	n, err := p.copyBody(w, res)
	if err != nil {
		if r.Context().Err() != nil || errors.Is(err, errClientWrite) {
			p.log.Debug("client went away during the response", "url", p.targetURL, "error", err)
			return n
		}
		// The upstream broke mid-body: abort so the client sees a broken
		// response rather than a complete-looking truncated one.
		p.log.Warn("upstream response body broken", "url", p.targetURL, "error", err)
		panic(http.ErrAbortHandler)
	}

	if len(res.Trailer) > 0 {
		if len(res.Trailer) != announced {
			flush(w) // unannounced trailers need the header sent first
		}
		for k, vv := range res.Trailer {
			if _, ok := h[k]; !ok && len(res.Trailer) != announced {
				k = http.TrailerPrefix + k
			}
			h[k] = vv
		}
	}
	return n
}

var errClientWrite = errors.New("write to client failed")

// flush sends buffered response bytes to the client. Writers wrapped by
// middlewares are reached through Unwrap by the ResponseController.
func flush(w http.ResponseWriter) {
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
		return
	}
	http.NewResponseController(w).Flush()
}

func (p *Proxy) copyBody(w http.ResponseWriter, res *http.Response) (int64, error) {
	if res.Body == http.NoBody {
		return 0, nil
	}
	interval := p.flush
	if res.ContentLength < 0 || isEventStream(res.Header) {
		interval = -1
	}
	bufp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bufp)
	buf := *bufp

	var lf *latencyFlusher
	defer func() {
		if lf != nil {
			lf.stop()
		}
	}()
	var total int64
	for {
		nr, rerr := res.Body.Read(buf)
		if nr > 0 {
			var nw int
			var werr error
			if lf != nil {
				nw, werr = lf.write(buf[:nr])
			} else {
				nw, werr = w.Write(buf[:nr])
			}
			total += int64(nw)
			if werr != nil {
				return total, errors.Join(errClientWrite, werr)
			}
			switch {
			case interval < 0:
				flush(w)
			case lf == nil && rerr == nil && total < res.ContentLength:
				// More is coming: bound how long it may sit in buffers.
				// Bodies read in one go never start a timer.
				lf = newLatencyFlusher(w, interval)
			}
		}
		if rerr == io.EOF {
			return total, nil
		}
		if rerr != nil {
			return total, rerr
		}
	}
}

// upgrade switches the connection to the protocol the upstream accepted and
// copies bytes both ways until either side closes.
func (p *Proxy) upgrade(w http.ResponseWriter, r *http.Request, res *http.Response, reqType string, info *reqinfo.Info, start time.Time) {
	resType := upgradeType(res.Header)
	backConn, ok := res.Body.(io.ReadWriteCloser)
	// Tunnel only the protocol the client asked for: a 101 to a request
	// that asked for none would hand the client's connection, and every
	// request it sends next, to the upstream past routing and middlewares.
	if !ok || reqType == "" || !strings.EqualFold(reqType, resType) {
		res.Body.Close()
		p.log.Debug("upstream switched protocols unexpectedly", "url", p.targetURL, "requested", reqType, "got", resType)
		p.failWith(w, info, http.StatusBadGateway)
		return
	}
	defer backConn.Close()
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		p.log.Debug("cannot take over the client connection for an upgrade", "error", err)
		p.failWith(w, info, http.StatusBadGateway)
		return
	}
	defer conn.Close()

	copyHeaderTo(w.Header(), res.Header)
	res.Header = w.Header()
	res.Body = nil
	if err := res.Write(brw); err != nil {
		return
	}
	if err := brw.Flush(); err != nil {
		return
	}
	var fromClient io.Reader = conn
	if brw.Reader.Buffered() > 0 {
		fromClient = brw.Reader
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		io.Copy(conn, backConn)
		closeWrite(conn)
	}()
	io.Copy(backConn, fromClient)
	closeWrite(backConn)
	<-done
	if info != nil {
		info.OriginDuration = time.Since(start)
	}
}

func (p *Proxy) failWith(w http.ResponseWriter, info *reqinfo.Info, code int) {
	if info != nil {
		info.OriginStatus = code
	}
	WriteError(w, code)
}

func closeWrite(c any) {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
		return
	}
	if cl, ok := c.(io.Closer); ok {
		cl.Close()
	}
}

func copyHeaderTo(dst, src http.Header) {
	for k, vv := range src {
		dst[k] = append(dst[k], vv...)
	}
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// bodyTracker passes the request body to the transport, counts what was
// read (a partly sent body cannot be retried) and ignores Close: closing the
// inbound body early could hang on a client still sending (100-continue).
// Reads after the handler returned fail instead of touching a finished
// request.
type bodyTracker struct {
	rc     io.ReadCloser
	n      atomic.Int64
	closed atomic.Bool
	err    atomic.Pointer[error] // why reading the client's body failed
}

var errBodyClosed = errors.New("proxy: request body read after the request finished")

func (b *bodyTracker) Read(p []byte) (int, error) {
	if b.closed.Load() {
		return 0, errBodyClosed
	}
	n, err := b.rc.Read(p)
	b.n.Add(int64(n))
	if err != nil && err != io.EOF && !b.closed.Load() {
		// The client's body failed, not our reading of it. Stored as a copy:
		// taking err's address would move it to the heap on every read.
		failed := err
		b.err.Store(&failed)
	}
	return n, err
}

func (b *bodyTracker) Close() error {
	b.closed.Store(true)
	return nil
}

// latencyFlusher flushes buffered response bytes at most interval after
// they were written, for slow bodies of known length.
type latencyFlusher struct {
	mu       sync.Mutex
	w        http.ResponseWriter
	t        *time.Timer
	interval time.Duration
	pending  bool
	stopped  bool
}

func newLatencyFlusher(w http.ResponseWriter, interval time.Duration) *latencyFlusher {
	lf := &latencyFlusher{w: w, interval: interval, pending: true}
	lf.t = time.AfterFunc(interval, lf.flush)
	return lf
}

func (lf *latencyFlusher) write(b []byte) (int, error) {
	lf.mu.Lock()
	defer lf.mu.Unlock()
	n, err := lf.w.Write(b)
	if !lf.pending {
		lf.pending = true
		lf.t.Reset(lf.interval)
	}
	return n, err
}

func (lf *latencyFlusher) flush() {
	lf.mu.Lock()
	defer lf.mu.Unlock()
	if lf.stopped || !lf.pending {
		return
	}
	lf.pending = false
	flush(lf.w)
}

func (lf *latencyFlusher) stop() {
	lf.mu.Lock()
	lf.stopped = true
	lf.t.Stop()
	lf.mu.Unlock()
}

// outbound is the request sent upstream and the writer that receives the
// upstream's informational responses (103 Early Hints, 102 Processing),
// passed on to the client ahead of the final one, as Traefik does.
type outbound struct {
	req http.Request
	w   http.ResponseWriter
}

// interimRoundTripper is a transport that reports 1xx responses to a hook
// given with the request (h1transport) rather than through httptrace.
type interimRoundTripper interface {
	RoundTripInterim(*http.Request, h1transport.Interim) (*http.Response, error)
	// Handles reports whether the request is sent by the transport's own
	// HTTP/1.1 client, which keeps no reference to the request's header
	// or to the response's once they are read.
	Handles(*http.Request) bool
	RoundTripHandled(*http.Request, h1transport.Interim) (*http.Response, error)
}

// Interim implements h1transport.Interim.
func (f *outbound) Interim(code int, hint http.Header) error {
	if code == http.StatusContinue {
		return nil // net/http sends its own 100 Continue when the body is read
	}
	// The 1xx carries the upstream's fields only; what middlewares set
	// for the final response is put back after it.
	h := f.w.Header()
	saved := h.Clone()
	clear(h)
	for k, vv := range hint {
		h[k] = vv
	}
	f.w.WriteHeader(code)
	clear(h)
	for k, vv := range saved {
		h[k] = vv
	}
	return nil
}
