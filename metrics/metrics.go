// Package metrics exports the gateway's Prometheus metrics: per entrypoint,
// router and service request counts, latencies and sizes, open connections,
// configuration reloads, certificate expiry and upstream server health.
// Names and labels are Traefik v3's with the prefix "guan_" instead of
// "traefik_".
package metrics

import (
	"crypto/x509"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/guan-gateway/guan/config/static"
	"github.com/guan-gateway/guan/metrics/capture"
	"github.com/guan-gateway/guan/reqinfo"
)

// DefaultBuckets are the latency histogram buckets, in seconds, used when the
// configuration names none (Traefik's defaults).
var DefaultBuckets = []float64{0.1, 0.3, 1.2, 5.0}

// Metrics owns a Prometheus registry and the gateway's collectors. The zero
// value and a nil *Metrics are disabled: every method is a cheap no-op.
type Metrics struct {
	reg *prometheus.Registry

	entryPoints *requestVecs // nil unless addEntryPointsLabels
	routers     *requestVecs // nil unless addRoutersLabels
	services    *requestVecs // nil unless addServicesLabels
	retries     *prometheus.CounterVec

	openConns      *prometheus.GaugeVec
	mqtt           *mqttVecs
	reloads        prometheus.Counter // successful reloads, as Traefik v3
	reloadFailures prometheus.Counter // Guan extension
	lastSuccess    prometheus.Gauge
	lastFailure    prometheus.Gauge // Guan extension
	serverUp       *prometheus.GaugeVec
	certsNotAfter  *prometheus.GaugeVec
	decisions      *prometheus.CounterVec // middleware, type, result
	mirrorDropped  *prometheus.CounterVec // service, mirror
	httpVersions   *prometheus.CounterVec // entrypoint, http_version (Guan extension)

	// addInternals counts requests routed by *@internal routers too.
	addInternals bool

	// headerLabels are metrics.prometheus.headerLabels, sorted by label:
	// extra labels of the *_requests_total counters, valued from a
	// request header.
	headerLabels []headerLabel

	// Label-resolved series, so the request path does a lock-free map load
	// instead of hashing label values in WithLabelValues.
	epCache     sync.Map // epKey -> *series
	routerCache sync.Map // routerKey -> *series
	svcCache    sync.Map // svcKey -> *series
	retryCache  sync.Map // string -> prometheus.Counter
	connCache   sync.Map // [2]string -> prometheus.Gauge
	tlsCache    sync.Map // tlsKey -> prometheus.Counter
	decCache    sync.Map // [3]string -> prometheus.Counter
	dropCache   sync.Map // [2]string -> prometheus.Counter
	verCache    sync.Map // verKey -> prometheus.Counter

	certsMu sync.Mutex // serializes SetCertificates

	// resolveMu serializes the creation of cached series (a cache miss,
	// off the fast path) with Prune, so a cache never keeps a series Prune
	// deleted from its vector.
	resolveMu sync.Mutex
	// serversMu guards servers, the guan_service_server_up label pairs
	// set, for Prune.
	serversMu sync.Mutex
	servers   map[[2]string]struct{}
}

// headerLabel is one of metrics.prometheus.headerLabels.
type headerLabel struct {
	label  string
	header string // canonical; "Host" is the request's host
}

// headerValues returns the header label values of r, in label order; a missing
// header gives "".
func headerValues(labels []headerLabel, r *http.Request) []string {
	out := make([]string, len(labels))
	for i, l := range labels {
		if l.header == "Host" {
			out[i] = r.Host
		} else if v := r.Header[l.header]; len(v) > 0 {
			out[i] = v[0]
		}
	}
	return out
}

// requestVecs are the request metrics of one level (entrypoint, router or
// service).
type requestVecs struct {
	labels    []string // of reqs, without the header labels
	hdr       bool     // reqs also has the header labels: it is not cached in series
	reqs      *prometheus.CounterVec
	tlsReqs   *prometheus.CounterVec // tls_version, tls_cipher, then the level's own labels
	duration  *prometheus.HistogramVec
	reqBytes  *prometheus.CounterVec
	respBytes *prometheus.CounterVec
}

// series is requestVecs resolved for one label tuple.
type series struct {
	reqs prometheus.Counter // nil with header labels

	duration  prometheus.Observer
	reqBytes  prometheus.Counter
	respBytes prometheus.Counter
}

type epKey struct {
	code                   int
	method, proto, entryPt string
}

type routerKey struct {
	code                           int
	method, proto, router, service string
}

