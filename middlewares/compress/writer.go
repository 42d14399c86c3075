package compress

import (
	"bufio"
	"errors"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
)

type state uint8

const (
	undecided   state = iota // buffering until minSize bytes or the end
	passthrough              // sending as is
	compressing              // headers sent with Content-Encoding
)

// maxPooledBuf keeps one huge minResponseBodyBytes from pinning memory.
const maxPooledBuf = 64 << 10

// responseWriter holds the start of the body back until it knows whether
// the response is worth compressing, then either encodes everything or
// passes everything through.
type responseWriter struct {
	w     http.ResponseWriter
	c     *compress
	enc   string
	code  int
	state state
	buf   []byte
	e     encoder
}

var writerPool = sync.Pool{New: func() any { return new(responseWriter) }}

func newResponseWriter(w http.ResponseWriter, c *compress, enc string) *responseWriter {
	rw := writerPool.Get().(*responseWriter)
	*rw = responseWriter{w: w, c: c, enc: enc, buf: rw.buf[:0]}
	return rw
}

// release returns the writer and its encoder to their pools; it runs even
// when the handler panics.
func (rw *responseWriter) release() {
	if rw.e != nil {
		putEncoder(rw.enc, rw.e)
	}
	buf := rw.buf
	if cap(buf) > maxPooledBuf {
		buf = nil
	}
	*rw = responseWriter{buf: buf[:0]}
	writerPool.Put(rw)
}

func (rw *responseWriter) Header() http.Header { return rw.w.Header() }

func (rw *responseWriter) WriteHeader(code int) {
	if rw.state != undecided {
		if rw.state == passthrough {
			rw.w.WriteHeader(code) // net/http reports the superfluous call
		}
		return
	}
	if code < 200 && code != http.StatusSwitchingProtocols {
		rw.w.WriteHeader(code) // informational (103 Early Hints)
		return
	}
	if rw.code != 0 {
		return
	}
	rw.code = code
	if !rw.eligible() {
		rw.startPassthrough()
	}
}

// eligible decides from the status and headers alone whether the body may
// be compressed.
func (rw *responseWriter) eligible() bool {
	switch rw.code {
	case http.StatusSwitchingProtocols, http.StatusNoContent, http.StatusNotModified, http.StatusPartialContent:
		return false
	}
	h := rw.w.Header()
	if h.Get("Content-Encoding") != "" || h.Get("Content-Range") != "" {
		return false
	}
	if rw.c.isExcluded(h.Get("Content-Type")) {
		return false
	}
	if cl := h.Get("Content-Length"); cl != "" {
		if n, err := strconv.ParseInt(cl, 10, 64); err == nil && n < int64(rw.c.minSize) {
			return false
		}
	}
	return true
}

func (rw *responseWriter) startPassthrough() error {
	rw.state = passthrough
	addVary(rw.w.Header())
	rw.w.WriteHeader(rw.code)
	if len(rw.buf) == 0 {
		return nil
	}
	_, err := rw.w.Write(rw.buf)
	rw.buf = rw.buf[:0]
	return err
}

func (rw *responseWriter) Write(p []byte) (int, error) {
	switch rw.state {
	case passthrough:
		return rw.w.Write(p)
	case compressing:
		return rw.e.Write(p)
	}
	if rw.code == 0 {
		rw.WriteHeader(http.StatusOK)
		if rw.state == passthrough {
			return rw.w.Write(p)
		}
	}
	if len(rw.buf)+len(p) < rw.c.minSize {
		rw.buf = append(rw.buf, p...)
		return len(p), nil
	}
	if err := rw.start(p); err != nil {
		return 0, err
	}
	return len(p), nil
}

// start leaves the undecided state once enough of the body is known: the
// sniffed content type may still rule compression out.
func (rw *responseWriter) start(p []byte) error {
	h := rw.w.Header()
	if h.Get("Content-Type") == "" && len(rw.buf)+len(p) > 0 {
		var sniff [512]byte
		n := copy(sniff[:], rw.buf)
		n += copy(sniff[n:], p)
		ct := http.DetectContentType(sniff[:n])
		if rw.c.isExcluded(ct) {
			if err := rw.startPassthrough(); err != nil {
				return err
			}
			_, err := rw.w.Write(p)
			return err
		}
		// net/http would sniff the encoded bytes. A key with no value
		// means "send none" (the proxy sets it so for upstream responses
		// without one, as Traefik does): the sniffed type only decides
		// compression then.
		if _, none := h["Content-Type"]; !none {
			h.Set("Content-Type", ct)
		}
	}
	h.Del("Content-Length")
	h.Del("Accept-Ranges")
	h.Set("Content-Encoding", rw.enc)
	if et := h.Get("ETag"); strings.HasPrefix(et, `"`) {
		h.Set("ETag", "W/"+et) // the encoded bytes differ from the original
	}
	addVary(h)
	rw.w.WriteHeader(rw.code)
	rw.state = compressing
	rw.e = getEncoder(rw.enc, rw.w)
	if len(rw.buf) > 0 {
		if _, err := rw.e.Write(rw.buf); err != nil {
			return err
		}
		rw.buf = rw.buf[:0]
	}
	if len(p) > 0 {
		_, err := rw.e.Write(p)
		return err
	}
	return nil
}

// Flush means the handler is streaming: decide now, so that what was
// written so far reaches the client.
func (rw *responseWriter) Flush() {
	if rw.state == undecided {
		if rw.code == 0 {
			rw.WriteHeader(http.StatusOK)
		}
		if rw.state == undecided && rw.start(nil) != nil {
			return
		}
	}
	if rw.state == compressing {
		if rw.e.Flush() != nil {
			return
		}
	}
	http.NewResponseController(rw.w).Flush()
}

func (rw *responseWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if rw.state != undecided || rw.code != 0 || len(rw.buf) > 0 {
		return nil, nil, errors.New("compress: cannot hijack after the response started")
	}
	rw.state = passthrough
	return http.NewResponseController(rw.w).Hijack()
}

func (rw *responseWriter) Unwrap() http.ResponseWriter { return rw.w }

// finish completes the response after the handler returned.
func (rw *responseWriter) finish() {
	switch rw.state {
	case undecided:
		if rw.code == 0 && len(rw.buf) == 0 {
			addVary(rw.w.Header()) // nothing written: net/http sends 200
			return
		}
		if rw.code == 0 {
			rw.code = http.StatusOK
		}
		rw.startPassthrough()
	case compressing:
		rw.e.Close()
	}
}
