package static

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/guan-gateway/guan/config"
	"github.com/guan-gateway/guan/config/decode"
	"github.com/guan-gateway/guan/config/dynamic"
	"golang.org/x/net/http/httpguts"
)

// Validate checks the configuration (normally after SetDefaults) and returns
// every problem as a config.Errors positioned with meta, which may be nil.
func (c *Configuration) Validate(meta *decode.Meta) error {
	v := &validator{meta: meta}

	names := make([]string, 0, len(c.EntryPoints))
	for name := range c.EntryPoints {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		c.validateEntryPoint(v, name, c.EntryPoints[name])
	}
	if st := c.ServersTransport; st != nil {
		validateServersTransport(v, st)
	}
	if st := c.TCPServersTransport; st != nil {
		validateTCPServersTransport(v, st)
	}

	if c.Core != nil {
		switch c.Core.DefaultRuleSyntax {
		case "", "v3", "v2":
		default:
			v.add(path("core", "defaultRuleSyntax"), "must be v3 or v2, got %q", c.Core.DefaultRuleSyntax)
		}
	}
	if l := c.Log; l != nil {
		if _, err := ParseLogLevel(l.Level); err != nil {
			v.add(path("log", "level"), "%v", err)
		}
		v.oneOf(path("log", "format"), l.Format, "common", "json")
		for key, n := range map[string]int{"maxSize": l.MaxSize, "maxBackups": l.MaxBackups, "maxAge": l.MaxAge} {
			if n < 0 {
				v.add(path("log", key), "must not be negative, got %d", n)
			}
		}
		if l.Rotates() && l.FilePath == "" {
			v.add(path("log", "filePath"), "maxSize, maxBackups, maxAge and compress rotate a log file: set filePath too, or remove them")
		}
	}
	if a := c.AccessLog; a != nil {
		c.validateAccessLog(v, a)
	}
	if p := c.Providers; p != nil {
		v.nonNegative(path("providers", "providersThrottleDuration"), p.ProvidersThrottleDuration)
		if f := p.File; f != nil {
			at := path("providers", "file")
			switch {
			case f.Filename == "" && f.Directory == "":
				v.add(at, `set either "filename" or "directory"`)
			case f.Filename != "" && f.Directory != "":
				v.add(at, `set only one of "filename" and "directory", not both`)
			}
		}
	}
	if a := c.API; a != nil && !strings.HasPrefix(a.BasePath, "/") && a.BasePath != "" {
		v.add(path("api", "basePath"), "must begin with \"/\", got %q", a.BasePath)
	}
	if p := c.Ping; p != nil {
		if !p.ManualRouting {
			c.entryPointExists(v, path("ping", "entryPoint"), p.EntryPoint)
		}
		if p.TerminatingStatusCode != 0 && (p.TerminatingStatusCode < 100 || p.TerminatingStatusCode > 599) {
			v.add(path("ping", "terminatingStatusCode"), "must be an HTTP status code (100-599), got %d", p.TerminatingStatusCode)
		}
	}
	if c.Metrics != nil && c.Metrics.Prometheus != nil {
		p := c.Metrics.Prometheus
		if !p.ManualRouting {
			c.entryPointExists(v, path("metrics", "prometheus", "entryPoint"), p.EntryPoint)
		}
		for _, label := range sortedKeys(p.HeaderLabels) {
			at := path("metrics", "prometheus", "headerLabels", label)
			switch {
			case !promLabelName.MatchString(label) || strings.HasPrefix(label, "__"):
				v.add(at, "%q is not a valid Prometheus label name: use letters, digits and underscores, not starting with a digit or \"__\"", label)
			case slices.Contains(requestLabels, label):
				v.add(at, "%q is already a label of the request metrics: choose another name", label)
			case !httpguts.ValidHeaderFieldName(p.HeaderLabels[label]):
				v.add(at, "%q is not a valid header name", p.HeaderLabels[label])
			}
		}
		for i := 1; i < len(p.Buckets); i++ {
			if p.Buckets[i] <= p.Buckets[i-1] {
				v.add(path("metrics", "prometheus", "buckets", strconv.Itoa(i)), "buckets must be in increasing order: %g follows %g", p.Buckets[i], p.Buckets[i-1])
				break
			}
		}
	}
	return v.errs()
}

