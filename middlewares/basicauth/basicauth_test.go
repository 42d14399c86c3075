package basicauth

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/guan-gateway/guan/config/dynamic"
	"github.com/guan-gateway/guan/middlewares"
	"github.com/guan-gateway/guan/middlewares/internal/mwtest"
	"github.com/guan-gateway/guan/reqinfo"
)

// Vectors produced by `openssl passwd`.
var md5Vectors = []struct{ password, hash string }{
	{"password", "$apr1$r31.....$ARC3pREO82RIm0aQ2zszC0"},
	{"password", "$1$saltstri$qQY4WxjABChYG1ccLpfkz/"},
	{"", "$apr1$12345678$sHuPAw7VA9xjRbJz7zKV7/"},
	{"a much longer password that exceeds sixteen bytes", "$apr1$ab$3GGRKYh0OLLqKHKsQHA4k0"},
}

func TestMD5CryptVectors(t *testing.T) {
	for _, v := range md5Vectors {
		h, err := parseHash(v.hash)
		if err != nil {
			t.Fatalf("%s: %v", v.hash, err)
		}
		if !h.verify(v.password) {
			t.Errorf("%s does not verify %q", v.hash, v.password)
		}
		if h.verify(v.password + "x") {
			t.Errorf("%s verifies a wrong password", v.hash)
		}
	}
}

// TestMD5CryptAgainstOpenSSL cross-checks random passwords when openssl is
// installed.
func TestMD5CryptAgainstOpenSSL(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl not installed")
	}
	for i, pw := range []string{"x", "exactly16bytes!!", "ünïcødé pässwörd", strings.Repeat("long", 20)} {
		salt := fmt.Sprintf("s%d$", i)[:2]
		out, err := exec.Command("openssl", "passwd", "-apr1", "-salt", salt, pw).Output()
		if err != nil {
			t.Fatal(err)
		}
		want := strings.TrimSpace(string(out))
		if got := string(md5Crypt([]byte(pw), []byte(salt), []byte(apr1Magic))); got != want {
			t.Errorf("md5Crypt(%q) = %s, openssl says %s", pw, got, want)
		}
	}
}

func bcryptHashOf(t testing.TB, pw, prefix string) string {
	h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return prefix + string(h[4:]) // $2a$ → $2y$/$2b$: same algorithm for ASCII
}

// echoBackend reports what the backend saw.
var echoBackend = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	fmt.Fprintf(w, "auth=%q user=%q", r.Header.Get("Authorization"), r.Header.Get("X-WebAuth-User"))
})

// do sends GET / to srv, with basic credentials when withAuth.
func do(t *testing.T, srv *mwtest.Server, user, pw string, withAuth bool) (*http.Response, string) {
	t.Helper()
	req := srv.NewRequest(t, http.MethodGet, "/", nil)
	if withAuth {
		req.SetBasicAuth(user, pw)
	}
	return srv.Do(t, req)
}

func TestBasicAuth(t *testing.T) {
	users := []string{
		"bob:" + bcryptHashOf(t, "bobpw", "$2y$"),
		"bea:" + bcryptHashOf(t, "beapw", "$2b$"),
		"sam:{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=", // "secret"
		"ann:$apr1$r31.....$ARC3pREO82RIm0aQ2zszC0",
	}
	h, err := New(middlewares.Env{Name: "auth@file"}, dynamic.BasicAuth{Users: users, HeaderField: "X-WebAuth-User", RemoveHeader: true}, echoBackend)
	if err != nil {
		t.Fatal(err)
	}
	srv := mwtest.Serve(t, h)
	tests := []struct {
		name     string
		user, pw string
		noAuth   bool
		wantCode int
	}{
		{"bcrypt 2y", "bob", "bobpw", false, 200},
		{"bcrypt 2y twice (cached)", "bob", "bobpw", false, 200},
		{"bcrypt 2b", "bea", "beapw", false, 200},
		{"sha1", "sam", "secret", false, 200},
		{"apr1", "ann", "password", false, 200},
		{"wrong password", "bob", "nope", false, 401},
		{"wrong password sha", "sam", "Secret", false, 401},
		{"unknown user", "eve", "bobpw", false, 401},
		{"other user's password", "ann", "bobpw", false, 401},
		{"no credentials", "", "", true, 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := do(t, srv, tt.user, tt.pw, !tt.noAuth)
			if resp.StatusCode != tt.wantCode {
				t.Fatalf("status %d, want %d (body %q)", resp.StatusCode, tt.wantCode, body)
			}
			if tt.wantCode == 401 {
				if got := resp.Header.Get("WWW-Authenticate"); got != `Basic realm="traefik"` {
					t.Errorf("WWW-Authenticate = %q", got)
				}
				if body != "401 Unauthorized\n" {
					t.Errorf("body = %q", body)
				}
				return
			}
			if want := fmt.Sprintf("auth=%q user=%q", "", tt.user); body != want {
				t.Errorf("backend saw %s, want %s", body, want)
			}
		})
	}
}

