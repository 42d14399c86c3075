// Package static holds the static configuration (traefik-style.toml), in
// Traefik v3's format. Field names follow the json tags, matched
// case-insensitively by the decoder.
package static

import (
	"github.com/guan-gateway/guan/config"
	"github.com/guan-gateway/guan/config/dynamic"
)

// Configuration is the whole static configuration.
type Configuration struct {
	Global      *Global                `json:"global,omitempty"`
	Core        *Core                  `json:"core,omitempty"`
	EntryPoints map[string]*EntryPoint `json:"entryPoints,omitempty"`
	Providers   *Providers             `json:"providers,omitempty"`
	API         *API                   `json:"api,omitempty"`
	Ping        *Ping                  `json:"ping,omitempty"`
	Metrics     *Metrics               `json:"metrics,omitempty"`
	Log         *Log                   `json:"log,omitempty"`
	AccessLog   *AccessLog             `json:"accessLog,omitempty"`
	// ServersTransport is default@internal: the transport of every HTTP
	// load balancer that names no serversTransport.
	ServersTransport *dynamic.ServersTransport `json:"serversTransport,omitempty"`
	// TCPServersTransport is default@internal for TCP: the transport of
	// every TCP load balancer that names no serversTransport.
	TCPServersTransport *dynamic.TCPServersTransport `json:"tcpServersTransport,omitempty"`

	baseDir string // directory of the file, for relative paths
}

// Global holds Traefik's global switches; accepted for compatibility.
type Global struct {
	CheckNewVersion    bool `json:"checkNewVersion,omitempty"`
	SendAnonymousUsage bool `json:"sendAnonymousUsage,omitempty"`
}

// Core holds defaults for the rule language.
type Core struct {
	DefaultRuleSyntax string `json:"defaultRuleSyntax,omitempty"` // v3 (default) or v2
}

// EntryPoint is a listening address and how connections on it are served.
type EntryPoint struct {
	Address          string            `json:"address,omitempty"` // ":8000", "127.0.0.1:8080", ":9000/tcp"
	Transport        *Transport        `json:"transport,omitempty"`
	ForwardedHeaders *ForwardedHeaders `json:"forwardedHeaders,omitempty"`
	HTTP             *HTTP             `json:"http,omitempty"`
	HTTP2            *HTTP2            `json:"http2,omitempty"`
	// AsDefault puts the entrypoint in the list used by routers that name
	// no entryPoints; when no entrypoint sets it, that list is all of them
	// but the internal "traefik" one.
	AsDefault bool `json:"asDefault,omitempty"`
	// ReusePort sets SO_REUSEPORT, so several listeners (processes) can
	// bind the same address.
	ReusePort bool `json:"reusePort,omitempty"`
	// Observability turns the access log or metrics off for the requests
	// of this entrypoint, unless their router has its own settings.
	Observability *dynamic.Observability `json:"observability,omitempty"`
	// MQTT holds the limits of an entrypoint that carries mqtt routers.
	MQTT *MQTTEntryPoint `json:"mqtt,omitempty"`
	// HTTP3 serves HTTP/3 on the UDP port of the entrypoint's address
	// (Traefik's key; the section's presence turns it on).
	HTTP3 *HTTP3 `json:"http3,omitempty"`
	// QUIC tunes the QUIC transport under http3 and mqtt.quic.
	QUIC *QUIC `json:"quic,omitempty"`
}

// HTTP3 turns HTTP/3 on for an entrypoint.
type HTTP3 struct {
	// AdvertisedPort is the port announced in Alt-Svc (default: the
	// entrypoint's own), for a UDP port mapped elsewhere in front.
	AdvertisedPort int `json:"advertisedPort,omitempty"`
	// Allow0RTT accepts requests in 0-RTT early data; only safe methods
	// are served early, others get 425 Too Early.
	Allow0RTT bool `json:"allow0RTT,omitempty"`
}

// QUIC holds the limits and timeouts of an entrypoint's QUIC connections.
type QUIC struct {
	MaxIncomingStreams int64            `json:"maxIncomingStreams,omitempty"` // concurrent bidirectional streams; default 100
	MaxIdleTimeout     *config.Duration `json:"maxIdleTimeout,omitempty"`     // default 30s; 5m with mqtt.quic
	HandshakeTimeout   *config.Duration `json:"handshakeTimeout,omitempty"`   // default 10s
}

// MQTTEntryPoint limits the MQTT clients of an entrypoint.
type MQTTEntryPoint struct {
	MaxConnections      int              `json:"maxConnections,omitempty"`      // 0: no limit
	MaxConnectionsPerIP int              `json:"maxConnectionsPerIP,omitempty"` // 0: no limit
	ConnectTimeout      *config.Duration `json:"connectTimeout,omitempty"`      // accept to CONNECT; default 10s
	MaxPacketSize       int              `json:"maxPacketSize,omitempty"`       // bytes; default 1 MiB
	// QUIC also listens on the UDP port of the address, ALPN "mqtt", one
	// MQTT session per QUIC connection on its first bidirectional stream.
	QUIC bool `json:"quic,omitempty"`
}

