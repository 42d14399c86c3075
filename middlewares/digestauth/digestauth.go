// Package digestauth implements the digestAuth middleware: HTTP Digest
// access authentication (RFC 7616, qop=auth, algorithm MD5) against
// htdigest entries "name:realm:HA1".
//
// Traefik builds this middleware on github.com/abbot/go-http-auth (through
// a fork that adds stale=true). Guan implements the protocol itself: that
// library has had no release since 2017, its challenge path writes the
// nonce table without holding the lock that CheckAuth takes (a data race
// under concurrent 401s), every challenge, even to an anonymous client,
// adds a nonce to a table of about a thousand that evicts the oldest (so
// anonymous traffic pushes logged-in clients' nonces out), nonces never
// expire, and a request whose nonce count is 0 can be replayed at will; no
// maintained Go library for the server side of Digest was at hand. The
// protocol is small, and the parts that matter are here:
//
//   - Nonces are stateless until used: each carries its issue time and a
//     random part, authenticated with HMAC-SHA256 under a per-middleware
//     key, so challenging anonymous clients costs no memory, a forged or
//     altered nonce is refused, and a nonce older than nonceLifetime is
//     stale.
//   - Replays are refused: for each nonce in use the highest nonce count
//     (nc) seen and a 64-count window below it are kept, so every nc is
//     accepted once, even when concurrent requests arrive out of order.
//     The table is bounded: when it fills, entries of expired nonces are
//     dropped, and if live ones still fill it the older half goes and
//     every nonce issued up to the newest of them becomes stale (never
//     replayable).
//   - A request with the right response for a stale or replayed nonce gets
//     a new challenge with stale=true, which clients answer without asking
//     the user again; any other failure gets a plain challenge.
//   - Responses are compared in constant time, and an unknown user name is
//     checked against a decoy HA1, so timing reveals neither.
//
// MD5 is what htdigest files hold (HA1 = MD5(name:realm:password)), so it
// is the only algorithm offered; qop=auth-int and userhash are not.
package digestauth

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/guan-gateway/guan/config/dynamic"
	"github.com/guan-gateway/guan/middlewares"
	"github.com/guan-gateway/guan/middlewares/basicauth"
)

const (
	defaultRealm  = "traefik"
	storeKind     = "digestauth"
	nonceLifetime = 5 * time.Minute // as Apache's AuthDigestNonceLifetime
	maxNonces     = 16384           // nonces in use whose counts are tracked
	ncWindow      = 64              // counts below the highest still accepted once
)

type userKey struct{ name, realm string }

type digestAuth struct {
	next      http.Handler
	users     map[userKey]string // HA1, lower-case hex
	decoy     string             // HA1 checked for unknown users
	realm     string
	challenge string // `Digest realm="...", qop="auth", algorithm=MD5, nonce="`
	forward   basicauth.Forward
	state     *state
	logger    *slog.Logger
	now       func() time.Time
}

// New builds the middleware from inline users and/or a users file. Entries
// in usersFile override inline entries of the same name and realm.
func New(env middlewares.Env, cfg dynamic.DigestAuth, next http.Handler) (http.Handler, error) {
	realm := cfg.Realm
	if realm == "" {
		realm = defaultRealm
	}
	users := make(map[userKey]string)
	if err := basicauth.LoadUsers(env.BaseDir, cfg.Users, cfg.UsersFile, func(line string) error { return addUser(users, line) }); err != nil {
		return nil, fmt.Errorf("digestAuth: %w", err)
	}
	if len(users) == 0 {
		return nil, errors.New(`digestAuth: no users; set users ("name:realm:hash" lines from htdigest) or usersFile`)
	}
	if !hasRealm(users, realm) {
		return nil, fmt.Errorf("digestAuth: no user of realm %q (the realm this middleware asks for); users are of %s: set realm, or create the users with htdigest for this realm", realm, realmsOf(users))
	}
	quoted, err := basicauth.QuoteRealm(realm)
	if err != nil {
		return nil, fmt.Errorf("digestAuth: %w", err)
	}
	fwd, err := basicauth.NewForward(cfg.HeaderField, cfg.RemoveHeader)
	if err != nil {
		return nil, fmt.Errorf("digestAuth: %w", err)
	}
	st, err := stateFor(env, realm)
	if err != nil {
		return nil, err
	}
	logger := env.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &digestAuth{
		next:      next,
		users:     users,
		decoy:     hex.EncodeToString(randomBytes(md5.Size)),
		realm:     realm,
		challenge: `Digest realm=` + quoted + `, qop="auth", algorithm=MD5, nonce="`,
		forward:   fwd,
		state:     st,
		logger:    logger,
		now:       time.Now,
	}, nil
}

