package entrypoints

import (
	"net/url"
	"strings"
	"testing"

	"github.com/guan-gateway/guan/urlpath"
)

func TestSanitizePath(t *testing.T) {
	for raw, want := range map[string]string{
		"/a/b":              "/a/b",
		"/":                 "/",
		"/a/b/":             "/a/b/",
		"/public/../admin":  "/admin",
		"/public/./x":       "/public/x",
		"//a///b//":         "/a/b/",
		"/a/..":             "/",
		"/../../etc/passwd": "/etc/passwd",
		"/%2e%2e/admin":     "/admin",
		"/p/%2E%2e/admin":   "/admin",
		"/a%2Fb/c":          "/a%2Fb/c", // an encoded slash is data, not a separator
		"/a%2Fb/../c":       "/c",
		"/.well-known/x":    "/.well-known/x",
		"/a%20b//c":         "/a%20b/c",
		"*":                 "*",
		// Path parameters after a dot segment: Tomcat, Jetty and Spring
		// resolve "..;" as "..".
		"/public/..;/admin":         "/admin",
		"/public/..;jsessionid=1/x": "/x",
		"/public/.;x=1/y":           "/public/y",
		"/public/%2e%2e;/admin":     "/admin",
		"/public/..;":               "/",
		"/public/...;/x":            "/public/...;/x",
		"/public/..x;/y":            "/public/..x;/y",
		"/public/;x/y":              "/public/;x/y",
		"/public/a..;/b":            "/public/a..;/b",
		"/public/..%3b/admin":       "/public/..%3b/admin", // encoded: data, see http.encodedCharacters
	} {
		u, err := url.ParseRequestURI(raw)
		if err != nil {
			t.Fatalf("%s: %v", raw, err)
		}
		sanitizePath(u)
		if got := u.EscapedPath(); got != want {
			t.Errorf("%s: got %s, want %s", raw, got, want)
		}
	}
}

func BenchmarkSanitizeCleanPath(b *testing.B) {
	u, _ := url.ParseRequestURI("/api/v1/users/42?x=1")
	b.ReportAllocs()
	for b.Loop() {
		sanitizePath(u)
	}
}

// FuzzSanitizePath: whatever the client sends, the cleaned path has no
// dot segment and no empty one, and cleaning it again changes nothing.
func FuzzSanitizePath(f *testing.F) {
	for _, s := range []string{"/a/../b", "//x//", "/%2e%2E/y", "/a%2Fb/./c/", "/.well-known", "/..%2f..", "/a/b/..", "/p/..;/q", "/p/.;x/%2e%2E;y/z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		u, err := url.ParseRequestURI(raw)
		if err != nil {
			return
		}
		sanitizePath(u)
		once := u.EscapedPath()
		if len(raw) > 0 && raw[0] == '/' {
			if strings.Contains(once, "//") {
				t.Fatalf("%q -> %q keeps an empty segment", raw, once)
			}
			for _, seg := range strings.Split(once, "/") {
				if urlpath.IsDotSegment(seg) {
					t.Fatalf("%q -> %q keeps a dot segment", raw, once)
				}
			}
		}
		sanitizePath(u)
		if again := u.EscapedPath(); again != once {
			t.Fatalf("%q -> %q -> %q", raw, once, again)
		}
	})
}
