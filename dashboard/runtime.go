package dashboard

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/guan-gateway/guan/config"
	"github.com/guan-gateway/guan/config/dynamic"
	"github.com/guan-gateway/guan/config/static"
	"github.com/guan-gateway/guan/status"
)

// runtimeRepresentation is /api/rawdata: every object's configuration with
// its state, keyed by qualified name, in Traefik's shape. Traefik omits the
// kinds it has none of; Guan has no UDP, so udpRouters and udpServices
// never appear.
type runtimeRepresentation struct {
	Routers        map[string]runtimeRouter        `json:"routers,omitempty"`
	Middlewares    map[string]runtimeMiddleware    `json:"middlewares,omitempty"`
	Services       map[string]runtimeService       `json:"services,omitempty"`
	TCPRouters     map[string]runtimeTCPRouter     `json:"tcpRouters,omitempty"`
	TCPServices    map[string]runtimeTCPService    `json:"tcpServices,omitempty"`
	TCPMiddlewares map[string]runtimeTCPMiddleware `json:"tcpMiddlewares,omitempty"`
}

type runtimeRouter struct {
	*dynamic.Router
	Err    []string `json:"error,omitempty"`
	Status string   `json:"status,omitempty"`
	Using  []string `json:"using,omitempty"`
}

type runtimeMiddleware struct {
	*dynamic.Middleware
	Err    []string `json:"error,omitempty"`
	Status string   `json:"status,omitempty"`
	UsedBy []string `json:"usedBy,omitempty"`
}

type runtimeService struct {
	*dynamic.Service
	Err          []string          `json:"error,omitempty"`
	Status       string            `json:"status,omitempty"`
	UsedBy       []string          `json:"usedBy,omitempty"`
	ServerStatus map[string]string `json:"serverStatus,omitempty"`
}

type runtimeTCPRouter struct {
	*dynamic.TCPRouter
	Err    []string `json:"error,omitempty"`
	Status string   `json:"status,omitempty"`
	Using  []string `json:"using,omitempty"`
}

type runtimeTCPService struct {
	*dynamic.TCPService
	Err    []string `json:"error,omitempty"`
	Status string   `json:"status,omitempty"`
	UsedBy []string `json:"usedBy,omitempty"`
}

type runtimeTCPMiddleware struct {
	*dynamic.TCPMiddleware
	Err    []string `json:"error,omitempty"`
	Status string   `json:"status,omitempty"`
	UsedBy []string `json:"usedBy,omitempty"`
}

// runtime builds the /api/rawdata view of set.
func runtime(set *status.Set) runtimeRepresentation {
	out := runtimeRepresentation{
		Routers:        make(map[string]runtimeRouter, len(set.Routers)),
		Middlewares:    make(map[string]runtimeMiddleware, len(set.Middlewares)),
		Services:       make(map[string]runtimeService, len(set.Services)),
		TCPRouters:     make(map[string]runtimeTCPRouter, len(set.TCPRouters)),
		TCPServices:    make(map[string]runtimeTCPService, len(set.TCPServices)),
		TCPMiddlewares: make(map[string]runtimeTCPMiddleware, len(set.TCPMiddlewares)),
	}
	for n, v := range set.Routers {
		v = presentRouter(v)
		out.Routers[n] = runtimeRouter{Router: v.Router, Err: v.Err, Status: v.Status, Using: v.Using}
	}
	for n, v := range set.Middlewares {
		out.Middlewares[n] = runtimeMiddleware{Middleware: v.Middleware, Err: v.Err, Status: v.Status, UsedBy: v.UsedBy}
	}
	for n, v := range set.Services {
		s := runtimeService{Service: v.Service, Err: v.Err, Status: v.Status, UsedBy: v.UsedBy}
		if v.ServerStatus != nil {
			s.ServerStatus = v.ServerStatus()
		}
		out.Services[n] = s
	}
	for n, v := range set.TCPRouters {
		out.TCPRouters[n] = runtimeTCPRouter{TCPRouter: v.TCPRouter, Err: v.Err, Status: v.Status, Using: v.Using}
	}
	for n, v := range set.TCPServices {
		out.TCPServices[n] = runtimeTCPService{TCPService: v.TCPService, Err: v.Err, Status: v.Status, UsedBy: v.UsedBy}
	}
	for n, v := range set.TCPMiddlewares {
		out.TCPMiddlewares[n] = runtimeTCPMiddleware{TCPMiddleware: v.TCPMiddleware, Err: v.Err, Status: v.Status, UsedBy: v.UsedBy}
	}
	return out
}

func (a *api) rawdata(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, runtime(a.status()))
}

// entryPointRepresentation is an entrypoint as Traefik shows it: its whole
// static configuration and its name.
type entryPointRepresentation struct {
	*static.EntryPoint
	Name string `json:"name,omitempty"`
}

