package snapshot

import (
	cryptotls "crypto/tls"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"sort"
	"strings"

	"github.com/guan-gateway/guan/config"
	"github.com/guan-gateway/guan/config/dynamic"
	"github.com/guan-gateway/guan/config/static"
	"github.com/guan-gateway/guan/middlewares"
	"github.com/guan-gateway/guan/middlewares/registry"
	tcpregistry "github.com/guan-gateway/guan/middlewares/tcp/registry"
	"github.com/guan-gateway/guan/mqtt"
	"github.com/guan-gateway/guan/providers"
	"github.com/guan-gateway/guan/reqinfo"
	"github.com/guan-gateway/guan/routers"
	"github.com/guan-gateway/guan/services"
	"github.com/guan-gateway/guan/services/transport"
	"github.com/guan-gateway/guan/statestore"
	"github.com/guan-gateway/guan/status"
	guantls "github.com/guan-gateway/guan/tls"
)

// InternalRouter is a router the gateway adds itself (API, ping, metrics,
// entrypoint redirections), shown in the API like any other.
type InternalRouter struct {
	Name        string // qualified, e.g. "api@internal"
	EntryPoint  string
	Rule        string
	Priority    int
	Service     string // an internal service name
	Middlewares []string
}

// Input is everything a build needs.
type Input struct {
	EntryPoints       map[string]*static.EntryPoint
	DefaultRuleSyntax string
	Providers         map[string]providers.Message // last good message per provider
	Internal          map[string]http.Handler      // internal services, "name@internal"
	InternalRouters   []InternalRouter
	Store             *statestore.Build
	// MQTTWebSocket serves the HTTP services of type mqtt; nil gives the
	// snapshot a handler of its own.
	MQTTWebSocket *mqtt.Handler
	Logger        *slog.Logger
	OnServerState func(service, url string, up bool)
	// OnDecision counts a middleware's decision (metrics); nil: not counted.
	OnDecision func(middleware, kind, result string)
	// OnMirrorDropped counts mirror copies dropped (metrics); may be nil.
	OnMirrorDropped func(service, mirror string)
	// ValidateUnused builds services no router uses, to report their
	// errors (gateway check); a running gateway leaves them idle.
	ValidateUnused bool
	// DefaultTransport is the static serversTransport: default@internal,
	// used by load balancers that name no serversTransport. nil means all
	// defaults. Its relative paths resolve against DefaultTransportDir.
	DefaultTransport    *dynamic.ServersTransport
	DefaultTransportDir string
	// DefaultTCPTransport is the static tcpServersTransport: default@internal
	// for TCP load balancers that name no serversTransport. Its relative
	// paths resolve against DefaultTransportDir too.
	DefaultTCPTransport *dynamic.TCPServersTransport
}

// maxPriority is what Traefik gives its internal routers so user routers
// can't shadow them by accident.
const maxPriority = math.MaxInt32 - 1

// builder holds the state of one build.
type builder struct {
	in   Input
	m    *merged
	st   *status.Set
	svcs *services.Set
	tlsm *guantls.Manager
	errs config.Errors

	mqttErrs   map[string][]string // mqtt router → why it is not served
	mqttSvcs   map[string]*mqtt.Service
	mqttByName map[string]*mqtt.Route // built mqtt routes, for WebSocket services
	log        *slog.Logger
	mwMemo     map[string]mwResult
	mwBusy     map[string]bool
	tcpMw      map[string]tcpMwResult
	eps        map[string]*epRoutes      // filled in by Build after the routers
	guards     map[string][]guardedRoute // per entrypoint
	def        *cryptotls.Config
	defOK      bool
}

type mwResult struct {
	wrap func(http.Handler) (http.Handler, error)
	err  error
}

type tcpMwResult struct {
	wrap middlewares.TCPConstructor
	err  error
}

