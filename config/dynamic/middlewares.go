package dynamic

import "github.com/guan-gateway/guan/config"

// Middleware is exactly one middleware kind.
type Middleware struct {
	AddPrefix        *AddPrefix        `json:"addPrefix,omitempty"`
	StripPrefix      *StripPrefix      `json:"stripPrefix,omitempty"`
	StripPrefixRegex *StripPrefixRegex `json:"stripPrefixRegex,omitempty"`
	ReplacePath      *ReplacePath      `json:"replacePath,omitempty"`
	ReplacePathRegex *ReplacePathRegex `json:"replacePathRegex,omitempty"`
	Chain            *Chain            `json:"chain,omitempty"`
	IPAllowList      *IPAllowList      `json:"ipAllowList,omitempty"`
	// IPWhiteList is Traefik's deprecated name of IPAllowList, still
	// accepted by Traefik v3 (without rejectStatusCode).
	IPWhiteList       *IPWhiteList       `json:"ipWhiteList,omitempty"`
	Headers           *Headers           `json:"headers,omitempty"`
	Errors            *ErrorPage         `json:"errors,omitempty"`
	RedirectRegex     *RedirectRegex     `json:"redirectRegex,omitempty"`
	RedirectScheme    *RedirectScheme    `json:"redirectScheme,omitempty"`
	BasicAuth         *BasicAuth         `json:"basicAuth,omitempty"`
	ForwardAuth       *ForwardAuth       `json:"forwardAuth,omitempty"`
	CircuitBreaker    *CircuitBreaker    `json:"circuitBreaker,omitempty"`
	JWT               *JWT               `json:"jwt,omitempty"`
	OPA               *OPA               `json:"opa,omitempty"`
	WAF               *WAF               `json:"waf,omitempty"`
	InFlightReq       *InFlightReq       `json:"inFlightReq,omitempty"`
	RateLimit         *RateLimit         `json:"rateLimit,omitempty"`
	Buffering         *Buffering         `json:"buffering,omitempty"`
	Compress          *Compress          `json:"compress,omitempty"`
	Retry             *Retry             `json:"retry,omitempty"`
	PassTLSClientCert *PassTLSClientCert `json:"passTLSClientCert,omitempty"`
	ContentType       *ContentType       `json:"contentType,omitempty"`
	DigestAuth        *DigestAuth        `json:"digestAuth,omitempty"`
	GrpcWeb           *GrpcWeb           `json:"grpcWeb,omitempty"`
}

// AddPrefix prepends Prefix to the request path.
type AddPrefix struct {
	Prefix string `json:"prefix,omitempty"`
}

// StripPrefix removes the first matching prefix from the path.
type StripPrefix struct {
	Prefixes   []string `json:"prefixes,omitempty"`
	ForceSlash *bool    `json:"forceSlash,omitempty"` // deprecated in Traefik; honoured as Traefik does
}

// StripPrefixRegex removes the first matching regex prefix from the path.
type StripPrefixRegex struct {
	Regex []string `json:"regex,omitempty"`
}

// ReplacePath sets the request path.
type ReplacePath struct {
	Path string `json:"path,omitempty"`
}

// ReplacePathRegex rewrites the path with a regex and replacement ($1...).
type ReplacePathRegex struct {
	Regex       string `json:"regex,omitempty"`
	Replacement string `json:"replacement,omitempty"`
}

// Chain applies other middlewares in order.
type Chain struct {
	Middlewares []string `json:"middlewares,omitempty"`
}

// IPStrategy says which address of X-Forwarded-For is the client.
type IPStrategy struct {
	Depth       int      `json:"depth,omitempty"`
	ExcludedIPs []string `json:"excludedIPs,omitempty"`
	IPv6Subnet  *int     `json:"ipv6Subnet,omitempty"`
}

// IPAllowList admits only clients from SourceRange.
type IPAllowList struct {
	SourceRange      []string    `json:"sourceRange,omitempty"`
	IPStrategy       *IPStrategy `json:"ipStrategy,omitempty"`
	RejectStatusCode int         `json:"rejectStatusCode,omitempty"` // default 403
}

// IPWhiteList is the deprecated form of IPAllowList: refused clients get 403.
type IPWhiteList struct {
	SourceRange []string    `json:"sourceRange,omitempty"`
	IPStrategy  *IPStrategy `json:"ipStrategy,omitempty"`
}