func TestHeadersKeptAndRealm(t *testing.T) {
	h, err := New(middlewares.Env{}, dynamic.BasicAuth{Users: []string{"sam:{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ="}, Realm: `my "zone"`}, echoBackend)
	if err != nil {
		t.Fatal(err)
	}
	srv := mwtest.Serve(t, h)
	resp, _ := do(t, srv, "", "", false)
	if got := resp.Header.Get("WWW-Authenticate"); got != `Basic realm="my \"zone\""` {
		t.Errorf("WWW-Authenticate = %q", got)
	}
	// Without removeHeader the backend sees Authorization; without
	// headerField a client-sent X-WebAuth-User passes untouched.
	_, body := do(t, srv, "sam", "secret", true)
	wantAuth := "Basic " + base64.StdEncoding.EncodeToString([]byte("sam:secret"))
	if want := fmt.Sprintf("auth=%q user=%q", wantAuth, ""); body != want {
		t.Errorf("backend saw %s, want %s", body, want)
	}
}

func TestHeaderFieldCannotBeSpoofed(t *testing.T) {
	h, err := New(middlewares.Env{}, dynamic.BasicAuth{Users: []string{"sam:{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ="}, HeaderField: "x-webauth-user"}, echoBackend)
	if err != nil {
		t.Fatal(err)
	}
	srv := mwtest.Serve(t, h)
	req := srv.NewRequest(t, http.MethodGet, "/", nil)
	req.SetBasicAuth("sam", "secret")
	req.Header.Set("X-WebAuth-User", "admin")
	_, b := srv.Do(t, req)
	if !strings.HasSuffix(b, `user="sam"`) {
		t.Errorf("backend saw %s, want user=sam", b)
	}
}

