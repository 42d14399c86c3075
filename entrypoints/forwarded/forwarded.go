// Package forwarded decides whether a client's X-Forwarded-* headers are
// believed and fills in the ones the gateway vouches for.
package forwarded

import (
	"fmt"
	"net/http"
	"net/netip"
	"os"
	"strings"
)

// Canonical header names.
const (
	XForwardedFor    = "X-Forwarded-For"
	XForwardedProto  = "X-Forwarded-Proto"
	XForwardedHost   = "X-Forwarded-Host"
	XForwardedPort   = "X-Forwarded-Port"
	XForwardedServer = "X-Forwarded-Server"
	XRealIP          = "X-Real-Ip"
)

// untrusted are dropped when they come from a client that is not trusted:
// otherwise any client could claim another IP, scheme or host.
var untrusted = []string{
	XForwardedFor, XForwardedProto, XForwardedHost, XForwardedPort, XForwardedServer,
	"X-Forwarded-Prefix", "X-Forwarded-Uri", "X-Forwarded-Method",
	"X-Forwarded-Tls-Client-Cert", "X-Forwarded-Tls-Client-Cert-Info",
	XRealIP, "Forwarded",
}

// Managed reports whether name (canonical) is one of the forwarded headers
// the gateway sets or vouches for (X-Forwarded-*, X-Real-Ip, Forwarded).
func Managed(name string) bool {
	for _, k := range untrusted {
		if k == name {
			return true
		}
	}
	return false
}

// Rewriter applies an entrypoint's forwardedHeaders settings. It is
// immutable and safe for concurrent use.
type Rewriter struct {
	insecure bool
	trusted  []netip.Prefix
	hostname string
}

// New parses trustedIPs (addresses or CIDR ranges). insecure trusts every
// client.
func New(insecure bool, trustedIPs []string) (*Rewriter, error) {
	rw := &Rewriter{insecure: insecure}
	for _, s := range trustedIPs {
		s = strings.TrimSpace(s)
		if p, err := netip.ParsePrefix(s); err == nil {
			rw.trusted = append(rw.trusted, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("forwardedHeaders.trustedIPs: %q is neither an IP address nor a CIDR range like 10.0.0.0/8", s)
		}
		a = a.Unmap()
		rw.trusted = append(rw.trusted, netip.PrefixFrom(a, a.BitLen()))
	}
	rw.hostname, _ = os.Hostname()
	return rw, nil
}

// Trusted reports whether headers from remoteAddr ("ip:port") are believed.
func (rw *Rewriter) Trusted(remoteAddr string) bool {
	if rw.insecure {
		return true
	}
	if len(rw.trusted) == 0 {
		return false
	}
	ap, err := netip.ParseAddrPort(remoteAddr)
	if err != nil {
		return false
	}
	a := ap.Addr().Unmap()
	for _, p := range rw.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Rewrite edits r's headers in place: drops forwarded headers from an
// untrusted client, then sets X-Forwarded-Proto/-Host/-Port/-Server and
// X-Real-Ip where absent. X-Forwarded-For is appended by the proxy.
func (rw *Rewriter) Rewrite(r *http.Request) {
	h := r.Header
	if !rw.Trusted(r.RemoteAddr) {
		dropUntrusted(h)
	}
	// All values share one backing array; each slice is capped so an
	// append elsewhere copies instead of writing into a neighbour.
	var vals *[5]string
	i := 0
	set := func(k, v string) {
		if vals == nil {
			vals = new([5]string)
		}
		vals[i] = v
		h[k] = vals[i : i+1 : i+1]
		i++
	}
	if len(h[XForwardedProto]) == 0 {
		set(XForwardedProto, scheme(r))
	}
	if len(h[XForwardedHost]) == 0 && r.Host != "" {
		set(XForwardedHost, r.Host)
	}
	if len(h[XForwardedPort]) == 0 {
		set(XForwardedPort, port(r))
	}
	if rw.hostname != "" {
		set(XForwardedServer, rw.hostname) // this gateway, whoever claimed otherwise
	}
	if len(h[XRealIP]) == 0 {
		if ip := hostOnly(r.RemoteAddr); ip != "" {
			set(XRealIP, ip)
		}
	}
}

// Wrap returns next with Rewrite applied to every request.
func (rw *Rewriter) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rw.Rewrite(r)
		next.ServeHTTP(w, r)
	})
}

func scheme(r *http.Request) string {
	ws := false
	for _, v := range r.Header["Upgrade"] {
		if strings.EqualFold(strings.TrimSpace(v), "websocket") {
			ws = true
		}
	}
	switch {
	case ws && r.TLS != nil:
		return "wss"
	case ws:
		return "ws"
	case r.TLS != nil:
		return "https"
	}
	return "http"
}

// port is the port the client addressed: from Host, else the default of
// the scheme (a trusted proxy's X-Forwarded-Proto, or the connection's).
func port(r *http.Request) string {
	host := r.Host
	if i := strings.LastIndexByte(host, ':'); i >= 0 && i > strings.LastIndexByte(host, ']') && i+1 < len(host) {
		return host[i+1:]
	}
	if p := r.Header[XForwardedProto]; len(p) > 0 {
		if strings.EqualFold(p[0], "https") || strings.EqualFold(p[0], "wss") {
			return "443"
		}
		return "80"
	}
	if r.TLS != nil {
		return "443"
	}
	return "80"
}

// dropUntrusted deletes the forwarded headers, including spellings like
// X_Forwarded_For: CGI-style servers read the underscore form as
// X-Forwarded-For, so an untrusted client could claim an address with them.
// One pass over the client's headers costs less than a delete per managed
// name: a request carries few headers, and most are not forwarded ones.
func dropUntrusted(h http.Header) {
	for k := range h {
		if Managed(k) {
			delete(h, k)
			continue
		}
		if strings.IndexByte(k, '_') < 0 {
			continue
		}
		for _, name := range untrusted {
			if sameIgnoringUnderscore(k, name) {
				delete(h, k)
				break
			}
		}
	}
}

// sameIgnoringUnderscore compares case-insensitively with '_' equal to '-'.
func sameIgnoringUnderscore(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range len(a) {
		x, y := a[i], b[i]
		if x == '_' {
			x = '-'
		}
		if x|0x20 != y|0x20 { // ASCII letters, '-' and '_' only: '-'|0x20 == '-'
			return false
		}
	}
	return true
}

// hostOnly strips the port and IPv6 brackets from "host:port".
func hostOnly(addr string) string {
	if i := strings.LastIndexByte(addr, ':'); i >= 0 && i > strings.LastIndexByte(addr, ']') {
		addr = addr[:i]
	}
	return strings.TrimSuffix(strings.TrimPrefix(addr, "["), "]")
}
