package tlcp

import (
	"errors"
	"io"
	"slices"
	"time"

	"github.com/emmansun/gmsm/ecdh"
	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"
	"golang.org/x/crypto/cryptobyte"
)

func (c *Conn) serverHandshake() error {
	hs := newHandshake(c)
	msg, err := hs.expect(typeClientHello)
	if err != nil {
		return err
	}
	var hello clientHelloMsg
	if !hello.unmarshal(msg[4:]) {
		return fail(alertDecodeError, "malformed ClientHello")
	}
	if hello.version>>8 != VersionTLCP>>8 || hello.version < VersionTLCP {
		return fail(alertProtocolVersion, "the client does not offer TLCP 1.1")
	}
	if !slices.Contains(hello.compression, 0) {
		return fail(alertHandshakeFailure, "the client does not offer null compression")
	}
	hs.transcript.Write(msg)
	hs.clientRandom = hello.random
	c.state.ServerName = hello.serverName

	cfg := c.config
	if s := cfg.SessionCache.get(string(hello.sessionID), cfg.now()); s != nil &&
		slices.Contains(hello.cipherSuites, s.suite) && slices.Contains(cfg.cipherSuites(), s.suite) &&
		(!cfg.requiresClientCert() || len(s.peerCerts) > 0) && peerStillValid(s, cfg.now()) {
		return hs.resumeServer(s)
	}

	cert, err := c.serverCertificate(hello.serverName)
	if err != nil {
		return fail(alertHandshakeFailure, err.Error())
	}
	for _, id := range cfg.cipherSuites() {
		if s := suiteByID(id); s != nil && slices.Contains(hello.cipherSuites, id) && (!s.ecdhe || cfg.requiresClientCert()) {
			hs.suite = s
			break
		}
	}
	if hs.suite == nil {
		return fail(alertHandshakeFailure, "no cipher suite in common with the client")
	}
	if hs.serverRandom, err = hs.randomBytes(); err != nil {
		return err
	}
	var sessionID []byte
	if cfg.SessionCache != nil {
		sessionID = make([]byte, 32)
		if _, err := io.ReadFull(cfg.rand(), sessionID); err != nil {
			return err
		}
	}
	sh := serverHelloMsg{version: VersionTLCP, random: hs.serverRandom, sessionID: sessionID, cipherSuite: hs.suite.id}
	if err := hs.send(sh.marshal()); err != nil {
		return err
	}
	if err := hs.send(marshalCertificate(cert.wire())); err != nil {
		return err
	}

	var eph *ecdh.PrivateKey
	var ske []byte
	if hs.suite.ecdhe {
		if eph, err = ecdh.P256().GenerateKey(cfg.rand()); err != nil {
			return err
		}
		var pb cryptobyte.Builder
		ecPointBody(eph.PublicKey().Bytes())(&pb)
		params := pb.BytesOrPanic()
		tbs := append(append(append([]byte{}, hs.clientRandom...), hs.serverRandom...), params...)
		sig, err := cert.Sign.Key.Sign(cfg.rand(), tbs, signerOpts)
		if err != nil {
			return err
		}
		ske = handshakeMsg(typeServerKeyExchange, func(b *cryptobyte.Builder) { b.AddBytes(params); signedBody(sig)(b) })
	} else {
		sig, err := cert.Sign.Key.Sign(cfg.rand(), eccSignedParams(hs.clientRandom, hs.serverRandom, cert.Enc.Chain[0]), signerOpts)
		if err != nil {
			return err
		}
		ske = handshakeMsg(typeServerKeyExchange, signedBody(sig))
	}
	if err := hs.send(ske); err != nil {
		return err
	}
	if cfg.requestsClientCert() {
		req := certificateRequestMsg{types: []uint8{certTypeECDSASign}}
		if cfg.ClientCAs != nil {
			req.cas = cfg.ClientCAs.Subjects()
		}
		if err := hs.send(req.marshal()); err != nil {
			return err
		}
	}
	if err := hs.send([]byte{typeServerHelloDone, 0, 0, 0}); err != nil {
		return err
	}
	if err := c.flush(); err != nil {
		return err
	}

	// The client's flight.
	var peer []*smx509.Certificate
	msg, err = c.readHandshake()
	if err != nil {
		return err
	}
	if cfg.requestsClientCert() && msg[0] == typeCertificate {
		raw, ok := unmarshalCertificate(msg[4:])
		if !ok {
			return fail(alertDecodeError, "malformed client Certificate")
		}
		if peer, err = hs.checkClientCerts(raw); err != nil {
			return err
		}
		c.state.PeerCertificates = peer
		hs.transcript.Write(msg)
		if msg, err = c.readHandshake(); err != nil {
			return err
		}
	}
	if len(peer) == 0 && cfg.requiresClientCert() {
		return fail(alertHandshakeFailure, "a client certificate is required")
	}
	if hs.suite.ecdhe && len(peer) < 2 {
		return fail(alertHandshakeFailure, "ECDHE suites need the client's signing and encryption certificates")
	}
	if msg[0] != typeClientKeyExchange {
		return fail(alertUnexpectedMessage, "expected ClientKeyExchange")
	}
	var pre []byte
	if hs.suite.ecdhe {
		body := msg[4:]
		if len(body) > 2 && body[0] == 0 && int(body[1])+2 == len(body) {
			body = body[2:] // some stacks put the parameters behind a 2-byte length
		}
		point, rest, ok := readECPoint(body)
		if !ok || len(rest) != 0 {
			return fail(alertDecodeError, "malformed ECDHE ClientKeyExchange")
		}
		peerEnc, err := sm2Public(peer[1])
		if err != nil {
			return err
		}
		if pre, err = ecdheSecret(false, cert.Enc.Key, eph, peerEnc, point); err != nil {
			return err
		}
	} else {
		pre = hs.decryptPremaster(cert.Enc.Key, msg[4:])
	}
	hs.transcript.Write(msg)

	if len(peer) > 0 {
		// CertificateVerify signs the transcript up to (not including) itself.
		digest := hs.transcript.Sum(nil)
		msg, err := hs.expect(typeCertificateVerify)
		if err != nil {
			return err
		}
		sig, ok := readSignature(msg[4:])
		if !ok {
			return fail(alertDecodeError, "malformed CertificateVerify")
		}
		pub, err := sm2Public(peer[0])
		if err != nil {
			return err
		}
		if !sm2.VerifyASN1WithSM2(pub, defaultUID, digest, sig) {
			return fail(alertDecryptError, "the client's CertificateVerify signature does not verify")
		}
		hs.transcript.Write(msg)
	}

	hs.master = masterFromPremaster(pre, hs.clientRandom, hs.serverRandom)
	clientHC, serverHC, err := hs.ciphers()
	if err != nil {
		return err
	}
	if err := hs.readFinished(clientHC, "client finished"); err != nil {
		return err
	}
	if err := hs.sendFinished(serverHC, "server finished"); err != nil {
		return err
	}
	c.state.CipherSuite = hs.suite.id
	if sessionID != nil {
		// Only the leaves: what resumption reports and checks.
		raw := make([][]byte, 0, 2)
		for _, p := range peer[:min(len(peer), 2)] {
			raw = append(raw, p.Raw)
		}
		cfg.SessionCache.put(&session{key: string(sessionID), id: sessionID, suite: hs.suite.id, master: hs.master, peerCerts: raw, created: cfg.now()})
	}
	return nil
}

