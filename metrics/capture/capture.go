// Package capture records what a handler wrote — status code and body size —
// and how many request body bytes it read, for the metrics and the access
// log. One capture serves every observer of a request: the first Begin wraps,
// later ones reuse it, so each request pays for one wrapper at most.
package capture

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
)

// Capture is a ResponseWriter that records the response status and size.
// It forwards Flush, Hijack and ReadFrom to the wrapped writer and implements
// Unwrap so http.ResponseController reaches the connection's writer.
type Capture struct {
	rw          http.ResponseWriter
	status      int
	size        int64
	wroteHeader bool
	hijacked    bool
	// body is allocated per request rather than pooled with the Capture: an
	// upstream transport may still read the request body after the handler
	// returned, and must never see the body of a later request.
	body *countingBody
}

var pool = sync.Pool{New: func() any { return new(Capture) }}

// Begin returns the capture of this request. If w already is a Capture, it is
// returned with owner false and r unchanged. Otherwise a pooled Capture wraps
// w, r.Body is wrapped to count bytes read, and owner is true: the caller must
// call Release once the handler chain has returned and it is done reading.
//
// The request body is swapped in place: Begin is meant for the outermost
// handlers of a server, which own the request.
func Begin(w http.ResponseWriter, r *http.Request) (c *Capture, owner bool) {
	if c, ok := w.(*Capture); ok {
		return c, false
	}
	c = pool.Get().(*Capture)
	c.rw = w
	if r.Body != nil && r.Body != http.NoBody {
		c.body = &countingBody{rc: r.Body}
		r.Body = c.body
	}
	return c, true
}

// Release returns c to the pool. c must not be used afterwards.
func (c *Capture) Release() {
	*c = Capture{}
	pool.Put(c)
}

// Status is the final status code sent downstream: 200 when the handler wrote
// a body without WriteHeader, 101 for a hijacked (upgraded) connection with no
// status written, 0 when nothing was written.
func (c *Capture) Status() int {
	switch {
	case c.status != 0:
		return c.status
	case c.hijacked:
		return http.StatusSwitchingProtocols
	}
	return 0
}

// ResponseStatus is the status the client saw. returned says whether the
// handler chain returned normally: net/http answers 200 for a handler that
// returned without writing, while a handler that panicked before writing sent
// nothing, which is reported as 500.
func (c *Capture) ResponseStatus(returned bool) int {
	if s := c.Status(); s != 0 {
		return s
	}
	if returned {
		return http.StatusOK
	}
	return http.StatusInternalServerError
}

// Size is the number of response body bytes written.
func (c *Capture) Size() int64 { return c.size }

// RequestSize is the number of request body bytes the handlers read.
func (c *Capture) RequestSize() int64 {
	if c.body == nil {
		return 0
	}
	return c.body.n.Load()
}

// Hijacked reports whether the connection was taken over by a handler.
func (c *Capture) Hijacked() bool { return c.hijacked }

// Header implements http.ResponseWriter.
func (c *Capture) Header() http.Header { return c.rw.Header() }

// WriteHeader implements http.ResponseWriter. Informational 1xx headers other
// than 101 pass through without fixing the final status.
func (c *Capture) WriteHeader(code int) {
	if c.wroteHeader {
		// Let net/http log the superfluous call against the real writer.
		c.rw.WriteHeader(code)
		return
	}
	if code >= 100 && code < 200 && code != http.StatusSwitchingProtocols {
		c.rw.WriteHeader(code)
		return
	}
	c.wroteHeader = true
	c.status = code
	c.rw.WriteHeader(code)
}

// Write implements http.ResponseWriter.
func (c *Capture) Write(b []byte) (int, error) {
	if !c.wroteHeader {
		c.wroteHeader = true
		c.status = http.StatusOK
	}
	n, err := c.rw.Write(b)
	c.size += int64(n)
	return n, err
}

// ReadFrom lets io.Copy use the connection's sendfile/splice path when the
// wrapped writer has one.
func (c *Capture) ReadFrom(r io.Reader) (int64, error) {
	if !c.wroteHeader {
		c.wroteHeader = true
		c.status = http.StatusOK
	}
	var n int64
	var err error
	if rf, ok := c.rw.(io.ReaderFrom); ok {
		n, err = rf.ReadFrom(r)
	} else {
		n, err = io.Copy(writerOnly{c.rw}, r)
	}
	c.size += n
	return n, err
}

// Flush implements http.Flusher; it is a no-op when the wrapped writer
// cannot flush.
func (c *Capture) Flush() {
	if !c.wroteHeader {
		c.wroteHeader = true
		c.status = http.StatusOK
	}
	_ = http.NewResponseController(c.rw).Flush()
}

// Hijack implements http.Hijacker. It fails with http.ErrNotSupported when the
// wrapped writer cannot be hijacked (HTTP/2, HTTP/3).
func (c *Capture) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := http.NewResponseController(c.rw).Hijack()
	if err != nil {
		if errors.Is(err, http.ErrNotSupported) {
			return nil, nil, fmt.Errorf("capture: hijack: %w", http.ErrNotSupported)
		}
		return nil, nil, err
	}
	c.hijacked = true
	return conn, brw, nil
}

// Unwrap returns the wrapped writer for http.ResponseController.
func (c *Capture) Unwrap() http.ResponseWriter { return c.rw }

// writerOnly hides ReadFrom so io.Copy does not recurse into it.
type writerOnly struct{ io.Writer }

// countingBody counts the request body bytes read through it.
// The count is atomic because a transport may read the body from its own
// goroutine while the handler goroutine reports the size.
type countingBody struct {
	rc io.ReadCloser
	n  atomic.Int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	b.n.Add(int64(n))
	return n, err
}

func (b *countingBody) Close() error { return b.rc.Close() }
