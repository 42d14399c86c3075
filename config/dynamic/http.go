// Package dynamic holds the dynamic configuration that providers emit, in
// Traefik v3's file-provider format. Field names follow the json tags, which
// the decoder matches case-insensitively for TOML and YAML alike.
package dynamic

import "github.com/guan-gateway/guan/config"

// Configuration is one provider's complete dynamic configuration.
type Configuration struct {
	HTTP *HTTPConfiguration `json:"http,omitempty"`
	TCP  *TCPConfiguration  `json:"tcp,omitempty"`
	TLS  *TLSConfiguration  `json:"tls,omitempty"`
	MQTT *MQTTConfiguration `json:"mqtt,omitempty"`
}

// HTTPConfiguration is the http section.
type HTTPConfiguration struct {
	Routers           map[string]*Router           `json:"routers,omitempty"`
	Services          map[string]*Service          `json:"services,omitempty"`
	Middlewares       map[string]*Middleware       `json:"middlewares,omitempty"`
	ServersTransports map[string]*ServersTransport `json:"serversTransports,omitempty"`
}

// Router matches requests with Rule and sends them through Middlewares to Service.
type Router struct {
	EntryPoints []string         `json:"entryPoints,omitempty"`
	Middlewares []string         `json:"middlewares,omitempty"`
	Service     string           `json:"service,omitempty"`
	Rule        string           `json:"rule,omitempty"`
	RuleSyntax  string           `json:"ruleSyntax,omitempty"` // "v3" (default) or "v2"
	Priority    int              `json:"priority,omitempty"`
	TLS         *RouterTLSConfig `json:"tls,omitempty"`
	// Observability overrides the entrypoints' observability settings for
	// this router's requests.
	Observability *Observability `json:"observability,omitempty"`
}

// Observability switches the access log and metrics for some requests:
// an entrypoint's (static) or a router's. A field left out is true.
type Observability struct {
	AccessLogs     *bool  `json:"accessLogs,omitempty"`
	Metrics        *bool  `json:"metrics,omitempty"`
	Tracing        *bool  `json:"tracing,omitempty"`        // accepted; no tracing exporter yet
	TraceVerbosity string `json:"traceVerbosity,omitempty"` // minimal or detailed; accepted
}

// Quiet reports which of the access log and metrics o turns off; a nil o
// turns off neither.
func (o *Observability) Quiet() (noAccessLog, noMetrics bool) {
	if o == nil {
		return false, false
	}
	return o.AccessLogs != nil && !*o.AccessLogs, o.Metrics != nil && !*o.Metrics
}

// RouterTLSConfig makes a router answer on TLS connections.
type RouterTLSConfig struct {
	Options      string   `json:"options,omitempty"`
	CertResolver string   `json:"certResolver,omitempty"`
	Domains      []Domain `json:"domains,omitempty"`
}

// Domain names a certificate's main domain and alternative names.
type Domain struct {
	Main string   `json:"main,omitempty"`
	SANs []string `json:"sans,omitempty"`
}

// Service is exactly one of the service kinds.
type Service struct {
	LoadBalancer *ServersLoadBalancer `json:"loadBalancer,omitempty"`
	Weighted     *WeightedRoundRobin  `json:"weighted,omitempty"`
	Mirroring    *Mirroring           `json:"mirroring,omitempty"`
	Failover     *Failover            `json:"failover,omitempty"`
	// HighestRandomWeight sends each client IP to one child service.
	HighestRandomWeight *HighestRandomWeight `json:"highestRandomWeight,omitempty"`
	// MQTT serves MQTT over WebSocket (subprotocol mqtt) with an mqtt
	// router's middlewares and brokers.
	MQTT *MQTTOverWebSocket `json:"mqtt,omitempty"`
}

// MQTTOverWebSocket names the mqtt router that serves WebSocket clients.
type MQTTOverWebSocket struct {
	Router string `json:"router,omitempty"`
}

