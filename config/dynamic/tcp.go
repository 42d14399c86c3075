package dynamic

import "github.com/guan-gateway/guan/config"

// TCPConfiguration is the tcp section.
type TCPConfiguration struct {
	Routers           map[string]*TCPRouter           `json:"routers,omitempty"`
	Services          map[string]*TCPService          `json:"services,omitempty"`
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
