package routers

import (
	"net/netip"
	"regexp"
	"strings"
)

// MQTTInfo is what MQTT rules look at: the client's CONNECT and its
// connection.
type MQTTInfo struct {
	ClientID        string
	Username        string
	ProtocolVersion byte // 3 (3.1), 4 (3.1.1) or 5
	RemoteIP        netip.Addr
	ServerName      string // TLS SNI; empty without TLS
}

// MQTTRule is a compiled MQTT router rule. Immutable, safe for concurrent use.
type MQTTRule struct {
	src string
	t   *tree[mqttLeaf]
}

type mqttKind uint8

const (
	qClientID mqttKind = iota
	qClientIDPrefix
	qClientIDRegexp
	qUsername
	qUsernameRegexp
	qClientIP
	qVersion
	qHostSNI
)

type mqttLeaf struct {
	kind mqttKind
	s    string
	re   *regexp.Regexp
	nets []netip.Prefix
	v    byte
}

var mqttV3 = &language[mqttLeaf]{
	matchers: map[string]matcherSpec[mqttLeaf]{
		"ClientID":        {1, 1, mqttString(qClientID)},
		"ClientIDPrefix":  {1, 1, mqttString(qClientIDPrefix)},
		"ClientIDRegexp":  {1, 1, mqttRegexp(qClientIDRegexp)},
		"Username":        {1, 1, mqttString(qUsername)},
		"UsernameRegexp":  {1, 1, mqttRegexp(qUsernameRegexp)},
		"ClientIP":        {1, 1, buildMQTTClientIP},
		"ProtocolVersion": {1, 1, buildProtocolVersion},
		"HostSNI":         {1, 1, buildMQTTHostSNI},
	},
	other: map[string]string{
		"Host":       "MQTT routers match the TLS server name with HostSNI",
		"PathPrefix": "MQTT has no paths; match ClientID, Username, ClientIP, ProtocolVersion or HostSNI",
	},
}

// ParseMQTT compiles an MQTT router rule (Traefik v3 syntax: matchers with
// one argument, &&, ||, ! and parentheses).
func ParseMQTT(rule string) (*MQTTRule, error) {
	t, _, err := parseRule(rule, "v3", mqttV3, mqttV3)
	if err != nil {
		return nil, err
	}
	return &MQTTRule{src: rule, t: t}, nil
}

// String returns the rule as written.
func (r *MQTTRule) String() string { return r.src }

// Match reports whether a connecting client satisfies the rule.
func (r *MQTTRule) Match(i *MQTTInfo) bool {
	sni := trimDot(strings.ToLower(i.ServerName))
	ip := i.RemoteIP.Unmap()
	return r.t.eval(func(l *mqttLeaf) bool {
		switch l.kind {
		case qClientID:
			return i.ClientID == l.s
		case qClientIDPrefix:
			return strings.HasPrefix(i.ClientID, l.s)
		case qClientIDRegexp:
			return l.re.MatchString(i.ClientID)
		case qUsername:
			return i.Username == l.s
		case qUsernameRegexp:
			return l.re.MatchString(i.Username)
		case qVersion:
			return i.ProtocolVersion == l.v
		case qHostSNI:
			return l.s == "*" || sni == l.s
		case qClientIP:
			if !ip.IsValid() {
				return false
			}
			for _, n := range l.nets {
				if n.Contains(ip) {
					return true
				}
			}
		}
		return false
	})
}

func mqttString(kind mqttKind) func(c *call) (mqttLeaf, error) {
	return func(c *call) (mqttLeaf, error) { return mqttLeaf{kind: kind, s: c.args[0]}, nil }
}

func mqttRegexp(kind mqttKind) func(c *call) (mqttLeaf, error) {
	return func(c *call) (mqttLeaf, error) {
		re, err := regexp.Compile(c.args[0])
		if err != nil {
			return mqttLeaf{}, c.argErr(0, "invalid regexp: %v", err)
		}
		return mqttLeaf{kind: kind, re: re}, nil
	}
}

func buildMQTTClientIP(c *call) (mqttLeaf, error) {
	nets, err := parseNets(c)
	if err != nil {
		return mqttLeaf{}, err
	}
	return mqttLeaf{kind: qClientIP, nets: nets}, nil
}

func buildMQTTHostSNI(c *call) (mqttLeaf, error) {
	h := c.args[0]
	if h != "*" && !almostFQDN.MatchString(h) {
		return mqttLeaf{}, c.argErr(0, "%q is not a valid host name", h)
	}
	return mqttLeaf{kind: qHostSNI, s: trimDot(strings.ToLower(h))}, nil
}

// buildProtocolVersion takes the version as people write it ("3.1",
// "3.1.1", "5") or the protocol level byte ("3", "4", "5").
func buildProtocolVersion(c *call) (mqttLeaf, error) {
	levels := map[string]byte{"3.1": 3, "3": 3, "3.1.1": 4, "4": 4, "5": 5, "5.0": 5}
	v, ok := levels[c.args[0]]
	if !ok {
		return mqttLeaf{}, c.argErr(0, "unknown MQTT version %q: use 3.1, 3.1.1 or 5", c.args[0])
	}
	return mqttLeaf{kind: qVersion, v: v}, nil
}

// MQTTRoute is one MQTT router in a table.
type MQTTRoute struct {
	Name     string
	Rule     *MQTTRule
	Priority int // 0: rule length
	Handler  any
}

// MQTTTable picks the router for a connecting client: the first match by
// priority, then name. Immutable and safe for concurrent use.
type MQTTTable struct{ routes []MQTTRoute }

// NewMQTTTable sorts routes by priority (default: rule length), then name.
func NewMQTTTable(routes []MQTTRoute) *MQTTTable {
	t := &MQTTTable{}
	for _, r := range routes {
		if r.Rule == nil {
			continue
		}
		if r.Priority == 0 {
			r.Priority = len(r.Rule.src)
		}
		t.routes = append(t.routes, r)
	}
	sortRoutes(t.routes, func(r *MQTTRoute) (int, string) { return r.Priority, r.Name })
	return t
}

// Len is the number of routes.
func (t *MQTTTable) Len() int { return len(t.routes) }

// Match returns the route for the client, or nil.
func (t *MQTTTable) Match(i *MQTTInfo) *MQTTRoute {
	for k := range t.routes {
		if t.routes[k].Rule.Match(i) {
			return &t.routes[k]
		}
	}
	return nil
}