// decryptPremaster opens the ECC ClientKeyExchange. Any failure yields a
// random premaster instead of an error, so the client learns nothing until
// Finished fails (no decryption oracle).
func (hs *handshake) decryptPremaster(key *sm2.PrivateKey, body []byte) []byte {
	s := cryptobyte.String(body)
	var ct cryptobyte.String
	if s.ReadUint16LengthPrefixed(&ct) && s.Empty() {
		if pre, err := sm2.Decrypt(key, ct); err == nil && len(pre) == masterSecretLen {
			return pre
		}
	}
	pre := make([]byte, masterSecretLen)
	_, _ = io.ReadFull(hs.c.config.rand(), pre)
	return pre
}

// checkClientCerts parses the client's chain (signing certificate, then its
// encryption certificate when it sends one, then intermediates) and verifies
// it when the policy says so.
func (hs *handshake) checkClientCerts(raw [][]byte) ([]*smx509.Certificate, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	certs, err := parseCerts(raw)
	if err != nil {
		return nil, err
	}
	cfg := hs.c.config
	if _, err := sm2Public(certs[0]); err != nil {
		return nil, err
	}
	var enc *smx509.Certificate
	rest := certs[1:]
	if len(certs) > 1 && !certs[1].IsCA {
		enc, rest = certs[1], certs[2:]
	} else if hs.suite.ecdhe {
		return nil, fail(alertHandshakeFailure, "ECDHE suites need the client's encryption certificate")
	}
	if enc != nil {
		if _, err := sm2Public(enc); err != nil {
			return nil, err
		}
	}
	if err := checkUsage(certs[0], enc); err != nil {
		return nil, err
	}
	if cfg.verifiesClientCert() {
		if cfg.ClientCAs == nil {
			return nil, fail(alertInternalError, "no client CAs configured to verify client certificates")
		}
		opts := smx509.VerifyOptions{Roots: cfg.ClientCAs, CurrentTime: cfg.now(), KeyUsages: []smx509.ExtKeyUsage{smx509.ExtKeyUsageClientAuth}}
		if err := verifyPair(certs[0], enc, rest, opts); err != nil {
			return nil, err
		}
	}
	if enc == nil {
		return certs[:1], nil
	}
	return certs, nil
}