func addUser(users map[userKey]string, line string) error {
	parts := strings.Split(strings.TrimSpace(line), ":")
	if len(parts) != 3 || parts[0] == "" {
		return errors.New(`want "name:realm:hash" as produced by htdigest`)
	}
	ha1 := strings.ToLower(parts[2])
	if b, err := hex.DecodeString(ha1); err != nil || len(b) != md5.Size {
		return fmt.Errorf("user %q: hash is not the 32 hexadecimal digits of MD5(name:realm:password) that htdigest writes", parts[0])
	}
	users[userKey{parts[0], parts[1]}] = ha1
	return nil
}

func hasRealm(users map[userKey]string, realm string) bool {
	for k := range users {
		if k.realm == realm {
			return true
		}
	}
	return false
}

func realmsOf(users map[userKey]string) string {
	var realms []string
	for k := range users {
		realms = append(realms, strconv.Quote(k.realm))
	}
	slices.Sort(realms)
	return strings.Join(slices.Compact(realms), ", ")
}

// stateFor returns the nonce state, kept across reloads while the
// middleware keeps its name and realm so logged-in clients stay logged in.
func stateFor(env middlewares.Env, realm string) (*state, error) {
	if env.Store == nil {
		return newState(), nil
	}
	v, err := env.Store.Get(storeKind, env.Name, realm, func() (any, error) { return newState(), nil })
	if err != nil {
		return nil, err
	}
	st, ok := v.(*state)
	if !ok {
		return nil, fmt.Errorf("digestAuth: state store holds %T for %q, want *digestauth.state", v, env.Name)
	}
	return st, nil
}

func (a *digestAuth) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	user, res, info := a.check(req)
	switch res {
	case ok:
		w.Header().Set("Authentication-Info", info)
		a.forward.Apply(req, user)
		a.next.ServeHTTP(w, req)
	case badURI:
		// RFC 7616 §3.4.6: the digest is for another request target.
		a.logger.Debug("digest auth: uri parameter does not match the request target", "user", user)
		http.Error(w, "400 Bad Request: the digest's uri is not the request's target", http.StatusBadRequest)
	default:
		if user != "" {
			a.logger.Debug("digest auth failed", "user", user, "reason", res.String())
		}
		a.requireAuth(w, res == stale)
	}
}

func (a *digestAuth) requireAuth(w http.ResponseWriter, stale bool) {
	v := a.challenge + a.state.newNonce(a.now()) + `", opaque="` + a.state.opaque + `"`
	if stale {
		v += ", stale=true"
	}
	h := w.Header()
	h.Set("WWW-Authenticate", v)
	h.Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusUnauthorized)
	w.Write([]byte("401 Unauthorized\n"))
}

type result int

const (
	ok       result = iota
	noAuth          // no Digest credentials
	badParam        // missing, duplicate or unsupported parameters
	badURI          // uri is not the request's target
	badNonce        // not a nonce, opaque or realm of this middleware
	denied          // unknown user or wrong response
	stale           // right response, but the nonce expired or the nc was used
)

func (r result) String() string {
	return [...]string{"ok", "no credentials", "malformed or unsupported parameters", "uri mismatch", "unknown nonce, opaque or realm", "wrong user or password", "stale nonce or replayed count"}[r]
}

