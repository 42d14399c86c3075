// Package dashboard serves the read-only API of the runtime state, in
// Traefik's JSON shapes so existing tooling can read it, the embedded web UI
// and the ping health endpoint.
package dashboard

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/guan-gateway/guan/status"
)

// Source is what the API reads. Every call returns the state of the current
// configuration snapshot; returned values must not be modified.
type Source interface {
	Status() *status.Set                 // current snapshot's state (immutable)
	EntryPoints() []status.EntryPoint    // configured entrypoints
	Version() (version, codename string) // build version
}

// StaticSource may be implemented by a Source to put the static
// configuration, anonymized, in /api/support-dump.
type StaticSource interface {
	StaticConfig() any
}

// FeatureSource may be implemented by a Source to report which optional
// features are enabled in /api/overview.
type FeatureSource interface {
	Features() Features
}

// ProviderSource may be implemented by a Source to list the configured
// providers in /api/overview. Without it, providers are taken from the
// qualified names of the configured objects.
type ProviderSource interface {
	Providers() []string
}

// CertificateSource may be implemented by a Source to list the configured
// certificates in /api/certificates.
type CertificateSource interface {
	Certificates() []Certificate
}

// Certificate is one entry of /api/certificates.
type Certificate struct {
	Subject   string    `json:"subject"`           // common name
	Issuer    string    `json:"issuer"`            // issuer's common name
	SANs      []string  `json:"sans,omitempty"`    // DNS names and IP addresses
	Serial    string    `json:"serial"`            // decimal
	NotBefore time.Time `json:"notBefore"`         // RFC 3339
	NotAfter  time.Time `json:"notAfter"`          // RFC 3339
	DaysLeft  int       `json:"daysLeft"`          // whole days until NotAfter, negative once expired
	Protocol  string    `json:"protocol"`          // "tls" or "tlcp"
	Usage     string    `json:"usage,omitempty"`   // TLCP: "sign" or "enc"
	KeyType   string    `json:"keyType"`           // RSA, ECDSA, Ed25519, SM2
	Default   bool      `json:"default,omitempty"` // the store's default certificate
}

// Features are the optional features shown in /api/overview.
type Features struct {
	Tracing   string `json:"tracing"`   // tracing backend name, "" when off
	Metrics   string `json:"metrics"`   // metrics backend name, "" when off
	AccessLog bool   `json:"accessLog"` // whether the access log is on
}

// startDate is reported by /api/version.
var startDate = time.Now()

const defaultPerPage = 100

type api struct{ src Source }

