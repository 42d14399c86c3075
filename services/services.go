// Package services builds the HTTP and TCP services of one configuration
// snapshot: load balancers over servers, weighted, highest-random-weight,
// mirroring and failover services composed of other services, and TCP load
// balancers. State that must outlive a reload — connection pools, health
// checkers, passive-health counters, in-flight counts — is taken from the
// state store, so an unchanged service keeps it.
package services

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/guan-gateway/guan/config/dynamic"
	"github.com/guan-gateway/guan/services/failover"
	"github.com/guan-gateway/guan/services/health"
	"github.com/guan-gateway/guan/services/healthcheck"
	"github.com/guan-gateway/guan/services/hrw"
	"github.com/guan-gateway/guan/services/loadbalancer"
	"github.com/guan-gateway/guan/services/mirror"
	"github.com/guan-gateway/guan/services/proxy"
	"github.com/guan-gateway/guan/services/sticky"
	"github.com/guan-gateway/guan/services/tcpproxy"
	"github.com/guan-gateway/guan/services/transport"
	"github.com/guan-gateway/guan/services/weighted"
	"github.com/guan-gateway/guan/statestore"
)

// Options are the inputs of one build. Names are qualified "name@provider".
type Options struct {
	Services map[string]*dynamic.Service
	// Transports are the servers transports; "default@internal" is implied
	// when absent.
	Transports  map[string]*dynamic.ServersTransport
	TCPServices map[string]*dynamic.TCPService
	// TCPTransports are the TCP servers transports (tcp.serversTransports).
	TCPTransports map[string]*dynamic.TCPServersTransport
	// Store keeps lasting state; nil gives the Set a private store.
	Store  *statestore.Build
	Logger *slog.Logger
	// BaseDir resolves relative rootCAs/certificate paths of the named
	// (qualified) servers transport; may be nil.
	BaseDir func(name string) string
	// OnServerState is told about every server health change (metrics);
	// may be nil.
	OnServerState func(service, url string, up bool)
	// OnMirrorDropped is told about every mirror copy dropped because the
	// mirroring service had maxInFlight copies running (metrics); may be nil.
	OnMirrorDropped func(service, mirror string)
	// MQTTWebSocket builds the handler of a service of type mqtt (MQTT
	// over WebSocket), which the snapshot owns; nil refuses such services.
	MQTTWebSocket func(name string, cfg *dynamic.MQTTOverWebSocket) (http.Handler, error)
}

// TCPHandler takes ownership of a client connection (a *tls.Conn or a
// connection replaying peeked bytes), proxies both directions with
// half-close and closes it when done.
type TCPHandler = tcpproxy.Handler

// Set builds services on demand and remembers them.
type Set struct {
	o   Options
	log *slog.Logger

	mu       sync.Mutex
	http     map[string]*built
	tcp      map[string]*builtTCP
	building []string // services being built, for cycle detection
}

type built struct {
	h      http.Handler
	status func() map[string]string
	err    error
}

type builtTCP struct {
	h   TCPHandler
	err error
}

