package h1transport

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// maxHeaderBytes bounds the status line plus header fields of a response,
// and separately its trailer block (net/http's default is the same).
const maxHeaderBytes = 1 << 20

var errHeaderTooLarge = errors.New("h1transport: upstream response header exceeds 1 MiB")

// commonKeys maps header names as servers commonly spell them (canonical
// and all lower case) to their canonical form, so that parsing them costs
// no allocation and the key strings are shared by all responses.
var commonKeys = func() map[string]string {
	names := []string{
		"Accept-Ranges", "Access-Control-Allow-Credentials", "Access-Control-Allow-Headers",
		"Access-Control-Allow-Methods", "Access-Control-Allow-Origin", "Access-Control-Expose-Headers",
		"Access-Control-Max-Age", "Age", "Allow", "Alt-Svc", "Cache-Control", "Connection",
		"Content-Disposition", "Content-Encoding", "Content-Language", "Content-Length",
		"Content-Location", "Content-Range", "Content-Security-Policy", "Content-Type", "Date",
		"Etag", "Expires", "Grpc-Message", "Grpc-Status", "Keep-Alive", "Last-Modified", "Link",
		"Location", "Pragma", "Proxy-Authenticate", "Referrer-Policy", "Retry-After", "Server",
		"Set-Cookie", "Strict-Transport-Security", "Trailer", "Transfer-Encoding", "Upgrade",
		"Vary", "Via", "Www-Authenticate", "X-Content-Type-Options", "X-Frame-Options",
		"X-Powered-By", "X-Request-Id", "X-Xss-Protection",
	}
	m := make(map[string]string, 2*len(names))
	for _, n := range names {
		m[n] = n
		m[strings.ToLower(n)] = n
	}
	return m
}()

// canonicalKey returns the canonical form of a valid header name.
func canonicalKey(k string) string {
	if c, ok := commonKeys[k]; ok {
		return c
	}
	if isCanonical(k) {
		return k
	}
	return http.CanonicalHeaderKey(k)
}

func isCanonical(k string) bool {
	upper := true
	for i := 0; i < len(k); i++ {
		c := k[i]
		if upper && 'a' <= c && c <= 'z' || !upper && 'A' <= c && c <= 'Z' {
			return false
		}
		upper = c == '-'
	}
	return true
}

// tokenTable marks the bytes allowed in a header name (RFC 9110 tchar).
var tokenTable = func() (t [256]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
		t[c-'a'+'A'] = true
	}
	for _, c := range "!#$%&'*+-.^_`|~" {
		t[c] = true
	}
	return t
}()

func validToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !tokenTable[s[i]] {
			return false
		}
	}
	return true
}

// validValue reports whether a header value has no control bytes other than
// horizontal tab (obs-text, bytes ≥ 0x80, is allowed).
func validValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

func trimOWS(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}

// parseFields turns a header block — lines separated by '\n', already
// unfolded, converted to one string so that every key and value is a
// substring of it — into h. All values share one backing array: a response
// header costs the block string, the map and that array.
func parseFields(block string, lines int, h http.Header) error {
	vals := make([]string, 0, lines)
	for block != "" {
		line, rest, _ := strings.Cut(block, "\n")
		block = rest
		colon := strings.IndexByte(line, ':')
		if colon <= 0 {
			return fmt.Errorf("h1transport: malformed upstream header line %q", truncate(line))
		}
		key, val := line[:colon], trimOWS(line[colon+1:])
		if !validToken(key) {
			return fmt.Errorf("h1transport: invalid upstream header name %q", truncate(key))
		}
		if !validValue(val) {
			return fmt.Errorf("h1transport: invalid byte in upstream header %q", truncate(key))
		}
		key = canonicalKey(key)
		if prev, ok := h[key]; ok {
			h[key] = append(prev, val) // capacity is capped below: this copies
			continue
		}
		vals = append(vals, val)
		n := len(vals)
		h[key] = vals[n-1 : n : n]
	}
	return nil
}

func truncate(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
