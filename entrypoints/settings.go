package entrypoints

import (
	"fmt"
	"net"
	"net/textproto"
	"strings"
	"time"

	"github.com/guan-gateway/guan/config"
	"github.com/guan-gateway/guan/config/static"
)

// Defaults used when a static setting is absent (as in Traefik).
const (
	DefaultReadTimeout          = 60 * time.Second
	DefaultIdleTimeout          = 180 * time.Second
	DefaultGraceTimeout         = 10 * time.Second
	DefaultMaxHeaderBytes       = 1 << 20
	DefaultMaxConcurrentStreams = 250

	// fallbackPeekTimeout bounds reading the first bytes when readTimeout is 0.
	fallbackPeekTimeout = 10 * time.Second
)

// settings are an entrypoint's static settings with defaults resolved.
type settings struct {
	address                                string
	readTimeout, writeTimeout, idleTimeout time.Duration
	graceTimeout, acceptGrace              time.Duration
	maxHeaderBytes                         int
	maxConcurrentStreams                   int
	keepAliveMaxRequests                   int64
	keepAliveMaxTime                       time.Duration
	insecureForwarded                      bool
	trustedIPs                             []string
	keepConn                               map[string]bool // forwardedHeaders.connection, canonical
	encodeSemicolons                       bool            // http.encodeQuerySemicolons
	sanitizePath                           bool
	deniedEncoded                          encodedChars // http.encodedCharacters switches set to false
	noAccessLog, noMetrics                 bool         // observability.accessLogs/metrics = false
	reusePort                              bool
	quic                                   quicSettings
}

// quicSettings are the entrypoint's HTTP/3 and MQTT-over-QUIC settings.
type quicSettings struct {
	http3, mqtt      bool // what the UDP side serves (one of them at most)
	advertisedPort   int  // http3.advertisedPort; 0: the entrypoint's port
	allow0RTT        bool
	maxStreams       int64
	idleTimeout      time.Duration
	handshakeTimeout time.Duration
}

// QUIC defaults (entryPoints.<name>.quic).
const (
	DefaultQUICMaxStreams       = 100
	DefaultQUICIdleTimeout      = 30 * time.Second
	DefaultQUICMQTTIdleTimeout  = 5 * time.Minute // above 1.5× the keep-alive of common MQTT clients
	DefaultQUICHandshakeTimeout = 10 * time.Second
)

func dur(d *config.Duration, def time.Duration) time.Duration {
	if d == nil {
		return def
	}
	return d.Std()
}

func resolve(name string, ep *static.EntryPoint) (settings, error) {
	if ep == nil {
		ep = &static.EntryPoint{}
	}
	s := settings{
		readTimeout:          DefaultReadTimeout,
		idleTimeout:          DefaultIdleTimeout,
		graceTimeout:         DefaultGraceTimeout,
		maxHeaderBytes:       DefaultMaxHeaderBytes,
		maxConcurrentStreams: DefaultMaxConcurrentStreams,
		sanitizePath:         true,
	}
	addr, err := parseAddress(ep.Address)
	if err != nil {
		return s, fmt.Errorf("entryPoints.%s.address: %w", name, err)
	}
	s.address = addr
	s.reusePort = ep.ReusePort
	if t := ep.Transport; t != nil {
		if rt := t.RespondingTimeouts; rt != nil {
			s.readTimeout = dur(rt.ReadTimeout, s.readTimeout)
			s.writeTimeout = dur(rt.WriteTimeout, 0)
			s.idleTimeout = dur(rt.IdleTimeout, s.idleTimeout)
		}
		if lc := t.LifeCycle; lc != nil {
			s.graceTimeout = dur(lc.GraceTimeOut, s.graceTimeout)
			s.acceptGrace = dur(lc.RequestAcceptGraceTimeout, 0)
		}
		if t.KeepAliveMaxRequests < 0 {
			return s, fmt.Errorf("entryPoints.%s.transport.keepAliveMaxRequests: %d is negative: use 0 for no limit", name, t.KeepAliveMaxRequests)
		}
		s.keepAliveMaxRequests = int64(t.KeepAliveMaxRequests)
		s.keepAliveMaxTime = dur(t.KeepAliveMaxTime, 0)
	}
	for _, d := range []struct {
		key string
		v   time.Duration
	}{{"respondingTimeouts.readTimeout", s.readTimeout}, {"respondingTimeouts.writeTimeout", s.writeTimeout}, {"respondingTimeouts.idleTimeout", s.idleTimeout}, {"lifeCycle.graceTimeOut", s.graceTimeout}, {"lifeCycle.requestAcceptGraceTimeout", s.acceptGrace}, {"keepAliveMaxTime", s.keepAliveMaxTime}} {
		if d.v < 0 {
			return s, fmt.Errorf("entryPoints.%s.transport.%s: %s is negative: use 0 to disable", name, d.key, d.v)
		}
	}
	if h := ep.HTTP; h != nil && h.MaxHeaderBytes != 0 {
		if h.MaxHeaderBytes < 0 {
			return s, fmt.Errorf("entryPoints.%s.http.maxHeaderBytes: %d is negative", name, h.MaxHeaderBytes)
		}
		s.maxHeaderBytes = h.MaxHeaderBytes
	}
	s.noAccessLog, s.noMetrics = ep.Observability.Quiet()
	if h := ep.HTTP; h != nil && h.SanitizePath != nil {
		s.sanitizePath = *h.SanitizePath
	}
	if h := ep.HTTP; h != nil {
		s.deniedEncoded = deniedEncodedChars(h.EncodedCharacters)
		s.encodeSemicolons = h.EncodeQuerySemicolons
	}
	if h2 := ep.HTTP2; h2 != nil && h2.MaxConcurrentStreams != 0 {
		if h2.MaxConcurrentStreams < 0 {
			return s, fmt.Errorf("entryPoints.%s.http2.maxConcurrentStreams: %d is negative", name, h2.MaxConcurrentStreams)
		}
		s.maxConcurrentStreams = h2.MaxConcurrentStreams
	}
	if err := resolveQUIC(name, ep, &s.quic); err != nil {
		return s, err
	}
	if fh := ep.ForwardedHeaders; fh != nil {
		s.insecureForwarded = fh.Insecure
		s.trustedIPs = fh.TrustedIPs
		for _, name := range fh.Connection {
			if s.keepConn == nil {
				s.keepConn = make(map[string]bool, len(fh.Connection))
			}
			s.keepConn[textproto.CanonicalMIMEHeaderKey(strings.TrimSpace(name))] = true
		}
	}
	return s, nil
}