// Headers sets request/response headers, CORS and security headers.
type Headers struct {
	CustomRequestHeaders              map[string]string `json:"customRequestHeaders,omitempty"`
	CustomResponseHeaders             map[string]string `json:"customResponseHeaders,omitempty"`
	AccessControlAllowCredentials     bool              `json:"accessControlAllowCredentials,omitempty"`
	AccessControlAllowHeaders         []string          `json:"accessControlAllowHeaders,omitempty"`
	AccessControlAllowMethods         []string          `json:"accessControlAllowMethods,omitempty"`
	AccessControlAllowOriginList      []string          `json:"accessControlAllowOriginList,omitempty"`
	AccessControlAllowOriginListRegex []string          `json:"accessControlAllowOriginListRegex,omitempty"`
	AccessControlExposeHeaders        []string          `json:"accessControlExposeHeaders,omitempty"`
	AccessControlMaxAge               int64             `json:"accessControlMaxAge,omitempty"`
	AddVaryHeader                     bool              `json:"addVaryHeader,omitempty"`
	AllowedHosts                      []string          `json:"allowedHosts,omitempty"`
	HostsProxyHeaders                 []string          `json:"hostsProxyHeaders,omitempty"`
	SSLProxyHeaders                   map[string]string `json:"sslProxyHeaders,omitempty"`
	STSSeconds                        int64             `json:"stsSeconds,omitempty"`
	STSIncludeSubdomains              bool              `json:"stsIncludeSubdomains,omitempty"`
	STSPreload                        bool              `json:"stsPreload,omitempty"`
	ForceSTSHeader                    bool              `json:"forceSTSHeader,omitempty"`
	FrameDeny                         bool              `json:"frameDeny,omitempty"`
	CustomFrameOptionsValue           string            `json:"customFrameOptionsValue,omitempty"`
	ContentTypeNosniff                bool              `json:"contentTypeNosniff,omitempty"`
	BrowserXSSFilter                  bool              `json:"browserXssFilter,omitempty"`
	CustomBrowserXSSValue             string            `json:"customBrowserXSSValue,omitempty"`
	ContentSecurityPolicy             string            `json:"contentSecurityPolicy,omitempty"`
	ContentSecurityPolicyReportOnly   string            `json:"contentSecurityPolicyReportOnly,omitempty"`
	PublicKey                         string            `json:"publicKey,omitempty"`
	ReferrerPolicy                    string            `json:"referrerPolicy,omitempty"`
	PermissionsPolicy                 string            `json:"permissionsPolicy,omitempty"`
	IsDevelopment                     bool              `json:"isDevelopment,omitempty"`

	// Deprecated in Traefik, still honoured by Traefik v3: FeaturePolicy
	// sets the Feature-Policy header (use PermissionsPolicy); the SSL
	// options redirect plain-HTTP requests to HTTPS (use redirectScheme or
	// the entrypoint redirection).
	FeaturePolicy        *string `json:"featurePolicy,omitempty"`
	SSLRedirect          *bool   `json:"sslRedirect,omitempty"`
	SSLTemporaryRedirect *bool   `json:"sslTemporaryRedirect,omitempty"`
	SSLHost              *string `json:"sslHost,omitempty"`
	SSLForceHost         *bool   `json:"sslForceHost,omitempty"`
}

// ErrorPage serves a page from Service for responses whose status is in Status.
type ErrorPage struct {
	Status         []string       `json:"status,omitempty"` // "500", "500-599"
	StatusRewrites map[string]int `json:"statusRewrites,omitempty"`
	Service        string         `json:"service,omitempty"`
	Query          string         `json:"query,omitempty"` // "/{status}.html"; {status}, {originalStatus}, {url}
	// ErrorRequestHeaders lists the request headers the error page request
	// carries; unset (nil) forwards them all, an empty list none.
	ErrorRequestHeaders []string `json:"errorRequestHeaders,omitempty"`
}

// RedirectRegex redirects when the URL matches Regex.
type RedirectRegex struct {
	Regex       string `json:"regex,omitempty"`
	Replacement string `json:"replacement,omitempty"`
	Permanent   bool   `json:"permanent,omitempty"`
}

// RedirectScheme redirects to another scheme (and port).
type RedirectScheme struct {
	Scheme    string `json:"scheme,omitempty"`
	Port      string `json:"port,omitempty"`
	Permanent bool   `json:"permanent,omitempty"`
}