func (c *Configuration) validateEntryPoint(v *validator, name string, ep *EntryPoint) {
	at := func(p ...string) []string { return append(path("entryPoints", name), p...) }
	if ep == nil {
		v.add(at(), "is empty: set at least its address")
		return
	}
	if _, _, err := ep.ListenAddress(); err != nil {
		v.add(at("address"), "%v", err)
	}
	if t := ep.Transport; t != nil {
		if t.LifeCycle != nil {
			v.nonNegative(at("transport", "lifeCycle", "requestAcceptGraceTimeout"), t.LifeCycle.RequestAcceptGraceTimeout)
			v.nonNegative(at("transport", "lifeCycle", "graceTimeOut"), t.LifeCycle.GraceTimeOut)
		}
		if r := t.RespondingTimeouts; r != nil {
			v.nonNegative(at("transport", "respondingTimeouts", "readTimeout"), r.ReadTimeout)
			v.nonNegative(at("transport", "respondingTimeouts", "writeTimeout"), r.WriteTimeout)
			v.nonNegative(at("transport", "respondingTimeouts", "idleTimeout"), r.IdleTimeout)
		}
		v.nonNegative(at("transport", "keepAliveMaxTime"), t.KeepAliveMaxTime)
		if t.KeepAliveMaxRequests < 0 {
			v.add(at("transport", "keepAliveMaxRequests"), "must not be negative")
		}
	}
	if fh := ep.ForwardedHeaders; fh != nil {
		for i, s := range fh.TrustedIPs {
			if !isIPOrCIDR(s) {
				v.add(at("forwardedHeaders", "trustedIPs", strconv.Itoa(i)), "%q is neither an IP address nor a CIDR range (like 10.0.0.0/8)", s)
			}
		}
		for i, s := range fh.Connection {
			if !httpguts.ValidHeaderFieldName(s) {
				v.add(at("forwardedHeaders", "connection", strconv.Itoa(i)), "%q is not a valid header name", s)
			}
		}
	}
	if h := ep.HTTP; h != nil {
		if h.MaxHeaderBytes < 0 {
			v.add(at("http", "maxHeaderBytes"), "must not be negative")
		}
		if r := h.Redirections; r != nil && r.EntryPoint != nil {
			to := r.EntryPoint.To
			switch {
			case to == "":
				v.add(at("http", "redirections", "entryPoint"), `"to" is required: name an entrypoint or give ":port"`)
			case strings.HasPrefix(to, ":"):
				if p, err := strconv.Atoi(to[1:]); err != nil || p < 1 || p > 65535 {
					v.add(at("http", "redirections", "entryPoint", "to"), "%q is not a valid port: use \":443\" style", to)
				}
			default:
				if _, ok := c.EntryPoints[to]; !ok {
					v.add(at("http", "redirections", "entryPoint", "to"), "entrypoint %q does not exist%s", to, known(c.EntryPoints))
				}
			}
			v.oneOf(at("http", "redirections", "entryPoint", "scheme"), r.EntryPoint.Scheme, "http", "https")
		}
	}
	if h := ep.HTTP2; h != nil && h.MaxConcurrentStreams < 0 {
		v.add(at("http2", "maxConcurrentStreams"), "must not be negative")
	}
	if ep.HTTP3 != nil && ep.MQTT != nil && ep.MQTT.QUIC {
		v.add(at("mqtt", "quic"), "http3 is on too: an entrypoint with mqtt routers speaks only MQTT; give HTTP/3 its own entrypoint")
	}
	if h := ep.HTTP3; h != nil && (h.AdvertisedPort < 0 || h.AdvertisedPort > 65535) {
		v.add(at("http3", "advertisedPort"), "%d is not a port: give 1-65535, or leave it out to announce the entrypoint's own", h.AdvertisedPort)
	}
	if q := ep.QUIC; q != nil {
		if q.MaxIncomingStreams < 0 {
			v.add(at("quic", "maxIncomingStreams"), "must not be negative")
		}
		for _, t := range []struct {
			key string
			d   *config.Duration
		}{{"maxIdleTimeout", q.MaxIdleTimeout}, {"handshakeTimeout", q.HandshakeTimeout}} {
			if t.d != nil && *t.d <= 0 {
				v.add(at("quic", t.key), "must be positive, got %s: leave it out for the default", t.d.Std())
			}
		}
		if ep.HTTP3 == nil && (ep.MQTT == nil || !ep.MQTT.QUIC) {
			v.add(at("quic"), "nothing listens on QUIC here: add an http3 section or set mqtt.quic = true")
		}
	}
}

