// Package basicauth implements the basicAuth middleware: HTTP Basic
// credentials checked against htpasswd-style entries (bcrypt, SHA1, MD5).
// It also exports what other authentication middlewares (digestAuth)
// share with it: LoadUsers, QuoteRealm and Forward.
package basicauth

import (
	"bufio"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
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
	next      http.Handler
	creds     *Credentials
	challenge string // WWW-Authenticate value
	forward   Forward
	logger    *slog.Logger
}

// Credentials checks user names and passwords against htpasswd entries; the
// MQTT connectAuth middleware uses it for CONNECT packets.
type Credentials struct {
	users map[string]verifier
	decoy verifier // checked for unknown users; see decoyFor
	cache *verifiedCache
}

// NewCredentials loads inline users and a users file (see LoadUsers).
func NewCredentials(baseDir string, users []string, usersFile string) (*Credentials, error) {
	m := make(map[string]verifier)
	if err := LoadUsers(baseDir, users, usersFile, func(line string) error { return addUser(m, line) }); err != nil {
		return nil, err
	}
	if len(m) == 0 {
		return nil, errors.New("no users; set users (\"name:hash\") or usersFile")
	}
	return &Credentials{users: m, decoy: decoyFor(m), cache: newVerifiedCache(cacheSize, cacheTTL)}, nil
}

// New builds the middleware from inline users and/or a users file. Entries
// in usersFile override inline users of the same name.
func New(env middlewares.Env, cfg dynamic.BasicAuth, next http.Handler) (http.Handler, error) {
	creds, err := NewCredentials(env.BaseDir, cfg.Users, cfg.UsersFile)
	if err != nil {
		return nil, fmt.Errorf("basicAuth: %w", err)
	}
	realm := cfg.Realm
	if realm == "" {
		realm = defaultRealm
	}
	challenge, err := challengeFor(realm)
	if err != nil {
		return nil, fmt.Errorf("basicAuth: %w", err)
	}
	fwd, err := NewForward(cfg.HeaderField, cfg.RemoveHeader)
	if err != nil {
		return nil, fmt.Errorf("basicAuth: %w", err)
	}
	logger := env.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &basicAuth{
		next:      next,
		creds:     creds,
		challenge: challenge,
		forward:   fwd,
		logger:    logger,
	}, nil
}

// LoadUsers calls add with each inline entry of users, then with each line
// of usersFile (resolved against baseDir when relative; blank lines and
// lines starting with # are skipped), so that a map-filling add lets the
// file override inline entries, as Traefik does. Errors say which entry
// failed: "users[2]: ..." or "usersFile: path:3: ...".
func LoadUsers(baseDir string, users []string, usersFile string, add func(entry string) error) error {
	for i, line := range users {
		if err := add(line); err != nil {
			return fmt.Errorf("users[%d]: %w", i, err)
		}
	}
	if usersFile != "" {
		if err := loadUsersFile(add, middlewares.ResolvePath(baseDir, usersFile)); err != nil {
			return fmt.Errorf("usersFile: %w", err)
		}
	}
	return nil
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

func loadUsersFile(add func(string) error, path string) error {
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
		if err := add(line); err != nil {
			return fmt.Errorf("%s:%d: %w", path, n, err)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// challengeFor builds the WWW-Authenticate value for realm.
func challengeFor(realm string) (string, error) {
	q, err := QuoteRealm(realm)
	if err != nil {
		return "", err
	}
	return "Basic realm=" + q, nil
}

// QuoteRealm returns realm as an RFC 9110 quoted-string (quotes and
// backslashes escaped), or an error naming the realm if it holds control
// characters, which a header cannot carry.
func QuoteRealm(realm string) (string, error) {
	var b strings.Builder
	b.WriteByte('"')
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

// Forward is what an authentication middleware does to the request of an
// authenticated user before passing it on: record the user for the access
// log, optionally drop the Authorization header (removeHeader) and
// optionally name the user in a header (headerField), replacing whatever
// the client sent there.
type Forward struct {
	headerField  string // canonical; "" for none
	removeHeader bool
}

// NewForward checks headerField (empty for none) and returns the Forward.
func NewForward(headerField string, removeHeader bool) (Forward, error) {
	if headerField != "" && !httpguts.ValidHeaderFieldName(headerField) {
		return Forward{}, fmt.Errorf("headerField %q is not a valid header name; use e.g. X-WebAuth-User", headerField)
	}
	return Forward{headerField: http.CanonicalHeaderKey(headerField), removeHeader: removeHeader}, nil
}

// Apply prepares req, authenticated as user, for the next handler.
func (f Forward) Apply(req *http.Request, user string) {
	if info, ok := reqinfo.Lookup(req.Context()); ok {
		info.ClientUsername = user
	}
	if f.removeHeader {
		req.Header.Del("Authorization")
	}
	if f.headerField != "" {
		req.Header.Set(f.headerField, user)
	}
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
	a.forward.Apply(req, user)
	a.next.ServeHTTP(w, req)
}

func (a *basicAuth) check(user, password string) bool { return a.creds.Check(user, password) }

// Check reports whether password is user's. Unknown users take as long as
// wrong passwords; verified slow hashes are cached for a minute.
func (a *Credentials) Check(user, password string) bool {
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
