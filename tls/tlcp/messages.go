package tlcp

import (
	"golang.org/x/crypto/cryptobyte"
)

// Handshake message types.
const (
	typeHelloRequest       = 0
	typeClientHello        = 1
	typeServerHello        = 2
	typeCertificate        = 11
	typeServerKeyExchange  = 12
	typeCertificateRequest = 13
	typeServerHelloDone    = 14
	typeCertificateVerify  = 15
	typeClientKeyExchange  = 16
	typeFinished           = 20

	maxHandshake = 1 << 17 // a certificate chain fits; more is an attack

	extServerName = 0

	certTypeECDSASign = 64 // "ecdsa_sign", which TLCP uses for SM2 certificates
	curveTypeNamed    = 3
	curveSM2          = 41 // RFC 8998's curveSM2 code point, used by TLCP stacks
)

// handshakeMsg frames a message body with its type and 24-bit length.
func handshakeMsg(typ uint8, body func(b *cryptobyte.Builder)) []byte {
	var b cryptobyte.Builder
	b.AddUint8(typ)
	b.AddUint24LengthPrefixed(body)
	return b.BytesOrPanic()
}

type clientHelloMsg struct {
	version      uint16
	random       []byte
	sessionID    []byte
	cipherSuites []uint16
	compression  []uint8
	serverName   string
}

func (m *clientHelloMsg) marshal() []byte {
	return handshakeMsg(typeClientHello, func(b *cryptobyte.Builder) {
		b.AddUint16(m.version)
		b.AddBytes(m.random)
		b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(m.sessionID) })
		b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
			for _, s := range m.cipherSuites {
				b.AddUint16(s)
			}
		})
		b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(m.compression) })
		if m.serverName != "" {
			b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
				b.AddUint16(extServerName)
				b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
					b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
						b.AddUint8(0) // host_name
						b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes([]byte(m.serverName)) })
					})
				})
			})
		}
	})
}

// unmarshal parses a ClientHello body (without the 4-byte header).
func (m *clientHelloMsg) unmarshal(body []byte) bool {
	s := cryptobyte.String(body)
	var sid, suitesRaw cryptobyte.String
	var comp []byte
	if !s.ReadUint16(&m.version) || !s.ReadBytes(&m.random, 32) ||
		!s.ReadUint8LengthPrefixed(&sid) || len(sid) > 32 ||
		!s.ReadUint16LengthPrefixed(&suitesRaw) || len(suitesRaw) == 0 || len(suitesRaw)%2 != 0 ||
		!readUint8Bytes(&s, &comp) || len(comp) == 0 {
		return false
	}
	m.sessionID = []byte(sid)
	m.compression = comp
	for !suitesRaw.Empty() {
		var id uint16
		suitesRaw.ReadUint16(&id)
		m.cipherSuites = append(m.cipherSuites, id)
	}
	if s.Empty() {
		return true // extensions are optional
	}
	var exts cryptobyte.String
	if !s.ReadUint16LengthPrefixed(&exts) || !s.Empty() {
		return false
	}
	for !exts.Empty() {
		var typ uint16
		var data cryptobyte.String
		if !exts.ReadUint16(&typ) || !exts.ReadUint16LengthPrefixed(&data) {
			return false
		}
		if typ != extServerName {
			continue
		}
		var names cryptobyte.String
		if !data.ReadUint16LengthPrefixed(&names) || !data.Empty() {
			return false
		}
		for !names.Empty() {
			var nameType uint8
			var name cryptobyte.String
			if !names.ReadUint8(&nameType) || !names.ReadUint16LengthPrefixed(&name) {
				return false
			}
			if nameType == 0 && m.serverName == "" {
				m.serverName = string(name)
			}
		}
	}
	return true
}

func readUint8Bytes(s *cryptobyte.String, out *[]byte) bool {
	var v cryptobyte.String
	if !s.ReadUint8LengthPrefixed(&v) {
		return false
	}
	*out = []byte(v)
	return true
}

type serverHelloMsg struct {
	version     uint16
	random      []byte
	sessionID   []byte
	cipherSuite uint16
}

func (m *serverHelloMsg) marshal() []byte {
	return handshakeMsg(typeServerHello, func(b *cryptobyte.Builder) {
		b.AddUint16(m.version)
		b.AddBytes(m.random)
		b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(m.sessionID) })
		b.AddUint16(m.cipherSuite)
		b.AddUint8(0) // null compression
	})
}

