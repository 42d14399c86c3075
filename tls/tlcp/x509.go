package tlcp

import (
	cryptotls "crypto/tls"
	"crypto/x509"

	"github.com/emmansun/gmsm/smx509"
)

// X509 describes an SM2 certificate with crypto/x509's type, for code
// that lists certificates (API, expiry metric, request TLS state). The
// public key stays unset: crypto/x509 knows no SM2 curve.
func X509(c *smx509.Certificate) *x509.Certificate {
	return &x509.Certificate{
		Raw:                c.Raw,
		RawTBSCertificate:  c.RawTBSCertificate,
		RawSubject:         c.RawSubject,
		RawIssuer:          c.RawIssuer,
		Subject:            c.Subject,
		Issuer:             c.Issuer,
		SerialNumber:       c.SerialNumber,
		NotBefore:          c.NotBefore,
		NotAfter:           c.NotAfter,
		DNSNames:           c.DNSNames,
		EmailAddresses:     c.EmailAddresses,
		IPAddresses:        c.IPAddresses,
		URIs:               c.URIs,
		IsCA:               c.IsCA,
		KeyUsage:           x509.KeyUsage(c.KeyUsage),
		PublicKeyAlgorithm: x509.ECDSA,
		Signature:          c.Signature,
	}
}

// TLSState describes a finished TLCP handshake with crypto/tls's type, for
// HTTP handlers (Request.TLS), access logs and metrics: Version is
// VersionTLCP and CipherSuite one of this package's suites.
func (c *Conn) TLSState() cryptotls.ConnectionState {
	st := c.ConnectionState()
	out := cryptotls.ConnectionState{
		Version:           st.Version,
		HandshakeComplete: st.HandshakeComplete,
		DidResume:         st.DidResume,
		CipherSuite:       st.CipherSuite,
		ServerName:        st.ServerName,
	}
	for _, p := range st.PeerCertificates {
		out.PeerCertificates = append(out.PeerCertificates, X509(p))
	}
	return out
}
