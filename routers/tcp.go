package routers

import (
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
	"strings"

	"github.com/gorilla/mux"
)

// ConnInfo is what TCP rules look at: known after the TLS ClientHello was
// peeked (or immediately for a connection that does not start with TLS).
type ConnInfo struct {
	ServerName string // SNI; empty without TLS or SNI
	ALPN       []string
	RemoteIP   netip.Addr
	TLS        bool
}

// TCPRule is a compiled TCP router rule. It is immutable and safe for
// concurrent use.
type TCPRule struct {
	src      string
	syntax   string
	t        *tree[tcpLeaf]
	catchAll bool
	plainOK  bool // may match connections without TLS
	hosts    []string
	only     bool
}

type tcpKind uint8

const (
	tAnySNI tcpKind = iota // HostSNI(`*`)
	tSNI
	tSNIRegexp
	tSNITemplate // v2 HostSNIRegexp via gorilla/mux host templates
	tALPN
	tClientIP
)

type tcpLeaf struct {
	kind  tcpKind
	s     []string // host names or ALPN protocols
	re    *regexp.Regexp
	nets  []netip.Prefix
	muxes *muxLeaf
}

// ParseTCP compiles a TCP router rule; syntax is "v3" (default when empty) or
// "v2".
func ParseTCP(rule, syntax string) (*TCPRule, error) {
	t, syntax, err := parseRule(rule, syntax, tcpV3, tcpV2)
	if err != nil {
		return nil, err
	}
	r := &TCPRule{src: rule, syntax: syntax, t: t}
	r.catchAll = t.op == opLeaf && t.leaf.kind == tAnySNI
	r.plainOK = !t.any(func(l *tcpLeaf) bool { return l.kind != tAnySNI && l.kind != tClientIP })
	r.hosts, r.only = requiredSet(t, func(l *tcpLeaf) ([]string, bool) {
		if l.kind == tSNI {
			return l.s, true
		}
		return nil, false
	}, intersect)
	return r, nil
}

// String returns the rule as written.
func (r *TCPRule) String() string { return r.src }

// CatchAll reports whether the rule is exactly HostSNI(`*`).
func (r *TCPRule) CatchAll() bool { return r.catchAll }

// PlainTCP reports whether the rule can match a connection without TLS: it
// uses only HostSNI(`*`) and ClientIP. A router without a tls section
// needs such a rule.
func (r *TCPRule) PlainTCP() bool { return r.plainOK }

// Hosts returns the exact SNI names (lowercase) one of which a connection
// must present to match, like Rule.Hosts.
func (r *TCPRule) Hosts() (hosts []string, only bool) {
	if !r.only {
		return nil, false
	}
	return append([]string{}, r.hosts...), true
}

// Match reports whether the connection satisfies the rule. Without TLS only
// rules made of HostSNI(`*`) and ClientIP can match: there is no SNI or ALPN
// to look at.
func (r *TCPRule) Match(c ConnInfo) bool {
	return r.match(&c, trimDot(strings.ToLower(c.ServerName)))
}

// match evaluates the rule with sni already canonical (lowercase, no
// trailing dot), so a table computes it once per connection.
func (r *TCPRule) match(c *ConnInfo, sni string) bool {
	if !c.TLS && !r.plainOK {
		return false
	}
	ip := c.RemoteIP.Unmap()
	return r.t.eval(func(l *tcpLeaf) bool { return l.match(sni, ip, c.ALPN) })
}

func (l *tcpLeaf) match(sni string, ip netip.Addr, alpn []string) bool {
	switch l.kind {
	case tAnySNI:
		return true
	case tSNI:
		if sni == "" {
			return false
		}
		for _, h := range l.s {
			if h == sni {
				return true
			}
		}
		return false
	case tSNIRegexp:
		return l.re.MatchString(sni)
	case tSNITemplate:
		// mux matches templates against a request's Host.
		return l.muxes.match(&http.Request{Host: sni, URL: &url.URL{}})
	case tALPN:
		for _, p := range alpn {
			for _, want := range l.s {
				if p == want {
					return true
				}
			}
		}
		return false
	case tClientIP:
		if !ip.IsValid() {
			return false
		}
		for _, n := range l.nets {
			if n.Contains(ip) {
				return true
			}
		}
		return false
	}
	return false
}

var tcpV3 = &language[tcpLeaf]{
	matchers: map[string]matcherSpec[tcpLeaf]{
		"HostSNI":       {1, 1, buildHostSNI},
		"HostSNIRegexp": {1, 1, buildHostSNIRegexp},
		"ALPN":          {1, 1, buildALPN},
		"ClientIP":      {1, 1, buildTCPClientIP},
	},
	other: map[string]string{
		"Host":       "TCP routers match the TLS server name with HostSNI",
		"HostRegexp": "TCP routers use HostSNIRegexp",
	},
	hintOnArg: map[string]string{
		"HostSNI":  "v3 takes one name per HostSNI(): write HostSNI(`a`) || HostSNI(`b`)",
		"ALPN":     "v3 takes one protocol per ALPN(): combine with ||",
		"ClientIP": "v3 takes one IP or CIDR per ClientIP(): combine with ||",
	},
}

var tcpV2 = &language[tcpLeaf]{
	matchers: map[string]matcherSpec[tcpLeaf]{
		"HostSNI":       {1, -1, buildHostSNI},
		"HostSNIRegexp": {1, -1, buildHostSNITemplate},
		"ALPN":          {1, -1, buildALPN},
		"ClientIP":      {1, -1, buildTCPClientIP},
	},
	other: map[string]string{
		"Host": "TCP routers match the TLS server name with HostSNI",
	},
}

