// Package headerhook lets a middleware edit the response header at the last
// moment: just before the status line goes out, whatever the handler below
// it does (writes, flushes, hijacks for an upgrade, or writes nothing).
package headerhook

import (
	"bufio"
	"net"
	"net/http"
)

// Writer calls its edit function once, on the first final WriteHeader,
// Write, Flush or Hijack, or on Finish. It keeps http.Flusher and
// http.Hijacker (so streaming and WebSocket upgrades work through it) and
// Unwrap for http.ResponseController.
type Writer struct {
	rw       http.ResponseWriter
	edit     func(http.Header)
	applied  bool
	hijacked bool
}

// New wraps rw; edit receives rw's header map.
func New(rw http.ResponseWriter, edit func(http.Header)) *Writer {
	return &Writer{rw: rw, edit: edit}
}

func (w *Writer) apply() {
	if w.applied {
		return
	}
	w.applied = true
	w.edit(w.rw.Header())
}

// Finish runs the edit if the handler wrote nothing: net/http then sends an
// implicit 200 with this header map, which must carry the edit too. Nothing
// is written, so an outer retry can still try again.
func (w *Writer) Finish() {
	if !w.hijacked {
		w.apply()
	}
}

func (w *Writer) Header() http.Header { return w.rw.Header() }

func (w *Writer) WriteHeader(code int) {
	// Informational responses (103 Early Hints...) go out as they are and
	// may be followed by the final one; 101 is final, as in net/http.
	if code >= 100 && code < 200 && code != http.StatusSwitchingProtocols {
		w.rw.WriteHeader(code)
		return
	}
	w.apply()
	w.rw.WriteHeader(code)
}

func (w *Writer) Write(b []byte) (int, error) {
	w.apply()
	return w.rw.Write(b)
}

// Flush sends the headers (with an implicit 200) and any buffered body.
func (w *Writer) Flush() {
	w.apply()
	if f, ok := w.rw.(http.Flusher); ok {
		f.Flush()
		return
	}
	_ = http.NewResponseController(w.rw).Flush()
}

// Hijack applies the edit first: a reverse proxy answering an upgrade
// writes the 101 response with this header map after hijacking.
func (w *Writer) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	w.apply()
	conn, brw, err := http.NewResponseController(w.rw).Hijack()
	if err == nil {
		w.hijacked = true
	}
	return conn, brw, err
}

// Unwrap lets http.ResponseController reach the underlying writer for
// deadlines and full-duplex.
func (w *Writer) Unwrap() http.ResponseWriter { return w.rw }
