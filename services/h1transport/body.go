package h1transport

import (
	"errors"
	"io"
	"net/http"
)

// response is allocated once per exchange: the *http.Response handed out
// and the handle of its body share one allocation.
type response struct {
	res  http.Response
	body bodyHandle
}

// Body states, kept with the exchange generation in conn.state so that a
// handle of an earlier exchange on the same connection (a late or repeated
// Close) can never touch the current one.
const (
	stOpen     = iota // no Read in progress
	stReading         // a Read is in progress
	stAborting        // Close ran during a Read and closed the connection
	stDone            // ended: read to the end, failed or closed
)

// bodyHandle is the response body of one exchange. The reading state lives
// in the connection, which has one exchange at a time.
type bodyHandle struct {
	pc  *conn
	gen uint64
	err error // how the body ended; written by the reading goroutine only
}

// maxDrain is how much unread body Close discards, when it is already
// buffered, to keep the connection instead of closing it.
const maxDrain = 4 << 10

func (b *bodyHandle) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	pc := b.pc
	open, reading, done := b.gen<<2|stOpen, b.gen<<2|stReading, b.gen<<2|stDone
	if !pc.state.CompareAndSwap(open, reading) {
		return 0, errBodyClosed
	}
	n, err := pc.readBody(p)
	if err == nil {
		if pc.state.CompareAndSwap(reading, open) {
			return n, nil
		}
		err = errBodyClosed // Close ran meanwhile and closed the connection
	}
	clean := err == io.EOF && pc.state.CompareAndSwap(reading, done)
	if !clean {
		pc.state.Store(done)
		if err != io.EOF {
			err = pc.mapErr(err)
		}
	}
	b.err = err
	// After finish the connection may serve another exchange at once: pc
	// is not touched again.
	pc.finish(clean)
	return n, err
}

func (b *bodyHandle) Close() error {
	pc := b.pc
	for {
		s := pc.state.Load()
		if s>>2 != b.gen {
			return nil
		}
		switch s & 3 {
		case stOpen:
			if pc.state.CompareAndSwap(s, b.gen<<2|stDone) {
				pc.finish(pc.drain())
				return nil
			}
		case stReading:
			// Abort the Read in progress; it finishes the exchange.
			if pc.state.CompareAndSwap(s, b.gen<<2|stAborting) {
				pc.nc.Close()
				return nil
			}
		default:
			return nil
		}
	}
}

// drain discards an unread rest of the body if it is small and already
// buffered, and reports whether the connection can be reused.
func (pc *conn) drain() bool {
	if pc.mode != modeLength || pc.remaining > maxDrain || int64(pc.br.Buffered()) < pc.remaining {
		return false
	}
	pc.br.Discard(int(pc.remaining))
	pc.remaining = 0
	return true
}

var errMalformedChunk = errors.New("h1transport: malformed chunked encoding in upstream response")

// readBody reads the body of the current exchange per its framing. Reads
// return what the connection has, never waiting for more than one read:
// event streams stay prompt.
func (pc *conn) readBody(p []byte) (int, error) {
	switch pc.mode {
	case modeLength:
		if pc.remaining == 0 {
			return 0, io.EOF
		}
		if int64(len(p)) > pc.remaining {
			p = p[:pc.remaining]
		}
		n, err := pc.br.Read(p)
		pc.remaining -= int64(n)
		if pc.remaining == 0 {
			return n, io.EOF
		}
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return n, err
	case modeChunked:
		return pc.readChunked(p)
	default:
		return pc.br.Read(p)
	}
}

// lastChunk is what ends a chunked body without trailers, after a chunk's
// data.
const lastChunk = "\r\n0\r\n\r\n"

