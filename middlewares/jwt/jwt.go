// Package jwt implements the jwt middleware: a request passes only with a
// valid JSON Web Token, verified against a JWKS endpoint (cached, refreshed,
// rotated keys picked up), PEM public keys or an HMAC secret, with its
// issuer, audience and times checked; chosen claims become request headers.
package jwt

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"
	jwxt "github.com/lestrrat-go/jwx/v3/jwt"

	"github.com/guan-gateway/guan/config/dynamic"
	"github.com/guan-gateway/guan/middlewares"
	"github.com/guan-gateway/guan/reqinfo"
)

// Decision results counted in metrics.
const (
	resultAllowed = "allowed"
	resultMissing = "missing" // no token
	resultInvalid = "invalid" // bad signature, expired, wrong issuer...
)

// storeKind keeps the JWKS fetcher (and its cache) across reloads that
// leave the configuration unchanged.
const storeKind = "jwt.jwks"

var (
	asymmetric = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
	symmetric  = []string{"HS256", "HS384", "HS512"}
)

// keyTypeOf is the key type an algorithm verifies with: an HS* token is
// never checked against an RSA key (the HS/RS confusion attack).
func keyTypeOf(alg string) (jwa.KeyType, bool) {
	switch {
	case strings.HasPrefix(alg, "RS"), strings.HasPrefix(alg, "PS"):
		return jwa.RSA(), true
	case strings.HasPrefix(alg, "ES"):
		return jwa.EC(), true
	case strings.HasPrefix(alg, "HS"):
		return jwa.OctetSeq(), true
	case alg == "EdDSA":
		return jwa.OKP(), true
	}
	return jwa.KeyType{}, false
}

type middleware struct {
	next      http.Handler
	name      string
	static    jwk.Set
	remote    *remoteKeys // nil without jwksURL
	secret    []byte
	allowed   map[string]bool
	parseOpts []jwxt.ParseOption
	header    string // token header; "" when not read from a header
	bearer    bool   // the header carries "Bearer <token>"
	cookie    string
	query     string
	claims    []claimHeader
	challenge string // WWW-Authenticate for a missing token
	realm     string
	log       *slog.Logger
	decision  func(string)
}

type claimHeader struct{ claim, header string }

// New builds the middleware.
func New(env middlewares.Env, cfg dynamic.JWT, next http.Handler) (http.Handler, error) {
	m := &middleware{next: next, name: env.Name, log: env.Logger, decision: env.Decision, realm: cfg.Realm}
	if m.log == nil {
		m.log = slog.New(slog.DiscardHandler)
	}
	if cfg.JWKSURL == "" && len(cfg.PublicKeys) == 0 && cfg.Secret == "" {
		return nil, errors.New("jwt: no key: set jwksURL, publicKeys or secret")
	}
	var err error
	if m.static, err = parseStaticKeys(cfg.PublicKeys, env.BaseDir); err != nil {
		return nil, fmt.Errorf("jwt: %w", err)
	}
	if cfg.Secret != "" {
		m.secret = []byte(cfg.Secret)
	}
	if err := m.setAlgorithms(cfg); err != nil {
		return nil, fmt.Errorf("jwt: %w", err)
	}
	if cfg.JWKSURL != "" {
		if !strings.HasPrefix(cfg.JWKSURL, "https://") && !strings.HasPrefix(cfg.JWKSURL, "http://") {
			return nil, fmt.Errorf("jwt: jwksURL %q is not an http:// or https:// URL", cfg.JWKSURL)
		}
		refresh := defaultRefresh
		if cfg.JWKSRefreshInterval != nil {
			if refresh = cfg.JWKSRefreshInterval.Std(); refresh < time.Second {
				return nil, fmt.Errorf("jwt: jwksRefreshInterval %s is too short; use 1s or more", refresh)
			}
		}
		key := struct {
			URL     string
			Refresh time.Duration
		}{cfg.JWKSURL, refresh}
		if m.remote, err = middlewares.Lasting(env, storeKind, key, func() (*remoteKeys, error) {
			return newRemoteKeys(cfg.JWKSURL, refresh, m.log), nil
		}); err != nil {
			return nil, fmt.Errorf("jwt: %w", err)
		}
	}
	skew := time.Duration(0)
	if cfg.ClockSkew != nil {
		if skew = cfg.ClockSkew.Std(); skew < 0 {
			return nil, fmt.Errorf("jwt: clockSkew %s is negative", skew)
		}
	}
	m.parseOpts = []jwxt.ParseOption{
		jwxt.WithKeyProvider(keyProvider{m}),
		jwxt.WithValidate(true),
		jwxt.WithAcceptableSkew(skew),
		// A token without an expiry would be valid forever.
		jwxt.WithRequiredClaim("exp"),
	}
	if cfg.Issuer != "" {
		m.parseOpts = append(m.parseOpts, jwxt.WithIssuer(cfg.Issuer))
	}
	if len(cfg.Audience) > 0 {
		want := slices.Clone(cfg.Audience)
		m.parseOpts = append(m.parseOpts, jwxt.WithValidator(jwxt.ValidatorFunc(func(_ context.Context, t jwxt.Token) error {
			aud, _ := t.Audience()
			for _, a := range aud {
				if slices.Contains(want, a) {
					return nil
				}
			}
			return fmt.Errorf("audience %v is not one of %v", aud, want)
		})))
	}
	m.setSources(cfg)
	for claim, header := range cfg.ClaimsToHeaders {
		if claim == "" || header == "" {
			return nil, fmt.Errorf("jwt: claimsToHeaders: %q → %q: both the claim and the header name are needed", claim, header)
		}
		m.claims = append(m.claims, claimHeader{claim, http.CanonicalHeaderKey(header)})
	}
	slices.SortFunc(m.claims, func(a, b claimHeader) int { return strings.Compare(a.header, b.header) })
	if m.realm == "" {
		m.realm = "guan"
	}
	m.challenge = `Bearer realm="` + m.realm + `"`
	return m, nil
}