// almostFQDN is what HostSNI accepts besides `*`.
var almostFQDN = regexp.MustCompile(`^[[:alnum:]\.\-:]+$`)

func buildHostSNI(c *call) (tcpLeaf, error) {
	var names []string
	for i, h := range c.args {
		if h == "*" {
			// `*` anywhere in the list matches everything.
			return tcpLeaf{kind: tAnySNI}, nil
		}
		if !almostFQDN.MatchString(h) {
			return tcpLeaf{}, c.argErr(i, "%q is not a valid host name (letters, digits, '.', '-'; or `*` for any)", h)
		}
		names = append(names, trimDot(strings.ToLower(h)))
	}
	return tcpLeaf{kind: tSNI, s: names}, nil
}

func buildHostSNIRegexp(c *call) (tcpLeaf, error) {
	if !isASCII(c.args[0]) {
		return tcpLeaf{}, c.argErr(0, "non-ASCII characters are not allowed; use punycode (xn--...)")
	}
	re, err := regexp.Compile(c.args[0])
	if err != nil {
		return tcpLeaf{}, c.argErr(0, "invalid regexp: %v", err)
	}
	return tcpLeaf{kind: tSNIRegexp, re: re}, nil
}

// buildHostSNITemplate compiles v2 templates such as `{sub:[a-z]+}.example.com`
// with gorilla/mux. SNI matching is case-insensitive: the server name is
// lower-cased, so literal template text is too.
func buildHostSNITemplate(c *call) (tcpLeaf, error) {
	leaf := &muxLeaf{}
	for i, v := range c.args {
		if !isASCII(v) {
			return tcpLeaf{}, c.argErr(i, "non-ASCII characters are not allowed; use punycode (xn--...)")
		}
		rt := mux.NewRouter().NewRoute().Host(lowerOutsideBraces(v))
		if err := rt.GetError(); err != nil {
			return tcpLeaf{}, c.argErr(i, "invalid template %q: %v", v, err)
		}
		leaf.routes = append(leaf.routes, rt)
	}
	return tcpLeaf{kind: tSNITemplate, muxes: leaf}, nil
}

func lowerOutsideBraces(s string) string {
	b := []byte(s)
	depth := 0
	for i, c := range b {
		switch {
		case c == '{':
			depth++
		case c == '}':
			depth--
		case depth == 0 && c >= 'A' && c <= 'Z':
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

func buildALPN(c *call) (tcpLeaf, error) {
	for i, p := range c.args {
		if p == "acme-tls/1" {
			return tcpLeaf{}, c.argErr(i, "%q is reserved for ACME TLS-ALPN challenges", p)
		}
	}
	return tcpLeaf{kind: tALPN, s: c.args}, nil
}

func buildTCPClientIP(c *call) (tcpLeaf, error) {
	nets, err := parseNets(c)
	if err != nil {
		return tcpLeaf{}, err
	}
	return tcpLeaf{kind: tClientIP, nets: nets}, nil
}

// TCPRoute is one TCP router in a table. Handler is whatever the TCP
// entrypoint dispatches to.
type TCPRoute struct {
	Name     string
	Rule     *TCPRule
	Priority int // 0: rule length; -1 for a lone HostSNI(`*`), so it goes last
	Handler  any
}

// EffectivePriority is the priority the route sorts by.
func (r *TCPRoute) EffectivePriority() int {
	if r.Priority != 0 || r.Rule == nil {
		return r.Priority
	}
	if r.Rule.catchAll {
		return -1
	}
	return len(r.Rule.src)
}

// TCPTable picks the TCP router for a connection, indexed by exact SNI like
// the HTTP table. Immutable and safe for concurrent use.
type TCPTable struct {
	routes   []TCPRoute
	bySNI    map[string][]int32
	fallback []int32
}

// NewTCPTable compiles routes; order is priority, then name.
func NewTCPTable(routes []TCPRoute) *TCPTable {
	t := &TCPTable{}
	for _, r := range routes {
		if r.Rule == nil {
			continue
		}
		r.Priority = r.EffectivePriority()
		t.routes = append(t.routes, r)
	}
	sortRoutes(t.routes, func(r *TCPRoute) (int, string) { return r.Priority, r.Name })
	t.bySNI, t.fallback = indexHosts(len(t.routes), func(i int) ([]string, bool) {
		return t.routes[i].Rule.hosts, t.routes[i].Rule.only
	})
	return t
}

// Len is the number of routes in the table.
func (t *TCPTable) Len() int { return len(t.routes) }

// Match returns the route for the connection, or nil.
func (t *TCPTable) Match(c ConnInfo) *TCPRoute {
	sni := trimDot(strings.ToLower(c.ServerName))
	var host []int32
	if c.TLS && sni != "" {
		host = t.bySNI[sni]
	}
	fb := t.fallback
	for len(host) > 0 || len(fb) > 0 {
		var idx int32
		if len(fb) == 0 || len(host) > 0 && host[0] < fb[0] {
			idx, host = host[0], host[1:]
		} else {
			idx, fb = fb[0], fb[1:]
		}
		if rt := &t.routes[idx]; rt.Rule.match(&c, sni) {
			return rt
		}
	}
	return nil
}
