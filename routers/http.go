// Package routers implements the Traefik-compatible rule languages (HTTP and
// TCP, syntax v3 and v2) and the compiled routing tables that pick a router
// for each request or connection.
package routers

import (
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strings"
)

// Rule is a compiled HTTP router rule. It is immutable and safe for
// concurrent use.
type Rule struct {
	src    string
	syntax string
	t      *tree[httpLeaf]
	hosts  []string
	only   bool
	paths  []string // literal path prefixes, for the table's path index
	pathOK bool
	// hostsOnly: the rule is Host matchers joined by ||, nothing else, so
	// a request with one of hosts matches it.
	hostsOnly bool
}

type httpKind uint8

const (
	mHost httpKind = iota
	mHostRegexp
	mPath
	mPathPrefix
	mPathRegexp
	mMethod
	mHeader
	mHeaderRegexp
	mQuery
	mQueryRegexp
	mClientIP
	mV2 // a gorilla/mux based v2 matcher
)

// httpLeaf is one matcher. Fields are used according to kind.
type httpLeaf struct {
	kind  httpKind
	s     []string // hosts (normalized), path, method, header/query key
	value string   // Header/Query value
	re    *regexp.Regexp
	nets  []netip.Prefix
	v2    *muxLeaf
}

// ParseHTTP compiles an HTTP router rule. syntax is "v3" (the default when
// empty) or "v2". Errors are *ParseError values pointing at the problem.
func ParseHTTP(rule, syntax string) (*Rule, error) {
	t, syntax, err := parseRule(rule, syntax, httpV3, httpV2)
	if err != nil {
		return nil, err
	}
	r := &Rule{src: rule, syntax: syntax, t: t}
	r.hosts, r.only = requiredSet(t, leafHosts, intersect)
	r.paths, r.pathOK = requiredSet(t, leafPaths, longerPrefixes)
	r.hostsOnly = onlyHostMatchers(t)
	return r, nil
}

// onlyHostMatchers reports a tree of Host matchers (none naming the empty
// host) joined by ||.
func onlyHostMatchers(t *tree[httpLeaf]) bool {
	switch t.op {
	case opLeaf:
		return t.leaf.kind == mHost && !slices.Contains(t.leaf.s, "")
	case opOr:
		return onlyHostMatchers(t.x) && onlyHostMatchers(t.y)
	}
	return false
}

// String returns the rule as written.
func (r *Rule) String() string { return r.src }

// Syntax returns "v3" or "v2".
func (r *Rule) Syntax() string { return r.syntax }

// Match reports whether the request satisfies the rule.
func (r *Rule) Match(req *http.Request) bool {
	q := newRequest(req)
	return r.match(&q)
}

func (r *Rule) match(q *request) bool {
	return r.t.eval(func(l *httpLeaf) bool { return l.match(q) })
}

// Hosts returns the exact hosts (lowercase, without trailing dot) one of
// which a request must have for the rule to match. only is false when the
// rule can match other hosts too, e.g. PathPrefix(`/`) or
// Host(`a`) || Path(`/`). only with no hosts means the rule matches no host.
func (r *Rule) Hosts() (hosts []string, only bool) {
	if !r.only {
		return nil, false
	}
	return append([]string{}, r.hosts...), true
}

func leafHosts(l *httpLeaf) ([]string, bool) {
	if l.kind == mHost {
		return l.s, true
	}
	return nil, false
}

// leafPaths gives the literal prefix a Path or PathPrefix leaf requires; an
// exact Path is indexed as a prefix, a weaker but still necessary condition.
func leafPaths(l *httpLeaf) ([]string, bool) {
	if l.kind == mPath || l.kind == mPathPrefix {
		return l.s, true
	}
	return nil, false
}

// longerPrefixes combines the path requirements of both sides of &&. Either
// side alone is a valid necessary condition (prefix sets do not intersect
// like host sets); keep the more selective one.
func longerPrefixes(a, b []string) []string {
	if shortest(b) > shortest(a) {
		return b
	}
	return a
}

func shortest(ss []string) int {
	n := -1
	for _, s := range ss {
		if n < 0 || len(s) < n {
			n = len(s)
		}
	}
	return n
}

