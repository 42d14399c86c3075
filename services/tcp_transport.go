package services

import (
	"crypto/tls"
	"fmt"
	"time"

	"github.com/guan-gateway/guan/config/dynamic"
	"github.com/guan-gateway/guan/services/tcpproxy"
	"github.com/guan-gateway/guan/services/transport"
)

// tcpTransport resolves the (qualified) name of a TCP servers transport
// into how its proxies dial and end connections, and the TLS configuration
// of the servers with tls = true. "" and default@internal are Traefik's
// defaults.
func (s *Set) tcpTransport(name string) (tcpproxy.Transport, *tls.Config, error) {
	tr := tcpproxy.DefaultTransport()
	defaultTLS := &tls.Config{MinVersion: tls.VersionTLS12}
	if name == "" {
		// The static tcpServersTransport, when set, is default@internal.
		name = transport.DefaultName
	}
	cfg, ok := s.o.TCPTransports[name]
	if !ok || cfg == nil {
		if name == transport.DefaultName {
			return tr, defaultTLS, nil
		}
		return tr, nil, fmt.Errorf("unknown serversTransport %q: define it under tcp.serversTransports or remove the reference", name)
	}
	fail := func(format string, args ...any) (tcpproxy.Transport, *tls.Config, error) {
		return tr, nil, fmt.Errorf("serversTransport %q: "+format, append([]any{name}, args...)...)
	}
	if d := cfg.DialTimeout; d != nil {
		if *d < 0 {
			return fail("dialTimeout must not be negative, got %s (0 means no timeout)", d.Std())
		}
		tr.DialTimeout = d.Std()
	}
	if d := cfg.DialKeepAlive; d != nil {
		tr.DialKeepAlive = d.Std() // 0 is Go's default, 15s, as in Traefik
	}
	if d := cfg.TerminationDelay; d != nil {
		tr.TerminationDelay = d.Std()
	}
	tlsConf := defaultTLS
	if t := cfg.TLS; t != nil {
		baseDir := ""
		if s.o.BaseDir != nil {
			baseDir = s.o.BaseDir(name)
		}
		c, err := transport.TLSConfig(&dynamic.ServersTransport{
			ServerName:         t.ServerName,
			InsecureSkipVerify: t.InsecureSkipVerify,
			RootCAs:            t.RootCAs,
			Certificates:       t.Certificates,
			PeerCertURI:        t.PeerCertURI,
		}, baseDir)
		if err != nil {
			return fail("tls.%w", err)
		}
		tlsConf = c
	}
	return tr, tlsConf, nil
}

// tcpLBTransport is tcpTransport for the load balancer of service, which
// names tname (qualified, or ""). terminationDelay is Traefik's
// deprecated loadBalancer.terminationDelay, in milliseconds: as in Traefik
// it overrides the default transport's, and is ignored when the load
// balancer names a serversTransport.
func (s *Set) tcpLBTransport(service, tname string, terminationDelay *int) (tcpproxy.Transport, *tls.Config, error) {
	tr, tlsConf, err := s.tcpTransport(tname)
	if err != nil || terminationDelay == nil || tname != "" {
		return tr, tlsConf, err
	}
	s.log.Warn("loadBalancer.terminationDelay is deprecated: set terminationDelay on a tcp.serversTransports entry instead", "service", service)
	tr.TerminationDelay = time.Duration(*terminationDelay) * time.Millisecond
	return tr, tlsConf, nil
}
