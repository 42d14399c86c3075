package http1

import (
	"bufio"
	"errors"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/net/http/httpguts"
)

// bufferBeforeChunking: a response without Content-Length whose handler
// finishes within this many bytes gets a Content-Length; a longer one is
// sent chunked (net/http's figure).
const bufferBeforeChunking = 2048

// sniffLen is what http.DetectContentType looks at.
const sniffLen = 512

// response implements http.ResponseWriter, http.Flusher and the
// http.ResponseController methods. One per connection, reused.
//
// As with net/http, the header is fixed when WriteHeader is called (or
// the first Write): its fields are serialized then into fields; only the
// framing (Content-Length or chunked), Date, Connection and a sniffed
// Content-Type are decided when the head is written, which for a body of
// unknown length waits until the body outgrows the buffer or the handler
// returns.
type response struct {
	c      *serverConn
	req    *http.Request
	header http.Header

	status      int
	wroteHeader bool // WriteHeader was called (or implied)
	committed   bool // the head is in the connection's writer
	isHead      bool
	bodyOK      bool  // the status and method allow a body
	length      int64 // declared Content-Length, -1 when none
	written     int64 // body bytes the handler wrote
	chunked     bool
	closeAfter  bool
	sniff       bool // no Content-Type: detect it from the body
	hasDate     bool
	trailers    []string // declared in the Trailer field
	fields      []byte   // the serialized header fields
	buf         []byte   // body held back to compute a Content-Length
	err         error    // first write error
}

func (w *response) reset(req *http.Request) {
	clear(w.header)
	w.req = req
	w.status = 0
	w.wroteHeader, w.committed, w.chunked, w.sniff, w.hasDate = false, false, false, false, false
	w.isHead = req.Method == http.MethodHead
	w.length, w.written = -1, 0
	w.closeAfter = req.Close
	w.trailers = w.trailers[:0]
	w.fields = w.fields[:0]
	w.buf = w.buf[:0]
	w.err = nil
}

func (w *response) Header() http.Header { return w.header }

func (w *response) WriteHeader(code int) {
	if w.wroteHeader {
		return // as net/http: a superfluous call is ignored
	}
	if code < 100 || code > 999 {
		panic("http1: invalid WriteHeader code " + strconv.Itoa(code))
	}
	if code < 200 && code != http.StatusSwitchingProtocols {
		w.writeInterim(code)
		return
	}
	w.wroteHeader = true
	w.status = code
	w.bodyOK = !w.isHead && bodyAllowed(code)
	h := w.header
	if cl := h["Content-Length"]; len(cl) > 0 {
		if n, err := strconv.ParseInt(strings.TrimSpace(cl[0]), 10, 64); err == nil && n >= 0 {
			w.length = n
		}
	}
	if v := h["Connection"]; v != nil && httpguts.HeaderValuesContainsToken(v, "close") {
		w.closeAfter = true
	}
	for _, v := range h["Trailer"] {
		for name := range strings.SplitSeq(v, ",") {
			if name = strings.TrimSpace(name); name != "" {
				w.trailers = append(w.trailers, http.CanonicalHeaderKey(name))
			}
		}
	}
	_, hasType := h["Content-Type"]
	w.sniff = !hasType && bodyAllowed(code) && len(h["Content-Encoding"]) == 0
	_, w.hasDate = h["Date"]
	w.fields = appendFields(w.fields, h)
	if !bodyAllowed(code) || w.length >= 0 && !w.sniff {
		w.commit(false, nil) // the framing is known now
	}
}

// writeInterim sends a 1xx response at once, with the fields set so far.
func (w *response) writeInterim(code int) {
	if w.req.ProtoMinor == 0 {
		return // HTTP/1.0 clients do not expect 1xx
	}
	bw := w.c.bw
	bw.WriteString(statusLine(code))
	bw.Write(appendFields(nil, w.header)) // without framing fields: a 1xx has no body
	bw.WriteString("\r\n")
	if err := bw.Flush(); err != nil && w.err == nil {
		w.err = err
	}
}

