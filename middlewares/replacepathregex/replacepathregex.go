// Package replacepathregex implements the replacePathRegex middleware: it
// rewrites the escaped request path with a regular expression and a
// replacement, keeping the original in X-Replaced-Path.
package replacepathregex

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/guan-gateway/guan/config/dynamic"
	"github.com/guan-gateway/guan/middlewares"
	"github.com/guan-gateway/guan/middlewares/replacepath"
	"github.com/guan-gateway/guan/urlpath"
)

type replacePathRegex struct {
	next        http.Handler
	re          *regexp.Regexp
	replacement string
	logger      *slog.Logger
}

// New compiles cfg.Regex. The expression is matched against the escaped
// path (RawPath, or Path escaped); every match is replaced with
// cfg.Replacement, in which $1, ${name} refer to capture groups. Requests
// whose path does not match pass unchanged. A result with a "." or ".."
// segment the request path did not have is cleaned as the entrypoint's
// http.sanitizePath does.
func New(env middlewares.Env, cfg dynamic.ReplacePathRegex, next http.Handler) (http.Handler, error) {
	expr := strings.TrimSpace(cfg.Regex)
	if expr == "" {
		return nil, errors.New(`replacePathRegex: "regex" is empty; set an expression such as "^/foo/(.*)"`)
	}
	replacement := strings.TrimSpace(cfg.Replacement)
	if replacement == "" {
		return nil, errors.New(`replacePathRegex: "replacement" is empty; set the new path, such as "/bar/$1"`)
	}
	re, err := regexp.Compile(expr)
	if err != nil {
		return nil, fmt.Errorf("replacePathRegex: regex %q is not a valid regular expression: %w", expr, err)
	}
	logger := env.Logger
	if logger == nil {
		logger = slog.Default()
	}
	return &replacePathRegex{next: next, re: re, replacement: replacement, logger: logger}, nil
}

func (r *replacePathRegex) ServeHTTP(rw http.ResponseWriter, req *http.Request) {
	current := req.URL.RawPath
	if current == "" {
		current = req.URL.EscapedPath()
	}
	if !r.re.MatchString(current) {
		r.next.ServeHTTP(rw, req)
		return
	}
	rawPath := r.re.ReplaceAllString(current, r.replacement)
	if rawPath == "" || rawPath[0] != '/' {
		// A relative path would make an invalid request line upstream.
		rawPath = "/" + rawPath
	}
	// The replacement may introduce escapes, so Path is derived from the new
	// escaped form rather than rewritten separately.
	path, err := url.PathUnescape(rawPath)
	if err != nil {
		r.logger.Warn("replacement produced an invalid escaped path", "path", rawPath, "error", err)
		http.Error(rw, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
		return
	}
	replacepath.SaveOriginal(req)
	oldPath, oldRawPath := req.URL.Path, req.URL.RawPath
	req.URL.RawPath = rawPath
	req.URL.Path = path
	if urlpath.HasDotSegment(req.URL) && !urlpath.HasDotSegment(&url.URL{Path: oldPath, RawPath: oldRawPath}) {
		// A capture put a dot segment in the new path ("/foo../x" through
		// "^/foo(.*)" → "/bar/$1" is "/bar/../x") that the upstream would
		// resolve: clean the path as http.sanitizePath does.
		urlpath.Clean(req.URL)
	}
	req.RequestURI = req.URL.RequestURI()
	r.next.ServeHTTP(rw, req)
}
