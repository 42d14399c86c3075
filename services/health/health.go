// Package health holds what a load balancer knows about its servers' health
// — active check results, passive ejections, requests in flight — in objects
// that outlive configuration reloads, and the small interface through which
// services report their health to the services above them.
//
// The state is kept per server (Server) so that it survives a change of the
// service's server list: a reload that adds a server or changes weights keeps
// the verdict of every server whose URL and health-check settings did not
// change. The servers of one service share a Group, which carries the
// service's change notifications and metrics hook; Servers is one
// configuration's ordered view of them.
package health

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/guan-gateway/guan/config/dynamic"
)

// Reporter is implemented by every HTTP service handler. A parent with
// health-check propagation enabled (weighted, mirroring, failover with
// `healthCheck: {}`) skips a child whose Healthy is false. Healthy is read on
// the request path, so it must be cheap; implementations read atomics.
type Reporter interface {
	Healthy() bool
}

// Watcher is implemented by services whose health changes over time. The
// channel returned by Changed is closed at the next change; callers then call
// Changed again. Nothing registers, so an old configuration's services hold
// no reference that outlives them.
type Watcher interface {
	Changed() <-chan struct{}
}

// Passive health-check defaults, as in Traefik.
const (
	DefaultFailureWindow     = 10 * time.Second
	DefaultMaxFailedAttempts = 1
)

// Group is the lasting part shared by the servers of one load-balancer
// service: change notifications and the metrics hook.
type Group struct {
	mu      sync.Mutex
	changed chan struct{}
	closed  bool
	hook    func(url string, up bool)
}

// NewGroup returns an empty group.
func NewGroup() *Group { return &Group{changed: make(chan struct{})} }

// Changed implements Watcher: the channel is closed at the next state change
// of any server of the group.
func (g *Group) Changed() <-chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.changed
}

// Close stops notifications.
func (g *Group) Close() error {
	g.mu.Lock()
	g.closed = true
	g.mu.Unlock()
	return nil
}

// Server is the lasting health state of one server: its active check
// result, its passive ejection and the requests it is serving. New servers
// start up.
type Server struct {
	g        *Group
	url      string
	active   atomic.Bool
	inflight atomic.Int64
	ttfb     ttfbWindow
	passive  *passive // nil without a passive health check
	closed   bool     // guarded by g.mu
}

// TTFBSamples is how many of a server's latest response times MeanTTFB
// averages (the leasttime strategy), as in Traefik.
const TTFBSamples = 100

// ttfbWindow is a ring of the latest response times in whole milliseconds,
// updated without a lock: each sample swaps one slot and adds the
// difference to the running sum, so the sum always matches the slots.
type ttfbWindow struct {
	n    atomic.Uint64 // samples recorded so far
	sum  atomic.Int64
	slot [TTFBSamples]atomic.Int64
}

// ObserveTTFB records the time the server took to send its response
// headers. Like Traefik it counts whole milliseconds.
func (s *Server) ObserveTTFB(d time.Duration) {
	ms := d.Milliseconds()
	i := s.ttfb.n.Add(1) - 1
	old := s.ttfb.slot[i%TTFBSamples].Swap(ms)
	s.ttfb.sum.Add(ms - old)
}

// MeanTTFB is the mean of the latest TTFBSamples response times in
// milliseconds; 0 before the first.
func (s *Server) MeanTTFB() float64 {
	n := min(s.ttfb.n.Load(), TTFBSamples)
	if n == 0 {
		return 0
	}
	return float64(s.ttfb.sum.Load()) / float64(n)
}

type passive struct {
	window time.Duration
	max    int
	base   time.Time
	until  atomic.Int64 // ejected until, nanoseconds since base
	mu     sync.Mutex
	start  time.Duration // start of the failure window
	count  int
	timers map[*time.Timer]struct{}
}

// NewServer returns the state of a server of g, up; pc configures passive
// health checking (nil: none).
func (g *Group) NewServer(url string, pc *dynamic.PassiveServerHealthCheck) *Server {
	s := &Server{g: g, url: url}
	s.active.Store(true)
	if pc != nil {
		p := &passive{
			window: DefaultFailureWindow,
			max:    DefaultMaxFailedAttempts,
			base:   time.Now(),
			timers: map[*time.Timer]struct{}{},
		}
		if pc.FailureWindow != nil && pc.FailureWindow.Std() > 0 {
			p.window = pc.FailureWindow.Std()
		}
		if pc.MaxFailedAttempts > 0 {
			p.max = pc.MaxFailedAttempts
		}
		s.passive = p
	}
	return s
}

// URL returns the server's URL.
func (s *Server) URL() string { return s.url }

// Up reports whether the server passes its active check and is not ejected.
func (s *Server) Up() bool {
	if !s.active.Load() {
		return false
	}
	p := s.passive
	return p == nil || time.Since(p.base) >= time.Duration(p.until.Load())
}

// SetActive records an active check result and reports whether the server's
// state changed.
func (s *Server) SetActive(up bool) bool {
	before := s.Up()
	s.active.Store(up)
	if after := s.Up(); after != before {
		s.notify(after)
		return true
	}
	return false
}

