// Package urlpath cleans request paths: it resolves "." and ".." segments
// and merges repeated slashes, so that what a router matches and what the
// upstream receives is one and the same path.
//
// It works on the escaped path, which routers and the proxy both read: a
// segment written %2e%2e is a dot segment, an encoded slash (%2F) is data
// inside its segment, not a separator. A segment that is "." or ".."
// followed by path parameters (";jsessionid=1") is a dot segment too:
// servlet containers and Spring drop the parameters and then resolve
// "/public/..;/admin" to "/admin".
package urlpath

import (
	"net/url"
	"strings"
)

// Clean removes the dot segments and empty segments of u's path, keeping a
// trailing slash, and reports whether the path changed. A ".." above the
// root stays at the root. Paths that do not start with "/" ("*", or empty)
// are left alone. Clean paths cost one scan and no allocation.
func Clean(u *url.URL) bool {
	// Path has %2e decoded ("/%2e%2e" shows as "/.."); RawPath, set only
	// when Path alone cannot give the escaped form, may be the one used.
	if !needsCleaning(u.Path) && (u.RawPath == "" || !needsCleaning(u.RawPath)) {
		return false // the common case: nothing to do, nothing allocated
	}
	esc := u.EscapedPath()
	if esc == "" || esc[0] != '/' {
		return false
	}
	clean := removeDotSegments(esc)
	if clean == esc {
		return false
	}
	p, err := url.PathUnescape(clean)
	if err != nil {
		return false // cannot happen: clean is made of esc's valid segments
	}
	// As net/url does: RawPath only when Path does not escape to clean.
	u.Path, u.RawPath = p, ""
	if u.EscapedPath() != clean {
		u.RawPath = clean
	}
	return true
}

// HasDotSegment reports whether u's escaped path has a "." or ".." segment
// (see IsDotSegment). Paths without one cost one scan and no allocation.
func HasDotSegment(u *url.URL) bool {
	// Escaping Path neither adds nor removes dots, semicolons or slashes,
	// so a Path without dot segments escapes to a path without them.
	if !hasDotSegment(u.Path) && (u.RawPath == "" || !hasDotSegment(u.RawPath)) {
		return false
	}
	return hasDotSegment(u.EscapedPath())
}

// IsDotSegment reports whether seg, one segment of an escaped path, is "."
// or "..", each dot written plain or as %2e, optionally followed by path
// parameters (";params").
func IsDotSegment(seg string) bool {
	return dots(seg) > 0
}

func hasDotSegment(p string) bool {
	for i := 0; i < len(p); i++ {
		// A segment starts at 0 or after a '/'; only '.' or '%' may begin
		// a dot segment.
		if (i == 0 || p[i-1] == '/') && (p[i] == '.' || p[i] == '%') {
			seg := p[i:]
			if j := strings.IndexByte(seg, '/'); j >= 0 {
				seg = seg[:j]
			}
			if dots(seg) > 0 {
				return true
			}
		}
	}
	return false
}

// needsCleaning reports "//" or a segment starting with "." or "%2e". It
// may report clean paths ("/.well-known"); removeDotSegments keeps those.
func needsCleaning(p string) bool {
	for {
		i := strings.IndexByte(p, '/')
		if i < 0 || i+1 == len(p) {
			return false
		}
		p = p[i+1:]
		if p[0] == '/' || p[0] == '.' || len(p) >= 3 && p[0] == '%' && p[1] == '2' && (p[2] == 'e' || p[2] == 'E') {
			return true
		}
	}
}

// removeDotSegments resolves "." and ".." (RFC 3986 §5.2.4, also when
// percent-encoded or followed by ";params") and drops empty segments,
// keeping a trailing slash. A ".." above the root stays at the root.
func removeDotSegments(esc string) string {
	segs := strings.Split(esc[1:], "/")
	out := segs[:0]
	trailing := false
	for _, s := range segs {
		trailing = false
		switch dots(s) {
		case 1:
			trailing = true
		case 2:
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
			trailing = true
		default:
			if s == "" {
				trailing = true
				continue
			}
			out = append(out, s)
		}
	}
	clean := "/" + strings.Join(out, "/")
	if trailing && len(out) > 0 {
		clean += "/"
	}
	return clean
}

// dots tells a "." (1) or ".." (2) segment, plain or percent-encoded, with
// or without ";params"; 0 for any other segment.
func dots(s string) int {
	if i := strings.IndexByte(s, ';'); i >= 0 {
		s = s[:i]
	}
	n := 0
	for len(s) > 0 {
		switch {
		case s[0] == '.':
			s = s[1:]
		case len(s) >= 3 && s[0] == '%' && s[1] == '2' && (s[2] == 'e' || s[2] == 'E'):
			s = s[3:]
		default:
			return 0
		}
		n++
		if n > 2 {
			return 0
		}
	}
	return n
}

// HasEncodedTraversal reports whether a segment of u's escaped path hides
// a dot segment behind an encoded separator: "..%2Fadmin", "a%5C..%5Cb".
// Such a path cannot be cleaned without deciding what %2F means, and a
// server that decodes before it normalises (nginx, IIS for %5C, many
// frameworks) resolves it above the prefix a router matched. Paths with
// no '%' or '\' (nearly all) cost one scan and no allocation. esc is
// u.EscapedPath() when the caller already computed it, else "".
func HasEncodedTraversal(u *url.URL, esc string) bool {
	if strings.IndexByte(u.RawPath, '%') < 0 && strings.IndexByte(u.Path, '\\') < 0 {
		return false // no encoded separator can be in the escaped path
	}
	if esc == "" {
		esc = u.EscapedPath()
	}
	for seg := range strings.SplitSeq(esc, "/") {
		if !hasEncodedSeparator(seg) {
			continue
		}
		for len(seg) > 0 {
			piece := seg
			if i := indexEncodedSeparator(seg); i >= 0 {
				piece, seg = seg[:i], seg[i+3:]
			} else {
				seg = ""
			}
			if dots(piece) > 0 {
				return true
			}
		}
	}
	return false
}

func hasEncodedSeparator(seg string) bool { return indexEncodedSeparator(seg) >= 0 }

// indexEncodedSeparator finds %2F or %5C (any case) in seg.
func indexEncodedSeparator(seg string) int {
	for i := 0; i+2 < len(seg); i++ {
		if seg[i] != '%' {
			continue
		}
		h, l := seg[i+1], seg[i+2]|0x20
		if h == '2' && l == 'f' || h == '5' && l == 'c' {
			return i
		}
	}
	return -1
}