func TestUsersFile(t *testing.T) {
	dir := t.TempDir()
	content := "# admins\n\n  ann:$apr1$r31.....$ARC3pREO82RIm0aQ2zszC0  \nsam:{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=\n"
	if err := os.WriteFile(filepath.Join(dir, "users.htpasswd"), []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	// The file's sam overrides the inline sam.
	cfg := dynamic.BasicAuth{UsersFile: "users.htpasswd", Users: []string{"sam:{SHA}" + base64.StdEncoding.EncodeToString(make([]byte, 20)), "joe:{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ="}}
	h, err := New(middlewares.Env{BaseDir: dir}, cfg, echoBackend)
	if err != nil {
		t.Fatal(err)
	}
	srv := mwtest.Serve(t, h)
	for _, c := range []struct {
		user, pw string
		want     int
	}{{"ann", "password", 200}, {"sam", "secret", 200}, {"joe", "secret", 200}, {"ann", "x", 401}} {
		if resp, _ := do(t, srv, c.user, c.pw, true); resp.StatusCode != c.want {
			t.Errorf("%s: status %d, want %d", c.user, resp.StatusCode, c.want)
		}
	}
}

func TestNewErrors(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "bad"), []byte("ok:{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=\nbad:plaintext\n"), 0o600)
	build := func(cfg dynamic.BasicAuth) error {
		_, err := New(middlewares.Env{BaseDir: dir}, cfg, echoBackend)
		return err
	}
	mwtest.RefusesConfigs(t, build,
		mwtest.Bad("no users", dynamic.BasicAuth{}, "no users"),
		mwtest.Bad("plain text", dynamic.BasicAuth{Users: []string{"u:hunter2"}}, "plain-text"),
		mwtest.Bad("no colon", dynamic.BasicAuth{Users: []string{"u"}}, "name:hash"),
		mwtest.Bad("bad sha", dynamic.BasicAuth{Users: []string{"u:{SHA}abc"}}, "malformed {SHA}"),
		mwtest.Bad("bad bcrypt", dynamic.BasicAuth{Users: []string{"u:$2y$10$short"}}, "malformed bcrypt"),
		mwtest.Bad("bad apr1", dynamic.BasicAuth{Users: []string{"u:$apr1$saltsaltsalt$x"}}, "malformed apr1"),
		mwtest.Bad("sha512 crypt", dynamic.BasicAuth{Users: []string{"u:$6$salt$abc"}}, "unsupported"),
		mwtest.Bad("missing file", dynamic.BasicAuth{UsersFile: "nope.htpasswd"}, "nope.htpasswd"),
		mwtest.Bad("bad file line", dynamic.BasicAuth{UsersFile: "bad"}, "bad:2"),
		mwtest.Bad("bad header field", dynamic.BasicAuth{Users: []string{"sam:{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ="}, HeaderField: "X User"}, "headerField"),
		mwtest.Bad("bad realm", dynamic.BasicAuth{Users: []string{"sam:{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ="}, Realm: "a\nb"}, "realm"),
	)
}

func TestClientUsernameRecorded(t *testing.T) {
	h, err := New(middlewares.Env{}, dynamic.BasicAuth{Users: []string{"sam:{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ="}}, echoBackend)
	if err != nil {
		t.Fatal(err)
	}
	infos := make(chan *reqinfo.Info, 1)
	srv := mwtest.Serve(t, mwtest.WithInfo(h, infos))
	do(t, srv, "sam", "secret", true)
	if got := (<-infos).ClientUsername; got != "sam" {
		t.Errorf("ClientUsername = %q, want sam", got)
	}
}

func TestCacheBounded(t *testing.T) {
	c := newVerifiedCache(4, time.Minute)
	now := time.Now()
	for i := range 10 {
		c.add(c.key("u", fmt.Sprint(i)), now)
	}
	if n := c.len(); n > 4 {
		t.Fatalf("cache holds %d entries, bound is 4", n)
	}
	k := c.key("u", "fresh")
	c.add(k, now)
	if !c.has(k, now) {
		t.Error("fresh entry missing")
	}
	if c.has(k, now.Add(2*time.Minute)) {
		t.Error("expired entry still valid")
	}
	if c.key("ab", "c") == c.key("a", "bc") {
		t.Error("user/password boundary not part of the key")
	}
}

func TestConcurrentLogins(t *testing.T) {
	var users []string
	for i := range 4 {
		users = append(users, fmt.Sprintf("u%d:%s", i, bcryptHashOf(t, fmt.Sprint("pw", i), "$2y$")))
	}
	h, err := New(middlewares.Env{}, dynamic.BasicAuth{Users: users, HeaderField: "X-WebAuth-User"}, echoBackend)
	if err != nil {
		t.Fatal(err)
	}
	srv := mwtest.Serve(t, h)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for j := range 10 {
				u := (g + j) % 4
				pw := fmt.Sprint("pw", u)
				want := 200
				if j%3 == 0 {
					pw, want = "wrong", 401
				}
				req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, srv.URL, nil)
				req.SetBasicAuth(fmt.Sprint("u", u), pw)
				resp, _, err := srv.Send(req)
				if err != nil {
					t.Error(err)
					return
				}
				if resp.StatusCode != want {
					t.Errorf("u%d/%s: %d, want %d", u, pw, resp.StatusCode, want)
				}
			}
		})
	}
	wg.Wait()
}

