package tlcp

import (
	"crypto/ecdsa"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"hash"
	"io"

	"github.com/emmansun/gmsm/ecdh"
	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/smx509"
)

// defaultUID is the SM2 user identity both peers use (GB/T 35276 default).
var defaultUID = []byte("1234567812345678")

var signerOpts = sm2.NewSM2SignerOption(true, defaultUID)

// handshake is what both sides keep while negotiating.
type handshake struct {
	c            *Conn
	transcript   hash.Hash
	suite        *suite
	clientRandom []byte
	serverRandom []byte
	master       []byte
}

func newHandshake(c *Conn) *handshake { return &handshake{c: c, transcript: sm3.New()} }

// send queues a handshake message and adds it to the transcript.
func (hs *handshake) send(msg []byte) error {
	hs.transcript.Write(msg)
	return hs.c.queue(recordHandshake, msg)
}

// expect reads the next message and checks its type; the caller adds it to
// the transcript once it has used the hash that precedes it.
func (hs *handshake) expect(typ uint8) ([]byte, error) {
	msg, err := hs.c.readHandshake()
	if err != nil {
		return nil, err
	}
	if msg[0] != typ {
		return nil, fail(alertUnexpectedMessage, "unexpected handshake message")
	}
	return msg, nil
}

func (hs *handshake) randomBytes() ([]byte, error) {
	r := make([]byte, 32)
	binary.BigEndian.PutUint32(r, uint32(hs.c.config.now().Unix()))
	if _, err := io.ReadFull(hs.c.config.rand(), r[4:]); err != nil {
		return nil, err
	}
	return r, nil
}

// ciphers returns the record protection for both directions.
func (hs *handshake) ciphers() (client, server *halfConn, err error) {
	k := deriveKeys(hs.master, hs.clientRandom, hs.serverRandom, hs.suite)
	if client, err = newHalfConn(hs.suite, k.clientKey, k.clientMAC, k.clientIV); err != nil {
		return nil, nil, err
	}
	server, err = newHalfConn(hs.suite, k.serverKey, k.serverMAC, k.serverIV)
	return client, server, err
}

// sendFinished sends ChangeCipherSpec and Finished, and flushes the flight.
func (hs *handshake) sendFinished(out *halfConn, label string) error {
	if err := hs.c.switchWrite(out); err != nil {
		return err
	}
	verify := finishedSum(hs.master, label, hs.transcript.Sum(nil))
	if err := hs.send(append([]byte{typeFinished, 0, 0, finishedLen}, verify...)); err != nil {
		return err
	}
	return hs.c.flush()
}

// readFinished waits for the peer's ChangeCipherSpec and checks its Finished.
func (hs *handshake) readFinished(in *halfConn, label string) error {
	if err := hs.c.readChangeCipherSpec(in); err != nil {
		return err
	}
	msg, err := hs.expect(typeFinished)
	if err != nil {
		return err
	}
	want := finishedSum(hs.master, label, hs.transcript.Sum(nil))
	if len(msg) != 4+finishedLen || subtle.ConstantTimeCompare(msg[4:], want) != 1 {
		return fail(alertDecryptError, "the peer's Finished does not verify (keys or transcript differ)")
	}
	hs.transcript.Write(msg)
	return nil
}

func sm2Public(cert *smx509.Certificate) (*ecdsa.PublicKey, error) {
	pub, ok := cert.PublicKey.(*ecdsa.PublicKey)
	if !ok || !sm2.IsSM2PublicKey(pub) {
		return nil, fail(alertUnsupportedCertificate, "certificate key is not SM2")
	}
	return pub, nil
}