// NewAPI returns the API handler, rooted at basePath ("/" or "" for none).
// With dashboard true it also serves the web UI at basePath/dashboard/ and
// redirects basePath/ there.
func NewAPI(src Source, basePath string, dashboard bool) http.Handler {
	base := normalizeBase(basePath)
	a := &api{src: src}
	r := mux.NewRouter()
	// Object names may hold escaped characters ("a%2Fb@file"): match on the
	// escaped path and unescape the name in the handler.
	r.UseEncodedPath()
	r.NotFoundHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, "not found: "+r.URL.Path, http.StatusNotFound)
	})
	r.MethodNotAllowedHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", "GET, HEAD")
		writeError(w, "the API is read-only: use GET", http.StatusMethodNotAllowed)
	})
	g := r.Methods(http.MethodGet, http.MethodHead).Subrouter()
	p := base + "/api"

	g.Path(p + "/overview").HandlerFunc(a.overview)
	g.Path(p + "/rawdata").HandlerFunc(a.rawdata)
	g.Path(p + "/version").HandlerFunc(a.version)

	g.Path(p + "/entrypoints").HandlerFunc(a.entryPoints)
	g.Path(p + "/entrypoints/{name}").HandlerFunc(a.entryPoint)

	g.Path(p + "/http/routers").HandlerFunc(list(a, httpRouters))
	g.Path(p + "/http/routers/{name}").HandlerFunc(one(a, httpRouters))
	g.Path(p + "/http/services").HandlerFunc(list(a, httpServices))
	g.Path(p + "/http/services/{name}").HandlerFunc(one(a, httpServices))
	g.Path(p + "/http/middlewares").HandlerFunc(list(a, httpMiddlewares))
	g.Path(p + "/http/middlewares/{name}").HandlerFunc(one(a, httpMiddlewares))
	g.Path(p + "/tcp/routers").HandlerFunc(list(a, tcpRouters))
	g.Path(p + "/tcp/routers/{name}").HandlerFunc(one(a, tcpRouters))
	g.Path(p + "/tcp/services").HandlerFunc(list(a, tcpServices))
	g.Path(p + "/tcp/services/{name}").HandlerFunc(one(a, tcpServices))
	g.Path(p + "/tcp/middlewares").HandlerFunc(list(a, tcpMiddlewares))
	g.Path(p + "/tcp/middlewares/{name}").HandlerFunc(one(a, tcpMiddlewares))
	// Guan has no UDP: these lists are always empty, as in a Traefik that
	// has none configured.
	g.Path(p + "/udp/routers").HandlerFunc(emptyList)
	g.Path(p + "/udp/routers/{name}").HandlerFunc(notFoundObject("router"))
	g.Path(p + "/udp/services").HandlerFunc(emptyList)
	g.Path(p + "/udp/services/{name}").HandlerFunc(notFoundObject("service"))

	g.Path(p + "/certificates").HandlerFunc(a.certificates)
	routerName := func(x MQTTRouter) string { return x.Name }
	serviceName := func(x MQTTService) string { return x.Name }
	mwName := func(x MQTTMiddleware) string { return x.Name }
	routersOf := func(s MQTTState) []MQTTRouter { return s.Routers }
	servicesOf := func(s MQTTState) []MQTTService { return s.Services }
	mwsOf := func(s MQTTState) []MQTTMiddleware { return s.Middlewares }
	g.Path(p + "/mqtt/routers").HandlerFunc(mqttList(a, routersOf, routerName))
	g.Path(p + "/mqtt/routers/{name}").HandlerFunc(mqttOne(a, routersOf, routerName))
	g.Path(p + "/mqtt/services").HandlerFunc(mqttList(a, servicesOf, serviceName))
	g.Path(p + "/mqtt/services/{name}").HandlerFunc(mqttOne(a, servicesOf, serviceName))
	g.Path(p + "/mqtt/middlewares").HandlerFunc(mqttList(a, mwsOf, mwName))
	g.Path(p + "/mqtt/middlewares/{name}").HandlerFunc(mqttOne(a, mwsOf, mwName))
	g.Path(p + "/support-dump").HandlerFunc(a.supportDump)

	if dashboard {
		toUI := http.RedirectHandler(base+"/dashboard/", http.StatusFound)
		g.Path(base + "/").Handler(toUI)
		if base != "" {
			g.Path(base).Handler(toUI)
		}
		g.Path(base + "/dashboard").Handler(toUI)
		g.PathPrefix(base + "/dashboard/").Handler(NewUI(basePath))
	}
	return r
}

// certificates lists the configured certificates, soonest expiry first.
func (a *api) certificates(w http.ResponseWriter, r *http.Request) {
	out := []Certificate{}
	if cs, ok := a.src.(CertificateSource); ok {
		out = append(out, cs.Certificates()...)
	}
	now := time.Now()
	for i := range out {
		out[i].DaysLeft = int(out[i].NotAfter.Sub(now).Hours() / 24)
	}
	slices.SortStableFunc(out, func(x, y Certificate) int { return x.NotAfter.Compare(y.NotAfter) })
	writeJSON(w, out)
}

// normalizeBase turns "", "/", "/x/", "x" into "", "", "/x", "/x".
func normalizeBase(p string) string {
	p = strings.Trim(p, "/")
	if p == "" {
		return ""
	}
	return "/" + p
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	// An encoding error can only come from a failed write: the status is
	// sent already and the client sees a truncated body.
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, msg string, code int) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(struct {
		Message string `json:"message"`
	}{msg})
}

// pathName returns the unescaped {name} of the request.
func pathName(r *http.Request) (string, error) {
	raw := mux.Vars(r)["name"]
	name, err := url.PathUnescape(raw)
	if err != nil {
		return "", fmt.Errorf("unable to decode name %q: %w", raw, err)
	}
	return name, nil
}

// section counts one kind of object for the overview.
type section struct {
	Total    int `json:"total"`
	Warnings int `json:"warnings"`
	Errors   int `json:"errors"`
}

func count[T any](m map[string]T, st func(T) string) section {
	s := section{Total: len(m)}
	for _, v := range m {
		switch st(v) {
		case status.Warning:
			s.Warnings++
		case status.Disabled:
			s.Errors++
		}
	}
	return s
}

