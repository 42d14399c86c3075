// Package middlewares defines what every middleware constructor receives. Each
// middleware family lives in its own sub-package; middlewares/registry maps a
// configuration kind to its constructor.
package middlewares

import (
	"log/slog"
	"net/http"

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
}

// Constructor wraps next with a middleware.
type Constructor func(next http.Handler) (http.Handler, error)