func (m *serverHelloMsg) unmarshal(body []byte) bool {
	s := cryptobyte.String(body)
	var sid cryptobyte.String
	var comp uint8
	if !s.ReadUint16(&m.version) || !s.ReadBytes(&m.random, 32) ||
		!s.ReadUint8LengthPrefixed(&sid) || len(sid) > 32 ||
		!s.ReadUint16(&m.cipherSuite) || !s.ReadUint8(&comp) || comp != 0 {
		return false
	}
	m.sessionID = []byte(sid)
	if s.Empty() {
		return true
	}
	// Extensions in a ServerHello are tolerated and ignored: none is negotiated.
	var exts cryptobyte.String
	return s.ReadUint16LengthPrefixed(&exts) && s.Empty()
}

func marshalCertificate(certs [][]byte) []byte {
	return handshakeMsg(typeCertificate, func(b *cryptobyte.Builder) {
		b.AddUint24LengthPrefixed(func(b *cryptobyte.Builder) {
			for _, c := range certs {
				b.AddUint24LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(c) })
			}
		})
	})
}

func unmarshalCertificate(body []byte) ([][]byte, bool) {
	s := cryptobyte.String(body)
	var list cryptobyte.String
	if !s.ReadUint24LengthPrefixed(&list) || !s.Empty() {
		return nil, false
	}
	var certs [][]byte
	for !list.Empty() {
		var c cryptobyte.String
		if !list.ReadUint24LengthPrefixed(&c) || len(c) == 0 {
			return nil, false
		}
		certs = append(certs, []byte(c))
	}
	return certs, true
}

type certificateRequestMsg struct {
	types []uint8
	cas   [][]byte // DER distinguished names
}

func (m *certificateRequestMsg) marshal() []byte {
	return handshakeMsg(typeCertificateRequest, func(b *cryptobyte.Builder) {
		b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(m.types) })
		b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
			for _, ca := range m.cas {
				b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(ca) })
			}
		})
	})
}

func (m *certificateRequestMsg) unmarshal(body []byte) bool {
	s := cryptobyte.String(body)
	var cas cryptobyte.String
	if !readUint8Bytes(&s, &m.types) || len(m.types) == 0 || !s.ReadUint16LengthPrefixed(&cas) || !s.Empty() {
		return false
	}
	for !cas.Empty() {
		var dn cryptobyte.String
		if !cas.ReadUint16LengthPrefixed(&dn) || len(dn) == 0 {
			return false
		}
		m.cas = append(m.cas, []byte(dn))
	}
	return true
}

// signedBody frames a signature as the standard's digitally-signed struct:
// opaque signature<0..2^16-1>.
func signedBody(sig []byte) func(b *cryptobyte.Builder) {
	return func(b *cryptobyte.Builder) {
		b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(sig) })
	}
}

// readSignature takes a length-prefixed signature; some stacks put the bare
// DER signature in CertificateVerify, which is accepted too.
func readSignature(body []byte) ([]byte, bool) {
	s := cryptobyte.String(body)
	var sig cryptobyte.String
	if s.ReadUint16LengthPrefixed(&sig) && s.Empty() && len(sig) > 0 {
		return []byte(sig), true
	}
	if len(body) > 2 && body[0] == 0x30 && int(body[1])+2 == len(body) {
		return body, true
	}
	return nil, false
}

// ecPoint is ECParameters (named curve SM2) followed by an uncompressed point,
// the shape of ServerECDHEParams and of the ECDHE ClientKeyExchange.
func ecPointBody(point []byte) func(b *cryptobyte.Builder) {
	return func(b *cryptobyte.Builder) {
		b.AddUint8(curveTypeNamed)
		b.AddUint16(curveSM2)
		b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(point) })
	}
}

// readECPoint parses ECParameters + point, and also a bare point<1..255> as
// some stacks send in the ClientKeyExchange. rest is what follows.
func readECPoint(body []byte) (point, rest []byte, ok bool) {
	s := cryptobyte.String(body)
	var ctype uint8
	var curve uint16
	var p cryptobyte.String
	if len(body) > 0 && body[0] == curveTypeNamed {
		if !s.ReadUint8(&ctype) || !s.ReadUint16(&curve) || curve != curveSM2 || !s.ReadUint8LengthPrefixed(&p) {
			return nil, nil, false
		}
		return []byte(p), []byte(s), true
	}
	if !s.ReadUint8LengthPrefixed(&p) {
		return nil, nil, false
	}
	return []byte(p), []byte(s), true
}