func FuzzAuthorizationHeader(f *testing.F) {
	f.Add("Basic " + base64.StdEncoding.EncodeToString([]byte("ann:password")))
	f.Add("Basic !!!")
	f.Add("Bearer x")
	f.Add("Basic " + base64.StdEncoding.EncodeToString([]byte("ann")))
	h, err := New(middlewares.Env{}, dynamic.BasicAuth{Users: []string{"ann:$apr1$r31.....$ARC3pREO82RIm0aQ2zszC0", "sam:{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ="}}, http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, auth string) {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.Header.Set("Authorization", auth)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		u, p, _ := req.BasicAuth()
		ok := (u == "ann" && p == "password") || (u == "sam" && p == "secret")
		if (w.Code == 200) != ok {
			t.Fatalf("header %q: status %d", auth, w.Code)
		}
	})
}

type nopWriter struct{ h http.Header }

func (w *nopWriter) Header() http.Header         { return w.h }
func (w *nopWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *nopWriter) WriteHeader(int)             {}

// BenchmarkCachedBcrypt measures a logged-in client hitting a bcrypt user
// (cost 10, as htpasswd -B uses by default) after the first check.
func BenchmarkCachedBcrypt(b *testing.B) {
	hash, _ := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.DefaultCost)
	h, err := New(middlewares.Env{}, dynamic.BasicAuth{Users: []string{"bob:" + string(hash)}}, http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	if err != nil {
		b.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.SetBasicAuth("bob", "pw")
	w := &nopWriter{h: http.Header{}}
	h.ServeHTTP(w, req)
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(w, req)
	}
}

func BenchmarkSHA1(b *testing.B) {
	h, _ := New(middlewares.Env{}, dynamic.BasicAuth{Users: []string{"sam:{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ="}}, http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.SetBasicAuth("sam", "secret")
	w := &nopWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(w, req)
	}
}

// countingVerifier counts the checks made through it.
type countingVerifier struct {
	verifier
	n int
}

func (c *countingVerifier) verify(pw string) bool { c.n++; return c.verifier.verify(pw) }

func hashWithCost(t testing.TB, pw string, cost int) string {
	h, err := bcrypt.GenerateFromPassword([]byte(pw), cost)
	if err != nil {
		t.Fatal(err)
	}
	return string(h)
}

// An unknown user name is checked against a decoy of the users' bcrypt
// cost, exactly once, so it costs what a known user's wrong password costs;
// known users never touch the decoy.
func TestUnknownUserPaysForADecoyCheck(t *testing.T) {
	const cost = bcrypt.MinCost + 1
	users := []string{"bob:" + hashWithCost(t, "bobpw", cost), "bea:" + hashWithCost(t, "beapw", cost)}
	h, err := New(middlewares.Env{}, dynamic.BasicAuth{Users: users}, echoBackend)
	if err != nil {
		t.Fatal(err)
	}
	a := h.(*basicAuth)
	decoy, ok := a.creds.decoy.(bcryptHash)
	if !ok {
		t.Fatalf("decoy is %T, want a bcrypt hash", a.creds.decoy)
	}
	if c, err := bcrypt.Cost([]byte(decoy)); err != nil || c != cost {
		t.Fatalf("decoy cost %d (%v), want %d", c, err, cost)
	}
	// Well-formed, so bcrypt does the full work and then fails to match.
	if err := bcrypt.CompareHashAndPassword([]byte(decoy), []byte("bobpw")); err != bcrypt.ErrMismatchedHashAndPassword {
		t.Fatalf("decoy comparison: %v, want a mismatch after hashing", err)
	}
	counter := &countingVerifier{verifier: a.creds.decoy}
	a.creds.decoy = counter
	srv := mwtest.Serve(t, h)
	for _, tt := range []struct {
		user, pw  string
		code      int
		decoyUses int
	}{
		{"eve", "bobpw", 401, 1},
		{"bob", "wrong", 401, 1},
		{"bob", "bobpw", 200, 1},
		{"mallory", "", 401, 2},
	} {
		if resp, _ := do(t, srv, tt.user, tt.pw, true); resp.StatusCode != tt.code || counter.n != tt.decoyUses {
			t.Fatalf("%s: status %d, decoy checked %d times in all; want %d and %d", tt.user, resp.StatusCode, counter.n, tt.code, tt.decoyUses)
		}
	}
}