// newEntryPointRepresentation shows e's static configuration without the
// zero durations, which Traefik's configuration leaves out.
func newEntryPointRepresentation(e status.EntryPoint) entryPointRepresentation {
	if e.Config == nil {
		return entryPointRepresentation{EntryPoint: &static.EntryPoint{Address: e.Address}, Name: e.Name}
	}
	ep := *e.Config
	if t := ep.Transport; t != nil {
		tc := *t
		if lc := tc.LifeCycle; lc != nil {
			l := *lc
			l.RequestAcceptGraceTimeout = nonZero(l.RequestAcceptGraceTimeout)
			l.GraceTimeOut = nonZero(l.GraceTimeOut)
			tc.LifeCycle = &l
		}
		if rt := tc.RespondingTimeouts; rt != nil {
			r := *rt
			r.ReadTimeout, r.WriteTimeout, r.IdleTimeout = nonZero(r.ReadTimeout), nonZero(r.WriteTimeout), nonZero(r.IdleTimeout)
			tc.RespondingTimeouts = &r
		}
		tc.KeepAliveMaxTime = nonZero(tc.KeepAliveMaxTime)
		ep.Transport = &tc
	}
	return entryPointRepresentation{EntryPoint: &ep, Name: e.Name}
}

func nonZero(d *config.Duration) *config.Duration {
	if d == nil || *d == 0 {
		return nil
	}
	return d
}

// emptyList answers a list Guan never has items for (UDP routers and
// services), paginated as any other.
func emptyList(w http.ResponseWriter, r *http.Request) {
	if _, err := paginate(r, 0); err != nil {
		writeError(w, err.Error(), http.StatusBadRequest)
		return
	}
	w.Header().Set(nextPageHeader, "1")
	writeJSON(w, []struct{}{})
}

// notFoundObject answers a lookup in a list that is always empty.
func notFoundObject(what string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		name, err := pathName(r)
		if err != nil {
			writeError(w, err.Error(), http.StatusBadRequest)
			return
		}
		writeError(w, what+" not found: "+name, http.StatusNotFound)
	}
}

// redacted replaces every non-empty string value but durations and the
// values of enumerations; object keys (names) stay.
const redacted = "xxxx"

// enumerations are the keys whose string values are one of a few words.
var enumerations = map[string]bool{"defaultRuleSyntax": true, "level": true, "format": true, "scheme": true, "defaultMode": true}

// anonymize returns v as JSON with its string values redacted, as Traefik's
// support dump shows the static configuration: the structure and the
// numbers, switches, durations and enumerations stay, addresses, paths and
// names of files, hosts and users do not.
func anonymize(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var tree any
	if err := dec.Decode(&tree); err != nil {
		return nil, err
	}
	return json.Marshal(redact(tree))
}

func redact(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, x := range t {
			if _, ok := x.(string); ok && enumerations[k] {
				continue
			}
			t[k] = redact(x)
		}
	case []any:
		for i, x := range t {
			t[i] = redact(x)
		}
	case string:
		if _, err := time.ParseDuration(t); t != "" && err != nil {
			return redacted
		}
	}
	return v
}

// supportDump answers a tar.gz of version.json, static-config.json
// (anonymized) and runtime-config.json, as Traefik's /api/support-dump.
func (a *api) supportDump(w http.ResponseWriter, r *http.Request) {
	v, c := a.src.Version()
	version, err := json.Marshal(struct {
		Version   string    `json:"version"`
		Codename  string    `json:"codename"`
		StartDate time.Time `json:"startDate"`
	}{v, c, startDate})
	if err != nil {
		writeError(w, err.Error(), http.StatusInternalServerError)
		return
	}
	var staticCfg any = struct{}{}
	if ss, ok := a.src.(StaticSource); ok {
		staticCfg = ss.StaticConfig()
	}
	static, err := anonymize(staticCfg)
	if err != nil {
		writeError(w, "static configuration: "+err.Error(), http.StatusInternalServerError)
		return
	}
	rt, err := json.Marshal(runtime(a.status()))
	if err != nil {
		writeError(w, "runtime configuration: "+err.Error(), http.StatusInternalServerError)
		return
	}
	// Build the archive first, so an error can still be answered as one.
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	now := time.Now()
	for _, f := range []struct {
		name string
		data []byte
	}{{"version.json", version}, {"static-config.json", static}, {"runtime-config.json", rt}} {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: 0o600, Size: int64(len(f.data)), ModTime: now}); err != nil {
			writeError(w, fmt.Sprintf("support dump: %s: %v", f.name, err), http.StatusInternalServerError)
			return
		}
		if _, err := tw.Write(f.data); err != nil {
			writeError(w, fmt.Sprintf("support dump: %s: %v", f.name, err), http.StatusInternalServerError)
			return
		}
	}
	if err := tw.Close(); err != nil {
		writeError(w, "support dump: "+err.Error(), http.StatusInternalServerError)
		return
	}
	if err := gz.Close(); err != nil {
		writeError(w, "support dump: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/gzip")
	w.Header().Set("Content-Disposition", "attachment; filename=support-dump.tar.gz")
	w.Header().Set("Content-Length", fmt.Sprint(buf.Len()))
	w.Write(buf.Bytes())
}
