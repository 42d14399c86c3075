// Package errorpage implements the errors middleware: when the next handler
// answers with a configured status, the client gets a page fetched from an
// error service instead, under the original (or rewritten) status code.
package errorpage

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/guan-gateway/guan/config/dynamic"
	"github.com/guan-gateway/guan/middlewares"
	"github.com/guan-gateway/guan/middlewares/statusrange"
	"github.com/guan-gateway/guan/reqinfo"
	"github.com/guan-gateway/guan/services/attempt"
	"golang.org/x/net/http/httpguts"
)

type errorPage struct {
	next     http.Handler
	service  http.Handler
	status   statusrange.Set
	rewrites []rewrite
	query    string
	logger   *slog.Logger
	// keep, when not nil, is errorRequestHeaders: the only request
	// headers (canonical names) the page request carries.
	keep map[string]bool
}

type rewrite struct {
	from statusrange.Range
	to   int
}

// New builds the middleware. service is resolved through env.Service.
func New(env middlewares.Env, cfg dynamic.ErrorPage, next http.Handler) (http.Handler, error) {
	if len(cfg.Status) == 0 {
		return nil, errors.New(`errors: status is empty; list the codes to replace, e.g. ["500-599"]`)
	}
	status, err := statusrange.ParseList("errors: status", cfg.Status)
	if err != nil {
		return nil, err
	}
	var rewrites []rewrite
	for from, to := range cfg.StatusRewrites {
		rs, err := statusrange.Parse(from)
		if err != nil {
			return nil, fmt.Errorf("errors: statusRewrites key %q: %w", from, err)
		}
		if to < 100 || to > 599 {
			return nil, fmt.Errorf("errors: statusRewrites %q = %d; the new status must be between 100 and 599", from, to)
		}
		for _, r := range rs {
			rewrites = append(rewrites, rewrite{from: r, to: to})
		}
	}
	if cfg.Service == "" {
		return nil, errors.New("errors: service is empty; name the service that serves the error pages")
	}
	if env.Service == nil {
		return nil, fmt.Errorf("errors: cannot resolve service %q: no service resolver available", cfg.Service)
	}
	svc, err := env.Service(cfg.Service)
	if err != nil {
		return nil, fmt.Errorf("errors: service %q: %w", cfg.Service, err)
	}
	query := cfg.Query
	if query == "" {
		query = "/"
	}
	if !strings.HasPrefix(query, "/") {
		query = "/" + query
	}
	// Check the template once with sample values so a bad query fails now.
	if _, err := url.ParseRequestURI(expand(query, 500, 500, "/x")); err != nil {
		return nil, fmt.Errorf("errors: query %q is not a valid path: %w", cfg.Query, err)
	}
	var keep map[string]bool
	if cfg.ErrorRequestHeaders != nil {
		keep = make(map[string]bool, len(cfg.ErrorRequestHeaders))
		for i, name := range cfg.ErrorRequestHeaders {
			if !httpguts.ValidHeaderFieldName(name) {
				return nil, fmt.Errorf("errors: errorRequestHeaders[%d]: %q is not a valid header name", i, name)
			}
			keep[http.CanonicalHeaderKey(name)] = true
		}
	}
	logger := env.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &errorPage{next: next, service: svc, status: status, rewrites: rewrites, query: query, logger: logger, keep: keep}, nil
}

func (e *errorPage) matches(code int) bool { return e.status.Has(code) }

func (e *errorPage) rewritten(code int) int {
	for _, r := range e.rewrites {
		if r.from.Has(code) {
			return r.to
		}
	}
	return code
}

func expand(query string, status, original int, rawURL string) string {
	if !strings.Contains(query, "{") {
		return query
	}
	return strings.NewReplacer(
		"{status}", strconv.Itoa(status),
		"{originalStatus}", strconv.Itoa(original),
		"{url}", url.QueryEscape(rawURL),
	).Replace(query)
}

func (e *errorPage) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	c := catcher{w: w, ep: e}
	e.next.ServeHTTP(&c, req)
	if !c.caught {
		return
	}
	e.servePage(w, req, c.code)
}

// servePage answers with the error service's page under the (rewritten)
// original status. The page is streamed, not buffered.
func (e *errorPage) servePage(w http.ResponseWriter, req *http.Request, original int) {
	code := e.rewritten(original)
	target := expand(e.query, code, original, req.URL.String())
	u, err := url.ParseRequestURI(target)
	if err != nil {
		e.logger.Warn("error page URL is invalid", "url", target, "error", err)
		w.WriteHeader(code)
		return
	}
	// The page request must not overwrite the original request's log
	// fields, nor be retried on behalf of an outer retry middleware.
	ctx := reqinfo.With(req.Context(), &reqinfo.Info{})
	ctx = attempt.With(ctx, nil)
	page := req.Clone(ctx)
	page.Method = http.MethodGet
	page.URL = u
	page.RequestURI = u.RequestURI()
	page.Body = http.NoBody
	page.GetBody = nil
	page.ContentLength = 0
	page.TransferEncoding = nil
	page.Trailer = nil
	for _, h := range pageDroppedHeaders {
		page.Header.Del(h)
	}
	if e.keep != nil {
		// errorRequestHeaders: the error service may sit in another trust
		// domain; only the listed headers (say, Accept) cross over.
		for k := range page.Header {
			if !e.keep[k] {
				delete(page.Header, k)
			}
		}
	}
	clear(w.Header()) // nothing of the original error response is sent
	so := statusOverride{w: w, code: code}
	e.service.ServeHTTP(&so, page)
	if !so.wrote {
		w.WriteHeader(code) // the service wrote nothing: keep the status
	}
}

// Headers that would make the error service answer with something other
// than the full page (304, 206) or describe a body the page request lacks.
var pageDroppedHeaders = []string{
	"Content-Length", "Content-Type", "Content-Encoding", "Transfer-Encoding",
	"If-Match", "If-None-Match", "If-Modified-Since", "If-Unmodified-Since", "If-Range", "Range",
}
