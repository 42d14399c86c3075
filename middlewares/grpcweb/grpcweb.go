// Package grpcweb implements the grpcWeb middleware: gRPC-Web requests from
// browsers (application/grpc-web, application/grpc-web+proto and the base64
// application/grpc-web-text) become gRPC requests for the service, and the
// gRPC responses go back as gRPC-Web, with the gRPC trailers (grpc-status,
// grpc-message...) carried in the body as gRPC-Web requires. CORS
// preflights for gRPC-Web (those asking for the x-grpc-web header) are
// answered for the allowed origins. Other requests pass through untouched.
//
// The translation is that of github.com/improbable-eng/grpc-web, wrapped
// the way Traefik wraps it, so browser clients see the same responses. The
// service must speak gRPC: an h2c:// or https:// (HTTP/2) server.
package grpcweb

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/improbable-eng/grpc-web/go/grpcweb"

	"github.com/guan-gateway/guan/config/dynamic"
	"github.com/guan-gateway/guan/middlewares"
)

type grpcWeb struct {
	next    http.Handler
	wrapped *grpcweb.WrappedGrpcServer
}

// New builds the middleware. An empty allowOrigins admits no cross-origin
// browser calls; same-origin and non-browser clients still get through.
func New(env middlewares.Env, cfg dynamic.GrpcWeb, next http.Handler) (http.Handler, error) {
	for i, o := range cfg.AllowOrigins {
		if o == "" || strings.ContainsAny(o, " \t,") {
			return nil, fmt.Errorf("grpcWeb: allowOrigins[%d]: %q is not an origin; write one origin per entry, like \"https://app.example.com\", or \"*\" for any", i, o)
		}
		if o != "*" && strings.Contains(o, "*") {
			return nil, fmt.Errorf("grpcWeb: allowOrigins[%d]: %q: only \"*\" alone is a wildcard; list each origin", i, o)
		}
	}
	if next == nil {
		return nil, errors.New("grpcWeb: no next handler")
	}
	if slices.Contains(cfg.AllowOrigins, "*") && env.Logger != nil {
		// Preflights allow credentials: "*" lets any site call the service
		// with the user's cookies and read the answers.
		env.Logger.Warn(`grpcWeb: allowOrigins "*" admits credentialed calls from every site; list the origins unless the service uses no browser credentials`)
	}
	origins := slices.Clone(cfg.AllowOrigins)
	allowed := func(origin string) bool {
		for _, o := range origins {
			if o == "*" || o == origin {
				return true
			}
		}
		return false
	}
	return &grpcWeb{
		next: next,
		wrapped: grpcweb.WrapHandler(asGRPC(next),
			grpcweb.WithCorsForRegisteredEndpointsOnly(false), // any path may be a method of the service
			grpcweb.WithOriginFunc(allowed),
		),
	}, nil
}

func (g *grpcWeb) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if g.wrapped.IsGrpcWebRequest(req) || g.wrapped.IsAcceptableGrpcCorsRequest(req) {
		g.wrapped.ServeHTTP(w, req)
		return
	}
	g.next.ServeHTTP(w, req)
}

// asGRPC completes the translation the library does, for a proxied
// service rather than an in-process gRPC server:
//   - the library switches the content type to application/grpc and drops
//     the Content-Length header, but the request still declares the
//     gRPC-Web body's length, which for grpc-web-text (base64) is longer
//     than the decoded body the service gets: the HTTP/2 request would be
//     malformed and a strict server resets it;
//   - gRPC asks for "TE: trailers", which browsers do not send;
//   - a service may give its response a Content-Length (Go's HTTP/2 server
//     does for a small response written at once); the library passes it
//     on although the gRPC-Web body is longer (the trailer frame follows,
//     and base64 grows it), which cut the trailers off.
func asGRPC(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		req.ContentLength = -1
		req.Header.Set("Te", "trailers")
		next.ServeHTTP(&noLength{ResponseWriter: w}, req)
	})
}

// noLength drops Content-Length from the response header.
type noLength struct {
	http.ResponseWriter
	wrote bool
}

func (w *noLength) WriteHeader(code int) {
	w.wrote = w.wrote || code >= 200 // not an interim response
	w.Header().Del("Content-Length")
	w.ResponseWriter.WriteHeader(code)
}

func (w *noLength) Write(b []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

func (w *noLength) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *noLength) Unwrap() http.ResponseWriter { return w.ResponseWriter }