// New returns a Set; nothing is built until asked for.
func New(o Options) *Set {
	if o.Store == nil {
		o.Store = statestore.New().Begin()
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Set{o: o, log: log, http: map[string]*built{}, tcp: map[string]*builtTCP{}}
}

// Handler returns the handler of an HTTP service, building it (and its
// children) on first use. Errors are per service and name what to fix; a
// child's error is also its parents'.
func (s *Set) Handler(name string) (http.Handler, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.handler(name)
	return b.h, b.err
}

// ServerStatus returns the live url -> "UP"/"DOWN" map of a load-balancer
// service, or nil for other kinds and services that failed to build.
func (s *Set) ServerStatus(name string) map[string]string {
	s.mu.Lock()
	b := s.handler(name)
	s.mu.Unlock()
	if b.status == nil {
		return nil
	}
	return b.status()
}

func (s *Set) handler(name string) *built {
	if b, ok := s.http[name]; ok {
		return b
	}
	for i, n := range s.building {
		if n == name {
			cycle := strings.Join(append(s.building[i:], name), " -> ")
			return &built{err: fmt.Errorf("service %q: cycle %s: a service cannot contain itself", name, cycle)}
		}
	}
	s.building = append(s.building, name)
	b := s.build(name)
	s.building = s.building[:len(s.building)-1]
	if b.err != nil {
		b.err = fmt.Errorf("service %q: %w", name, b.err)
		b.h = nil
	}
	s.http[name] = b
	return b
}

func (s *Set) build(name string) *built {
	cfg, ok := s.o.Services[name]
	if !ok || cfg == nil {
		return &built{err: errors.New("unknown service: check the name and its provider suffix")}
	}
	_, provider, _ := strings.Cut(name, "@")
	kinds := 0
	for _, set := range []bool{cfg.LoadBalancer != nil, cfg.Weighted != nil, cfg.Mirroring != nil, cfg.Failover != nil, cfg.HighestRandomWeight != nil, cfg.MQTT != nil} {
		if set {
			kinds++
		}
	}
	switch {
	case kinds == 0:
		return &built{err: errors.New("no service type: set one of loadBalancer, weighted, highestRandomWeight, mirroring, failover, mqtt")}
	case kinds > 1:
		return &built{err: errors.New("more than one service type: keep only one of loadBalancer, weighted, highestRandomWeight, mirroring, failover, mqtt")}
	case cfg.MQTT != nil:
		if s.o.MQTTWebSocket == nil {
			return &built{err: errors.New("mqtt services are not available here")}
		}
		h, err := s.o.MQTTWebSocket(name, cfg.MQTT)
		return &built{h: h, err: err}
	case cfg.LoadBalancer != nil:
		return s.buildLB(name, provider, cfg.LoadBalancer)
	case cfg.Weighted != nil:
		return s.buildWeighted(name, provider, cfg.Weighted)
	case cfg.HighestRandomWeight != nil:
		return s.buildHRW(provider, cfg.HighestRandomWeight)
	case cfg.Mirroring != nil:
		return s.buildMirroring(name, provider, cfg.Mirroring)
	default:
		return s.buildFailover(provider, cfg.Failover)
	}
}

// qualify resolves a reference relative to the referring object's provider.
func qualify(ref, provider string) string {
	if strings.Contains(ref, "@") || provider == "" {
		return ref
	}
	return ref + "@" + provider
}

func weightOf(w *int) int {
	if w == nil {
		return 1
	}
	return *w
}

// serverState is the lasting part of one server of a load balancer: its
// health state and the active checker probing it. It is kept per server, so
// a reload that adds or removes servers, or changes weights, leaves the
// others' verdicts (and passive ejections) alone.
type serverState struct {
	srv     *health.Server
	checker *healthcheck.Checker
}

func (st *serverState) Close() error {
	if st.checker != nil {
		st.checker.Close()
	}
	return st.srv.Close()
}

// serverStateKey is what a server's health state depends on. The servers
// transport matters only to active checks, which probe through it.
type serverStateKey struct {
	URL           string
	HealthCheck   *dynamic.ServerHealthCheck
	Passive       *dynamic.PassiveServerHealthCheck
	Transport     string `json:",omitempty"`
	TransportHash uint64 `json:",omitempty"`
}

func (s *Set) buildLB(name, provider string, lb *dynamic.ServersLoadBalancer) *built {
	if len(lb.Servers) == 0 {
		return &built{err: errors.New("no servers: add at least one loadBalancer.servers entry with a url")}
	}
	urls := make([]*url.URL, len(lb.Servers))
	rawURLs := make([]string, len(lb.Servers))
	for i, srv := range lb.Servers {
		u, err := parseServerURL(srv.URL)
		if err != nil {
			return &built{err: fmt.Errorf("servers[%d]: %w", i, err)}
		}
		if w := weightOf(srv.Weight); w < 0 {
			return &built{err: fmt.Errorf("servers[%d]: weight %d must not be negative", i, w)}
		}
		urls[i], rawURLs[i] = u, srv.URL
	}
	if lb.HealthCheck != nil {
		if err := healthcheck.Validate(lb.HealthCheck); err != nil {
			return &built{err: err}
		}
	}

	tname := lb.ServersTransport
	if tname == "" {
		tname = transport.DefaultName
	}
	tname = qualify(tname, provider)
	tr, thash, err := s.transport(tname)
	if err != nil {
		return &built{err: err}
	}

	log := s.log.With("service", name)
	g, err := s.o.Store.Get("lb-health", name, nil, func() (any, error) { return health.NewGroup(), nil })
	if err != nil {
		return &built{err: err}
	}
	group := g.(*health.Group)
	states := make([]*health.Server, len(lb.Servers))
	for i := range lb.Servers {
		key := serverStateKey{URL: rawURLs[i], HealthCheck: lb.HealthCheck, Passive: lb.PassiveHealthCheck}
		if lb.HealthCheck != nil {
			key.Transport, key.TransportHash = tname, thash
		}
		u := urls[i]
		v, err := s.o.Store.Get("lb-server", name, key, func() (any, error) {
			srv := group.NewServer(key.URL, lb.PassiveHealthCheck)
			st := &serverState{srv: srv}
			if lb.HealthCheck != nil {
				report := func(_ int, err error) {
					if srv.SetActive(err == nil) {
						if err != nil {
							log.Warn("server down", "url", srv.URL(), "reason", err)
						} else {
							log.Info("server up", "url", srv.URL())
						}
					}
				}
				c, err := healthcheck.Start(lb.HealthCheck, []*url.URL{u}, tr, report)
				if err != nil {
					srv.Close()
					return nil, err
				}
				st.checker = c
			}
			return st, nil
		})
		if err != nil {
			return &built{err: err}
		}
		states[i] = v.(*serverState).srv
	}
	view := group.View(states)
	if fn := s.o.OnServerState; fn != nil {
		view.SetHook(func(url string, up bool) { fn(name, url, up) })
	}

	passHost := lb.PassHostHeader == nil || *lb.PassHostHeader
	var flush = proxy.DefaultFlushInterval
	if rf := lb.ResponseForwarding; rf != nil && rf.FlushInterval != nil && rf.FlushInterval.Std() != 0 {
		flush = rf.FlushInterval.Std()
	}
	servers := make([]loadbalancer.Server, len(lb.Servers))
	for i, srv := range lb.Servers {
		var onFailure func()
		if lb.PassiveHealthCheck != nil {
			onFailure = states[i].Failure
		}
		var onResponse func(time.Duration)
		if loadbalancer.UsesTTFB(lb.Strategy) {
			onResponse = states[i].ObserveTTFB
		}
		servers[i] = loadbalancer.Server{
			URL:    srv.URL,
			Weight: weightOf(srv.Weight),
			Handler: proxy.New(proxy.Options{
				Target:         urls[i],
				Transport:      tr.RoundTripper(urls[i].Scheme),
				PassHostHeader: passHost,
				PreservePath:   srv.PreservePath,
				FlushInterval:  flush,
				OnFailure:      onFailure,
				OnResponse:     onResponse,
				Logger:         log,
			}),
		}
	}
	var ck *sticky.Cookie
	if lb.Sticky != nil && lb.Sticky.Cookie != nil {
		if ck, err = sticky.New(lb.Sticky.Cookie, name, rawURLs); err != nil {
			return &built{err: err}
		}
	}
	bal, err := loadbalancer.New(loadbalancer.Options{
		Name: name, Servers: servers, State: view, Strategy: lb.Strategy, Sticky: ck,
	})
	if err != nil {
		return &built{err: err}
	}
	return &built{h: bal, status: bal.ServerStatus}
}

func parseServerURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("url %q: %w (use a form like http://10.0.0.1:8080)", raw, err)
	}
	switch u.Scheme {
	case "http", "https", "h2c":
	default:
		return nil, fmt.Errorf("url %q: scheme must be http, https or h2c", raw)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("url %q has no host: use a form like http://10.0.0.1:8080", raw)
	}
	return u, nil
}

