package tls

import (
	"bytes"
	cryptotls "crypto/tls"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"fmt"
	"slices"
)

// parseECHKey reads an Encrypted Client Hello key in Traefik's format: a
// PEM "PRIVATE KEY" block holding the raw HPKE private key and an
// "ECHCONFIG" block holding the ECHConfig with its 2-byte length prefix
// (draft-farrell-tls-pemesni). The key is sent as a retry config when a
// client's ECH is rejected.
func parseECHKey(data []byte) (cryptotls.EncryptedClientHelloKey, error) {
	var k cryptotls.EncryptedClientHelloKey
	for {
		block, rest := pem.Decode(data)
		if block == nil {
			break
		}
		switch block.Type {
		case "PRIVATE KEY":
			k.PrivateKey = block.Bytes
		case "ECHCONFIG":
			if len(block.Bytes) < 2 {
				return k, errors.New("the ECHCONFIG block is too short for its length prefix")
			}
			if n := int(binary.BigEndian.Uint16(block.Bytes)); n != len(block.Bytes)-2 {
				return k, fmt.Errorf("the ECHCONFIG length prefix says %d bytes, the block holds %d", n, len(block.Bytes)-2)
			}
			k.Config = block.Bytes[2:]
		default:
			return k, fmt.Errorf("unexpected PEM block %q: want PRIVATE KEY and ECHCONFIG", block.Type)
		}
		data = rest
	}
	if len(k.Config) == 0 || len(k.PrivateKey) == 0 {
		return k, errors.New("want a PRIVATE KEY and an ECHCONFIG PEM block")
	}
	// As in Traefik: X25519 or P-256 keys, 32 bytes.
	if len(k.PrivateKey) != 32 {
		return k, fmt.Errorf("the private key has %d bytes, want 32 (an X25519 or P-256 HPKE key)", len(k.PrivateKey))
	}
	k.SendAsRetry = true
	return k, nil
}

func sameECHKeys(a, b []cryptotls.EncryptedClientHelloKey) bool {
	return slices.EqualFunc(a, b, func(x, y cryptotls.EncryptedClientHelloKey) bool {
		return bytes.Equal(x.Config, y.Config) && bytes.Equal(x.PrivateKey, y.PrivateKey) && x.SendAsRetry == y.SendAsRetry
	})
}
