package redirect

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
)

type regexRedirect struct {
	next        http.Handler
	re          *regexp.Regexp
	replacement string
	permanent   bool
	logger      *slog.Logger
}

// NewRegex returns the redirectRegex middleware: cfg.Regex is matched
// against the full client URL, "scheme://host[:port]/path?query" (scheme is
// https on TLS connections; the host is the Host header as sent), and on a
// match the client is redirected to the URL with every match replaced by
// cfg.Replacement ($1, ${name} for groups). When the replacement yields the
// same URL, the request passes to next instead of redirecting to itself.
func NewRegex(env middlewares.Env, cfg dynamic.RedirectRegex, next http.Handler) (http.Handler, error) {
	if strings.TrimSpace(cfg.Regex) == "" {
		return nil, errors.New(`redirectRegex: "regex" is empty; set an expression matching the URL, such as "^http://localhost/(.*)"`)
	}
	if strings.TrimSpace(cfg.Replacement) == "" {
		return nil, errors.New(`redirectRegex: "replacement" is empty; set the target URL, such as "http://example.com/${1}"`)
	}
	re, err := regexp.Compile(cfg.Regex)
	if err != nil {
		return nil, fmt.Errorf("redirectRegex: regex %q is not a valid regular expression: %w", cfg.Regex, err)
	}
	logger := env.Logger
	if logger == nil {
		logger = slog.Default()
	}
	return &regexRedirect{next: next, re: re, replacement: cfg.Replacement, permanent: cfg.Permanent, logger: logger}, nil
}

func (r *regexRedirect) ServeHTTP(rw http.ResponseWriter, req *http.Request) {
	old := fullURL(req)
	if !r.re.MatchString(old) {
		r.next.ServeHTTP(rw, req)
		return
	}
	target := r.re.ReplaceAllString(old, r.replacement)
	if target == old {
		r.next.ServeHTTP(rw, req)
		return
	}
	parsed, err := url.Parse(target)
	if err != nil {
		r.logger.Warn("redirect target is not a valid URL", "url", target, "error", err)
		http.Error(rw, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
		return
	}
	writeRedirect(rw, req, parsed.String(), r.permanent)
}

// fullURL is the client URL as Traefik presents it to redirectRegex:
// scheme://host[:port]/path?query, with the authority as sent.
func fullURL(req *http.Request) string {
	scheme, authority, uri := splitRequest(req)
	return scheme + "://" + authority + uri
}
