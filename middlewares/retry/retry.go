// Package retry implements the retry middleware: a request whose upstream
// could not be reached — or, with status, whose response has one of the
// listed statuses — is sent again, up to attempts times, with an
// exponential backoff. Without status, a response from the upstream — any
// status — is never retried.
package retry

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/guan-gateway/guan/config/dynamic"
	"github.com/guan-gateway/guan/middlewares"
	"github.com/guan-gateway/guan/middlewares/statusrange"
	"github.com/guan-gateway/guan/reqinfo"
	"github.com/guan-gateway/guan/services/attempt"
	"github.com/guan-gateway/guan/services/proxy"
)

// MaxReplayBody is the largest request body buffered so it can be sent
// again after a failure to reach the upstream; a larger body is forwarded
// once, without retries, unless status retries keep it (maxRequestBodyBytes).
const MaxReplayBody = 1 << 20

type retry struct {
	next       http.Handler
	attempts   int
	initial    time.Duration
	multiplier float64
	logger     *slog.Logger

	timeout       time.Duration
	status        statusrange.Set // nil: responses are never retried
	maxBody       int64           // body kept for status retries; < 0: no limit
	noNetwork     bool            // failures to get a response are not retried
	nonIdempotent bool            // status retries apply to POST, PATCH, LOCK too
}

// New builds the middleware. attempts counts the first try.
func New(env middlewares.Env, cfg dynamic.Retry, next http.Handler) (http.Handler, error) {
	if cfg.Attempts <= 0 {
		return nil, fmt.Errorf("retry: attempts is %d; set the total number of tries (> 0), e.g. 3", cfg.Attempts)
	}
	var initial time.Duration
	if cfg.InitialInterval != nil {
		initial = time.Duration(*cfg.InitialInterval)
	}
	if initial < 0 {
		return nil, fmt.Errorf("retry: initialInterval is %s; use 0 (no wait) or a positive duration such as 100ms", initial)
	}
	var timeout time.Duration
	if cfg.Timeout != nil {
		timeout = time.Duration(*cfg.Timeout)
	}
	if timeout < 0 {
		return nil, fmt.Errorf("retry: timeout is %s; use 0 (no limit) or a positive duration such as 10s", timeout)
	}
	status, err := statusrange.ParseList("retry: status", cfg.Status)
	if err != nil {
		return nil, err
	}
	if cfg.DisableRetryOnNetworkError && len(status) == 0 {
		return nil, errors.New(`retry: disableRetryOnNetworkError leaves nothing to retry; list the statuses to retry on, e.g. status: ["502-504"]`)
	}
	maxBody := int64(dynamic.RetryDefaultMaxRequestBodyBytes)
	if cfg.MaxRequestBodyBytes != nil {
		maxBody = *cfg.MaxRequestBodyBytes
	}
	logger := env.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	r := &retry{
		next: next, attempts: cfg.Attempts, initial: initial, logger: logger,
		timeout: timeout, status: status, maxBody: maxBody,
		noNetwork: cfg.DisableRetryOnNetworkError, nonIdempotent: cfg.RetryNonIdempotentMethod,
	}
	if cfg.Attempts > 1 {
		// As in Traefik, the waits grow so the last one is about twice the
		// first, whatever the number of attempts.
		r.multiplier = math.Pow(2, 1/float64(cfg.Attempts-1))
	}
	return r, nil
}

// idempotent tells whether status retries apply to method without
// retryNonIdempotentMethod (Traefik's list: all but POST, PATCH and LOCK).
func idempotent(method string) bool {
	return method != http.MethodPost && method != http.MethodPatch && method != "LOCK"
}

func (r *retry) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if r.attempts == 1 {
		r.next.ServeHTTP(w, req)
		return
	}
	info, _ := reqinfo.Lookup(req.Context())
	var status statusrange.Set
	if r.status != nil && (r.nonIdempotent || idempotent(req.Method)) {
		status = r.status
	}
	body, netOK, statusOK := replayBody(req, status != nil, r.maxBody)
	canNet := netOK && !r.noNetwork
	if !statusOK {
		status = nil
	}
	ctx := req.Context()
	var deadline time.Time
	if r.timeout > 0 {
		deadline = time.Now().Add(r.timeout)
	}
	var rule *statusRule
	if status != nil {
		rule = &statusRule{status: status}
	}
	for i := 0; ; i++ {
		if info != nil {
			info.RetryAttempts = i
		}
		// Every attempt gets its own copy: inner middlewares rewrite the
		// request in place (stripPrefix, headers), and a second attempt
		// must start from what the client sent, not from the first
		// attempt's rewrite.
		areq := req.Clone(ctx)
		if body != nil && (i > 0 || body.getBody == nil || body.stream) {
			rc, err := body.open()
			if err != nil {
				r.logger.Warn("cannot rewind request body for retry", "error", err)
				http.Error(w, http.StatusText(http.StatusBadGateway), http.StatusBadGateway)
				return
			}
			areq.Body = rc
			areq.ContentLength = body.length
			if body.getBody == nil {
				areq.GetBody = body.open
				areq.TransferEncoding = nil
			}
		}
		// The wait before the next attempt is drawn now: with a timeout, a
		// failure that could only be retried after the deadline is answered
		// as it is.
		delay := r.delay(i)
		var until time.Time
		if !deadline.IsZero() {
			until = deadline.Add(-delay)
		}
		if i == r.attempts-1 || !(canNet || status != nil) || (!until.IsZero() && !time.Now().Before(until)) {
			// Last try: no catcher, the proxy answers errors itself and
			// every response is passed on.
			r.next.ServeHTTP(w, areq)
			return
		}
		// One allocation for the attempt's writer and catcher.
		st := &attemptState{}
		c := &st.c
		if canNet {
			areq = areq.WithContext(attempt.With(ctx, c))
		} else {
			// The proxy answers failures itself (a listed 502 or 504 is
			// then retried as a status), even under an outer retry.
			areq = areq.WithContext(attempt.With(ctx, nil))
		}
		if rule != nil {
			rule.until = until
		}
		aw := &st.aw
		aw.init(w, rule)
		r.next.ServeHTTP(aw, areq)
		switch {
		case aw.discarded:
			r.logger.Debug("upstream answered a status to retry, retrying", "attempt", i+1, "status", aw.code)
		case c.Err != nil && !aw.committed:
			if !until.IsZero() && !time.Now().Before(until) {
				// Too late to try again: answer as the proxy would have.
				aw.commit()
				code := proxy.StatusFor(c.Err)
				if info != nil {
					info.OriginStatus = code
				}
				r.logger.Debug("upstream unreachable, retry timeout reached", "attempt", i+1, "status", code, "error", c.Err)
				proxy.WriteError(w, code)
				return
			}
			r.logger.Debug("upstream unreachable, retrying", "attempt", i+1, "error", c.Err)
		default:
			aw.commit()
			return
		}
		if !sleep(ctx, delay) {
			// The client went away; record it as the proxy does.
			w.WriteHeader(proxy.StatusClientClosedRequest)
			return
		}
	}
}