func (l *httpLeaf) match(q *request) bool {
	switch l.kind {
	case mHost:
		if q.hostKey == "" {
			return false
		}
		for _, h := range l.s {
			if h == q.hostKey {
				return true
			}
		}
		return false
	case mHostRegexp:
		return l.re.MatchString(q.host)
	case mPath:
		return q.path == l.s[0]
	case mPathPrefix:
		return strings.HasPrefix(q.path, l.s[0])
	case mPathRegexp:
		return l.re.MatchString(q.path)
	case mMethod:
		for _, m := range l.s {
			if q.r.Method == m {
				return true
			}
		}
		return false
	case mHeader:
		for _, v := range q.r.Header[l.s[0]] {
			if v == l.value {
				return true
			}
		}
		return false
	case mHeaderRegexp:
		for _, v := range q.r.Header[l.s[0]] {
			if l.re.MatchString(v) {
				return true
			}
		}
		return false
	case mQuery, mQueryRegexp:
		return matchQuery(q.r.URL.RawQuery, l)
	case mClientIP:
		ip, ok := q.remoteIP()
		if !ok {
			return false
		}
		for _, n := range l.nets {
			if n.Contains(ip) {
				return true
			}
		}
		return false
	case mV2:
		return l.v2.match(q.r)
	}
	return false
}

