// Package sm2certs issues SM2 test certificates for TLCP: a CA, and for a
// server and a client each a signing and an encryption pair, as the
// `gateway certs sm2` command writes them.
package sm2certs

import (
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"
)

// Pair is a certificate and its key, both PEM.
type Pair struct {
	CertPEM, KeyPEM []byte
	Cert            *smx509.Certificate
	Key             *sm2.PrivateKey
}

// Set is a CA and the sign/enc pairs it issued.
type Set struct {
	CA                    Pair
	ServerSign, ServerEnc Pair
	ClientSign, ClientEnc Pair
}

// Options tunes what Generate issues.
type Options struct {
	Hosts    []string      // DNS names and IPs of the server pairs
	Client   string        // common name of the client pairs; default "tlcp-client"
	Validity time.Duration // default 1 year
	Now      time.Time     // NotBefore; default now
}

// Generate issues a fresh CA and its pairs.
func Generate(o Options) (*Set, error) {
	if len(o.Hosts) == 0 {
		return nil, fmt.Errorf("at least one host name is needed")
	}
	if o.Client == "" {
		o.Client = "tlcp-client"
	}
	if o.Validity <= 0 {
		o.Validity = 365 * 24 * time.Hour
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	ca, err := issue(o, &smx509.Certificate{
		Subject:               nameOf("Guan test SM2 CA"),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              smx509.KeyUsageCertSign | smx509.KeyUsageCRLSign,
	}, nil)
	if err != nil {
		return nil, err
	}
	s := &Set{CA: ca}
	sign := smx509.KeyUsageDigitalSignature
	enc := smx509.KeyUsageKeyEncipherment | smx509.KeyUsageDataEncipherment | smx509.KeyUsageKeyAgreement
	for _, p := range []struct {
		out   *Pair
		cn    string
		hosts []string
		usage smx509.KeyUsage
		ext   smx509.ExtKeyUsage
	}{
		{&s.ServerSign, o.Hosts[0] + " (sign)", o.Hosts, sign, smx509.ExtKeyUsageServerAuth},
		{&s.ServerEnc, o.Hosts[0] + " (enc)", o.Hosts, enc, smx509.ExtKeyUsageServerAuth},
		{&s.ClientSign, o.Client + " (sign)", nil, sign, smx509.ExtKeyUsageClientAuth},
		{&s.ClientEnc, o.Client + " (enc)", nil, enc, smx509.ExtKeyUsageClientAuth},
	} {
		t := &smx509.Certificate{Subject: nameOf(p.cn), KeyUsage: p.usage, ExtKeyUsage: []smx509.ExtKeyUsage{p.ext}}
		for _, h := range p.hosts {
			if ip := net.ParseIP(h); ip != nil {
				t.IPAddresses = append(t.IPAddresses, ip)
			} else {
				t.DNSNames = append(t.DNSNames, h)
			}
		}
		if *p.out, err = issue(o, t, &ca); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func issue(o Options, t *smx509.Certificate, parent *Pair) (Pair, error) {
	key, err := sm2.GenerateKey(rand.Reader)
	if err != nil {
		return Pair{}, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return Pair{}, err
	}
	t.SerialNumber = serial
	t.NotBefore = o.Now.Add(-time.Hour)
	t.NotAfter = o.Now.Add(o.Validity)
	parentCert, signer := t, key
	if parent != nil {
		parentCert, signer = parent.Cert, parent.Key
	}
	der, err := smx509.CreateCertificate(rand.Reader, t, parentCert, &key.PublicKey, signer)
	if err != nil {
		return Pair{}, err
	}
	cert, err := smx509.ParseCertificate(der)
	if err != nil {
		return Pair{}, err
	}
	keyDER, err := smx509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return Pair{}, err
	}
	return Pair{
		CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		KeyPEM:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
		Cert:    cert,
		Key:     key,
	}, nil
}

// Files names what WriteFiles writes, relative to its directory.
var Files = []string{
	"ca.crt", "ca.key",
	"sign.crt", "sign.key", "enc.crt", "enc.key",
	"client-sign.crt", "client-sign.key", "client-enc.crt", "client-enc.key",
}

// WriteFiles writes the set into dir (created if missing); keys are 0600.
func (s *Set) WriteFiles(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	pairs := []Pair{s.CA, s.ServerSign, s.ServerEnc, s.ClientSign, s.ClientEnc}
	for i, p := range pairs {
		if err := os.WriteFile(filepath.Join(dir, Files[2*i]), p.CertPEM, 0o644); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, Files[2*i+1]), p.KeyPEM, 0o600); err != nil {
			return err
		}
	}
	return nil
}
