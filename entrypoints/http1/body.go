package http1

import (
	"io"
	"net/http"
	"sync"
)

// body reads a Content-Length request body from the connection's buffered
// reader. Each request with a body has its own: something may read it
// after the handler returned (an upload goroutine the upstream answered
// early), and must then get an error, not the next request's bytes.
type body struct {
	mu        sync.Mutex
	c         *serverConn
	remaining int64
	err       error
	closed    bool // by the handler, or by the server once the handler returned
}

func (b *body) Read(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return 0, http.ErrBodyReadAfterClose
	}
	if b.err != nil {
		return 0, b.err
	}
	if b.remaining <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > b.remaining {
		p = p[:b.remaining]
	}
	n, err := b.c.br.Read(p)
	b.remaining -= int64(n)
	if b.remaining == 0 {
		// The whole body is in: from now on a read on the connection
		// can only see the client leave (or its next request).
		b.c.armWatch()
		return n, io.EOF
	}
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		b.err = err
	}
	return n, err
}

// Close marks the body closed; what is left is discarded (or the
// connection closed) after the response.
func (b *body) Close() error {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	return nil
}

// finish closes the body for good once the handler returned and reports
// how much of it is still unread: a read still in flight (from a goroutine
// the handler left behind) ends first.
func (b *body) finish() (unread int64, failed bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	return b.remaining, b.err != nil
}
