// Package forwardauth implements the forwardAuth middleware with Traefik v3
// semantics: every request is first described to an authentication server;
// a 2xx answer lets it through (with headers and cookies the server hands
// over), any other answer is sent to the client as it is.
package forwardauth

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/guan-gateway/guan/config/dynamic"
	"github.com/guan-gateway/guan/middlewares"
	"github.com/guan-gateway/guan/middlewares/headerhook"
	"github.com/guan-gateway/guan/reqinfo"
	"github.com/guan-gateway/guan/tls/clientconf"
)

// Decision results counted in metrics.
const (
	resultAllowed = "allowed"
	resultDenied  = "denied"
	resultError   = "error" // the authentication server could not be asked
)

// DefaultMaxBodySize bounds the body sent with forwardBody when maxBodySize
// is not set. Traefik's default is no limit, which lets one upload make the
// gateway buffer it all; see the documentation.
const DefaultMaxBodySize = 1 << 20

// authTimeout bounds one call to the authentication server, which has no
// key of its own in Traefik's configuration.
const authTimeout = 30 * time.Second

type forwardAuth struct {
	next             http.Handler
	name             string
	address          string
	base             *url.URL // address, for absolute Location headers
	client           *http.Client
	trustForward     bool
	respHeaders      []string       // canonical
	respRegex        *regexp.Regexp // nil: none
	reqHeaders       []string       // canonical; nil: all
	cookies          []string
	forwardBody      bool
	maxBody          int64 // < 0: no limit
	headerField      string
	preserveLocation bool
	preserveMethod   bool
	log              *slog.Logger
	decision         func(string)
}

// New builds the middleware; the connection pool to the authentication
// server lasts as long as the middleware's configuration is unchanged.
func New(env middlewares.Env, cfg dynamic.ForwardAuth, next http.Handler) (http.Handler, error) {
	if cfg.Address == "" {
		return nil, errors.New("forwardAuth: address is empty; set the URL of the authentication server")
	}
	base, err := url.Parse(cfg.Address)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("forwardAuth: address %q is not an http:// or https:// URL", cfg.Address)
	}
	fa := &forwardAuth{
		next: next, name: env.Name, address: cfg.Address, base: base,
		trustForward: cfg.TrustForwardHeader, cookies: cfg.AddAuthCookiesToResponse,
		forwardBody: cfg.ForwardBody, maxBody: DefaultMaxBodySize, headerField: http.CanonicalHeaderKey(cfg.HeaderField),
		preserveLocation: cfg.PreserveLocationHeader, preserveMethod: cfg.PreserveRequestMethod,
		log: env.Logger, decision: env.Decision,
	}
	if fa.log == nil {
		fa.log = slog.New(slog.DiscardHandler)
	}
	if cfg.MaxBodySize != nil {
		fa.maxBody = *cfg.MaxBodySize
	}
	for _, h := range cfg.AuthResponseHeaders {
		fa.respHeaders = append(fa.respHeaders, http.CanonicalHeaderKey(h))
	}
	for _, h := range cfg.AuthRequestHeaders {
		fa.reqHeaders = append(fa.reqHeaders, http.CanonicalHeaderKey(h))
	}
	if cfg.AuthResponseHeadersRegex != "" {
		if fa.respRegex, err = regexp.Compile(cfg.AuthResponseHeadersRegex); err != nil {
			return nil, fmt.Errorf("forwardAuth: authResponseHeadersRegex: %w", err)
		}
	}
	tr := &http.Transport{
		Proxy:               nil, // the authentication server is called directly
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConnsPerHost: 64,
		IdleConnTimeout:     90 * time.Second,
		TLSHandshakeTimeout: 10 * time.Second,
		ForceAttemptHTTP2:   true,
	}
	if t := cfg.TLS; t != nil {
		tc, err := clientconf.Load(clientconf.Files{CA: env.Path(t.CA), Cert: env.Path(t.Cert), Key: env.Path(t.Key), InsecureSkipVerify: t.InsecureSkipVerify})
		if err != nil {
			return nil, fmt.Errorf("forwardAuth: tls: %w", err)
		}
		tr.TLSClientConfig = tc
	}
	fa.client = &http.Client{
		Transport: tr,
		Timeout:   authTimeout,
		// The authentication server's redirect (to a login page, say) is
		// the client's to follow.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return fa, nil
}

