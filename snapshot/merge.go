package snapshot

import (
	"strings"

	"github.com/guan-gateway/guan/config"
	"github.com/guan-gateway/guan/config/dynamic"
	"github.com/guan-gateway/guan/providers"
)

// Qualify returns name@provider unless name already names its provider.
func Qualify(name, provider string) string {
	if strings.Contains(name, "@") {
		return name
	}
	return name + "@" + provider
}

// splitName returns the bare name and provider of a qualified name.
func splitName(q string) (name, provider string) {
	if i := strings.LastIndexByte(q, '@'); i >= 0 {
		return q[:i], q[i+1:]
	}
	return q, ""
}

// merged is every provider's configuration with names qualified by provider
// and every reference rewritten to the qualified form, so later stages never
// need to know which provider an object came from.
type merged struct {
	routers       map[string]*dynamic.Router
	services      map[string]*dynamic.Service
	middlewares   map[string]*dynamic.Middleware
	transports    map[string]*dynamic.ServersTransport
	tcpRouters    map[string]*dynamic.TCPRouter
	tcpServices   map[string]*dynamic.TCPService
	tcpMws        map[string]*dynamic.TCPMiddleware
	tcpTransports map[string]*dynamic.TCPServersTransport
	mqttRouters   map[string]*dynamic.MQTTRouter
	mqttServices  map[string]*dynamic.MQTTService
	mqttMws       map[string]*dynamic.MQTTMiddleware
	tls           dynamic.TLSConfiguration
	certDirs      []string // base directory of each tls certificate, by index

	pos     map[string]func(path ...string) config.Position // provider -> position lookup
	baseDir map[string]string                               // provider -> base directory
}

func qualifyAll(names []string, provider string) []string {
	if len(names) == 0 {
		return nil
	}
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = Qualify(n, provider)
	}
	return out
}

func mergeConfigs(msgs map[string]providers.Message) *merged {
	m := &merged{
		routers:       map[string]*dynamic.Router{},
		services:      map[string]*dynamic.Service{},
		middlewares:   map[string]*dynamic.Middleware{},
		transports:    map[string]*dynamic.ServersTransport{},
		tcpRouters:    map[string]*dynamic.TCPRouter{},
		tcpServices:   map[string]*dynamic.TCPService{},
		tcpMws:        map[string]*dynamic.TCPMiddleware{},
		tcpTransports: map[string]*dynamic.TCPServersTransport{},
		mqttRouters:   map[string]*dynamic.MQTTRouter{},
		mqttServices:  map[string]*dynamic.MQTTService{},
		mqttMws:       map[string]*dynamic.MQTTMiddleware{},
		tls:           dynamic.TLSConfiguration{Options: map[string]*dynamic.Options{}, Stores: map[string]*dynamic.Store{}},
		pos:           map[string]func(path ...string) config.Position{},
		baseDir:       map[string]string{},
	}
	for _, p := range sortedKeys(msgs) {
		msg := msgs[p]
		if msg.Config == nil {
			continue
		}
		meta := msg.Meta
		m.pos[p] = func(path ...string) config.Position { return meta.Pos(path...) }
		m.baseDir[p] = msg.BaseDir
		c := msg.Config
		if h := c.HTTP; h != nil {
			for name, r := range h.Routers {
				if r == nil {
					r = &dynamic.Router{}
				}
				cp := *r
				cp.Middlewares = qualifyAll(r.Middlewares, p)
				if cp.Service != "" {
					cp.Service = Qualify(cp.Service, p)
				}
				if r.TLS != nil && r.TLS.Options != "" {
					t := *r.TLS
					t.Options = qualifyTLSOption(t.Options, p)
					cp.TLS = &t
				}
				m.routers[Qualify(name, p)] = &cp
			}
			for name, s := range h.Services {
				m.services[Qualify(name, p)] = qualifyService(s, p)
			}
			for name, mw := range h.Middlewares {
				m.middlewares[Qualify(name, p)] = qualifyMiddleware(mw, p)
			}
			for name, t := range h.ServersTransports {
				m.transports[Qualify(name, p)] = t
			}
		}
		if t := c.TCP; t != nil {
			for name, r := range t.Routers {
				if r == nil {
					r = &dynamic.TCPRouter{}
				}
				cp := *r
				if cp.Service != "" {
					cp.Service = Qualify(cp.Service, p)
				}
				cp.Middlewares = qualifyAll(r.Middlewares, p)
				if r.TLS != nil && r.TLS.Options != "" {
					tt := *r.TLS
					tt.Options = qualifyTLSOption(tt.Options, p)
					cp.TLS = &tt
				}
				m.tcpRouters[Qualify(name, p)] = &cp
			}
			for name, s := range t.Services {
				m.tcpServices[Qualify(name, p)] = qualifyTCPService(s, p)
			}
			for name, mw := range t.Middlewares {
				if mw == nil {
					mw = &dynamic.TCPMiddleware{}
				}
				// No TCP middleware names other objects: nothing to qualify.
				m.tcpMws[Qualify(name, p)] = mw
			}
			for name, st := range t.ServersTransports {
				m.tcpTransports[Qualify(name, p)] = st
			}
		}
		if q := c.MQTT; q != nil {
			for name, r := range q.Routers {
				if r == nil {
					r = &dynamic.MQTTRouter{}
				}
				cp := *r
				if cp.Service != "" {
					cp.Service = Qualify(cp.Service, p)
				}
				cp.Middlewares = qualifyAll(r.Middlewares, p)
				if r.TLS != nil && r.TLS.Options != "" {
					tt := *r.TLS
					tt.Options = qualifyTLSOption(tt.Options, p)
					cp.TLS = &tt
				}
				m.mqttRouters[Qualify(name, p)] = &cp
			}
			for name, s := range q.Services {
				if s == nil {
					s = &dynamic.MQTTService{}
				}
				m.mqttServices[Qualify(name, p)] = s
			}
			for name, mw := range q.Middlewares {
				if mw == nil {
					mw = &dynamic.MQTTMiddleware{}
				}
				m.mqttMws[Qualify(name, p)] = mw
			}
		}
		if t := c.TLS; t != nil {
			for _, cert := range t.Certificates {
				if cert != nil {
					m.tls.Certificates = append(m.tls.Certificates, cert)
					m.certDirs = append(m.certDirs, msg.BaseDir)
				}
			}
			for name, o := range t.Options {
				m.tls.Options[qualifyTLSOption(name, p)] = o
			}
			// Stores are global in Traefik: "default" is the store everyone uses.
			for name, s := range t.Stores {
				m.tls.Stores[name] = s
			}
		}
	}
	return m
}

