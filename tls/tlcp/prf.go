package tlcp

import (
	"crypto/hmac"

	"github.com/emmansun/gmsm/sm3"
)

// prf is the TLS 1.2-style P_hash with HMAC-SM3 that TLCP uses for every key
// derivation (GB/T 38636 6.5).
func prf(result, secret []byte, label string, seed []byte) {
	mac := hmac.New(sm3.New, secret)
	labelSeed := make([]byte, 0, len(label)+len(seed))
	labelSeed = append(append(labelSeed, label...), seed...)
	mac.Write(labelSeed)
	a := mac.Sum(nil) // A(1)
	for off := 0; off < len(result); {
		mac.Reset()
		mac.Write(a)
		mac.Write(labelSeed)
		off += copy(result[off:], mac.Sum(nil))
		mac.Reset()
		mac.Write(a)
		a = mac.Sum(a[:0])
	}
}

const (
	masterSecretLen = 48
	finishedLen     = 12
)

func masterFromPremaster(pre, clientRandom, serverRandom []byte) []byte {
	seed := make([]byte, 0, 64)
	seed = append(append(seed, clientRandom...), serverRandom...)
	ms := make([]byte, masterSecretLen)
	prf(ms, pre, "master secret", seed)
	return ms
}

// keyMaterial is the key block split as the standard lays it out.
type keyMaterial struct {
	clientMAC, serverMAC, clientKey, serverKey, clientIV, serverIV []byte
}

func deriveKeys(master, clientRandom, serverRandom []byte, s *suite) keyMaterial {
	macLen, ivLen := 32, 16
	if s.gcm {
		macLen, ivLen = 0, 4 // GCM: implicit 4-byte salt, 8-byte explicit nonce per record
	}
	const keyLen = 16
	seed := make([]byte, 0, 64)
	seed = append(append(seed, serverRandom...), clientRandom...)
	block := make([]byte, 2*(macLen+keyLen+ivLen))
	prf(block, master, "key expansion", seed)
	var k keyMaterial
	next := func(n int) []byte { b := block[:n:n]; block = block[n:]; return b }
	k.clientMAC, k.serverMAC = next(macLen), next(macLen)
	k.clientKey, k.serverKey = next(keyLen), next(keyLen)
	k.clientIV, k.serverIV = next(ivLen), next(ivLen)
	return k
}

func finishedSum(master []byte, label string, transcript []byte) []byte {
	out := make([]byte, finishedLen)
	prf(out, master, label, transcript)
	return out
}