func (pc *conn) readChunked(p []byte) (int, error) {
	for pc.remaining == 0 {
		if pc.chunkDone {
			return 0, io.EOF
		}
		if err := pc.nextChunk(); err != nil {
			return 0, err
		}
	}
	if int64(len(p)) > pc.remaining {
		p = p[:pc.remaining]
	}
	n, err := pc.br.Read(p)
	pc.remaining -= int64(n)
	if err == io.EOF {
		return n, io.ErrUnexpectedEOF
	}
	if err != nil {
		return n, err
	}
	// When the end of the body is already buffered, report EOF with the
	// last data so the connection is released without another Read.
	if pc.remaining == 0 && pc.br.Buffered() >= len(lastChunk) {
		if peek, _ := pc.br.Peek(len(lastChunk)); string(peek) == lastChunk {
			pc.br.Discard(len(lastChunk))
			pc.chunkDone, pc.needCRLF = true, false
			return n, io.EOF
		}
	}
	return n, nil
}

// nextChunk reads the CR LF ending the previous chunk and the next chunk
// size line; at the last chunk it reads the trailers into res.Trailer.
func (pc *conn) nextChunk() error {
	if pc.needCRLF {
		b, err := pc.br.Peek(2)
		if err != nil {
			return unexpected(err)
		}
		if b[0] != '\r' || b[1] != '\n' {
			return errMalformedChunk
		}
		pc.br.Discard(2)
		pc.needCRLF = false
	}
	budget := 4 << 10
	pc.hdr = pc.hdr[:0]
	line, err := pc.readLine(&budget)
	if err != nil {
		if err == errHeaderTooLarge {
			return errMalformedChunk
		}
		return unexpected(err)
	}
	size, err := parseChunkSize(line)
	if err != nil {
		return err
	}
	if size > 0 {
		pc.remaining, pc.needCRLF = size, true
		return nil
	}
	pc.chunkDone = true
	return pc.readTrailers()
}

func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// parseChunkSize parses "HEX[OWS][;extensions]" (RFC 9112 §7.1). Anything
// else after the digits is refused: a lenient parser would frame the body
// differently from a strict one in front of or behind it.
func parseChunkSize(line []byte) (int64, error) {
	for i, c := range line {
		if c == ';' || c == ' ' || c == '\t' {
			rest := line[i:]
			for len(rest) > 0 && (rest[0] == ' ' || rest[0] == '\t') {
				rest = rest[1:]
			}
			if len(rest) > 0 && rest[0] != ';' {
				return 0, errMalformedChunk
			}
			line = line[:i]
			break
		}
	}
	if len(line) == 0 || len(line) > 15 {
		return 0, errMalformedChunk
	}
	var n int64
	for _, c := range line {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, errMalformedChunk
		}
		n = n<<4 | int64(c)
	}
	return n, nil
}

// readTrailers reads the trailer fields after the last chunk and merges
// them into res.Trailer. Framing fields are dropped.
func (pc *conn) readTrailers() error {
	budget := maxHeaderBytes
	pc.hdr = pc.hdr[:0]
	lines, err := pc.readFields(&budget)
	if err != nil {
		return unexpected(err)
	}
	if lines == 0 {
		return nil
	}
	tr := make(http.Header, lines)
	if err := parseFields(string(pc.hdr), lines, tr); err != nil {
		return err
	}
	delete(tr, "Content-Length")
	delete(tr, "Transfer-Encoding")
	delete(tr, "Trailer")
	res := pc.res
	if res.Trailer == nil {
		res.Trailer = tr
		return nil
	}
	for k, vv := range tr {
		res.Trailer[k] = vv
	}
	return nil
}

// upgradedBody is the connection after a 101 Switching Protocols response:
// bytes both ways until it is closed. The connection is never pooled again.
type upgradedBody struct{ pc *conn }

func (u *upgradedBody) Read(p []byte) (int, error)  { return u.pc.br.Read(p) }
func (u *upgradedBody) Write(p []byte) (int, error) { return u.pc.nc.Write(p) }

// Close closes the connection but leaves the buffers to the garbage
// collector: another goroutine may still be in Read.
func (u *upgradedBody) Close() error {
	if !u.pc.closed.Swap(true) {
		u.pc.unwatch()
	}
	return u.pc.nc.Close()
}

func (u *upgradedBody) CloseWrite() error {
	if cw, ok := u.pc.nc.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return u.Close()
}
