// Package middlewares defines what every middleware constructor receives. Each
// middleware family lives in its own sub-package; middlewares/registry maps a
// configuration kind to its constructor. TCP middlewares live under
// middlewares/tcp, with their own registry (middlewares/tcp/registry).
package middlewares

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"

	"github.com/guan-gateway/guan/reqinfo"
	"github.com/guan-gateway/guan/statestore"
)

// Env is what a constructor may use besides its own configuration.
type Env struct {
	// Name is the qualified middleware name, "name@provider".
	Name string
	// Store keeps state that must survive a reload (e.g. in-flight counters);
	// key objects by Name and configuration.
	Store *statestore.Build
	// Logger is tagged with the middleware name.
	Logger *slog.Logger
	// Service resolves a service name (qualified or relative to the
	// middleware's provider) to its handler, for middlewares that call
	// services (errors).
	Service func(name string) (http.Handler, error)
	// BaseDir resolves relative file paths (usersFile) in configuration.
	BaseDir string
	// Decision counts one decision of the middleware by result, for the
	// guan_middleware_decisions_total metric; nil when nobody counts.
	Decision func(result string)
}

// Constructor wraps next with a middleware.
type Constructor func(next http.Handler) (http.Handler, error)

// TCPHandler serves a connection of a TCP router. Whoever calls ServeTCP
// closes conn when it returns; a handler may close it earlier to refuse it.
type TCPHandler interface {
	ServeTCP(conn net.Conn)
}

// TCPConstructor wraps next with a TCP middleware.
type TCPConstructor func(next TCPHandler) (TCPHandler, error)

// Decide records a policy middleware's decision: it is counted through
// count (Env.Decision, may be nil) and, unless it is "allowed", the
// request's access-log line names it as MiddlewareDecision
// ("name@provider:result").
func Decide(r *http.Request, count func(string), name, result string) {
	if count != nil {
		count(result)
	}
	if result != "allowed" {
		if info, ok := reqinfo.Lookup(r.Context()); ok && info != nil {
			info.Decision = name + ":" + result
		}
	}
}

// Lasting returns the object the state store keeps for this middleware
// and configuration (so that it survives reloads that leave both
// unchanged), creating it on first use; without a store it creates one.
func Lasting[T any](env Env, kind string, cfg any, create func() (T, error)) (T, error) {
	if env.Store == nil {
		return create()
	}
	v, err := env.Store.Get(kind, env.Name, cfg, func() (any, error) { return create() })
	if err != nil {
		var zero T
		return zero, err
	}
	t, ok := v.(T)
	if !ok {
		var zero T
		return zero, fmt.Errorf("state store holds %T for %q", v, env.Name)
	}
	return t, nil
}

// ResolvePath makes a path from configuration relative to the directory
// of the file that set it (baseDir); absolute paths, and any path when
// baseDir is unknown, stay as they are.
func ResolvePath(baseDir, p string) string {
	if p == "" || filepath.IsAbs(p) || baseDir == "" {
		return p
	}
	return filepath.Join(baseDir, p)
}

// Path resolves p against the middleware's BaseDir (see ResolvePath).
func (e Env) Path(p string) string { return ResolvePath(e.BaseDir, p) }