// BasicAuth checks HTTP basic credentials against htpasswd entries.
type BasicAuth struct {
	Users        []string `json:"users,omitempty"` // "name:hash"
	UsersFile    string   `json:"usersFile,omitempty"`
	Realm        string   `json:"realm,omitempty"` // default "traefik"
	RemoveHeader bool     `json:"removeHeader,omitempty"`
	HeaderField  string   `json:"headerField,omitempty"`
}

// DigestAuth checks HTTP Digest credentials against htdigest entries.
type DigestAuth struct {
	Users        []string `json:"users,omitempty"` // "name:realm:hash"
	UsersFile    string   `json:"usersFile,omitempty"`
	Realm        string   `json:"realm,omitempty"` // default "traefik"
	RemoveHeader bool     `json:"removeHeader,omitempty"`
	HeaderField  string   `json:"headerField,omitempty"`
}

// GrpcWeb translates gRPC-Web requests into gRPC for the service.
type GrpcWeb struct {
	AllowOrigins []string `json:"allowOrigins,omitempty"` // "*" allows any
}

// SourceCriterion groups requests by client.
type SourceCriterion struct {
	IPStrategy        *IPStrategy `json:"ipStrategy,omitempty"`
	RequestHeaderName string      `json:"requestHeaderName,omitempty"`
	RequestHost       bool        `json:"requestHost,omitempty"`
}

// InFlightReq caps simultaneous requests per source.
type InFlightReq struct {
	Amount          int64            `json:"amount,omitempty"`
	SourceCriterion *SourceCriterion `json:"sourceCriterion,omitempty"`
}

// RateLimit admits, per source, Average requests per Period on average and
// up to Burst at once (a token bucket of Burst tokens refilled at
// Average/Period). With Redis the bucket is shared by every gateway that
// uses the same Redis and middleware name.
type RateLimit struct {
	Average         int64            `json:"average,omitempty"` // 0: no limit
	Period          *config.Duration `json:"period,omitempty"`  // default 1s
	Burst           *int64           `json:"burst,omitempty"`   // default 1
	SourceCriterion *SourceCriterion `json:"sourceCriterion,omitempty"`
	Redis           *RateLimitRedis  `json:"redis,omitempty"`
}

// RateLimitRedis is where rateLimit keeps its buckets when they are shared.
// One endpoint is a single Redis; several are a Redis Cluster's seed
// nodes; MasterName (Guan) makes them Sentinels.
type RateLimitRedis struct {
	Endpoints      []string         `json:"endpoints,omitempty"` // default localhost:6379
	Username       string           `json:"username,omitempty"`
	Password       string           `json:"password,omitempty"`
	DB             int              `json:"db,omitempty"`
	TLS            *ClientTLS       `json:"tls,omitempty"`
	PoolSize       int              `json:"poolSize,omitempty"`
	MinIdleConns   int              `json:"minIdleConns,omitempty"`
	MaxActiveConns int              `json:"maxActiveConns,omitempty"`
	DialTimeout    *config.Duration `json:"dialTimeout,omitempty"`  // default 5s
	ReadTimeout    *config.Duration `json:"readTimeout,omitempty"`  // default 3s
	WriteTimeout   *config.Duration `json:"writeTimeout,omitempty"` // default 3s
	// Guan: the Sentinel master set; Endpoints are then Sentinels.
	MasterName string `json:"masterName,omitempty"`
	// Guan: what happens while Redis cannot be reached: "local" (default,
	// per-gateway buckets), "open" (admit) or "closed" (refuse with 503).
	FailurePolicy string `json:"failurePolicy,omitempty"`
}

// ForwardAuth asks an authentication server about every request: a 2xx
// answer lets the request through, anything else is the client's response.
type ForwardAuth struct {
	Address                  string          `json:"address,omitempty"`
	TLS                      *ForwardAuthTLS `json:"tls,omitempty"`
	TrustForwardHeader       bool            `json:"trustForwardHeader,omitempty"`
	AuthResponseHeaders      []string        `json:"authResponseHeaders,omitempty"`
	AuthResponseHeadersRegex string          `json:"authResponseHeadersRegex,omitempty"`
	AuthRequestHeaders       []string        `json:"authRequestHeaders,omitempty"`
	AddAuthCookiesToResponse []string        `json:"addAuthCookiesToResponse,omitempty"`
	ForwardBody              bool            `json:"forwardBody,omitempty"`
	MaxBodySize              *int64          `json:"maxBodySize,omitempty"` // with forwardBody; default 1 MiB (Traefik: -1)
	HeaderField              string          `json:"headerField,omitempty"`
	PreserveLocationHeader   bool            `json:"preserveLocationHeader,omitempty"`
	PreserveRequestMethod    bool            `json:"preserveRequestMethod,omitempty"`
}