// Failure records a failed attempt to reach the server (connection refused,
// reset, timeout). Enough of them within the failure window eject the server
// for one window.
func (s *Server) Failure() {
	p := s.passive
	if p == nil {
		return
	}
	now := time.Since(p.base)
	p.mu.Lock()
	if now < time.Duration(p.until.Load()) { // already ejected
		p.mu.Unlock()
		return
	}
	if now-p.start > p.window {
		p.start, p.count = now, 0
	}
	p.count++
	if p.count < p.max {
		p.mu.Unlock()
		return
	}
	p.count = 0
	p.until.Store(int64(now + p.window))
	wasActive := s.active.Load()
	var t *time.Timer
	t = time.AfterFunc(p.window, func() {
		p.mu.Lock()
		delete(p.timers, t)
		p.mu.Unlock()
		if s.Up() {
			s.notify(true)
		}
	})
	p.timers[t] = struct{}{}
	p.mu.Unlock()
	if wasActive {
		s.notify(false)
	}
}

// notify wakes the group's watchers and tells the hook. It holds the group
// lock while calling the hook, so no hook call of a closed server or group
// happens after Close returns.
func (s *Server) notify(up bool) {
	g := s.g
	g.mu.Lock()
	defer g.mu.Unlock()
	if s.closed || g.closed {
		return
	}
	close(g.changed)
	g.changed = make(chan struct{})
	if g.hook != nil {
		g.hook(s.url, up)
	}
}

// Close stops the server's notifications and pending passive-recovery
// timers.
func (s *Server) Close() error {
	s.g.mu.Lock()
	s.closed = true
	s.g.mu.Unlock()
	if p := s.passive; p != nil {
		p.mu.Lock()
		for t := range p.timers {
			t.Stop()
		}
		clear(p.timers)
		p.mu.Unlock()
	}
	return nil
}

// Servers is one configuration's view of a load balancer's servers, in
// configuration order. The same Server may appear more than once (the same
// URL listed twice).
type Servers struct {
	g     *Group
	list  []*Server
	owned bool // made by NewServers: Close closes the group and servers
}

// NewServers returns the state of servers with the given URLs, all up, in a
// group of their own.
func NewServers(urls []string, pc *dynamic.PassiveServerHealthCheck) *Servers {
	g := NewGroup()
	list := make([]*Server, len(urls))
	for i, u := range urls {
		list[i] = g.NewServer(u, pc)
	}
	return &Servers{g: g, list: list, owned: true}
}

// View returns the servers of list, all of g, as one configuration's view.
// The view does not own them: closing them is up to whoever made them.
func (g *Group) View(list []*Server) *Servers { return &Servers{g: g, list: list} }

// Len is the number of servers.
func (v *Servers) Len() int { return len(v.list) }

// URL returns server i's URL.
func (v *Servers) URL(i int) string { return v.list[i].url }

// Up reports whether server i passes its active check and is not ejected.
func (v *Servers) Up(i int) bool { return v.list[i].Up() }

// InFlight is the counter of requests server i is serving.
func (v *Servers) InFlight(i int) *atomic.Int64 { return &v.list[i].inflight }

// MeanTTFB is server i's mean response time; see Server.MeanTTFB.
func (v *Servers) MeanTTFB(i int) float64 { return v.list[i].MeanTTFB() }

// ObserveTTFB records a response time of server i; see Server.ObserveTTFB.
func (v *Servers) ObserveTTFB(i int, d time.Duration) { v.list[i].ObserveTTFB(d) }

// SetActive records an active check result for server i and reports whether
// the server's state changed.
func (v *Servers) SetActive(i int, up bool) bool { return v.list[i].SetActive(up) }

// Failure records a failed attempt to reach server i; see Server.Failure.
func (v *Servers) Failure(i int) { v.list[i].Failure() }

// SetHook sets the function told about every server state change of the
// group (metrics) and tells it the current state of the view's servers. The
// newest configuration's hook wins. fn is called with the group locked: it
// must not call back into the group.
func (v *Servers) SetHook(fn func(url string, up bool)) {
	g := v.g
	g.mu.Lock()
	defer g.mu.Unlock()
	g.hook = fn
	if fn == nil {
		return
	}
	for _, s := range v.list {
		fn(s.url, s.Up())
	}
}

// Healthy reports whether any server is up.
func (v *Servers) Healthy() bool {
	for _, s := range v.list {
		if s.Up() {
			return true
		}
	}
	return false
}

// Status returns url -> "UP" or "DOWN".
func (v *Servers) Status() map[string]string {
	m := make(map[string]string, len(v.list))
	for _, s := range v.list {
		if s.Up() {
			m[s.url] = "UP"
		} else if _, seen := m[s.url]; !seen {
			m[s.url] = "DOWN"
		}
	}
	return m
}

// Changed implements Watcher.
func (v *Servers) Changed() <-chan struct{} { return v.g.Changed() }

// Close stops pending passive-recovery timers of servers made by
// NewServers; it does nothing for a View.
func (v *Servers) Close() error {
	if !v.owned {
		return nil
	}
	for _, s := range v.list {
		s.Close()
	}
	return v.g.Close()
}
