package tls

import (
	"crypto/sha256"
	cryptotls "crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"

	"github.com/guan-gateway/guan/config/dynamic"
	"github.com/guan-gateway/guan/tls/tlcp"
)

// DefaultCipherSuites are the TLS 1.2 suites offered when an option sets no
// cipherSuites: forward-secret AEAD only. Go's own default still has the
// CBC-SHA1 suites, which scanners (testssl.sh) report as weak. TLS 1.3
// suites are not configurable and always on.
var DefaultCipherSuites = []uint16{
	cryptotls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	cryptotls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	cryptotls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	cryptotls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	cryptotls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	cryptotls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
}

// DefaultALPNProtocols are offered when an option sets no alpnProtocols.
var DefaultALPNProtocols = []string{"h2", "http/1.1", "acme-tls/1"}

var versions = map[string]uint16{
	"VersionTLS10": cryptotls.VersionTLS10,
	"VersionTLS11": cryptotls.VersionTLS11,
	"VersionTLS12": cryptotls.VersionTLS12,
	"VersionTLS13": cryptotls.VersionTLS13,
}

// cipherSuites maps IANA names (and Go's older aliases) to suite IDs.
var cipherSuites = func() map[string]uint16 {
	m := make(map[string]uint16)
	for _, s := range cryptotls.CipherSuites() {
		m[s.Name] = s.ID
	}
	for _, s := range cryptotls.InsecureCipherSuites() {
		m[s.Name] = s.ID
	}
	// Names Go exported before the IANA spelling, still used in Traefik configs.
	m["TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305"] = cryptotls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256
	m["TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305"] = cryptotls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256
	return m
}()

// curves maps lower-cased curve names, Go style and RFC style, to IDs.
var curves = map[string]cryptotls.CurveID{
	"curvep256": cryptotls.CurveP256, "p256": cryptotls.CurveP256, "p-256": cryptotls.CurveP256, "secp256r1": cryptotls.CurveP256,
	"curvep384": cryptotls.CurveP384, "p384": cryptotls.CurveP384, "p-384": cryptotls.CurveP384, "secp384r1": cryptotls.CurveP384,
	"curvep521": cryptotls.CurveP521, "p521": cryptotls.CurveP521, "p-521": cryptotls.CurveP521, "secp521r1": cryptotls.CurveP521,
	"x25519":             cryptotls.X25519,
	"x25519mlkem768":     cryptotls.X25519MLKEM768,
	"secp256r1mlkem768":  cryptotls.SecP256r1MLKEM768,
	"secp384r1mlkem1024": cryptotls.SecP384r1MLKEM1024,
}

var clientAuthTypes = map[string]cryptotls.ClientAuthType{
	"NoClientCert":               cryptotls.NoClientCert,
	"RequestClientCert":          cryptotls.RequestClientCert,
	"RequireAnyClientCert":       cryptotls.RequireAnyClientCert,
	"VerifyClientCertIfGiven":    cryptotls.VerifyClientCertIfGiven,
	"RequireAndVerifyClientCert": cryptotls.RequireAndVerifyClientCert,
}

// buildOptions turns one tls.options entry into a server config without
// certificates; the caller installs GetCertificate.
func buildOptions(o *dynamic.Options, dir string) (*cryptotls.Config, *tlcpSettings, error) {
	c, err := buildTLS(o, dir)
	if err != nil {
		return nil, nil, err
	}
	if o == nil {
		o = &dynamic.Options{}
	}
	gm := &tlcpSettings{}
	if gm.mode, err = parseTLCPMode(o.TLCP); err != nil {
		return nil, nil, err
	}
	for _, name := range o.TLCPCipherSuites {
		id, err := tlcp.CipherSuiteByName(name)
		if err != nil {
			return nil, nil, fmt.Errorf("tlcpCipherSuites: %w", err)
		}
		gm.suites = append(gm.suites, id)
	}
	if gm.mode != TLCPOff && len(o.ClientAuth.CAFiles) > 0 {
		var pems [][]byte
		for _, f := range o.ClientAuth.CAFiles {
			b, err := readFileOrContent(f, dir)
			if err != nil {
				return nil, nil, fmt.Errorf("clientAuth.caFiles: %w", err)
			}
			pems = append(pems, b)
		}
		gm.clientCAs = smPool(pems)
		h := sha256.New()
		for _, b := range pems {
			h.Write(b)
		}
		gm.caDigest = hex.EncodeToString(h.Sum(nil))
	}
	return c, gm, nil
}