// ecdheSecret runs the SM2 key-exchange protocol (GB/T 32918.3); both static
// keys are the peers' encryption keys. The server is the initiator (its Z
// comes first in the KDF input) and the client the responder, as Tongsuo's
// NTLS and other TLCP stacks do. The result is the 48-byte premaster secret.
func ecdheSecret(responder bool, static *sm2.PrivateKey, eph *ecdh.PrivateKey, peerStatic *ecdsa.PublicKey, peerEph []byte) ([]byte, error) {
	sk, err := static.ECDH()
	if err != nil {
		return nil, err
	}
	rs, err := sm2.PublicKeyToECDH(peerStatic)
	if err != nil {
		return nil, fail(alertBadCertificate, "peer encryption key: "+err.Error())
	}
	re, err := ecdh.P256().NewPublicKey(peerEph)
	if err != nil {
		return nil, fail(alertIllegalParameter, "peer ECDHE point: "+err.Error())
	}
	uv, err := sk.SM2MQV(eph, rs, re)
	if err != nil {
		return nil, fail(alertIllegalParameter, "SM2 key exchange: "+err.Error())
	}
	return uv.SM2SharedKey(responder, masterSecretLen, sk.PublicKey(), rs, defaultUID, defaultUID)
}

// encCertDigestInput is client_random ‖ server_random ‖ len24 ‖ enc cert, what
// the ECC ServerKeyExchange signs.
func eccSignedParams(clientRandom, serverRandom, encCert []byte) []byte {
	b := make([]byte, 0, 67+len(encCert))
	b = append(append(b, clientRandom...), serverRandom...)
	n := len(encCert)
	b = append(b, byte(n>>16), byte(n>>8), byte(n))
	return append(b, encCert...)
}

// checkUsage refuses a signing certificate whose key usage forbids signing,
// and an encryption certificate whose usage forbids key transport or
// agreement: in the dual-certificate scheme the encryption key is escrowed,
// so it must never pass for the signing one. Certificates without a key
// usage extension are accepted.
func checkUsage(sign, enc *smx509.Certificate) error {
	if sign.KeyUsage != 0 && sign.KeyUsage&smx509.KeyUsageDigitalSignature == 0 {
		return fail(alertBadCertificate, "the signing certificate's key usage does not allow digital signatures")
	}
	encUse := smx509.KeyUsageKeyEncipherment | smx509.KeyUsageKeyAgreement | smx509.KeyUsageDataEncipherment
	if enc != nil && enc.KeyUsage != 0 && enc.KeyUsage&encUse == 0 {
		return fail(alertBadCertificate, "the encryption certificate's key usage allows neither key encipherment nor key agreement")
	}
	return nil
}

func parseCerts(raw [][]byte) ([]*smx509.Certificate, error) {
	certs := make([]*smx509.Certificate, len(raw))
	for i, der := range raw {
		c, err := smx509.ParseCertificate(der)
		if err != nil {
			return nil, fail(alertBadCertificate, "parsing a peer certificate: "+err.Error())
		}
		certs[i] = c
	}
	return certs, nil
}

// verifyPair verifies the signing and (when present) the encryption
// certificate against roots; rest are the intermediates the peer sent.
func verifyPair(sign, enc *smx509.Certificate, rest []*smx509.Certificate, opts smx509.VerifyOptions) error {
	opts.Intermediates = smx509.NewCertPool()
	for _, c := range rest {
		opts.Intermediates.AddCert(c)
	}
	if _, err := sign.Verify(opts); err != nil {
		return certError(err)
	}
	if enc != nil {
		opts.DNSName = "" // the encryption certificate need not repeat the name
		if _, err := enc.Verify(opts); err != nil {
			return certError(err)
		}
	}
	return nil
}

func certError(err error) error {
	var ua smx509.UnknownAuthorityError
	if errors.As(err, &ua) {
		return fail(alertUnknownCA, err.Error())
	}
	var ci smx509.CertificateInvalidError
	if errors.As(err, &ci) && ci.Reason == smx509.Expired {
		return fail(alertCertificateExpired, err.Error())
	}
	return fail(alertBadCertificate, err.Error())
}
