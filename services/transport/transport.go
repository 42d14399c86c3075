// Package transport builds the connections to upstream servers from a
// serversTransport: timeouts, connection pool size, TLS (root CAs, client
// certificates, server name, SPIFFE-style peer URI) and HTTP/2, including
// HTTP/2 over cleartext (h2c) with prior knowledge. Plain http:// servers
// are served by h1transport, with net/http as its fallback.
package transport

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/guan-gateway/guan/config"
	"github.com/guan-gateway/guan/config/dynamic"
	"github.com/guan-gateway/guan/services/h1transport"
	guantls "github.com/guan-gateway/guan/tls"
	"github.com/guan-gateway/guan/tls/tlcp"
	"golang.org/x/net/http/httpproxy"

	"github.com/emmansun/gmsm/smx509"
)

// Defaults, as in Traefik.
const (
	DefaultDialTimeout         = 30 * time.Second
	DefaultIdleConnTimeout     = 90 * time.Second
	DefaultMaxIdleConnsPerHost = 200
)

// DefaultName is the transport used when a load balancer names none.
const DefaultName = "default@internal"

// Transport holds the connection pools of one serversTransport. It lives in
// the state store, so pools survive reloads that keep its configuration.
type Transport struct {
	h1  *h1transport.Transport // http://, falling back to std
	std *http.Transport        // https:// (h2 negotiated by ALPN), and what h1 does not handle
	h2c *http.Transport        // h2c:// — HTTP/2 prior knowledge over cleartext
	tls *tls.Config
}

// New builds a transport. baseDir resolves relative rootCAs and certificate
// paths; it may be empty.
func New(cfg *dynamic.ServersTransport, baseDir string) (*Transport, error) {
	if cfg == nil {
		cfg = &dynamic.ServersTransport{}
	}
	tlsConf, err := TLSConfig(cfg, baseDir)
	if err != nil {
		return nil, err
	}
	ft := cfg.ForwardingTimeouts
	if ft == nil {
		ft = &dynamic.ForwardingTimeouts{}
	}
	dialTimeout := durationOr(ft.DialTimeout, DefaultDialTimeout)
	idle := durationOr(ft.IdleConnTimeout, DefaultIdleConnTimeout)
	dialer := &net.Dialer{Timeout: dialTimeout, KeepAlive: 15 * time.Second}

	h2conf := &http.HTTP2Config{}
	if ft.ReadIdleTimeout != nil {
		h2conf.SendPingTimeout = ft.ReadIdleTimeout.Std()
	}
	if ft.PingTimeout != nil {
		h2conf.PingTimeout = ft.PingTimeout.Std()
	}

	newT := func() *http.Transport {
		t := &http.Transport{
			Proxy:               http.ProxyFromEnvironment,
			DialContext:         dialer.DialContext,
			TLSClientConfig:     tlsConf,
			TLSHandshakeTimeout: 10 * time.Second,
			IdleConnTimeout:     idle,
			MaxIdleConnsPerHost: DefaultMaxIdleConnsPerHost,
			// A proxy forwards bodies as they are; never add
			// Accept-Encoding and decompress behind the client's back.
			DisableCompression: true,
			HTTP2:              h2conf,
			WriteBufferSize:    32 << 10,
			ReadBufferSize:     32 << 10,
		}
		if ft.ResponseHeaderTimeout != nil {
			t.ResponseHeaderTimeout = ft.ResponseHeaderTimeout.Std()
		}
		switch n := cfg.MaxIdleConnsPerHost; {
		case n > 0:
			t.MaxIdleConnsPerHost = n
		case n < 0:
			t.DisableKeepAlives = true
		}
		return t
	}

	std := newT()
	std.Protocols = new(http.Protocols)
	std.Protocols.SetHTTP1(true)
	std.Protocols.SetHTTP2(!cfg.DisableHTTP2)
	if cfg.TLCP != nil {
		gm, err := tlcpClientConfig(cfg.TLCP, baseDir)
		if err != nil {
			return nil, fmt.Errorf("tlcp: %w", err)
		}
		// https:// servers speak TLCP: no ALPN, so HTTP/1.1 only, and
		// no HTTPS proxy (it would expect TLS).
		std.Proxy = nil
		std.Protocols.SetHTTP2(false)
		std.DialTLSContext = dialTLCP(dialer, gm)
	}

	h2c := newT()
	h2c.Protocols = new(http.Protocols)
	h2c.Protocols.SetUnencryptedHTTP2(true)

	h1 := h1transport.New(h1transport.Options{
		Fallback:              std,
		DialTimeout:           dialTimeout,
		ResponseHeaderTimeout: std.ResponseHeaderTimeout,
		IdleConnTimeout:       idle,
		MaxIdleConnsPerHost:   cfg.MaxIdleConnsPerHost,
		// Requests to an HTTP proxy from the environment are net/http's job.
		Disabled: httpproxy.FromEnvironment().HTTPProxy != "",
	})
	return &Transport{h1: h1, std: std, h2c: h2c, tls: tlsConf}, nil
}