func (w *response) Write(p []byte) (int, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if !w.bodyOK {
		if w.isHead {
			// Counted for a Content-Length and kept for a sniffed
			// Content-Type, not sent.
			w.written += int64(len(p))
			if !w.committed && len(w.buf) < sniffLen {
				w.buf = append(w.buf, p[:min(len(p), sniffLen-len(w.buf))]...)
			}
			return len(p), nil
		}
		return 0, http.ErrBodyNotAllowed
	}
	if w.err != nil {
		return 0, w.err
	}
	if w.length >= 0 && w.written+int64(len(p)) > w.length {
		w.closeAfter = true
		return 0, http.ErrContentLength
	}
	w.written += int64(len(p))
	if !w.committed {
		if w.length < 0 && len(w.buf)+len(p) <= bufferBeforeChunking {
			w.buf = append(w.buf, p...)
			return len(p), nil
		}
		w.commit(false, p)
	}
	return w.writeBody(p)
}

// WriteString avoids a copy for io.WriteString callers.
func (w *response) WriteString(s string) (int, error) {
	if !w.committed && w.wroteHeader && w.bodyOK && w.length < 0 && len(w.buf)+len(s) <= bufferBeforeChunking && w.err == nil {
		w.written += int64(len(s))
		w.buf = append(w.buf, s...)
		return len(s), nil
	}
	return w.Write([]byte(s))
}

func (w *response) writeBody(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	bw := w.c.bw
	if w.chunked {
		// Formatted in the writer's free space: FormatInt would allocate.
		bw.Write(strconv.AppendInt(bw.AvailableBuffer(), int64(len(p)), 16))
		bw.WriteString("\r\n")
	}
	n, err := bw.Write(p)
	if w.chunked && err == nil {
		_, err = bw.WriteString("\r\n")
	}
	if err != nil {
		w.err = err
		w.closeAfter = true
	}
	return n, err
}

// commit writes the status line and header. final: the handler returned,
// so a held-back body's length is known. first is the body's first bytes
// when none are held back (for a sniffed Content-Type).
func (w *response) commit(final bool, first []byte) {
	if w.committed {
		return
	}
	w.committed = true
	if w.c.srv.draining.Load() {
		w.closeAfter = true // shutting down: this is the last response
	}
	bw := w.c.bw
	bw.WriteString(statusLine(w.status))
	switch {
	case w.length >= 0:
		if w.bodyOK || w.isHead && bodyAllowed(w.status) || w.status == http.StatusNotModified {
			writeLength(bw, w.length)
		}
	case !w.bodyOK:
		if w.isHead && final && w.written > 0 {
			// What the handler would have sent: a HEAD response tells
			// the length of the GET one.
			writeLength(bw, w.written)
		}
	case final && len(w.trailers) == 0:
		w.length = int64(len(w.buf))
		writeLength(bw, w.length)
	case w.req.ProtoMinor >= 1:
		w.chunked = true
		bw.WriteString("Transfer-Encoding: chunked\r\n")
	default:
		w.closeAfter = true // HTTP/1.0: the body ends when the connection does
	}
	if w.sniff {
		if len(w.buf) > 0 {
			first = w.buf
		}
		if len(first) > 0 {
			writeField(bw, "Content-Type", http.DetectContentType(first))
		}
	}
	if !w.hasDate {
		bw.WriteString("Date: ")
		bw.Write(dateNow())
		bw.WriteString("\r\n")
	}
	switch {
	case w.closeAfter:
		bw.WriteString("Connection: close\r\n")
	case w.req.ProtoMinor == 0:
		bw.WriteString("Connection: keep-alive\r\n")
	}
	bw.Write(w.fields)
	bw.WriteString("\r\n")
	if len(w.buf) > 0 && w.bodyOK {
		w.writeBody(w.buf)
	}
	w.buf = w.buf[:0]
}

// finish completes the response after the handler returned.
func (w *response) finish() {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	w.commit(true, nil)
	bw := w.c.bw
	if w.chunked {
		bw.WriteString("0\r\n")
		w.writeTrailers(bw)
		bw.WriteString("\r\n")
	}
	if w.bodyOK && w.length >= 0 && w.written < w.length {
		w.closeAfter = true // the declared length was not met: framing is lost
	}
}

// writeTrailers writes the declared trailer fields and those set with
// http.TrailerPrefix.
func (w *response) writeTrailers(bw *bufio.Writer) {
	for _, k := range w.trailers {
		if !trailerAllowed(k) {
			continue
		}
		for _, v := range w.header[k] {
			writeField(bw, k, v)
		}
	}
	for k, vv := range w.header {
		if name, ok := strings.CutPrefix(k, http.TrailerPrefix); ok && trailerAllowed(name) {
			for _, v := range vv {
				writeField(bw, http.CanonicalHeaderKey(name), v)
			}
		}
	}
}

// Flush sends the head and what the body holds so far.
func (w *response) Flush() { _ = w.FlushError() }

