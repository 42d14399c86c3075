package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/guan-gateway/guan"
	"github.com/guan-gateway/guan/accesslog"
	"github.com/guan-gateway/guan/config/static"
	"github.com/guan-gateway/guan/dashboard"
	"github.com/guan-gateway/guan/entrypoints"
	"github.com/guan-gateway/guan/entrypoints/inherit"
	"github.com/guan-gateway/guan/metrics"
	"github.com/guan-gateway/guan/mqtt"
	"github.com/guan-gateway/guan/pipeline"
	"github.com/guan-gateway/guan/providers"
	"github.com/guan-gateway/guan/providers/file"
	"github.com/guan-gateway/guan/services/builtin"
	"github.com/guan-gateway/guan/snapshot"
	"github.com/guan-gateway/guan/statestore"
	"github.com/guan-gateway/guan/status"
)

// internals are the handlers behind the *@internal services.
type internals struct {
	api, dashboard, ping, prometheus http.Handler
}

// internalServices returns the *@internal services; api, dashboard, ping
// and prometheus exist only when the static configuration enables them, so a
// router cannot expose the API that the operator did not turn on.
func internalServices(cfg *static.Configuration, in *internals) map[string]http.Handler {
	m := map[string]http.Handler{"noop@internal": builtin.Noop, "demo@internal": builtin.Demo()}
	if in == nil {
		// check mode: the names must resolve, the handlers are never called.
		in = &internals{api: builtin.Noop, dashboard: builtin.Noop, ping: builtin.Noop, prometheus: builtin.Noop}
	}
	if cfg.API != nil {
		m["api@internal"] = in.api
		if cfg.API.Dashboard == nil || *cfg.API.Dashboard {
			m["dashboard@internal"] = in.dashboard
		}
	}
	if cfg.Ping != nil {
		m["ping@internal"] = in.ping
	}
	if cfg.Metrics != nil && cfg.Metrics.Prometheus != nil {
		m["prometheus@internal"] = in.prometheus
	}
	return m
}

// internalRouters are the routers Traefik adds for its own endpoints.
func internalRouters(cfg *static.Configuration) []snapshot.InternalRouter {
	var rs []snapshot.InternalRouter
	const top = 1<<31 - 2
	if a := cfg.API; a != nil && a.Insecure {
		base := strings.TrimSuffix(a.BasePath, "/")
		rs = append(rs, snapshot.InternalRouter{Name: "api@internal", EntryPoint: "traefik", Priority: top,
			Rule: fmt.Sprintf("PathPrefix(`%s/api`)", base), Service: "api@internal"})
		if a.Dashboard == nil || *a.Dashboard {
			rs = append(rs, snapshot.InternalRouter{Name: "dashboard@internal", EntryPoint: "traefik", Priority: top - 1,
				Rule: fmt.Sprintf("PathPrefix(`%s/`)", base), Service: "dashboard@internal"})
		}
	}
	if p := cfg.Ping; p != nil && !p.ManualRouting {
		rs = append(rs, snapshot.InternalRouter{Name: "ping@internal", EntryPoint: p.EntryPoint, Priority: top,
			Rule: "PathPrefix(`/ping`)", Service: "ping@internal"})
	}
	if m := cfg.Metrics; m != nil && m.Prometheus != nil && !m.Prometheus.ManualRouting {
		rs = append(rs, snapshot.InternalRouter{Name: "prometheus@internal", EntryPoint: m.Prometheus.EntryPoint, Priority: top,
			Rule: "PathPrefix(`/metrics`)", Service: "prometheus@internal"})
	}
	return rs
}

