package snapshot

import (
	"cmp"
	"maps"
	"net"
	"net/http"
	"slices"
	"strings"
	"unicode"

	"github.com/guan-gateway/guan/config/dynamic"
	"github.com/guan-gateway/guan/middlewares/registry"
	tcpregistry "github.com/guan-gateway/guan/middlewares/tcp/registry"
	"github.com/guan-gateway/guan/routers"
	"github.com/guan-gateway/guan/status"
)

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }

// initStatus lists every object as enabled; build steps disable or warn.
func (b *builder) initStatus() {
	for name, r := range b.m.routers {
		_, p := splitName(name)
		b.st.Routers[name] = &status.Router{Router: r, Name: name, Provider: p, Status: status.Enabled}
	}
	for name, s := range b.m.services {
		_, p := splitName(name)
		si := &status.Service{Service: s, Name: name, Provider: p, Status: status.Enabled, Type: serviceType(s)}
		svcName := name
		if s.LoadBalancer != nil {
			si.ServerStatus = func() map[string]string { return b.svcs.ServerStatus(svcName) }
		}
		b.st.Services[name] = si
	}
	for name, mw := range b.m.middlewares {
		_, p := splitName(name)
		b.st.Middlewares[name] = &status.Middleware{Middleware: mw, Name: name, Provider: p, Status: status.Enabled, Type: registry.Kind(mw)}
	}
	for name, r := range b.m.tcpRouters {
		_, p := splitName(name)
		b.st.TCPRouters[name] = &status.TCPRouter{TCPRouter: r, Name: name, Provider: p, Status: status.Enabled}
	}
	for name, s := range b.m.tcpServices {
		_, p := splitName(name)
		t := "loadbalancer"
		if s.Weighted != nil {
			t = "weighted"
		}
		b.st.TCPServices[name] = &status.TCPService{TCPService: s, Name: name, Provider: p, Status: status.Enabled, Type: t}
	}
	for name, mw := range b.m.tcpMws {
		_, p := splitName(name)
		mi := &status.TCPMiddleware{TCPMiddleware: mw, Name: name, Provider: p, Status: status.Enabled, Type: tcpregistry.Kind(mw)}
		if msg := tcpregistry.Deprecation(mw); msg != "" {
			// Accepted as in Traefik v3, which logs the same warning.
			b.log.Warn(msg, "tcpMiddleware", name)
			mi.Err, mi.Status = append(mi.Err, msg), status.Warning
		}
		b.st.TCPMiddlewares[name] = mi
	}
	for name := range b.in.Internal {
		b.st.Services[name] = &status.Service{Service: &dynamic.Service{}, Name: name, Provider: "internal", Status: status.Enabled}
	}
}

func serviceType(s *dynamic.Service) string {
	switch {
	case s.LoadBalancer != nil:
		return "loadbalancer"
	case s.Weighted != nil:
		return "weighted"
	case s.HighestRandomWeight != nil:
		return "highestrandomweight"
	case s.Mirroring != nil:
		return "mirroring"
	case s.Failover != nil:
		return "failover"
	}
	return ""
}

// finishStatus fills usedBy and service errors after every router is built.
func (b *builder) finishStatus() {
	for name, ri := range b.st.Routers {
		if ri.Status == status.Disabled {
			continue
		}
		if si := b.st.Services[ri.Router.Service]; si != nil {
			si.UsedBy = append(si.UsedBy, name)
		}
		for _, m := range ri.Router.Middlewares {
			if mi := b.st.Middlewares[m]; mi != nil {
				mi.UsedBy = append(mi.UsedBy, name)
			}
		}
	}
	for name, ri := range b.st.TCPRouters {
		if ri.Status == status.Disabled {
			continue
		}
		if si := b.st.TCPServices[ri.TCPRouter.Service]; si != nil {
			si.UsedBy = append(si.UsedBy, name)
		}
		for _, m := range ri.TCPRouter.Middlewares {
			if mi := b.st.TCPMiddlewares[m]; mi != nil {
				mi.UsedBy = append(mi.UsedBy, name)
			}
		}
	}
	referenced := b.referencedServices()
	for _, name := range sortedKeys(b.st.Services) {
		si := b.st.Services[name]
		if si.Provider == "internal" {
			slices.Sort(si.UsedBy)
			continue
		}
		if len(si.UsedBy) == 0 && !referenced[name] && !b.in.ValidateUnused {
			// Nothing routes to it: don't start health checks or pools for
			// it. `gateway check` (ValidateUnused) still builds it.
			si.ServerStatus = nil
			continue
		}
		if _, err := b.svcs.Handler(name); err != nil {
			si.Status = status.Disabled
			si.Err = append(si.Err, err.Error())
			b.problem([]string{"http", "services"}, name, "", err.Error())
		}
		slices.Sort(si.UsedBy)
	}
	for _, name := range sortedKeys(b.st.TCPServices) {
		si := b.st.TCPServices[name]
		if _, err := b.svcs.TCPHandler(name); err != nil {
			si.Status = status.Disabled
			si.Err = append(si.Err, err.Error())
			b.problem([]string{"tcp", "services"}, name, "", err.Error())
		}
		slices.Sort(si.UsedBy)
	}
	for _, name := range sortedKeys(b.st.Middlewares) {
		mi := b.st.Middlewares[name]
		if mi.Status != status.Disabled {
			if _, err := b.middleware(name); err != nil && mi.Status != status.Disabled {
				mi.Status = status.Disabled
				mi.Err = append(mi.Err, err.Error())
			}
		}
		slices.Sort(mi.UsedBy)
	}
	for _, name := range sortedKeys(b.st.TCPMiddlewares) {
		// Unused ones are built too, so their errors show.
		b.tcpMiddleware(name)
		slices.Sort(b.st.TCPMiddlewares[name].UsedBy)
	}
	for _, ri := range b.st.Routers {
		slices.Sort(ri.Using)
	}
}

