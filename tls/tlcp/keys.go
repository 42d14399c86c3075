package tlcp

import (
	"bytes"
	"crypto/ecdsa"
	"encoding/pem"
	"errors"
	"fmt"
	"os"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"
)

// KeyPair is one SM2 certificate chain (leaf first) and its private key.
type KeyPair struct {
	Chain [][]byte
	Leaf  *smx509.Certificate
	Key   *sm2.PrivateKey
}

// Certificate is what one TLCP peer presents: a signing pair and an
// encryption pair, as the standard requires.
type Certificate struct {
	Sign KeyPair
	Enc  KeyPair
}

// wire is the Certificate message's list: signing leaf, encryption leaf, then
// the intermediates of both chains without repeats.
func (c *Certificate) wire() [][]byte {
	out := [][]byte{c.Sign.Chain[0], c.Enc.Chain[0]}
	for _, chain := range [][][]byte{c.Sign.Chain[1:], c.Enc.Chain[1:]} {
	next:
		for _, der := range chain {
			for _, have := range out {
				if bytes.Equal(have, der) {
					continue next
				}
			}
			out = append(out, der)
		}
	}
	return out
}

// LoadCertificate reads a sign pair and an enc pair from PEM files.
func LoadCertificate(signCertFile, signKeyFile, encCertFile, encKeyFile string) (*Certificate, error) {
	sign, err := LoadKeyPair(signCertFile, signKeyFile)
	if err != nil {
		return nil, err
	}
	enc, err := LoadKeyPair(encCertFile, encKeyFile)
	if err != nil {
		return nil, err
	}
	return &Certificate{Sign: sign, Enc: enc}, nil
}

// LoadKeyPair reads one SM2 certificate chain and its key from PEM files;
// errors name the file at fault.
func LoadKeyPair(certFile, keyFile string) (KeyPair, error) {
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return KeyPair{}, err
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return KeyPair{}, err
	}
	chain, leaf, err := parseChain(certPEM)
	if err != nil {
		return KeyPair{}, fmt.Errorf("%s: %w", certFile, err)
	}
	key, err := ParsePrivateKey(keyPEM)
	if err != nil {
		return KeyPair{}, fmt.Errorf("%s: %w", keyFile, err)
	}
	if err := matches(leaf, key); err != nil {
		return KeyPair{}, fmt.Errorf("%s and %s: %w", certFile, keyFile, err)
	}
	return KeyPair{Chain: chain, Leaf: leaf, Key: key}, nil
}

// NewKeyPair builds a pair from PEM bytes.
func NewKeyPair(certPEM, keyPEM []byte) (KeyPair, error) {
	chain, leaf, err := parseChain(certPEM)
	if err != nil {
		return KeyPair{}, err
	}
	key, err := ParsePrivateKey(keyPEM)
	if err != nil {
		return KeyPair{}, err
	}
	if err := matches(leaf, key); err != nil {
		return KeyPair{}, err
	}
	return KeyPair{Chain: chain, Leaf: leaf, Key: key}, nil
}

func parseChain(data []byte) ([][]byte, *smx509.Certificate, error) {
	var chain [][]byte
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			break
		}
		if b.Type == "CERTIFICATE" {
			chain = append(chain, b.Bytes)
		}
	}
	if len(chain) == 0 {
		return nil, nil, errors.New("no PEM CERTIFICATE block found")
	}
	leaf, err := smx509.ParseCertificate(chain[0])
	if err != nil {
		return nil, nil, err
	}
	if !sm2.IsSM2PublicKey(leaf.PublicKey) {
		return nil, nil, fmt.Errorf("certificate %q has a %T key, not SM2", leaf.Subject.CommonName, leaf.PublicKey)
	}
	return chain, leaf, nil
}

// ParsePrivateKey reads an SM2 private key from PEM: PKCS#8 ("PRIVATE KEY")
// or SEC1 ("EC PRIVATE KEY" / "SM2 PRIVATE KEY", as GmSSL and Tongsuo write
// them). Parameter blocks before the key are skipped.
func ParsePrivateKey(data []byte) (*sm2.PrivateKey, error) {
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			return nil, errors.New("no PEM private key block found")
		}
		if _, encrypted := b.Headers["DEK-Info"]; encrypted || b.Type == "ENCRYPTED PRIVATE KEY" {
			return nil, errors.New("the private key is encrypted; give it unencrypted")
		}
		switch b.Type {
		case "PRIVATE KEY":
			k, err := smx509.ParsePKCS8PrivateKey(b.Bytes)
			if err != nil {
				return nil, err
			}
			sk, ok := k.(*sm2.PrivateKey)
			if !ok {
				return nil, fmt.Errorf("the PKCS#8 key is a %T, not SM2", k)
			}
			return sk, nil
		case "EC PRIVATE KEY", "SM2 PRIVATE KEY":
			return smx509.ParseSM2PrivateKey(b.Bytes)
		}
	}
}

func matches(leaf *smx509.Certificate, key *sm2.PrivateKey) error {
	pub, ok := leaf.PublicKey.(*ecdsa.PublicKey)
	if !ok || !pub.Equal(&key.PublicKey) {
		return errors.New("the private key does not match the certificate")
	}
	return nil
}
