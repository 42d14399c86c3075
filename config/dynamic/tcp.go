package dynamic

// TCPConfiguration is the tcp section.
type TCPConfiguration struct {
	Routers  map[string]*TCPRouter  `json:"routers,omitempty"`
	Services map[string]*TCPService `json:"services,omitempty"`
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

// TCPWeightedRoundRobin splits connections over TCP services by weight.
type TCPWeightedRoundRobin struct {
	Services []WRRService `json:"services,omitempty"`
}