func resolveQUIC(name string, ep *static.EntryPoint, q *quicSettings) error {
	q.http3 = ep.HTTP3 != nil
	q.mqtt = ep.MQTT != nil && ep.MQTT.QUIC
	if q.http3 && q.mqtt {
		return fmt.Errorf("entryPoints.%s: http3 and mqtt.quic together: an entrypoint with mqtt routers speaks only MQTT; give HTTP/3 its own entrypoint", name)
	}
	if q.http3 {
		q.advertisedPort = ep.HTTP3.AdvertisedPort
		q.allow0RTT = ep.HTTP3.Allow0RTT
	}
	q.maxStreams = DefaultQUICMaxStreams
	q.idleTimeout = DefaultQUICIdleTimeout
	if q.mqtt {
		q.maxStreams = 1 // the session's stream
		q.idleTimeout = DefaultQUICMQTTIdleTimeout
	}
	q.handshakeTimeout = DefaultQUICHandshakeTimeout
	if c := ep.QUIC; c != nil {
		if c.MaxIncomingStreams < 0 {
			return fmt.Errorf("entryPoints.%s.quic.maxIncomingStreams: %d is negative", name, c.MaxIncomingStreams)
		}
		if c.MaxIncomingStreams > 0 && !q.mqtt {
			q.maxStreams = c.MaxIncomingStreams
		}
		q.idleTimeout = dur(c.MaxIdleTimeout, q.idleTimeout)
		q.handshakeTimeout = dur(c.HandshakeTimeout, q.handshakeTimeout)
		if q.idleTimeout <= 0 || q.handshakeTimeout <= 0 {
			return fmt.Errorf("entryPoints.%s.quic: maxIdleTimeout and handshakeTimeout must be positive", name)
		}
	}
	return nil
}

// parseAddress accepts ":80", "127.0.0.1:8080", "[::1]:443" and a "/tcp"
// suffix; UDP entrypoints are not served by this package.
func parseAddress(a string) (string, error) {
	if a == "" {
		return "", fmt.Errorf("empty: set an address such as \":8000\"")
	}
	host, proto, hasProto := strings.Cut(a, "/")
	if hasProto && !strings.EqualFold(proto, "tcp") {
		return "", fmt.Errorf("%q: only TCP entrypoints are served here (use \"%s\" or \"%s/tcp\")", a, host, host)
	}
	if _, _, err := net.SplitHostPort(host); err != nil {
		return "", fmt.Errorf("%q: %w: use host:port, for example \":8000\"", a, err)
	}
	return host, nil
}

// peekTimeout bounds reading the first bytes of a connection.
func (s *settings) peekTimeout() time.Duration {
	if s.readTimeout > 0 {
		return s.readTimeout
	}
	return fallbackPeekTimeout
}