// RoundTripper returns the round tripper for a server URL scheme. For "h2c"
// it is a cleartext HTTP/2 transport; requests sent through it use "http".
func (t *Transport) RoundTripper(scheme string) http.RoundTripper {
	switch scheme {
	case "h2c":
		return t.h2c
	case "http":
		return t.h1
	}
	return t.std
}

// WireScheme is the scheme to put on the outgoing request URL.
func WireScheme(scheme string) string {
	if scheme == "h2c" {
		return "http"
	}
	return scheme
}

// tlcpClientConfig builds the TLCP client side of a serversTransport.
func tlcpClientConfig(cfg *dynamic.TLCPClient, baseDir string) (*tlcp.Config, error) {
	c := &tlcp.Config{ServerName: cfg.ServerName, InsecureSkipVerify: cfg.InsecureSkipVerify, SessionCache: tlcp.NewSessionCache(1024, 0)}
	if len(cfg.RootCAs) > 0 {
		c.RootCAs = smx509.NewCertPool()
		for i, ca := range cfg.RootCAs {
			pem, err := readPEM(ca, baseDir)
			if err != nil {
				return nil, fmt.Errorf("rootCAs[%d]: %w", i, err)
			}
			if !c.RootCAs.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("rootCAs[%d]: no PEM certificate found", i)
			}
		}
	} else if !cfg.InsecureSkipVerify {
		return nil, errors.New("rootCAs is needed to verify the servers' SM2 certificates (or insecureSkipVerify)")
	}
	for i, p := range cfg.Certificates {
		pair, err := guantls.LoadSMPair(p.CertFile, p.KeyFile, p.EncCertFile, p.EncKeyFile, baseDir)
		if err != nil {
			return nil, fmt.Errorf("certificates[%d]: %w", i, err)
		}
		c.Certificates = append(c.Certificates, pair)
	}
	for i, name := range cfg.CipherSuites {
		id, err := tlcp.CipherSuiteByName(name)
		if err != nil {
			return nil, fmt.Errorf("cipherSuites[%d]: %w", i, err)
		}
		c.CipherSuites = append(c.CipherSuites, id)
	}
	return c, nil
}

// dialTLCP connects and runs the TLCP handshake; the server name defaults
// to the host of the server URL.
func dialTLCP(d *net.Dialer, base *tlcp.Config) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		cfg := base
		if cfg.ServerName == "" {
			host, _, err := net.SplitHostPort(addr)
			if err != nil {
				host = addr
			}
			c := *base
			c.ServerName = host
			cfg = &c
		}
		raw, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		hctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		tc := tlcp.Client(raw, cfg)
		if err := tc.HandshakeContext(hctx); err != nil {
			raw.Close()
			return nil, fmt.Errorf("TLCP handshake with %s: %w", addr, err)
		}
		return tc, nil
	}
}

// TLS returns the client TLS configuration (for gRPC health checks).
func (t *Transport) TLS() *tls.Config { return t.tls }

// Close drops idle connections; in-flight requests finish.
func (t *Transport) Close() error {
	t.h1.Close()
	t.std.CloseIdleConnections()
	t.h2c.CloseIdleConnections()
	return nil
}

