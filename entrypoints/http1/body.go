package http1

import (
	"errors"
	"io"
)

// body reads a Content-Length request body from the connection's buffered
// reader. One per connection, reused: a handler may not use a request's
// body after it returned (as with net/http).
type body struct {
	c         *serverConn
	remaining int64
	err       error
	closed    bool
}

var errBodyClosed = errors.New("http1: read on closed request body")

func (b *body) Read(p []byte) (int, error) {
	if b.closed {
		return 0, errBodyClosed
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
	b.closed = true
	return nil
}
