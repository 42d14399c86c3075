package jwt

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	jwxt "github.com/lestrrat-go/jwx/v3/jwt"

	"github.com/guan-gateway/guan/config"
	"github.com/guan-gateway/guan/config/dynamic"
	"github.com/guan-gateway/guan/middlewares"
	"github.com/guan-gateway/guan/reqinfo"
)

// signer is an RSA key published in a JWKS document.
type signer struct {
	priv jwk.Key
	pub  jwk.Key
}

func newSigner(t *testing.T, kid string) signer {
	t.Helper()
	raw, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	priv, err := jwk.Import(raw)
	if err != nil {
		t.Fatal(err)
	}
	priv.Set(jwk.KeyIDKey, kid)
	priv.Set(jwk.AlgorithmKey, jwa.RS256())
	pub, err := priv.PublicKey()
	if err != nil {
		t.Fatal(err)
	}
	return signer{priv, pub}
}

type claims map[string]any

func (s signer) sign(t *testing.T, c claims) string {
	t.Helper()
	return signWith(t, c, jwa.RS256(), s.priv)
}

func signWith(t *testing.T, c claims, alg jwa.SignatureAlgorithm, key any) string {
	t.Helper()
	tok := jwxt.New()
	for k, v := range c {
		if err := tok.Set(k, v); err != nil {
			t.Fatal(err)
		}
	}
	b, err := jwxt.Sign(tok, jwxt.WithKey(alg, key))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// jwksServer publishes the public keys of whatever signers are current.
type jwksServer struct {
	mu   sync.Mutex
	keys []signer
	down bool
	hits int
	srv  *httptest.Server
}

func newJWKS(t *testing.T, keys ...signer) *jwksServer {
	j := &jwksServer{keys: keys}
	j.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		j.mu.Lock()
		defer j.mu.Unlock()
		j.hits++
		if j.down {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		set := jwk.NewSet()
		for _, k := range j.keys {
			set.AddKey(k.pub)
		}
		json.NewEncoder(w).Encode(set)
	}))
	t.Cleanup(j.srv.Close)
	return j
}

func (j *jwksServer) set(keys ...signer) { j.mu.Lock(); j.keys = keys; j.mu.Unlock() }
func (j *jwksServer) setDown(d bool)     { j.mu.Lock(); j.down = d; j.mu.Unlock() }

func dur(d time.Duration) *config.Duration { c := config.Duration(d); return &c }

func build(t *testing.T, cfg dynamic.JWT) http.Handler {
	t.Helper()
	h, err := New(middlewares.Env{Name: "auth@file"}, cfg, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Seen-Sub", r.Header.Get("X-User"))
		w.Header().Set("X-Seen-Groups", r.Header.Get("X-Groups"))
		w.WriteHeader(http.StatusOK)
	}))
	if err != nil {
		t.Fatal(err)
	}
	if m, ok := h.(*middleware); ok && m.remote != nil {
		t.Cleanup(func() { m.remote.Close() })
	}
	return h
}

func call(h http.Handler, token string, hdr map[string]string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodGet, "http://api.example/orders", nil)
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func valid(extra claims) claims {
	c := claims{"sub": "alice", "iss": "https://id.example", "aud": []string{"orders"}, "exp": time.Now().Add(time.Hour), "nbf": time.Now().Add(-time.Minute)}
	for k, v := range extra {
		c[k] = v
	}
	return c
}

