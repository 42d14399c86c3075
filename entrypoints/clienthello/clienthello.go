// Package clienthello reads the server name (SNI) and ALPN protocols from
// the first bytes of a TLS connection, without terminating TLS, so a
// connection can be routed (or passed through) before the handshake.
package clienthello

import "errors"

const (
	recordTypeHandshake = 0x16
	recordHeaderLen     = 5
	maxRecordLen        = 1<<14 + 2048 // plaintext limit plus slack some stacks use
	typeClientHello     = 1

	// MaxHelloLen bounds the ClientHello handshake message; real ones are
	// well under 4 KiB even with post-quantum key shares.
	MaxHelloLen = 1 << 16

	extServerName = 0
	extALPN       = 16
)

var (
	// ErrIncomplete means the data ends before the ClientHello does: read
	// more bytes and call Parse again with everything read so far.
	ErrIncomplete = errors.New("clienthello: incomplete, need more bytes")
	// ErrNotTLS means the data does not start with a TLS handshake record.
	ErrNotTLS = errors.New("clienthello: not a TLS handshake")
	// ErrMalformed means the bytes are TLS but not a valid ClientHello.
	ErrMalformed = errors.New("clienthello: malformed ClientHello")
	// ErrTooLarge means the ClientHello exceeds MaxHelloLen.
	ErrTooLarge = errors.New("clienthello: ClientHello too large")
)

// Hello is what routing needs from a ClientHello.
type Hello struct {
	ServerName string   // SNI host_name, as sent; "" when absent
	ALPN       []string // offered protocols in client order; nil when absent
	// TLCP is set when the client asks for TLCP 1.1 (GB/T 38636), whose
	// records and ClientHello carry version 0x0101 instead of 3.x.
	TLCP bool
}

// IsTLS reports whether a connection whose first byte is b starts with a
// TLS handshake record.
func IsTLS(b byte) bool { return b == recordTypeHandshake }

// Parse extracts SNI and ALPN from data, the bytes received so far. The
// ClientHello may span several TLS records and data may end anywhere; when
// it ends too early Parse returns ErrIncomplete.
func Parse(data []byte) (Hello, error) {
	msg, err := handshakeMessage(data)
	if err != nil {
		return Hello{}, err
	}
	return parseHello(msg)
}

// handshakeMessage returns the ClientHello handshake message (type, length
// and body) from the records in data. It only copies when the message is
// fragmented over several records.
func handshakeMessage(data []byte) ([]byte, error) {
	var joined []byte
	var msgLen = -1
	for off := 0; ; {
		if len(data)-off < recordHeaderLen {
			if len(data) > off && data[off] != recordTypeHandshake {
				return nil, notTLSorMalformed(off)
			}
			return nil, ErrIncomplete
		}
		h := data[off : off+recordHeaderLen]
		if h[0] != recordTypeHandshake || (h[1] != 3 && h[1] != 1) {
			return nil, notTLSorMalformed(off)
		}
		n := int(h[3])<<8 | int(h[4])
		if n == 0 || n > maxRecordLen {
			return nil, ErrMalformed
		}
		payload := data[off+recordHeaderLen:]
		if len(payload) < n {
			// Use a partial record only when it already completes the message.
			if joined == nil && len(payload) >= 4 {
				if l := 4 + (int(payload[1])<<16 | int(payload[2])<<8 | int(payload[3])); l <= len(payload) {
					return checkHeader(payload[:l])
				}
			}
			return nil, ErrIncomplete
		}
		payload = payload[:n]
		off += recordHeaderLen + n
		if joined == nil && msgLen < 0 && len(payload) >= 4 {
			l := 4 + (int(payload[1])<<16 | int(payload[2])<<8 | int(payload[3]))
			if l <= len(payload) {
				return checkHeader(payload[:l])
			}
		}
		joined = append(joined, payload...)
		if msgLen < 0 && len(joined) >= 4 {
			msgLen = 4 + (int(joined[1])<<16 | int(joined[2])<<8 | int(joined[3]))
			if msgLen > MaxHelloLen {
				return nil, ErrTooLarge
			}
		}
		if msgLen >= 0 && len(joined) >= msgLen {
			return checkHeader(joined[:msgLen])
		}
		if len(joined) > MaxHelloLen {
			return nil, ErrTooLarge
		}
	}
}

func notTLSorMalformed(off int) error {
	if off == 0 {
		return ErrNotTLS
	}
	return ErrMalformed // a non-handshake record before the ClientHello ended
}

