package urlpath

import (
	"net/url"
	"testing"
)

func parse(t testing.TB, raw string) *url.URL {
	t.Helper()
	u, err := url.ParseRequestURI(raw)
	if err != nil {
		t.Fatalf("%s: %v", raw, err)
	}
	return u
}

func TestClean(t *testing.T) {
	for raw, want := range map[string]string{
		"/a/b":              "/a/b",
		"/public/../admin":  "/admin",
		"//a///b//":         "/a/b/",
		"/%2e%2E/x":         "/x",
		"/a%2Fb/../c":       "/c",
		"/a/..;/b":          "/b",
		"/a/%2e%2e;x=1/b":   "/b",
		"/a/.;/b/":          "/a/b/",
		"/a/..x;/b":         "/a/..x;/b",
		"/../../etc/passwd": "/etc/passwd",
		"/.well-known/x":    "/.well-known/x",
	} {
		u := parse(t, raw)
		changed := Clean(u)
		if got := u.EscapedPath(); got != want {
			t.Errorf("%s: got %s, want %s", raw, got, want)
		}
		if changed != (raw != want) {
			t.Errorf("%s: changed = %v", raw, changed)
		}
	}
	// Not an origin-form path: left alone.
	u := &url.URL{Path: "a/../b"}
	if Clean(u) || u.Path != "a/../b" {
		t.Errorf("relative path changed to %q", u.Path)
	}
}

func TestHasDotSegment(t *testing.T) {
	for raw, want := range map[string]bool{
		"/a/b":          false,
		"/":             false,
		"/a//b":         false,
		"/.well-known":  false,
		"/a...":         false,
		"/a/...":        false,
		"/a%2F..%2Fb":   false, // one segment holding encoded slashes
		"/..":           true,
		"/a/./b":        true,
		"/a/.":          true,
		"/%2e%2e/x":     true,
		"/%2E/x":        true,
		"/a/..;/b":      true,
		"/a/.;jsid=1/b": true,
		"/a/..%3b/b":    false,
	} {
		if got := HasDotSegment(parse(t, raw)); got != want {
			t.Errorf("%s: got %v, want %v", raw, got, want)
		}
	}
	// Path without RawPath: the escaped form is derived from Path.
	if !HasDotSegment(&url.URL{Path: "/a b/../c"}) || HasDotSegment(&url.URL{Path: "/a b/c"}) {
		t.Error("decoded-only paths")
	}
	u := parse(t, "/api/v1/users/42")
	if n := testing.AllocsPerRun(100, func() { HasDotSegment(u); Clean(u) }); n != 0 {
		t.Errorf("clean path: %v allocations", n)
	}
}

func TestIsDotSegment(t *testing.T) {
	for seg, want := range map[string]bool{
		".": true, "..": true, "%2e": true, "%2E%2e": true, ".%2e": true, "..;": true, ".;a=b": true, "%2e%2e;x": true,
		"": false, "...": false, ".a": false, "a.": false, ";": false, ";..": false, "..%3b": false, "%2f": false, "%2": false,
	} {
		if got := IsDotSegment(seg); got != want {
			t.Errorf("%q: got %v, want %v", seg, got, want)
		}
	}
}

func BenchmarkHasDotSegmentCleanPath(b *testing.B) {
	u, _ := url.ParseRequestURI("/api/v1/users/42?x=1")
	b.ReportAllocs()
	for b.Loop() {
		if HasDotSegment(u) {
			b.Fatal("dot segment")
		}
	}
}

func TestHasEncodedTraversal(t *testing.T) {
	for raw, want := range map[string]bool{
		"/public/..%2fadmin":     true,
		"/public/..%2Fadmin":     true,
		"/public/%2e%2e%2fadmin": true,
		"/a%2F..%2Fb":            true,
		"/a%5c..%5cb":            true,
		"/a/..\\admin":           true, // a raw backslash is escaped to %5C
		"/a%2F.%2Fb":             true,
		"/group%2Fproject/tree":  false, // GitLab-style encoded slash: data
		"/a%2Fb..c":              false,
		"/files/..data%2Fx":      false,
		"/plain/path":            false,
		"/a%20b/..c":             false,
	} {
		u, err := url.ParseRequestURI(raw)
		if err != nil {
			t.Fatalf("%s: %v", raw, err)
		}
		if got := HasEncodedTraversal(u, ""); got != want {
			t.Errorf("%s: %v, want %v", raw, got, want)
		}
	}
}

func BenchmarkHasEncodedTraversalCleanPath(b *testing.B) {
	u, _ := url.ParseRequestURI("/api/v1/users/42?x=1")
	b.ReportAllocs()
	for b.Loop() {
		HasEncodedTraversal(u, "")
	}
}