// check verifies req's Digest credentials. It returns the user name they
// claim (when they parse), the outcome and, on success, the
// Authentication-Info value (RFC 7616 §3.5) that lets the client check the
// server knew its password too.
func (a *digestAuth) check(req *http.Request) (user string, res result, info string) {
	p, found := parseCredentials(req.Header.Get("Authorization"))
	if !found {
		return "", noAuth, ""
	}
	user, hasUser := p["username"]
	if !hasUser { // also when p is nil: the parameters do not parse
		return "", badParam, ""
	}
	for _, k := range [...]string{"realm", "nonce", "uri", "response", "qop", "nc", "cnonce"} {
		if _, ok := p[k]; !ok {
			return user, badParam, ""
		}
	}
	if alg, ok := p["algorithm"]; ok && !strings.EqualFold(alg, "MD5") {
		return user, badParam, ""
	}
	if !strings.EqualFold(p["qop"], "auth") || strings.EqualFold(p["userhash"], "true") {
		return user, badParam, ""
	}
	nc, err := strconv.ParseUint(p["nc"], 16, 64)
	if err != nil || nc == 0 {
		return user, badParam, ""
	}
	if p["realm"] != a.realm || p["opaque"] != a.state.opaque {
		return user, badNonce, ""
	}
	if !uriMatches(p["uri"], req) {
		return user, badURI, ""
	}
	issued, valid := a.state.verifyNonce(p["nonce"])
	if !valid {
		return user, badNonce, ""
	}

	ha1, known := a.users[userKey{user, a.realm}]
	if !known {
		ha1 = a.decoy // same work, so timing does not tell which names exist
	}
	want := kd(ha1, p, md5hex(req.Method+":"+p["uri"]))
	if subtle.ConstantTimeCompare([]byte(want), []byte(strings.ToLower(p["response"]))) != 1 || !known {
		return user, denied, ""
	}
	now := a.now()
	if now.Sub(issued) > nonceLifetime || !a.state.use(p["nonce"], issued, nc, now) {
		return user, stale, ""
	}
	rspauth := kd(ha1, p, md5hex(":"+p["uri"]))
	return user, ok, `rspauth="` + rspauth + `", qop=auth, nc=` + p["nc"] + `, cnonce="` + quoteEscape(p["cnonce"]) + `"`
}

// quoteEscape escapes s for the inside of a quoted-string.
func quoteEscape(s string) string {
	if !strings.ContainsAny(s, `"\`) {
		return s
	}
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s)
}

// kd is the request-digest of RFC 7616 §3.4.1 for qop=auth.
func kd(ha1 string, p map[string]string, ha2 string) string {
	return md5hex(ha1 + ":" + p["nonce"] + ":" + p["nc"] + ":" + p["cnonce"] + ":" + p["qop"] + ":" + ha2)
}

func md5hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

// uriMatches reports whether the digest's uri names the request's target
// (RFC 7616 §3.4.6). The request-target as received is compared, so a
// middleware that rewrites the path before this one (stripPrefix...) makes
// the digest fail; put digestAuth first.
func uriMatches(got string, req *http.Request) bool {
	want := req.RequestURI
	if want == "" {
		want = req.URL.RequestURI()
	}
	if got == want {
		return true
	}
	// One side in absolute form (http://host/path), as some clients send
	// through a proxy.
	gu, err1 := url.Parse(got)
	wu, err2 := url.Parse(want)
	if err1 != nil || err2 != nil || (gu.Host == "") == (wu.Host == "") {
		return false
	}
	return gu.EscapedPath() == wu.EscapedPath() && gu.RawQuery == wu.RawQuery
}

// parseCredentials parses an Authorization value of scheme Digest into its
// lower-cased parameter names and unquoted values. found is false for
// another scheme; a nil map with found true means the parameters do not
// parse or repeat (RFC 9110 §11.2 forbids repeating a parameter).
func parseCredentials(v string) (params map[string]string, found bool) {
	scheme, rest, _ := strings.Cut(strings.TrimLeft(v, " \t"), " ")
	if !strings.EqualFold(scheme, "Digest") {
		return nil, false
	}
	params = make(map[string]string, 10)
	s := rest
	for {
		s = strings.TrimLeft(s, " \t,")
		if s == "" {
			return params, true
		}
		i := 0
		for i < len(s) && isTokenChar(s[i]) {
			i++
		}
		name := strings.ToLower(s[:i])
		s = strings.TrimLeft(s[i:], " \t")
		if name == "" || !strings.HasPrefix(s, "=") {
			return nil, true
		}
		s = strings.TrimLeft(s[1:], " \t")
		var val string
		if strings.HasPrefix(s, `"`) {
			var b strings.Builder
			j := 1
			for ; j < len(s) && s[j] != '"'; j++ {
				if s[j] == '\\' && j+1 < len(s) {
					j++
				}
				b.WriteByte(s[j])
			}
			if j >= len(s) {
				return nil, true // unterminated
			}
			val, s = b.String(), s[j+1:]
		} else {
			j := 0
			for j < len(s) && isTokenChar(s[j]) {
				j++
			}
			val, s = s[:j], s[j:]
		}
		if _, dup := params[name]; dup {
			return nil, true
		}
		params[name] = val
		s = strings.TrimLeft(s, " \t")
		if s != "" && s[0] != ',' {
			return nil, true
		}
	}
}

