// Package bodyprobe tells an empty request body from one with bytes when
// the header does not say (HTTP/2 and HTTP/3 end a body with the stream,
// not with a length), by reading one byte and giving it back.
package bodyprobe

import "io"

// Probe reads one byte of body. When there is none (io.EOF), empty is set
// and rest is body, at its end, for the caller to close or replace.
// Otherwise rest yields that byte and then the remainder of body. On a read
// error before any byte, rest is body and err is that error.
func Probe(body io.ReadCloser) (rest io.ReadCloser, empty bool, err error) {
	var first [1]byte
	n, err := body.Read(first[:])
	switch {
	case n == 1:
		return &prefixed{first: first[0], ReadCloser: body}, false, nil
	case err == io.EOF:
		return body, true, nil
	case err == nil:
		// A read that returned nothing and no error: try no further here.
		return body, false, nil
	}
	return body, false, err
}

// prefixed gives back the byte Probe read before the rest.
type prefixed struct {
	first byte
	done  bool
	io.ReadCloser
}

func (b *prefixed) Read(p []byte) (int, error) {
	if !b.done && len(p) > 0 {
		b.done = true
		p[0] = b.first
		return 1, nil
	}
	return b.ReadCloser.Read(p)
}
