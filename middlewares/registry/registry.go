// Package registry maps a middleware configuration to its constructor. Every
// middleware kind is listed here explicitly, so an unknown kind can never be
// silently ignored.
package registry

import (
	"fmt"
	"net/http"

	"github.com/guan-gateway/guan/config/dynamic"
	"github.com/guan-gateway/guan/middlewares"
	"github.com/guan-gateway/guan/middlewares/addprefix"
	"github.com/guan-gateway/guan/middlewares/basicauth"
	"github.com/guan-gateway/guan/middlewares/buffering"
	"github.com/guan-gateway/guan/middlewares/circuitbreaker"
	"github.com/guan-gateway/guan/middlewares/compress"
	"github.com/guan-gateway/guan/middlewares/contenttype"
	"github.com/guan-gateway/guan/middlewares/digestauth"
	"github.com/guan-gateway/guan/middlewares/errorpage"
	"github.com/guan-gateway/guan/middlewares/forwardauth"
	"github.com/guan-gateway/guan/middlewares/grpcweb"
	"github.com/guan-gateway/guan/middlewares/headers"
	"github.com/guan-gateway/guan/middlewares/inflightreq"
	"github.com/guan-gateway/guan/middlewares/ipallowlist"
	"github.com/guan-gateway/guan/middlewares/jwt"
	"github.com/guan-gateway/guan/middlewares/opa"
	"github.com/guan-gateway/guan/middlewares/passtlsclientcert"
	"github.com/guan-gateway/guan/middlewares/ratelimit"
	"github.com/guan-gateway/guan/middlewares/redirect"
	"github.com/guan-gateway/guan/middlewares/replacepath"
	"github.com/guan-gateway/guan/middlewares/replacepathregex"
	"github.com/guan-gateway/guan/middlewares/retry"
	"github.com/guan-gateway/guan/middlewares/stripprefix"
	"github.com/guan-gateway/guan/middlewares/stripprefixregex"
	"github.com/guan-gateway/guan/middlewares/waf"
)

// kind pairs a configuration field with its constructor.
type kind struct {
	name string
	set  func(m *dynamic.Middleware) bool
	ctor func(env middlewares.Env, m *dynamic.Middleware, next http.Handler) (http.Handler, error)
}

// of builds a kind from a field getter and a typed constructor.
func of[T any](name string, get func(*dynamic.Middleware) *T, ctor func(middlewares.Env, T, http.Handler) (http.Handler, error)) kind {
	k := kind{name: name, set: func(m *dynamic.Middleware) bool { return get(m) != nil }}
	if ctor != nil {
		k.ctor = func(e middlewares.Env, m *dynamic.Middleware, n http.Handler) (http.Handler, error) {
			return ctor(e, *get(m), n)
		}
	}
	return k
}

