package tls

import (
	"crypto/ecdh"
	"crypto/rand"
	cryptotls "crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"strings"
	"testing"

	"github.com/guan-gateway/guan/config/dynamic"
)

// newECHKey returns an X25519 ECH key in Traefik's PEM format and the
// ECHConfigList a client needs for it.
func newECHKey(t *testing.T, publicName string) (pemKey string, configList []byte) {
	t.Helper()
	priv, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pub := priv.PublicKey().Bytes()
	u16 := func(b []byte, v int) []byte { return binary.BigEndian.AppendUint16(b, uint16(v)) }
	var contents []byte
	contents = append(contents, 7)      // config_id
	contents = u16(contents, 0x0020)    // DHKEM(X25519, HKDF-SHA256)
	contents = u16(contents, len(pub))  // public_key
	contents = append(contents, pub...) //
	contents = u16(contents, 4)         // cipher_suites
	contents = u16(contents, 0x0001)    // HKDF-SHA256
	contents = u16(contents, 0x0001)    // AES-128-GCM
	contents = append(contents, 32)     // maximum_name_length
	contents = append(contents, byte(len(publicName)))
	contents = append(contents, publicName...) //
	contents = u16(contents, 0)                // extensions
	config := u16(nil, 0xfe0d)
	config = u16(config, len(contents))
	config = append(config, contents...)

	// The ECHCONFIG block is the config behind its 2-byte length.
	key := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: priv.Bytes()})
	key = append(key, pem.EncodeToMemory(&pem.Block{Type: "ECHCONFIG", Bytes: append(u16(nil, len(config)), config...)})...)
	return string(key), append(u16(nil, len(config)), config...)
}

// echKeys: a client with the ECH config gets its inner ClientHello (the
// real server name) accepted; one with a stale config is refused and told
// the current one.
func TestECHKeys(t *testing.T) {
	key, list := newECHKey(t, "public.example")
	ca := newTestCA(t)
	pubCert, pubKey := ca.issue(t, false, "public.example")
	m, errs := NewManager(&dynamic.TLSConfiguration{
		Certificates: []*dynamic.CertAndStores{{Certificate: dynamic.Certificate{CertFile: pubCert, KeyFile: pubKey}}},
		Options:      map[string]*dynamic.Options{"default": {ECHKeys: []string{key}}},
	}, nil)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	srv := mustConfig(t, m, "default")
	st, err := handshake(t, srv, &cryptotls.Config{
		InsecureSkipVerify: true, ServerName: "secret.example", MinVersion: cryptotls.VersionTLS13,
		EncryptedClientHelloConfigList: list,
	})
	if err != nil {
		t.Fatal(err)
	}
	if !st.ECHAccepted {
		t.Fatal("ECH not accepted")
	}

	pool := x509.NewCertPool()
	pool.AddCert(ca.cert)
	// On a rejection the client checks the server's certificate against
	// the public name, whatever InsecureSkipVerify says.
	_, stale := newECHKey(t, "public.example")
	_, err = handshake(t, srv, &cryptotls.Config{
		RootCAs: pool, ServerName: "secret.example", MinVersion: cryptotls.VersionTLS13,
		EncryptedClientHelloConfigList: stale,
	})
	var rej *cryptotls.ECHRejectionError
	if !errors.As(err, &rej) || string(rej.RetryConfigList) != string(list) {
		t.Fatalf("stale ECH config: err = %v, want a rejection carrying the server's config", err)
	}

	// Without ECH, the same options serve ordinary handshakes.
	if _, err := handshake(t, srv, &cryptotls.Config{InsecureSkipVerify: true, ServerName: "x.test"}); err != nil {
		t.Fatal(err)
	}
}

func TestECHKeyErrors(t *testing.T) {
	key, _ := newECHKey(t, "public.example")
	short := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: make([]byte, 31)}) // with a valid ECHCONFIG below
	_, cfgBlock, _ := strings.Cut(key, "-----END PRIVATE KEY-----\n")
	for _, tt := range []struct {
		key, want string
	}{
		{"/nonexistent/ech.pem", "echKeys[0]: read /nonexistent/ech.pem"},
		{key[:strings.Index(key, "-----BEGIN ECHCONFIG")], "want a PRIVATE KEY and an ECHCONFIG PEM block"},
		{string(short) + cfgBlock, "the private key has 31 bytes, want 32"},
		{"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", `unexpected PEM block "CERTIFICATE"`},
		{string(pem.EncodeToMemory(&pem.Block{Type: "ECHCONFIG", Bytes: []byte{0, 9, 1}})), "length prefix says 9 bytes, the block holds 1"},
	} {
		_, _, err := buildOptions(&dynamic.Options{ECHKeys: []string{tt.key}}, "")
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("err = %v, want %q", err, tt.want)
		}
	}
}
