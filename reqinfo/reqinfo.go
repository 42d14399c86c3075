// Package reqinfo carries what the request path learns about a request —
// router, service, upstream status, retries, user — to the access log and
// metrics, which read it after the response is written.
package reqinfo

import (
	"context"
	"crypto/tls"
	"net/http"
	"strings"
	"time"

	"github.com/guan-gateway/guan/tls/tlcp"
)

// Info is filled in as the request passes through the gateway. Each field is
// written by one stage: the entrypoint (EntryPoint, Start), the router table
// (Router), services (Service, ServiceURL, ServiceAddr, Origin*), retry
// (RetryAttempts) and auth middlewares (ClientUsername).
type Info struct {
	EntryPoint     string
	Start          time.Time
	Router         string
	Service        string
	ServiceURL     string
	ServiceAddr    string
	OriginStatus   int
	OriginSize     int64
	OriginDuration time.Duration
	RetryAttempts  int
	ClientUsername string
	// Decision is set by a policy middleware that refused the request or
	// decided it in a degraded way, as "middleware@provider:result"
	// ("limit@file:limited"); the access log's MiddlewareDecision.
	Decision string
	// NoAccessLog and NoMetrics leave the request out of the access log
	// and metrics: set from the entrypoint's observability settings, then
	// the router's when it has its own.
	NoAccessLog, NoMetrics bool
}

// InternalRouter reports whether the request was routed by a router the
// gateway made itself: its provider is "internal" (api@internal,
// ping@internal, prometheus@internal, dashboard@internal, the entrypoint
// redirections web-to-websecure@internal…). The access log and metrics leave
// such requests out unless their addInternals is set. A user router that
// sends requests to an internal service (demo@file → demo@internal) is not
// internal.
func (i *Info) InternalRouter() bool {
	return strings.HasSuffix(i.Router, "@internal")
}

type ctxKey struct{}

// With attaches info to ctx.
func With(ctx context.Context, info *Info) context.Context {
	return context.WithValue(ctx, ctxKey{}, info)
}

// From returns the request's Info, or a throw-away one when none is attached,
// so writers never need a nil check.
func From(ctx context.Context) *Info {
	if i, ok := ctx.Value(ctxKey{}).(*Info); ok {
		return i
	}
	return &Info{}
}

// Lookup returns the request's Info and whether one is attached.
func Lookup(ctx context.Context) (*Info, bool) {
	i, ok := ctx.Value(ctxKey{}).(*Info)
	return i, ok
}

// infoCtx carries an Info in the same allocation as its context, so the
// entrypoint attaches request info at the cost of one allocation.
type infoCtx struct {
	context.Context
	info Info
}

func (c *infoCtx) Value(key any) any {
	if key == (ctxKey{}) {
		return &c.info
	}
	return c.Context.Value(key)
}

// NewContext returns a child of parent carrying a fresh Info.
func NewContext(parent context.Context) (context.Context, *Info) {
	c := &infoCtx{Context: parent}
	return c, &c.info
}

// Ensure returns the request's Info and the request carrying it, attaching
// a fresh Info for entryPoint when none is attached yet (a handler used
// outside an entrypoint, as in tests). Start is set to now when unset.
func Ensure(r *http.Request, entryPoint string) (*http.Request, *Info) {
	if info, ok := Lookup(r.Context()); ok {
		if info.Start.IsZero() {
			info.Start = time.Now()
		}
		return r, info
	}
	ctx, info := NewContext(r.Context())
	info.EntryPoint, info.Start = entryPoint, time.Now()
	return r.WithContext(ctx), info
}

// TLSVersion names a TLS version as Traefik's access log and metrics do:
// "1.0" to "1.3", "TLCP" for GB/T 38636, "unknown" otherwise.
func TLSVersion(v uint16) string {
	switch v {
	case tlcp.VersionTLCP:
		return "TLCP"
	case tls.VersionTLS10:
		return "1.0"
	case tls.VersionTLS11:
		return "1.1"
	case tls.VersionTLS12:
		return "1.2"
	case tls.VersionTLS13:
		return "1.3"
	}
	return "unknown"
}

// TLSCipher names the cipher suite of a connection of version v: IANA names
// for TLS, the standard's names (ECC_SM4_GCM_SM3...) for TLCP.
func TLSCipher(v, suite uint16) string {
	if v == tlcp.VersionTLCP {
		return tlcp.CipherSuiteName(suite)
	}
	return tls.CipherSuiteName(suite)
}
