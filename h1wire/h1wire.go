// Package h1wire holds the HTTP/1.x wire-format rules that the upstream
// client (services/h1transport) and the entrypoints' HTTP/1.x server share:
// tokens, field values, canonical field names and header-block parsing.
package h1wire

import (
	"fmt"
	"net/http"
	"strings"
)

// commonKeys maps common header names, spelled all in lower case as some
// peers send them, to their canonical form: canonicalizing them costs no
// allocation. (Names already canonical are returned as they are.)
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
		// Request fields.
		"Accept", "Accept-Encoding", "Accept-Language", "Authorization", "Cookie", "Expect",
		"Forwarded", "Host", "If-Match", "If-Modified-Since", "If-None-Match", "If-Range",
		"If-Unmodified-Since", "Origin", "Priority", "Range", "Referer", "Sec-Ch-Ua",
		"Sec-Ch-Ua-Mobile", "Sec-Ch-Ua-Platform", "Sec-Fetch-Dest", "Sec-Fetch-Mode",
		"Sec-Fetch-Site", "Sec-Fetch-User", "Te", "Upgrade-Insecure-Requests", "User-Agent",
		"X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Port", "X-Forwarded-Proto",
		"X-Real-Ip", "X-Requested-With",
	}
	m := make(map[string]string, len(names))
	for _, n := range names {
		m[strings.ToLower(n)] = n
	}
	return m
}()

// CanonicalKey returns the canonical form of a valid header name.
func CanonicalKey(k string) string {
	// Most clients send canonical names: a scan of the name costs less
	// than hashing it for the table, which serves the lower-case ones.
	if isCanonical(k) {
		return k
	}
	if c, ok := commonKeys[k]; ok {
		return c
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

// ValidToken reports whether s is a non-empty token (a method or a header
// name).
func ValidToken(s string) bool {
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

// ValidValue reports whether a header value has no control bytes other than
// horizontal tab (obs-text, bytes ≥ 0x80, is allowed).
func ValidValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

// TrimOWS trims optional whitespace (spaces and tabs) from both ends.
func TrimOWS(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}

// ParseFields turns a header block — lines separated by '\n', already
// unfolded, converted to one string so that every key and value is a
// substring of it — into h. All values share one backing array: a response
// header costs the block string, the map and that array.
func ParseFields(block string, lines int, h http.Header) error {
	vals := make([]string, 0, lines)
	for block != "" {
		line, rest, _ := strings.Cut(block, "\n")
		block = rest
		colon := strings.IndexByte(line, ':')
		if colon <= 0 {
			return fmt.Errorf("malformed header line %q", Truncate(line))
		}
		key, val := line[:colon], TrimOWS(line[colon+1:])
		if !ValidToken(key) {
			return fmt.Errorf("invalid header name %q", Truncate(key))
		}
		if !ValidValue(val) {
			return fmt.Errorf("invalid byte in header %q", Truncate(key))
		}
		key = CanonicalKey(key)
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

// ContentLength parses the values of a Content-Length field: digits only,
// and repeats only when equal (differing ones are how a message is made to
// end in two places, request smuggling). No value is 0.
func ContentLength(vv []string) (int64, error) {
	if len(vv) == 0 {
		return 0, nil
	}
	first := TrimOWS(vv[0])
	for _, v := range vv[1:] {
		if TrimOWS(v) != first {
			return 0, fmt.Errorf("conflicting Content-Length values %q", vv)
		}
	}
	if first == "" || len(first) > 18 {
		return 0, fmt.Errorf("invalid Content-Length %q", Truncate(first))
	}
	var n int64
	for i := 0; i < len(first); i++ {
		c := first[i]
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("invalid Content-Length %q", Truncate(first))
		}
		n = n*10 + int64(c-'0')
	}
	return n, nil
}

// Truncate shortens s for an error message.
func Truncate(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