// The decoy follows the format most users have, ties going to the most
// expensive, and never matches.
func TestDecoyFollowsTheUsers(t *testing.T) {
	b4, b5 := hashWithCost(t, "x", 4), hashWithCost(t, "x", 5)
	sha := "{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ="
	apr1 := "$apr1$r31.....$ARC3pREO82RIm0aQ2zszC0"
	md5 := "$1$salt$qQY4WxjABChYG1ccLpfkz/"
	for _, tt := range []struct {
		hashes []string
		want   string // bcrypt cost, "sha1", or md5 magic and salt length
	}{
		{[]string{b4, b4, b5}, "bcrypt 4"},
		{[]string{b4, b5}, "bcrypt 5"},
		{[]string{sha, sha, b5}, "sha1"},
		{[]string{sha, apr1}, "$apr1$ 8"},
		{[]string{md5, apr1, b4}, "bcrypt 4"},
		{[]string{md5}, "$1$ 4"},
	} {
		users := map[string]verifier{}
		for i, h := range tt.hashes {
			if err := addUser(users, fmt.Sprintf("u%d:%s", i, h)); err != nil {
				t.Fatal(err)
			}
		}
		var got string
		switch d := decoyFor(users).(type) {
		case bcryptHash:
			c, err := bcrypt.Cost([]byte(d))
			if err != nil {
				t.Fatal(err)
			}
			got = fmt.Sprintf("bcrypt %d", c)
		case shaHash:
			got = "sha1"
		case md5CryptHash:
			got = fmt.Sprintf("%s %d", d.magic, len(d.salt))
		}
		if got != tt.want {
			t.Errorf("%d users: decoy %s, want %s", len(tt.hashes), got, tt.want)
		}
		for _, pw := range []string{"", "x", "secret", "password"} {
			if decoyFor(users).verify(pw) {
				t.Errorf("the decoy for %s matched %q", tt.want, pw)
			}
		}
	}
}

// Wall-clock check with bounds far too generous to flake: the fastest of a
// few unknown-user failures takes at least a fifth of the fastest
// wrong-password failure (without the decoy it was under a hundredth).
func TestUnknownUserTimingComparable(t *testing.T) {
	const cost = 6
	h, err := New(middlewares.Env{}, dynamic.BasicAuth{Users: []string{"bob:" + hashWithCost(t, "bobpw", cost)}}, echoBackend)
	if err != nil {
		t.Fatal(err)
	}
	fastest := func(user string) time.Duration {
		best := time.Duration(1 << 62)
		for range 5 {
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			req.SetBasicAuth(user, "wrong")
			rec := httptest.NewRecorder()
			start := time.Now()
			h.ServeHTTP(rec, req)
			best = min(best, time.Since(start))
			if rec.Code != 401 {
				t.Fatalf("%s: %d", user, rec.Code)
			}
		}
		return best
	}
	known, unknown := fastest("bob"), fastest("eve")
	if unknown < known/5 {
		t.Fatalf("unknown user rejected in %v, known user's wrong password in %v: timing tells them apart", unknown, known)
	}
}

// BenchmarkRejectKnownUser and BenchmarkRejectUnknownUser should report
// about the same time per failure (bcrypt, cost 10).
func BenchmarkRejectKnownUser(b *testing.B)   { benchReject(b, "bob") }
func BenchmarkRejectUnknownUser(b *testing.B) { benchReject(b, "eve") }

func benchReject(b *testing.B, user string) {
	h, err := New(middlewares.Env{}, dynamic.BasicAuth{Users: []string{"bob:" + hashWithCost(b, "pw", bcrypt.DefaultCost)}}, http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	if err != nil {
		b.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.SetBasicAuth(user, "wrong")
	w := &nopWriter{h: http.Header{}}
	for b.Loop() {
		h.ServeHTTP(w, req)
	}
}
