// Package tls builds the server-side TLS configuration of one dynamic
// configuration snapshot: the certificate store with SNI selection and the
// named TLS options routers refer to.
package tls

import (
	cryptotls "crypto/tls"
	"crypto/x509"
	"fmt"
	"maps"
	"slices"

	"github.com/guan-gateway/guan/config"
	"github.com/guan-gateway/guan/config/dynamic"
	"github.com/guan-gateway/guan/tls/tlcp"
)

// DefaultOptions names the option set used when a router names none.
const DefaultOptions = "default"

// DefaultStore is the only certificate store, as in Traefik v3.
const DefaultStore = "default"

// Manager holds the TLS configurations of one snapshot. It is immutable and
// safe for concurrent use.
type Manager struct {
	store   *store
	sm      *smStore
	tlcp    map[*cryptotls.Config]TLCPOption
	configs map[string]*cryptotls.Config
	errs    map[string]error // options that failed to build
	names   []string
}

// NewManager loads certificates and builds every option set of cfg (which
// may be nil). baseDir, when not nil, gives the directory relative paths
// are resolved against: baseDir(i) for tls.certificates[i], baseDir(-1)
// for tls.stores and the caFiles of tls.options.
//
// A broken certificate is skipped and a broken option set is reported and
// left out, so the rest keeps working: Config returns that option's error.
// The returned errors are for reporting; the Manager is always usable.
func NewManager(cfg *dynamic.TLSConfiguration, baseDir func(i int) string) (*Manager, config.Errors) {
	if cfg == nil {
		cfg = &dynamic.TLSConfiguration{}
	}
	var errs config.Errors
	report := func(format string, a ...any) {
		errs = append(errs, &config.Error{Msg: fmt.Sprintf(format, a...)})
	}

	sharedDir := ""
	if baseDir != nil {
		sharedDir = baseDir(-1)
	}
	st := newStore()
	sm := &smStore{}
	used := map[string]any{} // this build's certificates, for lastGood
	for i, c := range cfg.Certificates {
		if c == nil {
			continue
		}
		dir := ""
		if baseDir != nil {
			dir = baseDir(i)
		}
		for _, s := range c.Stores {
			if s != DefaultStore {
				report("tls.certificates[%d]: store %q is not supported, only %q: remove it from stores", i, s, DefaultStore)
			}
		}
		key := dir + "\x00" + c.CertFile + "\x00" + c.KeyFile + "\x00" + c.EncCertFile + "\x00" + c.EncKeyFile
		if c.EncCertFile != "" || c.EncKeyFile != "" {
			if c.EncCertFile == "" || c.EncKeyFile == "" {
				report("tls.certificates[%d] (certFile %s): an SM2 pair needs both encCertFile and encKeyFile", i, describe(c.CertFile))
				continue
			}
			pair, err := LoadSMPair(c.CertFile, c.KeyFile, c.EncCertFile, c.EncKeyFile, dir)
			if err != nil {
				if prev, ok := lastGoodLoad(key); ok {
					report("tls.certificates[%d]: %v; the pair loaded before keeps serving", i, err)
					sm.all = append(sm.all, prev.(*tlcp.Certificate))
					used[key] = prev
				} else {
					report("tls.certificates[%d]: %v", i, err)
				}
				continue
			}
			used[key] = pair
			sm.all = append(sm.all, pair)
			continue
		}
		cert, err := loadKeyPair(c.CertFile, c.KeyFile, dir)
		if err != nil {
			if pem, rerr := readFileOrContent(c.CertFile, dir); rerr == nil && isSM2PEM(pem) {
				err = fmt.Errorf("an SM2 certificate is served over TLCP and needs its encryption pair: add encCertFile and encKeyFile")
			}
			if prev, ok := lastGoodLoad(key); ok {
				report("tls.certificates[%d] (certFile %s): %v; the certificate loaded before keeps serving", i, describe(c.CertFile), err)
				st.add(prev.(*cryptotls.Certificate))
				used[key] = prev
			} else {
				report("tls.certificates[%d] (certFile %s): %v", i, describe(c.CertFile), err)
			}
			continue
		}
		used[key] = cert
		st.add(cert)
	}
	lastGoodKeep(used)
	liveCaches := map[string]bool{}
	defer pruneSessionCaches(liveCaches)

	for name, s := range cfg.Stores {
		if name != DefaultStore {
			report("tls.stores.%s: only the %q store is supported: rename it", name, DefaultStore)
			continue
		}
		if s == nil || s.DefaultCertificate == nil {
			continue
		}
		cert, err := loadKeyPair(s.DefaultCertificate.CertFile, s.DefaultCertificate.KeyFile, sharedDir)
		if err != nil {
			report("tls.stores.%s.defaultCertificate (certFile %s): %v", name, describe(s.DefaultCertificate.CertFile), err)
			continue
		}
		st.def = cert
	}

	m := &Manager{store: st, sm: sm, tlcp: map[*cryptotls.Config]TLCPOption{}, configs: make(map[string]*cryptotls.Config), errs: make(map[string]error)}
	opts := cfg.Options
	if _, ok := opts[DefaultOptions]; !ok {
		opts = make(map[string]*dynamic.Options, len(cfg.Options)+1)
		for k, v := range cfg.Options {
			opts[k] = v
		}
		opts[DefaultOptions] = nil
	}
	// Equivalent option sets share one *Config, so comparing pointers
	// tells whether two names mean the same handshake settings; the first
	// name in sorted order builds it.
	type builtConf struct {
		c      *cryptotls.Config
		gm     *tlcpSettings
		strict bool
	}
	var built []builtConf
	for _, name := range slices.Sorted(maps.Keys(opts)) {
		o := opts[name]
		m.names = append(m.names, name)
		c, gm, err := buildOptions(o, sharedDir)
		if err == nil && gm.mode != TLCPOff && len(sm.all) == 0 {
			err = fmt.Errorf("tlcp = %q needs an SM2 pair: give a tls.certificates entry encCertFile and encKeyFile", o.TLCP)
		}
		if err != nil {
			err = fmt.Errorf("tls.options.%s: %w", name, err)
			m.errs[name] = err
			errs = append(errs, &config.Error{Msg: err.Error()})
			continue
		}
		strict := o != nil && o.SniStrict
		if i := slices.IndexFunc(built, func(b builtConf) bool { return b.strict == strict && equivalent(b.c, c) && b.gm.equal(gm) }); i >= 0 {
			m.configs[name] = built[i].c
			continue
		}
		c.GetCertificate = st.getCertificate(strict)
		tickets.install(c)
		m.configs[name] = c
		built = append(built, builtConf{c, gm, strict})
		if gm.mode != TLCPOff {
			m.tlcp[c] = TLCPOption{Mode: gm.mode, Config: &tlcp.Config{
				GetCertificate: sm.getter(strict),
				ClientAuth:     c.ClientAuth,
				ClientCAs:      gm.clientCAs,
				CipherSuites:   gm.suites,
				SessionCache:   sessionCache(fmt.Sprintf("%s|%d|%s", name, c.ClientAuth, gm.caDigest), liveCaches),
			}}
		}
	}
	slices.SortFunc(errs, func(a, b *config.Error) int {
		if a.Msg < b.Msg {
			return -1
		}
		if a.Msg > b.Msg {
			return 1
		}
		return 0
	})
	return m, errs
}

