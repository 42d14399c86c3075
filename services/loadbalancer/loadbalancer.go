// Package loadbalancer spreads requests over the servers of one service:
// weighted round robin, power-of-two-choices, highest random weight per
// client IP or least time, an optional sticky cookie, and servers taken out
// of rotation while their health state says so.
package loadbalancer

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/guan-gateway/guan/reqinfo"
	"github.com/guan-gateway/guan/services/health"
	"github.com/guan-gateway/guan/services/hrw"
	"github.com/guan-gateway/guan/services/leasttime"
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
	// Strategy is "wrr" (default), "p2c", "hrw" or "leasttime".
	Strategy string
	// Sticky pins clients to servers; nil disables it.
	Sticky *sticky.Cookie
}

// Balancer is the HTTP handler of a loadBalancer service.
type Balancer struct {
	name    string
	servers []Server
	state   *health.Servers
	sched   *wrr.Schedule // wrr's order, leasttime's tie-breaker; nil otherwise
	pick    strategy
	sticky  *sticky.Cookie
}

type strategy uint8

const (
	byWRR strategy = iota
	byP2C
	byHRW
	byLeastTime
)

// Strategies lists the accepted values of Options.Strategy.
const Strategies = `"wrr", "p2c", "hrw" or "leasttime"`

// UsesTTFB reports whether strategy (an Options.Strategy value) decides by
// response times, which the servers' proxies must then record
// (health.Server.ObserveTTFB).
func UsesTTFB(strategy string) bool { return strings.EqualFold(strategy, "leasttime") }

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
		b.pick = byWRR
	case "p2c":
		b.pick = byP2C
	case "hrw":
		b.pick = byHRW
	case "leasttime":
		b.pick = byLeastTime
	default:
		return nil, fmt.Errorf("strategy %q: use %s", o.Strategy, Strategies)
	}
	if b.pick == byWRR || b.pick == byLeastTime {
		w := make([]int, len(o.Servers))
		for i, s := range o.Servers {
			w[i] = s.Weight
		}
		b.sched = wrr.New(w)
	}
	return b, nil
}

// Len, Up, InFlight, Key, Weight and MeanTTFB let the strategies see the
// servers.
func (b *Balancer) Len() int { return len(b.servers) }

// Up reports whether server i may take requests.
func (b *Balancer) Up(i int) bool { return b.servers[i].Weight > 0 && b.state.Up(i) }

// InFlight is the number of requests server i is serving.
func (b *Balancer) InFlight(i int) int64 { return b.state.InFlight(i).Load() }

// Key is server i's URL, which hrw hashes with the client IP.
func (b *Balancer) Key(i int) string { return b.servers[i].URL }

// Weight is server i's weight.
func (b *Balancer) Weight(i int) float64 { return float64(b.servers[i].Weight) }

// MeanTTFB is server i's mean time to first byte in milliseconds.
func (b *Balancer) MeanTTFB(i int) float64 { return b.state.MeanTTFB(i) }

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

func (b *Balancer) next(r *http.Request) int {
	switch b.pick {
	case byP2C:
		return p2c.Pick(b)
	case byHRW:
		return hrw.Choose(b, hrw.ClientIP(r))
	case byLeastTime:
		return leasttime.Pick(b, b.sched)
	}
	return b.sched.Next(b)
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
		if i = b.next(r); i < 0 {
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
	if b.pick == byP2C || b.pick == byLeastTime {
		n := b.state.InFlight(i)
		n.Add(1)
		defer n.Add(-1)
	}
	b.servers[i].Handler.ServeHTTP(w, r)
}
