// Package weighted splits traffic over child services by weight, optionally
// pinning clients with a cookie, and — when health-check propagation is on —
// skipping children that report themselves unhealthy.
package weighted

import (
	"errors"
	"net/http"

	"github.com/guan-gateway/guan/reqinfo"
	"github.com/guan-gateway/guan/services/health"
	"github.com/guan-gateway/guan/services/proxy"
	"github.com/guan-gateway/guan/services/sticky"
	"github.com/guan-gateway/guan/services/wrr"
)

// Child is one weighted child service.
type Child struct {
	Name    string
	Weight  int // 0: no traffic
	Handler http.Handler
}

// Options configure a weighted service.
type Options struct {
	Children []Child
	Sticky   *sticky.Cookie // nil: no stickiness
	// Propagate skips unhealthy children and makes Healthy reflect them
	// (the service's `healthCheck: {}`).
	Propagate bool
}

// Weighted is the handler of a weighted service.
type Weighted struct {
	children  []Child
	reporters []health.Reporter // nil entries never turn unhealthy
	sched     *wrr.Schedule
	sticky    *sticky.Cookie
	propagate bool
}

// New returns a weighted service handler.
func New(o Options) (*Weighted, error) {
	if len(o.Children) == 0 {
		return nil, errors.New("no services: add at least one weighted.services entry")
	}
	w := &Weighted{children: o.Children, sticky: o.Sticky, propagate: o.Propagate}
	weights := make([]int, len(o.Children))
	w.reporters = make([]health.Reporter, len(o.Children))
	for i, c := range o.Children {
		weights[i] = c.Weight
		w.reporters[i], _ = c.Handler.(health.Reporter)
	}
	w.sched = wrr.New(weights)
	return w, nil
}

// Up reports whether child i may take requests.
func (w *Weighted) Up(i int) bool {
	if w.children[i].Weight <= 0 {
		return false
	}
	if !w.propagate || w.reporters[i] == nil {
		return true
	}
	return w.reporters[i].Healthy()
}

// Healthy implements health.Reporter. Without propagation a weighted
// service always reports healthy, as in Traefik.
func (w *Weighted) Healthy() bool {
	if !w.propagate {
		return true
	}
	for i := range w.children {
		if w.Up(i) {
			return true
		}
	}
	return false
}

// ServeHTTP picks a child and hands the request to it.
func (w *Weighted) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	i := -1
	if w.sticky != nil {
		if j, ok := w.sticky.Lookup(r); ok && w.Up(j) {
			i = j
		}
	}
	if i < 0 {
		if i = w.sched.Next(w); i < 0 {
			if info, ok := reqinfo.Lookup(r.Context()); ok {
				info.OriginStatus = http.StatusServiceUnavailable
			}
			proxy.WriteError(rw, http.StatusServiceUnavailable)
			return
		}
		if w.sticky != nil {
			w.sticky.Set(rw, i)
		}
	}
	w.children[i].Handler.ServeHTTP(rw, r)
}
