package digestauth

import (
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/guan-gateway/guan/config/dynamic"
	"github.com/guan-gateway/guan/middlewares"
	"github.com/guan-gateway/guan/middlewares/internal/mwtest"
	"github.com/guan-gateway/guan/reqinfo"
	"github.com/guan-gateway/guan/statestore"
)

// Entries from Traefik's documentation: test/test and test2/test2.
const (
	testUser  = "test:traefik:a2688e031edb4be6a3797f3882655c05"
	test2User = "test2:traefik:518845800f9e2bfb1f1f740ec24f074e"
)

func ha1(user, realm, pw string) string {
	s := md5.Sum([]byte(user + ":" + realm + ":" + pw))
	return hex.EncodeToString(s[:])
}

// The worked example of RFC 2617 §3.5.
func TestRFC2617Vector(t *testing.T) {
	p := map[string]string{"nonce": "dcd98b7102dd2f0e8b11d0f600bfb0c093", "nc": "00000001", "cnonce": "0a4f113b", "qop": "auth"}
	got := kd(ha1("Mufasa", "testrealm@host.com", "Circle Of Life"), p, md5hex("GET:/dir/index.html"))
	if got != "6629fae49393a05397450978507c4ef1" {
		t.Fatalf("request-digest = %s", got)
	}
}

var echoBackend = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	fmt.Fprintf(w, "auth=%t user=%q", r.Header.Get("Authorization") != "", r.Header.Get("X-WebAuth-User"))
})

// challenge is a parsed WWW-Authenticate: Digest value.
type challenge map[string]string

func parseChallenge(t *testing.T, resp *http.Response) challenge {
	t.Helper()
	v := resp.Header.Get("WWW-Authenticate")
	p, found := parseCredentials(v) // same syntax as credentials
	if !found || p == nil {
		t.Fatalf("WWW-Authenticate = %q", v)
	}
	return p
}

// authorization answers c for user/password on method uri with count nc.
func authorization(c challenge, user, pw, method, uri string, nc int) string {
	p := map[string]string{"nonce": c["nonce"], "nc": fmt.Sprintf("%08x", nc), "cnonce": "c0ffee", "qop": "auth"}
	resp := kd(ha1(user, c["realm"], pw), p, md5hex(method+":"+uri))
	return fmt.Sprintf(`Digest username="%s", realm="%s", nonce="%s", uri="%s", algorithm=MD5, response="%s", opaque="%s", qop=auth, nc=%s, cnonce="c0ffee"`,
		user, c["realm"], c["nonce"], uri, resp, c["opaque"], p["nc"])
}

type fixture struct {
	srv *mwtest.Server
	mw  *digestAuth
}

func newFixture(t *testing.T, cfg dynamic.DigestAuth) *fixture {
	t.Helper()
	h, err := New(middlewares.Env{Name: "auth@file"}, cfg, echoBackend)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{srv: mwtest.Serve(t, h), mw: h.(*digestAuth)}
}

func (f *fixture) get(t *testing.T, uri, auth string) (*http.Response, string) {
	t.Helper()
	req := f.srv.NewRequest(t, http.MethodGet, uri, nil)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	return f.srv.Do(t, req)
}

func (f *fixture) challenge(t *testing.T) challenge {
	t.Helper()
	resp, body := f.get(t, "/", "")
	if resp.StatusCode != 401 || body != "401 Unauthorized\n" {
		t.Fatalf("no credentials: %d %q", resp.StatusCode, body)
	}
	return parseChallenge(t, resp)
}

func TestChallenge(t *testing.T) {
	f := newFixture(t, dynamic.DigestAuth{Users: []string{testUser}})
	resp, _ := f.get(t, "/", "")
	v := resp.Header.Get("WWW-Authenticate")
	if !strings.HasPrefix(v, `Digest realm="traefik", qop="auth", algorithm=MD5, nonce="`) || strings.Contains(v, "stale") {
		t.Fatalf("WWW-Authenticate = %q", v)
	}
	c := parseChallenge(t, resp)
	if c["opaque"] == "" || len(c["nonce"]) < 40 {
		t.Fatalf("challenge %v", c)
	}
	if c2 := f.challenge(t); c2["nonce"] == c["nonce"] || c2["opaque"] != c["opaque"] {
		t.Fatalf("second challenge %v, first %v: want a new nonce, the same opaque", c2, c)
	}
	// Basic credentials get the Digest challenge.
	req := f.srv.NewRequest(t, http.MethodGet, "/", nil)
	req.SetBasicAuth("test", "test")
	if resp, _ := f.srv.Do(t, req); resp.StatusCode != 401 || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Digest ") {
		t.Fatalf("basic credentials: %d %v", resp.StatusCode, resp.Header)
	}
}

