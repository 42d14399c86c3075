package main

import (
	"github.com/guan-gateway/guan/metrics"
	"github.com/guan-gateway/guan/snapshot"
)

// pruneMetrics deletes the metric series of the routers, services and
// middlewares and servers that the live snapshot s no longer has.
func pruneMetrics(m *metrics.Metrics, s *snapshot.Snapshot) {
	if !m.Enabled() {
		return
	}
	st := s.Status()
	live := metrics.Live{
		Routers:     make(map[string]bool, len(st.Routers)),
		Services:    make(map[string]bool, len(st.Services)),
		Middlewares: make(map[string]bool, len(st.Middlewares)),
		Servers:     map[[2]string]bool{},
		MQTTRouters: map[string]bool{},
	}
	if raw := s.Raw(); raw != nil && raw.MQTT != nil {
		for name := range raw.MQTT.Routers {
			live.MQTTRouters[name] = true
		}
	}
	for name := range st.Middlewares {
		live.Middlewares[name] = true
	}
	for name := range st.Routers {
		live.Routers[name] = true
	}
	for name, svc := range st.Services {
		live.Services[name] = true
		if svc.Service == nil || svc.LoadBalancer == nil {
			continue
		}
		for _, srv := range svc.LoadBalancer.Servers {
			live.Servers[[2]string{name, srv.URL}] = true
		}
	}
	m.Prune(live)
}
