// Package addprefix implements the addPrefix middleware: it prepends a fixed
// prefix to the request path before the request goes on.
package addprefix

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/guan-gateway/guan/config/dynamic"
	"github.com/guan-gateway/guan/middlewares"
	"github.com/guan-gateway/guan/urlpath"
)

type addPrefix struct {
	next http.Handler
	// prefix is the decoded form added to URL.Path; rawPrefix its escaped
	// form, added to URL.RawPath so both stay consistent.
	prefix    string
	rawPrefix string
}

// New returns a handler that prepends cfg.Prefix to every request path. A
// prefix without a leading "/" gets one, as in Traefik. A prefix with a
// "." or ".." segment ("/api/..") is refused.
func New(_ middlewares.Env, cfg dynamic.AddPrefix, next http.Handler) (http.Handler, error) {
	if cfg.Prefix == "" {
		return nil, errors.New(`addPrefix: prefix is empty; set "prefix" to a path such as "/api"`)
	}
	prefix := cfg.Prefix
	if prefix[0] != '/' {
		prefix = "/" + prefix
	}
	u := &url.URL{Path: prefix}
	if urlpath.HasDotSegment(u) {
		// The request path always starts with "/", so only the prefix can
		// put a dot segment in the new path.
		return nil, fmt.Errorf(`addPrefix: prefix %q has a "." or ".." segment, which the upstream would resolve; write the prefix without it`, cfg.Prefix)
	}
	return &addPrefix{
		next:      next,
		prefix:    prefix,
		rawPrefix: u.EscapedPath(),
	}, nil
}

func (a *addPrefix) ServeHTTP(rw http.ResponseWriter, req *http.Request) {
	req.URL.Path = join(a.prefix, req.URL.Path)
	if req.URL.RawPath != "" {
		req.URL.RawPath = join(a.rawPrefix, req.URL.RawPath)
	}
	req.RequestURI = req.URL.RequestURI()
	a.next.ServeHTTP(rw, req)
}

// join concatenates prefix and path; a path that does not start with "/"
// (possible for requests built in-process) is separated by one.
func join(prefix, path string) string {
	if path == "" || path[0] == '/' || strings.HasSuffix(prefix, "/") {
		return prefix + path
	}
	return prefix + "/" + path
}