// transport returns the named servers transport from the store.
func (s *Set) transport(name string) (*transport.Transport, uint64, error) {
	cfg, ok := s.o.Transports[name]
	if !ok || cfg == nil {
		if name != transport.DefaultName {
			return nil, 0, fmt.Errorf("unknown serversTransport %q: define it under http.serversTransports or remove the reference", name)
		}
		cfg = &dynamic.ServersTransport{}
	}
	baseDir := ""
	if s.o.BaseDir != nil {
		baseDir = s.o.BaseDir(name)
	}
	key := struct {
		Cfg     *dynamic.ServersTransport
		BaseDir string
	}{cfg, baseDir}
	v, err := s.o.Store.Get("servers-transport", name, key, func() (any, error) {
		return transport.New(cfg, baseDir)
	})
	if err != nil {
		return nil, 0, fmt.Errorf("serversTransport %q: %w", name, err)
	}
	return v.(*transport.Transport), statestore.Hash(key), nil
}

func (s *Set) buildWeighted(name, provider string, w *dynamic.WeightedRoundRobin) *built {
	if len(w.Services) == 0 {
		return &built{err: errors.New("no services: add at least one weighted.services entry")}
	}
	children := make([]weighted.Child, len(w.Services))
	keys := make([]string, len(w.Services))
	for i, c := range w.Services {
		if c.Name == "" {
			return &built{err: fmt.Errorf("weighted.services[%d]: name is empty", i)}
		}
		child := qualify(c.Name, provider)
		b := s.handler(child)
		if b.err != nil {
			return &built{err: b.err}
		}
		wt := weightOf(c.Weight)
		if wt < 0 {
			return &built{err: fmt.Errorf("weighted.services[%d]: weight %d must not be negative", i, wt)}
		}
		children[i] = weighted.Child{Name: child, Weight: wt, Handler: b.h}
		keys[i] = child
	}
	var ck *sticky.Cookie
	if w.Sticky != nil && w.Sticky.Cookie != nil {
		var err error
		if ck, err = sticky.New(w.Sticky.Cookie, name, keys); err != nil {
			return &built{err: err}
		}
	}
	h, err := weighted.New(weighted.Options{Children: children, Sticky: ck, Propagate: w.HealthCheck != nil})
	if err != nil {
		return &built{err: err}
	}
	return &built{h: h}
}

