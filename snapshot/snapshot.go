// Package snapshot compiles a merged dynamic configuration into an immutable
// runtime: routing tables per entrypoint, middleware chains, services, TLS
// configurations, and the status of every object for the API. A snapshot is
// built off the request path and published with one atomic pointer swap.
package snapshot

import (
	cryptotls "crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/guan-gateway/guan/config"
	"github.com/guan-gateway/guan/config/dynamic"
	"github.com/guan-gateway/guan/entrypoints"
	"github.com/guan-gateway/guan/mqtt"
	"github.com/guan-gateway/guan/routers"
	"github.com/guan-gateway/guan/status"
	guantls "github.com/guan-gateway/guan/tls"
	"github.com/guan-gateway/guan/tls/tlcp"
)

// Snapshot is one compiled configuration. It never changes once built.
type Snapshot struct {
	status    *status.Set
	raw       *dynamic.Configuration
	eps       map[string]*epRoutes
	errs      config.Errors
	certs     []*x509.Certificate
	inventory []guantls.CertInfo
	mqttErrs  map[string][]string
	mqttSvcs  map[string]*mqtt.Service
}

// Status returns the state of every object, for the API.
func (s *Snapshot) Status() *status.Set { return s.status }

// Raw returns the merged dynamic configuration with qualified names.
func (s *Snapshot) Raw() *dynamic.Configuration { return s.raw }

// Certificates lists the loaded TLS certificates (tls.certificates and the
// default store's defaultCertificate), for the certificate expiry metric.
func (s *Snapshot) Certificates() []*x509.Certificate { return s.certs }

// MQTTErrors lists, by qualified mqtt router name, why a router is not
// served; routers absent from it are served.
func (s *Snapshot) MQTTErrors() map[string][]string { return s.mqttErrs }

// MQTTService returns a built MQTT service (for its brokers' health), or nil.
func (s *Snapshot) MQTTService(name string) *mqtt.Service { return s.mqttSvcs[name] }

// CertificateInventory describes every configured certificate for the API.
func (s *Snapshot) CertificateInventory() []guantls.CertInfo { return s.inventory }

// Problems lists every object-level configuration problem with its source
// position. Objects with problems are disabled; the rest of the snapshot works.
func (s *Snapshot) Problems() config.Errors { return s.errs }

// Empty returns a snapshot that answers 404 everywhere, served until the
// first configuration arrives.
func Empty() *Snapshot {
	return &Snapshot{status: status.NewSet(), raw: &dynamic.Configuration{}, eps: map[string]*epRoutes{}}
}

// epRoutes is what one entrypoint routes with.
type epRoutes struct {
	http, https *routers.Table
	tcpTLS      *routers.TCPTable // routers with a tls section
	tcpPlain    *routers.TCPTable // routers without: HostSNI(`*`), ClientIP
	hasHTTPS    bool

	// TLS configurations for HTTPS, by the SNI they are chosen for.
	tlsExact    map[string]*cryptotls.Config
	tlsWildcard []wildcardTLS
	tlsDefault  *cryptotls.Config
	tlsm        *guantls.Manager // for the TLCP side of those configurations

	// An entrypoint with mqtt routers speaks MQTT on every connection.
	mqtt    mqtt.Table
	mqttTLS *cryptotls.Config // terminates TLS (or TLCP) for them; nil: plain only
}

// MQTT returns the entrypoint's MQTT table (nil without mqtt routers) and the
// TLS configuration its TLS connections are terminated with.
func (e *epRoutes) MQTT() (mqtt.Table, *cryptotls.Config) {
	if e == nil || e.mqtt == nil {
		return nil, nil
	}
	return e.mqtt, e.mqttTLS
}

type wildcardTLS struct {
	suffix string // ".example.com" for *.example.com
	conf   *cryptotls.Config
}

var notFound = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
	http.Error(w, "404 page not found", http.StatusNotFound)
})

// ServeHTTP routes a request that arrived on entrypoint ep.
func (s *Snapshot) ServeHTTP(ep string, w http.ResponseWriter, r *http.Request) {
	e := s.eps[ep]
	if e == nil {
		notFound(w, r)
		return
	}
	t := e.http
	if r.TLS != nil {
		t = e.https
		if e.misdirected(r) {
			http.Error(w, "421 Misdirected Request", http.StatusMisdirectedRequest)
			return
		}
	}
	if t == nil {
		notFound(w, r)
		return
	}
	t.ServeHTTP(w, r)
}

// Routing returns the connection-level view of entrypoint ep.
func (s *Snapshot) Routing(ep string) entrypoints.Routing {
	if e := s.eps[ep]; e != nil {
		return e
	}
	return (*epRoutes)(nil)
}

// PeekNeeded reports whether connections must be inspected before HTTP.
func (e *epRoutes) PeekNeeded() bool {
	return e != nil && (e.hasHTTPS || e.tcpTLS != nil || e.tcpPlain != nil || e.mqtt != nil)
}

