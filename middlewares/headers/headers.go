// Package headers implements the headers middleware: custom request and
// response headers, CORS and security headers, with Traefik v3 semantics.
//
// Everything that can be computed from the configuration is computed once in
// New; the request path only copies precomputed values.
package headers

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/guan-gateway/guan/config/dynamic"
	"github.com/guan-gateway/guan/middlewares"
	"github.com/guan-gateway/guan/middlewares/headerhook"
)

type headers struct {
	next http.Handler

	reqOps  []requestOp
	respOps []responseOp
	secure  *secure // nil when no security option is set
	cors    *cors   // nil when no CORS option is set

	// wrapsResponse is false when nothing is applied to responses, so the
	// ResponseWriter need not be wrapped.
	wrapsResponse bool
}

// New validates cfg and returns the middleware. On a request it runs, in
// Traefik's order: CORS preflight answer, custom request headers, allowed
// hosts check, then next; on the response, security headers, then custom
// response headers (which may override or delete them), then CORS headers.
func New(_ middlewares.Env, cfg dynamic.Headers, next http.Handler) (http.Handler, error) {
	h := &headers{next: next}
	var err error
	if h.reqOps, err = newRequestOps(cfg.CustomRequestHeaders); err != nil {
		return nil, fmt.Errorf("headers: customRequestHeaders: %w", err)
	}
	if h.respOps, err = newResponseOps(cfg.CustomResponseHeaders); err != nil {
		return nil, fmt.Errorf("headers: customResponseHeaders: %w", err)
	}
	if h.secure, err = newSecure(&cfg); err != nil {
		return nil, fmt.Errorf("headers: %w", err)
	}
	if h.cors, err = newCORS(&cfg); err != nil {
		return nil, fmt.Errorf("headers: %w", err)
	}
	if len(h.reqOps) == 0 && len(h.respOps) == 0 && h.secure == nil && h.cors == nil {
		return nil, errors.New("headers: no option is set; configure custom headers, CORS or security headers, or remove the middleware")
	}
	h.wrapsResponse = len(h.respOps) > 0 || h.cors != nil || (h.secure != nil && h.secure.setsResponseHeaders())
	return h, nil
}

func (h *headers) ServeHTTP(rw http.ResponseWriter, req *http.Request) {
	if h.cors != nil && isPreflight(req) {
		h.cors.answerPreflight(rw, req)
		return
	}
	for i := range h.reqOps {
		h.reqOps[i].apply(req)
	}
	tls := false
	if h.secure != nil {
		if !h.secure.hostAllowed(req) {
			http.Error(rw, "Bad Host", http.StatusBadRequest)
			return
		}
		if h.secure.redirect(rw, req) {
			return
		}
		tls = h.secure.isTLS(req)
	}
	if !h.wrapsResponse {
		h.next.ServeHTTP(rw, req)
		return
	}
	w := headerhook.New(rw, func(hdr http.Header) { h.modifyResponse(hdr, req, tls) })
	h.next.ServeHTTP(w, req)
	w.Finish()
}

// modifyResponse applies every response-side option to hdr.
func (h *headers) modifyResponse(hdr http.Header, req *http.Request, tls bool) {
	if h.secure != nil {
		h.secure.apply(hdr, tls)
	}
	for i := range h.respOps {
		h.respOps[i].apply(hdr)
	}
	if h.cors != nil {
		h.cors.applySimple(hdr, req)
	}
}
