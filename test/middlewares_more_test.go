package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// ticked turns ´ into backticks, so configurations with rules can be written
// as Go raw strings.
func ticked(s string) string { return strings.ReplaceAll(s, "´", "`") }

// echoSeen is what an echo backend reports about the request it received.
type echoSeen struct {
	URI string            `json:"uri"`
	CL  int64             `json:"cl"`
	H   map[string]string `json:"h"`
}

// echoBackend answers every request with a JSON description of it and an
// X-Backend header; hits counts the requests it received.
func echoBackend(t *testing.T) (url string, hits func() int64) {
	t.Helper()
	var n atomic.Int64
	addr := serveOn(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		io.Copy(io.Discard, r.Body)
		s := echoSeen{URI: r.RequestURI, CL: r.ContentLength, H: map[string]string{}}
		for k, v := range r.Header {
			s.H[k] = strings.Join(v, ", ")
		}
		w.Header().Set("X-Backend", "echo")
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(s)
	}))
	return "http://" + addr, n.Load
}

// flakyBackend closes the first failFirst connections it accepts without
// answering, then serves normally; conns counts accepted connections.
func flakyBackend(t *testing.T, failFirst int64) (url string, conns func() int64) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fl := &closingListener{Listener: l, failFirst: failFirst}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "finally")
	})}
	go srv.Serve(fl)
	t.Cleanup(func() { srv.Close() })
	return "http://" + l.Addr().String(), fl.n.Load
}

type closingListener struct {
	net.Listener
	failFirst int64
	n         atomic.Int64
}

func (l *closingListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if l.n.Add(1) <= l.failFirst {
			c.Close()
			continue
		}
		return c, nil
	}
}