// Build compiles in into a snapshot. Object errors disable the object and are
// listed in Problems; Build itself fails only when nothing could be compiled.
func Build(in Input) (*Snapshot, error) {
	if in.Logger == nil {
		in.Logger = slog.Default()
	}
	b := &builder{in: in, m: mergeConfigs(in.Providers), st: status.NewSet(), log: in.Logger,
		mwMemo: map[string]mwResult{}, mwBusy: map[string]bool{}, tcpMw: map[string]tcpMwResult{}}
	for p, msg := range in.Providers {
		if msg.Err != nil {
			b.st.ProviderErrors[p] = strings.Split(msg.Err.Error(), "\n")
		}
	}
	for name, ep := range in.EntryPoints {
		b.st.EntryPoints = append(b.st.EntryPoints, status.EntryPoint{Name: name, Address: ep.Address})
	}
	sort.Slice(b.st.EntryPoints, func(i, j int) bool { return b.st.EntryPoints[i].Name < b.st.EntryPoints[j].Name })

	if in.DefaultTransport != nil {
		b.m.transports[transport.DefaultName] = in.DefaultTransport
	}
	if in.DefaultTCPTransport != nil {
		b.m.tcpTransports[transport.DefaultName] = in.DefaultTCPTransport
	}
	b.svcs = services.New(services.Options{
		Services:      b.m.services,
		Transports:    b.m.transports,
		TCPServices:   b.m.tcpServices,
		TCPTransports: b.m.tcpTransports,
		Store:         in.Store,
		Logger:        in.Logger,
		BaseDir: func(name string) string {
			if name == transport.DefaultName {
				return in.DefaultTransportDir
			}
			_, p := splitName(name)
			return b.m.baseDir[p]
		},
		OnServerState:   in.OnServerState,
		OnMirrorDropped: in.OnMirrorDropped,
		MQTTWebSocket:   b.mqttWebSocket,
	})
	b.buildTLS()
	b.addRedirectionMiddlewares()
	b.initStatus()

	snap := &Snapshot{status: b.st, eps: map[string]*epRoutes{}, certs: b.tlsm.Certificates(), inventory: b.tlsm.Inventory()}
	snap.raw = b.raw()
	b.eps, b.guards = map[string]*epRoutes{}, map[string][]guardedRoute{}
	for name := range in.EntryPoints {
		b.eps[name] = &epRoutes{tlsm: b.tlsm}
	}
	// MQTT first: HTTP services of type mqtt (WebSocket) use its routes.
	b.mqttErrs, b.mqttSvcs, b.mqttByName = map[string][]string{}, map[string]*mqtt.Service{}, map[string]*mqtt.Route{}
	mqttRoutes, mqttTLS := b.buildMQTTRouters()
	httpRoutes, httpsRoutes, tlsHosts := b.buildHTTPRouters()
	tcpRoutes := b.buildTCPRouters()
	snap.mqttErrs, snap.mqttSvcs = b.mqttErrs, b.mqttSvcs
	for name := range in.EntryPoints {
		e := b.eps[name]
		if len(mqttRoutes[name]) > 0 {
			e.mqtt = mqttTable{routers.NewMQTTTable(mqttRoutes[name])}
			e.mqttTLS = mqttTLS[name]
		}
		e.http = routers.NewTable(httpRoutes[name])
		if len(httpsRoutes[name]) > 0 {
			e.https = routers.NewTable(httpsRoutes[name])
			e.hasHTTPS = true
		}
		// TLS and plain TCP routes live in separate tables, so a route of
		// one kind never captures a connection of the other.
		var tlsRoutes, plainRoutes []routers.TCPRoute
		for _, r := range tcpRoutes[name] {
			if r.Handler.(*tcpRoute).tlsOnly {
				tlsRoutes = append(tlsRoutes, r)
			} else {
				plainRoutes = append(plainRoutes, r)
			}
		}
		if len(tlsRoutes) > 0 {
			e.tcpTLS = routers.NewTCPTable(tlsRoutes)
		}
		if len(plainRoutes) > 0 {
			e.tcpPlain = routers.NewTCPTable(plainRoutes)
		}
		if e.hasHTTPS {
			b.assignTLS(name, e, tlsHosts[name])
		}
		snap.eps[name] = e
	}
	b.finishStatus()
	b.errs.Sort()
	snap.errs = b.errs
	return snap, nil
}

// problem records an error against an object and its source position.
func (b *builder) problem(kind []string, qname string, field string, msg string) {
	name, prov := splitName(qname)
	var pos config.Position
	if f := b.m.pos[prov]; f != nil {
		path := append(append([]string{}, kind...), name)
		if field != "" {
			path = append(path, field)
		}
		pos = f(path...)
	}
	b.errs = append(b.errs, &config.Error{Pos: pos, Msg: fmt.Sprintf("%s %q: %s", strings.Join(kind, "."), qname, msg)})
}

func (b *builder) buildTLS() {
	dirs := b.m.certDirs
	mgr, errs := guantls.NewManager(&b.m.tls, func(i int) string {
		if i >= 0 && i < len(dirs) {
			return dirs[i]
		}
		// Stores and options (caFiles) are global: resolve against the
		// file provider, the one provider with files.
		return b.m.baseDir["file"]
	})
	b.tlsm = mgr
	for _, e := range errs {
		b.errs = append(b.errs, &config.Error{Msg: "tls: " + e.Error()})
	}
}

// defaultTLS returns the config of the default TLS options, nil when they
// are unusable (reported once).
func (b *builder) defaultTLS() *cryptotls.Config {
	if !b.defOK {
		def, err := b.tlsConfig("default")
		if err != nil {
			b.log.Error("default TLS options unusable", "error", err)
		}
		b.def, b.defOK = def, true
	}
	return b.def
}

func (b *builder) tlsConfig(options string) (*cryptotls.Config, error) {
	if options == "" {
		options = "default"
	}
	return b.tlsm.Config(options)
}

// service resolves an HTTP service by qualified name, internal ones included.
func (b *builder) service(name string) (http.Handler, error) {
	if h, ok := b.in.Internal[name]; ok {
		return internalService{name: name, h: h}, nil
	}
	if _, ok := b.m.services[name]; !ok {
		return nil, fmt.Errorf("service %q does not exist", name)
	}
	return b.svcs.Handler(name)
}

