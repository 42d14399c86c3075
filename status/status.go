// Package status describes the runtime state of every configured object —
// enabled, disabled or with warnings, and why — for the API and dashboard.
// The JSON follows Traefik's API so existing tooling can read it.
package status

import (
	"encoding/json"

	"github.com/guan-gateway/guan/config/dynamic"
	"github.com/guan-gateway/guan/config/static"
)

// Object status values.
const (
	Enabled  = "enabled"
	Disabled = "disabled"
	Warning  = "warning"
)

// Router is an HTTP router and its state.
type Router struct {
	*dynamic.Router
	Name     string   `json:"name"`
	Provider string   `json:"provider"`
	Status   string   `json:"status"`
	Err      []string `json:"error,omitempty"`
	Using    []string `json:"using,omitempty"` // entrypoints it is live on
}

// Service is an HTTP service and its state. ServerStatus, when set, reports
// the live health of each server URL ("UP" or "DOWN").
type Service struct {
	*dynamic.Service
	Name         string                   `json:"name"`
	Provider     string                   `json:"provider"`
	Type         string                   `json:"type,omitempty"` // loadbalancer, weighted, highestrandomweight, mirroring, failover
	Status       string                   `json:"status"`
	Err          []string                 `json:"error,omitempty"`
	UsedBy       []string                 `json:"usedBy,omitempty"`
	ServerStatus func() map[string]string `json:"-"`
}

// MarshalJSON adds the live serverStatus map.
func (s *Service) MarshalJSON() ([]byte, error) {
	type plain Service
	out := struct {
		*plain
		ServerStatus map[string]string `json:"serverStatus,omitempty"`
	}{plain: (*plain)(s)}
	if s.ServerStatus != nil {
		out.ServerStatus = s.ServerStatus()
	}
	return json.Marshal(out)
}

// Middleware is an HTTP middleware and its state.
type Middleware struct {
	*dynamic.Middleware
	Name     string   `json:"name"`
	Provider string   `json:"provider"`
	Type     string   `json:"type,omitempty"` // lower-cased kind, e.g. "addprefix"
	Status   string   `json:"status"`
	Err      []string `json:"error,omitempty"`
	UsedBy   []string `json:"usedBy,omitempty"`
}

// TCPRouter is a TCP router and its state.
type TCPRouter struct {
	*dynamic.TCPRouter
	Name     string   `json:"name"`
	Provider string   `json:"provider"`
	Status   string   `json:"status"`
	Err      []string `json:"error,omitempty"`
	Using    []string `json:"using,omitempty"`
}

// TCPService is a TCP service and its state.
type TCPService struct {
	*dynamic.TCPService
	Name     string   `json:"name"`
	Provider string   `json:"provider"`
	Type     string   `json:"type,omitempty"`
	Status   string   `json:"status"`
	Err      []string `json:"error,omitempty"`
	UsedBy   []string `json:"usedBy,omitempty"`
}

// TCPMiddleware is a TCP middleware and its state.
type TCPMiddleware struct {
	*dynamic.TCPMiddleware
	Name     string   `json:"name"`
	Provider string   `json:"provider"`
	Type     string   `json:"type,omitempty"` // lower-cased kind, e.g. "ipallowlist"
	Status   string   `json:"status"`
	Err      []string `json:"error,omitempty"`
	UsedBy   []string `json:"usedBy,omitempty"`
}

// EntryPoint is a configured entrypoint as the API shows it.
type EntryPoint struct {
	Name    string `json:"name"`
	Address string `json:"address"`
	// Config is the entrypoint's static configuration, defaults applied;
	// the API shows it whole, as Traefik does. nil shows name and address.
	Config *static.EntryPoint `json:"-"`
}

// Set is the state of one configuration snapshot. Maps are keyed by
// qualified name ("name@provider"). A Set is immutable once published.
type Set struct {
	Routers        map[string]*Router        `json:"routers,omitempty"`
	Services       map[string]*Service       `json:"services,omitempty"`
	Middlewares    map[string]*Middleware    `json:"middlewares,omitempty"`
	TCPRouters     map[string]*TCPRouter     `json:"tcpRouters,omitempty"`
	TCPServices    map[string]*TCPService    `json:"tcpServices,omitempty"`
	TCPMiddlewares map[string]*TCPMiddleware `json:"tcpMiddlewares,omitempty"`
	EntryPoints    []EntryPoint              `json:"-"`
	ProviderErrors map[string][]string       `json:"-"` // provider -> load errors (file:line:col: msg)
}

// NewSet returns an empty set with its maps made.
func NewSet() *Set {
	return &Set{
		Routers:        map[string]*Router{},
		Services:       map[string]*Service{},
		Middlewares:    map[string]*Middleware{},
		TCPRouters:     map[string]*TCPRouter{},
		TCPServices:    map[string]*TCPService{},
		TCPMiddlewares: map[string]*TCPMiddleware{},
		ProviderErrors: map[string][]string{},
	}
}
