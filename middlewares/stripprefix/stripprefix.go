// Package stripprefix implements the stripPrefix middleware: it removes the
// first configured prefix that the request path starts with and tells the
// upstream what was removed in X-Forwarded-Prefix.
package stripprefix

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/guan-gateway/guan/config/dynamic"
	"github.com/guan-gateway/guan/middlewares"
	"github.com/guan-gateway/guan/urlpath"
)

// ForwardedPrefixHeader carries the removed prefix to the upstream.
const ForwardedPrefixHeader = "X-Forwarded-Prefix"

type prefix struct {
	match     string // compared against URL.Path as configured
	forwarded string // value for X-Forwarded-Prefix (spaces trimmed)
}

type stripPrefix struct {
	next       http.Handler
	prefixes   []prefix
	forceSlash bool
}

// New returns a handler that strips the first of cfg.Prefixes, in list order,
// that the decoded request path starts with. Matching is a plain string
// prefix test, as in Traefik: "/api" also strips "/apiv2" to "/v2".
func New(_ middlewares.Env, cfg dynamic.StripPrefix, next http.Handler) (http.Handler, error) {
	if len(cfg.Prefixes) == 0 {
		return nil, errors.New(`stripPrefix: "prefixes" is empty; list at least one prefix such as "/api"`)
	}
	s := &stripPrefix{
		next:       next,
		prefixes:   make([]prefix, 0, len(cfg.Prefixes)),
		forceSlash: cfg.ForceSlash != nil && *cfg.ForceSlash,
	}
	for i, p := range cfg.Prefixes {
		if strings.TrimSpace(p) == "" {
			return nil, fmt.Errorf("stripPrefix: prefixes[%d] is empty; remove it or give a path such as \"/api\"", i)
		}
		s.prefixes = append(s.prefixes, prefix{match: p, forwarded: strings.TrimSpace(p)})
	}
	return s, nil
}

func (s *stripPrefix) ServeHTTP(rw http.ResponseWriter, req *http.Request) {
	for i := range s.prefixes {
		p := &s.prefixes[i]
		if strings.HasPrefix(req.URL.Path, p.match) {
			Strip(req, len(p.match), p.forwarded, s.forceSlash)
			break
		}
	}
	s.next.ServeHTTP(rw, req)
}

// Strip removes the first n bytes of the decoded request path (URL.Path),
// the matching escaped bytes of URL.RawPath, records forwarded in
// X-Forwarded-Prefix and refreshes RequestURI. The remaining path always
// starts with "/". With forceSlash, one leading slash of the remainder is
// dropped before that (the deprecated Traefik forceSlash behaviour). When
// stripping leaves a "." or ".." segment the path did not have, the path
// is cleaned as the entrypoint's http.sanitizePath does.
//
// It is shared with stripprefixregex, which strips a regexp match.
func Strip(req *http.Request, n int, forwarded string, forceSlash bool) {
	u := req.URL
	path, rawPath := u.Path, u.RawPath
	rest, rawRest := u.Path[n:], ""
	hasRaw := false
	if u.RawPath != "" {
		if rn := rawOffset(u.RawPath, n); rn >= 0 {
			rawRest, hasRaw = u.RawPath[rn:], true
		}
		// Otherwise RawPath did not encode Path: it is dropped below and
		// net/url derives the escaped form from Path.
	}
	if forceSlash && strings.HasPrefix(rest, "/") {
		rest = rest[1:]
		if hasRaw {
			rawRest = rawRest[slashLen(rawRest):]
		}
	}
	switch {
	case rest == "" || rest[0] != '/':
		rest, rawRest = "/"+rest, "/"+rawRest
	case hasRaw && rawRest[0] != '/':
		// The remainder starts with an encoded slash ("%2F"); the path
		// must start with a real one.
		rawRest = "/" + rawRest[3:]
	}
	u.Path = rest
	if hasRaw {
		u.RawPath = rawRest
	} else {
		u.RawPath = ""
	}
	if urlpath.HasDotSegment(u) && !urlpath.HasDotSegment(&url.URL{Path: path, RawPath: rawPath}) {
		// Stripping inside a segment made a dot segment ("/api../admin"
		// less "/api" is "/../admin") that the upstream would resolve:
		// clean the path as http.sanitizePath does.
		urlpath.Clean(u)
	}
	if req.Header == nil {
		req.Header = make(http.Header)
	}
	req.Header[ForwardedPrefixHeader] = append(req.Header[ForwardedPrefixHeader], forwarded)
	req.RequestURI = u.RequestURI()
}

// slashLen is the length of the leading slash of an escaped path that
// decodes to one: 1 for "/", 3 for "%2F".
func slashLen(raw string) int {
	if strings.HasPrefix(raw, "/") {
		return 1
	}
	return 3
}

// rawOffset returns the index in the escaped path raw at which n decoded
// bytes have been consumed, or -1 if raw is too short or cut inside an
// escape.
func rawOffset(raw string, n int) int {
	i := 0
	for decoded := 0; decoded < n; decoded++ {
		if i >= len(raw) {
			return -1
		}
		if raw[i] == '%' {
			if i+2 >= len(raw) || !isHex(raw[i+1]) || !isHex(raw[i+2]) {
				return -1
			}
			i += 3
			continue
		}
		i++
	}
	return i
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}
