package tls

import (
	"cmp"
	cryptotls "crypto/tls"
	"crypto/x509"
	"net"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/guan-gateway/guan/config/dynamic"
)

// handshake runs a real TLS handshake over loopback and returns the client's
// view of it, or the first error seen by either side.
func handshake(t *testing.T, srv, cli *cryptotls.Config) (cryptotls.ConnectionState, error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	srvErr := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			srvErr <- err
			return
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		tc := cryptotls.Server(c, srv)
		err = tc.Handshake()
		if err == nil {
			_, err = tc.Write([]byte("ok")) // lets a TLS 1.3 client see a client-cert rejection
		}
		srvErr <- err
	}()
	conn, err := cryptotls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", ln.Addr().String(), cli)
	if err != nil {
		<-srvErr
		return cryptotls.ConnectionState{}, err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	if err := <-srvErr; err != nil {
		return cryptotls.ConnectionState{}, err
	}
	buf := make([]byte, 2)
	if _, err := conn.Read(buf); err != nil {
		return cryptotls.ConnectionState{}, err
	}
	return conn.ConnectionState(), nil
}

func mustConfig(t *testing.T, m *Manager, name string) *cryptotls.Config {
	t.Helper()
	c, err := m.Config(name)
	if err != nil {
		t.Fatalf("Config(%q): %v", name, err)
	}
	return c
}

