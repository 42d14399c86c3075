package tlcp

import (
	"crypto/cipher"
	"crypto/hmac"
	"crypto/subtle"
	"encoding/binary"
	"hash"
	"io"

	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/sm4"
)

const (
	recordHeaderLen = 5
	maxPlaintext    = 1 << 14
	maxCiphertext   = maxPlaintext + 2048

	recordChangeCipherSpec = 20
	recordAlert            = 21
	recordHandshake        = 22
	recordApplicationData  = 23

	gcmExplicitNonce = 8
	gcmTag           = 16
	cbcBlock         = 16
	macSize          = sm3.Size
)

// halfConn is one direction of the record layer: its sequence number and,
// after ChangeCipherSpec, its cipher.
type halfConn struct {
	seq uint64

	aead    cipher.AEAD // SM4-GCM
	salt    [4]byte     // GCM's implicit nonce part
	nonce   [12]byte
	block   cipher.Block // SM4-CBC
	mac     hash.Hash    // HMAC-SM3 for CBC
	macSum  []byte
	scratch [13]byte
}

func newHalfConn(s *suite, key, macKey, iv []byte) (*halfConn, error) {
	b, err := sm4.NewCipher(key)
	if err != nil {
		return nil, err
	}
	hc := &halfConn{}
	if s.gcm {
		if hc.aead, err = cipher.NewGCM(b); err != nil {
			return nil, err
		}
		copy(hc.salt[:], iv)
		return hc, nil
	}
	hc.block = b
	hc.mac = hmac.New(sm3.New, macKey)
	hc.macSum = make([]byte, 0, macSize)
	return hc, nil
}

// additional returns seq ‖ type ‖ version ‖ length, the MAC and AEAD header.
func (hc *halfConn) additional(typ uint8, n int) []byte {
	b := hc.scratch[:]
	binary.BigEndian.PutUint64(b, hc.seq)
	b[8] = typ
	b[9], b[10] = VersionTLCP>>8, VersionTLCP&0xff
	b[11], b[12] = byte(n>>8), byte(n)
	return b
}

// sealedLen is the record body length for n plaintext bytes.
func (hc *halfConn) sealedLen(n int) int {
	switch {
	case hc == nil:
		return n
	case hc.aead != nil:
		return gcmExplicitNonce + n + gcmTag
	default:
		return cbcBlock + (n+macSize)/cbcBlock*cbcBlock + cbcBlock
	}
}

// seal appends a whole record (header and protected payload) to out.
func (hc *halfConn) seal(out []byte, typ uint8, payload []byte, rand io.Reader) ([]byte, error) {
	bodyLen := hc.sealedLen(len(payload))
	out = append(out, typ, VersionTLCP>>8, VersionTLCP&0xff, byte(bodyLen>>8), byte(bodyLen))
	if hc == nil {
		return append(out, payload...), nil
	}
	defer func() { hc.seq++ }()
	if hc.aead != nil {
		// The explicit nonce is the sequence number: unique per key without
		// a random source on the hot path.
		var explicit [8]byte
		binary.BigEndian.PutUint64(explicit[:], hc.seq)
		out = append(out, explicit[:]...)
		copy(hc.nonce[:4], hc.salt[:])
		copy(hc.nonce[4:], explicit[:])
		return hc.aead.Seal(out, hc.nonce[:], payload, hc.additional(typ, len(payload))), nil
	}
	start := len(out)
	out = append(out, make([]byte, bodyLen)...)
	body := out[start:]
	iv := body[:cbcBlock]
	if _, err := io.ReadFull(rand, iv); err != nil {
		return nil, err
	}
	plain := body[cbcBlock:]
	n := copy(plain, payload)
	hc.mac.Reset()
	hc.mac.Write(hc.additional(typ, len(payload)))
	hc.mac.Write(payload)
	n += copy(plain[n:], hc.mac.Sum(hc.macSum[:0]))
	pad := len(plain) - n - 1
	for i := n; i < len(plain); i++ {
		plain[i] = byte(pad)
	}
	cipher.NewCBCEncrypter(hc.block, iv).CryptBlocks(plain, plain)
	return out, nil
}

// open checks and decrypts a record body in place and returns the plaintext.
func (hc *halfConn) open(typ uint8, body []byte) ([]byte, error) {
	if hc == nil {
		return body, nil
	}
	if hc.aead != nil {
		if len(body) < gcmExplicitNonce+gcmTag {
			return nil, alertBadRecordMAC
		}
		copy(hc.nonce[:4], hc.salt[:])
		copy(hc.nonce[4:], body[:gcmExplicitNonce])
		ct := body[gcmExplicitNonce:]
		plain, err := hc.aead.Open(ct[:0], hc.nonce[:], ct, hc.additional(typ, len(ct)-gcmTag))
		if err != nil {
			return nil, alertBadRecordMAC
		}
		hc.seq++
		return plain, nil
	}
	// CBC: IV ‖ E(plaintext ‖ MAC ‖ padding). Every failure is the same
	// bad_record_mac, and the padding is checked without branching on it.
	if len(body) < cbcBlock+(macSize/cbcBlock+1)*cbcBlock || len(body)%cbcBlock != 0 {
		return nil, alertBadRecordMAC
	}
	iv, ct := body[:cbcBlock], body[cbcBlock:]
	cipher.NewCBCDecrypter(hc.block, iv).CryptBlocks(ct, ct)
	n, good := unpad(ct)
	if n < macSize {
		n, good = macSize, 0
	}
	dataLen := n - macSize
	hc.mac.Reset()
	hc.mac.Write(hc.additional(typ, dataLen))
	hc.mac.Write(ct[:dataLen])
	sum := hc.mac.Sum(hc.macSum[:0])
	// Hash the padding and MAC bytes too, after the sum: the compression
	// function then runs about as often whatever the padding said, so the
	// time does not tell how long the data was (Lucky Thirteen).
	hc.mac.Write(ct[dataLen:])
	good &= subtle.ConstantTimeCompare(sum, ct[dataLen:n])
	if good != 1 {
		return nil, alertBadRecordMAC
	}
	hc.seq++
	return ct[:dataLen], nil
}

// unpad returns the length of b without its TLS padding and 1 if the padding
// is well formed, in time that depends only on len(b).
func unpad(b []byte) (int, int) {
	padLen := int(b[len(b)-1])
	good := subtle.ConstantTimeLessOrEq(padLen+1, len(b))
	// Check the last 256 bytes (or all of b) against padLen.
	check := min(256, len(b))
	for i := 1; i <= check; i++ {
		inPad := subtle.ConstantTimeLessOrEq(i, padLen+1)
		eq := subtle.ConstantTimeByteEq(b[len(b)-i], byte(padLen))
		good &= eq | (inPad ^ 1)
	}
	n := subtle.ConstantTimeSelect(good, len(b)-padLen-1, len(b))
	return n, good
}
