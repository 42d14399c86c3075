package basicauth

import (
	"crypto/rand"
	"crypto/sha256"
	"sync"
	"time"
)

// verifiedCache remembers, for a short time, credentials that passed a slow
// hash check, so repeated requests from a logged-in client cost one SHA-256
// instead of a bcrypt run. Only a keyed digest of the credentials is kept.
type verifiedCache struct {
	secret [32]byte
	ttl    time.Duration
	max    int

	mu sync.RWMutex
	m  map[[sha256.Size]byte]time.Time // digest → expiry
}

func newVerifiedCache(max int, ttl time.Duration) *verifiedCache {
	c := &verifiedCache{ttl: ttl, max: max, m: make(map[[sha256.Size]byte]time.Time, max)}
	rand.Read(c.secret[:]) // never fails (crypto/rand panics on failure)
	return c
}

// key digests secret, user and password; the secret keeps digests useless
// outside this process and the NUL keeps "ab"+"c" apart from "a"+"bc".
func (c *verifiedCache) key(user, password string) [sha256.Size]byte {
	var stack [256]byte
	b := append(stack[:0], c.secret[:]...)
	b = append(b, user...)
	b = append(b, 0)
	b = append(b, password...)
	return sha256.Sum256(b)
}

func (c *verifiedCache) has(k [sha256.Size]byte, now time.Time) bool {
	c.mu.RLock()
	exp, ok := c.m[k]
	c.mu.RUnlock()
	return ok && now.Before(exp)
}

func (c *verifiedCache) add(k [sha256.Size]byte, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= c.max {
		for k, exp := range c.m {
			if !now.Before(exp) {
				delete(c.m, k)
			}
		}
		// Still full: drop an arbitrary entry (map order is random).
		for k := range c.m {
			if len(c.m) < c.max {
				break
			}
			delete(c.m, k)
		}
	}
	c.m[k] = now.Add(c.ttl)
}

func (c *verifiedCache) len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.m)
}