// Transport holds timeouts and the shutdown grace period.
type Transport struct {
	LifeCycle            *LifeCycle          `json:"lifeCycle,omitempty"`
	RespondingTimeouts   *RespondingTimeouts `json:"respondingTimeouts,omitempty"`
	KeepAliveMaxRequests int                 `json:"keepAliveMaxRequests,omitempty"`
	KeepAliveMaxTime     *config.Duration    `json:"keepAliveMaxTime,omitempty"`
}

// LifeCycle governs graceful shutdown.
type LifeCycle struct {
	RequestAcceptGraceTimeout *config.Duration `json:"requestAcceptGraceTimeout,omitempty"`
	GraceTimeOut              *config.Duration `json:"graceTimeOut,omitempty"` // default 10s
}

// RespondingTimeouts bound the downstream side.
type RespondingTimeouts struct {
	ReadTimeout  *config.Duration `json:"readTimeout,omitempty"`  // default 60s
	WriteTimeout *config.Duration `json:"writeTimeout,omitempty"` // default 0 (none)
	IdleTimeout  *config.Duration `json:"idleTimeout,omitempty"`  // default 180s
}

// ForwardedHeaders says whose X-Forwarded-* headers are trusted.
type ForwardedHeaders struct {
	Insecure   bool     `json:"insecure,omitempty"`
	TrustedIPs []string `json:"trustedIPs,omitempty"`
	// Connection lists the headers that a request's Connection header may
	// name and that still reach the middlewares; the other headers it names
	// are removed when the request arrives. All are removed before the
	// request goes upstream, as hop-by-hop headers.
	Connection []string `json:"connection,omitempty"`
}

// HTTP holds entrypoint-wide HTTP settings.
type HTTP struct {
	Redirections   *Redirections `json:"redirections,omitempty"`
	Middlewares    []string      `json:"middlewares,omitempty"`
	TLS            *HTTPTLS      `json:"tls,omitempty"`
	MaxHeaderBytes int           `json:"maxHeaderBytes,omitempty"` // default 1 MiB
	SanitizePath   *bool         `json:"sanitizePath,omitempty"`   // default true
	// EncodeQuerySemicolons sends the query's semicolons on as %3B; by
	// default they separate parameters, as "&" does.
	EncodeQuerySemicolons bool `json:"encodeQuerySemicolons,omitempty"`
	// EncodedCharacters rejects request paths holding the percent-encoded
	// characters whose switch is false (400, before routing).
	EncodedCharacters *EncodedCharacters `json:"encodedCharacters,omitempty"`
}

// EncodedCharacters says which percent-encoded characters a request path
// may hold. Each is allowed unless set to false, as in Traefik.
type EncodedCharacters struct {
	AllowEncodedSlash         *bool `json:"allowEncodedSlash,omitempty"`         // %2F
	AllowEncodedBackSlash     *bool `json:"allowEncodedBackSlash,omitempty"`     // %5C
	AllowEncodedNullCharacter *bool `json:"allowEncodedNullCharacter,omitempty"` // %00
	AllowEncodedSemicolon     *bool `json:"allowEncodedSemicolon,omitempty"`     // %3B
	AllowEncodedPercent       *bool `json:"allowEncodedPercent,omitempty"`       // %25
	AllowEncodedQuestionMark  *bool `json:"allowEncodedQuestionMark,omitempty"`  // %3F
	AllowEncodedHash          *bool `json:"allowEncodedHash,omitempty"`          // %23
}

// HTTPTLS makes every router on the entrypoint a TLS router by default.
type HTTPTLS struct {
	Options      string `json:"options,omitempty"`
	CertResolver string `json:"certResolver,omitempty"`
	// Domains are for certResolver; accepted for compatibility.
	Domains []dynamic.Domain `json:"domains,omitempty"`
}

// Redirections redirects every request to another entrypoint.
type Redirections struct {
	EntryPoint *RedirectEntryPoint `json:"entryPoint,omitempty"`
}

// RedirectEntryPoint names where to redirect to.
type RedirectEntryPoint struct {
	To        string `json:"to,omitempty"`        // entrypoint name or ":port"
	Scheme    string `json:"scheme,omitempty"`    // default https
	Permanent *bool  `json:"permanent,omitempty"` // default true
	Priority  int    `json:"priority,omitempty"`
}

// HTTP2 tunes the HTTP/2 server.
type HTTP2 struct {
	MaxConcurrentStreams int `json:"maxConcurrentStreams,omitempty"` // default 250
}

// Providers configures where dynamic configuration comes from.
type Providers struct {
	ProvidersThrottleDuration *config.Duration `json:"providersThrottleDuration,omitempty"` // default 2s
	File                      *FileProvider    `json:"file,omitempty"`
}