type svcKey struct {
	code                   int
	method, proto, service string
}

// tlsKey identifies a series of one of the *_requests_tls_total counters;
// level tells them apart.
type tlsKey struct {
	level           byte // 'e'ntrypoint, 'r'outer, 's'ervice
	version, cipher uint16
	a, b            string // entrypoint | router, service | service
}

// FromStatic builds the metrics of the static configuration's metrics
// section: Prometheus when metrics.prometheus is set, with
// metrics.addInternals applied. A nil cfg disables metrics.
func FromStatic(cfg *static.Metrics) *Metrics {
	if cfg == nil {
		return New(nil)
	}
	m := New(cfg.Prometheus)
	if m.Enabled() {
		m.addInternals = cfg.AddInternals
	}
	return m
}

// New builds the metrics for cfg. A nil cfg disables metrics. Requests
// routed by *@internal routers are not counted (see FromStatic).
func New(cfg *static.Prometheus) *Metrics {
	if cfg == nil {
		return &Metrics{}
	}
	buckets := cfg.Buckets
	if len(buckets) == 0 {
		buckets = DefaultBuckets
	}
	m := &Metrics{reg: prometheus.NewRegistry()}
	for _, label := range slices.Sorted(maps.Keys(cfg.HeaderLabels)) {
		m.headerLabels = append(m.headerLabels, headerLabel{label, http.CanonicalHeaderKey(cfg.HeaderLabels[label])})
	}
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	if cfg.AddEntryPointsLabels == nil || *cfg.AddEntryPointsLabels {
		m.entryPoints = m.newRequestVecs("entrypoint", "an entrypoint", buckets, "entrypoint")
		m.httpVersions = prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "guan_entrypoint_requests_http_version_total",
			Help: "Requests served by an entrypoint, by HTTP version (1.0, 1.1, 2, 3).",
		}, []string{"entrypoint", "http_version"})
		m.reg.MustRegister(m.httpVersions)
	}
	if cfg.AddRoutersLabels {
		m.routers = m.newRequestVecs("router", "a router", buckets, "router", "service")
	}
	if cfg.AddServicesLabels == nil || *cfg.AddServicesLabels {
		m.services = m.newRequestVecs("service", "a service", buckets, "service")
		m.retries = prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "guan_service_retries_total",
			Help: "Request retries made by a service.",
		}, []string{"service"})
		m.reg.MustRegister(m.retries)
	}
	m.openConns = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "guan_open_connections",
		Help: "Open connections per entrypoint and protocol (TCP, HTTP).",
	}, []string{"entrypoint", "protocol"})
	m.reloads = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "guan_config_reloads_total",
		Help: "Configuration reloads applied.",
	})
	m.reloadFailures = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "guan_config_reloads_failure_total",
		Help: "Configuration reloads refused; the previous configuration kept serving.",
	})
	m.lastSuccess = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "guan_config_last_reload_success",
		Help: "Unix time, in seconds, of the last configuration reload applied.",
	})
	m.lastFailure = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "guan_config_last_reload_failure",
		Help: "Unix time, in seconds, of the last configuration reload refused.",
	})
	m.serverUp = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "guan_service_server_up",
		Help: "Whether a service's server is up (1) or down (0).",
	}, []string{"service", "url"})
	m.certsNotAfter = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "guan_tls_certs_not_after",
		Help: "Expiry (NotAfter) of a loaded certificate, in Unix seconds.",
	}, []string{"cn", "serial", "sans"})
	m.decisions = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "guan_middleware_decisions_total",
		Help: "Decisions of policy middlewares (rateLimit...) by result.",
	}, []string{"middleware", "type", "result"})
	m.mirrorDropped = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "guan_service_mirror_dropped_total",
		Help: "Mirror copies not sent because the mirroring service had maxInFlight copies running.",
	}, []string{"service", "mirror"})
	m.mqtt = newMQTTVecs()
	m.reg.MustRegister(m.openConns, m.reloads, m.reloadFailures, m.lastSuccess, m.lastFailure, m.serverUp, m.certsNotAfter, m.decisions, m.mirrorDropped)
	m.mqtt.register(m.reg)
	return m
}

// MirrorDropped counts one mirror copy dropped by a mirroring service.
func (m *Metrics) MirrorDropped(service, mirror string) {
	if !m.Enabled() {
		return
	}
	k := [2]string{service, mirror}
	v, ok := m.dropCache.Load(k)
	if !ok {
		v = m.resolve(&m.dropCache, k, func() any { return m.mirrorDropped.WithLabelValues(service, mirror) })
	}
	v.(prometheus.Counter).Inc()
}

