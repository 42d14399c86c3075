// Package replacepath implements the replacePath middleware: it replaces the
// whole request path and keeps the original in X-Replaced-Path.
package replacepath

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/guan-gateway/guan/config/dynamic"
	"github.com/guan-gateway/guan/middlewares"
)

// ReplacedPathHeader carries the original escaped path to the upstream.
const ReplacedPathHeader = "X-Replaced-Path"

type replacePath struct {
	next    http.Handler
	path    string // decoded
	rawPath string // as configured (escaped form)
}

// New returns a handler that sets the path to cfg.Path. Like Traefik, the
// configured path is read in its escaped form: "/a%2Fb" keeps the encoded
// slash in one segment.
func New(_ middlewares.Env, cfg dynamic.ReplacePath, next http.Handler) (http.Handler, error) {
	if cfg.Path == "" {
		return nil, errors.New(`replacePath: "path" is empty; set it to the path to send upstream, such as "/foo"`)
	}
	decoded, err := url.PathUnescape(cfg.Path)
	if err != nil {
		return nil, fmt.Errorf("replacePath: path %q has an invalid escape; write %% as %%25: %w", cfg.Path, err)
	}
	raw := cfg.Path
	if raw[0] != '/' {
		// A relative path would make an invalid request line upstream.
		raw, decoded = "/"+raw, "/"+decoded
	}
	return &replacePath{next: next, path: decoded, rawPath: raw}, nil
}

func (r *replacePath) ServeHTTP(rw http.ResponseWriter, req *http.Request) {
	SaveOriginal(req)
	req.URL.Path = r.path
	req.URL.RawPath = r.rawPath
	req.RequestURI = req.URL.RequestURI()
	r.next.ServeHTTP(rw, req)
}

// SaveOriginal records the request's current escaped path in
// X-Replaced-Path. Shared with replacepathregex.
func SaveOriginal(req *http.Request) {
	if req.Header == nil {
		req.Header = make(http.Header)
	}
	req.Header[ReplacedPathHeader] = append(req.Header[ReplacedPathHeader], escapedPath(req.URL))
}

// escapedPath is URL.RawPath when set (trusting the wire form, as Traefik
// does) and the escaped Path otherwise.
func escapedPath(u *url.URL) string {
	if u.RawPath != "" {
		return u.RawPath
	}
	return u.EscapedPath()
}