func buildInput(cfg *static.Configuration, msgs map[string]providers.Message, b *statestore.Build, in *internals, log *slog.Logger) snapshot.Input {
	syntax := "v3"
	if cfg.Core != nil && cfg.Core.DefaultRuleSyntax != "" {
		syntax = cfg.Core.DefaultRuleSyntax
	}
	return snapshot.Input{
		EntryPoints:       cfg.EntryPoints,
		DefaultRuleSyntax: syntax,
		Providers:         msgs,
		Internal:          internalServices(cfg, in),
		InternalRouters:   internalRouters(cfg),
		Store:             b,
		Logger:            log,
		// The static serversTransport is default@internal.
		DefaultTransport:    cfg.ServersTransport,
		DefaultTransportDir: cfg.BaseDir(),
		// The static tcpServersTransport is default@internal for TCP.
		DefaultTCPTransport: cfg.TCPServersTransport,
	}
}

// apiSource adapts the pipeline to what the API reads.
type apiSource struct {
	p         *pipeline.Pipeline
	eps       []status.EntryPoint
	features  dashboard.Features
	static    *static.Configuration
	providers []string
	mqtt      *mqttSessions
}

func (s apiSource) Features() dashboard.Features { return s.features }

func (s apiSource) Status() *status.Set                 { return s.p.Current().Status() }
func (s apiSource) EntryPoints() []status.EntryPoint    { return s.eps }
func (s apiSource) Version() (version, codename string) { return guan.Version, guan.Codename }
func (s apiSource) StaticConfig() any                   { return s.static }
func (s apiSource) Providers() []string                 { return s.providers }

func (s apiSource) Certificates() []dashboard.Certificate {
	inv := s.p.Current().CertificateInventory()
	out := make([]dashboard.Certificate, 0, len(inv))
	for _, c := range inv {
		d := dashboard.Certificate{
			Subject: c.Leaf.Subject.CommonName, Issuer: c.Leaf.Issuer.CommonName,
			SANs: slices.Clone(c.Leaf.DNSNames), NotBefore: c.Leaf.NotBefore, NotAfter: c.Leaf.NotAfter,
			Protocol: c.Protocol, Usage: c.Usage, KeyType: c.KeyType, Default: c.Default,
		}
		for _, ip := range c.Leaf.IPAddresses {
			d.SANs = append(d.SANs, ip.String())
		}
		if c.Leaf.SerialNumber != nil {
			d.Serial = c.Leaf.SerialNumber.String()
		}
		out = append(out, d)
	}
	return out
}

// configuredProviders names the providers of the static configuration as
// Traefik's /api/overview does.
func configuredProviders(cfg *static.Configuration) []string {
	out := []string{}
	if cfg.Providers != nil && cfg.Providers.File != nil {
		out = append(out, "File")
	}
	return out
}

// epHandler routes a request with the snapshot that is live when it arrives.
type epHandler struct {
	name string
	p    *pipeline.Pipeline
}

func (h epHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.p.Current().ServeHTTP(h.name, w, r)
}