// FlushError is Flush reporting the write error (http.ResponseController).
func (w *response) FlushError() error {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	w.commit(false, nil)
	if w.err != nil {
		return w.err
	}
	if err := w.c.bw.Flush(); err != nil {
		w.err = err
		w.closeAfter = true
		return err
	}
	return nil
}

// SetReadDeadline and SetWriteDeadline serve http.ResponseController.
func (w *response) SetReadDeadline(t time.Time) error  { return w.c.src.setDeadline(t) }
func (w *response) SetWriteDeadline(t time.Time) error { return w.c.rwc.SetWriteDeadline(t) }

// EnableFullDuplex: reading the body while writing the response needs
// nothing here (no reader runs ahead of the handler).
func (w *response) EnableFullDuplex() error { return nil }

// errNoHijack: upgrade requests go to net/http's server (see the package
// comment), which supports hijacking.
var errNoHijack = errors.New("http1: connection cannot be hijacked on this path")

// Hijack is not supported: requests that may switch protocols are served
// by net/http.
func (w *response) Hijack() (net.Conn, *bufio.ReadWriter, error) { return nil, nil, errNoHijack }

// appendFields serializes h without the fields the framing decides
// (Content-Length, Transfer-Encoding, Connection) and trailers, skipping
// invalid names and turning CR and LF in values into spaces (a response
// splitting guard, as net/http).
func appendFields(dst []byte, h http.Header) []byte {
	for k, vv := range h {
		switch k {
		case "Content-Length", "Transfer-Encoding", "Connection":
			continue
		}
		if strings.HasPrefix(k, http.TrailerPrefix) || !httpguts.ValidHeaderFieldName(k) {
			continue
		}
		for _, v := range vv {
			dst = append(dst, k...)
			dst = append(dst, ':', ' ')
			dst = appendValue(dst, v)
			dst = append(dst, '\r', '\n')
		}
	}
	return dst
}

func appendValue(dst []byte, v string) []byte {
	v = strings.TrimSpace(v)
	if strings.IndexByte(v, '\r') < 0 && strings.IndexByte(v, '\n') < 0 {
		return append(dst, v...)
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == '\r' || c == '\n' {
			c = ' '
		}
		dst = append(dst, c)
	}
	return dst
}

// writeLength writes a Content-Length field, the number formatted in the
// writer's free space: FormatInt would allocate for every response.
func writeLength(bw *bufio.Writer, n int64) {
	bw.WriteString("Content-Length: ")
	bw.Write(strconv.AppendInt(bw.AvailableBuffer(), n, 10))
	bw.WriteString("\r\n")
}

func writeField(bw *bufio.Writer, k, v string) {
	bw.WriteString(k)
	bw.WriteString(": ")
	v = strings.TrimSpace(v)
	for {
		i := strings.IndexAny(v, "\r\n")
		if i < 0 {
			break
		}
		bw.WriteString(v[:i])
		bw.WriteByte(' ')
		v = v[i+1:]
	}
	bw.WriteString(v)
	bw.WriteString("\r\n")
}

// trailerAllowed: a valid field name that is not about framing.
func trailerAllowed(name string) bool {
	if !httpguts.ValidHeaderFieldName(name) {
		return false
	}
	switch http.CanonicalHeaderKey(name) {
	case "Content-Length", "Transfer-Encoding", "Trailer":
		return false
	}
	return true
}

func bodyAllowed(code int) bool {
	return code >= 200 && code != http.StatusNoContent && code != http.StatusNotModified
}

// statusLines caches "HTTP/1.1 200 OK\r\n" and the like.
var statusLines [1000]atomic.Pointer[string]

func statusLine(code int) string {
	if p := statusLines[code].Load(); p != nil {
		return *p
	}
	text := http.StatusText(code)
	if text == "" {
		text = "status code " + strconv.Itoa(code)
	}
	s := "HTTP/1.1 " + strconv.Itoa(code) + " " + text + "\r\n"
	statusLines[code].Store(&s)
	return s
}

// dateNow returns the Date value, formatted once per second.
func dateNow() []byte {
	now := time.Now()
	sec := now.Unix()
	if d := cachedDate.Load(); d != nil && d.sec == sec {
		return d.text
	}
	d := &date{sec: sec, text: now.UTC().AppendFormat(make([]byte, 0, 29), http.TimeFormat)}
	cachedDate.Store(d)
	return d.text
}

type date struct {
	sec  int64
	text []byte
}

var cachedDate atomic.Pointer[date]