// ForwardAuthTLS is the TLS towards the authentication server.
type ForwardAuthTLS struct {
	CA                 string `json:"ca,omitempty"`
	Cert               string `json:"cert,omitempty"`
	Key                string `json:"key,omitempty"`
	InsecureSkipVerify bool   `json:"insecureSkipVerify,omitempty"`
	CAOptional         bool   `json:"caOptional,omitempty"` // deprecated in Traefik; accepted, no effect on a client
}

// CircuitBreaker answers with ResponseCode instead of calling the service
// while Expression holds over the last 10 s of responses.
type CircuitBreaker struct {
	Expression       string           `json:"expression,omitempty"`
	CheckPeriod      *config.Duration `json:"checkPeriod,omitempty"`      // default 100ms
	FallbackDuration *config.Duration `json:"fallbackDuration,omitempty"` // default 10s
	RecoveryDuration *config.Duration `json:"recoveryDuration,omitempty"` // default 10s
	ResponseCode     int              `json:"responseCode,omitempty"`     // default 503
}

// JWT (Guan) admits requests that carry a valid JSON Web Token.
type JWT struct {
	JWKSURL             string            `json:"jwksURL,omitempty"`
	JWKSRefreshInterval *config.Duration  `json:"jwksRefreshInterval,omitempty"` // default 5m
	PublicKeys          []string          `json:"publicKeys,omitempty"`          // PEM text or file paths
	Secret              string            `json:"secret,omitempty"`              // HMAC
	Issuer              string            `json:"issuer,omitempty"`
	Audience            []string          `json:"audience,omitempty"` // the token must name one of them
	Algorithms          []string          `json:"algorithms,omitempty"`
	TokenHeader         string            `json:"tokenHeader,omitempty"` // default Authorization (Bearer)
	TokenCookie         string            `json:"tokenCookie,omitempty"`
	TokenQuery          string            `json:"tokenQuery,omitempty"`
	ClaimsToHeaders     map[string]string `json:"claimsToHeaders,omitempty"` // claim → request header
	ClockSkew           *config.Duration  `json:"clockSkew,omitempty"`
	Realm               string            `json:"realm,omitempty"` // WWW-Authenticate realm; default "guan"
}

// OPA (Guan) decides requests with a Rego policy evaluated in the gateway.
type OPA struct {
	Policy string   `json:"policy,omitempty"` // a .rego file or a directory
	Query  string   `json:"query,omitempty"`  // default data.guan.authz.allow
	Data   []string `json:"data,omitempty"`   // JSON or YAML files
}

// WAF (Guan) inspects requests with Coraza and, by default, the OWASP CRS.
type WAF struct {
	CRS                *bool             `json:"crs,omitempty"`           // default true
	ParanoiaLevel      int               `json:"paranoiaLevel,omitempty"` // 1 (default) to 4
	AnomalyThreshold   *AnomalyThreshold `json:"anomalyThreshold,omitempty"`
	Directives         []string          `json:"directives,omitempty"` // SecLang lines
	DirectivesFiles    []string          `json:"directivesFiles,omitempty"`
	Mode               string            `json:"mode,omitempty"`             // block (default) | detect
	RequestBodyLimit   int64             `json:"requestBodyLimit,omitempty"` // bytes; default 1 MiB
	ResponseInspection bool              `json:"responseInspection,omitempty"`
	AuditLog           string            `json:"auditLog,omitempty"` // file path
}

// AnomalyThreshold is the CRS anomaly score at which a request (inbound)
// or a response (outbound) is blocked.
type AnomalyThreshold struct {
	Inbound  int `json:"inbound,omitempty"`  // default 5
	Outbound int `json:"outbound,omitempty"` // default 4
}

// ClientTLS is the TLS a middleware uses towards a server it calls.
type ClientTLS struct {
	CA                 string `json:"ca,omitempty"`
	Cert               string `json:"cert,omitempty"`
	Key                string `json:"key,omitempty"`
	InsecureSkipVerify bool   `json:"insecureSkipVerify,omitempty"`
}

// Buffering reads whole requests/responses before passing them on.
type Buffering struct {
	MaxRequestBodyBytes  int64  `json:"maxRequestBodyBytes,omitempty"`
	MemRequestBodyBytes  int64  `json:"memRequestBodyBytes,omitempty"`
	MaxResponseBodyBytes int64  `json:"maxResponseBodyBytes,omitempty"`
	MemResponseBodyBytes int64  `json:"memResponseBodyBytes,omitempty"`
	RetryExpression      string `json:"retryExpression,omitempty"`
}