// Config returns the server TLS config of the named option set ("" means
// "default"). It is shared: callers must not modify it. Option sets with
// equivalent settings (say, "default" and an empty "compat") return the
// same pointer, so callers compare pointers to compare settings.
func (m *Manager) Config(options string) (*cryptotls.Config, error) {
	if options == "" {
		options = DefaultOptions
	}
	if c, ok := m.configs[options]; ok {
		return c, nil
	}
	if err, ok := m.errs[options]; ok {
		return nil, err
	}
	return nil, fmt.Errorf("unknown TLS option %q: define it under tls.options or use %q", options, DefaultOptions)
}

// TLCP returns the TLCP side of the option set whose TLS config is c (as
// returned by Config); its Mode is TLCPOff when the set serves TLS only.
func (m *Manager) TLCP(c *cryptotls.Config) TLCPOption { return m.tlcp[c] }

// Options lists the configured option set names, "default" included, sorted.
func (m *Manager) Options() []string { return slices.Clone(m.names) }

// Certificates returns the leaf of every configured certificate: those of
// tls.certificates, then the store's defaultCertificate when one is set.
// The generated default certificate is not included.
func (m *Manager) Certificates() []*x509.Certificate {
	out := make([]*x509.Certificate, 0, len(m.store.all)+1)
	for _, c := range m.store.all {
		out = append(out, c.Leaf)
	}
	if m.store.def != nil {
		out = append(out, m.store.def.Leaf)
	}
	for _, p := range m.sm.all {
		out = append(out, tlcp.X509(p.Sign.Leaf), tlcp.X509(p.Enc.Leaf))
	}
	return out
}

// CertInfo describes one configured certificate for the API.
type CertInfo struct {
	Leaf     *x509.Certificate // for SM2 certificates, tlcp.X509's view
	Protocol string            // "tls" or "tlcp"
	Usage    string            // "sign" or "enc" for TLCP pairs
	KeyType  string            // "RSA", "ECDSA", "Ed25519", "SM2"
	Default  bool              // the store's defaultCertificate
}

// Inventory lists every configured certificate: tls.certificates, the
// store's default one, and both halves of every SM2 pair.
func (m *Manager) Inventory() []CertInfo {
	var out []CertInfo
	for _, c := range m.store.all {
		out = append(out, CertInfo{Leaf: c.Leaf, Protocol: "tls", KeyType: c.Leaf.PublicKeyAlgorithm.String()})
	}
	if d := m.store.def; d != nil {
		out = append(out, CertInfo{Leaf: d.Leaf, Protocol: "tls", KeyType: d.Leaf.PublicKeyAlgorithm.String(), Default: true})
	}
	for _, p := range m.sm.all {
		out = append(out,
			CertInfo{Leaf: tlcp.X509(p.Sign.Leaf), Protocol: "tlcp", Usage: "sign", KeyType: "SM2"},
			CertInfo{Leaf: tlcp.X509(p.Enc.Leaf), Protocol: "tlcp", Usage: "enc", KeyType: "SM2"})
	}
	return out
}

// Certificate returns the certificate the store serves for serverName
// without sniStrict, for diagnostics and the dashboard.
func (m *Manager) Certificate(serverName string) (*cryptotls.Certificate, error) {
	return m.store.getCertificate(false)(&cryptotls.ClientHelloInfo{ServerName: serverName})
}

func loadKeyPair(certFile, keyFile, dir string) (*cryptotls.Certificate, error) {
	certPEM, err := readFileOrContent(certFile, dir)
	if err != nil {
		return nil, fmt.Errorf("certFile: %w", err)
	}
	keyPEM, err := readFileOrContent(keyFile, dir)
	if err != nil {
		return nil, fmt.Errorf("keyFile: %w", err)
	}
	cert, err := cryptotls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("%w: check that certFile holds the PEM certificate chain and keyFile its matching private key", err)
	}
	if cert.Leaf == nil { // only when GODEBUG x509keypairleaf=0
		if cert.Leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return nil, fmt.Errorf("parse certificate: %w", err)
		}
	}
	return &cert, nil
}
