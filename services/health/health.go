// Package health holds what a load balancer knows about its servers' health
// — active check results, passive ejections, requests in flight — in an
// object that outlives configuration reloads, and the small interface
// through which services report their health to the services above them.
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

// Servers is the lasting state of one load balancer's servers.
type Servers struct {
	urls     []string
	active   []atomic.Bool
	inflight []atomic.Int64
	passive  *passive // nil without a passive health check
	base     time.Time

	mu      sync.Mutex
	changed chan struct{}
	closed  bool
	hook    atomic.Pointer[func(url string, up bool)]
}

type passive struct {
	window time.Duration
	max    int
	until  []atomic.Int64 // ejected until, nanoseconds since Servers.base
	mu     sync.Mutex
	start  []time.Duration // start of each server's failure window
	count  []int
	timers map[*time.Timer]struct{}
}

// Passive health-check defaults, as in Traefik.
const (
	DefaultFailureWindow     = 10 * time.Second
	DefaultMaxFailedAttempts = 1
)

// NewServers returns the state of servers with the given URLs, all up.
func NewServers(urls []string, pc *dynamic.PassiveServerHealthCheck) *Servers {
	s := &Servers{
		urls:     urls,
		active:   make([]atomic.Bool, len(urls)),
		inflight: make([]atomic.Int64, len(urls)),
		base:     time.Now(),
		changed:  make(chan struct{}),
	}
	for i := range s.active {
		s.active[i].Store(true)
	}
	if pc != nil {
		p := &passive{
			window: DefaultFailureWindow,
			max:    DefaultMaxFailedAttempts,
			until:  make([]atomic.Int64, len(urls)),
			start:  make([]time.Duration, len(urls)),
			count:  make([]int, len(urls)),
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

// Len is the number of servers.
func (s *Servers) Len() int { return len(s.urls) }

// URL returns server i's URL.
func (s *Servers) URL(i int) string { return s.urls[i] }

// Up reports whether server i passes its active check and is not ejected.
func (s *Servers) Up(i int) bool {
	if !s.active[i].Load() {
		return false
	}
	return s.passive == nil || time.Since(s.base) >= time.Duration(s.passive.until[i].Load())
}

// InFlight is the counter of requests server i is serving.
func (s *Servers) InFlight(i int) *atomic.Int64 { return &s.inflight[i] }

// SetHook sets the function told about every server state change (metrics).
// The newest configuration's hook wins.
func (s *Servers) SetHook(fn func(url string, up bool)) {
	if fn == nil {
		s.hook.Store(nil)
		return
	}
	s.hook.Store(&fn)
	for i := range s.urls {
		fn(s.urls[i], s.Up(i))
	}
}

// SetActive records an active check result for server i and reports whether
// the server's state changed.
func (s *Servers) SetActive(i int, up bool) bool {
	before := s.Up(i)
	s.active[i].Store(up)
	if after := s.Up(i); after != before {
		s.notify(i, after)
		return true
	}
	return false
}

// Failure records a failed attempt to reach server i (connection refused,
// reset, timeout). Enough of them within the failure window eject the server
// for one window.
func (s *Servers) Failure(i int) {
	p := s.passive
	if p == nil {
		return
	}
	now := time.Since(s.base)
	p.mu.Lock()
	if now < time.Duration(p.until[i].Load()) { // already ejected
		p.mu.Unlock()
		return
	}
	if now-p.start[i] > p.window {
		p.start[i], p.count[i] = now, 0
	}
	p.count[i]++
	if p.count[i] < p.max {
		p.mu.Unlock()
		return
	}
	p.count[i] = 0
	p.until[i].Store(int64(now + p.window))
	wasActive := s.active[i].Load()
	var t *time.Timer
	t = time.AfterFunc(p.window, func() {
		p.mu.Lock()
		delete(p.timers, t)
		p.mu.Unlock()
		if s.Up(i) {
			s.notify(i, true)
		}
	})
	p.timers[t] = struct{}{}
	p.mu.Unlock()
	if wasActive {
		s.notify(i, false)
	}
}

// Healthy reports whether any server is up.
func (s *Servers) Healthy() bool {
	for i := range s.urls {
		if s.Up(i) {
			return true
		}
	}
	return false
}

// Status returns url -> "UP" or "DOWN".
func (s *Servers) Status() map[string]string {
	m := make(map[string]string, len(s.urls))
	for i, u := range s.urls {
		if s.Up(i) {
			m[u] = "UP"
		} else if _, seen := m[u]; !seen {
			m[u] = "DOWN"
		}
	}
	return m
}

// Changed implements Watcher.
func (s *Servers) Changed() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.changed
}

func (s *Servers) notify(i int, up bool) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()
	if fn := s.hook.Load(); fn != nil {
		(*fn)(s.urls[i], up)
	}
}

// Close stops pending passive-recovery timers.
func (s *Servers) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
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