var kinds = []kind{
	of("addprefix", func(m *dynamic.Middleware) *dynamic.AddPrefix { return m.AddPrefix }, addprefix.New),
	of("stripprefix", func(m *dynamic.Middleware) *dynamic.StripPrefix { return m.StripPrefix }, stripprefix.New),
	of("stripprefixregex", func(m *dynamic.Middleware) *dynamic.StripPrefixRegex { return m.StripPrefixRegex }, stripprefixregex.New),
	of("replacepath", func(m *dynamic.Middleware) *dynamic.ReplacePath { return m.ReplacePath }, replacepath.New),
	of("replacepathregex", func(m *dynamic.Middleware) *dynamic.ReplacePathRegex { return m.ReplacePathRegex }, replacepathregex.New),
	of[dynamic.Chain]("chain", func(m *dynamic.Middleware) *dynamic.Chain { return m.Chain }, nil),
	of("ipallowlist", func(m *dynamic.Middleware) *dynamic.IPAllowList { return m.IPAllowList }, ipallowlist.New),
	of("ipwhitelist", func(m *dynamic.Middleware) *dynamic.IPWhiteList { return m.IPWhiteList }, ipallowlist.NewWhiteList),
	of("headers", func(m *dynamic.Middleware) *dynamic.Headers { return m.Headers }, headers.New),
	of("errors", func(m *dynamic.Middleware) *dynamic.ErrorPage { return m.Errors }, errorpage.New),
	of("redirectregex", func(m *dynamic.Middleware) *dynamic.RedirectRegex { return m.RedirectRegex }, redirect.NewRegex),
	of("redirectscheme", func(m *dynamic.Middleware) *dynamic.RedirectScheme { return m.RedirectScheme }, redirect.NewScheme),
	of("basicauth", func(m *dynamic.Middleware) *dynamic.BasicAuth { return m.BasicAuth }, basicauth.New),
	of("circuitbreaker", func(m *dynamic.Middleware) *dynamic.CircuitBreaker { return m.CircuitBreaker }, circuitbreaker.New),
	of("forwardauth", func(m *dynamic.Middleware) *dynamic.ForwardAuth { return m.ForwardAuth }, forwardauth.New),
	of("digestauth", func(m *dynamic.Middleware) *dynamic.DigestAuth { return m.DigestAuth }, digestauth.New),
	of("inflightreq", func(m *dynamic.Middleware) *dynamic.InFlightReq { return m.InFlightReq }, inflightreq.New),
	of("jwt", func(m *dynamic.Middleware) *dynamic.JWT { return m.JWT }, jwt.New),
	of("opa", func(m *dynamic.Middleware) *dynamic.OPA { return m.OPA }, opa.New),
	of("waf", func(m *dynamic.Middleware) *dynamic.WAF { return m.WAF }, waf.New),
	of("ratelimit", func(m *dynamic.Middleware) *dynamic.RateLimit { return m.RateLimit }, ratelimit.New),
	of("buffering", func(m *dynamic.Middleware) *dynamic.Buffering { return m.Buffering }, buffering.New),
	of("compress", func(m *dynamic.Middleware) *dynamic.Compress { return m.Compress }, compress.New),
	of("retry", func(m *dynamic.Middleware) *dynamic.Retry { return m.Retry }, retry.New),
	of("passtlsclientcert", func(m *dynamic.Middleware) *dynamic.PassTLSClientCert { return m.PassTLSClientCert }, passtlsclientcert.New),
	of("contenttype", func(m *dynamic.Middleware) *dynamic.ContentType { return m.ContentType }, contenttype.New),
	of("grpcweb", func(m *dynamic.Middleware) *dynamic.GrpcWeb { return m.GrpcWeb }, grpcweb.New),
}

// Count returns how many middleware kinds m sets; a valid middleware sets one.
func Count(m *dynamic.Middleware) int {
	n := 0
	for _, k := range kinds {
		if k.set(m) {
			n++
		}
	}
	return n
}

// Kind returns the lower-case kind name of m ("addprefix"), or "" if unset.
func Kind(m *dynamic.Middleware) string {
	for _, k := range kinds {
		if k.set(m) {
			return k.name
		}
	}
	return ""
}

// New checks m and returns its constructor. Chains are assembled by the
// caller, which can see the other middlewares.
func New(env middlewares.Env, m *dynamic.Middleware) (middlewares.Constructor, error) {
	switch n := Count(m); n {
	case 0:
		return nil, fmt.Errorf("no middleware type is set: add one, e.g. stripPrefix or headers")
	case 1:
	default:
		return nil, fmt.Errorf("exactly one middleware type must be set, found %d", n)
	}
	for _, k := range kinds {
		if !k.set(m) {
			continue
		}
		if k.ctor == nil {
			return nil, fmt.Errorf("%s middlewares are assembled by the configuration builder", k.name)
		}
		ctor := k.ctor
		// Construct once now so configuration errors surface at build time,
		// not when the first router is wired.
		if _, err := ctor(env, m, http.NotFoundHandler()); err != nil {
			return nil, err
		}
		return func(next http.Handler) (http.Handler, error) { return ctor(env, m, next) }, nil
	}
	return nil, nil
}
