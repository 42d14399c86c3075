package main

import (
	"slices"
	"strings"
	"sync"

	"github.com/guan-gateway/guan/dashboard"
	"github.com/guan-gateway/guan/entrypoints"
	mqttmw "github.com/guan-gateway/guan/middlewares/mqtt"
	"github.com/guan-gateway/guan/mqtt"
)

// mqttSessions reads the live MQTT sessions of every entrypoint, for the API.
type mqttSessions struct {
	mu    sync.Mutex
	eps   map[string]*entrypoints.EntryPoint
	extra []*mqtt.Handler // MQTT over WebSocket
}

func (m *mqttSessions) set(eps map[string]*entrypoints.EntryPoint) {
	m.mu.Lock()
	m.eps = eps
	m.mu.Unlock()
}

func (m *mqttSessions) all() []mqtt.Session {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []mqtt.Session
	for _, ep := range m.eps {
		out = append(out, ep.MQTT().Sessions()...)
	}
	for _, h := range m.extra {
		out = append(out, h.Sessions()...)
	}
	return out
}

// MQTT builds /api/mqtt/* from the current configuration and live sessions.
func (s apiSource) MQTT() dashboard.MQTTState {
	snap := s.p.Current()
	raw := snap.Raw()
	var st dashboard.MQTTState
	if raw == nil || raw.MQTT == nil {
		return st
	}
	perRouter, perBroker := map[string]int{}, map[string]int{}
	if s.mqtt != nil {
		for _, sess := range s.mqtt.all() {
			perRouter[sess.Router]++
			perBroker[sess.Service+"|"+sess.Broker]++
		}
	}
	errs := snap.MQTTErrors()
	usedBySvc, usedByMw := map[string][]string{}, map[string][]string{}
	for name, r := range raw.MQTT.Routers {
		_, prov, _ := strings.Cut(name, "@")
		ri := dashboard.MQTTRouter{Name: name, Provider: prov, EntryPoints: r.EntryPoints, Rule: r.Rule, Service: r.Service,
			Middlewares: r.Middlewares, Priority: r.Priority, Status: "enabled", Error: errs[name], Connections: perRouter[name]}
		if r.TLS != nil {
			ri.TLSOptions = r.TLS.Options
			if ri.TLSOptions == "" {
				ri.TLSOptions = "default"
			}
		}
		if len(ri.Error) > 0 {
			ri.Status = "disabled"
		} else {
			usedBySvc[r.Service] = append(usedBySvc[r.Service], name)
			for _, m := range r.Middlewares {
				usedByMw[m] = append(usedByMw[m], name)
			}
		}
		st.Routers = append(st.Routers, ri)
	}
	for name, svc := range raw.MQTT.Services {
		_, prov, _ := strings.Cut(name, "@")
		si := dashboard.MQTTService{Name: name, Provider: prov, Affinity: "clientID", UsedBy: usedBySvc[name]}
		if lb := svc.LoadBalancer; lb != nil {
			if lb.Affinity != "" {
				si.Affinity = lb.Affinity
			}
			built := snap.MQTTService(name)
			for _, srv := range lb.Servers {
				n := perBroker[name+"|"+srv.Address]
				status := "up"
				if built != nil && !built.Up(srv.Address) {
					status = "down"
				}
				si.Servers = append(si.Servers, dashboard.MQTTServer{Address: srv.Address, Status: status, Connections: n})
				si.Connections += n
			}
		}
		slices.Sort(si.UsedBy)
		st.Services = append(st.Services, si)
	}
	for name, mw := range raw.MQTT.Middlewares {
		_, prov, _ := strings.Cut(name, "@")
		mi := dashboard.MQTTMiddleware{Name: name, Provider: prov, Type: mqttmw.Kind(mw), UsedBy: usedByMw[name]}
		slices.Sort(mi.UsedBy)
		st.Middlewares = append(st.Middlewares, mi)
	}
	return st
}
