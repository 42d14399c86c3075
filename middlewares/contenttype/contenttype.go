// Package contenttype implements the contentType middleware. The gateway
// sends a response without a Content-Type header as it is, without one, as
// Traefik v3 does; behind this middleware such a response gets the type
// net/http detects from its first 512 bytes (http.DetectContentType), as
// Traefik v2 did by default.
package contenttype

import (
	"net/http"

	"github.com/guan-gateway/guan/config/dynamic"
	"github.com/guan-gateway/guan/middlewares"
	"github.com/guan-gateway/guan/services/proxy"
)

type contentType struct {
	next http.Handler
}

// New returns the contentType middleware. autoDetect is deprecated in
// Traefik v3 and accepted as there: false leaves next unchanged (no
// detection), true is the same as not setting it.
func New(env middlewares.Env, cfg dynamic.ContentType, next http.Handler) (http.Handler, error) {
	if cfg.AutoDetect != nil {
		if env.Logger != nil {
			env.Logger.Warn("contentType: autoDetect is deprecated; an empty contentType middleware enables detection, no middleware disables it")
		}
		if !*cfg.AutoDetect {
			return next, nil
		}
	}
	return &contentType{next: next}, nil
}

func (c *contentType) ServeHTTP(rw http.ResponseWriter, req *http.Request) {
	// Detection applies where the gateway writes an upstream response that
	// has no Content-Type; a type set on the way (by headers or compress)
	// wins, as in Traefik.
	c.next.ServeHTTP(rw, req.WithContext(proxy.DetectContentType(req.Context())))
}
