package headers

import (
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/guan-gateway/guan/config/dynamic"
	"golang.org/x/net/http/httpguts"
)

// secure holds the security options of a headers middleware.
type secure struct {
	allowedHosts      []string // empty, or isDevelopment: no check
	hostsProxyHeaders []string // canonical
	sslProxyHeaders   [][2]string

	always   headerSet // sent on every response
	tlsExtra headerSet // sent only when the request came over TLS

	// The deprecated SSL options: redirect plain-HTTP requests to HTTPS
	// (sslRedirect), to sslHost (sslForceHost), with 307 instead of 301
	// (sslTemporaryRedirect).
	sslRedirect, sslForceHost bool
	sslHost                   string
	redirectCode              int
}

// headerSet is a precomputed list of response headers.
type headerSet struct {
	keys   []string
	values []string
}

func (s *headerSet) add(key, value string) {
	s.keys = append(s.keys, key)
	s.values = append(s.values, value)
}

// apply sets every header of s on h with a single allocation: each header
// gets a one-element, capacity-limited window of a fresh slice, so an append
// by a later handler never writes into its neighbour.
func (s *headerSet) apply(h http.Header) {
	if len(s.keys) == 0 {
		return
	}
	vals := make([]string, len(s.values))
	copy(vals, s.values)
	for i, k := range s.keys {
		h[k] = vals[i : i+1 : i+1]
	}
}

func hasSecureOptions(c *dynamic.Headers) bool {
	return len(c.AllowedHosts) > 0 || len(c.HostsProxyHeaders) > 0 || len(c.SSLProxyHeaders) > 0 ||
		c.STSSeconds != 0 || c.STSIncludeSubdomains || c.STSPreload || c.ForceSTSHeader ||
		c.FrameDeny || c.CustomFrameOptionsValue != "" || c.ContentTypeNosniff ||
		c.BrowserXSSFilter || c.CustomBrowserXSSValue != "" ||
		c.ContentSecurityPolicy != "" || c.ContentSecurityPolicyReportOnly != "" ||
		c.PublicKey != "" || c.ReferrerPolicy != "" || c.PermissionsPolicy != "" || c.IsDevelopment ||
		isTrue(c.SSLRedirect) || isTrue(c.SSLTemporaryRedirect) || isTrue(c.SSLForceHost) ||
		(c.SSLHost != nil && *c.SSLHost != "") || (c.FeaturePolicy != nil && *c.FeaturePolicy != "")
}

func isTrue(b *bool) bool { return b != nil && *b }

func newSecure(c *dynamic.Headers) (*secure, error) {
	if !hasSecureOptions(c) {
		return nil, nil
	}
	s := &secure{}
	if !c.IsDevelopment {
		for i, host := range c.AllowedHosts {
			if strings.TrimSpace(host) == "" {
				return nil, fmt.Errorf("allowedHosts[%d] is empty; remove it or give a host name", i)
			}
		}
		s.allowedHosts = c.AllowedHosts
	}
	for i, name := range c.HostsProxyHeaders {
		if !httpguts.ValidHeaderFieldName(name) {
			return nil, fmt.Errorf("hostsProxyHeaders[%d]: %q is not a valid header name", i, name)
		}
		s.hostsProxyHeaders = append(s.hostsProxyHeaders, http.CanonicalHeaderKey(name))
	}
	for name, value := range c.SSLProxyHeaders {
		if !httpguts.ValidHeaderFieldName(name) {
			return nil, fmt.Errorf("sslProxyHeaders: %q is not a valid header name", name)
		}
		s.sslProxyHeaders = append(s.sslProxyHeaders, [2]string{http.CanonicalHeaderKey(name), value})
	}
	sort.Slice(s.sslProxyHeaders, func(i, j int) bool { return s.sslProxyHeaders[i][0] < s.sslProxyHeaders[j][0] })

	if c.STSSeconds < 0 {
		return nil, fmt.Errorf("stsSeconds is %d; it must be 0 (no header) or a positive number of seconds", c.STSSeconds)
	}
	if c.STSSeconds > 0 && !c.IsDevelopment {
		sts := "max-age=" + strconv.FormatInt(c.STSSeconds, 10)
		if c.STSIncludeSubdomains {
			sts += "; includeSubDomains"
		}
		if c.STSPreload {
			sts += "; preload"
		}
		if c.ForceSTSHeader {
			s.always.add("Strict-Transport-Security", sts)
		} else {
			s.tlsExtra.add("Strict-Transport-Security", sts)
		}
	}
	switch {
	case c.CustomFrameOptionsValue != "":
		s.always.add("X-Frame-Options", c.CustomFrameOptionsValue)
	case c.FrameDeny:
		s.always.add("X-Frame-Options", "DENY")
	}
	if c.ContentTypeNosniff {
		s.always.add("X-Content-Type-Options", "nosniff")
	}
	switch {
	case c.CustomBrowserXSSValue != "":
		s.always.add("X-Xss-Protection", c.CustomBrowserXSSValue)
	case c.BrowserXSSFilter:
		s.always.add("X-Xss-Protection", "1; mode=block")
	}
	if c.PublicKey != "" && !c.IsDevelopment {
		s.tlsExtra.add("Public-Key-Pins", c.PublicKey)
	}
	if c.ContentSecurityPolicy != "" {
		s.always.add("Content-Security-Policy", c.ContentSecurityPolicy)
	}
	if c.ContentSecurityPolicyReportOnly != "" {
		s.always.add("Content-Security-Policy-Report-Only", c.ContentSecurityPolicyReportOnly)
	}
	if c.ReferrerPolicy != "" {
		s.always.add("Referrer-Policy", c.ReferrerPolicy)
	}
	if c.FeaturePolicy != nil && *c.FeaturePolicy != "" {
		s.always.add("Feature-Policy", *c.FeaturePolicy)
	}
	if c.PermissionsPolicy != "" {
		s.always.add("Permissions-Policy", c.PermissionsPolicy)
	}
	if !c.IsDevelopment {
		s.sslRedirect, s.sslForceHost = isTrue(c.SSLRedirect), isTrue(c.SSLForceHost)
	}
	if c.SSLHost != nil {
		s.sslHost = *c.SSLHost
		if strings.ContainsAny(s.sslHost, "/?#@ \t\r\n") {
			return nil, fmt.Errorf("sslHost %q is not a host name (with an optional port)", s.sslHost)
		}
	}
	s.redirectCode = http.StatusMovedPermanently
	if isTrue(c.SSLTemporaryRedirect) {
		s.redirectCode = http.StatusTemporaryRedirect
	}
	for _, set := range []*headerSet{&s.always, &s.tlsExtra} {
		for i, v := range set.values {
			if !httpguts.ValidHeaderFieldValue(v) {
				return nil, fmt.Errorf("value for %s contains a control character (newline?); remove it", set.keys[i])
			}
		}
	}
	return s, nil
}