func (s *Set) buildHRW(provider string, c *dynamic.HighestRandomWeight) *built {
	children := make([]hrw.Child, len(c.Services))
	for i, svc := range c.Services {
		if svc.Name == "" {
			return &built{err: fmt.Errorf("highestRandomWeight.services[%d]: name is empty", i)}
		}
		child := qualify(svc.Name, provider)
		b := s.handler(child)
		if b.err != nil {
			return &built{err: b.err}
		}
		wt := weightOf(svc.Weight)
		if wt < 0 {
			return &built{err: fmt.Errorf("highestRandomWeight.services[%d]: weight %d must not be negative", i, wt)}
		}
		children[i] = hrw.Child{Name: child, Weight: wt, Handler: b.h}
	}
	h, err := hrw.New(hrw.Options{Children: children, Propagate: c.HealthCheck != nil})
	if err != nil {
		return &built{err: err}
	}
	return &built{h: h}
}

func (s *Set) buildMirroring(name, provider string, m *dynamic.Mirroring) *built {
	if m.Service == "" {
		return &built{err: errors.New("mirroring.service is empty: name the service that answers")}
	}
	main := s.handler(qualify(m.Service, provider))
	if main.err != nil {
		return &built{err: main.err}
	}
	targets := make([]mirror.Target, len(m.Mirrors))
	for i, mc := range m.Mirrors {
		if mc.Name == "" {
			return &built{err: fmt.Errorf("mirroring.mirrors[%d]: name is empty", i)}
		}
		child := qualify(mc.Name, provider)
		b := s.handler(child)
		if b.err != nil {
			return &built{err: b.err}
		}
		targets[i] = mirror.Target{Name: child, Percent: mc.Percent, Handler: b.h}
	}
	maxBody := int64(mirror.DefaultMaxBodySize) // Traefik: -1, no limit
	if m.MaxBodySize != nil {
		maxBody = *m.MaxBodySize
	}
	if m.MaxInFlight < 0 {
		return &built{err: fmt.Errorf("mirroring.maxInFlight is %d; set how many copies may run at once (> 0), or leave it out for %d", m.MaxInFlight, mirror.DefaultMaxInFlight)}
	}
	var onDrop func(string)
	if fn := s.o.OnMirrorDropped; fn != nil {
		onDrop = func(mirrorName string) { fn(name, mirrorName) }
	}
	h, err := mirror.New(mirror.Options{
		Main: main.h, Mirrors: targets,
		MirrorBody:  m.MirrorBody == nil || *m.MirrorBody,
		MaxBodySize: maxBody,
		MaxInFlight: m.MaxInFlight,
		Propagate:   m.HealthCheck != nil,
		Logger:      s.log,
		OnDrop:      onDrop,
	})
	if err != nil {
		return &built{err: err}
	}
	return &built{h: h}
}

