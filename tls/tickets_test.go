package tls

import (
	cryptotls "crypto/tls"
	"testing"

	"github.com/guan-gateway/guan/config/dynamic"
)

// A client resumes its TLS session against the configuration built by the
// next reload, and after a key rotation.
func TestSessionsResumeAcrossReloadsAndRotation(t *testing.T) {
	for _, version := range []uint16{cryptotls.VersionTLS12, cryptotls.VersionTLS13} {
		cache := cryptotls.NewLRUClientSessionCache(8)
		cli := &cryptotls.Config{ServerName: "a.test", InsecureSkipVerify: true, ClientSessionCache: cache, MaxVersion: version}
		build := func() *cryptotls.Config {
			m, errs := NewManager(&dynamic.TLSConfiguration{}, nil)
			if len(errs) > 0 {
				t.Fatal(errs)
			}
			return mustConfig(t, m, "")
		}
		first := build()
		if st, err := handshake(t, first, cli); err != nil || st.DidResume {
			t.Fatalf("first handshake: resumed=%v err=%v", st.DidResume, err)
		}
		if st, err := handshake(t, build(), cli); err != nil || !st.DidResume {
			t.Fatalf("TLS %x: no resumption after a reload: resumed=%v err=%v", version, st.DidResume, err)
		}
		tickets.rotate()
		if st, err := handshake(t, first, cli); err != nil || !st.DidResume {
			t.Fatalf("TLS %x: no resumption after a key rotation: resumed=%v err=%v", version, st.DidResume, err)
		}
	}
}

// disableSessionTickets: a client cannot resume, so every connection
// does a full handshake.
func TestDisableSessionTickets(t *testing.T) {
	for _, version := range []uint16{cryptotls.VersionTLS12, cryptotls.VersionTLS13} {
		cache := cryptotls.NewLRUClientSessionCache(8)
		cli := &cryptotls.Config{ServerName: "a.test", InsecureSkipVerify: true, ClientSessionCache: cache, MaxVersion: version}
		m, errs := NewManager(&dynamic.TLSConfiguration{Options: map[string]*dynamic.Options{
			"default": {DisableSessionTickets: true},
		}}, nil)
		if len(errs) > 0 {
			t.Fatal(errs)
		}
		srv := mustConfig(t, m, "")
		for i := range 2 {
			if st, err := handshake(t, srv, cli); err != nil || st.DidResume {
				t.Fatalf("TLS %x handshake %d: resumed=%v err=%v", version, i, st.DidResume, err)
			}
		}
	}
}
