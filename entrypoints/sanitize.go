package entrypoints

import (
	"net/url"
	"strings"
)

// sanitizePath removes "." and ".." segments and merges repeated slashes
// before routing (http.sanitizePath, on by default as in Traefik), keeping
// a trailing slash. Without it, /public/../admin would match
// PathPrefix(`/public`) and reach the upstream, which resolves it to
// /admin: a rule could be walked around.
//
// It works on the escaped path, which routers and the proxy both read:
// a segment written %2e%2e is a dot segment, an encoded slash (%2F) is
// data inside its segment, not a separator.
func sanitizePath(u *url.URL) {
	// Path has %2e decoded ("/%2e%2e" shows as "/.."); RawPath, set only
	// when Path alone cannot give the escaped form, may be the one used.
	if !needsCleaning(u.Path) && (u.RawPath == "" || !needsCleaning(u.RawPath)) {
		return // the common case: nothing to do, nothing allocated
	}
	esc := u.EscapedPath()
	if esc == "" || esc[0] != '/' {
		return
	}
	clean := removeDotSegments(esc)
	if clean == esc {
		return
	}
	p, err := url.PathUnescape(clean)
	if err != nil {
		return // cannot happen: clean is made of esc's valid segments
	}
	u.Path, u.RawPath = p, clean
	if u.EscapedPath() != clean {
		u.RawPath = ""
	}
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
// percent-encoded) and drops empty segments, keeping a trailing slash. A
// ".." above the root stays at the root.
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

// dots tells a "." (1) or ".." (2) segment, plain or percent-encoded.
func dots(s string) int {
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