func (fa *forwardAuth) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var body []byte
	if fa.forwardBody && r.Body != nil && r.Body != http.NoBody {
		var ok bool
		if body, ok = fa.readBody(r); !ok {
			fa.decide(r, resultDenied)
			fa.log.Debug("forwardAuth: request body larger than maxBodySize", "maxBodySize", fa.maxBody)
			http.Error(w, http.StatusText(http.StatusUnauthorized), http.StatusUnauthorized)
			return
		}
	}
	areq, err := fa.authRequest(r, body)
	if err != nil {
		fa.decide(r, resultError)
		fa.log.Error("forwardAuth: cannot build the authentication request", "error", err)
		http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
		return
	}
	resp, err := fa.client.Do(areq)
	if err != nil {
		if r.Context().Err() != nil {
			return // the client left
		}
		fa.decide(r, resultError)
		fa.log.Warn("forwardAuth: authentication server unreachable", "address", fa.address, "error", err)
		http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
		return
	}
	defer resp.Body.Close()

	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		fa.decide(r, resultDenied)
		fa.deny(w, resp)
		return
	}
	fa.decide(r, resultAllowed)
	fa.copyAuthHeaders(r, resp.Header)
	if fa.headerField != "" {
		if v := resp.Header.Get(fa.headerField); v != "" {
			if info, ok := reqinfo.Lookup(r.Context()); ok && info != nil {
				info.ClientUsername = v
			}
		}
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // keeps the connection reusable
	if cookies := fa.authCookies(resp); len(cookies) > 0 {
		hw := headerhook.New(w, func(h http.Header) { mergeCookies(h, cookies) })
		fa.next.ServeHTTP(hw, r)
		hw.Finish()
		return
	}
	fa.next.ServeHTTP(w, r)
}

func (fa *forwardAuth) decide(r *http.Request, result string) {
	middlewares.Decide(r, fa.decision, fa.name, result)
}

