package retry

import (
	"bufio"
	"net"
	"net/http"
)

// attemptWriter keeps an attempt's response headers aside until the
// attempt writes something, so that headers set by handlers between retry
// and the proxy during a failed attempt do not pile up on the real response.
type attemptWriter struct {
	w         http.ResponseWriter
	h         http.Header
	committed bool
}

func newAttemptWriter(w http.ResponseWriter) *attemptWriter {
	return &attemptWriter{w: w, h: w.Header().Clone()}
}

func (a *attemptWriter) Header() http.Header {
	if a.committed {
		return a.w.Header()
	}
	return a.h
}

// commit makes the attempt's headers the response's headers.
func (a *attemptWriter) commit() {
	if a.committed {
		return
	}
	a.committed = true
	dst := a.w.Header()
	clear(dst)
	for k, v := range a.h {
		dst[k] = v
	}
}

func (a *attemptWriter) WriteHeader(code int) {
	a.commit()
	a.w.WriteHeader(code)
}

func (a *attemptWriter) Write(b []byte) (int, error) {
	a.commit()
	return a.w.Write(b)
}

func (a *attemptWriter) Flush() {
	a.commit()
	http.NewResponseController(a.w).Flush()
}

// Hijack is used for protocol upgrades, which means the upstream answered.
func (a *attemptWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	a.commit()
	return http.NewResponseController(a.w).Hijack()
}

// Unwrap lets http.ResponseController reach the connection's other
// features (deadlines, full duplex).
func (a *attemptWriter) Unwrap() http.ResponseWriter { return a.w }
