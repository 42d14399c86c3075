package tlcp

import (
	"crypto/rand"
	cryptotls "crypto/tls"
	"io"
	"time"

	"github.com/emmansun/gmsm/smx509"
)

// ClientAuthType is crypto/tls's: the same names mean the same policy.
type ClientAuthType = cryptotls.ClientAuthType

// Config configures a client or a server. It must not be changed once a
// connection uses it.
type Config struct {
	// Certificates holds sign/enc pairs. A server picks the one whose signing
	// certificate matches the client's server name, else the first; a client
	// sends the first when the server asks for one.
	Certificates []*Certificate
	// GetCertificate, when set, chooses the server's pair by server name
	// instead of Certificates.
	GetCertificate func(serverName string) (*Certificate, error)

	// ClientAuth and ClientCAs: the server's policy for client certificates.
	// ECDHE suites are only negotiated when ClientAuth asks for certificates.
	ClientAuth ClientAuthType
	ClientCAs  *smx509.CertPool

	// RootCAs, ServerName and InsecureSkipVerify: how a client verifies the
	// server. ServerName also goes out as SNI.
	RootCAs            *smx509.CertPool
	ServerName         string
	InsecureSkipVerify bool

	// CipherSuites in order of preference; nil means DefaultCipherSuites.
	CipherSuites []uint16

	// SessionCache enables resumption by session ID (a server keys it by
	// session ID, a client by server name). nil disables resumption.
	SessionCache *SessionCache

	Rand io.Reader
	Time func() time.Time
}

func (c *Config) rand() io.Reader {
	if c.Rand != nil {
		return c.Rand
	}
	return rand.Reader
}

func (c *Config) now() time.Time {
	if c.Time != nil {
		return c.Time()
	}
	return time.Now()
}

func (c *Config) cipherSuites() []uint16 {
	if len(c.CipherSuites) > 0 {
		return c.CipherSuites
	}
	return DefaultCipherSuites()
}

func (c *Config) requestsClientCert() bool { return c.ClientAuth != cryptotls.NoClientCert }

func (c *Config) requiresClientCert() bool {
	return c.ClientAuth == cryptotls.RequireAnyClientCert || c.ClientAuth == cryptotls.RequireAndVerifyClientCert
}

func (c *Config) verifiesClientCert() bool {
	return c.ClientAuth == cryptotls.VerifyClientCertIfGiven || c.ClientAuth == cryptotls.RequireAndVerifyClientCert
}

// ConnectionState describes a finished handshake.
type ConnectionState struct {
	Version           uint16
	HandshakeComplete bool
	DidResume         bool
	CipherSuite       uint16
	ServerName        string
	// PeerCertificates as sent: the signing certificate, the encryption
	// certificate, then any chain. Empty for a server without client auth.
	PeerCertificates []*smx509.Certificate
}
