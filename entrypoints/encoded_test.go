package entrypoints

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/guan-gateway/guan/config/static"
	"github.com/guan-gateway/guan/entrypoints/forwarded"
)

func allow(v bool) *bool { return &v }

// strict sets every switch to false: every listed character is rejected.
func strict() *static.EncodedCharacters {
	f := allow(false)
	return &static.EncodedCharacters{
		AllowEncodedSlash: f, AllowEncodedBackSlash: f, AllowEncodedNullCharacter: f,
		AllowEncodedSemicolon: f, AllowEncodedPercent: f, AllowEncodedQuestionMark: f, AllowEncodedHash: f,
	}
}

func TestDeniedEncodedCharsDefaults(t *testing.T) {
	if d := deniedEncodedChars(nil); d != 0 {
		t.Errorf("no section: %b, want nothing rejected", d)
	}
	if d := deniedEncodedChars(&static.EncodedCharacters{}); d != 0 {
		t.Errorf("empty section: %b, want nothing rejected (Traefik allows all by default)", d)
	}
	if d := deniedEncodedChars(&static.EncodedCharacters{AllowEncodedSlash: allow(false), AllowEncodedHash: allow(true)}); d != encSlash {
		t.Errorf("slash off: %b", d)
	}
	if d := deniedEncodedChars(strict()); d != encSlash|encBackSlash|encNull|encSemicolon|encPercent|encQuestion|encHash {
		t.Errorf("strict: %b", d)
	}
	s, err := resolve("web", &static.EntryPoint{Address: ":80", HTTP: &static.HTTP{EncodedCharacters: &static.EncodedCharacters{AllowEncodedBackSlash: allow(false)}}})
	if err != nil || s.deniedEncoded != encBackSlash {
		t.Errorf("resolve: %b, %v", s.deniedEncoded, err)
	}
}

func TestFindEncodedChars(t *testing.T) {
	all := deniedEncodedChars(strict())
	for _, tt := range []struct {
		raw  string
		deny encodedChars
		want string
	}{
		{"/public/..%2fadmin", all, "%2f"},
		{"/public/..%2Fadmin", encSlash, "%2F"},
		{"/public/..%2fadmin", all &^ encSlash, ""},
		{"/a%5Cb", encBackSlash, "%5C"},
		{"/a%5cb", encBackSlash, "%5c"},
		{"/a%00b", encNull, "%00"},
		{"/a%3Bb", encSemicolon, "%3B"},
		{"/a%3bb", encSemicolon, "%3b"},
		{"/a%25b", encPercent, "%25"},
		{"/a%252fb", encSlash, ""}, // an encoded "%2f", not an encoded slash
		{"/a%3Fb", encQuestion, "%3F"},
		{"/a%3fb", encQuestion, "%3f"},
		{"/a%23b", encHash, "%23"},
		{"/a#b", encHash, "%23"},       // a raw '#' is escaped by net/url, as Traefik sees it
		{"/a\\b", encBackSlash, "%5C"}, // likewise a raw backslash
		{"/a;b", encSemicolon, ""},     // a raw ';' is a path parameter, not an encoding
		{"/a%20b/%C3%A9", all, ""},
		{"/plain/path", all, ""},
		{"/a%2fb", 0, ""},
		{"/a?x=%2f", all, ""}, // the query is not checked
		{"*", all, ""},
	} {
		u, err := url.ParseRequestURI(tt.raw)
		if err != nil {
			t.Fatalf("%s: %v", tt.raw, err)
		}
		if got, _ := tt.deny.find(u); got != tt.want {
			t.Errorf("%s (deny %b): got %q, want %q", tt.raw, tt.deny, got, tt.want)
		}
	}
}

