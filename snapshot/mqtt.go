package snapshot

import (
	cryptotls "crypto/tls"
	"net/http"
	"strings"

	"fmt"
	"github.com/guan-gateway/guan/config/dynamic"
	"time"

	"github.com/guan-gateway/guan/middlewares"
	mqttmw "github.com/guan-gateway/guan/middlewares/mqtt"
	"github.com/guan-gateway/guan/mqtt"
	"github.com/guan-gateway/guan/routers"
)

// mqttTable adapts the router table to what the MQTT handler asks.
type mqttTable struct{ t *routers.MQTTTable }

func (m mqttTable) Match(info *routers.MQTTInfo) *mqtt.Route {
	if r := m.t.Match(info); r != nil {
		return r.Handler.(*mqtt.Route)
	}
	return nil
}

// buildMQTTRouters compiles the mqtt routers per entrypoint, with the TLS
// options connections to that entrypoint are terminated with (nil: plain).
func (b *builder) buildMQTTRouters() (map[string][]routers.MQTTRoute, map[string]*cryptotls.Config) {
	out := map[string][]routers.MQTTRoute{}
	tlsFor := map[string]*cryptotls.Config{}
	svcs := map[string]*mqtt.Service{}
	mws := map[string]mqtt.Middleware{}
	for _, name := range sortedKeys(b.m.mqttRouters) {
		r := b.m.mqttRouters[name]
		fail := func(field, msg string) {
			b.problem([]string{"mqtt", "routers"}, name, field, msg)
			b.mqttErrs[name] = append(b.mqttErrs[name], msg)
		}
		// No entryPoints: the router only serves WebSocket clients through
		// an HTTP service of type mqtt (an entrypoint with mqtt routers
		// speaks nothing but MQTT, so none is taken by default).
		var eps []string
		if len(r.EntryPoints) > 0 {
			var missing []string
			eps, missing = b.routerEntryPoints(r.EntryPoints)
			for _, ep := range missing {
				fail("entryPoints", fmt.Sprintf("entryPoint %q doesn't exist", ep))
			}
			if len(eps) == 0 {
				fail("entryPoints", "no valid entryPoint for this router")
				continue
			}
		}
		rule, err := routers.ParseMQTT(r.Rule)
		if err != nil {
			fail("rule", "rule "+err.Error())
			continue
		}
		svc, err := b.mqttService(r.Service, svcs)
		if err != nil {
			fail("service", err.Error())
			continue
		}
		route := &mqtt.Route{Name: name, Service: svc}
		b.mqttByName[name] = route
		switch r.Heartbeat {
		case "":
		case "local":
			route.LocalHeartbeat = true
		default:
			fail("heartbeat", fmt.Sprintf("unknown heartbeat %q: use local, or leave it out to relay pings", r.Heartbeat))
			continue
		}
		ok := true
		for _, mn := range r.Middlewares {
			m, err := b.mqttMiddleware(mn, mws)
			if err != nil {
				fail("middlewares", err.Error())
				ok = false
				break
			}
			route.Middlewares = append(route.Middlewares, m)
		}
		if !ok {
			continue
		}
		var conf *cryptotls.Config
		if r.TLS != nil {
			if conf, err = b.tlsConfig(r.TLS.Options); err != nil {
				fail("tls", err.Error())
				continue
			}
		}
		for _, ep := range eps {
			if prev, seen := tlsFor[ep]; seen && prev != conf {
				fail("tls", fmt.Sprintf("entryPoint %q: every mqtt router of an entrypoint must use the same tls options (or none)", ep))
				continue
			}
			tlsFor[ep] = conf
			out[ep] = append(out[ep], routers.MQTTRoute{Name: name, Rule: rule, Priority: r.Priority, Handler: route})
		}
	}
	if b.in.ValidateUnused {
		// `gateway check`: report broken services and middlewares that no
		// router uses too.
		for _, name := range sortedKeys(b.m.mqttServices) {
			if _, err := b.mqttService(name, svcs); err != nil {
				b.problem([]string{"mqtt", "services"}, name, "", err.Error())
			}
		}
		for _, name := range sortedKeys(b.m.mqttMws) {
			if _, err := b.mqttMiddleware(name, mws); err != nil {
				b.problem([]string{"mqtt", "middlewares"}, name, "", err.Error())
			}
		}
	}
	return out, tlsFor
}