func (a *api) overview(w http.ResponseWriter, r *http.Request) {
	set := a.status()
	type httpOverview struct {
		Routers     section `json:"routers"`
		Services    section `json:"services"`
		Middlewares section `json:"middlewares"`
	}
	type tcpOverview struct {
		Routers     section `json:"routers"`
		Services    section `json:"services"`
		Middlewares section `json:"middlewares"`
	}
	type udpOverview struct {
		Routers  section `json:"routers"`
		Services section `json:"services"`
	}
	out := struct {
		HTTP      httpOverview `json:"http"`
		TCP       tcpOverview  `json:"tcp"`
		UDP       udpOverview  `json:"udp"`
		Features  Features     `json:"features"`
		Providers []string     `json:"providers,omitempty"`
	}{
		HTTP: httpOverview{
			Routers:     count(set.Routers, func(v *status.Router) string { return v.Status }),
			Services:    count(set.Services, func(v *status.Service) string { return v.Status }),
			Middlewares: count(set.Middlewares, func(v *status.Middleware) string { return v.Status }),
		},
		TCP: tcpOverview{
			Routers:     count(set.TCPRouters, func(v *status.TCPRouter) string { return v.Status }),
			Services:    count(set.TCPServices, func(v *status.TCPService) string { return v.Status }),
			Middlewares: count(set.TCPMiddlewares, func(v *status.TCPMiddleware) string { return v.Status }),
		},
		Providers: a.providers(set),
	}
	if fs, ok := a.src.(FeatureSource); ok {
		out.Features = fs.Features()
	}
	writeJSON(w, out)
}

// providers lists provider names as Traefik does ("File"), from the Source
// if it knows them, else from the qualified names in set.
func (a *api) providers(set *status.Set) []string {
	if ps, ok := a.src.(ProviderSource); ok {
		if p := ps.Providers(); p != nil {
			return p
		}
	}
	seen := map[string]bool{}
	add := func(qualified string) {
		if _, p, ok := strings.Cut(qualified, "@"); ok && p != "" && p != "internal" {
			seen[p] = true
		}
	}
	for n := range set.Routers {
		add(n)
	}
	for n := range set.Services {
		add(n)
	}
	for n := range set.Middlewares {
		add(n)
	}
	for n := range set.TCPRouters {
		add(n)
	}
	for n := range set.TCPServices {
		add(n)
	}
	for n := range set.TCPMiddlewares {
		add(n)
	}
	for p := range set.ProviderErrors {
		if p != "internal" {
			seen[p] = true
		}
	}
	out := make([]string, 0, len(seen))
	for p := range seen {
		out = append(out, strings.ToUpper(p[:1])+p[1:])
	}
	slices.Sort(out)
	return out
}

func (a *api) status() *status.Set {
	if s := a.src.Status(); s != nil {
		return s
	}
	return status.NewSet()
}

func (a *api) version(w http.ResponseWriter, r *http.Request) {
	v, c := a.src.Version()
	writeJSON(w, struct {
		Version   string    `json:"Version"`
		Codename  string    `json:"Codename"`
		StartDate time.Time `json:"startDate"`
	}{v, c, startDate})
}

func (a *api) sortedEntryPoints() []status.EntryPoint {
	eps := slices.Clone(a.src.EntryPoints())
	slices.SortFunc(eps, func(x, y status.EntryPoint) int { return strings.Compare(x.Name, y.Name) })
	return eps
}

func (a *api) entryPoints(w http.ResponseWriter, r *http.Request) {
	eps := a.sortedEntryPoints()
	if q := r.URL.Query().Get("search"); q != "" {
		eps = slices.DeleteFunc(eps, func(e status.EntryPoint) bool { return !containsFold(q, e.Name, e.Address) })
	}
	pg, err := paginate(r, len(eps))
	if err != nil {
		writeError(w, err.Error(), http.StatusBadRequest)
		return
	}
	out := make([]entryPointRepresentation, 0, pg.end-pg.start)
	for _, e := range eps[pg.start:pg.end] {
		out = append(out, newEntryPointRepresentation(e))
	}
	w.Header().Set(nextPageHeader, strconv.Itoa(pg.next))
	writeJSON(w, out)
}

func (a *api) entryPoint(w http.ResponseWriter, r *http.Request) {
	name, err := pathName(r)
	if err != nil {
		writeError(w, err.Error(), http.StatusBadRequest)
		return
	}
	for _, e := range a.src.EntryPoints() {
		if e.Name == name {
			writeJSON(w, newEntryPointRepresentation(e))
			return
		}
	}
	writeError(w, "entry point not found: "+name, http.StatusNotFound)
}