// httpV3 is the Traefik v3 HTTP matcher set: one value per matcher, except
// Header/HeaderRegexp (key, value) and Query/QueryRegexp (key[, value]).
var httpV3 = &language[httpLeaf]{
	matchers: map[string]matcherSpec[httpLeaf]{
		"Host":         {1, 1, buildHost},
		"HostRegexp":   {1, 1, buildHostRegexp},
		"Path":         {1, 1, buildPath(mPath)},
		"PathPrefix":   {1, 1, buildPath(mPathPrefix)},
		"PathRegexp":   {1, 1, buildRegexpLeaf(mPathRegexp, 0)},
		"Method":       {1, 1, buildMethod},
		"Header":       {2, 2, buildHeader},
		"HeaderRegexp": {2, 2, buildHeader},
		"Query":        {1, 2, buildQuery},
		"QueryRegexp":  {1, 2, buildQuery},
		"ClientIP":     {1, 1, buildClientIP},
	},
	other: map[string]string{
		"Headers":       `v2 syntax: use Header(` + "`key`, `value`" + `) or set ruleSyntax: v2`,
		"HeadersRegexp": `v2 syntax: use HeaderRegexp(` + "`key`, `regexp`" + `) or set ruleSyntax: v2`,
		"HostHeader":    `v2 syntax: use Host or set ruleSyntax: v2`,
		"HostSNI":       `HostSNI is a TCP matcher; HTTP routers use Host`,
		"HostSNIRegexp": `HostSNIRegexp is a TCP matcher; HTTP routers use HostRegexp`,
		"ALPN":          `ALPN is a TCP matcher`,
	},
	hintOnArg: map[string]string{
		"Host":       "v3 takes one host per Host(): write Host(`a`) || Host(`b`)",
		"HostRegexp": "v3 takes one regexp per HostRegexp(): combine with ||",
		"Path":       "v3 takes one path per Path(): combine with ||",
		"PathPrefix": "v3 takes one prefix per PathPrefix(): combine with ||",
		"Method":     "v3 takes one method per Method(): write Method(`GET`) || Method(`POST`)",
		"ClientIP":   "v3 takes one IP or CIDR per ClientIP(): combine with ||",
	},
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

func buildHost(c *call) (httpLeaf, error) {
	hosts := make([]string, len(c.args))
	for i, h := range c.args {
		if !isASCII(h) {
			return httpLeaf{}, c.argErr(i, "host %q has non-ASCII characters: write internationalized names in punycode (xn--...)", h)
		}
		hosts[i] = trimDot(strings.ToLower(h))
	}
	return httpLeaf{kind: mHost, s: hosts}, nil
}

func buildHostRegexp(c *call) (httpLeaf, error) {
	if !isASCII(c.args[0]) {
		return httpLeaf{}, c.argErr(0, "non-ASCII characters are not allowed; use punycode (xn--...)")
	}
	return buildRegexpLeaf(mHostRegexp, 0)(c)
}

func buildRegexpLeaf(kind httpKind, arg int) func(c *call) (httpLeaf, error) {
	return func(c *call) (httpLeaf, error) {
		re, err := regexp.Compile(c.args[arg])
		if err != nil {
			return httpLeaf{}, c.argErr(arg, "invalid regexp: %v", err)
		}
		return httpLeaf{kind: kind, re: re}, nil
	}
}

func buildPath(kind httpKind) func(c *call) (httpLeaf, error) {
	return func(c *call) (httpLeaf, error) {
		p := c.args[0]
		if !strings.HasPrefix(p, "/") {
			return httpLeaf{}, c.argErr(0, "path %q must start with \"/\"", p)
		}
		return httpLeaf{kind: kind, s: []string{p}}, nil
	}
}

func buildMethod(c *call) (httpLeaf, error) {
	ms := make([]string, len(c.args))
	for i, m := range c.args {
		ms[i] = strings.ToUpper(m)
	}
	return httpLeaf{kind: mMethod, s: ms}, nil
}

func buildHeader(c *call) (httpLeaf, error) {
	l := httpLeaf{kind: mHeader, s: []string{http.CanonicalHeaderKey(c.args[0])}, value: c.args[1]}
	if c.name == "HeaderRegexp" {
		re, err := regexp.Compile(c.args[1])
		if err != nil {
			return httpLeaf{}, c.argErr(1, "invalid regexp: %v", err)
		}
		l.kind, l.re = mHeaderRegexp, re
	}
	return l, nil
}

// buildQuery follows Traefik: Query(`k`) is Query(`k`, “): it matches a
// parameter present with an empty value (?k or ?k=). QueryRegexp(`k`) is the
// same; QueryRegexp(`k`, `.*`) matches any value.
func buildQuery(c *call) (httpLeaf, error) {
	l := httpLeaf{kind: mQuery, s: []string{c.args[0]}}
	if len(c.args) == 2 {
		l.value = c.args[1]
		if c.name == "QueryRegexp" {
			re, err := regexp.Compile(c.args[1])
			if err != nil {
				return httpLeaf{}, c.argErr(1, "invalid regexp: %v", err)
			}
			l.kind, l.re = mQueryRegexp, re
		}
	}
	return l, nil
}

func buildClientIP(c *call) (httpLeaf, error) {
	nets, err := parseNets(c)
	if err != nil {
		return httpLeaf{}, err
	}
	return httpLeaf{kind: mClientIP, nets: nets}, nil
}

// parseNets parses every argument as an IP or a CIDR.
func parseNets(c *call) ([]netip.Prefix, error) {
	nets := make([]netip.Prefix, len(c.args))
	for i, s := range c.args {
		s = strings.TrimSpace(s)
		if strings.Contains(s, "/") {
			p, err := netip.ParsePrefix(s)
			if err != nil {
				return nil, c.argErr(i, "%q is not a valid CIDR, e.g. 10.0.0.0/8 or 2001:db8::/32", s)
			}
			if p.Addr().Is4In6() {
				if p.Bits() < 96 {
					return nil, c.argErr(i, "%q: IPv4-mapped prefix shorter than /96", s)
				}
				p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
			}
			nets[i] = p.Masked()
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, c.argErr(i, "%q is not a valid IP address or CIDR", s)
		}
		a = a.Unmap()
		nets[i] = netip.PrefixFrom(a.WithZone(""), a.BitLen())
	}
	return nets, nil
}

// matchQuery scans the raw query without building a url.Values map; it only
// allocates when a key or value is percent- or plus-encoded.
func matchQuery(raw string, l *httpLeaf) bool {
	key := l.s[0]
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		if pair == "" || strings.IndexByte(pair, ';') >= 0 {
			continue // url.ParseQuery rejects pairs with ';'
		}
		k, v, _ := strings.Cut(pair, "=")
		k, ok := unescapeQuery(k)
		if !ok || k != key {
			continue
		}
		if v, ok = unescapeQuery(v); !ok {
			continue
		}
		if l.kind == mQueryRegexp {
			if l.re.MatchString(v) {
				return true
			}
		} else if v == l.value {
			return true
		}
	}
	return false
}

func unescapeQuery(s string) (string, bool) {
	if strings.IndexByte(s, '%') < 0 && strings.IndexByte(s, '+') < 0 {
		return s, true
	}
	u, err := url.QueryUnescape(s)
	return u, err == nil
}