// Decision counts one decision of a middleware ("allowed", "limited"...).
func (m *Metrics) Decision(middleware, kind, result string) {
	if !m.Enabled() {
		return
	}
	k := [3]string{middleware, kind, result}
	v, ok := m.decCache.Load(k)
	if !ok {
		v = m.resolve(&m.decCache, k, func() any { return m.decisions.WithLabelValues(middleware, kind, result) })
	}
	v.(prometheus.Counter).Inc()
}

// newRequestVecs registers the request metrics of one level; own are the
// labels naming the level's object (entrypoint; router, service; service).
func (m *Metrics) newRequestVecs(level, what string, buckets []float64, own ...string) *requestVecs {
	prefix := "guan_" + level + "_"
	labels := append([]string{"code", "method", "protocol"}, own...)
	counter := func(name, help string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Name: prefix + name, Help: help}, labels)
	}
	reqLabels := slices.Clone(labels)
	for _, h := range m.headerLabels {
		reqLabels = append(reqLabels, h.label)
	}
	v := &requestVecs{
		labels: labels,
		hdr:    len(m.headerLabels) > 0,
		reqs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: prefix + "requests_total", Help: "HTTP requests processed by " + what + ".",
		}, reqLabels),
		tlsReqs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: prefix + "requests_tls_total",
			Help: "HTTPS requests processed by " + what + ", by TLS version and cipher.",
		}, append([]string{"tls_version", "tls_cipher"}, own...)),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    prefix + "request_duration_seconds",
			Help:    "HTTP request processing time in " + what + ", in seconds.",
			Buckets: buckets,
		}, labels),
		reqBytes:  counter("requests_bytes_total", "Request body bytes received by "+what+"."),
		respBytes: counter("responses_bytes_total", "Response body bytes sent by "+what+"."),
	}
	m.reg.MustRegister(v.reqs, v.tlsReqs, v.duration, v.reqBytes, v.respBytes)
	return v
}

func (v *requestVecs) resolve(labels ...string) *series {
	s := &series{
		duration:  v.duration.WithLabelValues(labels...),
		reqBytes:  v.reqBytes.WithLabelValues(labels...),
		respBytes: v.respBytes.WithLabelValues(labels...),
	}
	if !v.hdr {
		s.reqs = v.reqs.WithLabelValues(labels...)
	}
	return s
}

// countWithHeaders increments the requests_total series of labels plus
// the header label values hv (with header labels, it is not cached).
func (v *requestVecs) countWithHeaders(labels, hv []string) {
	v.reqs.WithLabelValues(append(labels, hv...)...).Inc()
}

// delete removes the series of one label tuple.
func (v *requestVecs) delete(labels ...string) {
	if v.hdr {
		match := make(prometheus.Labels, len(labels))
		for i, l := range labels {
			match[v.labels[i]] = l
		}
		v.reqs.DeletePartialMatch(match)
	} else {
		v.reqs.DeleteLabelValues(labels...)
	}
	v.duration.DeleteLabelValues(labels...)
	v.reqBytes.DeleteLabelValues(labels...)
	v.respBytes.DeleteLabelValues(labels...)
}

func (s *series) observe(seconds float64, reqBytes, respBytes int64) {
	if s.reqs != nil {
		s.reqs.Inc()
	}
	s.duration.Observe(seconds)
	if reqBytes > 0 {
		s.reqBytes.Add(float64(reqBytes))
	}
	if respBytes > 0 {
		s.respBytes.Add(float64(respBytes))
	}
}

// Enabled reports whether metrics are collected.
func (m *Metrics) Enabled() bool { return m != nil && m.reg != nil }

// Registry is the registry the metrics are registered in, for components
// that export their own collectors. It is nil when metrics are disabled.
func (m *Metrics) Registry() *prometheus.Registry {
	if m == nil {
		return nil
	}
	return m.reg
}

