// Package redirect implements the redirectScheme and redirectRegex
// middlewares. Both answer the client with a redirect instead of calling the
// next handler when the request URL must change, and share the response
// writer and the way the client's URL is reconstructed.
package redirect

import (
	"io"
	"net/http"
	"strings"
)

const (
	schemeHTTP  = "http"
	schemeHTTPS = "https"
)

// writeRedirect answers with Location set to location. As in Traefik, GET
// gets 302 (permanent: 301) and every other method 307 (permanent: 308), so
// that the method and body are kept.
func writeRedirect(rw http.ResponseWriter, req *http.Request, location string, permanent bool) {
	status := http.StatusFound
	switch {
	case permanent && req.Method == http.MethodGet:
		status = http.StatusMovedPermanently
	case permanent:
		status = http.StatusPermanentRedirect
	case req.Method != http.MethodGet:
		status = http.StatusTemporaryRedirect
	}
	h := rw.Header()
	h.Set("Location", location)
	h.Set("Content-Type", "text/plain; charset=utf-8")
	rw.WriteHeader(status)
	_, _ = io.WriteString(rw, http.StatusText(status))
}

// clientURL is the URL the client asked for, split in parts.
type clientURL struct {
	scheme string // "http" or "https"
	host   string // without port; IPv6 without brackets
	port   string // ":8080", or "" when absent
	uri    string // path and query, escaped as received
}

// requestURL reconstructs the client's URL. The request URI is taken as
// received (RequestURI), so earlier path rewrites that refresh RequestURI are
// seen. An absolute-form request URI ("GET http://host/path") supplies scheme,
// host and port; a TLS connection always means https.
func requestURL(req *http.Request) clientURL {
	scheme, authority, uri := splitRequest(req)
	u := clientURL{scheme: scheme, uri: uri}
	u.host, u.port = splitHostPort(authority)
	return u
}

// splitRequest returns the client's scheme, authority (host[:port]) and
// request URI (path and query).
func splitRequest(req *http.Request) (scheme, authority, uri string) {
	scheme, authority, uri = schemeHTTP, req.Host, req.RequestURI
	if uri == "" {
		// Requests built in-process have no RequestURI.
		uri = req.URL.RequestURI()
	}
	if s, rest, ok := cutScheme(uri); ok {
		scheme = s
		end := strings.IndexAny(rest, "/?#")
		if end < 0 {
			end = len(rest)
		}
		if rest[:end] != "" {
			authority = rest[:end]
		}
		uri = rest[end:]
	}
	if req.TLS != nil {
		scheme = schemeHTTPS
	}
	return scheme, authority, uri
}

// cutScheme splits an absolute-form request URI "scheme://rest". Schemes
// are case-insensitive (RFC 3986 §3.1): "HTTPS://" is https. Any other
// scheme the server let through counts as http, so the Location is never
// built from a URI that still holds a scheme and authority.
func cutScheme(uri string) (scheme, rest string, ok bool) {
	// RFC 3986: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ).
	i := 0
	for ; i < len(uri); i++ {
		c := uri[i] | 0x20 // lower-case a letter
		if !('a' <= c && c <= 'z' || i > 0 && ('0' <= uri[i] && uri[i] <= '9' || uri[i] == '+' || uri[i] == '-' || uri[i] == '.')) {
			break
		}
	}
	if i == 0 || !strings.HasPrefix(uri[i:], "://") {
		return "", "", false
	}
	if strings.EqualFold(uri[:i], schemeHTTPS) {
		return schemeHTTPS, uri[i+3:], true
	}
	return schemeHTTP, uri[i+3:], true
}

// splitHostPort splits hostport into host (IPv6 without brackets) and
// ":port"; without a port, hostport is returned whole. Unlike
// net.SplitHostPort it does not allocate an error for the common no-port
// case.
func splitHostPort(hostport string) (host, port string) {
	i := strings.LastIndexByte(hostport, ':')
	if i < 0 || strings.IndexByte(hostport[i:], ']') >= 0 {
		return hostport, "" // no colon, or "[v6]" without port
	}
	if strings.HasPrefix(hostport, "[") {
		if i < 2 || hostport[i-1] != ']' {
			return hostport, ""
		}
		return hostport[1 : i-1], hostport[i:]
	}
	if strings.IndexByte(hostport[:i], ':') >= 0 {
		return hostport, "" // bare IPv6 literal
	}
	return hostport[:i], hostport[i:]
}

// hostForURL puts an IPv6 literal back in brackets.
func hostForURL(host string) string {
	if strings.IndexByte(host, ':') >= 0 && !strings.HasPrefix(host, "[") {
		return "[" + host + "]"
	}
	return host
}

// defaultPort reports whether port is the default of scheme.
func defaultPort(scheme, port string) bool {
	return scheme == schemeHTTP && port == ":80" || scheme == schemeHTTPS && port == ":443"
}
