// Package compress implements the compress middleware: responses are
// encoded with zstd, brotli or gzip according to the client's
// Accept-Encoding, once they are known to be large enough to be worth it.
package compress

import (
	"errors"
	"fmt"
	"mime"
	"net/http"
	"slices"
	"strings"

	"github.com/guan-gateway/guan/config/dynamic"
	"github.com/guan-gateway/guan/middlewares"
)

const defaultMinSize = 1024

var defaultEncodings = []string{zstdName, brotliName, gzipName}

type compress struct {
	next            http.Handler
	encodings       []string
	defaultEncoding string
	minSize         int
	excluded        []mediaType
	included        []mediaType
}

// New builds the middleware.
func New(_ middlewares.Env, cfg dynamic.Compress, next http.Handler) (http.Handler, error) {
	if len(cfg.ExcludedContentTypes) > 0 && len(cfg.IncludedContentTypes) > 0 {
		return nil, errors.New("compress: excludedContentTypes and includedContentTypes are mutually exclusive; keep only one")
	}
	if cfg.MinResponseBodyBytes < 0 {
		return nil, fmt.Errorf("compress: minResponseBodyBytes is %d; use 0 or more (default %d)", cfg.MinResponseBodyBytes, defaultMinSize)
	}
	c := &compress{next: next, minSize: cfg.MinResponseBodyBytes, encodings: defaultEncodings}
	if c.minSize == 0 {
		c.minSize = defaultMinSize
	}
	if len(cfg.Encodings) > 0 {
		c.encodings = nil
		for _, e := range cfg.Encodings {
			e = strings.ToLower(strings.TrimSpace(e))
			if _, ok := pools[e]; !ok {
				return nil, fmt.Errorf("compress: encodings: unknown encoding %q; use zstd, br or gzip", e)
			}
			if slices.Contains(c.encodings, e) {
				return nil, fmt.Errorf("compress: encodings: %q is listed twice", e)
			}
			c.encodings = append(c.encodings, e)
		}
	}
	if d := strings.ToLower(strings.TrimSpace(cfg.DefaultEncoding)); d != "" {
		if !slices.Contains(c.encodings, d) {
			return nil, fmt.Errorf("compress: defaultEncoding %q is not one of encodings %v", cfg.DefaultEncoding, c.encodings)
		}
		c.defaultEncoding = d
	}
	// gRPC frames its own compression; never touch it, whatever the
	// message format (application/grpc, application/grpc+proto, +json...).
	c.excluded = []mediaType{{typ: "application/grpc"}, {typ: "application/grpc+proto"}, {typ: "application/grpc+json"}, {typ: "application/grpc-web"}, {typ: "application/grpc-web+proto"}}
	for _, s := range cfg.ExcludedContentTypes {
		m, err := parseMediaType(s)
		if err != nil {
			return nil, fmt.Errorf("compress: excludedContentTypes: %w", err)
		}
		c.excluded = append(c.excluded, m)
	}
	for _, s := range cfg.IncludedContentTypes {
		m, err := parseMediaType(s)
		if err != nil {
			return nil, fmt.Errorf("compress: includedContentTypes: %w", err)
		}
		c.included = append(c.included, m)
	}
	return c, nil
}

func (c *compress) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	// HEAD has no body to encode; upgrades and ranges have byte-exact
	// semantics that a content coding would break.
	if req.Method == http.MethodHead || req.Header.Get("Upgrade") != "" || req.Header.Get("Range") != "" ||
		c.isExcluded(req.Header.Get("Content-Type")) {
		c.next.ServeHTTP(w, req)
		return
	}
	lines, present := req.Header["Accept-Encoding"]
	var enc string
	switch {
	case present:
		enc = negotiate(lines, c.encodings, c.defaultEncoding)
	default:
		// No header: any coding is acceptable per the RFC, but many old
		// clients send none and cannot decode, so only defaultEncoding.
		enc = c.defaultEncoding
	}
	if enc == "" {
		addVary(w.Header())
		c.next.ServeHTTP(w, req)
		return
	}
	rw := newResponseWriter(w, c, enc)
	defer rw.release()
	c.next.ServeHTTP(rw, req)
	rw.finish()
}

// isExcluded applies excludedContentTypes/includedContentTypes to a
// Content-Type value. An empty value is decided later, after sniffing.
func (c *compress) isExcluded(ct string) bool {
	if ct == "" {
		return false
	}
	for _, m := range c.excluded {
		if m.matches(ct) {
			return true
		}
	}
	if len(c.included) == 0 {
		return false
	}
	for _, m := range c.included {
		if m.matches(ct) {
			return false
		}
	}
	return true
}

// mediaType is a configured content type, compared case-insensitively with
// whitespace ignored; configured parameters must be present in the value.
type mediaType struct {
	typ    string
	params map[string]string
}

func parseMediaType(s string) (mediaType, error) {
	typ, params, err := mime.ParseMediaType(s)
	if err != nil {
		return mediaType{}, fmt.Errorf("%q is not a media type (like text/html or application/json; charset=utf-8): %w", s, err)
	}
	if len(params) == 0 {
		params = nil
	}
	return mediaType{typ: typ, params: params}, nil
}

func (m mediaType) matches(ct string) bool {
	typ := ct
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		typ = ct[:i]
	}
	if !strings.EqualFold(strings.TrimSpace(typ), m.typ) {
		return false
	}
	if m.params == nil {
		return true
	}
	_, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return false
	}
	for k, v := range m.params {
		if !strings.EqualFold(params[k], v) {
			return false
		}
	}
	return true
}

// addVary makes sure caches key the response on Accept-Encoding.
func addVary(h http.Header) {
	for _, v := range h.Values("Vary") {
		for tok := range strings.SplitSeq(v, ",") {
			if t := strings.TrimSpace(tok); t == "*" || strings.EqualFold(t, "Accept-Encoding") {
				return
			}
		}
	}
	h.Add("Vary", "Accept-Encoding")
}
