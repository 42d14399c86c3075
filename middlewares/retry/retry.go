// Package retry implements the retry middleware: a request whose upstream
// could not be reached is sent again, up to attempts times, with an
// exponential backoff. A response from the upstream — any status — is never
// retried.
package retry

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/guan-gateway/guan/config/dynamic"
	"github.com/guan-gateway/guan/middlewares"
	"github.com/guan-gateway/guan/reqinfo"
	"github.com/guan-gateway/guan/services/attempt"
)

// MaxReplayBody is the largest request body buffered so it can be sent
// again; a larger body is forwarded once, without retries.
const MaxReplayBody = 1 << 20

type retry struct {
	next       http.Handler
	attempts   int
	initial    time.Duration
	multiplier float64
	logger     *slog.Logger
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
	logger := env.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	r := &retry{next: next, attempts: cfg.Attempts, initial: initial, logger: logger}
	if cfg.Attempts > 1 {
		// As in Traefik, the waits grow so the last one is about twice the
		// first, whatever the number of attempts.
		r.multiplier = math.Pow(2, 1/float64(cfg.Attempts-1))
	}
	return r, nil
}

func (r *retry) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	info, _ := reqinfo.Lookup(req.Context())
	if r.attempts == 1 {
		r.next.ServeHTTP(w, req)
		return
	}
	body, replayable := replayBody(req)
	ctx := req.Context()
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
		if i == r.attempts-1 || !replayable {
			// Last try: no catcher, the proxy answers errors itself.
			r.next.ServeHTTP(w, areq)
			return
		}
		var c attempt.Catcher
		areq = areq.WithContext(attempt.With(ctx, &c))
		aw := newAttemptWriter(w)
		r.next.ServeHTTP(aw, areq)
		if c.Err == nil || aw.committed {
			aw.commit()
			return
		}
		r.logger.Debug("upstream unreachable, retrying", "attempt", i+1, "error", c.Err)
		if !r.wait(ctx, i) {
			return // client gone
		}
	}
}

// wait sleeps before retry number i+1 with ±50% jitter, and reports false
// if the request was cancelled meanwhile.
func (r *retry) wait(ctx context.Context, i int) bool {
	if r.initial <= 0 {
		return ctx.Err() == nil
	}
	d := float64(r.initial) * math.Pow(r.multiplier, float64(i))
	d *= 0.5 + rand.Float64()
	t := time.NewTimer(time.Duration(d))
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
// (GetBody, set e.g. by the buffering middleware), and replayable=false when
// the body is too large to keep — req.Body then stays usable for one try.
func replayBody(req *http.Request) (p *replay, replayable bool) {
	if req.Body == nil || req.Body == http.NoBody {
		return nil, true
	}
	if req.GetBody != nil {
		return &replay{getBody: req.GetBody, length: req.ContentLength}, true
	}
	if req.ContentLength < 0 {
		// A streaming body (chunked upload, gRPC client stream) may only
		// end after the response starts: never wait for it. The proxy hands
		// an error back for another attempt only when it read nothing of
		// the body, so the same stream serves the next attempt; the
		// transport must not close it in between.
		shared := noClose{req.Body}
		return &replay{getBody: func() (io.ReadCloser, error) { return shared, nil }, length: -1, stream: true}, true
	}
	if req.ContentLength > MaxReplayBody {
		return nil, false
	}
	capacity := int64(512)
	if req.ContentLength > 0 {
		capacity = req.ContentLength + 1
	}
	buf := bytes.NewBuffer(make([]byte, 0, capacity))
	_, err := buf.ReadFrom(io.LimitReader(req.Body, MaxReplayBody+1))
	if err != nil || buf.Len() > MaxReplayBody {
		// Too large or broken: forward what was read followed by the rest.
		req.Body = readCloser{io.MultiReader(bytes.NewReader(buf.Bytes()), req.Body), req.Body}
		return nil, false
	}
	req.Body.Close()
	b := buf.Bytes()
	return &replay{buf: b, getBody: nil, length: int64(len(b))}, true
}

type readCloser struct {
	io.Reader
	io.Closer
}

// noClose keeps a shared request stream open when a failed attempt's
// transport closes its body; the server closes it after the request.
type noClose struct{ io.Reader }

func (noClose) Close() error { return nil }