func TestJWKSVerification(t *testing.T) {
	k1 := newSigner(t, "k1")
	jwks := newJWKS(t, k1)
	h := build(t, dynamic.JWT{JWKSURL: jwks.srv.URL, Issuer: "https://id.example", Audience: []string{"billing", "orders"},
		ClaimsToHeaders: map[string]string{"sub": "X-User", "groups": "x-groups"}})

	w := call(h, k1.sign(t, valid(claims{"groups": []string{"admin", "ops"}})), map[string]string{"X-User": "mallory"})
	if w.Code != 200 || w.Header().Get("X-Seen-Sub") != "alice" || w.Header().Get("X-Seen-Groups") != "admin,ops" {
		t.Fatalf("valid token: %d %v", w.Code, w.Header())
	}
	// A claim the token lacks: the client's header of that name is removed.
	if w := call(h, k1.sign(t, valid(nil)), map[string]string{"X-Groups": "root"}); w.Header().Get("X-Seen-Groups") != "" {
		t.Fatalf("client-sent X-Groups reached the service: %q", w.Header().Get("X-Seen-Groups"))
	}

	for name, tc := range map[string]struct {
		token, reason string
	}{
		"expired":        {k1.sign(t, valid(claims{"exp": time.Now().Add(-time.Minute)})), "expired"},
		"not yet valid":  {k1.sign(t, valid(claims{"nbf": time.Now().Add(time.Hour)})), "not valid yet"},
		"wrong audience": {k1.sign(t, valid(claims{"aud": []string{"shipping"}})), "wrong audience"},
		"wrong issuer":   {k1.sign(t, valid(claims{"iss": "https://evil.example"})), "wrong issuer"},
		"no expiry":      {k1.sign(t, claims{"sub": "alice", "iss": "https://id.example", "aud": []string{"orders"}}), "no expiry"},
		"garbage":        {"not.a.token", "could not be verified"},
		"tampered":       {tamper(k1.sign(t, valid(nil))), "could not be verified"},
		"alg none":       {unsigned(valid(nil)), "could not be verified"},
		"other key":      {newSigner(t, "k1").sign(t, valid(nil)), "could not be verified"},
	} {
		w := call(h, tc.token, nil)
		if w.Code != http.StatusUnauthorized {
			t.Errorf("%s: %d, want 401", name, w.Code)
			continue
		}
		if got := w.Header().Get("WWW-Authenticate"); !strings.Contains(got, `error="invalid_token"`) || !strings.Contains(got, tc.reason) {
			t.Errorf("%s: WWW-Authenticate %q, want invalid_token and %q", name, got, tc.reason)
		}
	}
	w = call(h, "", nil)
	if w.Code != 401 || w.Header().Get("WWW-Authenticate") != `Bearer realm="guan"` {
		t.Fatalf("no token: %d %q", w.Code, w.Header().Get("WWW-Authenticate"))
	}
}

func tamper(tok string) string {
	parts := strings.Split(tok, ".")
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	payload = []byte(strings.Replace(string(payload), "alice", "admin", 1))
	parts[1] = base64.RawURLEncoding.EncodeToString(payload)
	return strings.Join(parts, ".")
}

