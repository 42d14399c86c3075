// Package providers defines what a configuration provider emits. Each
// provider (file, kubernetes, ...) lives in its own sub-package and sends a
// complete dynamic configuration every time its source changes.
package providers

import (
	"strings"

	"github.com/guan-gateway/guan/config/decode"
	"github.com/guan-gateway/guan/config/dynamic"
)

// Message is one provider's complete dynamic configuration, or why it could not be loaded.
type Message struct {
	Provider string                 // "file"
	Config   *dynamic.Configuration // nil when Err != nil
	Meta     *decode.Meta           // positions of every key, for error messages
	BaseDir  string                 // resolves relative paths (usersFile, certFile)
	Err      error                  // load failed: the previous config of this provider stays
	Warnings []error                // applied anyway (e.g. a name defined twice: the first one wins)
}

// Error is a failed load. It prints every line of Err prefixed with the
// provider name ("provider file: dyn.toml:3:9: ...") and unwraps to Err,
// which is usually a config.Errors.
type Error struct {
	Provider string
	Err      error
}

func (e *Error) Error() string {
	prefix := "provider " + e.Provider + ": "
	lines := strings.Split(e.Err.Error(), "\n")
	for i, l := range lines {
		lines[i] = prefix + l
	}
	return strings.Join(lines, "\n")
}

func (e *Error) Unwrap() error { return e.Err }