// setAlgorithms takes the configured algorithms, or every algorithm the
// configured keys can verify.
func (m *middleware) setAlgorithms(cfg dynamic.JWT) error {
	m.allowed = map[string]bool{}
	algs := cfg.Algorithms
	if len(algs) == 0 {
		if cfg.JWKSURL != "" || len(cfg.PublicKeys) > 0 {
			algs = append(algs, asymmetric...)
		}
		if cfg.Secret != "" {
			algs = append(algs, symmetric...)
		}
	}
	for _, a := range algs {
		if !slices.Contains(asymmetric, a) && !slices.Contains(symmetric, a) {
			return fmt.Errorf("algorithms: %q is not supported; use %s", a, strings.Join(append(slices.Clone(asymmetric), symmetric...), ", "))
		}
		if slices.Contains(symmetric, a) && cfg.Secret == "" {
			return fmt.Errorf("algorithms: %s needs a secret", a)
		}
		m.allowed[a] = true
	}
	return nil
}

// setSources decides where the token is read: a header (Authorization with
// the Bearer scheme by default), a cookie, a query parameter — in that
// order when several are set.
func (m *middleware) setSources(cfg dynamic.JWT) {
	m.cookie, m.query = cfg.TokenCookie, cfg.TokenQuery
	switch {
	case cfg.TokenHeader != "":
		m.header = http.CanonicalHeaderKey(cfg.TokenHeader)
		m.bearer = m.header == "Authorization"
	case cfg.TokenCookie == "" && cfg.TokenQuery == "":
		m.header, m.bearer = "Authorization", true
	}
}

// token finds the request's token.
func (m *middleware) token(r *http.Request) string {
	if m.header != "" {
		if v := r.Header.Get(m.header); v != "" {
			if !m.bearer {
				return strings.TrimSpace(v)
			}
			if scheme, tok, ok := strings.Cut(v, " "); ok && strings.EqualFold(scheme, "Bearer") {
				return strings.TrimSpace(tok)
			}
		}
	}
	if m.cookie != "" {
		if c, err := r.Cookie(m.cookie); err == nil && c.Value != "" {
			return c.Value
		}
	}
	if m.query != "" {
		if v := r.URL.Query().Get(m.query); v != "" {
			return v
		}
	}
	return ""
}