// kind describes one object list of the API.
type kind[T any] struct {
	what   string // "router", used in 404 messages
	items  func(*status.Set) map[string]T
	status func(T) string
	// search returns the texts the search parameter looks in besides the name.
	search func(T) []string
	// filter applies kind-specific query parameters (serviceName, ...).
	filter func(T, *http.Request) bool
	// sortBy returns comparison keys for sortBy values other than name.
	sortBy func(T, string) (any, bool)
	// present returns what the API shows for an item; nil shows the item.
	present func(T) any
}

func (k kind[T]) show(v T) any {
	if k.present != nil {
		return k.present(v)
	}
	return v
}

func list[T any](a *api, k kind[T]) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		search, wantStatus := q.Get("search"), q.Get("status")
		items := k.items(a.status())

		type named struct {
			name string
			v    T
		}
		out := make([]named, 0, len(items))
		for name, v := range items {
			if wantStatus != "" && !strings.EqualFold(k.status(v), wantStatus) {
				continue
			}
			if search != "" && !containsFold(search, name) && (k.search == nil || !containsFold(search, k.search(v)...)) {
				continue
			}
			if k.filter != nil && !k.filter(v, r) {
				continue
			}
			out = append(out, named{name, v})
		}

		by, desc := q.Get("sortBy"), strings.EqualFold(q.Get("direction"), "desc")
		slices.SortFunc(out, func(x, y named) int {
			c := 0
			if by != "" && by != "name" {
				c = compareBy(x.v, y.v, by, k)
			}
			if c == 0 {
				c = strings.Compare(x.name, y.name)
			}
			if desc {
				return -c
			}
			return c
		})

		pg, err := paginate(r, len(out))
		if err != nil {
			writeError(w, err.Error(), http.StatusBadRequest)
			return
		}
		page := make([]any, 0, pg.end-pg.start)
		for _, n := range out[pg.start:pg.end] {
			page = append(page, k.show(n.v))
		}
		w.Header().Set(nextPageHeader, strconv.Itoa(pg.next))
		writeJSON(w, page)
	}
}

func compareBy[T any](x, y T, by string, k kind[T]) int {
	if strings.EqualFold(by, "status") {
		return strings.Compare(k.status(x), k.status(y))
	}
	if k.sortBy == nil {
		return 0
	}
	kx, ok := k.sortBy(x, by)
	if !ok {
		return 0
	}
	ky, _ := k.sortBy(y, by)
	switch kx := kx.(type) {
	case string:
		return strings.Compare(kx, ky.(string))
	case int:
		return cmp.Compare(kx, ky.(int))
	}
	return 0
}

func one[T any](a *api, k kind[T]) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		name, err := pathName(r)
		if err != nil {
			writeError(w, err.Error(), http.StatusBadRequest)
			return
		}
		v, ok := k.items(a.status())[name]
		if !ok {
			writeError(w, k.what+" not found: "+name, http.StatusNotFound)
			return
		}
		writeJSON(w, k.show(v))
	}
}

// containsFold reports whether any of values contains needle, ignoring case.
func containsFold(needle string, values ...string) bool {
	needle = strings.ToLower(needle)
	for _, v := range values {
		if strings.Contains(strings.ToLower(v), needle) {
			return true
		}
	}
	return false
}

// sameName compares a query's object name with a configured reference: a
// qualified query must match exactly, a bare one matches the name part.
func sameName(query, ref string) bool {
	if strings.Contains(ref, "@") || strings.Contains(query, "@") {
		refName, _, _ := strings.Cut(ref, "@")
		qName, _, qQualified := strings.Cut(query, "@")
		if qQualified && strings.Contains(ref, "@") {
			return query == ref
		}
		return qName == refName
	}
	return query == ref
}

func serviceFilter(service string, r *http.Request) bool {
	want := r.URL.Query().Get("serviceName")
	return want == "" || sameName(want, service)
}

func middlewareFilter(mws []string, r *http.Request) bool {
	want := r.URL.Query().Get("middlewareName")
	if want == "" {
		return true
	}
	for _, m := range mws {
		if sameName(want, m) {
			return true
		}
	}
	return false
}

func commonSort(by, provider string) (any, bool) {
	if strings.EqualFold(by, "provider") {
		return provider, true
	}
	return nil, false
}

// routerView is what the router lists search, filter and sort on, for HTTP
// and TCP routers alike.
type routerView struct {
	status, provider string
	// configured is false for a router whose configuration is missing (it
	// failed to load); the fields below are then empty.
	configured    bool
	rule, service string
	middlewares   []string
	priority      int
	entryPoints   int // how many the router names
}

