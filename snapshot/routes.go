package snapshot

import (
	cryptotls "crypto/tls"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"

	"github.com/guan-gateway/guan/config"
	"github.com/guan-gateway/guan/config/dynamic"
	"github.com/guan-gateway/guan/config/static"
	"github.com/guan-gateway/guan/routers"
	"github.com/guan-gateway/guan/status"
)

// tlsHost says which TLS options an HTTPS router wants for a host.
type tlsHost struct {
	host    string // lower-case; "*.example.com" for wildcards
	options string
	router  string
}

// routerEntryPoints returns the entrypoints a router attaches to: the ones
// it names, or the default ones.
func (b *builder) routerEntryPoints(names []string) (found, missing []string) {
	if len(names) == 0 {
		return DefaultEntryPoints(b.in.EntryPoints), nil
	}
	for _, ep := range names {
		if _, ok := b.in.EntryPoints[ep]; ok {
			found = append(found, ep)
		} else {
			missing = append(missing, ep)
		}
	}
	return found, missing
}

// DefaultEntryPoints returns, sorted, the entrypoints of routers that name
// none, as Traefik chooses them: the ones marked asDefault or, when none
// is, all of them; the internal "traefik" entrypoint is never one.
func DefaultEntryPoints(eps map[string]*static.EntryPoint) []string {
	marked := false
	for _, ep := range eps {
		if ep != nil && ep.AsDefault {
			marked = true
			break
		}
	}
	var out []string
	for name, ep := range eps {
		if name == static.InternalEntryPoint || marked && (ep == nil || !ep.AsDefault) {
			continue
		}
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

func (b *builder) ruleSyntax(s string) string {
	if s != "" {
		return s
	}
	return b.in.DefaultRuleSyntax
}

func (b *builder) buildHTTPRouters() (plain, secure map[string][]routers.Route, hosts map[string][]tlsHost) {
	plain, secure, hosts = map[string][]routers.Route{}, map[string][]routers.Route{}, map[string][]tlsHost{}
	for _, name := range sortedKeys(b.m.routers) {
		r := b.m.routers[name]
		ri := b.st.Routers[name]
		fail := func(field, msg string) {
			ri.Status = status.Disabled
			ri.Err = append(ri.Err, msg)
			b.problem([]string{"http", "routers"}, name, field, msg)
		}
		_, prov := splitName(name)
		eps, missing := b.routerEntryPoints(r.EntryPoints)
		for _, ep := range missing {
			ri.Err = append(ri.Err, fmt.Sprintf("entryPoint %q doesn't exist", ep))
			b.problem([]string{"http", "routers"}, name, "entryPoints", fmt.Sprintf("entryPoint %q doesn't exist", ep))
		}
		if len(eps) == 0 {
			fail("entryPoints", "no valid entryPoint for this router")
			continue
		}
		if r.TLS != nil && r.TLS.CertResolver != "" {
			b.warnCertResolver(name, r.TLS.CertResolver, &ri.Err)
		}
		if r.Rule == "" {
			fail("rule", "rule is empty: set a rule such as Host(`example.com`)")
			continue
		}
		rule, err := routers.ParseHTTP(r.Rule, b.ruleSyntax(r.RuleSyntax))
		if err != nil {
			fail("rule", "rule "+err.Error())
			continue
		}
		if r.Service == "" {
			fail("service", "service is not set")
			continue
		}
		svc, err := b.service(r.Service)
		if err != nil {
			fail("service", err.Error())
			continue
		}
		// The TLS options of each entrypoint, resolved before any route is
		// added: a router whose options are unusable is disabled, never
		// served with other options (as in Traefik).
		epTLS := make([]routeTLS, len(eps))
		tlsErr := ""
		for i, ep := range eps {
			t := &epTLS[i]
			if r.TLS != nil {
				t.on, t.options = true, r.TLS.Options
			} else if e := b.in.EntryPoints[ep]; e.HTTP != nil && e.HTTP.TLS != nil {
				// Resolved in the router's provider, like the entrypoint's
				// middlewares (and as Traefik does).
				t.on, t.fromEP = true, true
				if o := e.HTTP.TLS.Options; o != "" {
					t.options = qualifyTLSOption(o, prov)
				}
			}
			if !t.on {
				continue
			}
			conf, err := b.tlsConfig(t.options)
			if err != nil {
				tlsErr = err.Error()
				if t.fromEP {
					tlsErr = fmt.Sprintf("entryPoint %q http.tls: %v", ep, err)
				}
				break
			}
			t.conf = conf
		}
		if tlsErr != "" {
			fail("tls", tlsErr)
			continue
		}
		// Every entrypoint's route is built before any is added: a router
		// whose middlewares fail on one entrypoint serves on none, as the
		// API says.
		type pendingRoute struct {
			ep    string
			isTLS bool
			opts  string
			route routers.Route
			guard *guardedRoute
		}
		pending := make([]pendingRoute, 0, len(eps))
		failed := false
		for i, ep := range eps {
			isTLS, opts := epTLS[i].on, epTLS[i].options
			var mws []string
			if e := b.in.EntryPoints[ep]; e.HTTP != nil {
				for _, m := range e.HTTP.Middlewares {
					mws = append(mws, Qualify(m, prov))
				}
			}
			mws = append(mws, r.Middlewares...)
			h, err := b.chain(mws, svc)
			if err != nil {
				fail("middlewares", err.Error())
				failed = true
				break
			}
			var gr *guardedRoute
			if isTLS && epTLS[i].conf != b.defaultTLS() && b.eps[ep] != nil {
				// Options are chosen by SNI, before the request is known:
				// the route checks it got the connection it wants.
				g := &tlsGuard{e: b.eps[ep], want: epTLS[i].conf, next: h}
				gr = &guardedRoute{router: name, options: opts, rule: rule, guard: g}
				h = g
			}
			route := routers.Route{Name: name, Rule: rule, Priority: r.Priority, Handler: h, OwnObservability: r.Observability != nil}
			route.NoAccessLog, route.NoMetrics = r.Observability.Quiet()
			pending = append(pending, pendingRoute{ep, isTLS, opts, route, gr})
		}
		if failed {
			continue
		}
		for _, pr := range pending {
			if pr.guard != nil {
				b.guards[pr.ep] = append(b.guards[pr.ep], *pr.guard)
			}
			if pr.isTLS {
				secure[pr.ep] = append(secure[pr.ep], pr.route)
				hs, _ := rule.Hosts()
				for _, host := range hs {
					hosts[pr.ep] = append(hosts[pr.ep], tlsHost{host: strings.ToLower(host), options: pr.opts, router: name})
				}
			} else {
				plain[pr.ep] = append(plain[pr.ep], pr.route)
			}
			ri.Using = append(ri.Using, pr.ep)
		}
		if ri.Status != status.Disabled && len(ri.Err) > 0 {
			ri.Status = status.Warning
		}
		if ri.Status == status.Disabled {
			ri.Using = nil
		}
	}
	for _, ir := range b.in.InternalRouters {
		b.addInternalRouter(ir, plain, secure)
	}
	b.addRedirections(plain)
	return plain, secure, hosts
}

// chain wraps svc with the named middlewares, the first name outermost.
func (b *builder) chain(names []string, svc http.Handler) (http.Handler, error) {
	parts := make([]func(http.Handler) (http.Handler, error), 0, len(names))
	for _, n := range names {
		w, err := b.middleware(n)
		if err != nil {
			return nil, err
		}
		parts = append(parts, w)
	}
	return applyChain(parts, svc)
}

func (b *builder) addInternalRouter(ir InternalRouter, plain, secure map[string][]routers.Route) {
	if _, ok := b.in.EntryPoints[ir.EntryPoint]; !ok {
		return
	}
	ri := &status.Router{Router: &dynamic.Router{EntryPoints: []string{ir.EntryPoint}, Rule: ir.Rule, Priority: ir.Priority, Service: ir.Service, Middlewares: ir.Middlewares},
		Name: ir.Name, Provider: "internal", Status: status.Enabled, Using: []string{ir.EntryPoint}}
	b.st.Routers[ir.Name] = ri
	rule, err := routers.ParseHTTP(ir.Rule, "v3")
	if err == nil {
		var svc http.Handler
		if svc, err = b.service(ir.Service); err == nil {
			var h http.Handler
			if h, err = b.chain(ir.Middlewares, svc); err == nil {
				route := routers.Route{Name: ir.Name, Rule: rule, Priority: ir.Priority, Handler: h}
				plain[ir.EntryPoint] = append(plain[ir.EntryPoint], route)
				secure[ir.EntryPoint] = append(secure[ir.EntryPoint], route)
				return
			}
		}
	}
	ri.Status, ri.Err, ri.Using = status.Disabled, []string{err.Error()}, nil
}

func (b *builder) buildTCPRouters() map[string][]routers.TCPRoute {
	out := map[string][]routers.TCPRoute{}
	for _, name := range sortedKeys(b.m.tcpRouters) {
		r := b.m.tcpRouters[name]
		ri := b.st.TCPRouters[name]
		fail := func(field, msg string) {
			ri.Status = status.Disabled
			ri.Err = append(ri.Err, msg)
			b.problem([]string{"tcp", "routers"}, name, field, msg)
		}
		eps, missing := b.routerEntryPoints(r.EntryPoints)
		for _, ep := range missing {
			ri.Err = append(ri.Err, fmt.Sprintf("entryPoint %q doesn't exist", ep))
			b.problem([]string{"tcp", "routers"}, name, "entryPoints", fmt.Sprintf("entryPoint %q doesn't exist", ep))
		}
		if len(eps) == 0 {
			fail("entryPoints", "no valid entryPoint for this router")
			continue
		}
		if r.TLS != nil && r.TLS.CertResolver != "" {
			b.warnCertResolver(name, r.TLS.CertResolver, &ri.Err)
		}
		rule, err := routers.ParseTCP(r.Rule, b.ruleSyntax(r.RuleSyntax))
		if err != nil {
			fail("rule", "rule "+err.Error())
			continue
		}
		if _, ok := b.m.tcpServices[r.Service]; !ok {
			fail("service", fmt.Sprintf("TCP service %q does not exist", r.Service))
			continue
		}
		svc, err := b.svcs.TCPHandler(r.Service)
		if err != nil {
			fail("service", err.Error())
			continue
		}
		// The middlewares run once the router is chosen — after the TLS
		// handshake when the router terminates TLS — and before the
		// service dials a server.
		h, err := b.tcpChain(r.Middlewares, svc)
		if err != nil {
			fail("middlewares", err.Error())
			continue
		}
		tr := &tcpRoute{handler: h}
		if r.TLS != nil {
			tr.tlsOnly = true
			if !r.TLS.Passthrough {
				conf, err := b.tlsConfig(r.TLS.Options)
				if err != nil {
					fail("tls", err.Error())
					continue
				}
				tr.terminate = conf
			}
		} else if !rule.PlainTCP() {
			fail("rule", "a TCP router without tls can only use HostSNI(`*`) and ClientIP: SNI and ALPN exist only on TLS connections")
			continue
		}
		for _, ep := range eps {
			out[ep] = append(out[ep], routers.TCPRoute{Name: name, Rule: rule, Priority: r.Priority, Handler: tr})
			ri.Using = append(ri.Using, ep)
		}
		if len(ri.Err) > 0 {
			ri.Status = status.Warning
		}
	}
	return out
}

// assignTLS decides which TLS configuration each SNI gets on an entrypoint:
// the options of the HTTPS routers whose rule names that host. A host claimed
// by routers with different options falls back to the default options.
// Routers whose options the SNI choice cannot guarantee are then marked.
func (b *builder) assignTLS(ep string, e *epRoutes, hosts []tlsHost) {
	def := b.defaultTLS()
	e.tlsDefault = def
	e.tlsExact = map[string]*cryptotls.Config{}
	chosen := map[string]*cryptotls.Config{}
	conflict := map[string]bool{}
	for _, h := range hosts {
		conf, err := b.tlsConfig(h.options)
		if err != nil { // routers with unusable options are disabled before this
			b.errs = append(b.errs, &config.Error{Msg: fmt.Sprintf("tls options %q for host %q: %v", h.options, h.host, err)})
			conf = def
		}
		if prev, ok := chosen[h.host]; ok && prev != conf {
			conflict[h.host] = true
			continue
		}
		chosen[h.host] = conf
	}
	for _, host := range sortedKeys(chosen) {
		conf := chosen[host]
		if conflict[host] {
			conf = def
		}
		if strings.HasPrefix(host, "*.") {
			e.tlsWildcard = append(e.tlsWildcard, wildcardTLS{suffix: host[1:], conf: conf})
		} else {
			e.tlsExact[host] = conf
		}
	}
	for _, h := range hosts {
		if conflict[h.host] {
			b.warnRouter(h.router, fmt.Sprintf("host %q is served by routers with different TLS options; it uses the default options", h.host))
		}
	}
	for _, g := range b.guards[ep] {
		if ri := b.st.Routers[g.router]; ri == nil || ri.Status == status.Disabled {
			continue
		}
		if hs, only := g.rule.Hosts(); !only || len(hs) == 0 {
			b.warnRouter(g.router, fmt.Sprintf("TLS options are chosen by SNI, from the hosts of Host() rules, and this rule "+
				"can match hosts it does not name in Host(): its requests on connections negotiated with options other than %q "+
				"get 421 Misdirected Request; use Host() rules, or the default TLS options for HostRegexp or PathPrefix routers", g.options))
		} else {
			for _, host := range hs {
				if e.tlsFor(host) != g.guard.want {
					b.warnRouter(g.router, fmt.Sprintf("host %q does not get this router's TLS options %q: its requests on connections negotiated with other options get 421 Misdirected Request", host, g.options))
				}
			}
		}
	}
}

// warnRouter adds a message to a router's status, once, makes an enabled
// router a warning, and logs it.
func (b *builder) warnRouter(name, msg string) {
	ri := b.st.Routers[name]
	if ri == nil || slices.Contains(ri.Err, msg) {
		return
	}
	b.log.Warn(msg, "router", name)
	ri.Err = append(ri.Err, msg)
	if ri.Status == status.Enabled {
		ri.Status = status.Warning
	}
}

// routeTLS is how a router uses TLS on one entrypoint.
type routeTLS struct {
	on      bool
	options string // "" means default
	fromEP  bool   // the entrypoint's http.tls, not the router's tls
	conf    *cryptotls.Config
}

// guardedRoute is an HTTPS route whose TLS options are not the default ones.
type guardedRoute struct {
	router, options string
	rule            *routers.Rule
	guard           *tlsGuard
}

// warnCertResolver flags a router that asks for a certificate resolver:
// there is no ACME yet, so it is served with the certificates of
// tls.certificates (or the default one). A warning, not an error, so a
// Traefik file keeps serving.
func (b *builder) warnCertResolver(name, resolver string, errs *[]string) {
	msg := fmt.Sprintf("tls.certResolver %q: certificate resolvers (ACME) are not supported yet; the router is served with the certificates of tls.certificates or the default certificate", resolver)
	*errs = append(*errs, msg)
	b.log.Warn("router " + name + ": " + msg)
}
