package redirect

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/guan-gateway/guan/config/dynamic"
	"github.com/guan-gateway/guan/middlewares"
)

const xForwardedProto = "X-Forwarded-Proto"

type schemeRedirect struct {
	next      http.Handler
	scheme    string
	port      string // ":8443", or "" for none / the scheme's default
	permanent bool
	logger    *slog.Logger
}

// NewScheme returns the redirectScheme middleware: requests whose scheme or
// port differ from cfg are redirected to the same host and URI with
// cfg.Scheme and cfg.Port (the default ports 80 for http and 443 for https
// are left out of the URL). Requests already there pass to next.
//
// The client's scheme is https on TLS connections and otherwise taken from
// X-Forwarded-Proto ("ws"/"wss" count as http/https), which the entrypoint
// only keeps from trusted proxies.
func NewScheme(env middlewares.Env, cfg dynamic.RedirectScheme, next http.Handler) (http.Handler, error) {
	scheme := strings.ToLower(strings.TrimSpace(cfg.Scheme))
	if scheme == "" {
		return nil, errors.New(`redirectScheme: "scheme" is empty; set the target scheme, usually "https"`)
	}
	if !validScheme(scheme) {
		return nil, fmt.Errorf("redirectScheme: scheme %q is not a URL scheme; use a name such as \"https\"", cfg.Scheme)
	}
	port := ""
	if p := strings.TrimSpace(cfg.Port); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("redirectScheme: port %q is not a port number; use 1-65535 or leave it empty", cfg.Port)
		}
		port = ":" + strconv.Itoa(n)
		if defaultPort(scheme, port) {
			port = ""
		}
	}
	logger := env.Logger
	if logger == nil {
		logger = slog.Default()
	}
	return &schemeRedirect{next: next, scheme: scheme, port: port, permanent: cfg.Permanent, logger: logger}, nil
}

// validScheme checks RFC 3986: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ).
func validScheme(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z':
		case i > 0 && ('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.'):
		default:
			return false
		}
	}
	return s != ""
}

func (s *schemeRedirect) ServeHTTP(rw http.ResponseWriter, req *http.Request) {
	u := requestURL(req)
	if xp := req.Header.Get(xForwardedProto); xp != "" {
		switch {
		case strings.EqualFold(xp, schemeHTTP), strings.EqualFold(xp, "ws"):
			u.scheme = schemeHTTP
		case strings.EqualFold(xp, schemeHTTPS), strings.EqualFold(xp, "wss"):
			u.scheme = schemeHTTPS
		}
	}
	if defaultPort(u.scheme, u.port) {
		u.port = ""
	}
	if u.scheme == s.scheme && u.port == s.port {
		s.next.ServeHTTP(rw, req)
		return
	}
	target := s.scheme + "://" + hostForURL(u.host) + s.port + u.uri
	// Normalise through net/url so the Location header is a valid URL.
	parsed, err := url.Parse(target)
	if err != nil {
		s.logger.Debug("cannot build redirect URL", "url", target, "error", err)
		http.Error(rw, http.StatusText(http.StatusBadRequest), http.StatusBadRequest)
		return
	}
	writeRedirect(rw, req, parsed.String(), s.permanent)
}
