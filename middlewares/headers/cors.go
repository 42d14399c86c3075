package headers

import (
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/guan-gateway/guan/config/dynamic"
	"golang.org/x/net/http/httpguts"
)

// cors holds the CORS options of a headers middleware, with list values
// joined once.
type cors struct {
	origins       []string
	originRegexes []*regexp.Regexp
	credentials   bool
	allowHeaders  string
	allowMethods  string
	exposeHeaders string
	maxAge        string
	// varyOrigin adds "Origin" to Vary: always with addVaryHeader, and also
	// whenever the allowed origin depends on the request's Origin, so that
	// caches never serve one origin's answer to another.
	varyOrigin bool
}

func hasCORSOptions(c *dynamic.Headers) bool {
	return c.AccessControlAllowCredentials || len(c.AccessControlAllowHeaders) > 0 ||
		len(c.AccessControlAllowMethods) > 0 || len(c.AccessControlAllowOriginList) > 0 ||
		len(c.AccessControlAllowOriginListRegex) > 0 || len(c.AccessControlExposeHeaders) > 0 ||
		c.AccessControlMaxAge != 0 || c.AddVaryHeader
}

func newCORS(c *dynamic.Headers) (*cors, error) {
	if !hasCORSOptions(c) {
		return nil, nil
	}
	if c.AccessControlMaxAge < 0 {
		return nil, fmt.Errorf("accessControlMaxAge is %d; it must be a number of seconds, 0 or more", c.AccessControlMaxAge)
	}
	cr := &cors{
		origins:       c.AccessControlAllowOriginList,
		credentials:   c.AccessControlAllowCredentials,
		allowHeaders:  strings.Join(c.AccessControlAllowHeaders, ","),
		allowMethods:  strings.Join(c.AccessControlAllowMethods, ","),
		exposeHeaders: strings.Join(c.AccessControlExposeHeaders, ","),
		maxAge:        strconv.FormatInt(c.AccessControlMaxAge, 10),
		varyOrigin:    c.AddVaryHeader || len(c.AccessControlAllowOriginListRegex) > 0,
	}
	for i, o := range c.AccessControlAllowOriginList {
		if o == "" {
			return nil, fmt.Errorf("accessControlAllowOriginList[%d] is empty; use an origin such as \"https://example.com\" or \"*\"", i)
		}
		if o != "*" {
			cr.varyOrigin = true
		}
	}
	for i, expr := range c.AccessControlAllowOriginListRegex {
		re, err := regexp.Compile(expr)
		if err != nil {
			return nil, fmt.Errorf("accessControlAllowOriginListRegex[%d] %q is not a valid regular expression: %w", i, expr, err)
		}
		cr.originRegexes = append(cr.originRegexes, re)
	}
	for name, v := range map[string]string{
		"accessControlAllowOriginList": strings.Join(c.AccessControlAllowOriginList, ""),
		"accessControlAllowHeaders":    cr.allowHeaders,
		"accessControlAllowMethods":    cr.allowMethods,
		"accessControlExposeHeaders":   cr.exposeHeaders,
	} {
		if !httpguts.ValidHeaderFieldValue(v) {
			return nil, fmt.Errorf("%s contains a control character (newline?); remove it", name)
		}
	}
	return cr, nil
}

// isPreflight reports whether req is a CORS preflight: OPTIONS with Origin
// and Access-Control-Request-Method.
func isPreflight(req *http.Request) bool {
	return req.Method == http.MethodOptions &&
		req.Header.Get("Access-Control-Request-Method") != "" &&
		req.Header.Get("Origin") != ""
}

// allowedOrigin returns the Access-Control-Allow-Origin value for origin:
// the first list entry that is "*" or equals origin, else origin itself when
// a regex matches it, else "".
func (c *cors) allowedOrigin(origin string) string {
	for _, o := range c.origins {
		if o == "*" || o == origin {
			return o
		}
	}
	if origin == "" {
		return ""
	}
	for _, re := range c.originRegexes {
		if re.MatchString(origin) {
			return origin
		}
	}
	return ""
}

// answerPreflight answers a preflight request itself with 200; it does not
// reach the upstream.
func (c *cors) answerPreflight(rw http.ResponseWriter, req *http.Request) {
	h := rw.Header()
	if c.credentials {
		h.Set("Access-Control-Allow-Credentials", "true")
	}
	if c.allowHeaders != "" {
		h.Set("Access-Control-Allow-Headers", c.allowHeaders)
	}
	if c.allowMethods != "" {
		h.Set("Access-Control-Allow-Methods", c.allowMethods)
	}
	if o := c.allowedOrigin(req.Header.Get("Origin")); o != "" {
		h.Set("Access-Control-Allow-Origin", o)
	}
	h.Set("Access-Control-Max-Age", c.maxAge)
	if c.varyOrigin {
		addVaryOrigin(h)
	}
	rw.WriteHeader(http.StatusOK)
}

// applySimple adds the CORS headers of an actual (non-preflight) response.
func (c *cors) applySimple(h http.Header, req *http.Request) {
	if o := c.allowedOrigin(req.Header.Get("Origin")); o != "" {
		h.Set("Access-Control-Allow-Origin", o)
	}
	if c.credentials {
		h.Set("Access-Control-Allow-Credentials", "true")
	}
	if c.exposeHeaders != "" {
		h.Set("Access-Control-Expose-Headers", c.exposeHeaders)
	}
	if c.varyOrigin {
		addVaryOrigin(h)
	}
}

// addVaryOrigin adds Origin to Vary unless it (or "*") is already listed.
func addVaryOrigin(h http.Header) {
	vary := h["Vary"]
	for _, line := range vary {
		for tok := range strings.SplitSeq(line, ",") {
			tok = strings.TrimSpace(tok)
			if tok == "*" || strings.EqualFold(tok, "Origin") {
				return
			}
		}
	}
	switch len(vary) {
	case 0:
		h.Set("Vary", "Origin")
	case 1:
		h.Set("Vary", vary[0]+",Origin")
	default:
		h["Vary"] = append(vary, "Origin")
	}
}