// validateServersTransport checks what can be checked without reading
// files; the TLS material is loaded (and checked) when the gateway starts.
func validateServersTransport(v *validator, st *dynamic.ServersTransport) {
	at := func(p ...string) []string { return append(path("serversTransport"), p...) }
	for i, ca := range st.RootCAs {
		if strings.TrimSpace(ca) == "" {
			v.add(at("rootCAs", strconv.Itoa(i)), "is empty: give a file path or inline PEM")
		}
	}
	if ft := st.ForwardingTimeouts; ft != nil {
		v.nonNegative(at("forwardingTimeouts", "dialTimeout"), ft.DialTimeout)
		v.nonNegative(at("forwardingTimeouts", "responseHeaderTimeout"), ft.ResponseHeaderTimeout)
		v.nonNegative(at("forwardingTimeouts", "idleConnTimeout"), ft.IdleConnTimeout)
		v.nonNegative(at("forwardingTimeouts", "readIdleTimeout"), ft.ReadIdleTimeout)
		v.nonNegative(at("forwardingTimeouts", "pingTimeout"), ft.PingTimeout)
	}
}

// validateTCPServersTransport checks the static tcpServersTransport; its
// TLS material is loaded when the gateway starts.
func validateTCPServersTransport(v *validator, st *dynamic.TCPServersTransport) {
	at := func(p ...string) []string { return append(path("tcpServersTransport"), p...) }
	v.nonNegative(at("dialTimeout"), st.DialTimeout)
	if t := st.TLS; t != nil {
		for i, ca := range t.RootCAs {
			if strings.TrimSpace(ca) == "" {
				v.add(at("tls", "rootCAs", strconv.Itoa(i)), "is empty: give a file path or inline PEM")
			}
		}
	}
}

// promLabelName is the syntax of a Prometheus label name.
var promLabelName = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

// requestLabels are the labels of the request metrics, which headerLabels
// may not reuse.
var requestLabels = []string{"code", "method", "protocol", "entrypoint", "router", "service"}

func (c *Configuration) validateAccessLog(v *validator, a *AccessLog) {
	v.oneOf(path("accessLog", "format"), a.Format, "common", "json")
	if a.BufferingSize < 0 {
		v.add(path("accessLog", "bufferingSize"), "must not be negative")
	}
	if f := a.Filters; f != nil {
		for i, s := range f.StatusCodes {
			if err := checkStatusRange(s); err != nil {
				v.add(path("accessLog", "filters", "statusCodes", strconv.Itoa(i)), "%v", err)
			}
		}
		v.nonNegative(path("accessLog", "filters", "minDuration"), f.MinDuration)
	}
	if f := a.Fields; f != nil {
		v.oneOf(path("accessLog", "fields", "defaultMode"), f.DefaultMode, "keep", "drop")
		for _, k := range sortedKeys(f.Names) {
			v.oneOf(path("accessLog", "fields", "names", k), f.Names[k], "keep", "drop")
		}
		if h := f.Headers; h != nil {
			v.oneOf(path("accessLog", "fields", "headers", "defaultMode"), h.DefaultMode, "keep", "drop", "redact")
			for _, k := range sortedKeys(h.Names) {
				v.oneOf(path("accessLog", "fields", "headers", "names", k), h.Names[k], "keep", "drop", "redact")
			}
		}
	}
}

func (c *Configuration) entryPointExists(v *validator, at []string, name string) {
	if _, ok := c.EntryPoints[name]; !ok {
		v.add(at, "entrypoint %q does not exist%s", name, known(c.EntryPoints))
	}
}

