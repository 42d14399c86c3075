package dynamic

import "github.com/guan-gateway/guan/config"

// TCPConfiguration is the tcp section.
type TCPConfiguration struct {
	Routers           map[string]*TCPRouter           `json:"routers,omitempty"`
	Services          map[string]*TCPService          `json:"services,omitempty"`
	Middlewares       map[string]*TCPMiddleware       `json:"middlewares,omitempty"`
	ServersTransports map[string]*TCPServersTransport `json:"serversTransports,omitempty"`
}

// TCPRouter matches connections (by SNI, client IP, ALPN) to a TCP service.
type TCPRouter struct {
	EntryPoints []string            `json:"entryPoints,omitempty"`
	Middlewares []string            `json:"middlewares,omitempty"`
	Service     string              `json:"service,omitempty"`
	Rule        string              `json:"rule,omitempty"`
	RuleSyntax  string              `json:"ruleSyntax,omitempty"`
	Priority    int                 `json:"priority,omitempty"`
	TLS         *RouterTCPTLSConfig `json:"tls,omitempty"`
}

// TCPMiddleware is exactly one TCP middleware kind. It runs on the
// connection once its router is chosen (after the TLS handshake when the
// router terminates TLS), before the service dials a server.
type TCPMiddleware struct {
	InFlightConn *TCPInFlightConn `json:"inFlightConn,omitempty"`
	IPAllowList  *TCPIPAllowList  `json:"ipAllowList,omitempty"`
	// IPWhiteList is Traefik's deprecated name of IPAllowList, still
	// accepted by Traefik v3; it behaves exactly like IPAllowList.
	IPWhiteList *TCPIPAllowList `json:"ipWhiteList,omitempty"`
}

// TCPInFlightConn caps the simultaneous connections of one client IP.
type TCPInFlightConn struct {
	Amount int64 `json:"amount,omitempty"`
}

// TCPIPAllowList admits only connections from SourceRange.
type TCPIPAllowList struct {
	SourceRange []string `json:"sourceRange,omitempty"`
}

// RouterTCPTLSConfig terminates TLS, or passes it through untouched.
type RouterTCPTLSConfig struct {
	Passthrough  bool     `json:"passthrough,omitempty"`
	Options      string   `json:"options,omitempty"`
	CertResolver string   `json:"certResolver,omitempty"`
	Domains      []Domain `json:"domains,omitempty"`
}

// TCPService is exactly one TCP service kind.
type TCPService struct {
	LoadBalancer *TCPServersLoadBalancer `json:"loadBalancer,omitempty"`
	Weighted     *TCPWeightedRoundRobin  `json:"weighted,omitempty"`
}

// TCPServersLoadBalancer spreads connections over servers.
type TCPServersLoadBalancer struct {
	Servers          []TCPServer `json:"servers,omitempty"`
	ServersTransport string      `json:"serversTransport,omitempty"`
	// TerminationDelay is Traefik's deprecated per-service form of the
	// servers transport's terminationDelay, in milliseconds (negative:
	// wait forever). It applies only when ServersTransport is not set.
	TerminationDelay *int `json:"terminationDelay,omitempty"`
}

// TCPServer is one upstream address.
type TCPServer struct {
	Address string `json:"address,omitempty"`
	TLS     bool   `json:"tls,omitempty"`
	Weight  *int   `json:"weight,omitempty"`
}

// TCPServersTransport configures connections to TCP servers, as Traefik's
// tcp.serversTransports.
type TCPServersTransport struct {
	DialTimeout      *config.Duration `json:"dialTimeout,omitempty"`      // default 30s; 0: no timeout
	DialKeepAlive    *config.Duration `json:"dialKeepAlive,omitempty"`    // default 15s; negative: off
	TerminationDelay *config.Duration `json:"terminationDelay,omitempty"` // default 100ms; negative: wait forever
	TLS              *TLSClientConfig `json:"tls,omitempty"`
}

// TLSClientConfig is the TLS of a TCP servers transport, used for the
// servers with tls = true.
type TLSClientConfig struct {
	ServerName         string        `json:"serverName,omitempty"`
	InsecureSkipVerify bool          `json:"insecureSkipVerify,omitempty"`
	RootCAs            []string      `json:"rootCAs,omitempty"`
	Certificates       []Certificate `json:"certificates,omitempty"`
	PeerCertURI        string        `json:"peerCertURI,omitempty"`
}

// TCPWeightedRoundRobin splits connections over TCP services by weight.
type TCPWeightedRoundRobin struct {
	Services []WRRService `json:"services,omitempty"`
}
