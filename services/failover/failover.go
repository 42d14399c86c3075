// Package failover sends requests to a main service while it is healthy and
// to a fallback service while it is not.
package failover

import (
	"net/http"

	"github.com/guan-gateway/guan/reqinfo"
	"github.com/guan-gateway/guan/services/health"
	"github.com/guan-gateway/guan/services/proxy"
)

// Failover is the handler of a failover service.
type Failover struct {
	main, fallback     http.Handler
	mainHC, fallbackHC health.Reporter // nil: always healthy
	propagate          bool
}

// New returns a failover handler. Main's health decides; a main service
// without health information is always used. With propagate (the
// service's `healthCheck: {}`), Healthy reports whether either side is.
func New(main, fallback http.Handler, propagate bool) *Failover {
	f := &Failover{main: main, fallback: fallback, propagate: propagate}
	f.mainHC, _ = main.(health.Reporter)
	f.fallbackHC, _ = fallback.(health.Reporter)
	return f
}

func healthy(r health.Reporter) bool { return r == nil || r.Healthy() }

// Healthy implements health.Reporter.
func (f *Failover) Healthy() bool {
	return !f.propagate || healthy(f.mainHC) || healthy(f.fallbackHC)
}

// ServeHTTP routes to main or fallback.
func (f *Failover) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case healthy(f.mainHC):
		f.main.ServeHTTP(w, r)
	case healthy(f.fallbackHC):
		f.fallback.ServeHTTP(w, r)
	default:
		if info, ok := reqinfo.Lookup(r.Context()); ok {
			info.OriginStatus = http.StatusServiceUnavailable
		}
		proxy.WriteError(w, http.StatusServiceUnavailable)
	}
}
