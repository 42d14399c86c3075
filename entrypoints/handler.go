package entrypoints

import (
	"context"
	"log/slog"
	"net/http"
	"net/textproto"
	"strings"
	"time"

	"github.com/guan-gateway/guan/entrypoints/forwarded"
	"github.com/guan-gateway/guan/reqinfo"
	"github.com/guan-gateway/guan/tls/tlcp"
	"github.com/guan-gateway/guan/urlpath"
)

// connKey finds the *conn behind a request (only set when keep-alive limits
// need per-connection counts).
type connKey struct{}

// entryHandler is the first handler of every request on the entrypoint.
type entryHandler struct {
	name     string
	next     http.Handler
	fwd      *forwarded.Rewriter
	maxReqs  int64
	maxAge   time.Duration
	limitsKA bool
	sanitize bool         // clean the path before routing (http.sanitizePath)
	denied   encodedChars // encoded characters answered with 400 (http.encodedCharacters)
	// keepConn are the headers (canonical) a Connection header may name and
	// that still reach the middlewares (forwardedHeaders.connection).
	keepConn map[string]bool
	// encodeSemicolons sends the query's semicolons on as %3B instead of
	// turning them into "&" (http.encodeQuerySemicolons).
	encodeSemicolons bool
	log              *slog.Logger
	// observability.accessLogs/metrics = false on the entrypoint
	noAccessLog, noMetrics bool
	// altSvc announces HTTP/3 on TLS responses (entryPoints.<name>.http3).
	altSvc []string
}

func (h *entryHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !h.encodeSemicolons && strings.IndexByte(r.URL.RawQuery, ';') >= 0 {
		// As in Traefik, semicolons separate query parameters like "&"
		// (http.AllowQuerySemicolons, which also keeps net/http from
		// warning that they may be stripped).
		http.AllowQuerySemicolons(http.HandlerFunc(h.serve)).ServeHTTP(w, r)
		return
	}
	h.serve(w, r)
}

func (h *entryHandler) serve(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	if h.altSvc != nil && r.TLS != nil && r.ProtoMajor < 3 && r.TLS.Version != tlcp.VersionTLCP {
		w.Header()["Alt-Svc"] = h.altSvc
	}
	if h.limitsKA {
		h.limitKeepAlive(w, r, start)
	}
	consumeConnectionOptions(r.Header, h.keepConn)
	if h.encodeSemicolons && strings.IndexByte(r.URL.RawQuery, ';') >= 0 {
		// http.encodeQuerySemicolons: they reach the server as data.
		r.URL.RawQuery = strings.ReplaceAll(r.URL.RawQuery, ";", "%3B")
	}
	// esc is the escaped path when find computed it: the traversal check
	// reuses it rather than escaping the path again.
	c, esc := h.denied.find(r.URL)
	if c != "" {
		// As in Traefik: before routing, with an empty body.
		if h.log != nil {
			h.log.Debug("rejecting request: encoded character in the path", "character", c, "path", esc)
		}
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	if h.sanitize {
		if urlpath.HasEncodedTraversal(r.URL, esc) {
			// "..%2F": a dot segment behind an encoded separator, which
			// cannot be cleaned here but which decoding servers resolve.
			if h.log != nil {
				h.log.Debug("rejecting request: dot segment behind an encoded separator", "path", r.URL.EscapedPath())
			}
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		sanitizePath(r.URL)
	}
	h.fwd.Rewrite(r)
	// The HTTP/1.x server attaches a blank Info when it builds the
	// request (see newRequestContext); net/http's requests get one here,
	// at the cost of a copy of the request.
	info, fresh := reqinfo.Lookup(r.Context())
	if !fresh || info.EntryPoint != "" {
		var ctx context.Context
		ctx, info = reqinfo.NewContext(r.Context())
		r = r.WithContext(ctx)
	}
	info.EntryPoint = h.name
	info.Start = start
	info.NoAccessLog, info.NoMetrics = h.noAccessLog, h.noMetrics
	h.next.ServeHTTP(w, r)
}

// newRequestContext gives an HTTP/1.x request its blank Info.
func newRequestContext(ctx context.Context) context.Context {
	ctx, _ = reqinfo.NewContext(ctx)
	return ctx
}

// limitKeepAlive asks the client to close the connection once it served
// keepAliveMaxRequests or is older than keepAliveMaxTime. On HTTP/2,
// "Connection: close" makes the server send GOAWAY.
func (h *entryHandler) limitKeepAlive(w http.ResponseWriter, r *http.Request, now time.Time) {
	c, ok := r.Context().Value(connKey{}).(*conn)
	if !ok {
		return
	}
	n := c.requests.Add(1)
	if (h.maxReqs > 0 && n >= h.maxReqs) || (h.maxAge > 0 && now.Sub(c.accepted) >= h.maxAge) {
		w.Header().Set("Connection", "close")
	}
}

// consumeConnectionOptions applies the client's Connection header here, at
// the edge: the headers it names are removed now, and only the options that
// are not header names (upgrade, close, keep-alive) stay in it. Otherwise a
// client could send "Connection: X-Real-Ip, X-Auth-User" and have the proxy
// strip, after the fact, headers the gateway itself set on the way. The
// headers of keep (forwardedHeaders.connection) stay, still named by
// Connection, so the middlewares see them and the proxy removes them; the
// forwarded headers the gateway manages are never among them.
func consumeConnectionOptions(h http.Header, keep map[string]bool) {
	conn, ok := h["Connection"]
	if !ok {
		return
	}
	var kept []string
	for _, line := range conn {
		for f := range strings.SplitSeq(line, ",") {
			f = textproto.TrimString(f)
			switch {
			case f == "":
			case strings.EqualFold(f, "upgrade"), strings.EqualFold(f, "close"), strings.EqualFold(f, "keep-alive"):
				kept = append(kept, f)
			default:
				name := textproto.CanonicalMIMEHeaderKey(f)
				if keep[name] && !forwarded.Managed(name) {
					kept = append(kept, f)
					continue
				}
				delete(h, name)
			}
		}
	}
	if len(kept) == 0 {
		delete(h, "Connection")
		return
	}
	h["Connection"] = []string{strings.Join(kept, ", ")}
}