// attemptState is what one attempt needs, allocated at once.
type attemptState struct {
	aw attemptWriter
	c  attempt.Catcher
}

// delay is the wait before retry number i+1: exponential, with ±50% jitter.
func (r *retry) delay(i int) time.Duration {
	if r.initial <= 0 {
		return 0
	}
	d := float64(r.initial) * math.Pow(r.multiplier, float64(i))
	d *= 0.5 + rand.Float64()
	return time.Duration(d)
}

// sleep waits d and reports false if the request was cancelled meanwhile.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// replay hands out the request body once per attempt.
type replay struct {
	stream  bool                          // one unread stream shared by the attempts
	buf     []byte                        // body read into memory, or
	getBody func() (io.ReadCloser, error) // the request's own rewind
	length  int64
}

func (p *replay) open() (io.ReadCloser, error) {
	if p.getBody != nil {
		return p.getBody()
	}
	return io.NopCloser(bytes.NewReader(p.buf)), nil
}

// replayBody makes the request body readable once per attempt. It returns
// nil when there is no body or the request can rewind it itself
// (GetBody, set e.g. by the buffering middleware). netOK reports whether a
// failure to reach the upstream may be retried with this body, statusOK
// whether a status may (asked for with forStatus; maxBody bounds it, < 0
// means no bound). A body that is kept for neither stays usable for one try.
func replayBody(req *http.Request, forStatus bool, maxBody int64) (p *replay, netOK, statusOK bool) {
	if req.Body == nil || req.Body == http.NoBody {
		return nil, true, forStatus
	}
	fits := func(n int64) bool { return forStatus && n >= 0 && (maxBody < 0 || n <= maxBody) }
	if req.GetBody != nil {
		return &replay{getBody: req.GetBody, length: req.ContentLength}, true, fits(req.ContentLength)
	}
	if req.ContentLength < 0 {
		// A streaming body (chunked upload, gRPC client stream) may only
		// end after the response starts: never wait for it. The proxy hands
		// an error back for another attempt only when it read nothing of
		// the body, so the same stream serves the next attempt; the
		// transport must not close it in between. A response, though,
		// means the stream was read: it is never retried on a status.
		shared := noClose{req.Body}
		return &replay{getBody: func() (io.ReadCloser, error) { return shared, nil }, length: -1, stream: true}, true, false
	}
	limit := int64(MaxReplayBody)
	if forStatus && (maxBody < 0 || maxBody > limit) {
		limit = maxBody
	}
	if limit >= 0 && req.ContentLength > limit {
		return nil, false, false
	}
	capacity := int64(512)
	if req.ContentLength > 0 {
		capacity = min(req.ContentLength+1, 4<<20) // grows past that as read
	}
	buf := bytes.NewBuffer(make([]byte, 0, capacity))
	var src io.Reader = req.Body
	if limit >= 0 {
		src = io.LimitReader(req.Body, limit+1)
	}
	_, err := buf.ReadFrom(src)
	if err != nil || (limit >= 0 && int64(buf.Len()) > limit) {
		// Too large or broken: forward what was read followed by the rest.
		req.Body = readCloser{io.MultiReader(bytes.NewReader(buf.Bytes()), req.Body), req.Body}
		return nil, false, false
	}
	req.Body.Close()
	b := buf.Bytes()
	return &replay{buf: b, length: int64(len(b))}, true, fits(int64(len(b)))
}

type readCloser struct {
	io.Reader
	io.Closer
}

// noClose keeps a shared request stream open when a failed attempt's
// transport closes its body; the server closes it after the request.
type noClose struct{ io.Reader }

func (noClose) Close() error { return nil }