func (s *Set) buildFailover(provider string, f *dynamic.Failover) *built {
	if f.Service == "" || f.Fallback == "" {
		return &built{err: errors.New("failover needs both service and fallback")}
	}
	main := s.handler(qualify(f.Service, provider))
	if main.err != nil {
		return &built{err: main.err}
	}
	fb := s.handler(qualify(f.Fallback, provider))
	if fb.err != nil {
		return &built{err: fb.err}
	}
	return &built{h: failover.New(main.h, fb.h, f.HealthCheck != nil)}
}

// TCPHandler returns the handler of a TCP service, building it on first use.
func (s *Set) TCPHandler(name string) (TCPHandler, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.tcpHandler(name)
	return b.h, b.err
}

func (s *Set) tcpHandler(name string) *builtTCP {
	if b, ok := s.tcp[name]; ok {
		return b
	}
	for i, n := range s.building {
		if n == "tcp:"+name {
			cycle := strings.ReplaceAll(strings.Join(append(s.building[i:], "tcp:"+name), " -> "), "tcp:", "")
			return &builtTCP{err: fmt.Errorf("tcp service %q: cycle %s: a service cannot contain itself", name, cycle)}
		}
	}
	s.building = append(s.building, "tcp:"+name)
	b := s.buildTCP(name)
	s.building = s.building[:len(s.building)-1]
	if b.err != nil {
		b.err = fmt.Errorf("tcp service %q: %w", name, b.err)
		b.h = nil
	}
	s.tcp[name] = b
	return b
}

func (s *Set) buildTCP(name string) *builtTCP {
	cfg, ok := s.o.TCPServices[name]
	if !ok || cfg == nil {
		return &builtTCP{err: errors.New("unknown service: check the name and its provider suffix")}
	}
	_, provider, _ := strings.Cut(name, "@")
	switch {
	case cfg.LoadBalancer != nil && cfg.Weighted != nil:
		return &builtTCP{err: errors.New("more than one service type: keep only one of loadBalancer, weighted")}
	case cfg.LoadBalancer != nil:
		lb := cfg.LoadBalancer
		tname := lb.ServersTransport
		if tname != "" {
			tname = qualify(tname, provider)
		}
		tr, tlsConf, err := s.tcpLBTransport(name, tname, lb.TerminationDelay)
		if err != nil {
			return &builtTCP{err: err}
		}
		if len(lb.Servers) == 0 {
			return &builtTCP{err: errors.New("no servers: add at least one loadBalancer.servers entry with an address")}
		}
		handlers := make([]tcpproxy.Handler, len(lb.Servers))
		weights := make([]int, len(lb.Servers))
		for i, srv := range lb.Servers {
			var tc *tls.Config
			if srv.TLS {
				tc = tlsConf
			}
			p, err := tcpproxy.NewProxy(srv.Address, tc, tr, s.log.With("service", name))
			if err != nil {
				return &builtTCP{err: fmt.Errorf("servers[%d]: %w", i, err)}
			}
			handlers[i], weights[i] = p, weightOf(srv.Weight)
		}
		b, err := tcpproxy.NewBalancer(handlers, weights)
		if err != nil {
			return &builtTCP{err: err}
		}
		return &builtTCP{h: b}
	case cfg.Weighted != nil:
		w := cfg.Weighted
		if len(w.Services) == 0 {
			return &builtTCP{err: errors.New("no services: add at least one weighted.services entry")}
		}
		handlers := make([]tcpproxy.Handler, len(w.Services))
		weights := make([]int, len(w.Services))
		for i, c := range w.Services {
			b := s.tcpHandler(qualify(c.Name, provider))
			if b.err != nil {
				return &builtTCP{err: b.err}
			}
			handlers[i], weights[i] = b.h, weightOf(c.Weight)
		}
		b, err := tcpproxy.NewBalancer(handlers, weights)
		if err != nil {
			return &builtTCP{err: err}
		}
		return &builtTCP{h: b}
	}
	return &builtTCP{err: errors.New("no service type: set loadBalancer or weighted")}
}