// FileProvider reads dynamic configuration from a file or directory.
type FileProvider struct {
	Directory string `json:"directory,omitempty"`
	Filename  string `json:"filename,omitempty"`
	Watch     *bool  `json:"watch,omitempty"` // default true
	// DebugLogGeneratedTemplate logs each file after its Go template ran.
	DebugLogGeneratedTemplate bool `json:"debugLogGeneratedTemplate,omitempty"`
}

// API exposes the read-only API and dashboard.
type API struct {
	Insecure  bool   `json:"insecure,omitempty"`
	Dashboard *bool  `json:"dashboard,omitempty"` // default true
	Debug     bool   `json:"debug,omitempty"`
	BasePath  string `json:"basePath,omitempty"` // default "/"
	// DisableDashboardAd is accepted for Traefik files; the dashboard
	// shows no advertisement.
	DisableDashboardAd bool `json:"disableDashboardAd,omitempty"`
}

// Ping serves a health endpoint.
type Ping struct {
	EntryPoint            string `json:"entryPoint,omitempty"` // default "traefik"
	ManualRouting         bool   `json:"manualRouting,omitempty"`
	TerminatingStatusCode int    `json:"terminatingStatusCode,omitempty"` // default 503
}

// Metrics enables metric exporters.
type Metrics struct {
	Prometheus *Prometheus `json:"prometheus,omitempty"`
	// AddInternals also counts requests routed by *@internal routers.
	AddInternals bool `json:"addInternals,omitempty"`
}

// Prometheus serves /metrics.
type Prometheus struct {
	Buckets              []float64 `json:"buckets,omitempty"`
	AddEntryPointsLabels *bool     `json:"addEntryPointsLabels,omitempty"` // default true
	AddRoutersLabels     bool      `json:"addRoutersLabels,omitempty"`
	AddServicesLabels    *bool     `json:"addServicesLabels,omitempty"` // default true
	EntryPoint           string    `json:"entryPoint,omitempty"`        // default "traefik"
	ManualRouting        bool      `json:"manualRouting,omitempty"`
	// HeaderLabels adds labels to the requests_total metrics: label name
	// -> request header whose value it takes ("" when absent).
	HeaderLabels map[string]string `json:"headerLabels,omitempty"`
}

// Log configures the application log.
type Log struct {
	Level    string `json:"level,omitempty"`  // DEBUG, INFO, WARN, ERROR (default ERROR, as Traefik)
	Format   string `json:"format,omitempty"` // common (text) or json
	FilePath string `json:"filePath,omitempty"`
	NoColor  bool   `json:"noColor,omitempty"`
	// Size-based rotation of filePath, as Traefik's: on when any of these
	// is set. MaxSize is in megabytes (0: 100), MaxAge in days (0: keep
	// backups whatever their age), MaxBackups a count (0: keep all).
	MaxSize    int  `json:"maxSize,omitempty"`
	MaxBackups int  `json:"maxBackups,omitempty"`
	MaxAge     int  `json:"maxAge,omitempty"`
	Compress   bool `json:"compress,omitempty"`
}

// Rotates reports whether the log file is rotated by size (any of maxSize,
// maxBackups, maxAge, compress set).
func (l *Log) Rotates() bool {
	return l != nil && (l.MaxSize != 0 || l.MaxBackups != 0 || l.MaxAge != 0 || l.Compress)
}

// AccessLog configures the access log.
type AccessLog struct {
	FilePath      string            `json:"filePath,omitempty"` // default stdout
	Format        string            `json:"format,omitempty"`   // common (default) or json
	BufferingSize int64             `json:"bufferingSize,omitempty"`
	Filters       *AccessLogFilters `json:"filters,omitempty"`
	Fields        *AccessLogFields  `json:"fields,omitempty"`
	// AddInternals also logs requests routed by *@internal routers.
	AddInternals bool `json:"addInternals,omitempty"`
}

// AccessLogFilters keep only some requests in the access log.
type AccessLogFilters struct {
	StatusCodes   []string         `json:"statusCodes,omitempty"` // "200", "300-302"
	RetryAttempts bool             `json:"retryAttempts,omitempty"`
	MinDuration   *config.Duration `json:"minDuration,omitempty"`
}

// AccessLogFields selects the JSON fields.
type AccessLogFields struct {
	DefaultMode string            `json:"defaultMode,omitempty"` // keep (default) or drop
	Names       map[string]string `json:"names,omitempty"`       // field -> keep|drop
	Headers     *FieldHeaders     `json:"headers,omitempty"`
}

// FieldHeaders selects request/response headers in the JSON access log.
type FieldHeaders struct {
	DefaultMode string            `json:"defaultMode,omitempty"` // drop (default), keep, redact
	Names       map[string]string `json:"names,omitempty"`
}