// routerKind describes a router list.
func routerKind[T any](items func(*status.Set) map[string]T, view func(T) routerView) kind[T] {
	return kind[T]{
		what:   "router",
		items:  items,
		status: func(v T) string { return view(v).status },
		search: func(v T) []string {
			if rv := view(v); rv.configured {
				return []string{rv.rule}
			}
			return nil
		},
		filter: func(v T, r *http.Request) bool {
			rv := view(v)
			if !rv.configured {
				return r.URL.Query().Get("serviceName") == "" && r.URL.Query().Get("middlewareName") == ""
			}
			return serviceFilter(rv.service, r) && middlewareFilter(rv.middlewares, r)
		},
		sortBy: func(v T, by string) (any, bool) {
			rv := view(v)
			switch strings.ToLower(by) {
			case "rule":
				return rv.rule, true
			case "service":
				return rv.service, true
			case "priority":
				return rv.priority, true
			case "entrypoints":
				return rv.entryPoints, true
			}
			return commonSort(by, rv.provider)
		},
	}
}

// typedView is what the service and middleware lists filter and sort on.
type typedView struct {
	status, typ, provider string
	servers               int // servers of a load balancer service
}

// typedKind describes a list of services or middlewares, which sort by type
// (and services by their number of servers) besides status and provider.
func typedKind[T any](what string, items func(*status.Set) map[string]T, view func(T) typedView) kind[T] {
	return kind[T]{
		what:   what,
		items:  items,
		status: func(v T) string { return view(v).status },
		sortBy: func(v T, by string) (any, bool) {
			tv := view(v)
			switch strings.ToLower(by) {
			case "type":
				return tv.typ, true
			case "servers":
				return tv.servers, true
			}
			return commonSort(by, tv.provider)
		},
	}
}

var httpRouters = func() kind[*status.Router] {
	k := routerKind(
		func(s *status.Set) map[string]*status.Router { return s.Routers },
		func(v *status.Router) routerView {
			rv := routerView{status: v.Status, provider: v.Provider}
			if v.Router != nil {
				rv.configured = true
				rv.rule, rv.service, rv.middlewares, rv.priority = v.Rule, v.Service, v.Middlewares, v.Priority
				rv.entryPoints = len(v.EntryPoints)
			}
			return rv
		},
	)
	k.present = func(v *status.Router) any { return presentRouter(v) }
	return k
}()

// presentRouter shows the TLS options of a TLS router that names none as
// "default", the options it uses, as Traefik does.
func presentRouter(v *status.Router) *status.Router {
	if v.Router == nil || v.TLS == nil || v.TLS.Options != "" {
		return v
	}
	rt, tls, out := *v.Router, *v.TLS, *v
	tls.Options = "default"
	rt.TLS = &tls
	out.Router = &rt
	return &out
}

var tcpRouters = routerKind(
	func(s *status.Set) map[string]*status.TCPRouter { return s.TCPRouters },
	func(v *status.TCPRouter) routerView {
		rv := routerView{status: v.Status, provider: v.Provider}
		if v.TCPRouter != nil {
			rv.configured = true
			rv.rule, rv.service, rv.middlewares, rv.priority = v.Rule, v.Service, v.Middlewares, v.Priority
			rv.entryPoints = len(v.EntryPoints)
		}
		return rv
	},
)

var httpServices = typedKind("service",
	func(s *status.Set) map[string]*status.Service { return s.Services },
	func(v *status.Service) typedView {
		tv := typedView{status: v.Status, typ: v.Type, provider: v.Provider}
		if v.Service != nil && v.LoadBalancer != nil {
			tv.servers = len(v.LoadBalancer.Servers)
		}
		return tv
	},
)

var httpMiddlewares = typedKind("middleware",
	func(s *status.Set) map[string]*status.Middleware { return s.Middlewares },
	func(v *status.Middleware) typedView {
		return typedView{status: v.Status, typ: v.Type, provider: v.Provider}
	},
)

var tcpMiddlewares = typedKind("middleware",
	func(s *status.Set) map[string]*status.TCPMiddleware { return s.TCPMiddlewares },
	func(v *status.TCPMiddleware) typedView {
		return typedView{status: v.Status, typ: v.Type, provider: v.Provider}
	},
)

var tcpServices = typedKind("service",
	func(s *status.Set) map[string]*status.TCPService { return s.TCPServices },
	func(v *status.TCPService) typedView {
		tv := typedView{status: v.Status, typ: v.Type, provider: v.Provider}
		if v.TCPService != nil && v.LoadBalancer != nil {
			tv.servers = len(v.LoadBalancer.Servers)
		}
		return tv
	},
)