func (b *builder) mqttService(name string, memo map[string]*mqtt.Service) (*mqtt.Service, error) {
	if s, ok := memo[name]; ok {
		return s, nil
	}
	cfg, ok := b.m.mqttServices[name]
	if !ok {
		return nil, fmt.Errorf("MQTT service %q does not exist", name)
	}
	if b.in.Store == nil {
		return b.newMQTTService(name, cfg, false)
	}
	// A service lives across reloads that keep its configuration, with its
	// health state and round-robin position.
	v, err := b.in.Store.Get("mqtt-service", name, cfg, func() (any, error) { return b.newMQTTService(name, cfg, true) })
	if err != nil {
		return nil, err
	}
	memo[name] = v.(*mqtt.Service)
	b.mqttSvcs[name] = v.(*mqtt.Service)
	return v.(*mqtt.Service), nil
}

func (b *builder) newMQTTService(name string, cfg *dynamic.MQTTService, start bool) (*mqtt.Service, error) {
	lb := cfg.LoadBalancer
	if lb == nil || len(lb.Servers) == 0 {
		return nil, fmt.Errorf("MQTT service %q: loadBalancer.servers is empty", name)
	}
	s := &mqtt.Service{Name: name}
	switch lb.Affinity {
	case "", "clientID":
	case "roundRobin":
		s.RoundRobin = true
	default:
		return nil, fmt.Errorf("MQTT service %q: unknown affinity %q: use clientID or roundRobin", name, lb.Affinity)
	}
	if lb.DialTimeout != nil {
		s.DialTimeout = time.Duration(*lb.DialTimeout)
	}
	for i, srv := range lb.Servers {
		if srv.Address == "" {
			return nil, fmt.Errorf("MQTT service %q: servers[%d].address is empty", name, i)
		}
		s.Servers = append(s.Servers, srv.Address)
	}
	if hc := lb.HealthCheck; hc != nil && start {
		h := mqtt.HealthCheck{Interval: 10 * time.Second}
		if hc.Interval != nil {
			h.Interval = time.Duration(*hc.Interval)
		}
		if hc.Timeout != nil {
			h.Timeout = time.Duration(*hc.Timeout)
		}
		if h.Interval <= 0 {
			return nil, fmt.Errorf("MQTT service %q: healthCheck.interval must be positive", name)
		}
		s.StartHealthChecks(h, b.log.With("mqttService", name))
	}
	return s, nil
}

func (b *builder) mqttMiddleware(name string, memo map[string]mqtt.Middleware) (mqtt.Middleware, error) {
	if m, ok := memo[name]; ok {
		return m, nil
	}
	cfg, ok := b.m.mqttMws[name]
	if !ok {
		return nil, fmt.Errorf("MQTT middleware %q does not exist", name)
	}
	_, prov := splitName(name)
	env := middlewares.Env{Name: name, Store: b.in.Store, Logger: b.log.With("mqttMiddleware", name), BaseDir: b.m.baseDir[prov]}
	if on := b.in.OnDecision; on != nil {
		kind := strings.ToLower(mqttmw.Kind(cfg))
		env.Decision = func(result string) { on(name, kind, result) }
	}
	m, err := mqttmw.Build(env, cfg)
	if err != nil {
		return nil, fmt.Errorf("MQTT middleware %q: %w", name, err)
	}
	memo[name] = m
	return m, nil
}

// mqttWebSocket builds an HTTP service of type mqtt: MQTT over WebSocket
// served with an mqtt router's middlewares and brokers.
func (b *builder) mqttWebSocket(name string, cfg *dynamic.MQTTOverWebSocket) (http.Handler, error) {
	if cfg.Router == "" {
		return nil, fmt.Errorf("mqtt.router is empty: name the mqtt router whose middlewares and brokers serve WebSocket clients")
	}
	_, prov := splitName(name)
	router := Qualify(cfg.Router, prov)
	route, ok := b.mqttByName[router]
	if !ok {
		return nil, fmt.Errorf("mqtt router %q does not exist or is not served (see its errors)", router)
	}
	h := b.in.MQTTWebSocket
	if h == nil {
		h = &mqtt.Handler{EntryPoint: "websocket", Log: b.log}
	}
	return h.WebSocket(route), nil
}
