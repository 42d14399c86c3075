package tls

import (
	"testing"

	"github.com/guan-gateway/guan/config/dynamic"
	"github.com/guan-gateway/guan/tls/sm2certs"
)

func smManager(t *testing.T, set *sm2certs.Set, opts map[string]*dynamic.Options) *Manager {
	t.Helper()
	m, errs := NewManager(&dynamic.TLSConfiguration{
		Certificates: []*dynamic.CertAndStores{{
			Certificate: dynamic.Certificate{CertFile: string(set.ServerSign.CertPEM), KeyFile: string(set.ServerSign.KeyPEM)},
			EncCertFile: string(set.ServerEnc.CertPEM), EncKeyFile: string(set.ServerEnc.KeyPEM),
		}},
		Options: opts,
	}, nil)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	return m
}

func tlcpOf(t *testing.T, m *Manager, name string) TLCPOption {
	t.Helper()
	c, err := m.Config(name)
	if err != nil {
		t.Fatal(err)
	}
	return m.TLCP(c)
}

// Sessions survive a reload that keeps an option's client-certificate
// policy, and are not resumed under a changed one.
func TestTLCPSessionCacheFollowsPolicy(t *testing.T) {
	set, err := sm2certs.Generate(sm2certs.Options{Hosts: []string{"bank.test"}})
	if err != nil {
		t.Fatal(err)
	}
	open := map[string]*dynamic.Options{"gm": {TLCP: "auto"}}
	mtls := map[string]*dynamic.Options{"gm": {TLCP: "auto", ClientAuth: dynamic.ClientAuth{CAFiles: []string{string(set.CA.CertPEM)}}}}
	a := tlcpOf(t, smManager(t, set, open), "gm").Config.SessionCache
	b := tlcpOf(t, smManager(t, set, open), "gm").Config.SessionCache
	c := tlcpOf(t, smManager(t, set, mtls), "gm").Config.SessionCache
	if a != b {
		t.Error("an unchanged option got a new session cache on reload")
	}
	if a == c {
		t.Error("a changed client-certificate policy kept the old sessions")
	}
	if tlcpOf(t, smManager(t, set, open), "default").Config != nil {
		t.Error("the default options serve TLCP without tlcp set")
	}
}

func TestTLCPSniStrict(t *testing.T) {
	set, err := sm2certs.Generate(sm2certs.Options{Hosts: []string{"bank.test"}})
	if err != nil {
		t.Fatal(err)
	}
	m := smManager(t, set, map[string]*dynamic.Options{"strict": {TLCP: "only", SniStrict: true}, "lax": {TLCP: "auto"}})
	strict, lax := tlcpOf(t, m, "strict"), tlcpOf(t, m, "lax")
	if strict.Mode != TLCPOnly || lax.Mode != TLCPAuto {
		t.Fatalf("modes %v %v", strict.Mode, lax.Mode)
	}
	if _, err := strict.Config.GetCertificate("other.test"); err == nil {
		t.Error("sniStrict served a pair for a name it does not cover")
	}
	if _, err := strict.Config.GetCertificate("bank.test"); err != nil {
		t.Error(err)
	}
	if _, err := lax.Config.GetCertificate("other.test"); err != nil {
		t.Errorf("without sniStrict: %v", err)
	}
}