// peerStillValid reports whether the client certificate of a session (if
// any) has not expired since: an expired certificate means a full handshake.
func peerStillValid(s *session, now time.Time) bool {
	if len(s.peerCerts) == 0 {
		return true
	}
	c, err := smx509.ParseCertificate(s.peerCerts[0])
	return err == nil && now.Before(c.NotAfter)
}

// resumeServer runs the abbreviated handshake for a cached session.
func (hs *handshake) resumeServer(s *session) error {
	c := hs.c
	hs.suite = suiteByID(s.suite)
	hs.master = s.master
	var err error
	if hs.serverRandom, err = hs.randomBytes(); err != nil {
		return err
	}
	sh := serverHelloMsg{version: VersionTLCP, random: hs.serverRandom, sessionID: s.id, cipherSuite: s.suite}
	if err := hs.send(sh.marshal()); err != nil {
		return err
	}
	clientHC, serverHC, err := hs.ciphers()
	if err != nil {
		return err
	}
	if err := hs.sendFinished(serverHC, "server finished"); err != nil {
		return err
	}
	if err := hs.readFinished(clientHC, "client finished"); err != nil {
		return err
	}
	if c.state.PeerCertificates, err = parseCerts(s.peerCerts); err != nil {
		return err
	}
	c.state.CipherSuite = s.suite
	c.state.DidResume = true
	return nil
}

// serverCertificate picks the pair for the client's server name.
func (c *Conn) serverCertificate(name string) (*Certificate, error) {
	if c.config.GetCertificate != nil {
		return c.config.GetCertificate(name)
	}
	if len(c.config.Certificates) == 0 {
		return nil, errNoCertificate
	}
	if name != "" {
		for _, cert := range c.config.Certificates {
			if cert.Sign.Leaf.VerifyHostname(name) == nil {
				return cert, nil
			}
		}
	}
	return c.config.Certificates[0], nil
}

var errNoCertificate = errors.New("no TLCP certificate configured")
