package basicauth

import (
	"cmp"
	"crypto/md5"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/bcrypt"
)

// verifier checks a password against one stored htpasswd hash.
type verifier interface {
	verify(password string) bool
	// slow reports whether a successful check is worth caching.
	slow() bool
}

// parseHash recognises the htpasswd hash formats and rejects everything else,
// so that a plain-text password in configuration is an error and not a
// silently unusable (or, worse, comparable) value.
func parseHash(h string) (verifier, error) {
	switch {
	case strings.HasPrefix(h, "$2a$"), strings.HasPrefix(h, "$2b$"), strings.HasPrefix(h, "$2y$"):
		if _, err := bcrypt.Cost([]byte(h)); err != nil {
			return nil, fmt.Errorf("malformed bcrypt hash: %w", err)
		}
		return bcryptHash(h), nil
	case strings.HasPrefix(h, "{SHA}"):
		sum, err := base64.StdEncoding.DecodeString(h[len("{SHA}"):])
		if err != nil || len(sum) != sha1.Size {
			return nil, errors.New("malformed {SHA} hash: want {SHA} followed by the base64 of a 20-byte SHA-1 digest")
		}
		return shaHash(sum), nil
	case strings.HasPrefix(h, apr1Magic), strings.HasPrefix(h, md5Magic):
		magic := apr1Magic
		if strings.HasPrefix(h, md5Magic) {
			magic = md5Magic
		}
		salt, sum, ok := strings.Cut(h[len(magic):], "$")
		if !ok || len(salt) == 0 || len(salt) > 8 || len(sum) != 22 {
			return nil, fmt.Errorf("malformed %s hash: want %ssalt$digest with a salt of 1-8 characters and a 22-character digest", strings.Trim(magic, "$"), magic)
		}
		return md5CryptHash{magic: magic, salt: salt, full: h}, nil
	}
	return nil, errors.New("unsupported password hash; use bcrypt ($2y$), SHA1 ({SHA}) or MD5 ($apr1$) as produced by `htpasswd -nB user` — plain-text passwords are not accepted")
}

// decoyFor returns a verifier that costs what checking a configured user's
// password costs: unknown users are checked against it, so that a wrong
// user name takes as long as a wrong password and response times do not
// tell which user names exist. It copies the format (and bcrypt cost, MD5
// salt length) most users have, ties going to the most expensive; it is
// built without hashing anything and never matches.
func decoyFor(users map[string]verifier) verifier {
	type kind struct {
		key   string
		cost  int // orders ties: the more expensive wins
		decoy func() verifier
	}
	kindOf := func(v verifier) kind {
		switch h := v.(type) {
		case bcryptHash:
			cost, _ := bcrypt.Cost([]byte(h)) // checked by parseHash
			return kind{fmt.Sprintf("bcrypt %d", cost), 1000 + cost, func() verifier {
				return bcryptHash(fmt.Sprintf("$2a$%02d$", cost) + decoyBcrypt[len("$2a$04$"):])
			}}
		case md5CryptHash:
			n := len(h.salt)
			return kind{fmt.Sprintf("md5 %s %d", h.magic, n), 100 + n, func() verifier {
				salt := decoySalt[:n]
				return md5CryptHash{magic: h.magic, salt: salt, full: h.magic + salt + "$" + decoyDigest}
			}}
		}
		return kind{"sha1", 0, func() verifier { return shaHash(make([]byte, sha1.Size)) }}
	}
	kinds := map[string]kind{}
	count := map[string]int{}
	for _, v := range users {
		k := kindOf(v)
		kinds[k.key] = k
		count[k.key]++
	}
	best := kind{"sha1", -1, func() verifier { return shaHash(make([]byte, sha1.Size)) }}
	bestN := 0
	for key, k := range kinds {
		if c := cmp.Or(cmp.Compare(count[key], bestN), cmp.Compare(k.cost, best.cost), cmp.Compare(key, best.key)); c > 0 {
			best, bestN = k, count[key]
		}
	}
	return best.decoy()
}

// decoyBcrypt is a well-formed bcrypt hash (of a password nobody uses) whose
// cost is rewritten for the decoy; its salt makes bcrypt do the full work.
const decoyBcrypt = "$2a$04$gSkCrnA6S3rkwBdfE8O7GeHt10DXetPW8psst2ge4AG6fIDV92KTq"

const (
	decoySalt   = "dEc0yS4l"               // 8 characters, the longest salt
	decoyDigest = "decoy-never-a-match---" // 22 characters; '-' is outside the crypt alphabet, so no output matches
)

type bcryptHash string

func (h bcryptHash) verify(pw string) bool {
	return bcrypt.CompareHashAndPassword([]byte(h), []byte(pw)) == nil
}
func (bcryptHash) slow() bool { return true }

type shaHash []byte

func (h shaHash) verify(pw string) bool {
	sum := sha1.Sum([]byte(pw))
	return subtle.ConstantTimeCompare(sum[:], h) == 1
}
func (shaHash) slow() bool { return false }

type md5CryptHash struct{ magic, salt, full string }

func (h md5CryptHash) verify(pw string) bool {
	got := md5Crypt([]byte(pw), []byte(h.salt), []byte(h.magic))
	return subtle.ConstantTimeCompare(got, []byte(h.full)) == 1
}

// A thousand MD5 rounds per check is worth caching under load.
func (md5CryptHash) slow() bool { return true }

const (
	apr1Magic = "$apr1$" // Apache's variant
	md5Magic  = "$1$"    // the original FreeBSD md5crypt; same algorithm
)

const cryptAlphabet = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// md5Crypt computes the Poul-Henning Kamp MD5-based crypt with the given
// magic, returning "magic + salt + $ + 22-character digest".
func md5Crypt(pw, salt, magic []byte) []byte {
	alt := md5.New()
	alt.Write(pw)
	alt.Write(salt)
	alt.Write(pw)
	altSum := alt.Sum(nil)

	d := md5.New()
	d.Write(pw)
	d.Write(magic)
	d.Write(salt)
	for n := len(pw); n > 0; n -= md5.Size {
		d.Write(altSum[:min(n, md5.Size)])
	}
	for n := len(pw); n > 0; n >>= 1 {
		if n&1 == 1 {
			d.Write([]byte{0})
		} else {
			d.Write(pw[:1])
		}
	}
	sum := d.Sum(nil)

	// The 1000 rounds exist only to slow brute force down.
	r := md5.New()
	for i := range 1000 {
		r.Reset()
		if i&1 == 1 {
			r.Write(pw)
		} else {
			r.Write(sum)
		}
		if i%3 != 0 {
			r.Write(salt)
		}
		if i%7 != 0 {
			r.Write(pw)
		}
		if i&1 == 1 {
			r.Write(sum)
		} else {
			r.Write(pw)
		}
		sum = r.Sum(sum[:0])
	}

	out := make([]byte, 0, len(magic)+len(salt)+1+22)
	out = append(out, magic...)
	out = append(out, salt...)
	out = append(out, '$')
	enc := func(v uint32, n int) {
		for ; n > 0; n-- {
			out = append(out, cryptAlphabet[v&0x3f])
			v >>= 6
		}
	}
	for _, g := range [5][3]int{{0, 6, 12}, {1, 7, 13}, {2, 8, 14}, {3, 9, 15}, {4, 10, 5}} {
		enc(uint32(sum[g[0]])<<16|uint32(sum[g[1]])<<8|uint32(sum[g[2]]), 4)
	}
	enc(uint32(sum[11]), 2)
	return out
}