func TestDigestAuth(t *testing.T) {
	f := newFixture(t, dynamic.DigestAuth{Users: []string{testUser, test2User}, HeaderField: "X-WebAuth-User", RemoveHeader: true})
	c := f.challenge(t)

	resp, body := f.get(t, "/a?b=c", authorization(c, "test", "test", "GET", "/a?b=c", 1))
	if resp.StatusCode != 200 || body != `auth=false user="test"` {
		t.Fatalf("good credentials: %d %q", resp.StatusCode, body)
	}
	// Authentication-Info proves the server knows the password too.
	p := map[string]string{"nonce": c["nonce"], "nc": "00000001", "cnonce": "c0ffee", "qop": "auth"}
	wantInfo := fmt.Sprintf(`rspauth="%s", qop=auth, nc=00000001, cnonce="c0ffee"`, kd(ha1("test", "traefik", "test"), p, md5hex(":/a?b=c")))
	if got := resp.Header.Get("Authentication-Info"); got != wantInfo {
		t.Errorf("Authentication-Info = %q, want %q", got, wantInfo)
	}
	// The same nonce, next count, another user (clients share nothing).
	if resp, body := f.get(t, "/", authorization(c, "test2", "test2", "GET", "/", 2)); resp.StatusCode != 200 || body != `auth=false user="test2"` {
		t.Fatalf("second user: %d %q", resp.StatusCode, body)
	}

	for _, tc := range []struct {
		name      string
		auth      string
		wantCode  int
		wantStale bool
	}{
		{"replayed count", authorization(c, "test", "test", "GET", "/a?b=c", 1), 401, true},
		{"wrong password", authorization(c, "test", "nope", "GET", "/", 3), 401, false},
		{"unknown user", authorization(c, "eve", "test", "GET", "/", 3), 401, false},
		{"digest for another method", authorization(c, "test", "test", "POST", "/", 3), 401, false},
		{"digest for another uri", authorization(c, "test", "test", "GET", "/other", 3), 400, false},
		{"forged nonce", authorization(challenge{"realm": "traefik", "nonce": "AAAA" + c["nonce"][4:], "opaque": c["opaque"]}, "test", "test", "GET", "/", 3), 401, false},
		{"another opaque", authorization(challenge{"realm": "traefik", "nonce": c["nonce"], "opaque": "x"}, "test", "test", "GET", "/", 3), 401, false},
		{"another realm", authorization(challenge{"realm": "other", "nonce": c["nonce"], "opaque": c["opaque"]}, "test", "test", "GET", "/", 3), 401, false},
		{"no qop", strings.Replace(authorization(c, "test", "test", "GET", "/", 3), "qop=auth, ", "", 1), 401, false},
		{"sha-256", strings.Replace(authorization(c, "test", "test", "GET", "/", 3), "algorithm=MD5", "algorithm=SHA-256", 1), 401, false},
		{"nc zero", strings.Replace(authorization(c, "test", "test", "GET", "/", 3), "nc=00000003", "nc=00000000", 1), 401, false},
		{"duplicate parameter", authorization(c, "test", "test", "GET", "/", 3) + `, username="test2"`, 401, false},
		{"unterminated quote", `Digest username="test`, 401, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := f.get(t, "/", tc.auth)
			if tc.name == "replayed count" {
				resp, body = f.get(t, "/a?b=c", tc.auth)
			}
			if resp.StatusCode != tc.wantCode {
				t.Fatalf("status %d, want %d (%q)", resp.StatusCode, tc.wantCode, body)
			}
			if tc.wantCode != 401 {
				return
			}
			stale := strings.HasSuffix(resp.Header.Get("WWW-Authenticate"), ", stale=true")
			if stale != tc.wantStale {
				t.Fatalf("stale=%t, want %t: %q", stale, tc.wantStale, resp.Header.Get("WWW-Authenticate"))
			}
			if resp.Header.Get("Authentication-Info") != "" {
				t.Fatal("Authentication-Info on a failure")
			}
		})
	}
	// The failures above used count 3 without consuming it: it still works.
	if resp, _ := f.get(t, "/", authorization(c, "test", "test", "GET", "/", 3)); resp.StatusCode != 200 {
		t.Fatalf("count 3 after failures: %d", resp.StatusCode)
	}
}