// internalService names an internal service in the request's reqinfo, as
// load balancers do for theirs, so the access log's ServiceName and the
// metrics' service label show it (demo@file → demo@internal).
type internalService struct {
	name string
	h    http.Handler
}

func (s internalService) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if info, ok := reqinfo.Lookup(r.Context()); ok {
		info.Service = s.name
	}
	s.h.ServeHTTP(w, r)
}

// middleware returns a wrapper for the named middleware; chains are resolved
// here so cycles are found and reported instead of recursing forever.
func (b *builder) middleware(name string) (func(http.Handler) (http.Handler, error), error) {
	if r, ok := b.mwMemo[name]; ok {
		return r.wrap, r.err
	}
	if b.mwBusy[name] {
		return nil, fmt.Errorf("middleware %q is part of a chain cycle", name)
	}
	cfg, ok := b.m.middlewares[name]
	if !ok {
		return nil, fmt.Errorf("middleware %q does not exist", name)
	}
	b.mwBusy[name] = true
	wrap, err := b.compileMiddleware(name, cfg)
	delete(b.mwBusy, name)
	b.mwMemo[name] = mwResult{wrap, err}
	if mi := b.st.Middlewares[name]; mi != nil && err != nil {
		mi.Status = status.Disabled
		mi.Err = append(mi.Err, err.Error())
		b.problem([]string{"http", "middlewares"}, name, "", err.Error())
	}
	return wrap, err
}

func (b *builder) compileMiddleware(name string, cfg *dynamic.Middleware) (func(http.Handler) (http.Handler, error), error) {
	if cfg.Chain != nil {
		if n := registry.Count(cfg); n != 1 {
			return nil, fmt.Errorf("exactly one middleware type must be set, found %d", n)
		}
		var parts []func(http.Handler) (http.Handler, error)
		for _, child := range cfg.Chain.Middlewares {
			w, err := b.middleware(child)
			if err != nil {
				return nil, err // names the failing middleware already
			}
			parts = append(parts, w)
		}
		return func(next http.Handler) (http.Handler, error) { return applyChain(parts, next) }, nil
	}
	_, prov := splitName(name)
	env := middlewares.Env{
		Name:    name,
		Store:   b.in.Store,
		Logger:  b.log.With("middleware", name),
		BaseDir: b.m.baseDir[prov],
		Service: func(svc string) (http.Handler, error) { return b.service(Qualify(svc, prov)) },
	}
	if on := b.in.OnDecision; on != nil {
		kind := registry.Kind(cfg)
		env.Decision = func(result string) { on(name, kind, result) }
	}
	ctor, err := registry.New(env, cfg)
	if err != nil {
		return nil, err
	}
	return func(next http.Handler) (http.Handler, error) { return ctor(next) }, nil
}

// applyChain wraps next so that parts[0] runs first.
func applyChain(parts []func(http.Handler) (http.Handler, error), next http.Handler) (http.Handler, error) {
	h := next
	for i := len(parts) - 1; i >= 0; i-- {
		var err error
		if h, err = parts[i](h); err != nil {
			return nil, err
		}
	}
	return h, nil
}

// tcpMiddleware returns the constructor of the named TCP middleware, built
// once per snapshot; a failure disables the middleware and is reported once.
func (b *builder) tcpMiddleware(name string) (middlewares.TCPConstructor, error) {
	if r, ok := b.tcpMw[name]; ok {
		return r.wrap, r.err
	}
	var r tcpMwResult
	if cfg, ok := b.m.tcpMws[name]; !ok {
		r.err = fmt.Errorf("TCP middleware %q does not exist", name)
		if _, isHTTP := b.m.middlewares[name]; isHTTP {
			r.err = fmt.Errorf("middleware %q is an HTTP middleware: TCP routers take TCP middlewares (tcp.middlewares)", name)
		}
	} else {
		_, prov := splitName(name)
		env := middlewares.Env{Name: name, Store: b.in.Store, Logger: b.log.With("tcpMiddleware", name), BaseDir: b.m.baseDir[prov]}
		r.wrap, r.err = tcpregistry.New(env, cfg)
		if mi := b.st.TCPMiddlewares[name]; mi != nil && r.err != nil {
			mi.Status = status.Disabled
			mi.Err = append(mi.Err, r.err.Error())
			b.problem([]string{"tcp", "middlewares"}, name, "", r.err.Error())
		}
	}
	b.tcpMw[name] = r
	return r.wrap, r.err
}

// tcpChain wraps h with the named TCP middlewares, the first name outermost.
func (b *builder) tcpChain(names []string, h middlewares.TCPHandler) (middlewares.TCPHandler, error) {
	parts := make([]middlewares.TCPConstructor, len(names))
	for i, n := range names {
		w, err := b.tcpMiddleware(n)
		if err != nil {
			return nil, err
		}
		parts[i] = w
	}
	for i := len(parts) - 1; i >= 0; i-- {
		var err error
		if h, err = parts[i](h); err != nil {
			return nil, err
		}
	}
	return h, nil
}