// Every middleware whose behaviour only unit tests covered, driven through
// the binary: what the client gets and what the service saw.
func TestMiddlewaresEndToEnd(t *testing.T) {
	echo, echoHits := echoBackend(t)
	flaky, flakyConns := flakyBackend(t, 2)
	dead, deadConns := flakyBackend(t, 1<<40)
	statusAddr := serveOn(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var code int
		fmt.Sscanf(strings.TrimPrefix(r.URL.Path, "/code/"), "%d", &code)
		w.Header().Set("X-Detail", "secret")
		w.WriteHeader(code)
		fmt.Fprintf(w, "internal detail %d", code)
	}))
	pagesAddr := serveOn(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, "page:%s", r.RequestURI)
	}))
	// failFirst answers 503 to the first N requests for /fail-N/..., then
	// 200 with the path and the body; pathHits counts requests per path.
	var failHits sync.Map
	pathHits := func(path string) int64 {
		n, _ := failHits.LoadOrStore(path, new(atomic.Int64))
		return n.(*atomic.Int64).Load()
	}
	failFirstAddr := serveOn(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := failHits.LoadOrStore(r.URL.Path, new(atomic.Int64))
		n := c.(*atomic.Int64).Add(1)
		b, _ := io.ReadAll(r.Body)
		var fail int64
		fmt.Sscanf(r.URL.Path, "/fail-%d/", &fail)
		if n <= fail {
			w.Header().Set("X-Failed", "yes")
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintf(w, "busy %d", n)
			return
		}
		fmt.Fprintf(w, "ok:%s:%s", r.URL.Path, b)
	}))
	dead2, dead2Conns := flakyBackend(t, 1<<40)

	var cfg strings.Builder
	router := func(name, host string, mws ...string) {
		svc := "echo"
		switch name {
		case "retry":
			svc = "flaky"
		case "retryfail":
			svc = "dead"
		case "errors":
			svc = "status"
		case "retrystatus", "retrypost":
			svc = "failfirst"
		case "retrynonet":
			svc = "dead2"
		}
		fmt.Fprintf(&cfg, "[http.routers.%s]\n  rule = \"Host(`%s`)\"\n  service = %q\n  middlewares = [\"%s\"]\n", name, host, svc, strings.Join(mws, `", "`))
	}
	router("addprefix", "add.test", "add")
	router("stripregex", "stripre.test", "stripre")
	router("replacepath", "replace.test", "replace")
	router("replaceregex", "replacere.test", "replacere")
	router("headers", "headers.test", "hdrs")
	router("cors", "cors.test", "cors")
	router("redirscheme", "redir.test", "redirscheme")
	router("redirregex", "old.test", "redirregex")
	router("ippeer", "ip-peer.test", "ip-peer")
	router("ipdeny", "ip-deny.test", "ip-deny")
	router("ipdepth", "ip-depth.test", "ip-depth")
	router("buffer", "buffer.test", "buffer")
	router("retry", "retry.test", "retry")
	router("retryfail", "retryfail.test", "retry2")
	router("errors", "errors.test", "errpages")
	router("retrystatus", "retry-status.test", "retry3")
	router("retrypost", "retry-post.test", "retrypost")
	router("retrynonet", "retry-nonet.test", "retrynonet")
	cfg.WriteString(ticked(`
[http.middlewares.add.addPrefix]
  prefix = "/api"
[http.middlewares.stripre.stripPrefixRegex]
  regex = ["/tenants/[a-z0-9-]+"]
[http.middlewares.replace.replacePath]
  path = "/health"
[http.middlewares.replacere.replacePathRegex]
  regex = "^/v1/(.*)"
  replacement = "/api/$1"
[http.middlewares.hdrs.headers.customRequestHeaders]
  X-Script-Name = "app"
  X-Internal-Debug = ""
[http.middlewares.hdrs.headers.customResponseHeaders]
  X-Served-By = "gateway"
  X-Backend = ""
[http.middlewares.cors.headers]
  accessControlAllowOriginList = ["https://www.example.com"]
  accessControlAllowMethods = ["GET", "POST"]
  accessControlAllowHeaders = ["Content-Type"]
  accessControlExposeHeaders = ["X-Total-Count"]
  accessControlMaxAge = 600
[http.middlewares.redirscheme.redirectScheme]
  scheme = "https"
  port = "8443"
[http.middlewares.redirregex.redirectRegex]
  regex = '^http://old\.test/legacy/(.*)'
  replacement = "https://new.test/${1}"
  permanent = true
[http.middlewares.ip-peer.ipAllowList]
  sourceRange = ["127.0.0.1/32"]
[http.middlewares.ip-deny.ipAllowList]
  sourceRange = ["192.0.2.0/24"]
[http.middlewares.ip-depth.ipAllowList]
  sourceRange = ["203.0.113.0/24"]
  [http.middlewares.ip-depth.ipAllowList.ipStrategy]
    depth = 2
[http.middlewares.buffer.buffering]
  maxRequestBodyBytes = 10
[http.middlewares.retry.retry]
  attempts = 3
[http.middlewares.retry2.retry]
  attempts = 2
[http.middlewares.retry3.retry]
  attempts = 3
  status = ["500-599"]
[http.middlewares.retrypost.retry]
  attempts = 3
  status = ["503"]
  retryNonIdempotentMethod = true
  maxRequestBodyBytes = 8
[http.middlewares.retrynonet.retry]
  attempts = 3
  status = ["503"]
  disableRetryOnNetworkError = true
[http.middlewares.errpages.errors]
  status = ["404", "500-599"]
  service = "pages"
  query = "/{status}.html"
`))
	for name, u := range map[string]string{"echo": echo, "flaky": flaky, "dead": dead, "status": "http://" + statusAddr, "pages": "http://" + pagesAddr,
		"failfirst": "http://" + failFirstAddr, "dead2": dead2} {
		fmt.Fprintf(&cfg, "[[http.services.%s.loadBalancer.servers]]\n  url = %q\n", name, u)
	}
	trusted := freePort(t)
	g := startGateway(t, map[string]string{"mw.toml": cfg.String()}, gatewayOpts{
		extraEPs:    map[string]int{"trusted": trusted},
		extraStatic: "[entryPoints.trusted.forwardedHeaders]\n  trustedIPs = [\"127.0.0.1\"]\n",
	})
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	const absent = "<absent>"
	const notCalled = "<not called>"
	cases := []struct {
		name      string
		method    string
		host      string
		path      string
		trusted   bool // through the entrypoint that trusts X-Forwarded-* from loopback
		hdr       map[string]string
		body      string
		chunked   bool
		code      int
		respHdr   map[string]string // absent: must not be there
		respBody  string            // exact, when set
		uri       string            // what the echo backend saw; notCalled: not reached
		seenHdr   map[string]string // request headers at the backend; absent: removed
		contentLn int64             // Content-Length the backend saw, when non-zero
		after     func(t *testing.T)
	}{
		{name: "addPrefix", host: "add.test", path: "/users?x=1", code: 200, uri: "/api/users?x=1"},
		{name: "addPrefix keeps escapes", host: "add.test", path: "/a%2Fb", code: 200, uri: "/api/a%2Fb"},
		{name: "stripPrefixRegex", host: "stripre.test", path: "/tenants/acme-1/orders?q=1", code: 200, uri: "/orders?q=1",
			seenHdr: map[string]string{"X-Forwarded-Prefix": "/tenants/acme-1"}},
		{name: "stripPrefixRegex not at start", host: "stripre.test", path: "/x/tenants/acme/orders", code: 200, uri: "/x/tenants/acme/orders",
			seenHdr: map[string]string{"X-Forwarded-Prefix": absent}},
		{name: "replacePath", host: "replace.test", path: "/any/thing?x=1", code: 200, uri: "/health?x=1",
			seenHdr: map[string]string{"X-Replaced-Path": "/any/thing"}},
		{name: "replacePathRegex", host: "replacere.test", path: "/v1/users/7?y=2", code: 200, uri: "/api/users/7?y=2",
			seenHdr: map[string]string{"X-Replaced-Path": "/v1/users/7"}},
		{name: "replacePathRegex no match", host: "replacere.test", path: "/v2/users", code: 200, uri: "/v2/users",
			seenHdr: map[string]string{"X-Replaced-Path": absent}},
		{name: "headers custom", host: "headers.test", path: "/h", hdr: map[string]string{"X-Internal-Debug": "1", "X-Script-Name": "client"},
			code: 200, uri: "/h", seenHdr: map[string]string{"X-Script-Name": "app", "X-Internal-Debug": absent},
			respHdr: map[string]string{"X-Served-By": "gateway", "X-Backend": absent}},
		{name: "CORS preflight", method: "OPTIONS", host: "cors.test", path: "/api",
			hdr:  map[string]string{"Origin": "https://www.example.com", "Access-Control-Request-Method": "POST"},
			code: 200, uri: notCalled, respHdr: map[string]string{
				"Access-Control-Allow-Origin":  "https://www.example.com",
				"Access-Control-Allow-Methods": "GET,POST",
				"Access-Control-Allow-Headers": "Content-Type",
				"Access-Control-Max-Age":       "600",
				"X-Backend":                    absent,
			}},
		{name: "CORS preflight foreign origin", method: "OPTIONS", host: "cors.test", path: "/api",
			hdr:  map[string]string{"Origin": "https://evil.test", "Access-Control-Request-Method": "POST"},
			code: 200, uri: notCalled, respHdr: map[string]string{"Access-Control-Allow-Origin": absent}},
		{name: "CORS actual request", host: "cors.test", path: "/api", hdr: map[string]string{"Origin": "https://www.example.com"},
			code: 200, uri: "/api", respHdr: map[string]string{
				"Access-Control-Allow-Origin":   "https://www.example.com",
				"Access-Control-Expose-Headers": "X-Total-Count",
				"Vary":                          "Origin",
				"X-Backend":                     "echo",
			}},
		{name: "redirectScheme GET", host: "redir.test", path: "/p?q=1", code: 302, uri: notCalled,
			respHdr: map[string]string{"Location": "https://redir.test:8443/p?q=1"}},
		{name: "redirectScheme POST keeps method", method: "POST", body: "x", host: "redir.test", path: "/form", code: 307, uri: notCalled,
			respHdr: map[string]string{"Location": "https://redir.test:8443/form"}},
		{name: "redirectScheme already on target scheme and port", trusted: true, host: "redir.test:8443", path: "/p",
			hdr: map[string]string{"X-Forwarded-Proto": "https"}, code: 200, uri: "/p"},
		{name: "redirectRegex", host: "old.test", path: "/legacy/a/b?c=d", code: 301, uri: notCalled,
			respHdr: map[string]string{"Location": "https://new.test/a/b?c=d"}},
		{name: "redirectRegex no match", host: "old.test", path: "/current", code: 200, uri: "/current"},
		{name: "ipAllowList peer allowed", host: "ip-peer.test", path: "/", code: 200, uri: "/"},
		{name: "ipAllowList peer refused", host: "ip-deny.test", path: "/", code: 403, respBody: "Forbidden", uri: notCalled},
		{name: "ipAllowList depth from trusted proxy", trusted: true, host: "ip-depth.test", path: "/",
			hdr:  map[string]string{"X-Forwarded-For": "203.0.113.7, 198.51.100.1"},
			code: 200, uri: "/", seenHdr: map[string]string{"X-Forwarded-For": "203.0.113.7, 198.51.100.1, 127.0.0.1"}},
		{name: "ipAllowList depth picks a refused address", trusted: true, host: "ip-depth.test", path: "/",
			hdr: map[string]string{"X-Forwarded-For": "198.51.100.9, 203.0.113.7"}, code: 403, uri: notCalled},
		{name: "ipAllowList untrusted X-Forwarded-For ignored", host: "ip-depth.test", path: "/",
			hdr: map[string]string{"X-Forwarded-For": "203.0.113.7, 198.51.100.1"}, code: 403, uri: notCalled},
		{name: "buffering within limit", method: "POST", host: "buffer.test", path: "/up", body: "0123456789", code: 200, uri: "/up", contentLn: 10},
		{name: "buffering chunked gets a length", method: "POST", host: "buffer.test", path: "/up", body: "01234", chunked: true, code: 200, uri: "/up", contentLn: 5},
		{name: "buffering too large", method: "POST", host: "buffer.test", path: "/up", body: "0123456789A", code: 413, uri: notCalled},
		{name: "buffering too large chunked", method: "POST", host: "buffer.test", path: "/up", body: strings.Repeat("z", 64), chunked: true, code: 413, uri: notCalled},
		{name: "retry until the server answers", host: "retry.test", path: "/", code: 200, respBody: "finally",
			after: func(t *testing.T) {
				if n := flakyConns(); n != 3 {
					t.Errorf("flaky server saw %d connections, want 3 (2 closed + 1 served)", n)
				}
			}},
		{name: "retry gives up after attempts", host: "retryfail.test", path: "/", code: 502, respBody: "Bad Gateway",
			after: func(t *testing.T) {
				if n := deadConns(); n != 2 {
					t.Errorf("dead server saw %d connections, want 2 attempts", n)
				}
			}},
		{name: "retry on status until success", host: "retry-status.test", path: "/fail-2/a", code: 200, respBody: "ok:/fail-2/a:",
			respHdr: map[string]string{"X-Failed": absent},
			after: func(t *testing.T) {
				if n := pathHits("/fail-2/a"); n != 3 {
					t.Errorf("service saw %d requests, want 3", n)
				}
			}},
		{name: "retry on status passes the last attempt's answer", host: "retry-status.test", path: "/fail-9/b", code: 503, respBody: "busy 3",
			respHdr: map[string]string{"X-Failed": "yes"}},
		{name: "retry on status skips POST by default", method: "POST", body: "x", host: "retry-status.test", path: "/fail-1/c", code: 503, respBody: "busy 1"},
		{name: "retry on status replays a POST body", method: "POST", body: "12345678", host: "retry-post.test", path: "/fail-1/d", code: 200, respBody: "ok:/fail-1/d:12345678"},
		{name: "retry on status not past maxRequestBodyBytes", method: "POST", body: "123456789", host: "retry-post.test", path: "/fail-1/e", code: 503, respBody: "busy 1"},
		{name: "retry without network errors", host: "retry-nonet.test", path: "/", code: 502, respBody: "Bad Gateway",
			after: func(t *testing.T) {
				if n := dead2Conns(); n != 1 {
					t.Errorf("dead server saw %d connections, want 1 (no retry)", n)
				}
			}},
		{name: "errors page replaces 503", host: "errors.test", path: "/code/503", code: 503, respBody: "page:/503.html",
			respHdr: map[string]string{"Content-Type": "text/html", "X-Detail": absent}},
		{name: "errors page replaces 404", host: "errors.test", path: "/code/404", code: 404, respBody: "page:/404.html"},
		{name: "errors unlisted status passes", host: "errors.test", path: "/code/418", code: 418, respBody: "internal detail 418",
			respHdr: map[string]string{"X-Detail": "secret"}},
		{name: "errors success passes", host: "errors.test", path: "/code/200", code: 200, respBody: "internal detail 200"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			port := g.web
			if c.trusted {
				port = trusted
			}
			method := c.method
			if method == "" {
				method = "GET"
			}
			var body io.Reader
			if c.body != "" {
				body = strings.NewReader(c.body)
				if c.chunked {
					body = io.MultiReader(body) // unknown length: sent chunked
				}
			}
			req, err := http.NewRequest(method, fmt.Sprintf("http://127.0.0.1:%d%s", port, c.path), body)
			if err != nil {
				t.Fatal(err)
			}
			req.Host = c.host
			for k, v := range c.hdr {
				req.Header.Set(k, v)
			}
			before := echoHits()
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != c.code {
				t.Fatalf("status %d, want %d; body %q", resp.StatusCode, c.code, b)
			}
			for k, want := range c.respHdr {
				got, ok := resp.Header[http.CanonicalHeaderKey(k)]
				switch {
				case want == absent && ok:
					t.Errorf("response header %s = %q, want none", k, got)
				case want != absent && strings.Join(got, ", ") != want:
					t.Errorf("response header %s = %q, want %q", k, got, want)
				}
			}
			if c.respBody != "" && string(b) != c.respBody {
				t.Errorf("body %q, want %q", b, c.respBody)
			}
			called := echoHits() != before
			switch {
			case c.uri == notCalled && called:
				t.Errorf("service was called: %s", b)
			case c.uri != "" && c.uri != notCalled:
				var seen echoSeen
				if err := json.Unmarshal(b, &seen); err != nil {
					t.Fatalf("not an echo answer: %q", b)
				}
				if seen.URI != c.uri {
					t.Errorf("service saw %q, want %q", seen.URI, c.uri)
				}
				for k, want := range c.seenHdr {
					got, ok := seen.H[http.CanonicalHeaderKey(k)]
					if want == absent && ok || want != absent && got != want {
						t.Errorf("service saw %s = %q (present %v), want %q", k, got, ok, want)
					}
				}
				if c.contentLn != 0 && seen.CL != c.contentLn {
					t.Errorf("service saw Content-Length %d, want %d", seen.CL, c.contentLn)
				}
			}
			if c.after != nil {
				c.after(t)
			}
		})
	}
}