func buildTLS(o *dynamic.Options, dir string) (*cryptotls.Config, error) {
	c := &cryptotls.Config{MinVersion: cryptotls.VersionTLS12}
	if o == nil {
		o = &dynamic.Options{}
	}
	if o.MinVersion != "" {
		v, ok := versions[o.MinVersion]
		if !ok {
			return nil, fmt.Errorf("unknown minVersion %q: use one of %s", o.MinVersion, VersionNames())
		}
		c.MinVersion = v
	}
	if o.MaxVersion != "" {
		v, ok := versions[o.MaxVersion]
		if !ok {
			return nil, fmt.Errorf("unknown maxVersion %q: use one of %s", o.MaxVersion, VersionNames())
		}
		c.MaxVersion = v
		if v < c.MinVersion {
			return nil, fmt.Errorf("maxVersion %s is lower than minVersion: raise maxVersion or lower minVersion", o.MaxVersion)
		}
	}
	for _, name := range o.CipherSuites {
		id, ok := cipherSuites[name]
		if !ok {
			return nil, fmt.Errorf("unknown cipher suite %q: use IANA names such as TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", name)
		}
		c.CipherSuites = append(c.CipherSuites, id)
	}
	if len(c.CipherSuites) == 0 && c.MinVersion >= cryptotls.VersionTLS12 {
		// An option that lowers minVersion asks for old clients, which
		// need the CBC suites: it keeps Go's list.
		c.CipherSuites = slices.Clone(DefaultCipherSuites)
	}
	for _, name := range o.CurvePreferences {
		id, ok := curves[strings.ToLower(name)]
		if !ok {
			return nil, fmt.Errorf("unknown curve %q in curvePreferences: use CurveP256, CurveP384, CurveP521, X25519 or X25519MLKEM768", name)
		}
		c.CurvePreferences = append(c.CurvePreferences, id)
	}
	if len(o.ALPNProtocols) > 0 {
		c.NextProtos = slices.Clone(o.ALPNProtocols)
	} else {
		c.NextProtos = slices.Clone(DefaultALPNProtocols)
	}
	c.SessionTicketsDisabled = o.DisableSessionTickets
	for i, f := range o.ECHKeys {
		data, err := readFileOrContent(f, dir)
		if err != nil {
			return nil, fmt.Errorf("echKeys[%d]: %w", i, err)
		}
		k, err := parseECHKey(data)
		if err != nil {
			return nil, fmt.Errorf("echKeys[%d] (%s): %w", i, describe(f), err)
		}
		c.EncryptedClientHelloKeys = append(c.EncryptedClientHelloKeys, k)
	}
	if err := applyClientAuth(c, &o.ClientAuth, dir); err != nil {
		return nil, err
	}
	return c, nil
}

// equivalent reports whether two configs built by buildOptions (before
// GetCertificate is set) negotiate the same way: every field buildOptions
// and applyClientAuth set is compared.
func equivalent(a, b *cryptotls.Config) bool {
	return a.MinVersion == b.MinVersion && a.MaxVersion == b.MaxVersion &&
		slices.Equal(a.CipherSuites, b.CipherSuites) &&
		slices.Equal(a.CurvePreferences, b.CurvePreferences) &&
		slices.Equal(a.NextProtos, b.NextProtos) &&
		a.SessionTicketsDisabled == b.SessionTicketsDisabled &&
		sameECHKeys(a.EncryptedClientHelloKeys, b.EncryptedClientHelloKeys) &&
		a.ClientAuth == b.ClientAuth && a.ClientCAs.Equal(b.ClientCAs)
}

// applyClientAuth follows Traefik: CA files alone mean
// RequireAndVerifyClientCert; the verifying types need CA files.
func applyClientAuth(c *cryptotls.Config, ca *dynamic.ClientAuth, dir string) error {
	if len(ca.CAFiles) > 0 {
		pool := x509.NewCertPool()
		for _, f := range ca.CAFiles {
			pem, err := readFileOrContent(f, dir)
			if err != nil {
				return fmt.Errorf("clientAuth.caFiles: %w", err)
			}
			// SM2 CAs (for TLCP clients) do not parse here: a file of
			// those alone leaves TLS clients nothing to verify against.
			if !pool.AppendCertsFromPEM(pem) && len(smPool([][]byte{pem}).Subjects()) == 0 {
				return fmt.Errorf("clientAuth.caFiles %s: no PEM certificate found", describe(f))
			}
		}
		c.ClientCAs = pool
		c.ClientAuth = cryptotls.RequireAndVerifyClientCert
	}
	if ca.ClientAuthType == "" {
		return nil
	}
	t, ok := clientAuthTypes[ca.ClientAuthType]
	if !ok {
		return fmt.Errorf("unknown clientAuth.clientAuthType %q: use NoClientCert, RequestClientCert, RequireAnyClientCert, VerifyClientCertIfGiven or RequireAndVerifyClientCert", ca.ClientAuthType)
	}
	if c.ClientCAs == nil && (t == cryptotls.VerifyClientCertIfGiven || t == cryptotls.RequireAndVerifyClientCert) {
		return fmt.Errorf("clientAuth.clientAuthType %s needs clientAuth.caFiles to verify client certificates against", ca.ClientAuthType)
	}
	c.ClientAuth = t
	return nil
}

// VersionNames lists the accepted TLS version names, sorted.
func VersionNames() string {
	names := make([]string, 0, len(versions))
	for n := range versions {
		names = append(names, n)
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}

// ParseVersion returns the TLS version of a Traefik version name
// ("VersionTLS12").
func ParseVersion(name string) (uint16, bool) {
	v, ok := versions[name]
	return v, ok
}

// ParseCipherSuite returns the ID of a cipher suite name (IANA, or Go's
// older aliases).
func ParseCipherSuite(name string) (uint16, bool) {
	id, ok := cipherSuites[name]
	return id, ok
}