// serve runs the gateway until SIGTERM or SIGINT.
func serve(source staticSource, stderr io.Writer) int {
	cfg, used, err := loadStatic(source)
	if err != nil {
		fmt.Fprintln(stderr, describe(used, err))
		return 1
	}
	log, logOut, err := newLogger(cfg.Log, stderr)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if logOut != nil {
		defer logOut.Close()
	}
	slog.SetDefault(log)
	log.Info("starting", "version", guan.Version, "config", used)
	logSource(log, source, used)
	// Take over the signals first: a SIGHUP during start-up must not kill
	// the process, and SIGUSR2 (binary upgrade) is not handled yet.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGUSR1, syscall.SIGUSR2)

	var prom *static.Prometheus
	if cfg.Metrics != nil {
		prom = cfg.Metrics.Prometheus
	}
	mets := metrics.FromStatic(cfg.Metrics)
	alog, err := accesslog.New(cfg.AccessLog)
	if err != nil {
		log.Error("access log", "error", err)
		return 1
	}
	defer alog.Close()

	var terminating atomic.Bool
	throttle := 2 * time.Second
	if cfg.Providers != nil && cfg.Providers.ProvidersThrottleDuration != nil {
		throttle = cfg.Providers.ProvidersThrottleDuration.Std()
	}
	in := &internals{prometheus: mets.Handler()}
	pingStatus := 503
	if cfg.Ping != nil && cfg.Ping.TerminatingStatusCode != 0 {
		pingStatus = cfg.Ping.TerminatingStatusCode
	}
	in.ping = dashboard.PingHandler(terminating.Load, pingStatus)

	// MQTT over WebSocket (HTTP services of type mqtt) shares one handler,
	// so its sessions show in the API whatever snapshot served them.
	wsMQTT := &mqtt.Handler{EntryPoint: "websocket", Log: log, Events: mets.MQTT()}
	var p *pipeline.Pipeline
	p = pipeline.New(pipeline.Options{
		Throttle: throttle,
		Logger:   log,
		OnReload: mets.ReloadDone,
		OnCommit: func(s *snapshot.Snapshot) { pruneMetrics(mets, s) },
		Build: func(msgs map[string]providers.Message, b *statestore.Build) (*snapshot.Snapshot, error) {
			input := buildInput(cfg, msgs, b, in, log)
			input.OnServerState = mets.ServerState
			input.OnDecision = mets.Decision
			input.OnMirrorDropped = mets.MirrorDropped
			input.MQTTWebSocket = wsMQTT
			snap, err := snapshot.Build(input)
			if err == nil {
				// The pipeline swaps in every snapshot that builds.
				mets.SetCertificates(snap.Certificates())
			}
			return snap, err
		},
	})
	var epStatus []status.EntryPoint
	for name, ep := range cfg.EntryPoints {
		epStatus = append(epStatus, status.EntryPoint{Name: name, Address: ep.Address, Config: ep})
	}
	basePath := "/"
	dash := true
	if cfg.API != nil {
		basePath = cfg.API.BasePath
		dash = cfg.API.Dashboard == nil || *cfg.API.Dashboard
	}
	mqttLive := &mqttSessions{extra: []*mqtt.Handler{wsMQTT}}
	src := apiSource{p: p, eps: epStatus, features: dashboard.Features{AccessLog: cfg.AccessLog != nil},
		static: cfg, providers: configuredProviders(cfg), mqtt: mqttLive}
	if prom != nil {
		src.features.Metrics = "Prometheus"
	}
	// The API handler also serves the dashboard UI and redirects the base
	// path to it when the dashboard is enabled.
	in.api = dashboard.NewAPI(src, basePath, dash)
	if cfg.API != nil && cfg.API.Debug {
		in.api = dashboard.WithDebug(in.api, basePath)
	}
	in.dashboard = in.api

	inherited, err := inherit.Listeners()
	if err != nil {
		log.Error("inherited listeners", "error", err)
		return 1
	}
	eps := map[string]*entrypoints.EntryPoint{}
	for name, epCfg := range cfg.EntryPoints {
		name := name
		var h http.Handler = epHandler{name: name, p: p}
		h = mets.Wrap(name, h)
		h = alog.Wrap(name, h)
		ep, err := entrypoints.New(entrypoints.Options{
			Name:       name,
			Config:     epCfg,
			Handler:    h,
			Routing:    func() entrypoints.Routing { return p.Current().Routing(name) },
			Listener:   inherited[name],
			Logger:     log, // New adds the entryPoint attribute
			OnConn:     func(proto string, delta int) { mets.ConnOpened(name, proto, delta) },
			MQTTEvents: mets.MQTT(),
		})
		if err != nil {
			log.Error("entrypoint", "entryPoint", name, "error", err)
			return 1
		}
		eps[name] = ep
	}
	mqttLive.set(eps)
	for name := range inherited {
		if _, ok := eps[name]; !ok {
			log.Warn("inherited listener has no entrypoint of that name; closing it", "entryPoint", name)
			inherited[name].Close()
		}
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	msgs := make(chan providers.Message, 16)
	var fileProv *file.Provider
	if cfg.Providers != nil && cfg.Providers.File != nil {
		fileProv = file.New(*cfg.Providers.File, log.With("provider", "file"))
		go func() {
			if err := fileProv.Run(ctx, msgs); err != nil && ctx.Err() == nil {
				log.Error("file provider stopped", "error", err)
			}
		}()
	}
	// Internal routers (API, ping, metrics, redirections) exist even
	// without any provider.
	p.Apply()
	go p.Run(ctx, msgs)
	if fileProv != nil {
		select {
		case <-p.Applied():
		case <-time.After(10 * time.Second):
			log.Warn("no configuration applied yet; starting with an empty one")
		}
	}

	for name, ep := range eps {
		if err := ep.Start(); err != nil {
			log.Error("entrypoint", "entryPoint", name, "error", err)
			return 1
		}
		if q := ep.QUICAddr(); q != nil {
			log.Info("entrypoint listening", "entryPoint", name, "address", ep.Addr().String(), "quic", q.String())
			continue
		}
		log.Info("entrypoint listening", "entryPoint", name, "address", ep.Addr().String())
	}
	releaseStartupPages(log)

	for sig := range sigs {
		switch sig {
		case syscall.SIGHUP:
			log.Info("SIGHUP: reloading configuration")
			if fileProv != nil {
				fileProv.Reload()
			}
		case syscall.SIGUSR2:
			log.Warn("SIGUSR2: binary upgrade is not supported yet; ignored")
		case syscall.SIGUSR1:
			// Logged after the reopen, so the new file starts with it.
			if logOut != nil {
				if err := logOut.Reopen(); err != nil {
					log.Error("SIGUSR1: log.filePath", "error", err)
				}
			}
			if err := alog.Reopen(); err != nil {
				log.Error("SIGUSR1: accessLog.filePath", "error", err)
			}
			log.Info("SIGUSR1: log files reopened")
		default:
			log.Info("shutting down", "signal", sig.String())
			terminating.Store(true)
			shutdown(cfg, eps, log, wsMQTT)
			cancel()
			return 0
		}
	}
	return 0
}

// shutdown drains every entrypoint in parallel within its graceTimeOut;
// MQTT-over-WebSocket clients are disconnected over the longest of them.
func shutdown(cfg *static.Configuration, eps map[string]*entrypoints.EntryPoint, log *slog.Logger, ws *mqtt.Handler) {
	var wg sync.WaitGroup
	longest := 10 * time.Second
	for name := range eps {
		if t := cfg.EntryPoints[name].Transport; t != nil && t.LifeCycle != nil && t.LifeCycle.GraceTimeOut != nil {
			longest = max(longest, t.LifeCycle.GraceTimeOut.Std())
		}
	}
	if ws != nil {
		ctx, cancel := context.WithTimeout(context.Background(), longest)
		defer cancel()
		go ws.Drain(ctx, longest*8/10)
	}
	for name, ep := range eps {
		grace := 10 * time.Second
		if t := cfg.EntryPoints[name].Transport; t != nil && t.LifeCycle != nil {
			if t.LifeCycle.GraceTimeOut != nil {
				grace = t.LifeCycle.GraceTimeOut.Std()
			}
			if t.LifeCycle.RequestAcceptGraceTimeout != nil {
				grace += t.LifeCycle.RequestAcceptGraceTimeout.Std()
			}
		}
		wg.Add(1)
		go func(name string, ep *entrypoints.EntryPoint) {
			defer wg.Done()
			// Shutdown keeps accepting for requestAcceptGraceTimeout, so load
			// balancers in front see the failing /ping before connections are
			// refused, then drains within graceTimeOut.
			ctx, cancel := context.WithTimeout(context.Background(), grace)
			defer cancel()
			if err := ep.Shutdown(ctx); err != nil {
				log.Warn("entrypoint did not drain in time; remaining connections closed", "entryPoint", name, "error", err)
			}
		}(name, ep)
	}
	wg.Wait()
}
