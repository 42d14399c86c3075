// Package basicauth implements the basicAuth middleware: HTTP Basic
// credentials checked against htpasswd-style entries (bcrypt, SHA1, MD5).
package basicauth

import (
	"bufio"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/net/http/httpguts"

	"github.com/guan-gateway/guan/config/dynamic"
	"github.com/guan-gateway/guan/middlewares"
	"github.com/guan-gateway/guan/reqinfo"
)

const (
	defaultRealm = "traefik"
	cacheSize    = 1024
	cacheTTL     = time.Minute
)

type basicAuth struct {
	next         http.Handler
	users        map[string]verifier
	decoy        verifier // checked for unknown users; see decoyFor
	challenge    string   // WWW-Authenticate value
	headerField  string
	removeHeader bool
	cache        *verifiedCache
	logger       *slog.Logger
}

// New builds the middleware from inline users and/or a users file. Entries
// in usersFile override inline users of the same name.
func New(env middlewares.Env, cfg dynamic.BasicAuth, next http.Handler) (http.Handler, error) {
	users := make(map[string]verifier)
	for i, line := range cfg.Users {
		if err := addUser(users, line); err != nil {
			return nil, fmt.Errorf("basicAuth: users[%d]: %w", i, err)
		}
	}
	if cfg.UsersFile != "" {
		if err := loadUsersFile(users, resolvePath(env.BaseDir, cfg.UsersFile)); err != nil {
			return nil, fmt.Errorf("basicAuth: usersFile: %w", err)
		}
	}
	if len(users) == 0 {
		return nil, errors.New("basicAuth: no users; set users (\"name:hash\") or usersFile")
	}
	realm := cfg.Realm
	if realm == "" {
		realm = defaultRealm
	}
	challenge, err := challengeFor(realm)
	if err != nil {
		return nil, fmt.Errorf("basicAuth: %w", err)
	}
	if cfg.HeaderField != "" && !httpguts.ValidHeaderFieldName(cfg.HeaderField) {
		return nil, fmt.Errorf("basicAuth: headerField %q is not a valid header name; use e.g. X-WebAuth-User", cfg.HeaderField)
	}
	logger := env.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &basicAuth{
		next:         next,
		users:        users,
		decoy:        decoyFor(users),
		challenge:    challenge,
		headerField:  http.CanonicalHeaderKey(cfg.HeaderField),
		removeHeader: cfg.RemoveHeader,
		cache:        newVerifiedCache(cacheSize, cacheTTL),
		logger:       logger,
	}, nil
}

func resolvePath(base, p string) string {
	if filepath.IsAbs(p) || base == "" {
		return p
	}
	return filepath.Join(base, p)
}

func addUser(users map[string]verifier, line string) error {
	name, hash, ok := strings.Cut(strings.TrimSpace(line), ":")
	if !ok || name == "" || hash == "" {
		return errors.New(`want "name:hash" as produced by htpasswd -nB name`)
	}
	v, err := parseHash(hash)
	if err != nil {
		return fmt.Errorf("user %q: %w", name, err)
	}
	users[name] = v
	return nil
}

func loadUsersFile(users map[string]verifier, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if err := addUser(users, line); err != nil {
			return fmt.Errorf("%s:%d: %w", path, n, err)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// challengeFor quotes the realm per RFC 9110 quoted-string rules.
func challengeFor(realm string) (string, error) {
	var b strings.Builder
	b.WriteString(`Basic realm="`)
	for _, r := range realm {
		if r < 0x20 || r == 0x7f {
			return "", fmt.Errorf("realm %q contains control characters; use printable text", realm)
		}
		if r == '"' || r == '\\' {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	b.WriteByte('"')
	return b.String(), nil
}

func (a *basicAuth) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	user, password, ok := req.BasicAuth()
	if !ok || !a.check(user, password) {
		if ok {
			a.logger.Debug("basic auth failed", "user", user)
		}
		h := w.Header()
		h.Set("WWW-Authenticate", a.challenge)
		h.Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusUnauthorized)
		w.Write([]byte("401 Unauthorized\n"))
		return
	}
	if info, ok := reqinfo.Lookup(req.Context()); ok {
		info.ClientUsername = user
	}
	if a.removeHeader {
		req.Header.Del("Authorization")
	}
	if a.headerField != "" {
		req.Header.Set(a.headerField, user)
	}
	a.next.ServeHTTP(w, req)
}

func (a *basicAuth) check(user, password string) bool {
	v, ok := a.users[user]
	if !ok {
		// As slow as a known user's wrong password, so timing does not
		// reveal which user names exist.
		a.decoy.verify(password)
		return false
	}
	if !v.slow() {
		return v.verify(password)
	}
	now := time.Now()
	k := a.cache.key(user, password)
	if a.cache.has(k, now) {
		return true
	}
	if !v.verify(password) {
		return false
	}
	a.cache.add(k, now)
	return true
}