func (m *middleware) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	raw := m.token(r)
	if raw == "" {
		middlewares.Decide(r, m.decision, m.name, resultMissing)
		w.Header().Set("WWW-Authenticate", m.challenge)
		http.Error(w, http.StatusText(http.StatusUnauthorized), http.StatusUnauthorized)
		return
	}
	opts := append(m.parseOpts[:len(m.parseOpts):len(m.parseOpts)], jwxt.WithContext(r.Context()))
	tok, err := jwxt.ParseString(raw, opts...)
	if err != nil {
		middlewares.Decide(r, m.decision, m.name, resultInvalid)
		m.log.Debug("jwt: token refused", "error", err)
		w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm=%q, error="invalid_token", error_description=%q`, m.realm, describe(err)))
		http.Error(w, http.StatusText(http.StatusUnauthorized), http.StatusUnauthorized)
		return
	}
	middlewares.Decide(r, m.decision, m.name, resultAllowed)
	if sub, ok := tok.Subject(); ok {
		if info, ok := reqinfo.Lookup(r.Context()); ok && info != nil {
			info.ClientUsername = sub
		}
	}
	for _, c := range m.claims {
		r.Header.Del(c.header) // the client cannot supply what the token did not say
		if v, ok := claimString(tok, c.claim); ok {
			r.Header.Set(c.header, v)
		}
	}
	m.next.ServeHTTP(w, r.WithContext(withClaims(r.Context(), tok)))
}

// describe turns a parse error into the short reason a client is told.
func describe(err error) string {
	switch {
	case errors.Is(err, jwxt.TokenExpiredError()):
		return "the token has expired"
	case errors.Is(err, jwxt.TokenNotYetValidError()):
		return "the token is not valid yet"
	case errors.Is(err, jwxt.InvalidIssuerError()):
		return "wrong issuer"
	case errors.Is(err, jwxt.InvalidAudienceError()) || strings.Contains(err.Error(), "audience"):
		return "wrong audience"
	case strings.Contains(err.Error(), `"exp"`):
		return "the token has no expiry"
	}
	return "the token could not be verified"
}

// claimString renders a claim for a header: strings as they are, numbers
// and booleans in JSON form, lists of strings joined with commas, anything
// else as JSON.
func claimString(tok jwxt.Token, claim string) (string, bool) {
	var v any
	if err := tok.Get(claim, &v); err != nil || v == nil {
		return "", false
	}
	switch x := v.(type) {
	case string:
		return x, true
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), true
	case bool:
		return strconv.FormatBool(x), true
	case time.Time:
		return strconv.FormatInt(x.Unix(), 10), true
	case []string:
		return strings.Join(x, ","), true
	case []any:
		parts := make([]string, 0, len(x))
		for _, e := range x {
			s, ok := e.(string)
			if !ok {
				b, _ := json.Marshal(x)
				return string(b), true
			}
			parts = append(parts, s)
		}
		return strings.Join(parts, ","), true
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "", false
	}
	return string(b), true
}

// keyProvider hands jwx the keys that may verify a token: only for an
// accepted algorithm, only keys of that algorithm's type (and of that
// algorithm when the key names one), and the token's kid when it has one.
type keyProvider struct{ m *middleware }

func (p keyProvider) FetchKeys(ctx context.Context, sink jws.KeySink, sig *jws.Signature, _ *jws.Message) error {
	h := sig.ProtectedHeaders()
	alg, ok := h.Algorithm()
	if !ok {
		return errors.New("token has no algorithm")
	}
	name := alg.String()
	if !p.m.allowed[name] {
		return fmt.Errorf("algorithm %q is not accepted", name)
	}
	kt, _ := keyTypeOf(name)
	if kt == jwa.OctetSeq() {
		sink.Key(alg, p.m.secret)
		return nil
	}
	kid, _ := h.KeyID()
	found := offer(p.m.static, sink, alg, kt, kid)
	if r := p.m.remote; r != nil && !found {
		found = offer(r.keys(ctx, true), sink, alg, kt, kid)
		if !found && kid != "" {
			found = offer(r.refreshFor(ctx, kid), sink, alg, kt, kid)
		}
	}
	if !found {
		return fmt.Errorf("no %s key for kid %q", kt, kid)
	}
	return nil
}

func offer(set jwk.Set, sink jws.KeySink, alg jwa.SignatureAlgorithm, kt jwa.KeyType, kid string) bool {
	if set == nil {
		return false
	}
	found := false
	for i := range set.Len() {
		k, ok := set.Key(i)
		if !ok || k.KeyType() != kt {
			continue
		}
		if id, _ := k.KeyID(); kid != "" && id != "" && id != kid {
			continue // a key without an id (a PEM key) may verify any token
		}
		if ka, ok := k.Algorithm(); ok && ka.String() != alg.String() {
			continue
		}
		if use, ok := k.KeyUsage(); ok && use == "enc" {
			continue
		}
		sink.Key(alg, k)
		found = true
	}
	return found
}

type claimsKey struct{}

func withClaims(ctx context.Context, tok jwxt.Token) context.Context {
	return context.WithValue(ctx, claimsKey{}, tok)
}

// Claims returns the claims of the token a jwt middleware accepted earlier
// in the chain (for policy middlewares), or nil.
func Claims(ctx context.Context) map[string]any {
	tok, ok := ctx.Value(claimsKey{}).(jwxt.Token)
	if !ok {
		return nil
	}
	b, err := json.Marshal(tok)
	if err != nil {
		return nil
	}
	var m map[string]any
	if json.Unmarshal(b, &m) != nil {
		return nil
	}
	return m
}

// Verifier checks tokens outside HTTP: the MQTT jwt middleware verifies the
// token a client sends in its CONNECT with the same keys and rules.
type Verifier struct{ m *middleware }

// NewVerifier builds a verifier from the middleware's configuration.
func NewVerifier(env middlewares.Env, cfg dynamic.JWT) (*Verifier, error) {
	h, err := New(env, cfg, http.NotFoundHandler())
	if err != nil {
		return nil, err
	}
	return &Verifier{m: h.(*middleware)}, nil
}

// Verify returns the claims of a valid token, or why it is not.
func (v *Verifier) Verify(ctx context.Context, raw string) (map[string]any, error) {
	opts := append(v.m.parseOpts[:len(v.m.parseOpts):len(v.m.parseOpts)], jwxt.WithContext(ctx))
	tok, err := jwxt.ParseString(raw, opts...)
	if err != nil {
		return nil, errors.New(describe(err))
	}
	return Claims(withClaims(ctx, tok)), nil
}
