// Package loadbalancer spreads requests over the servers of one service:
// weighted round robin or power-of-two-choices, an optional sticky cookie,
// and servers taken out of rotation while their health state says so.
package loadbalancer

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/guan-gateway/guan/reqinfo"
	"github.com/guan-gateway/guan/services/health"
	"github.com/guan-gateway/guan/services/p2c"
	"github.com/guan-gateway/guan/services/proxy"
	"github.com/guan-gateway/guan/services/sticky"
	"github.com/guan-gateway/guan/services/wrr"
)

// Server is one upstream and the handler that forwards to it.
type Server struct {
	URL     string
	Weight  int // 0: no traffic
	Handler http.Handler
}

// Options configure a balancer.
type Options struct {
	// Name is the qualified service name recorded for logs and metrics.
	Name    string
	Servers []Server
	// State holds the servers' health in the same order as Servers.
	State *health.Servers
	// Strategy is "wrr" (default) or "p2c".
	Strategy string
	// Sticky pins clients to servers; nil disables it.
	Sticky *sticky.Cookie
}

// Balancer is the HTTP handler of a loadBalancer service.
type Balancer struct {
	name    string
	servers []Server
	state   *health.Servers
	sched   *wrr.Schedule // nil with p2c
	sticky  *sticky.Cookie
}

// New returns a balancer.
func New(o Options) (*Balancer, error) {
	if len(o.Servers) == 0 {
		return nil, fmt.Errorf("no servers: add at least one loadBalancer.servers entry")
	}
	if o.State == nil || o.State.Len() != len(o.Servers) {
		return nil, fmt.Errorf("health state does not match the servers")
	}
	b := &Balancer{name: o.Name, servers: o.Servers, state: o.State, sticky: o.Sticky}
	switch strings.ToLower(o.Strategy) {
	case "", "wrr":
		w := make([]int, len(o.Servers))
		for i, s := range o.Servers {
			w[i] = s.Weight
		}
		b.sched = wrr.New(w)
	case "p2c":
	default:
		return nil, fmt.Errorf("strategy %q: use \"wrr\" or \"p2c\"", o.Strategy)
	}
	return b, nil
}

// Len, Up and InFlight let p2c and wrr see the servers.
func (b *Balancer) Len() int { return len(b.servers) }

// Up reports whether server i may take requests.
func (b *Balancer) Up(i int) bool { return b.servers[i].Weight > 0 && b.state.Up(i) }

// InFlight is the number of requests server i is serving.
func (b *Balancer) InFlight(i int) int64 { return b.state.InFlight(i).Load() }

// Healthy implements health.Reporter: some server with weight is up.
func (b *Balancer) Healthy() bool {
	for i := range b.servers {
		if b.Up(i) {
			return true
		}
	}
	return false
}

// Changed implements health.Watcher.
func (b *Balancer) Changed() <-chan struct{} { return b.state.Changed() }

// ServerStatus returns url -> "UP"/"DOWN".
func (b *Balancer) ServerStatus() map[string]string { return b.state.Status() }

func (b *Balancer) next() int {
	if b.sched != nil {
		return b.sched.Next(b)
	}
	return p2c.Pick(b)
}

// ServeHTTP picks a server and forwards to it.
func (b *Balancer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if info, ok := reqinfo.Lookup(r.Context()); ok {
		info.Service = b.name
	}
	i := -1
	if b.sticky != nil {
		if j, ok := b.sticky.Lookup(r); ok && b.Up(j) {
			i = j
		}
	}
	if i < 0 {
		if i = b.next(); i < 0 {
			if info, ok := reqinfo.Lookup(r.Context()); ok {
				info.OriginStatus = http.StatusServiceUnavailable
			}
			proxy.WriteError(w, http.StatusServiceUnavailable)
			return
		}
		if b.sticky != nil {
			b.sticky.Set(w, i) // unknown, down or missing cookie: (re)pin
		}
	}
	if b.sched == nil {
		n := b.state.InFlight(i)
		n.Add(1)
		defer n.Add(-1)
	}
	b.servers[i].Handler.ServeHTTP(w, r)
}