// qualifyTLSOption keeps "default" global, as Traefik does: every provider's
// tls.options.default overrides the built-in default options.
func qualifyTLSOption(name, provider string) string {
	if name == "default" || strings.HasPrefix(name, "default@") {
		return "default"
	}
	return Qualify(name, provider)
}

func qualifyService(s *dynamic.Service, p string) *dynamic.Service {
	if s == nil {
		return &dynamic.Service{}
	}
	cp := *s
	if w := s.Weighted; w != nil {
		ww := *w
		ww.Services = qualifyWRR(w.Services, p)
		cp.Weighted = &ww
	}
	if hw := s.HighestRandomWeight; hw != nil {
		hh := *hw
		hh.Services = make([]dynamic.HRWService, len(hw.Services))
		for i, c := range hw.Services {
			c.Name = Qualify(c.Name, p)
			hh.Services[i] = c
		}
		cp.HighestRandomWeight = &hh
	}
	if mi := s.Mirroring; mi != nil {
		mm := *mi
		mm.Service = Qualify(mi.Service, p)
		mm.Mirrors = make([]dynamic.MirrorService, len(mi.Mirrors))
		for i, c := range mi.Mirrors {
			c.Name = Qualify(c.Name, p)
			mm.Mirrors[i] = c
		}
		cp.Mirroring = &mm
	}
	if f := s.Failover; f != nil {
		ff := *f
		ff.Service = Qualify(f.Service, p)
		if f.Fallback != "" {
			ff.Fallback = Qualify(f.Fallback, p)
		}
		cp.Failover = &ff
	}
	if lb := s.LoadBalancer; lb != nil && lb.ServersTransport != "" {
		l := *lb
		l.ServersTransport = Qualify(lb.ServersTransport, p)
		cp.LoadBalancer = &l
	}
	return &cp
}

func qualifyTCPService(s *dynamic.TCPService, p string) *dynamic.TCPService {
	if s == nil {
		return &dynamic.TCPService{}
	}
	cp := *s
	if w := s.Weighted; w != nil {
		ww := *w
		ww.Services = qualifyWRR(w.Services, p)
		cp.Weighted = &ww
	}
	if lb := s.LoadBalancer; lb != nil && lb.ServersTransport != "" {
		l := *lb
		l.ServersTransport = Qualify(lb.ServersTransport, p)
		cp.LoadBalancer = &l
	}
	return &cp
}

func qualifyMiddleware(mw *dynamic.Middleware, p string) *dynamic.Middleware {
	if mw == nil {
		return &dynamic.Middleware{}
	}
	cp := *mw
	if c := mw.Chain; c != nil {
		cp.Chain = &dynamic.Chain{Middlewares: qualifyAll(c.Middlewares, p)}
	}
	if e := mw.Errors; e != nil && e.Service != "" {
		ee := *e
		ee.Service = Qualify(e.Service, p)
		cp.Errors = &ee
	}
	return &cp
}

func qualifyWRR(in []dynamic.WRRService, p string) []dynamic.WRRService {
	out := make([]dynamic.WRRService, len(in))
	for i, c := range in {
		c.Name = Qualify(c.Name, p)
		out[i] = c
	}
	return out
}