// raw renders the merged configuration for /api/rawdata.
func (b *builder) raw() *dynamic.Configuration {
	return &dynamic.Configuration{
		HTTP: &dynamic.HTTPConfiguration{Routers: b.m.routers, Services: b.m.services, Middlewares: b.m.middlewares, ServersTransports: b.m.transports},
		TCP:  &dynamic.TCPConfiguration{Routers: b.m.tcpRouters, Services: b.m.tcpServices, Middlewares: b.m.tcpMws, ServersTransports: b.m.tcpTransports},
		TLS:  &dynamic.TLSConfiguration{Options: b.m.tls.Options, Stores: b.m.tls.Stores},
		MQTT: &dynamic.MQTTConfiguration{Routers: b.m.mqttRouters, Services: b.m.mqttServices, Middlewares: b.m.mqttMws},
	}
}

// redirection is one entryPoints.<ep>.http.redirections.entryPoint, named
// as Traefik names it: a router "<ep>-to-<to>@internal" whose middleware
// "redirect-<ep>-to-<to>@internal" (a redirectScheme) answers every request.
type redirection struct {
	entryPoint, router, middleware string // router and middleware qualified
	priority                       int
	redirect                       dynamic.RedirectScheme
}

// redirections lists the entrypoint redirections of the static configuration.
func (b *builder) redirections() []redirection {
	var out []redirection
	for _, name := range sortedKeys(b.in.EntryPoints) {
		ep := b.in.EntryPoints[name]
		if ep == nil || ep.HTTP == nil || ep.HTTP.Redirections == nil || ep.HTTP.Redirections.EntryPoint == nil {
			continue
		}
		rd := ep.HTTP.Redirections.EntryPoint
		port := rd.To
		if target, ok := b.in.EntryPoints[rd.To]; ok {
			_, p, err := net.SplitHostPort(strings.TrimSuffix(strings.TrimSuffix(target.Address, "/tcp"), "/udp"))
			if err != nil {
				continue
			}
			port = p
		}
		rname := normalizeName(name + "-to-" + rd.To)
		prio := rd.Priority
		if prio == 0 {
			prio = maxPriority
		}
		out = append(out, redirection{
			entryPoint: name,
			router:     rname + "@internal",
			middleware: "redirect-" + rname + "@internal",
			priority:   prio,
			redirect: dynamic.RedirectScheme{
				Scheme:    cmp.Or(rd.Scheme, "https"),
				Port:      strings.TrimPrefix(port, ":"),
				Permanent: rd.Permanent == nil || *rd.Permanent,
			},
		})
	}
	return out
}

// normalizeName joins the runs of letters and digits of s with "-", as
// Traefik names the objects it derives from the static configuration
// ("web-to-:443" becomes "web-to-443").
func normalizeName(s string) string {
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsNumber(r) }), "-")
}

// addRedirectionMiddlewares adds the redirectScheme middleware of every
// entrypoint redirection, so the API lists it and its users like any other.
func (b *builder) addRedirectionMiddlewares() {
	for _, rd := range b.redirections() {
		b.m.middlewares[rd.middleware] = &dynamic.Middleware{RedirectScheme: &rd.redirect}
	}
}

// addRedirections adds the router of every entrypoint redirection: every
// request on the entrypoint goes through its redirectScheme middleware.
func (b *builder) addRedirections(plain map[string][]routers.Route) {
	for _, rd := range b.redirections() {
		ri := &status.Router{
			Router: &dynamic.Router{EntryPoints: []string{rd.entryPoint}, Middlewares: []string{rd.middleware},
				Service: "noop@internal", Rule: "HostRegexp(`^.+$`)", RuleSyntax: "v3", Priority: rd.priority},
			Name: rd.router, Provider: "internal", Status: status.Enabled, Using: []string{rd.entryPoint},
		}
		b.st.Routers[rd.router] = ri
		h, err := b.chain([]string{rd.middleware}, noop)
		if err != nil {
			ri.Status, ri.Err, ri.Using = status.Disabled, []string{err.Error()}, nil
			continue
		}
		rule, err := routers.ParseHTTP("PathPrefix(`/`)", "v3")
		if err != nil {
			continue
		}
		plain[rd.entryPoint] = append(plain[rd.entryPoint], routers.Route{Name: rd.router, Rule: rule, Priority: rd.priority, Handler: h})
	}
}

var noop = http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})

// referencedServices lists the services other objects point at: children of
// weighted, highestRandomWeight, mirroring and failover services, and
// errors-middleware pages.
func (b *builder) referencedServices() map[string]bool {
	ref := map[string]bool{}
	for _, s := range b.m.services {
		if w := s.Weighted; w != nil {
			for _, c := range w.Services {
				ref[c.Name] = true
			}
		}
		if h := s.HighestRandomWeight; h != nil {
			for _, c := range h.Services {
				ref[c.Name] = true
			}
		}
		if m := s.Mirroring; m != nil {
			ref[m.Service] = true
			for _, c := range m.Mirrors {
				ref[c.Name] = true
			}
		}
		if f := s.Failover; f != nil {
			ref[f.Service], ref[f.Fallback] = true, true
		}
	}
	for _, m := range b.m.middlewares {
		if m.Errors != nil {
			ref[m.Errors.Service] = true
		}
	}
	return ref
}
