// Package packet reads and writes MQTT 3.1, 3.1.1 and 5.0 control packets:
// the fixed header of every packet, CONNECT and CONNACK in full, and just
// enough of PUBLISH and SUBSCRIBE for a gateway to apply topic rules. Other
// packets are framed and passed through as bytes.
package packet

import (
	"errors"
	"fmt"
)

// Control packet types.
const (
	CONNECT     = 1
	CONNACK     = 2
	PUBLISH     = 3
	PUBACK      = 4
	PUBREC      = 5
	PUBREL      = 6
	PUBCOMP     = 7
	SUBSCRIBE   = 8
	SUBACK      = 9
	UNSUBSCRIBE = 10
	UNSUBACK    = 11
	PINGREQ     = 12
	PINGRESP    = 13
	DISCONNECT  = 14
	AUTH        = 15
)

// Protocol levels.
const (
	V31  = 3 // MQIsdp
	V311 = 4
	V5   = 5
)

// MaxRemaining is the largest remaining length the encoding allows.
const MaxRemaining = 268_435_455

var (
	// ErrIncomplete: the bytes end before the header (or packet) does.
	ErrIncomplete = errors.New("mqtt: incomplete packet")
	// ErrMalformed: the bytes are not a valid packet.
	ErrMalformed = errors.New("mqtt: malformed packet")
)

// Header is a fixed header.
type Header struct {
	Type      byte
	Flags     byte // low nibble of the first byte
	Remaining int  // length of variable header + payload
}

// ParseHeader reads the fixed header at the start of b and returns it with
// its length. It returns ErrIncomplete when b ends inside the header.
func ParseHeader(b []byte) (Header, int, error) {
	if len(b) < 2 {
		return Header{}, 0, ErrIncomplete
	}
	h := Header{Type: b[0] >> 4, Flags: b[0] & 0x0f}
	if h.Type == 0 {
		return Header{}, 0, fmt.Errorf("%w: packet type 0 is reserved", ErrMalformed)
	}
	mult := 1
	for i := 1; i <= 4; i++ {
		if i >= len(b) {
			return Header{}, 0, ErrIncomplete
		}
		h.Remaining += int(b[i]&0x7f) * mult
		if b[i]&0x80 == 0 {
			if i > 1 && b[i] == 0 {
				return Header{}, 0, fmt.Errorf("%w: remaining length not minimally encoded", ErrMalformed)
			}
			return h, i + 1, nil
		}
		mult *= 128
	}
	return Header{}, 0, fmt.Errorf("%w: remaining length longer than 4 bytes", ErrMalformed)
}

// AppendHeader appends a fixed header.
func AppendHeader(dst []byte, typ, flags byte, remaining int) []byte {
	dst = append(dst, typ<<4|flags&0x0f)
	return AppendVarint(dst, remaining)
}

// AppendVarint appends MQTT's variable byte integer.
func AppendVarint(dst []byte, v int) []byte {
	for {
		b := byte(v % 128)
		v /= 128
		if v > 0 {
			b |= 0x80
		}
		dst = append(dst, b)
		if v == 0 {
			return dst
		}
	}
}

// Varint decodes a variable byte integer at the start of b and returns it
// with its length; the length is 0 when b does not hold a valid one.
func Varint(b []byte) (v, n int) {
	mult := 1
	for i := 0; i < len(b) && i < 4; i++ {
		v += int(b[i]&0x7f) * mult
		if b[i]&0x80 == 0 {
			return v, i + 1
		}
		mult *= 128
	}
	return 0, 0
}

// reader consumes MQTT fields; any short or bad read sets err.
type reader struct {
	b   []byte
	err error
}

func (r *reader) fail(what string) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: %s", ErrMalformed, what)
	}
}

func (r *reader) byte1(what string) byte {
	if r.err != nil || len(r.b) < 1 {
		r.fail(what)
		return 0
	}
	v := r.b[0]
	r.b = r.b[1:]
	return v
}

func (r *reader) uint16(what string) uint16 {
	if r.err != nil || len(r.b) < 2 {
		r.fail(what)
		return 0
	}
	v := uint16(r.b[0])<<8 | uint16(r.b[1])
	r.b = r.b[2:]
	return v
}

// binary reads a 2-byte-length-prefixed field.
func (r *reader) binary(what string) []byte {
	n := int(r.uint16(what))
	if r.err != nil || len(r.b) < n {
		r.fail(what)
		return nil
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v
}

// str reads a UTF-8 string field; MQTT forbids U+0000 in them.
func (r *reader) str(what string) string {
	b := r.binary(what)
	for _, c := range b {
		if c == 0 {
			r.fail(what + " holds U+0000")
			return ""
		}
	}
	return string(b)
}

func (r *reader) varint(what string) int {
	if r.err != nil {
		return 0
	}
	v, n := Varint(r.b)
	if n == 0 {
		r.fail(what + ": bad variable byte integer")
		return 0
	}
	r.b = r.b[n:]
	return v
}

// properties reads an MQTT 5 property block and returns it raw.
func (r *reader) properties(what string) []byte {
	n := r.varint(what)
	if r.err != nil || len(r.b) < n {
		r.fail(what)
		return nil
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v
}

func appendBinary(dst, v []byte) []byte {
	dst = append(dst, byte(len(v)>>8), byte(len(v)))
	return append(dst, v...)
}

func appendString(dst []byte, v string) []byte {
	dst = append(dst, byte(len(v)>>8), byte(len(v)))
	return append(dst, v...)
}
