package tls

import (
	cryptotls "crypto/tls"
	"errors"
	"fmt"
	"strings"
)

// store indexes certificates by the names they cover so a handshake finds
// its certificate with at most two map lookups.
type store struct {
	exact    map[string][]*cryptotls.Certificate // lower-case DNS name or IP
	wildcard map[string][]*cryptotls.Certificate // "example.com" for *.example.com
	def      *cryptotls.Certificate              // store default; nil: generated one
	all      []*cryptotls.Certificate            // every added certificate, in order
}

func newStore() *store {
	return &store{
		exact:    make(map[string][]*cryptotls.Certificate),
		wildcard: make(map[string][]*cryptotls.Certificate),
	}
}

// add indexes c under its SANs, or its common name when it has none.
func (s *store) add(c *cryptotls.Certificate) {
	s.all = append(s.all, c)
	leaf := c.Leaf
	names := leaf.DNSNames
	if len(names) == 0 && leaf.Subject.CommonName != "" && len(leaf.IPAddresses) == 0 {
		names = []string{leaf.Subject.CommonName}
	}
	for _, n := range names {
		n = strings.ToLower(strings.TrimSuffix(n, "."))
		if parent, ok := strings.CutPrefix(n, "*."); ok {
			s.wildcard[parent] = append(s.wildcard[parent], c)
			continue
		}
		s.exact[n] = append(s.exact[n], c)
	}
	for _, ip := range leaf.IPAddresses {
		k := ip.String()
		s.exact[k] = append(s.exact[k], c)
	}
}

// match returns the certificate for serverName: exact name first, then a
// wildcard covering exactly one more label. nil when none covers it.
func (s *store) match(hello *cryptotls.ClientHelloInfo, serverName string) *cryptotls.Certificate {
	name := strings.ToLower(strings.TrimSuffix(serverName, "."))
	if cs := s.exact[name]; len(cs) > 0 {
		return pick(hello, cs)
	}
	if _, parent, ok := strings.Cut(name, "."); ok && parent != "" {
		if cs := s.wildcard[parent]; len(cs) > 0 {
			return pick(hello, cs)
		}
	}
	return nil
}

// pick prefers a certificate the client can use (say ECDSA vs RSA) when
// several cover the same name; otherwise the first configured wins.
func pick(hello *cryptotls.ClientHelloInfo, cs []*cryptotls.Certificate) *cryptotls.Certificate {
	if len(cs) == 1 || hello == nil {
		return cs[0]
	}
	for _, c := range cs {
		if hello.SupportsCertificate(c) == nil {
			return c
		}
	}
	return cs[0]
}

var errNoSNI = errors.New("client sent no server name (SNI) and sniStrict is on")

// getCertificate is the GetCertificate callback for one option set.
func (s *store) getCertificate(strict bool) func(*cryptotls.ClientHelloInfo) (*cryptotls.Certificate, error) {
	return func(hello *cryptotls.ClientHelloInfo) (*cryptotls.Certificate, error) {
		if hello.ServerName == "" {
			if strict {
				return nil, errNoSNI
			}
			return s.fallback()
		}
		if c := s.match(hello, hello.ServerName); c != nil {
			return c, nil
		}
		if strict {
			return nil, fmt.Errorf("no certificate for server name %q and sniStrict is on", hello.ServerName)
		}
		return s.fallback()
	}
}

func (s *store) fallback() (*cryptotls.Certificate, error) {
	if s.def != nil {
		return s.def, nil
	}
	return DefaultCertificate()
}