// isTokenChar reports whether c is a tchar (RFC 9110 §5.6.2).
func isTokenChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// state is what a digestAuth middleware keeps across requests and reloads:
// the key that authenticates its nonces, its opaque value, and the counts
// used with each nonce in use.
type state struct {
	key    []byte
	opaque string

	mu     sync.Mutex
	nonces map[string]*counts
	// floor: nonces issued at or before it were dropped from the table
	// while still live, so they are stale rather than replayable.
	floor time.Time
}

type counts struct {
	issued time.Time
	max    uint64 // highest nc accepted
	seen   uint64 // bit i: nc max-i was accepted
}

func newState() *state {
	return &state{
		key:    randomBytes(32),
		opaque: base64.RawURLEncoding.EncodeToString(randomBytes(16)),
		nonces: make(map[string]*counts),
	}
}

const (
	nonceTimeLen = 8
	nonceRandLen = 8
	nonceMACLen  = 16
	nonceLen     = nonceTimeLen + nonceRandLen + nonceMACLen
)

// newNonce returns base64url(issue time ‖ random ‖ HMAC-SHA256 of both,
// truncated to 128 bits).
func (s *state) newNonce(now time.Time) string {
	var b [nonceLen]byte
	binary.BigEndian.PutUint64(b[:nonceTimeLen], uint64(now.UnixNano()))
	rand.Read(b[nonceTimeLen : nonceTimeLen+nonceRandLen])
	copy(b[nonceTimeLen+nonceRandLen:], s.mac(b[:nonceTimeLen+nonceRandLen]))
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func (s *state) mac(b []byte) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write(b)
	return m.Sum(nil)[:nonceMACLen]
}

// verifyNonce reports whether nonce was issued by s, and when.
func (s *state) verifyNonce(nonce string) (time.Time, bool) {
	// Strict: one spelling per nonce, so the replay table cannot be
	// keyed by variants of the same nonce.
	b, err := base64.RawURLEncoding.Strict().DecodeString(nonce)
	if err != nil || len(b) != nonceLen {
		return time.Time{}, false
	}
	if !hmac.Equal(b[nonceTimeLen+nonceRandLen:], s.mac(b[:nonceTimeLen+nonceRandLen])) {
		return time.Time{}, false
	}
	return time.Unix(0, int64(binary.BigEndian.Uint64(b[:nonceTimeLen]))), true
}

// use records nc for nonce and reports whether it was not used before.
func (s *state) use(nonce string, issued time.Time, nc uint64, now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, found := s.nonces[nonce]
	if !found {
		if !issued.After(s.floor) {
			return false
		}
		if len(s.nonces) >= maxNonces {
			s.shrink(now)
			if !issued.After(s.floor) {
				return false
			}
		}
		c = &counts{issued: issued}
		s.nonces[nonce] = c
	}
	switch {
	case nc > c.max:
		if d := nc - c.max; d >= ncWindow {
			c.seen = 0
		} else {
			c.seen <<= d
		}
		c.seen |= 1
		c.max = nc
	case c.max-nc >= ncWindow:
		return false // too far behind to tell whether it was used
	default:
		bit := uint64(1) << (c.max - nc)
		if c.seen&bit != 0 {
			return false
		}
		c.seen |= bit
	}
	return true
}

// shrink makes room in a full table: expired nonces go first; if live ones
// still fill it, the older half goes and nonces issued up to the newest of
// them become stale. Called with s.mu held.
func (s *state) shrink(now time.Time) {
	for n, c := range s.nonces {
		if now.Sub(c.issued) > nonceLifetime {
			delete(s.nonces, n)
		}
	}
	if len(s.nonces) < maxNonces*3/4 {
		return
	}
	times := make([]time.Time, 0, len(s.nonces))
	for _, c := range s.nonces {
		times = append(times, c.issued)
	}
	slices.SortFunc(times, time.Time.Compare)
	s.floor = times[len(times)/2]
	for n, c := range s.nonces {
		if !c.issued.After(s.floor) {
			delete(s.nonces, n)
		}
	}
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b) // never fails (crypto/rand since Go 1.24)
	return b
}
