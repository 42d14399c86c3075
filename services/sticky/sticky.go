// Package sticky pins a client to one choice (a server or a child service)
// with a cookie. The cookie carries a hash of the choice's key, never the key
// itself, so server addresses are not disclosed to clients.
package sticky

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash/fnv"
	"net/http"
	"strconv"
	"strings"

	"github.com/guan-gateway/guan/config/dynamic"
)

// Cookie is the sticky cookie of one service.
type Cookie struct {
	name      string
	index     map[string]int // cookie value -> choice
	setCookie []string       // prebuilt Set-Cookie header per choice
}

// DefaultName derives a stable cookie name from the service name, so that
// services sharing a domain don't overwrite each other's cookie.
func DefaultName(service string) string {
	sum := sha256.Sum256([]byte("guan-sticky/" + service))
	return "_" + hex.EncodeToString(sum[:3])
}

// Value is the cookie value that designates key.
func Value(key string) string {
	h := fnv.New64a()
	h.Write([]byte(key))
	return strconv.FormatUint(h.Sum64(), 16)
}

// New prepares the cookie for a service whose choices are named by keys
// (server URLs or child service names).
func New(cfg *dynamic.Cookie, service string, keys []string) (*Cookie, error) {
	if cfg == nil {
		cfg = &dynamic.Cookie{}
	}
	name := cfg.Name
	if name == "" {
		name = DefaultName(service)
	}
	sameSite, err := parseSameSite(cfg.SameSite)
	if err != nil {
		return nil, err
	}
	path := cfg.Path
	if path == "" {
		path = "/"
	}
	c := &Cookie{name: name, index: make(map[string]int, len(keys)), setCookie: make([]string, len(keys))}
	for i, k := range keys {
		v := Value(k)
		c.index[v] = i
		hc := &http.Cookie{
			Name: name, Value: v, Path: path, Domain: cfg.Domain,
			Secure: cfg.Secure, HttpOnly: cfg.HTTPOnly, SameSite: sameSite,
			MaxAge: cfg.MaxAge, Partitioned: cfg.Partitioned,
		}
		if err := hc.Valid(); err != nil {
			return nil, fmt.Errorf("sticky cookie: %w (check the cookie name and domain)", err)
		}
		c.setCookie[i] = hc.String()
	}
	return c, nil
}

// Name is the cookie name.
func (c *Cookie) Name() string { return c.name }

// Lookup returns the choice the request's cookie pins, if it names a known one.
func (c *Cookie) Lookup(r *http.Request) (int, bool) {
	v, ok := Find(r.Header["Cookie"], c.name)
	if !ok {
		return -1, false
	}
	i, ok := c.index[v]
	return i, ok
}

// Set pins the client to choice i.
func (c *Cookie) Set(w http.ResponseWriter, i int) {
	h := w.Header()
	h["Set-Cookie"] = append(h["Set-Cookie"], c.setCookie[i])
}

// Find returns the value of cookie name in Cookie header lines without
// allocating. Quoted values are unquoted; the first match wins.
func Find(lines []string, name string) (string, bool) {
	for _, line := range lines {
		for len(line) > 0 {
			var part string
			part, line, _ = strings.Cut(line, ";")
			part = strings.TrimSpace(part)
			k, v, ok := strings.Cut(part, "=")
			if !ok || k != name {
				continue
			}
			if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
				v = v[1 : len(v)-1]
			}
			return v, true
		}
	}
	return "", false
}

func parseSameSite(s string) (http.SameSite, error) {
	switch strings.ToLower(s) {
	case "":
		return 0, nil
	case "none":
		return http.SameSiteNoneMode, nil
	case "lax":
		return http.SameSiteLaxMode, nil
	case "strict":
		return http.SameSiteStrictMode, nil
	}
	return 0, fmt.Errorf("sticky cookie: sameSite %q is not one of none, lax, strict", s)
}