// Handler serves the metrics in the Prometheus exposition format. When
// metrics are disabled it answers 404.
func (m *Metrics) Handler() http.Handler {
	if !m.Enabled() {
		return http.NotFoundHandler()
	}
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Wrap counts the requests next serves on entryPoint. Router and service
// labels come from reqinfo, filled in by the inner stages. When the request
// carries no reqinfo.Info yet, Wrap attaches one.
func (m *Metrics) Wrap(entryPoint string, next http.Handler) http.Handler {
	if !m.Enabled() || (m.entryPoints == nil && m.routers == nil && m.services == nil) {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r, info := reqinfo.Ensure(r, entryPoint)
		start := info.Start // set by the entrypoint, which saw the request first
		c, owner := capture.Begin(w, r)
		returned := false
		defer func() {
			m.observe(entryPoint, r, info, c, returned, time.Since(start))
			if owner {
				c.Release()
			}
		}()
		next.ServeHTTP(c, r)
		returned = true
	})
}

func (m *Metrics) observe(entryPoint string, r *http.Request, info *reqinfo.Info, c *capture.Capture, returned bool, d time.Duration) {
	if info.NoMetrics || !m.addInternals && info.InternalRouter() {
		return
	}
	code := c.ResponseStatus(returned)
	method := methodLabel(r.Method)
	proto := Protocol(r, c.Header())
	secs := d.Seconds()
	reqBytes, respBytes := c.RequestSize(), c.Size()
	var hv []string
	if m.headerLabels != nil {
		hv = headerValues(m.headerLabels, r)
	}

	if m.entryPoints != nil {
		k := epKey{code, method, proto, entryPoint}
		s, ok := m.epCache.Load(k)
		if !ok {
			s = m.resolve(&m.epCache, k, func() any { return m.entryPoints.resolve(codeLabel(code), method, proto, entryPoint) })
		}
		s.(*series).observe(secs, reqBytes, respBytes)
		if hv != nil {
			m.entryPoints.countWithHeaders([]string{codeLabel(code), method, proto, entryPoint}, hv)
		}
		if r.TLS != nil {
			m.countTLS(m.entryPoints, tlsKey{'e', r.TLS.Version, r.TLS.CipherSuite, entryPoint, ""})
		}
		m.countVersion(entryPoint, r.ProtoMajor, r.ProtoMinor)
	}
	if m.routers != nil && info.Router != "" {
		k := routerKey{code, method, proto, info.Router, info.Service}
		s, ok := m.routerCache.Load(k)
		if !ok {
			s = m.resolve(&m.routerCache, k, func() any { return m.routers.resolve(codeLabel(code), method, proto, k.router, k.service) })
		}
		s.(*series).observe(secs, reqBytes, respBytes)
		if hv != nil {
			m.routers.countWithHeaders([]string{codeLabel(code), method, proto, info.Router, info.Service}, hv)
		}
		if r.TLS != nil {
			m.countTLS(m.routers, tlsKey{'r', r.TLS.Version, r.TLS.CipherSuite, info.Router, info.Service})
		}
	}
	if m.services != nil && info.Service != "" {
		k := svcKey{code, method, proto, info.Service}
		s, ok := m.svcCache.Load(k)
		if !ok {
			s = m.resolve(&m.svcCache, k, func() any { return m.services.resolve(codeLabel(code), method, proto, k.service) })
		}
		s.(*series).observe(secs, reqBytes, respBytes)
		if hv != nil {
			m.services.countWithHeaders([]string{codeLabel(code), method, proto, info.Service}, hv)
		}
		if r.TLS != nil {
			m.countTLS(m.services, tlsKey{'s', r.TLS.Version, r.TLS.CipherSuite, info.Service, ""})
		}
		if info.RetryAttempts > 0 {
			c, ok := m.retryCache.Load(info.Service)
			if !ok {
				svc := info.Service
				c = m.resolve(&m.retryCache, svc, func() any { return m.retries.WithLabelValues(svc) })
			}
			c.(prometheus.Counter).Add(float64(info.RetryAttempts))
		}
	}
}

// resolve returns the cached series of k, creating it with create on a miss.
// It runs only on a cache miss: the fast path is a lock-free Load.
func (m *Metrics) resolve(cache *sync.Map, k any, create func() any) any {
	m.resolveMu.Lock()
	defer m.resolveMu.Unlock()
	if v, ok := cache.Load(k); ok {
		return v
	}
	v := create()
	cache.Store(k, v)
	return v
}

// countTLS increments the *_requests_tls_total series of k.
func (m *Metrics) countTLS(v *requestVecs, k tlsKey) {
	c, ok := m.tlsCache.Load(k)
	if !ok {
		labels := []string{reqinfo.TLSVersion(k.version), reqinfo.TLSCipher(k.version, k.cipher), k.a}
		if k.level == 'r' {
			labels = append(labels, k.b)
		}
		c = m.resolve(&m.tlsCache, k, func() any { return v.tlsReqs.WithLabelValues(labels...) })
	}
	c.(prometheus.Counter).Inc()
}

