package headers

import (
	"bufio"
	"net"
	"net/http"
)

// responseWriter applies the middleware's response headers just before the
// status line goes out: on the first final WriteHeader, Write, Flush or
// Hijack. It keeps http.Flusher and http.Hijacker (so streaming and
// WebSocket upgrades work through it) and Unwrap for http.ResponseController.
type responseWriter struct {
	rw       http.ResponseWriter
	h        *headers
	req      *http.Request
	tls      bool
	applied  bool
	hijacked bool
}

func (w *responseWriter) apply() {
	if w.applied {
		return
	}
	w.applied = true
	w.h.modifyResponse(w.rw.Header(), w.req, w.tls)
}

func (w *responseWriter) Header() http.Header { return w.rw.Header() }

func (w *responseWriter) WriteHeader(code int) {
	// Informational responses (103 Early Hints...) go out as they are and
	// may be followed by the final one; 101 is final, as in net/http.
	if code >= 100 && code < 200 && code != http.StatusSwitchingProtocols {
		w.rw.WriteHeader(code)
		return
	}
	w.apply()
	w.rw.WriteHeader(code)
}

func (w *responseWriter) Write(b []byte) (int, error) {
	w.apply()
	return w.rw.Write(b)
}

// Flush sends the headers (with an implicit 200) and any buffered body.
func (w *responseWriter) Flush() {
	w.apply()
	if f, ok := w.rw.(http.Flusher); ok {
		f.Flush()
		return
	}
	_ = http.NewResponseController(w.rw).Flush()
}

// Hijack applies the headers first: a reverse proxy answering an upgrade
// writes the 101 response with this header map after hijacking.
func (w *responseWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	w.apply()
	conn, brw, err := http.NewResponseController(w.rw).Hijack()
	if err == nil {
		w.hijacked = true
	}
	return conn, brw, err
}

// Unwrap lets http.ResponseController reach the underlying writer for
// deadlines and full-duplex.
func (w *responseWriter) Unwrap() http.ResponseWriter { return w.rw }