// Compress compresses responses with gzip, brotli or zstd.
type Compress struct {
	ExcludedContentTypes []string `json:"excludedContentTypes,omitempty"`
	IncludedContentTypes []string `json:"includedContentTypes,omitempty"`
	MinResponseBodyBytes int      `json:"minResponseBodyBytes,omitempty"` // default 1024
	Encodings            []string `json:"encodings,omitempty"`            // default zstd, br, gzip
	DefaultEncoding      string   `json:"defaultEncoding,omitempty"`
}

// Retry re-sends a request that failed to reach a server or, with Status,
// whose response has a listed status.
type Retry struct {
	Attempts        int              `json:"attempts,omitempty"`
	InitialInterval *config.Duration `json:"initialInterval,omitempty"`
	// Timeout bounds the time spent retrying; 0 means no bound.
	Timeout *config.Duration `json:"timeout,omitempty"`
	// MaxRequestBodyBytes is the largest request body kept so the request
	// can be retried on Status; default RetryDefaultMaxRequestBodyBytes,
	// negative means no limit.
	MaxRequestBodyBytes *int64   `json:"maxRequestBodyBytes,omitempty"`
	Status              []string `json:"status,omitempty"` // "503", "500-599"
	// DisableRetryOnNetworkError stops retrying failures to get a response;
	// Status must then be set.
	DisableRetryOnNetworkError bool `json:"disableRetryOnNetworkError,omitempty"`
	// RetryNonIdempotentMethod lets Status retry POST, PATCH and LOCK.
	RetryNonIdempotentMethod bool `json:"retryNonIdempotentMethod,omitempty"`
}

// RetryDefaultMaxRequestBodyBytes is retry's maxRequestBodyBytes default
// (2 MiB, as in Traefik).
const RetryDefaultMaxRequestBodyBytes = 2 << 20

// PassTLSClientCert copies the client's TLS certificate into request headers
// for the service: the PEM (X-Forwarded-Tls-Client-Cert) and selected fields
// (X-Forwarded-Tls-Client-Cert-Info).
type PassTLSClientCert struct {
	PEM  bool                      `json:"pem,omitempty"`
	Info *TLSClientCertificateInfo `json:"info,omitempty"`
}

// TLSClientCertificateInfo selects the certificate fields passed in
// X-Forwarded-Tls-Client-Cert-Info.
type TLSClientCertificateInfo struct {
	NotAfter     bool                               `json:"notAfter,omitempty"`
	NotBefore    bool                               `json:"notBefore,omitempty"`
	Sans         bool                               `json:"sans,omitempty"`
	SerialNumber bool                               `json:"serialNumber,omitempty"`
	Subject      *TLSClientCertificateSubjectDNInfo `json:"subject,omitempty"`
	Issuer       *TLSClientCertificateIssuerDNInfo  `json:"issuer,omitempty"`
}

// TLSClientCertificateSubjectDNInfo selects parts of the subject's
// distinguished name.
type TLSClientCertificateSubjectDNInfo struct {
	Country            bool `json:"country,omitempty"`
	Province           bool `json:"province,omitempty"`
	Locality           bool `json:"locality,omitempty"`
	Organization       bool `json:"organization,omitempty"`
	OrganizationalUnit bool `json:"organizationalUnit,omitempty"`
	CommonName         bool `json:"commonName,omitempty"`
	SerialNumber       bool `json:"serialNumber,omitempty"`
	DomainComponent    bool `json:"domainComponent,omitempty"`
}

// TLSClientCertificateIssuerDNInfo selects parts of the issuer's
// distinguished name.
type TLSClientCertificateIssuerDNInfo struct {
	Country         bool `json:"country,omitempty"`
	Province        bool `json:"province,omitempty"`
	Locality        bool `json:"locality,omitempty"`
	Organization    bool `json:"organization,omitempty"`
	CommonName      bool `json:"commonName,omitempty"`
	SerialNumber    bool `json:"serialNumber,omitempty"`
	DomainComponent bool `json:"domainComponent,omitempty"`
}

// ContentType lets a response without a Content-Type header get one
// detected from its first bytes, which the gateway otherwise does not do.
type ContentType struct {
	// AutoDetect is deprecated in Traefik: false makes the middleware do
	// nothing, true (or unset) enables detection.
	AutoDetect *bool `json:"autoDetect,omitempty"`
}