type verKey struct {
	entryPoint   string
	major, minor int
}

// countVersion counts a request by HTTP version, so HTTP/3's share shows.
func (m *Metrics) countVersion(entryPoint string, major, minor int) {
	k := verKey{entryPoint, major, minor}
	c, ok := m.verCache.Load(k)
	if !ok {
		v := strconv.Itoa(major)
		if major < 2 {
			v += "." + strconv.Itoa(minor)
		}
		c = m.resolve(&m.verCache, k, func() any { return m.httpVersions.WithLabelValues(entryPoint, v) })
	}
	c.(prometheus.Counter).Inc()
}

// ConnOpened adds delta (+1 on accept, -1 on close) to the open connections
// of entryPoint. protocol is the entrypoint's classification of the
// connection; the label is Traefik's: "HTTP" for HTTP and HTTPS connections,
// "TCP" for connections handed to TCP routers (plain, TLS-terminated or
// passed through), "UDP" for UDP sessions.
func (m *Metrics) ConnOpened(entryPoint, protocol string, delta int) {
	if !m.Enabled() {
		return
	}
	k := [2]string{entryPoint, protocol}
	g, ok := m.connCache.Load(k)
	if !ok {
		g, _ = m.connCache.LoadOrStore(k, m.openConns.WithLabelValues(entryPoint, connProtocol(protocol)))
	}
	g.(prometheus.Gauge).Add(float64(delta))
}

func connProtocol(p string) string {
	switch strings.ToLower(p) {
	case "http", "https", "h2c", "h2", "h3":
		return "HTTP"
	case "udp", "mqtt-quic":
		return "UDP"
	}
	return "TCP" // tcp, tls, tls-passthrough
}

// ReloadDone records the outcome of a configuration reload. As in Traefik
// v3, guan_config_reloads_total and guan_config_last_reload_success count
// the reloads applied; refused ones go to the Guan-specific
// guan_config_reloads_failure_total and guan_config_last_reload_failure.
func (m *Metrics) ReloadDone(ok bool) {
	if !m.Enabled() {
		return
	}
	now := float64(time.Now().Unix())
	if ok {
		m.reloads.Inc()
		m.lastSuccess.Set(now)
		return
	}
	m.reloadFailures.Inc()
	m.lastFailure.Set(now)
}

// SetCertificates replaces the guan_tls_certs_not_after series with one per
// certificate: labels cn (subject common name), serial (decimal) and sans
// (DNS names, sorted, comma-separated), value NotAfter in Unix seconds.
func (m *Metrics) SetCertificates(certs []*x509.Certificate) {
	if !m.Enabled() {
		return
	}
	m.certsMu.Lock()
	defer m.certsMu.Unlock()
	m.certsNotAfter.Reset()
	for _, c := range certs {
		if c == nil {
			continue
		}
		sans := slices.Clone(c.DNSNames)
		slices.Sort(sans)
		serial := ""
		if c.SerialNumber != nil {
			serial = c.SerialNumber.String()
		}
		m.certsNotAfter.WithLabelValues(c.Subject.CommonName, serial, strings.Join(sans, ",")).Set(float64(c.NotAfter.Unix()))
	}
}

// ServerState records whether a service's server is up.
func (m *Metrics) ServerState(service, url string, up bool) {
	if !m.Enabled() {
		return
	}
	v := 0.0
	if up {
		v = 1
	}
	k := [2]string{service, url}
	m.serversMu.Lock()
	if m.servers == nil {
		m.servers = map[[2]string]struct{}{}
	}
	m.servers[k] = struct{}{}
	m.serverUp.WithLabelValues(service, url).Set(v)
	m.serversMu.Unlock()
}

// Live names the objects of the configuration in force, by qualified name.
type Live struct {
	Routers     map[string]bool
	Services    map[string]bool
	Middlewares map[string]bool
	// Servers holds the {service, url} pairs of load-balancer servers.
	Servers map[[2]string]bool
	// MQTTRouters are the mqtt routers of the configuration; nil leaves
	// the MQTT series alone.
	MQTTRouters map[string]bool
}

