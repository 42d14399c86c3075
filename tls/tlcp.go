package tls

import (
	"bytes"
	"crypto/x509"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/emmansun/gmsm/smx509"

	"github.com/guan-gateway/guan/tls/tlcp"
)

// TLCPMode says whether an option set serves TLCP beside TLS.
type TLCPMode int

const (
	TLCPOff  TLCPMode = iota // TLS only (the default)
	TLCPAuto                 // TLS and TLCP on the same port, by ClientHello version
	TLCPOnly                 // TLCP only: TLS clients are refused
)

func parseTLCPMode(s string) (TLCPMode, error) {
	switch strings.ToLower(s) {
	case "", "off":
		return TLCPOff, nil
	case "auto":
		return TLCPAuto, nil
	case "only":
		return TLCPOnly, nil
	}
	return TLCPOff, fmt.Errorf("unknown tlcp %q: use off, auto or only", s)
}

// tlcpSettings is the TLCP half of one option set.
type tlcpSettings struct {
	mode      TLCPMode
	suites    []uint16
	clientCAs *smx509.CertPool // SM2 and other CAs of clientAuth.caFiles
	caDigest  string           // SHA-256 of those CA files, for the session cache's key
}

func (a *tlcpSettings) equal(b *tlcpSettings) bool {
	return a.mode == b.mode && slices.Equal(a.suites, b.suites) &&
		((a.clientCAs == nil) == (b.clientCAs == nil)) && (a.clientCAs == nil || a.clientCAs.Equal(b.clientCAs))
}

// TLCPOption is what an entrypoint needs to serve TLCP for one option set.
type TLCPOption struct {
	Mode   TLCPMode
	Config *tlcp.Config // nil when Mode is TLCPOff
}

// smStore picks the SM2 pair for a server name: the first whose signing
// certificate covers it, else the first configured.
type smStore struct{ all []*tlcp.Certificate }

// getter returns the GetCertificate of an option set; with sniStrict a name
// no pair covers (or no name) is refused, as for TLS.
func (s *smStore) getter(strict bool) func(string) (*tlcp.Certificate, error) {
	return func(name string) (*tlcp.Certificate, error) {
		if len(s.all) == 0 {
			return nil, fmt.Errorf("no SM2 certificate pair in tls.certificates")
		}
		if name != "" {
			for _, c := range s.all {
				if c.Sign.Leaf.VerifyHostname(name) == nil {
					return c, nil
				}
			}
		}
		if strict {
			return nil, fmt.Errorf("no SM2 pair covers server name %q and sniStrict is on", name)
		}
		return s.all[0], nil
	}
}

// sessionCaches keeps each option set's TLCP session cache across reloads,
// so clients resume after a configuration change as they do with TLS. The
// key includes the client-certificate policy: when it changes, sessions
// made under the old one are not resumed.
var sessionCaches = struct {
	sync.Mutex
	m map[string]*tlcp.SessionCache
}{m: map[string]*tlcp.SessionCache{}}

func sessionCache(key string, live map[string]bool) *tlcp.SessionCache {
	sessionCaches.Lock()
	defer sessionCaches.Unlock()
	live[key] = true
	c, ok := sessionCaches.m[key]
	if !ok {
		c = tlcp.NewSessionCache(0, 0)
		sessionCaches.m[key] = c
	}
	return c
}

// lastGood keeps the last certificate loaded from each set of files: when a
// reload finds a file broken, the error is reported and the certificate
// loaded before keeps serving instead of disappearing. Each build keeps only
// the entries it used.
var lastGood = struct {
	sync.Mutex
	m map[string]any // files key → *cryptotls.Certificate or *tlcp.Certificate
}{m: map[string]any{}}

func lastGoodLoad(key string) (any, bool) {
	lastGood.Lock()
	defer lastGood.Unlock()
	v, ok := lastGood.m[key]
	return v, ok
}

// lastGoodKeep replaces the remembered certificates with those of a build.
func lastGoodKeep(used map[string]any) {
	lastGood.Lock()
	defer lastGood.Unlock()
	lastGood.m = used
}

// pruneSessionCaches drops the caches no option set of a build uses.
func pruneSessionCaches(live map[string]bool) {
	sessionCaches.Lock()
	defer sessionCaches.Unlock()
	for k := range sessionCaches.m {
		if !live[k] {
			delete(sessionCaches.m, k)
		}
	}
}

// LoadSMPair reads an SM2 signing pair and its encryption pair, each value
// a file path (relative to dir) or inline PEM; errors name the key at fault.
func LoadSMPair(certFile, keyFile, encCertFile, encKeyFile, dir string) (*tlcp.Certificate, error) {
	read := func(field, v string) ([]byte, error) {
		b, err := readFileOrContent(v, dir)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", field, err)
		}
		return b, nil
	}
	var pems [4][]byte
	for i, f := range [][2]string{{"certFile", certFile}, {"keyFile", keyFile}, {"encCertFile", encCertFile}, {"encKeyFile", encKeyFile}} {
		b, err := read(f[0], f[1])
		if err != nil {
			return nil, err
		}
		pems[i] = b
	}
	sign, err := tlcp.NewKeyPair(pems[0], pems[1])
	if err != nil {
		return nil, fmt.Errorf("signing pair (certFile %s, keyFile %s): %w", describe(certFile), describe(keyFile), err)
	}
	enc, err := tlcp.NewKeyPair(pems[2], pems[3])
	if err != nil {
		return nil, fmt.Errorf("encryption pair (encCertFile %s, encKeyFile %s): %w", describe(encCertFile), describe(encKeyFile), err)
	}
	return &tlcp.Certificate{Sign: sign, Enc: enc}, nil
}

// smPool reads every certificate of the CA PEMs, SM2 ones included.
func smPool(pems [][]byte) *smx509.CertPool {
	p := smx509.NewCertPool()
	for _, b := range pems {
		p.AppendCertsFromPEM(b)
	}
	return p
}

// isSM2PEM reports whether a PEM certificate carries an SM2 key, to tell a
// user who gave an SM2 certificate without its encryption pair what is missing.
func isSM2PEM(b []byte) bool {
	c, err := smx509.ParseCertificatePEM(bytes.TrimSpace(b))
	if err != nil {
		return false
	}
	_, isStd := x509.ParseCertificate(c.Raw)
	return isStd != nil
}
