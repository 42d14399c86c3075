// Package buffering implements the buffering middleware: the whole request
// is read before it is forwarded, and the whole response before it is sent,
// with size limits, spill-over to temporary files and optional retries
// driven by a retry expression.
package buffering

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync"

	"github.com/guan-gateway/guan/config/dynamic"
	"github.com/guan-gateway/guan/middlewares"
)

const (
	defaultMemBytes = 1 << 20
	// maxAttempts bounds retries of an expression that never becomes false.
	maxAttempts = 10
)

type buffering struct {
	next             http.Handler
	maxReq, memReq   int64
	maxResp, memResp int64
	retry            *Expr
	logger           *slog.Logger
}

// New builds the middleware. Zero maxima mean "no limit"; zero memory
// limits mean the 1 MiB default.
func New(env middlewares.Env, cfg dynamic.Buffering, next http.Handler) (http.Handler, error) {
	for name, v := range map[string]int64{
		"maxRequestBodyBytes": cfg.MaxRequestBodyBytes, "memRequestBodyBytes": cfg.MemRequestBodyBytes,
		"maxResponseBodyBytes": cfg.MaxResponseBodyBytes, "memResponseBodyBytes": cfg.MemResponseBodyBytes,
	} {
		if v < 0 {
			return nil, fmt.Errorf("buffering: %s is %d; use 0 (default) or a positive number of bytes", name, v)
		}
	}
	b := &buffering{
		next:    next,
		maxReq:  cfg.MaxRequestBodyBytes,
		memReq:  orDefault(cfg.MemRequestBodyBytes),
		maxResp: cfg.MaxResponseBodyBytes,
		memResp: orDefault(cfg.MemResponseBodyBytes),
		logger:  env.Logger,
	}
	if b.logger == nil {
		b.logger = slog.New(slog.DiscardHandler)
	}
	if cfg.RetryExpression != "" {
		e, err := ParseExpr(cfg.RetryExpression)
		if err != nil {
			return nil, fmt.Errorf("buffering: retryExpression %q: %w", cfg.RetryExpression, err)
		}
		b.retry = e
	}
	return b, nil
}

func orDefault(v int64) int64 {
	if v == 0 {
		return defaultMemBytes
	}
	return v
}

// Response bodies are ours alone until copied out, so their memory part is
// pooled. Request bodies are not: a transport may still read one after the
// handler returned.
var respBufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

const maxPooledBuf = 256 << 10

func (b *buffering) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if b.maxReq > 0 && req.ContentLength > b.maxReq {
		http.Error(w, http.StatusText(http.StatusRequestEntityTooLarge), http.StatusRequestEntityTooLarge)
		return
	}
	body := newSpill(new(bytes.Buffer), b.memReq, b.maxReq)
	defer body.Close()
	if req.Body != nil && req.Body != http.NoBody {
		_, err := body.ReadFrom(req.Body)
		req.Body.Close()
		if errors.Is(err, errTooLarge) {
			http.Error(w, http.StatusText(http.StatusRequestEntityTooLarge), http.StatusRequestEntityTooLarge)
			return
		}
		if err != nil {
			b.logger.Debug("reading request body", "error", err)
			http.Error(w, http.StatusText(http.StatusBadRequest), http.StatusBadRequest)
			return
		}
	}
	getBody := func() (io.ReadCloser, error) { return io.NopCloser(body.reader()), nil }

	for attempt := 1; ; attempt++ {
		var r *http.Request
		if attempt > 1 {
			r = req.Clone(req.Context()) // inner handlers may have edited headers
		} else {
			r = req.WithContext(req.Context()) // shallow copy: the caller's req stays intact
		}
		r.Body, _ = getBody()
		r.GetBody = getBody // lets a retry middleware further in replay it too
		r.ContentLength = body.Len()
		r.TransferEncoding = nil
		if r.ContentLength == 0 {
			r.Body = http.NoBody
		}

		rec := newRecorder(b.memResp, b.maxResp)
		b.serve(rec, r)
		if rec.tooLarge {
			rec.release()
			b.logger.Debug("response body larger than maxResponseBodyBytes", "max", b.maxResp)
			http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
			return
		}
		if b.retry != nil && attempt < maxAttempts && b.retry.Eval(&Outcome{Attempts: attempt, ResponseCode: rec.status()}) {
			b.logger.Debug("retrying buffered request", "attempt", attempt, "status", rec.status())
			rec.release()
			continue
		}
		rec.writeTo(w, req.Method)
		rec.release()
		return
	}
}

// serve runs the next handler; a reverse proxy aborts with
// http.ErrAbortHandler when the recorder refuses an oversized body, which
// here only means "answer 500".
func (b *buffering) serve(rec *recorder, r *http.Request) {
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler && rec.tooLarge {
				return
			}
			panic(v)
		}
	}()
	b.next.ServeHTTP(rec, r)
}

// recorder keeps a whole response.
type recorder struct {
	h        http.Header
	code     int
	body     *spill
	tooLarge bool
}

func newRecorder(mem, max int64) *recorder {
	buf := respBufPool.Get().(*bytes.Buffer)
	buf.Reset()
	return &recorder{h: make(http.Header), body: newSpill(buf, mem, max)}
}

func (r *recorder) Header() http.Header { return r.h }

func (r *recorder) WriteHeader(code int) {
	if r.code != 0 || (code < 200 && code != http.StatusSwitchingProtocols) {
		return // informational responses cannot be relayed once buffered
	}
	r.code = code
}

func (r *recorder) Write(p []byte) (int, error) {
	if r.code == 0 {
		r.code = http.StatusOK
	}
	n, err := r.body.Write(p)
	if errors.Is(err, errTooLarge) {
		r.tooLarge = true
	}
	return n, err
}

// Flush is accepted and ignored: nothing leaves before the response is
// complete.
func (r *recorder) Flush() {}

func (r *recorder) status() int {
	if r.code == 0 {
		return http.StatusOK
	}
	return r.code
}

func (r *recorder) writeTo(w http.ResponseWriter, method string) {
	dst := w.Header()
	for k, v := range r.h {
		dst[k] = v
	}
	// Trailers cannot follow a body of known length.
	dst.Del("Trailer")
	for k := range dst {
		if len(k) > len(http.TrailerPrefix) && k[:len(http.TrailerPrefix)] == http.TrailerPrefix {
			delete(dst, k)
		}
	}
	code := r.status()
	if method != http.MethodHead && bodyAllowed(code) {
		dst.Del("Transfer-Encoding")
		dst.Set("Content-Length", strconv.FormatInt(r.body.Len(), 10))
	}
	w.WriteHeader(code)
	if r.body.Len() > 0 && bodyAllowed(code) {
		io.Copy(w, r.body.reader())
	}
}

func bodyAllowed(code int) bool {
	return code >= 200 && code != http.StatusNoContent && code != http.StatusNotModified
}

func (r *recorder) release() {
	r.body.Close()
	if buf := r.body.mem; buf.Cap() <= maxPooledBuf {
		respBufPool.Put(buf)
	}
	r.body = nil
}