// Prune deletes the series of routers, services, middlewares and servers that live does
// not name, as Traefik does after a configuration change, so removed objects
// stop being exported (a removed server no longer shows as up or down). It is
// meant to run after each configuration commit. A request still finishing on
// the previous configuration may bring a removed object's series back; the
// next Prune removes it again.
func (m *Metrics) Prune(live Live) {
	if !m.Enabled() {
		return
	}
	if live.MQTTRouters != nil {
		m.mqtt.prune(live.MQTTRouters)
	}
	m.resolveMu.Lock()
	m.routerCache.Range(func(k, _ any) bool {
		rk := k.(routerKey)
		if !live.Routers[rk.router] || !live.Services[rk.service] {
			m.routers.delete(codeLabel(rk.code), rk.method, rk.proto, rk.router, rk.service)
			m.routerCache.Delete(k)
		}
		return true
	})
	m.svcCache.Range(func(k, _ any) bool {
		sk := k.(svcKey)
		if !live.Services[sk.service] {
			m.services.delete(codeLabel(sk.code), sk.method, sk.proto, sk.service)
			m.svcCache.Delete(k)
		}
		return true
	})
	m.retryCache.Range(func(k, _ any) bool {
		if svc := k.(string); !live.Services[svc] {
			m.retries.DeleteLabelValues(svc)
			m.retryCache.Delete(k)
		}
		return true
	})
	m.dropCache.Range(func(k, _ any) bool {
		if dk := k.([2]string); !live.Services[dk[0]] {
			m.mirrorDropped.DeleteLabelValues(dk[0], dk[1])
			m.dropCache.Delete(k)
		}
		return true
	})
	m.decCache.Range(func(k, _ any) bool {
		if dk := k.([3]string); !live.Middlewares[dk[0]] {
			m.decisions.DeleteLabelValues(dk[0], dk[1], dk[2])
			m.decCache.Delete(k)
		}
		return true
	})
	m.tlsCache.Range(func(k, _ any) bool {
		tk := k.(tlsKey)
		version, cipher := reqinfo.TLSVersion(tk.version), reqinfo.TLSCipher(tk.version, tk.cipher)
		switch {
		case tk.level == 'r' && (!live.Routers[tk.a] || !live.Services[tk.b]):
			m.routers.tlsReqs.DeleteLabelValues(version, cipher, tk.a, tk.b)
		case tk.level == 's' && !live.Services[tk.a]:
			m.services.tlsReqs.DeleteLabelValues(version, cipher, tk.a)
		default:
			return true
		}
		m.tlsCache.Delete(k)
		return true
	})
	m.resolveMu.Unlock()

	m.serversMu.Lock()
	for k := range m.servers {
		if !live.Servers[k] {
			m.serverUp.DeleteLabelValues(k[0], k[1])
			delete(m.servers, k)
		}
	}
	m.serversMu.Unlock()
}

// Protocol labels a request "websocket", "grpc", "grpc-web", "sse" or
// "http". The response header is consulted for server-sent events the
// client did not announce in Accept.
func Protocol(r *http.Request, respHeader http.Header) string {
	if isWebSocket(r) {
		return "websocket"
	}
	if a := r.Header["Accept"]; len(a) > 0 && strings.Contains(a[0], "text/event-stream") {
		return "sse"
	}
	if ct := r.Header["Content-Type"]; len(ct) > 0 && strings.HasPrefix(ct[0], "application/grpc") {
		if strings.HasPrefix(ct[0], "application/grpc-web") {
			return "grpc-web"
		}
		return "grpc"
	}
	if ct := respHeader["Content-Type"]; len(ct) > 0 && strings.HasPrefix(ct[0], "text/event-stream") {
		return "sse"
	}
	return "http"
}

func isWebSocket(r *http.Request) bool {
	if r.Method == http.MethodConnect {
		// HTTP/2 and HTTP/3 extended CONNECT (RFC 8441).
		return strings.EqualFold(r.Header.Get(":protocol"), "websocket")
	}
	up := r.Header["Upgrade"]
	return len(up) > 0 && strings.EqualFold(up[0], "websocket")
}

// methodLabel bounds the method label to the standard methods, so a client
// cannot create series at will; any other method is EXTENSION_METHOD, as in
// Traefik.
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodConnect, http.MethodOptions, http.MethodTrace, "PRI":
		return m
	}
	return "EXTENSION_METHOD"
}

var codeLabels = func() (t [600]string) {
	for i := 100; i < len(t); i++ {
		t[i] = strconv.Itoa(i)
	}
	return t
}()

func codeLabel(code int) string {
	if code >= 100 && code < len(codeLabels) {
		return codeLabels[code]
	}
	return strconv.Itoa(code)
}