// ServersLoadBalancer spreads requests over servers.
type ServersLoadBalancer struct {
	Sticky             *Sticky                   `json:"sticky,omitempty"`
	Servers            []Server                  `json:"servers,omitempty"`
	Strategy           string                    `json:"strategy,omitempty"` // "wrr" (default), "p2c", "hrw" or "leasttime"
	HealthCheck        *ServerHealthCheck        `json:"healthCheck,omitempty"`
	PassiveHealthCheck *PassiveServerHealthCheck `json:"passiveHealthCheck,omitempty"`
	PassHostHeader     *bool                     `json:"passHostHeader,omitempty"` // default true
	ResponseForwarding *ResponseForwarding       `json:"responseForwarding,omitempty"`
	ServersTransport   string                    `json:"serversTransport,omitempty"`
}

// ResponseForwarding tunes how responses are copied back.
type ResponseForwarding struct {
	// FlushInterval between flushes of the response body; negative flushes
	// after every write. Default 100ms; streaming responses flush at once.
	FlushInterval *config.Duration `json:"flushInterval,omitempty"`
}

// Sticky pins a client to a server with a cookie.
type Sticky struct {
	Cookie *Cookie `json:"cookie,omitempty"`
}

// Cookie is the sticky-session cookie.
type Cookie struct {
	Name     string `json:"name,omitempty"`
	Secure   bool   `json:"secure,omitempty"`
	HTTPOnly bool   `json:"httpOnly,omitempty"`
	SameSite string `json:"sameSite,omitempty"`
	MaxAge   int    `json:"maxAge,omitempty"`
	Path     string `json:"path,omitempty"`
	Domain   string `json:"domain,omitempty"`
	// Partitioned sets the CHIPS Partitioned attribute (needs Secure).
	Partitioned bool `json:"partitioned,omitempty"`
}

// Server is one upstream URL (http://, https://, h2c://).
type Server struct {
	URL          string `json:"url,omitempty"`
	Weight       *int   `json:"weight,omitempty"` // default 1
	PreservePath bool   `json:"preservePath,omitempty"`
}

// ServerHealthCheck is the active health check of a load balancer.
type ServerHealthCheck struct {
	Scheme            string            `json:"scheme,omitempty"`
	Mode              string            `json:"mode,omitempty"` // "http" (default) or "grpc"
	Path              string            `json:"path,omitempty"`
	Method            string            `json:"method,omitempty"`
	Status            int               `json:"status,omitempty"`
	Port              int               `json:"port,omitempty"`
	Interval          *config.Duration  `json:"interval,omitempty"` // default 30s
	UnhealthyInterval *config.Duration  `json:"unhealthyInterval,omitempty"`
	Timeout           *config.Duration  `json:"timeout,omitempty"` // default 5s
	Hostname          string            `json:"hostname,omitempty"`
	FollowRedirects   *bool             `json:"followRedirects,omitempty"`
	Headers           map[string]string `json:"headers,omitempty"`
}

// PassiveServerHealthCheck ejects a server after failed requests.
type PassiveServerHealthCheck struct {
	FailureWindow     *config.Duration `json:"failureWindow,omitempty"`     // default 10s
	MaxFailedAttempts int              `json:"maxFailedAttempts,omitempty"` // default 1
}

// HealthCheck on a parent service propagates child health upward.
type HealthCheck struct{}

// WeightedRoundRobin splits traffic over services by weight.
type WeightedRoundRobin struct {
	Services    []WRRService `json:"services,omitempty"`
	Sticky      *Sticky      `json:"sticky,omitempty"`
	HealthCheck *HealthCheck `json:"healthCheck,omitempty"`
}

// WRRService is a child of a weighted service.
type WRRService struct {
	Name   string `json:"name,omitempty"`
	Weight *int   `json:"weight,omitempty"` // default 1
}

// HighestRandomWeight sends every request of one client IP to the same
// child service, chosen by weighted rendezvous hashing.
type HighestRandomWeight struct {
	Services    []HRWService `json:"services,omitempty"`
	HealthCheck *HealthCheck `json:"healthCheck,omitempty"`
}

// HRWService is a child of a highestRandomWeight service.
type HRWService struct {
	Name   string `json:"name,omitempty"`
	Weight *int   `json:"weight,omitempty"` // default 1; 0 means no clients
}