func (s *secure) setsResponseHeaders() bool {
	return len(s.always.keys) > 0 || len(s.tlsExtra.keys) > 0
}

// host is the request's host: the first non-empty hostsProxyHeaders
// header, else Host.
func (s *secure) host(req *http.Request) string {
	for _, name := range s.hostsProxyHeaders {
		if v := req.Header.Get(name); v != "" {
			return v
		}
	}
	return req.Host
}

// redirect answers with a redirect to HTTPS when sslRedirect is set and
// the request is not over TLS, or when sslForceHost is set and the host
// is not sslHost, as the deprecated Traefik options (unrolled/secure) do.
// It reports whether it answered.
func (s *secure) redirect(w http.ResponseWriter, req *http.Request) bool {
	if !s.sslRedirect && !s.sslForceHost {
		return false
	}
	host := s.host(req)
	target := host
	if s.sslHost != "" {
		target = s.sslHost
	}
	if !(s.sslRedirect && !s.overTLS(req)) && !(s.sslForceHost && target != host) {
		return false
	}
	u := url.URL{Scheme: "https", Host: target, Path: req.URL.Path, RawPath: req.URL.RawPath, RawQuery: req.URL.RawQuery}
	http.Redirect(w, req, u.String(), s.redirectCode)
	return true
}

// hostAllowed reports whether the request's host (the first non-empty
// hostsProxyHeaders header, else Host) is in allowedHosts. Comparison is
// case-insensitive and includes the port, as in Traefik.
func (s *secure) hostAllowed(req *http.Request) bool {
	if len(s.allowedHosts) == 0 {
		return true
	}
	host := req.Host
	for _, name := range s.hostsProxyHeaders {
		if v := req.Header.Get(name); v != "" {
			host = v
			break
		}
	}
	for _, allowed := range s.allowedHosts {
		if strings.EqualFold(allowed, host) {
			return true
		}
	}
	return false
}

// isTLS reports whether the client connection is TLS: the request arrived
// over TLS, carries an https URL, or one of sslProxyHeaders has its
// configured value (set by a trusted proxy in front of the gateway).
func (s *secure) isTLS(req *http.Request) bool {
	if len(s.tlsExtra.keys) == 0 {
		return false // nothing depends on it
	}
	return s.overTLS(req)
}

func (s *secure) overTLS(req *http.Request) bool {
	if req.TLS != nil || strings.EqualFold(req.URL.Scheme, "https") {
		return true
	}
	for _, kv := range s.sslProxyHeaders {
		if req.Header.Get(kv[0]) == kv[1] {
			return true
		}
	}
	return false
}

func (s *secure) apply(h http.Header, tls bool) {
	s.always.apply(h)
	if tls {
		s.tlsExtra.apply(h)
	}
}