func TestNonceCountsOutOfOrder(t *testing.T) {
	f := newFixture(t, dynamic.DigestAuth{Users: []string{testUser}})
	c := f.challenge(t)
	try := func(nc int) int {
		resp, _ := f.get(t, "/", authorization(c, "test", "test", "GET", "/", nc))
		return resp.StatusCode
	}
	// Concurrent requests on one nonce may arrive out of order: each
	// count is accepted once, within the window below the highest.
	for _, step := range []struct{ nc, want int }{{5, 200}, {3, 200}, {4, 200}, {3, 401}, {5, 401}, {1, 200}, {100, 200}, {37, 200}, {36, 401}, {99, 200}, {99, 401}} {
		if got := try(step.nc); got != step.want {
			t.Fatalf("nc=%d: %d, want %d", step.nc, got, step.want)
		}
	}
}

func TestNonceExpires(t *testing.T) {
	f := newFixture(t, dynamic.DigestAuth{Users: []string{testUser}})
	var mu sync.Mutex
	now := time.Now()
	f.mw.now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	c := f.challenge(t)
	if resp, _ := f.get(t, "/", authorization(c, "test", "test", "GET", "/", 1)); resp.StatusCode != 200 {
		t.Fatalf("fresh nonce: %d", resp.StatusCode)
	}
	mu.Lock()
	now = now.Add(nonceLifetime + time.Second)
	mu.Unlock()
	resp, _ := f.get(t, "/", authorization(c, "test", "test", "GET", "/", 2))
	if resp.StatusCode != 401 || !strings.HasSuffix(resp.Header.Get("WWW-Authenticate"), "stale=true") {
		t.Fatalf("expired nonce: %d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
	// The client retries with the nonce of the stale challenge.
	c2 := parseChallenge(t, resp)
	if resp, _ := f.get(t, "/", authorization(c2, "test", "test", "GET", "/", 1)); resp.StatusCode != 200 {
		t.Fatalf("new nonce: %d", resp.StatusCode)
	}
	// A wrong password with an expired nonce is not told to retry.
	resp, _ = f.get(t, "/", authorization(c, "test", "bad", "GET", "/", 3))
	if resp.StatusCode != 401 || strings.Contains(resp.Header.Get("WWW-Authenticate"), "stale") {
		t.Fatalf("expired nonce, wrong password: %d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
}

// The table of nonces in use stays bounded, and a nonce dropped from it
// while live is stale, never replayable.
func TestNonceTableBounded(t *testing.T) {
	s := newState()
	start := time.Now()
	first := s.newNonce(start)
	issued, ok := s.verifyNonce(first)
	if !ok || !s.use(first, issued, 1, start) {
		t.Fatal("first nonce refused")
	}
	for i := 1; i <= maxNonces+10; i++ {
		at := start.Add(time.Duration(i) * time.Millisecond)
		n := s.newNonce(at)
		if !s.use(n, at, 1, at) {
			t.Fatalf("nonce %d refused", i)
		}
		if len(s.nonces) > maxNonces {
			t.Fatalf("%d nonces tracked", len(s.nonces))
		}
	}
	if s.use(first, issued, 1, start) || s.use(first, issued, 2, start) {
		t.Fatal("a nonce dropped from the table is usable again")
	}
	// When the table fills again, expired nonces are dropped first: the
	// live ones all stay usable.
	later := start.Add(2 * nonceLifetime)
	live := maxNonces*3/4 - 1
	for i := 0; i < live; i++ {
		n := s.newNonce(later)
		if !s.use(n, later, 1, later) {
			t.Fatalf("nonce after expiry %d refused", i)
		}
	}
	if len(s.nonces) != live || !s.floor.Before(later) {
		t.Fatalf("%d nonces tracked after the old ones expired, want %d; floor %v", len(s.nonces), live, s.floor)
	}
}

func TestVerifyNonce(t *testing.T) {
	s, other := newState(), newState()
	now := time.Now()
	n := s.newNonce(now)
	if at, ok := s.verifyNonce(n); !ok || !at.Equal(time.Unix(0, now.UnixNano())) {
		t.Fatalf("verifyNonce = %v, %t", at, ok)
	}
	for _, bad := range []string{"", "x", n[:len(n)-1], n + "A", other.newNonce(now), "!" + n[1:]} {
		if _, ok := s.verifyNonce(bad); ok {
			t.Errorf("nonce %q accepted", bad)
		}
	}
}

// Nonces and counts outlive a reload of an unchanged middleware.
func TestStateKeptAcrossReloads(t *testing.T) {
	store := statestore.New()
	cfg := dynamic.DigestAuth{Users: []string{testUser}}
	build := func() http.Handler {
		b := store.Begin()
		h, err := New(middlewares.Env{Name: "auth@file", Store: b}, cfg, echoBackend)
		if err != nil {
			t.Fatal(err)
		}
		b.Commit()
		return h
	}
	srv := mwtest.Serve(t, build())
	resp, _ := srv.Get(t, "/")
	c := parseChallenge(t, resp)
	srv2 := mwtest.Serve(t, build())
	do := func(s *mwtest.Server, nc int) int {
		req := s.NewRequest(t, http.MethodGet, "/", nil)
		req.Header.Set("Authorization", authorization(c, "test", "test", "GET", "/", nc))
		resp, _ := s.Do(t, req)
		return resp.StatusCode
	}
	if got := do(srv2, 1); got != 200 {
		t.Fatalf("nonce of the previous generation: %d", got)
	}
	if got := do(srv, 1); got != 401 {
		t.Fatalf("count replayed on the previous generation: %d", got)
	}
}

func TestForwardAndAccessLog(t *testing.T) {
	h, err := New(middlewares.Env{}, dynamic.DigestAuth{Users: []string{testUser}, HeaderField: "x-webauth-user"}, echoBackend)
	if err != nil {
		t.Fatal(err)
	}
	infos := make(chan *reqinfo.Info, 2)
	srv := mwtest.Serve(t, mwtest.WithInfo(h, infos))
	resp, _ := srv.Get(t, "/")
	<-infos
	c := parseChallenge(t, resp)
	req := srv.NewRequest(t, http.MethodGet, "/", nil)
	req.Header.Set("Authorization", authorization(c, "test", "test", "GET", "/", 1))
	req.Header.Set("X-WebAuth-User", "admin") // replaced, not trusted
	_, body := srv.Do(t, req)
	if body != `auth=true user="test"` {
		t.Fatalf("backend saw %s", body)
	}
	if info := <-infos; info.ClientUsername != "test" {
		t.Fatalf("ClientUsername = %q", info.ClientUsername)
	}
}

func TestRealmAndUsersFile(t *testing.T) {
	dir := t.TempDir()
	content := "# htdigest -c users.htdigest 'Admin area' ann\n\nann:Admin area:" + ha1("ann", "Admin area", "pw") + "\n  test:Admin area:" + ha1("test", "Admin area", "filepw") + "  \n"
	if err := os.WriteFile(filepath.Join(dir, "users.htdigest"), []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := dynamic.DigestAuth{
		Realm:     `Admin area`,
		UsersFile: "users.htdigest",
		// The file's test overrides this one; test of realm traefik is
		// never asked for.
		Users: []string{"test:Admin area:" + ha1("test", "Admin area", "inline"), testUser},
	}
	h, err := New(middlewares.Env{BaseDir: dir}, cfg, echoBackend)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{srv: mwtest.Serve(t, h), mw: h.(*digestAuth)}
	c := f.challenge(t)
	if c["realm"] != "Admin area" {
		t.Fatalf("realm %q", c["realm"])
	}
	for i, tc := range []struct {
		user, pw string
		want     int
	}{{"ann", "pw", 200}, {"test", "filepw", 200}, {"test", "inline", 401}, {"test", "test", 401}} {
		if resp, _ := f.get(t, "/", authorization(c, tc.user, tc.pw, "GET", "/", i+1)); resp.StatusCode != tc.want {
			t.Errorf("%s/%s: %d, want %d", tc.user, tc.pw, resp.StatusCode, tc.want)
		}
	}
	// A digest computed for realm traefik does not pass either.
	c["realm"] = "traefik"
	if resp, _ := f.get(t, "/", authorization(c, "test", "test", "GET", "/", 9)); resp.StatusCode != 401 {
		t.Errorf("digest of another realm: %d", resp.StatusCode)
	}
}

func TestNewErrors(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "bad"), []byte(testUser+"\nbad:traefik:nothex\n"), 0o600)
	build := func(cfg dynamic.DigestAuth) error {
		_, err := New(middlewares.Env{BaseDir: dir}, cfg, echoBackend)
		return err
	}
	mwtest.RefusesConfigs(t, build,
		mwtest.Bad("no users", dynamic.DigestAuth{}, "no users"),
		mwtest.Bad("two fields", dynamic.DigestAuth{Users: []string{"u:a2688e031edb4be6a3797f3882655c05"}}, "name:realm:hash"),
		mwtest.Bad("four fields", dynamic.DigestAuth{Users: []string{"u:r:x:a2688e031edb4be6a3797f3882655c05"}}, "users[0]"),
		mwtest.Bad("not md5", dynamic.DigestAuth{Users: []string{"u:traefik:$apr1$r31.....$ARC3pREO82RIm0aQ2zszC0"}}, "32 hexadecimal digits"),
		mwtest.Bad("file line", dynamic.DigestAuth{UsersFile: "bad"}, "bad:2"),
		mwtest.Bad("missing file", dynamic.DigestAuth{UsersFile: "nope"}, "usersFile"),
		mwtest.Bad("no user of the realm", dynamic.DigestAuth{Users: []string{testUser}, Realm: "other"}, `no user of realm "other"`),
		mwtest.Bad("control character in realm", dynamic.DigestAuth{Users: []string{"u:a\tb:a2688e031edb4be6a3797f3882655c05"}, Realm: "a\tb"}, "control characters"),
		mwtest.Bad("header field", dynamic.DigestAuth{Users: []string{testUser}, HeaderField: "X User"}, "not a valid header name"),
	)
}

func TestParseCredentials(t *testing.T) {
	for _, tc := range []struct {
		in    string
		found bool
		want  map[string]string
	}{
		{`Basic dGVzdDp0ZXN0`, false, nil},
		{`digest Username="a\"b", REALM=r ,nc=00000001,, uri="/x,y"`, true, map[string]string{"username": `a"b`, "realm": "r", "nc": "00000001", "uri": "/x,y"}},
		{`Digest`, true, map[string]string{}},
		{`Digest a=1 b=2`, true, nil},
		{`Digest =1`, true, nil},
		{`Digest a="1`, true, nil},
		{`Digest a=1, a=2`, true, nil},
	} {
		got, found := parseCredentials(tc.in)
		if found != tc.found || fmt.Sprint(got) != fmt.Sprint(tc.want) || (got == nil) != (tc.want == nil) {
			t.Errorf("parseCredentials(%q) = %v, %t; want %v, %t", tc.in, got, found, tc.want, tc.found)
		}
	}
}

func FuzzParseCredentials(f *testing.F) {
	f.Add(`Digest username="a", realm="b\"c", nc=00000001`)
	f.Add(`Digest a=,b="`)
	f.Fuzz(func(t *testing.T, s string) {
		p, _ := parseCredentials(s)
		for k := range p {
			if k == "" || strings.ToLower(k) != k {
				t.Fatalf("bad name %q", k)
			}
		}
	})
}

// Many clients on one middleware: no races, and every count is accepted
// exactly once.
func TestConcurrent(t *testing.T) {
	f := newFixture(t, dynamic.DigestAuth{Users: []string{testUser}})
	c := f.challenge(t)
	var wg sync.WaitGroup
	codes := make(chan int, 40)
	for i := 0; i < 40; i++ {
		wg.Add(1)
		go func(nc int) {
			defer wg.Done()
			req := f.srv.NewRequest(t, http.MethodGet, "/", nil)
			req.Header.Set("Authorization", authorization(c, "test", "test", "GET", "/", nc%20+1))
			resp, _, err := f.srv.Send(req)
			if err != nil {
				codes <- 0
				return
			}
			codes <- resp.StatusCode
		}(i)
	}
	wg.Wait()
	close(codes)
	n := map[int]int{}
	for code := range codes {
		n[code]++
	}
	if n[200] != 20 || n[401] != 20 {
		t.Fatalf("statuses %v, want 20 of 200 and 20 of 401", n)
	}
}

// curl's digest implementation logs in: a real client, not ours.
func TestCurl(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Fatalf("curl is needed (scripts/test.sh installs it): %v", err)
	}
	f := newFixture(t, dynamic.DigestAuth{Users: []string{testUser}, HeaderField: "X-WebAuth-User"})
	out, err := exec.Command("curl", "-sS", "--digest", "-u", "test:test", f.srv.URL+"/some/path?q=1").CombinedOutput()
	if err != nil || string(out) != `auth=true user="test"` {
		t.Fatalf("curl: %v %s", err, out)
	}
	out, _ = exec.Command("curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--digest", "-u", "test:wrong", f.srv.URL+"/").CombinedOutput()
	if string(out) != "401" {
		t.Fatalf("curl with a wrong password: %s", out)
	}
}