func TestSNISelection(t *testing.T) {
	ca := newTestCA(t)
	dir := t.TempDir()
	exactCert, exactKey := ca.issue(t, false, "a.test")
	wildCert, wildKey := ca.issue(t, false, "*.wild.test")
	defCert, defKey := ca.issue(t, false, "default.test")
	// a.test from files relative to a base directory, the others inline.
	writeFiles(t, dir, "a", exactCert, exactKey)

	cfg := &dynamic.TLSConfiguration{
		Certificates: []*dynamic.CertAndStores{
			{Certificate: dynamic.Certificate{CertFile: "a.pem", KeyFile: "a-key.pem"}},
			{Certificate: dynamic.Certificate{CertFile: wildCert, KeyFile: wildKey}},
		},
	}
	withStore := *cfg
	withStore.Stores = map[string]*dynamic.Store{"default": {DefaultCertificate: &dynamic.Certificate{CertFile: defCert, KeyFile: defKey}}}

	base := func(int) string { return dir }
	plain, errs := NewManager(cfg, base)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	stored, errs := NewManager(&withStore, base)
	if len(errs) > 0 {
		t.Fatal(errs)
	}

	tests := []struct {
		sni            string
		want, wantNoDf string // common name served with / without a store default
	}{
		{"a.test", "a.test", "a.test"},
		{"A.Test", "a.test", "a.test"},
		{"x.wild.test", "*.wild.test", "*.wild.test"},
		{"y.x.wild.test", "default.test", DefaultCertCommonName}, // a wildcard covers one label
		{"wild.test", "default.test", DefaultCertCommonName},
		{"", "default.test", DefaultCertCommonName},
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM([]byte(ca.pem))
	for _, tt := range tests {
		t.Run(tt.sni, func(t *testing.T) {
			for _, c := range []struct {
				m    *Manager
				want string
			}{{stored, tt.want}, {plain, tt.wantNoDf}} {
				st, err := handshake(t, mustConfig(t, c.m, ""), &cryptotls.Config{ServerName: tt.sni, InsecureSkipVerify: true})
				if err != nil {
					t.Fatal(err)
				}
				if got := st.PeerCertificates[0].Subject.CommonName; got != c.want {
					t.Errorf("SNI %q: served %q, want %q", tt.sni, got, c.want)
				}
			}
		})
	}

	// Certificates lists the configured certificates, the store default
	// last, and never the generated default certificate.
	cns := func(m *Manager) (out []string) {
		for _, c := range m.Certificates() {
			out = append(out, c.Subject.CommonName)
		}
		return out
	}
	if got := cns(plain); strings.Join(got, " ") != "a.test *.wild.test" {
		t.Errorf("Certificates() = %q, want a.test *.wild.test", got)
	}
	if got := cns(stored); strings.Join(got, " ") != "a.test *.wild.test default.test" {
		t.Errorf("Certificates() with a store default = %q, want a.test *.wild.test default.test", got)
	}
	if empty, _ := NewManager(nil, nil); len(empty.Certificates()) != 0 {
		t.Errorf("Certificates() without certificates = %d entries, want none", len(empty.Certificates()))
	}

	// The generated default certificate is the same across snapshots.
	a, _ := plain.Certificate("nothing.test")
	other, _ := NewManager(nil, nil)
	b, _ := other.Certificate("nothing.test")
	if a != b {
		t.Error("generated default certificate differs between managers; want one per process")
	}
}

func TestSNIStrict(t *testing.T) {
	ca := newTestCA(t)
	c, k := ca.issue(t, false, "a.test")
	m, errs := NewManager(&dynamic.TLSConfiguration{
		Certificates: []*dynamic.CertAndStores{{Certificate: dynamic.Certificate{CertFile: c, KeyFile: k}}},
		Options:      map[string]*dynamic.Options{"strict": {SniStrict: true}},
	}, nil)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	strict := mustConfig(t, m, "strict")
	tests := []struct {
		sni     string
		wantErr bool
	}{{"a.test", false}, {"", true}, {"b.test", true}}
	for _, tt := range tests {
		_, err := handshake(t, strict, &cryptotls.Config{ServerName: tt.sni, InsecureSkipVerify: true})
		if (err != nil) != tt.wantErr {
			t.Errorf("SNI %q: err = %v, want error %v", tt.sni, err, tt.wantErr)
		}
	}
	// Without sniStrict an unknown name gets the default certificate.
	if _, err := handshake(t, mustConfig(t, m, "default"), &cryptotls.Config{ServerName: "b.test", InsecureSkipVerify: true}); err != nil {
		t.Errorf("default options refused unknown SNI: %v", err)
	}
}

func TestVersionsAndALPN(t *testing.T) {
	m, errs := NewManager(&dynamic.TLSConfiguration{Options: map[string]*dynamic.Options{
		"modern":  {MinVersion: "VersionTLS13"},
		"old":     {MinVersion: "VersionTLS12", MaxVersion: "VersionTLS12", CipherSuites: []string{"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"}, CurvePreferences: []string{"secp384r1"}},
		"grpc":    {ALPNProtocols: []string{"h2"}},
		"default": {MinVersion: "VersionTLS11"},
	}}, nil)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	type client struct {
		min, max uint16
		ciphers  []uint16
		alpn     []string
	}
	tests := []struct {
		option      string
		client      client
		wantErr     bool
		wantVersion uint16
		wantALPN    string
	}{
		{"modern", client{max: cryptotls.VersionTLS12}, true, 0, ""},
		{"modern", client{}, false, cryptotls.VersionTLS13, ""},
		{"old", client{min: cryptotls.VersionTLS13}, true, 0, ""},
		{"old", client{}, false, cryptotls.VersionTLS12, ""},
		{"old", client{max: cryptotls.VersionTLS12, ciphers: []uint16{cryptotls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}}, true, 0, ""},
		{"grpc", client{alpn: []string{"mqtt"}}, true, 0, ""},
		{"grpc", client{alpn: []string{"h2", "http/1.1"}}, false, cryptotls.VersionTLS13, "h2"},
		{"default", client{alpn: []string{"http/1.1"}}, false, cryptotls.VersionTLS13, "http/1.1"},
		{"default", client{min: cryptotls.VersionTLS11, max: cryptotls.VersionTLS11}, false, cryptotls.VersionTLS11, ""},
	}
	for _, tt := range tests {
		cli := &cryptotls.Config{
			InsecureSkipVerify: true, ServerName: "x.test",
			MinVersion: cmp.Or(tt.client.min, cryptotls.VersionTLS10), MaxVersion: tt.client.max,
			CipherSuites: tt.client.ciphers, NextProtos: tt.client.alpn,
		}
		st, err := handshake(t, mustConfig(t, m, tt.option), cli)
		if (err != nil) != tt.wantErr {
			t.Errorf("option %s, client %+v: err = %v, want error %v", tt.option, tt.client, err, tt.wantErr)
			continue
		}
		if err != nil {
			continue
		}
		if st.Version != tt.wantVersion {
			t.Errorf("option %s: version %x, want %x", tt.option, st.Version, tt.wantVersion)
		}
		if st.NegotiatedProtocol != tt.wantALPN {
			t.Errorf("option %s: ALPN %q, want %q", tt.option, st.NegotiatedProtocol, tt.wantALPN)
		}
	}
	if c := mustConfig(t, m, "old"); len(c.CurvePreferences) != 1 || c.CurvePreferences[0] != cryptotls.CurveP384 {
		t.Errorf("curvePreferences secp384r1 = %v, want [CurveP384]", c.CurvePreferences)
	}
}

func TestClientAuth(t *testing.T) {
	ca := newTestCA(t)
	other := newTestCA(t)
	dir := t.TempDir()
	srvCert, srvKey := ca.issue(t, false, "a.test")
	caFile, _ := writeFiles(t, dir, "ca", ca.pem, "")
	good, goodKey := ca.issue(t, true, "client")
	bad, badKey := other.issue(t, true, "intruder")
	goodPair, _ := cryptotls.X509KeyPair([]byte(good), []byte(goodKey))
	badPair, _ := cryptotls.X509KeyPair([]byte(bad), []byte(badKey))

	m, errs := NewManager(&dynamic.TLSConfiguration{
		Certificates: []*dynamic.CertAndStores{{Certificate: dynamic.Certificate{CertFile: srvCert, KeyFile: srvKey}}},
		Options: map[string]*dynamic.Options{
			"mtls":     {ClientAuth: dynamic.ClientAuth{CAFiles: []string{caFile}, ClientAuthType: "RequireAndVerifyClientCert"}},
			"optional": {ClientAuth: dynamic.ClientAuth{CAFiles: []string{ca.pem}, ClientAuthType: "VerifyClientCertIfGiven"}},
		},
	}, nil)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	tests := []struct {
		option  string
		cert    *cryptotls.Certificate
		wantErr bool
	}{
		{"mtls", &goodPair, false},
		{"mtls", nil, true},
		{"mtls", &badPair, true},
		{"optional", nil, false},
		{"optional", &goodPair, false},
		{"optional", &badPair, true},
	}
	for _, tt := range tests {
		cli := &cryptotls.Config{ServerName: "a.test", InsecureSkipVerify: true}
		if tt.cert != nil {
			cli.Certificates = []cryptotls.Certificate{*tt.cert}
		}
		_, err := handshake(t, mustConfig(t, m, tt.option), cli)
		if (err != nil) != tt.wantErr {
			name := "none"
			if tt.cert != nil {
				name = tt.cert.Leaf.Subject.CommonName
			}
			t.Errorf("option %s with client cert %s: err = %v, want error %v", tt.option, name, err, tt.wantErr)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	dir := t.TempDir()
	m, errs := NewManager(&dynamic.TLSConfiguration{
		Certificates: []*dynamic.CertAndStores{
			{Certificate: dynamic.Certificate{CertFile: "missing.pem", KeyFile: "missing-key.pem"}},
			{Certificate: dynamic.Certificate{CertFile: "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", KeyFile: "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"}},
		},
		Options: map[string]*dynamic.Options{
			"cipher":  {CipherSuites: []string{"TLS_RSA_WITH_RC5"}},
			"curve":   {CurvePreferences: []string{"P-999"}},
			"version": {MinVersion: "TLS1.2"},
			"order":   {MinVersion: "VersionTLS13", MaxVersion: "VersionTLS12"},
			"auth":    {ClientAuth: dynamic.ClientAuth{ClientAuthType: "Sometimes"}},
			"noca":    {ClientAuth: dynamic.ClientAuth{ClientAuthType: "RequireAndVerifyClientCert"}},
			"cafile":  {ClientAuth: dynamic.ClientAuth{CAFiles: []string{dir + "/nope.pem"}}},
			"good":    {MinVersion: "VersionTLS12"},
		},
		Stores: map[string]*dynamic.Store{"other": {}},
	}, func(int) string { return dir })

	want := map[string]string{
		"cipher":  `unknown cipher suite "TLS_RSA_WITH_RC5": use IANA names`,
		"curve":   `unknown curve "P-999"`,
		"version": `unknown minVersion "TLS1.2": use one of VersionTLS10`,
		"order":   "maxVersion VersionTLS12 is lower than minVersion",
		"auth":    `unknown clientAuth.clientAuthType "Sometimes"`,
		"noca":    "needs clientAuth.caFiles",
		"cafile":  "nope.pem",
	}
	for opt, frag := range want {
		_, err := m.Config(opt)
		if err == nil || !strings.Contains(err.Error(), frag) || !strings.Contains(err.Error(), "tls.options."+opt) {
			t.Errorf("Config(%q) error = %v, want it to name the option and contain %q", opt, err, frag)
		}
	}
	all := errs.Error()
	for _, frag := range []string{"tls.certificates[0]", "missing.pem", "tls.certificates[1]", "tls.stores.other"} {
		if !strings.Contains(all, frag) {
			t.Errorf("errors %q do not mention %q", all, frag)
		}
	}
	if len(errs) != len(want)+3 {
		t.Errorf("got %d errors, want %d:\n%s", len(errs), len(want)+3, all)
	}
	// Broken options leave the others usable.
	for _, opt := range []string{"good", "default", ""} {
		if _, err := m.Config(opt); err != nil {
			t.Errorf("Config(%q) = %v, want usable despite other broken options", opt, err)
		}
	}
	if _, err := m.Config("absent"); err == nil || !strings.Contains(err.Error(), "define it under tls.options") {
		t.Errorf("Config(absent) = %v", err)
	}
	if got := strings.Join(m.Options(), ","); got != "auth,cafile,cipher,curve,default,good,noca,order,version" {
		t.Errorf("Options() = %s", got)
	}
}

func TestDefaultOptionOverride(t *testing.T) {
	m, errs := NewManager(&dynamic.TLSConfiguration{Options: map[string]*dynamic.Options{"default": {MinVersion: "VersionTLS13", SniStrict: true}}}, nil)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if _, err := handshake(t, mustConfig(t, m, ""), &cryptotls.Config{InsecureSkipVerify: true}); err == nil {
		t.Error("overridden default with sniStrict accepted a client without SNI")
	}
	if _, err := handshake(t, mustConfig(t, m, ""), &cryptotls.Config{ServerName: "x.test", InsecureSkipVerify: true, MaxVersion: cryptotls.VersionTLS12}); err == nil {
		t.Error("overridden default minVersion TLS13 accepted TLS 1.2")
	}
}

func BenchmarkGetCertificate(b *testing.B) {
	ca := newTestCA(b)
	var certs []*dynamic.CertAndStores
	for _, n := range []string{"a.test", "*.wild.test", "c.test", "d.test"} {
		c, k := ca.issue(b, false, n)
		certs = append(certs, &dynamic.CertAndStores{Certificate: dynamic.Certificate{CertFile: c, KeyFile: k}})
	}
	m, _ := NewManager(&dynamic.TLSConfiguration{Certificates: certs}, nil)
	cfg, _ := m.Config("")
	hello := &cryptotls.ClientHelloInfo{ServerName: "www.wild.test"}
	b.ReportAllocs()
	for b.Loop() {
		if c, err := cfg.GetCertificate(hello); err != nil || c == nil {
			b.Fatal(err)
		}
	}
}

// Option sets that negotiate the same way share one *Config, so callers can
// compare pointers; any difference keeps them apart.
func TestEquivalentOptionsShareAConfig(t *testing.T) {
	ca, other := newTestCA(t), newTestCA(t)
	caFile, _ := writeFiles(t, t.TempDir(), "ca", ca.pem, "")
	m, errs := NewManager(&dynamic.TLSConfiguration{Options: map[string]*dynamic.Options{
		"compat":     {},
		"tls12":      {MinVersion: "VersionTLS12", PreferServerCipherSuites: true},
		"alpn":       {ALPNProtocols: []string{"h2", "http/1.1", "acme-tls/1"}},
		"strict":     {SniStrict: true},
		"strict2":    {SniStrict: true, MinVersion: "VersionTLS12"},
		"tls13":      {MinVersion: "VersionTLS13"},
		"h1":         {ALPNProtocols: []string{"http/1.1"}},
		"notickets":  {DisableSessionTickets: true},
		"mtls":       {ClientAuth: dynamic.ClientAuth{CAFiles: []string{caFile}}},
		"mtlsInline": {ClientAuth: dynamic.ClientAuth{CAFiles: []string{ca.pem}, ClientAuthType: "RequireAndVerifyClientCert"}},
		"mtlsOther":  {ClientAuth: dynamic.ClientAuth{CAFiles: []string{other.pem}}},
		"optional":   {ClientAuth: dynamic.ClientAuth{CAFiles: []string{ca.pem}, ClientAuthType: "VerifyClientCertIfGiven"}},
		"anyCert":    {ClientAuth: dynamic.ClientAuth{ClientAuthType: "RequireAnyClientCert"}},
		"suites":     {CipherSuites: []string{"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"}},
		"curves":     {CurvePreferences: []string{"X25519"}},
		"maxVersion": {MaxVersion: "VersionTLS12"},
	}}, nil)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	groups := [][]string{
		{"default", "compat", "tls12", "alpn"},
		{"strict", "strict2"},
		{"tls13"}, {"h1"}, {"notickets"},
		{"mtls", "mtlsInline"}, {"mtlsOther"}, {"optional"}, {"anyCert"},
		{"suites"}, {"curves"}, {"maxVersion"},
	}
	seen := map[*cryptotls.Config]string{}
	for _, g := range groups {
		c := mustConfig(t, m, g[0])
		if prev, ok := seen[c]; ok {
			t.Errorf("%s shares the config of %s", g[0], prev)
		}
		seen[c] = g[0]
		for _, name := range g[1:] {
			if mustConfig(t, m, name) != c {
				t.Errorf("%s and %s are equivalent but got different configs", name, g[0])
			}
		}
	}
	if got := strings.Join(m.Options(), ","); !strings.HasPrefix(got, "alpn,anyCert,compat,curves,default") {
		t.Errorf("Options() = %s", got)
	}
}

// equivalent must compare every field buildOptions can set: a field added
// there without being compared would make different settings share one
// config.
func TestEquivalentComparesEveryBuiltField(t *testing.T) {
	ca := newTestCA(t)
	echKey, _ := newECHKey(t, "public.example")
	c, _, err := buildOptions(&dynamic.Options{
		MinVersion: "VersionTLS13", MaxVersion: "VersionTLS13", SniStrict: true,
		CipherSuites: []string{"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"}, CurvePreferences: []string{"X25519"},
		ALPNProtocols: []string{"h2"}, DisableSessionTickets: true, PreferServerCipherSuites: true,
		ClientAuth: dynamic.ClientAuth{CAFiles: []string{ca.pem}, ClientAuthType: "RequireAndVerifyClientCert"},
		ECHKeys:    []string{echKey},
	}, "")
	if err != nil {
		t.Fatal(err)
	}
	compared := map[string]bool{"MinVersion": true, "MaxVersion": true, "CipherSuites": true, "CurvePreferences": true,
		"NextProtos": true, "SessionTicketsDisabled": true, "ClientAuth": true, "ClientCAs": true, "EncryptedClientHelloKeys": true}
	v := reflect.ValueOf(c).Elem()
	for i := range v.NumField() {
		f := v.Type().Field(i)
		if f.IsExported() && !v.Field(i).IsZero() && !compared[f.Name] {
			t.Errorf("buildOptions sets %s, which equivalent does not compare", f.Name)
		}
	}
}

// The default options offer TLS 1.2 clients forward-secret AEAD suites only.
func TestDefaultSuitesRefuseCBC(t *testing.T) {
	m, errs := NewManager(nil, nil)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	cli := &cryptotls.Config{InsecureSkipVerify: true, ServerName: "x.test", MaxVersion: cryptotls.VersionTLS12,
		CipherSuites: []uint16{cryptotls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, cryptotls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA}}
	if _, err := handshake(t, mustConfig(t, m, "default"), cli); err == nil {
		t.Fatal("a CBC-SHA1 suite was negotiated with the default options")
	}
	cli.CipherSuites = nil
	if st, err := handshake(t, mustConfig(t, m, "default"), cli); err != nil || st.Version != cryptotls.VersionTLS12 {
		t.Fatalf("TLS 1.2 client with Go's default suites: %v", err)
	}
}