// CatchAllTCP says how a non-TLS TCP route (HostSNI(`*`)) competes with
// HTTP: with no HTTP router it takes every plain connection at once; with
// HTTP routers it takes only clients that stay silent (server-first
// protocols such as SMTP or MySQL).
func (e *epRoutes) CatchAllTCP() entrypoints.CatchAll {
	switch {
	case e == nil || e.tcpPlain == nil:
		return entrypoints.NoCatchAll
	case (e.http == nil || e.http.Len() == 0) && !e.hasHTTPS && e.tcpTLS == nil:
		return entrypoints.CatchAllOnly
	}
	return entrypoints.CatchAllAfterDelay
}

// TCP matches a connection against the entrypoint's TCP routers.
func (e *epRoutes) TCP(info entrypoints.ConnInfo) (entrypoints.TCPHandler, *cryptotls.Config, bool) {
	if e == nil {
		return nil, nil, false
	}
	table := e.tcpPlain
	if info.TLS {
		table = e.tcpTLS
	}
	if table == nil {
		return nil, nil, false
	}
	ci := routers.ConnInfo{ServerName: strings.ToLower(info.ServerName), ALPN: info.ALPN, TLS: info.TLS}
	ci.RemoteIP = remoteIP(info.RemoteAddr)
	rt := table.Match(ci)
	if rt == nil {
		return nil, nil, false
	}
	h := rt.Handler.(*tcpRoute)
	if !info.TLS {
		return h.handler, nil, true
	}
	return h.handler, h.terminate, true
}

// TLCP returns the TLCP side of the TLS options c was built from.
func (e *epRoutes) TLCP(c *cryptotls.Config) (*tlcp.Config, bool) {
	if e == nil || e.tlsm == nil || c == nil {
		return nil, false
	}
	o := e.tlsm.TLCP(c)
	return o.Config, o.Mode == guantls.TLCPOnly
}

// HTTPS returns the TLS configuration for an HTTPS connection with this SNI.
func (e *epRoutes) HTTPS(info entrypoints.ConnInfo) *cryptotls.Config {
	if e == nil || !e.hasHTTPS {
		return nil
	}
	return e.tlsFor(info.ServerName)
}

// tlsFor returns the TLS configuration chosen for a host name.
func (e *epRoutes) tlsFor(name string) *cryptotls.Config {
	if len(e.tlsExact) == 0 && len(e.tlsWildcard) == 0 {
		return e.tlsDefault
	}
	name = strings.ToLower(strings.TrimSuffix(name, "."))
	if c, ok := e.tlsExact[name]; ok {
		return c
	}
	for _, w := range e.tlsWildcard {
		if strings.HasSuffix(name, w.suffix) && !strings.Contains(name[:len(name)-len(w.suffix)], ".") {
			return w.conf
		}
	}
	return e.tlsDefault
}

// misdirected reports a TLS request whose Host would have been given other
// TLS options than the SNI its connection was set up with — e.g. a client
// that handshakes as public.example (no client certificate needed) and then
// asks for Host admin.example (mTLS required). Such a request gets 421, as in
// Traefik, instead of bypassing the host's TLS options.
func (e *epRoutes) misdirected(r *http.Request) bool {
	if len(e.tlsExact) == 0 && len(e.tlsWildcard) == 0 {
		return false // every host uses the same options
	}
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	return e.tlsFor(host) != e.tlsFor(r.TLS.ServerName)
}

// tlsGuard fronts an HTTPS route whose TLS options are not the default
// ones. TLS options are chosen by SNI from the hosts of Host() rules, so a
// route that can match other hosts (HostRegexp, PathPrefix, or hosts whose
// routers disagree on options) may be reached over a connection negotiated
// with other options — without the client certificate its mTLS options
// require, say. Such a request gets 421 Misdirected Request, like a Host
// that disagrees with the SNI. Equivalent option sets share one config, so
// comparing pointers compares settings; nothing is allocated.
type tlsGuard struct {
	e    *epRoutes
	want *cryptotls.Config
	next http.Handler
}

func (g *tlsGuard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.TLS == nil || g.e.tlsFor(r.TLS.ServerName) != g.want {
		http.Error(w, "421 Misdirected Request", http.StatusMisdirectedRequest)
		return
	}
	g.next.ServeHTTP(w, r)
}

func remoteIP(a net.Addr) netip.Addr {
	switch v := a.(type) {
	case *net.TCPAddr:
		ip, _ := netip.AddrFromSlice(v.IP)
		return ip.Unmap()
	case nil:
		return netip.Addr{}
	}
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

// tcpRoute is what a TCP routing-table entry carries.
type tcpRoute struct {
	handler   entrypoints.TCPHandler
	terminate *cryptotls.Config // nil: passthrough or plain TCP
	tlsOnly   bool              // the router has a tls section
}