// TLSConfig builds the client TLS configuration of a serversTransport.
func TLSConfig(cfg *dynamic.ServersTransport, baseDir string) (*tls.Config, error) {
	c := &tls.Config{
		ServerName:         cfg.ServerName,
		InsecureSkipVerify: cfg.InsecureSkipVerify,
		MinVersion:         tls.VersionTLS12,
	}
	if cfg.MinVersion != "" {
		v, ok := guantls.ParseVersion(cfg.MinVersion)
		if !ok {
			return nil, fmt.Errorf("minVersion %q: use one of %s", cfg.MinVersion, guantls.VersionNames())
		}
		c.MinVersion = v
	}
	if cfg.MaxVersion != "" {
		v, ok := guantls.ParseVersion(cfg.MaxVersion)
		if !ok {
			return nil, fmt.Errorf("maxVersion %q: use one of %s", cfg.MaxVersion, guantls.VersionNames())
		}
		if v < c.MinVersion {
			return nil, fmt.Errorf("maxVersion %s is lower than minVersion: raise maxVersion or lower minVersion", cfg.MaxVersion)
		}
		c.MaxVersion = v
	}
	for i, name := range cfg.CipherSuites {
		id, ok := guantls.ParseCipherSuite(name)
		if !ok {
			return nil, fmt.Errorf("cipherSuites[%d]: unknown cipher suite %q: use IANA names such as TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", i, name)
		}
		c.CipherSuites = append(c.CipherSuites, id)
	}
	if len(cfg.RootCAs) > 0 {
		pool := x509.NewCertPool()
		for i, ca := range cfg.RootCAs {
			pem, err := readPEM(ca, baseDir)
			if err != nil {
				return nil, fmt.Errorf("rootCAs[%d]: %w", i, err)
			}
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("rootCAs[%d]: no PEM certificate found; give a file path or an inline \"-----BEGIN CERTIFICATE-----\" block", i)
			}
		}
		c.RootCAs = pool
	}
	for i, cert := range cfg.Certificates {
		certPEM, err := readPEM(cert.CertFile, baseDir)
		if err != nil {
			return nil, fmt.Errorf("certificates[%d].certFile: %w", i, err)
		}
		keyPEM, err := readPEM(cert.KeyFile, baseDir)
		if err != nil {
			return nil, fmt.Errorf("certificates[%d].keyFile: %w", i, err)
		}
		pair, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			return nil, fmt.Errorf("certificates[%d]: %w (certFile and keyFile must be a matching PEM pair)", i, err)
		}
		c.Certificates = append(c.Certificates, pair)
	}
	if cfg.PeerCertURI != "" {
		// SPIFFE-style identities have a URI SAN and often no DNS name, so
		// the chain is verified without a host name and the URI is matched.
		insecure, roots, uri := cfg.InsecureSkipVerify, c.RootCAs, cfg.PeerCertURI
		c.InsecureSkipVerify = true
		c.VerifyConnection = func(cs tls.ConnectionState) error {
			return verifyPeerURI(cs, roots, uri, insecure)
		}
	}
	return c, nil
}

func verifyPeerURI(cs tls.ConnectionState, roots *x509.CertPool, uri string, skipChain bool) error {
	if len(cs.PeerCertificates) == 0 {
		return errors.New("upstream sent no certificate")
	}
	leaf := cs.PeerCertificates[0]
	if !skipChain {
		inter := x509.NewCertPool()
		for _, c := range cs.PeerCertificates[1:] {
			inter.AddCert(c)
		}
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter}); err != nil {
			return fmt.Errorf("upstream certificate: %w", err)
		}
	}
	for _, u := range leaf.URIs {
		if u.String() == uri {
			return nil
		}
	}
	return fmt.Errorf("upstream certificate has no URI SAN %q (peerCertURI)", uri)
}

// readPEM returns inline PEM as is, or reads the file (relative to baseDir).
func readPEM(s, baseDir string) ([]byte, error) {
	if strings.Contains(s, "-----BEGIN") {
		return []byte(s), nil
	}
	if s == "" {
		return nil, errors.New("empty value; give a file path or inline PEM")
	}
	if !filepath.IsAbs(s) && baseDir != "" {
		s = filepath.Join(baseDir, s)
	}
	b, err := os.ReadFile(s)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", s, err)
	}
	return b, nil
}

func durationOr(d *config.Duration, def time.Duration) time.Duration {
	if d == nil || d.Std() <= 0 {
		return def
	}
	return d.Std()
}
