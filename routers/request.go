package routers

import (
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
)

// request is what HTTP matchers look at, derived once per lookup so a table
// scan does not recompute it per rule. It lives on the caller's stack.
type request struct {
	r *http.Request
	// host is the canonical request host: lowercase, without port or
	// IPv6 brackets. hostKey is host without one trailing dot.
	host, hostKey string
	// path is the routing path: the escaped path with every percent-encoding
	// decoded except those of reserved characters, so PathPrefix(`/a b`)
	// matches /a%20b while /a%2Fb stays distinct from /a/b.
	path string
	ip   netip.Addr
	ipOK uint8 // 0: not parsed yet, 1: valid, 2: unparsable
}

func newRequest(r *http.Request) request {
	h := canonicalHost(r.Host)
	return request{r: r, host: h, hostKey: trimDot(h), path: routingPath(r.URL)}
}

// canonicalHost lowercases host and strips a port and IPv6 brackets. It
// allocates only when host has upper-case letters.
func canonicalHost(host string) string {
	host = strings.TrimSpace(host)
	if strings.IndexByte(host, ':') >= 0 {
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		} else if len(host) > 1 && host[0] == '[' && host[len(host)-1] == ']' {
			host = host[1 : len(host)-1] // "[::1]" without a port
		}
	}
	return strings.ToLower(host)
}

func trimDot(h string) string {
	if n := len(h); n > 0 && h[n-1] == '.' {
		return h[:n-1]
	}
	return h
}

// remoteIP parses the request's remote address once. No forwarding header is
// trusted: ClientIP is about the TCP peer.
func (q *request) remoteIP() (netip.Addr, bool) {
	if q.ipOK == 0 {
		q.ipOK = 2
		if ip, ok := parseRemoteAddr(q.r.RemoteAddr); ok {
			q.ip, q.ipOK = ip, 1
		}
	}
	return q.ip, q.ipOK == 1
}

func parseRemoteAddr(s string) (netip.Addr, bool) {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap(), true
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap(), true
	}
	return netip.Addr{}, false
}

// reservedEscapes are percent-encodings that keep their encoded form in the
// routing path because decoding them would change the path's structure.
func isReservedEscape(hi, lo byte) bool {
	switch hi {
	case '2':
		switch lo {
		case '1', '3', '4', '5', '6', '7', '8', '9', 'A', 'a', 'B', 'b', 'C', 'c', 'F', 'f':
			return true // ! # $ % & ' ( ) * + , /
		}
	case '3':
		switch lo {
		case 'A', 'a', 'B', 'b', 'D', 'd', 'F', 'f':
			return true // : ; = ?
		}
	case '4':
		return lo == '0' // @
	case '5':
		return lo == 'B' || lo == 'b' || lo == 'D' || lo == 'd' // [ ]
	}
	return false
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// routingPath computes the path rules match against. Without percent
// escapes (the common case) it is the escaped path itself and costs nothing.
func routingPath(u *url.URL) string {
	esc := u.EscapedPath()
	i := strings.IndexByte(esc, '%')
	if i < 0 {
		return esc
	}
	b := make([]byte, 0, len(esc))
	b = append(b, esc[:i]...)
	for ; i < len(esc); i++ {
		c := esc[i]
		if c != '%' || i+2 >= len(esc) {
			b = append(b, c)
			continue
		}
		hi, ok1 := unhex(esc[i+1])
		lo, ok2 := unhex(esc[i+2])
		if !ok1 || !ok2 || isReservedEscape(esc[i+1], esc[i+2]) {
			// Keep reserved escapes in a canonical upper-case form.
			b = append(b, '%', upperHex(esc[i+1]), upperHex(esc[i+2]))
		} else {
			b = append(b, hi<<4|lo)
		}
		i += 2
	}
	return string(b)
}

func upperHex(c byte) byte {
	if c >= 'a' && c <= 'f' {
		return c - 'a' + 'A'
	}
	return c
}