// ListenAddress parses Address ("[host]:port" with an optional "/tcp") into
// the arguments of net.Listen. Port 0 picks a free port.
func (e *EntryPoint) ListenAddress() (network, addr string, err error) {
	a := e.Address
	if a == "" {
		return "", "", errors.New(`address is empty: set it to ":port" or "host:port"`)
	}
	if i := strings.LastIndexByte(a, '/'); i >= 0 {
		switch proto := strings.ToLower(a[i+1:]); proto {
		case "tcp":
		case "udp":
			return "", "", fmt.Errorf("address %q: UDP entrypoints are not supported yet; use a TCP address", a)
		default:
			return "", "", fmt.Errorf("address %q: unknown protocol %q, only \"/tcp\" is supported", a, proto)
		}
		a = a[:i]
	}
	host, port, err := net.SplitHostPort(a)
	if err != nil {
		return "", "", fmt.Errorf("address %q is not \"[host]:port\" (for example \":8000\" or \"127.0.0.1:8000\")", e.Address)
	}
	p, err := strconv.Atoi(port)
	if err != nil || p < 0 || p > 65535 {
		return "", "", fmt.Errorf("address %q: port %q must be a number from 0 to 65535", e.Address, port)
	}
	if host != "" && net.ParseIP(strings.SplitN(host, "%", 2)[0]) == nil && !isHostname(host) {
		return "", "", fmt.Errorf("address %q: %q is neither an IP address nor a host name", e.Address, host)
	}
	return "tcp", net.JoinHostPort(host, port), nil
}

// ParseLogLevel maps a Traefik log level (case-insensitive) to slog. TRACE
// logs as DEBUG; FATAL and PANIC log as ERROR. Empty means ERROR.
func ParseLogLevel(s string) (slog.Level, error) {
	switch strings.ToUpper(s) {
	case "TRACE", "DEBUG":
		return slog.LevelDebug, nil
	case "INFO":
		return slog.LevelInfo, nil
	case "WARN", "WARNING":
		return slog.LevelWarn, nil
	case "", "ERROR", "FATAL", "PANIC":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("unknown log level %q: use DEBUG, INFO, WARN or ERROR", s)
}

func checkStatusRange(s string) error {
	lo, hi, isRange := strings.Cut(s, "-")
	if !isRange {
		hi = lo
	}
	a, errA := strconv.Atoi(strings.TrimSpace(lo))
	b, errB := strconv.Atoi(strings.TrimSpace(hi))
	switch {
	case errA != nil || errB != nil:
		return fmt.Errorf("%q is not a status code or range: write \"404\" or \"500-599\"", s)
	case a < 100 || b > 599:
		return fmt.Errorf("%q: status codes are from 100 to 599", s)
	case a > b:
		return fmt.Errorf("%q: the range is reversed, write \"%d-%d\"", s, b, a)
	}
	return nil
}

func isIPOrCIDR(s string) bool {
	if net.ParseIP(s) != nil {
		return true
	}
	_, _, err := net.ParseCIDR(s)
	return err == nil
}

func isHostname(h string) bool {
	if len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

func known(eps map[string]*EntryPoint) string {
	if len(eps) == 0 {
		return " (no entrypoints are defined)"
	}
	return " (defined: " + strings.Join(sortedKeys(eps), ", ") + ")"
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func path(p ...string) []string { return p }

// validator collects positioned errors; messages start with the key path.
type validator struct {
	meta *decode.Meta
	list config.Errors
}

func (v *validator) add(at []string, format string, args ...any) {
	v.list = append(v.list, &config.Error{
		Pos: v.meta.Pos(at...),
		Msg: showPath(at) + ": " + fmt.Sprintf(format, args...),
	})
}

func (v *validator) oneOf(at []string, got string, allowed ...string) {
	if got == "" {
		return
	}
	for _, a := range allowed {
		if strings.EqualFold(got, a) {
			return
		}
	}
	v.add(at, "%q is not one of %s", got, strings.Join(allowed, ", "))
}

func (v *validator) nonNegative(at []string, d *config.Duration) {
	if d != nil && *d < 0 {
		v.add(at, "must not be negative, got %s", d.Std())
	}
}

func (v *validator) errs() error {
	v.list.Sort()
	return v.list.Err()
}

// showPath renders a key path for messages: entryPoints.web.address,
// accessLog.filters.statusCodes[1].
func showPath(p []string) string {
	var b strings.Builder
	for i, s := range p {
		if _, err := strconv.Atoi(s); err == nil && i > 0 && isListKey(p[i-1]) {
			b.WriteString("[" + s + "]")
			continue
		}
		if i > 0 {
			b.WriteByte('.')
		}
		if strings.ContainsAny(s, ". \"") {
			s = strconv.Quote(s)
		}
		b.WriteString(s)
	}
	return b.String()
}

func isListKey(k string) bool {
	switch k {
	case "trustedIPs", "statusCodes", "buckets", "middlewares", "rootCAs", "certificates", "connection":
		return true
	}
	return false
}
