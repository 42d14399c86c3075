package tlcp

import (
	"bytes"
	"errors"
	"io"
	"net"
	"slices"

	"github.com/emmansun/gmsm/ecdh"
	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"
	"golang.org/x/crypto/cryptobyte"
)

func (c *Conn) clientHandshake() error {
	cfg := c.config
	if cfg.ServerName == "" && !cfg.InsecureSkipVerify {
		return errors.New("tlcp: either ServerName or InsecureSkipVerify must be set")
	}
	hs := newHandshake(c)
	var err error
	if hs.clientRandom, err = hs.randomBytes(); err != nil {
		return err
	}
	cacheKey := cfg.ServerName
	if cacheKey == "" {
		cacheKey = c.conn.RemoteAddr().String()
	}
	cached := cfg.SessionCache.get(cacheKey, cfg.now())
	hello := clientHelloMsg{version: VersionTLCP, random: hs.clientRandom, cipherSuites: cfg.cipherSuites(), compression: []uint8{0}}
	if net.ParseIP(cfg.ServerName) == nil {
		hello.serverName = cfg.ServerName
	}
	if cached != nil {
		hello.sessionID = cached.id
	}
	if err := hs.send(hello.marshal()); err != nil {
		return err
	}
	if err := c.flush(); err != nil {
		return err
	}

	msg, err := hs.expect(typeServerHello)
	if err != nil {
		return err
	}
	var sh serverHelloMsg
	if !sh.unmarshal(msg[4:]) {
		return fail(alertDecodeError, "malformed ServerHello")
	}
	if sh.version != VersionTLCP {
		return fail(alertProtocolVersion, "the server did not answer with TLCP 1.1")
	}
	if !slices.Contains(hello.cipherSuites, sh.cipherSuite) || suiteByID(sh.cipherSuite) == nil {
		return fail(alertIllegalParameter, "the server chose a cipher suite that was not offered")
	}
	hs.transcript.Write(msg)
	hs.serverRandom = sh.random
	hs.suite = suiteByID(sh.cipherSuite)
	c.state.ServerName = cfg.ServerName
	c.state.CipherSuite = sh.cipherSuite

	if cached != nil && len(sh.sessionID) > 0 && bytes.Equal(sh.sessionID, cached.id) {
		if sh.cipherSuite != cached.suite {
			return fail(alertIllegalParameter, "the server resumed a session with another cipher suite")
		}
		hs.master = cached.master
		clientHC, serverHC, err := hs.ciphers()
		if err != nil {
			return err
		}
		if err := hs.readFinished(serverHC, "server finished"); err != nil {
			cfg.SessionCache.remove(cacheKey)
			return err
		}
		if err := hs.sendFinished(clientHC, "client finished"); err != nil {
			return err
		}
		if c.state.PeerCertificates, err = parseCerts(cached.peerCerts); err != nil {
			return err
		}
		c.state.DidResume = true
		return nil
	}

	// Full handshake: the server's certificates.
	msg, err = hs.expect(typeCertificate)
	if err != nil {
		return err
	}
	raw, ok := unmarshalCertificate(msg[4:])
	if !ok {
		return fail(alertDecodeError, "malformed server Certificate")
	}
	if len(raw) < 2 {
		return fail(alertBadCertificate, "the server sent no encryption certificate (TLCP needs a signing and an encryption certificate)")
	}
	certs, err := parseCerts(raw)
	if err != nil {
		return err
	}
	signPub, err := sm2Public(certs[0])
	if err != nil {
		return err
	}
	encPub, err := sm2Public(certs[1])
	if err != nil {
		return err
	}
	if err := checkUsage(certs[0], certs[1]); err != nil {
		return err
	}
	if !cfg.InsecureSkipVerify {
		opts := smx509.VerifyOptions{Roots: cfg.RootCAs, DNSName: cfg.ServerName, CurrentTime: cfg.now(), KeyUsages: []smx509.ExtKeyUsage{smx509.ExtKeyUsageServerAuth}}
		if err := verifyPair(certs[0], certs[1], certs[2:], opts); err != nil {
			return err
		}
	}
	c.state.PeerCertificates = certs
	hs.transcript.Write(msg)

	// ServerKeyExchange.
	msg, err = hs.expect(typeServerKeyExchange)
	if err != nil {
		return err
	}
	var serverEph []byte
	var tbs, sig []byte
	if hs.suite.ecdhe {
		point, rest, ok := readECPoint(msg[4:])
		if !ok {
			return fail(alertDecodeError, "malformed ServerKeyExchange")
		}
		serverEph = point
		params := msg[4 : len(msg)-len(rest)]
		tbs = append(append(append([]byte{}, hs.clientRandom...), hs.serverRandom...), params...)
		if sig, ok = readSignature(rest); !ok {
			return fail(alertDecodeError, "malformed ServerKeyExchange signature")
		}
	} else {
		tbs = eccSignedParams(hs.clientRandom, hs.serverRandom, raw[1])
		if sig, ok = readSignature(msg[4:]); !ok {
			return fail(alertDecodeError, "malformed ServerKeyExchange signature")
		}
	}
	if !sm2.VerifyASN1WithSM2(signPub, defaultUID, tbs, sig) {
		return fail(alertDecryptError, "the ServerKeyExchange signature does not verify")
	}
	hs.transcript.Write(msg)

	// Optional CertificateRequest, then ServerHelloDone.
	msg, err = c.readHandshake()
	if err != nil {
		return err
	}
	requested := false
	if msg[0] == typeCertificateRequest {
		var req certificateRequestMsg
		if !req.unmarshal(msg[4:]) {
			return fail(alertDecodeError, "malformed CertificateRequest")
		}
		requested = true
		hs.transcript.Write(msg)
		if msg, err = c.readHandshake(); err != nil {
			return err
		}
	}
	if msg[0] != typeServerHelloDone || len(msg) != 4 {
		return fail(alertUnexpectedMessage, "expected ServerHelloDone")
	}
	hs.transcript.Write(msg)

	var own *Certificate
	if requested {
		var chain [][]byte
		if len(cfg.Certificates) > 0 {
			own = cfg.Certificates[0]
			chain = own.wire()
		}
		if err := hs.send(marshalCertificate(chain)); err != nil {
			return err
		}
	}
	if hs.suite.ecdhe && own == nil {
		return fail(alertHandshakeFailure, "the server chose an ECDHE suite, which needs a client certificate, and none is configured")
	}

	var pre, cke []byte
	if hs.suite.ecdhe {
		eph, err := ecdh.P256().GenerateKey(cfg.rand())
		if err != nil {
			return err
		}
		if pre, err = ecdheSecret(true, own.Enc.Key, eph, encPub, serverEph); err != nil {
			return err
		}
		cke = handshakeMsg(typeClientKeyExchange, ecPointBody(eph.PublicKey().Bytes()))
	} else {
		pre = make([]byte, masterSecretLen)
		pre[0], pre[1] = VersionTLCP>>8, VersionTLCP&0xff
		if _, err := io.ReadFull(cfg.rand(), pre[2:]); err != nil {
			return err
		}
		ct, err := sm2.EncryptASN1(cfg.rand(), encPub, pre)
		if err != nil {
			return err
		}
		cke = handshakeMsg(typeClientKeyExchange, func(b *cryptobyte.Builder) {
			b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(ct) })
		})
	}
	if err := hs.send(cke); err != nil {
		return err
	}
	if own != nil {
		sig, err := own.Sign.Key.Sign(cfg.rand(), hs.transcript.Sum(nil), signerOpts)
		if err != nil {
			return err
		}
		if err := hs.send(handshakeMsg(typeCertificateVerify, signedBody(sig))); err != nil {
			return err
		}
	}

	hs.master = masterFromPremaster(pre, hs.clientRandom, hs.serverRandom)
	clientHC, serverHC, err := hs.ciphers()
	if err != nil {
		return err
	}
	if err := hs.sendFinished(clientHC, "client finished"); err != nil {
		return err
	}
	if err := hs.readFinished(serverHC, "server finished"); err != nil {
		return err
	}
	if len(sh.sessionID) > 0 {
		cfg.SessionCache.put(&session{key: cacheKey, id: sh.sessionID, suite: sh.cipherSuite, master: hs.master, peerCerts: raw[:2], created: cfg.now()})
	}
	return nil
}
