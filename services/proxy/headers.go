package proxy

import (
	"net"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"

	"golang.org/x/net/http/httpguts"

	"github.com/guan-gateway/guan/headerpool"
)

// isHopHeader reports whether k (canonical) applies to one connection only
// and is never forwarded (RFC 9110 §7.6.1, plus the obsolete ones still
// sent in the wild). A switch, not a map: it runs for every header of
// every request and response, and needs no hashing.
func isHopHeader(k string) bool {
	switch k {
	case "Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate",
		"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade":
		return true
	}
	return false
}

var (
	connectionUpgrade = []string{"Upgrade"}
	teTrailers        = []string{"trailers"}
)

// outboundHeader copies r's header for the upstream request in a single
// value array: hop-by-hop headers dropped, the client IP appended to
// X-Forwarded-For (the entrypoint already decided which incoming
// X-Forwarded-* to trust), and Connection/Upgrade restored for upgrades.
func outboundHeader(r *http.Request, upType string) http.Header {
	in := r.Header
	total := 2 // X-Forwarded-For, Upgrade
	for _, vv := range in {
		total += len(vv)
	}
	out := headerpool.Get()
	vals := make([]string, 0, total)
	for k, vv := range in {
		if isHopHeader(k) || k == "X-Forwarded-For" {
			continue
		}
		start := len(vals)
		vals = append(vals, vv...)
		out[k] = vals[start:len(vals):len(vals)]
	}
	removeConnectionListed(out, in["Connection"])

	if prior, ok := in["X-Forwarded-For"]; !ok || prior != nil { // nil means "don't set"
		if ip, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
			if len(prior) > 0 {
				ip = strings.Join(prior, ", ") + ", " + ip
			}
			vals = append(vals, ip)
			out["X-Forwarded-For"] = vals[len(vals)-1 : len(vals) : len(vals)]
		} else if len(prior) > 0 {
			out["X-Forwarded-For"] = prior
		}
	}
	if httpguts.HeaderValuesContainsToken(in["Te"], "trailers") {
		out["Te"] = teTrailers
	}
	if upType != "" {
		vals = append(vals, upType)
		out["Connection"] = connectionUpgrade
		out["Upgrade"] = vals[len(vals)-1 : len(vals) : len(vals)]
	}
	return out
}

// removeHopByHop strips hop-by-hop headers from a response header in place,
// in one pass over the few headers a response has. The upstream's Trailer
// announcement goes too: it is rebuilt from res.Trailer.
func removeHopByHop(h http.Header) {
	conn := h["Connection"]
	for k := range h {
		if isHopHeader(k) {
			delete(h, k)
		}
	}
	removeConnectionListed(h, conn)
}

// removeConnectionListed deletes the headers a Connection header names.
func removeConnectionListed(h http.Header, conn []string) {
	for _, line := range conn {
		for f := range strings.SplitSeq(line, ",") {
			f = textproto.TrimString(f)
			switch {
			case f == "", strings.EqualFold(f, "keep-alive"), strings.EqualFold(f, "close"), strings.EqualFold(f, "upgrade"):
				// hop-by-hop already, or a connection option, not a header
			default:
				delete(h, textproto.CanonicalMIMEHeaderKey(f))
			}
		}
	}
}

// upgradeType is the protocol a request or response asks to switch to.
// An "h2c" upgrade offers HTTP/2 to the hop it arrived on, not to the
// upstream: it is declined (RFC 9113 §3.1 deprecates it; a server may
// ignore Upgrade) and the request is forwarded as plain HTTP/1.1. Clients
// get HTTP/2 from the gateway over TLS or with prior knowledge.
func upgradeType(h http.Header) string {
	if !httpguts.HeaderValuesContainsToken(h["Connection"], "Upgrade") {
		return ""
	}
	if v := h["Upgrade"]; len(v) > 0 && !strings.EqualFold(textproto.TrimString(v[0]), "h2c") {
		return v[0]
	}
	return ""
}

func isEventStream(h http.Header) bool {
	v := h["Content-Type"]
	if len(v) == 0 {
		return false
	}
	ct, _, _ := strings.Cut(v[0], ";")
	return strings.EqualFold(strings.TrimSpace(ct), "text/event-stream")
}

// joinPath puts the server URL's path in front of the request path, keeping
// an escaped form when either side has one.
func joinPath(basePath, baseRaw string, req *url.URL) (path, rawPath string) {
	if baseRaw == "" && req.RawPath == "" {
		return joinSlash(basePath, req.Path), ""
	}
	baseEsc := baseRaw
	if baseEsc == "" {
		baseEsc = (&url.URL{Path: basePath}).EscapedPath()
	}
	return joinSlash(basePath, req.Path), joinSlash(baseEsc, req.EscapedPath())
}

func joinSlash(a, b string) string {
	if a == "" || a == "/" {
		if b == "" {
			return "/"
		}
		return b
	}
	if b == "" || b == "/" {
		if strings.HasSuffix(a, "/") || b == "" {
			return a
		}
		return a + "/"
	}
	switch aSlash, bSlash := strings.HasSuffix(a, "/"), strings.HasPrefix(b, "/"); {
	case aSlash && bSlash:
		return a + b[1:]
	case !aSlash && !bSlash:
		return a + "/" + b
	}
	return a + b
}