func unsigned(c claims) string {
	hdr := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`))
	c2 := map[string]any{}
	for k, v := range c {
		if tm, ok := v.(time.Time); ok {
			v = tm.Unix()
		}
		c2[k] = v
	}
	b, _ := json.Marshal(c2)
	return hdr + "." + base64.RawURLEncoding.EncodeToString(b) + "."
}

// Keys rotated at the identity provider are picked up as soon as a token
// names the new key, without waiting for the refresh interval.
func TestKeyRotation(t *testing.T) {
	k1, k2 := newSigner(t, "k1"), newSigner(t, "k2")
	jwks := newJWKS(t, k1)
	h := build(t, dynamic.JWT{JWKSURL: jwks.srv.URL, JWKSRefreshInterval: dur(time.Hour)})
	if w := call(h, k1.sign(t, valid(nil)), nil); w.Code != 200 {
		t.Fatalf("k1 before rotation: %d", w.Code)
	}
	jwks.set(k1, k2)
	time.Sleep(minOnDemandGap)
	if w := call(h, k2.sign(t, valid(nil)), nil); w.Code != 200 {
		t.Fatalf("token signed by the new key k2: %d %s", w.Code, w.Header().Get("WWW-Authenticate"))
	}
	// Unknown key ids do not make every request fetch the JWKS.
	jwks.mu.Lock()
	before := jwks.hits
	jwks.mu.Unlock()
	k3 := newSigner(t, "k3")
	for range 20 {
		call(h, k3.sign(t, valid(nil)), nil)
	}
	jwks.mu.Lock()
	defer jwks.mu.Unlock()
	if jwks.hits-before > 2 {
		t.Fatalf("%d JWKS fetches for 20 tokens with an unknown kid; on-demand refresh must be rate-limited", jwks.hits-before)
	}
}

// A JWKS endpoint that is down at start: tokens are refused (not a
// configuration error), and accepted once it answers.
func TestJWKSDownAtStart(t *testing.T) {
	k1 := newSigner(t, "k1")
	jwks := newJWKS(t, k1)
	jwks.setDown(true)
	h := build(t, dynamic.JWT{JWKSURL: jwks.srv.URL})
	start := time.Now()
	if w := call(h, k1.sign(t, valid(nil)), nil); w.Code != 401 {
		t.Fatalf("JWKS down: %d", w.Code)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("a request waited %v on a JWKS endpoint that is down", d)
	}
	jwks.setDown(false)
	deadline := time.Now().Add(5 * time.Second)
	for call(h, k1.sign(t, valid(nil)), nil).Code != 200 {
		if time.Now().After(deadline) {
			t.Fatal("JWKS back for 5 s, tokens still refused")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// An HS256 token "signed" with the RSA public key as HMAC secret must not
// pass a middleware that verifies RSA signatures.
func TestAlgorithmConfusion(t *testing.T) {
	k1 := newSigner(t, "k1")
	var raw rsa.PublicKey
	if err := jwk.Export(k1.pub, &raw); err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(&raw)
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	h := build(t, dynamic.JWT{PublicKeys: []string{string(pemKey)}})
	if w := call(h, k1.sign(t, valid(nil)), nil); w.Code != 200 {
		t.Fatalf("RS256 with the PEM key: %d", w.Code)
	}
	forged := signWith(t, valid(nil), jwa.HS256(), pemKey)
	if w := call(h, forged, nil); w.Code != 401 {
		t.Fatalf("HS256 token keyed with the public key: %d, want 401", w.Code)
	}
	// Restricting algorithms: an RS256 token is refused when only ES256 is accepted.
	h = build(t, dynamic.JWT{PublicKeys: []string{string(pemKey)}, Algorithms: []string{"ES256"}})
	if w := call(h, k1.sign(t, valid(nil)), nil); w.Code != 401 {
		t.Fatalf("RS256 token with algorithms [ES256]: %d", w.Code)
	}
}

func TestSecretFileKeysCookieQueryAndSkew(t *testing.T) {
	secret := "s3cret-s3cret-s3cret-s3cret-s3cret"
	h := build(t, dynamic.JWT{Secret: secret, TokenCookie: "session", TokenQuery: "access_token", ClockSkew: dur(time.Minute)})
	tok := signWith(t, valid(claims{"exp": time.Now().Add(-30 * time.Second)}), jwa.HS256(), []byte(secret))
	r := httptest.NewRequest(http.MethodGet, "http://x/?access_token="+tok, nil)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != 200 {
		t.Fatalf("HS256 from the query, expired 30 s ago with 1 min skew: %d %s", w.Code, w.Header().Get("WWW-Authenticate"))
	}
	r = httptest.NewRequest(http.MethodGet, "http://x/", nil)
	r.AddCookie(&http.Cookie{Name: "session", Value: tok})
	ctx, info := reqinfo.NewContext(context.Background())
	w = httptest.NewRecorder()
	h.ServeHTTP(w, r.WithContext(ctx))
	if w.Code != 200 || info.ClientUsername != "alice" {
		t.Fatalf("from the cookie: %d, ClientUsername %q", w.Code, info.ClientUsername)
	}

	// An EC public key from a file.
	ecRaw, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKIXPublicKey(&ecRaw.PublicKey)
	path := filepath.Join(t.TempDir(), "ec.pem")
	os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o600)
	h = build(t, dynamic.JWT{PublicKeys: []string{path}})
	if w := call(h, signWith(t, valid(nil), jwa.ES256(), ecRaw), nil); w.Code != 200 {
		t.Fatalf("ES256 with a PEM file: %d %s", w.Code, w.Header().Get("WWW-Authenticate"))
	}
}

func TestConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		cfg  dynamic.JWT
		want string
	}{
		{dynamic.JWT{}, "no key"},
		{dynamic.JWT{Secret: "x", Algorithms: []string{"none"}}, `"none" is not supported`},
		{dynamic.JWT{PublicKeys: []string{"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"}}, "not a PEM public key"},
		{dynamic.JWT{PublicKeys: []string{"/nonexistent/key.pem"}}, "publicKeys[0]"},
		{dynamic.JWT{JWKSURL: "ftp://x"}, "not an http"},
		{dynamic.JWT{JWKSURL: "https://x", Algorithms: []string{"HS256"}}, "HS256 needs a secret"},
		{dynamic.JWT{Secret: "x", ClaimsToHeaders: map[string]string{"sub": ""}}, "claimsToHeaders"},
	} {
		if _, err := New(middlewares.Env{}, tc.cfg, http.NotFoundHandler()); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want %q", tc.cfg, err, tc.want)
		}
	}
}
