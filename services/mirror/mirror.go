// Package mirror serves requests from a main service and sends copies to
// mirror services. Copies run in the background after the main response,
// with bounded concurrency, and can never change or delay what the client
// gets.
package mirror

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/guan-gateway/guan/reqinfo"
	"github.com/guan-gateway/guan/services/attempt"
	"github.com/guan-gateway/guan/services/health"
)

// Limits that keep a slow mirror from piling up work.
const (
	DefaultMaxInFlight = 256              // mirror copies in flight per mirroring service
	CopyTimeout        = 30 * time.Second // a copy still running then is abandoned
	// DefaultMaxBodySize is the largest body mirrored when maxBodySize is
	// not set. Traefik's default is no limit, which lets one large upload
	// make the gateway buffer it all in memory; larger bodies go to the
	// main service only.
	DefaultMaxBodySize = 1 << 20
)

// Target is one mirror and its share of requests.
type Target struct {
	Name    string
	Percent int // 0..100
	Handler http.Handler
}

// Options configure a mirroring service.
type Options struct {
	Main    http.Handler
	Mirrors []Target
	// MirrorBody sends the request body to mirrors too (it is buffered).
	MirrorBody bool
	// MaxBodySize: requests with a larger body are not mirrored but
	// streamed to the main service, with at most MaxBodySize+1 bytes of
	// them ever buffered. Negative means no limit: every body is buffered
	// whole. Zero mirrors only requests without a body.
	MaxBodySize int64
	// Propagate makes Healthy follow the main service.
	Propagate   bool
	MaxInFlight int // 0: DefaultMaxInFlight
	Logger      *slog.Logger
	// OnDrop is told the name of the mirror whose copy was dropped (metrics).
	OnDrop func(mirror string)
}

// Mirroring is the handler of a mirroring service.
type Mirroring struct {
	o       Options
	mainHC  health.Reporter
	total   atomic.Uint64
	counts  []atomic.Uint64
	slots   chan struct{}
	dropped atomic.Uint64
}

// New returns a mirroring handler.
func New(o Options) (*Mirroring, error) {
	for _, m := range o.Mirrors {
		if m.Percent < 0 || m.Percent > 100 {
			return nil, fmt.Errorf("mirror %q: percent %d must be between 0 and 100", m.Name, m.Percent)
		}
	}
	if o.MaxInFlight <= 0 {
		o.MaxInFlight = DefaultMaxInFlight
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	m := &Mirroring{o: o, counts: make([]atomic.Uint64, len(o.Mirrors)), slots: make(chan struct{}, o.MaxInFlight)}
	m.mainHC, _ = o.Main.(health.Reporter)
	return m, nil
}

// Healthy implements health.Reporter.
func (m *Mirroring) Healthy() bool {
	return !m.o.Propagate || m.mainHC == nil || m.mainHC.Healthy()
}

// Dropped counts copies skipped because too many were in flight.
func (m *Mirroring) Dropped() uint64 { return m.dropped.Load() }

// pick decides which mirrors get this request: a mirror with percent p gets
// exactly p of every 100 requests (deterministic, no randomness).
func (m *Mirroring) pick(dst []int) []int {
	total := m.total.Add(1)
	for i, t := range m.o.Mirrors {
		c := &m.counts[i]
		for {
			n := c.Load()
			if n*100 >= total*uint64(t.Percent) {
				break
			}
			if c.CompareAndSwap(n, n+1) {
				dst = append(dst, i)
				break
			}
		}
	}
	return dst
}

func (m *Mirroring) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var buf [8]int
	picked := m.pick(buf[:0])
	if len(picked) == 0 {
		m.o.Main.ServeHTTP(w, r)
		return
	}

	var body []byte
	hasBody := r.Body != nil && r.Body != http.NoBody && r.ContentLength != 0
	if m.o.MirrorBody && hasBody {
		if m.o.MaxBodySize >= 0 && r.ContentLength > m.o.MaxBodySize {
			m.tooLarge(r)
			m.o.Main.ServeHTTP(w, r) // the body streams, nothing is read here
			return
		}
		b, complete, err := readUpTo(r.Body, m.o.MaxBodySize)
		if err != nil {
			// The client's body broke; the main service sees the same.
			r2 := r.WithContext(r.Context())
			r2.Body = io.NopCloser(io.MultiReader(bytes.NewReader(b), errReader{err}))
			m.o.Main.ServeHTTP(w, r2)
			return
		}
		r2 := r.WithContext(r.Context())
		if !complete {
			m.tooLarge(r)
			r2.Body = struct {
				io.Reader
				io.Closer
			}{io.MultiReader(bytes.NewReader(b), r.Body), r.Body}
			m.o.Main.ServeHTTP(w, r2) // too large to mirror
			return
		}
		body = b
		r2.Body = io.NopCloser(bytes.NewReader(body))
		r = r2
	}

	// Copies are made before the main request runs so nothing it changes
	// leaks into them, and they carry their own request info and no retry
	// catcher: they must not touch the main request's state.
	copies := make([]*http.Request, len(picked))
	for k, i := range picked {
		copies[k] = m.copyRequest(r, body, hasBody && m.o.MirrorBody, i)
	}
	m.o.Main.ServeHTTP(w, r)
	for k, i := range picked {
		select {
		case m.slots <- struct{}{}:
			go m.send(i, copies[k])
		default:
			m.dropped.Add(1)
			m.o.Logger.Debug("mirror copy dropped: too many in flight", "mirror", m.o.Mirrors[i].Name)
			if m.o.OnDrop != nil {
				m.o.OnDrop(m.o.Mirrors[i].Name)
			}
		}
	}
}

func (m *Mirroring) tooLarge(r *http.Request) {
	m.o.Logger.Debug("no mirroring: request body larger than maxBodySize",
		"maxBodySize", m.o.MaxBodySize, "contentLength", r.ContentLength)
}

func (m *Mirroring) copyRequest(r *http.Request, body []byte, withBody bool, i int) *http.Request {
	ctx := context.WithoutCancel(r.Context())
	ctx = reqinfo.With(ctx, &reqinfo.Info{Service: m.o.Mirrors[i].Name})
	ctx = attempt.With(ctx, nil)
	c := r.Clone(ctx)
	if withBody {
		c.Body = io.NopCloser(bytes.NewReader(body))
		c.ContentLength = int64(len(body))
	} else {
		c.Body = http.NoBody
		c.ContentLength = 0
	}
	c.TransferEncoding = nil
	return c
}

func (m *Mirroring) send(i int, r *http.Request) {
	defer func() { <-m.slots }()
	defer func() {
		if p := recover(); p != nil && p != http.ErrAbortHandler {
			m.o.Logger.Error("mirror copy panicked", "mirror", m.o.Mirrors[i].Name, "panic", p)
		}
	}()
	ctx, cancel := context.WithTimeout(r.Context(), CopyTimeout)
	defer cancel()
	m.o.Mirrors[i].Handler.ServeHTTP(&discard{h: http.Header{}}, r.WithContext(ctx))
}

// readUpTo reads all of r when limit < 0, else at most limit bytes;
// complete is false when the body is longer than limit.
func readUpTo(r io.Reader, limit int64) (b []byte, complete bool, err error) {
	if limit < 0 {
		b, err = io.ReadAll(r)
		return b, err == nil, err
	}
	b, err = io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return b, false, err
	}
	return b, int64(len(b)) <= limit, nil
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// discard is the response writer of a mirror copy.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(b []byte) (int, error) { return len(b), nil }
func (d *discard) WriteHeader(int)             {}
func (d *discard) Flush()                      {}