// Mirroring sends a copy of requests to mirrors.
type Mirroring struct {
	Service     string `json:"service,omitempty"`
	MirrorBody  *bool  `json:"mirrorBody,omitempty"`  // default true
	MaxBodySize *int64 `json:"maxBodySize,omitempty"` // default 1 MiB (Traefik: -1); -1 means no limit
	// Guan: copies in flight at once; more are dropped (default 256).
	MaxInFlight int             `json:"maxInFlight,omitempty"`
	Mirrors     []MirrorService `json:"mirrors,omitempty"`
	HealthCheck *HealthCheck    `json:"healthCheck,omitempty"`
}

// MirrorService is one mirror and the share of requests it gets.
type MirrorService struct {
	Name    string `json:"name,omitempty"`
	Percent int    `json:"percent,omitempty"`
}

// Failover sends to Fallback while Service is unhealthy.
type Failover struct {
	Service     string       `json:"service,omitempty"`
	Fallback    string       `json:"fallback,omitempty"`
	HealthCheck *HealthCheck `json:"healthCheck,omitempty"`
}

// ServersTransport configures connections to upstream servers.
type ServersTransport struct {
	ServerName          string              `json:"serverName,omitempty"`
	InsecureSkipVerify  bool                `json:"insecureSkipVerify,omitempty"`
	RootCAs             []string            `json:"rootCAs,omitempty"`
	Certificates        []Certificate       `json:"certificates,omitempty"`
	MaxIdleConnsPerHost int                 `json:"maxIdleConnsPerHost,omitempty"` // default 200
	ForwardingTimeouts  *ForwardingTimeouts `json:"forwardingTimeouts,omitempty"`
	DisableHTTP2        bool                `json:"disableHTTP2,omitempty"`
	PeerCertURI         string              `json:"peerCertURI,omitempty"`
	// TLS versions and cipher suites offered to HTTPS servers; unset,
	// Go's defaults (TLS 1.2 to 1.3).
	MinVersion   string   `json:"minVersion,omitempty"`
	MaxVersion   string   `json:"maxVersion,omitempty"`
	CipherSuites []string `json:"cipherSuites,omitempty"`
	// TLCP, when set, makes https:// servers be reached over TLCP (GB/T
	// 38636) instead of TLS, for backends that only speak the national
	// cryptography.
	TLCP *TLCPClient `json:"tlcp,omitempty"`
}

// TLCPClient is how a serversTransport talks TLCP to its servers.
type TLCPClient struct {
	ServerName         string        `json:"serverName,omitempty"` // default: the server URL's host
	InsecureSkipVerify bool          `json:"insecureSkipVerify,omitempty"`
	RootCAs            []string      `json:"rootCAs,omitempty"`      // CAs of the servers' SM2 certificates
	Certificates       []SM2KeyPairs `json:"certificates,omitempty"` // client sign/enc pairs (the first is sent)
	CipherSuites       []string      `json:"cipherSuites,omitempty"` // TLCP suite names; default all
}

// SM2KeyPairs is an SM2 signing pair and its encryption pair.
type SM2KeyPairs struct {
	CertFile    string `json:"certFile,omitempty"`
	KeyFile     string `json:"keyFile,omitempty"`
	EncCertFile string `json:"encCertFile,omitempty"`
	EncKeyFile  string `json:"encKeyFile,omitempty"`
}

// ForwardingTimeouts bound the phases of an upstream exchange.
type ForwardingTimeouts struct {
	DialTimeout           *config.Duration `json:"dialTimeout,omitempty"` // default 30s
	ResponseHeaderTimeout *config.Duration `json:"responseHeaderTimeout,omitempty"`
	IdleConnTimeout       *config.Duration `json:"idleConnTimeout,omitempty"` // default 90s
	ReadIdleTimeout       *config.Duration `json:"readIdleTimeout,omitempty"`
	PingTimeout           *config.Duration `json:"pingTimeout,omitempty"`
}

// Certificate is a certificate/key pair, each a file path or inline PEM.
type Certificate struct {
	CertFile string `json:"certFile,omitempty"`
	KeyFile  string `json:"keyFile,omitempty"`
}