// The entrypoint answers 400 with an empty body before routing, as Traefik.
func TestEntryHandlerRejectsEncodedChars(t *testing.T) {
	fwd, _ := forwarded.New(false, nil)
	reached := ""
	h := &entryHandler{name: "web", fwd: fwd, sanitize: true, denied: encSlash,
		next: http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { reached = r.URL.EscapedPath() })}
	for target, want := range map[string]int{"/public/..%2fadmin": 400, "/public/..%2Fadmin": 400, "/public/x": 200, "/public/a%20b": 200} {
		reached = ""
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", target, nil))
		if w.Code != want {
			t.Errorf("%s: status %d, want %d", target, w.Code, want)
		}
		if want == 400 && (reached != "" || w.Body.Len() != 0) {
			t.Errorf("%s: routed to %q, body %q", target, reached, w.Body)
		}
		if want == 200 && reached != target {
			t.Errorf("%s: routed %q", target, reached)
		}
	}
}

// BenchmarkEncodedCharsCleanPath: the check on a path without '%', with
// every character rejected.
func BenchmarkEncodedCharsCleanPath(b *testing.B) {
	u, _ := url.ParseRequestURI("/api/v1/users/42?x=1")
	d := deniedEncodedChars(strict())
	b.ReportAllocs()
	for b.Loop() {
		if c, _ := d.find(u); c != "" {
			b.Fatal("rejected")
		}
	}
}

// BenchmarkEncodedCharsEscapedPath: a path with allowed encodings (%20).
func BenchmarkEncodedCharsEscapedPath(b *testing.B) {
	u, _ := url.ParseRequestURI("/api/v1/users/John%20Doe/files/report%202024.pdf")
	d := deniedEncodedChars(strict())
	b.ReportAllocs()
	for b.Loop() {
		if c, _ := d.find(u); c != "" {
			b.Fatal("rejected")
		}
	}
}

// traefikDenied is Traefik's check: every '%' of the escaped path, the
// three bytes from it looked up in the set of rejected encodings.
func traefikDenied(esc string, denied map[string]bool) string {
	for i := 0; i < len(esc); i++ {
		if esc[i] != '%' {
			continue
		}
		if i+2 >= len(esc) {
			return esc[i:]
		}
		if denied[esc[i:i+3]] {
			return esc[i : i+3]
		}
		i += 2
	}
	return ""
}

// FuzzEncodedChars: the fast check agrees with Traefik's on every path
// net/url accepts, for each single switch and for all of them.
func FuzzEncodedChars(f *testing.F) {
	for _, s := range []string{"/a%2fb", "/a%2F%5c", "/x%00", "/%3B;%3b", "/%25%32%66", "/a%3Fb?c", "/a#b%23", "/a\\b", "/a%20b", "/plain"} {
		f.Add(s)
	}
	codes := map[encodedChars][]string{
		encSlash: {"%2F", "%2f"}, encBackSlash: {"%5C", "%5c"}, encNull: {"%00"},
		encSemicolon: {"%3B", "%3b"}, encPercent: {"%25"}, encQuestion: {"%3F", "%3f"}, encHash: {"%23"},
	}
	sets := map[encodedChars]map[string]bool{}
	all := map[string]bool{}
	var allBits encodedChars
	for bit, cs := range codes {
		m := map[string]bool{}
		for _, c := range cs {
			m[c], all[c] = true, true
		}
		sets[bit] = m
		allBits |= bit
	}
	sets[allBits] = all
	f.Fuzz(func(t *testing.T, raw string) {
		u, err := url.ParseRequestURI(raw)
		if err != nil || !strings.HasPrefix(raw, "/") {
			return
		}
		esc := u.EscapedPath()
		for d, m := range sets {
			got, gotEsc := d.find(u)
			if want := traefikDenied(esc, m); got != want {
				t.Fatalf("%q (escaped %q, deny %b): got %q, Traefik's check %q", raw, esc, d, got, want)
			}
			if gotEsc != "" && gotEsc != esc {
				t.Fatalf("%q (deny %b): find's escaped path %q, EscapedPath %q", raw, d, gotEsc, esc)
			}
		}
	})
}