// readBody buffers the body for the authentication server and puts it back
// for the service; ok is false when it is larger than maxBody.
func (fa *forwardAuth) readBody(r *http.Request) ([]byte, bool) {
	if fa.maxBody >= 0 && r.ContentLength > fa.maxBody {
		return nil, false
	}
	src := io.Reader(r.Body)
	if fa.maxBody >= 0 {
		src = io.LimitReader(r.Body, fa.maxBody+1)
	}
	body, err := io.ReadAll(src)
	if err != nil || (fa.maxBody >= 0 && int64(len(body)) > fa.maxBody) {
		return nil, false
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	return body, true
}

// hopHeaders are not passed to the authentication server. Proxy-Authorization
// is: it may carry the credentials to check (RFC 9110 §11.7.2).
var hopHeaders = []string{"Connection", "Keep-Alive", "Te", "Trailer", "Transfer-Encoding", "Upgrade", "Proxy-Connection"}

// authRequest describes r to the authentication server.
func (fa *forwardAuth) authRequest(r *http.Request, body []byte) (*http.Request, error) {
	method := http.MethodGet
	if fa.preserveMethod {
		method = r.Method
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	areq, err := http.NewRequestWithContext(r.Context(), method, fa.address, rd)
	if err != nil {
		return nil, err
	}
	if fa.reqHeaders == nil {
		for k, vv := range r.Header {
			areq.Header[k] = vv
		}
	} else {
		for _, k := range fa.reqHeaders {
			if vv, ok := r.Header[k]; ok {
				areq.Header[k] = vv
			}
		}
	}
	for _, k := range hopHeaders {
		delete(areq.Header, k)
	}
	delete(areq.Header, "Content-Length")
	fa.setForwarded(areq.Header, r)
	return areq, nil
}

// setForwarded tells the authentication server what the client asked.
// With trustForwardHeader, values the client (or a proxy before the
// gateway) sent are kept; otherwise the gateway's own view replaces them.
func (fa *forwardAuth) setForwarded(h http.Header, r *http.Request) {
	set := func(k, v string) {
		if fa.trustForward && h.Get(k) != "" {
			return
		}
		if v == "" {
			delete(h, k)
			return
		}
		h.Set(k, v)
	}
	clientIP, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		clientIP = r.RemoteAddr
	}
	if fa.trustForward {
		if prior := h.Get("X-Forwarded-For"); prior != "" && clientIP != "" {
			clientIP = prior + ", " + clientIP
		}
	}
	h.Set("X-Forwarded-For", clientIP)
	set("X-Forwarded-Method", r.Method)
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	set("X-Forwarded-Proto", scheme)
	set("X-Forwarded-Host", r.Host)
	set("X-Forwarded-Uri", r.URL.RequestURI())
}

// copyAuthHeaders hands the authentication server's answer on to the
// service: authResponseHeaders replace (or remove) the request's, and with
// authResponseHeadersRegex every matching request header is dropped first,
// then the matching response headers are copied.
func (fa *forwardAuth) copyAuthHeaders(r *http.Request, from http.Header) {
	for _, k := range fa.respHeaders {
		if vv, ok := from[k]; ok {
			r.Header[k] = vv
		} else {
			delete(r.Header, k)
		}
	}
	if fa.respRegex == nil {
		return
	}
	for k := range r.Header {
		if fa.respRegex.MatchString(k) {
			delete(r.Header, k)
		}
	}
	for k, vv := range from {
		if fa.respRegex.MatchString(k) {
			r.Header[k] = vv
		}
	}
}

// deny sends the authentication server's answer to the client.
func (fa *forwardAuth) deny(w http.ResponseWriter, resp *http.Response) {
	h := w.Header()
	for k, vv := range resp.Header {
		if k == "Content-Length" || slices.Contains(hopHeaders, k) {
			continue
		}
		h[k] = vv
	}
	if loc := resp.Header.Get("Location"); loc != "" && !fa.preserveLocation {
		// A relative Location is relative to the authentication server,
		// not to the site the client asked: make it absolute.
		if u, err := url.Parse(loc); err == nil && u.Host == "" {
			h.Set("Location", fa.base.ResolveReference(u).String())
		}
	}
	w.WriteHeader(resp.StatusCode)
	io.Copy(w, resp.Body)
}

// authCookies are the authentication server's Set-Cookie lines whose
// cookie is named in addAuthCookiesToResponse.
func (fa *forwardAuth) authCookies(resp *http.Response) []*http.Cookie {
	if len(fa.cookies) == 0 {
		return nil
	}
	var out []*http.Cookie
	for _, c := range resp.Cookies() {
		for _, name := range fa.cookies {
			if c.Name == name {
				out = append(out, c)
				break
			}
		}
	}
	return out
}

// mergeCookies replaces the service's cookies of the same names with the
// authentication server's.
func mergeCookies(h http.Header, cookies []*http.Cookie) {
	var kept []string
	for _, line := range h["Set-Cookie"] {
		name, _, _ := strings.Cut(line, "=")
		name = strings.TrimSpace(name)
		replaced := false
		for _, c := range cookies {
			if c.Name == name {
				replaced = true
				break
			}
		}
		if !replaced {
			kept = append(kept, line)
		}
	}
	for _, c := range cookies {
		kept = append(kept, c.String())
	}
	h["Set-Cookie"] = kept
}