func checkHeader(msg []byte) ([]byte, error) {
	if msg[0] != typeClientHello {
		return nil, ErrMalformed
	}
	if len(msg) > MaxHelloLen {
		return nil, ErrTooLarge
	}
	return msg[4:], nil
}

// reader consumes big-endian fields; any short read sets bad.
type reader struct {
	b   []byte
	bad bool
}

func (r *reader) bytes(n int) []byte {
	if r.bad || n > len(r.b) {
		r.bad = true
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *reader) u8() int {
	v := r.bytes(1)
	if v == nil {
		return 0
	}
	return int(v[0])
}

func (r *reader) u16() int {
	v := r.bytes(2)
	if v == nil {
		return 0
	}
	return int(v[0])<<8 | int(v[1])
}

// vec8 and vec16 read a length-prefixed vector.
func (r *reader) vec8() []byte  { return r.bytes(r.u8()) }
func (r *reader) vec16() []byte { return r.bytes(r.u16()) }

func parseHello(body []byte) (Hello, error) {
	r := reader{b: body}
	version := r.u16()
	r.bytes(32) // random
	if sid := r.vec8(); len(sid) > 32 {
		return Hello{}, ErrMalformed
	}
	if cs := r.vec16(); len(cs) < 2 || len(cs)%2 != 0 {
		return Hello{}, ErrMalformed
	}
	if comp := r.vec8(); len(comp) < 1 {
		return Hello{}, ErrMalformed
	}
	if r.bad {
		return Hello{}, ErrMalformed
	}
	var h Hello
	switch version >> 8 {
	case 3:
	case 1: // TLCP: 0x0101
		h.TLCP = true
	default:
		return Hello{}, ErrMalformed
	}
	if len(r.b) == 0 {
		return h, nil // no extensions: a bare (old-style) ClientHello
	}
	exts := reader{b: r.vec16()}
	if r.bad || len(r.b) != 0 {
		return Hello{}, ErrMalformed
	}
	seenSNI, seenALPN := false, false
	for len(exts.b) > 0 {
		typ := exts.u16()
		data := exts.vec16()
		if exts.bad {
			return Hello{}, ErrMalformed
		}
		var err error
		switch typ {
		case extServerName:
			if seenSNI {
				return Hello{}, ErrMalformed
			}
			seenSNI = true
			h.ServerName, err = parseSNI(data)
		case extALPN:
			if seenALPN {
				return Hello{}, ErrMalformed
			}
			seenALPN = true
			h.ALPN, err = parseALPN(data)
		}
		if err != nil {
			return Hello{}, err
		}
	}
	return h, nil
}

// parseSNI returns the first host_name entry. Names with bytes a DNS name
// cannot hold are rejected so they never reach logs or routing.
func parseSNI(data []byte) (string, error) {
	r := reader{b: data}
	list := reader{b: r.vec16()}
	if r.bad || len(r.b) != 0 || len(list.b) == 0 {
		return "", ErrMalformed
	}
	for len(list.b) > 0 {
		typ := list.u8()
		name := list.vec16()
		if list.bad {
			return "", ErrMalformed
		}
		if typ != 0 {
			continue
		}
		if len(name) == 0 || len(name) > 255 || name[len(name)-1] == '.' {
			return "", ErrMalformed
		}
		for _, c := range name {
			if c <= ' ' || c >= 0x7f || c == '/' || c == '\\' {
				return "", ErrMalformed
			}
		}
		return string(name), nil
	}
	return "", nil
}

func parseALPN(data []byte) ([]string, error) {
	r := reader{b: data}
	list := reader{b: r.vec16()}
	if r.bad || len(r.b) != 0 || len(list.b) == 0 {
		return nil, ErrMalformed
	}
	// Count first so the slice is allocated once.
	n := 0
	for c := (reader{b: list.b}); len(c.b) > 0; n++ {
		if p := c.vec8(); c.bad || len(p) == 0 {
			return nil, ErrMalformed
		}
	}
	out := make([]string, 0, n)
	for len(list.b) > 0 {
		out = append(out, intern(list.vec8()))
	}
	return out, nil
}

// intern returns well-known protocol names without allocating.
func intern(p []byte) string {
	switch string(p) {
	case "h2":
		return "h2"
	case "http/1.1":
		return "http/1.1"
	case "http/1.0":
		return "http/1.0"
	case "acme-tls/1":
		return "acme-tls/1"
	case "h3":
		return "h3"
	case "mqtt":
		return "mqtt"
	}
	return string(p)
}
