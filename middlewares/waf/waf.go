// Package waf implements the waf middleware: requests (and optionally
// responses) are inspected by the Coraza web application firewall, with
// the OWASP Core Rule Set v4 embedded, at a chosen paranoia level and
// anomaly threshold, plus the operator's own SecLang directives.
package waf

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	coreruleset "github.com/corazawaf/coraza-coreruleset/v4"
	"github.com/corazawaf/coraza/v3"
	"github.com/corazawaf/coraza/v3/types"

	"github.com/guan-gateway/guan/bodyprobe"
	"github.com/guan-gateway/guan/config/dynamic"
	"github.com/guan-gateway/guan/middlewares"
)

// Defaults.
const (
	defaultBodyLimit = 1 << 20
	defaultInbound   = 5 // CRS's own defaults
	defaultOutbound  = 4
	storeKind        = "waf"
)

// Decision results counted in metrics.
const (
	resultAllowed  = "allowed"
	resultBlocked  = "blocked"
	resultDetected = "detected" // mode detect: would have been blocked
	resultError    = "error"
)

// engine is the compiled rule set: built once per configuration (the CRS
// takes a moment and a few MB to compile) and kept across reloads.
type engine struct {
	waf             coraza.WAF
	detect          bool
	inspectResponse bool
}

type middleware struct {
	*engine
	next     http.Handler
	name     string
	log      *slog.Logger
	decision func(string)
}

// New compiles the rules; a directive that does not parse is a
// configuration error.
func New(env middlewares.Env, cfg dynamic.WAF, next http.Handler) (http.Handler, error) {
	log := env.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	e, err := middlewares.Lasting(env, storeKind, cfg, func() (*engine, error) { return compile(cfg, env.BaseDir, log) })
	if err != nil {
		return nil, fmt.Errorf("waf: %w", err)
	}
	return &middleware{engine: e, next: next, name: env.Name, log: log, decision: env.Decision}, nil
}

// directives renders the configuration as SecLang.
func directives(cfg dynamic.WAF, baseDir string) (string, error) {
	var b strings.Builder
	line := func(format string, a ...any) { fmt.Fprintf(&b, format+"\n", a...) }
	crs := cfg.CRS == nil || *cfg.CRS
	pl := cfg.ParanoiaLevel
	if pl == 0 {
		pl = 1
	}
	if pl < 1 || pl > 4 {
		return "", fmt.Errorf("paranoiaLevel %d: use 1 (the default, fewest false positives) to 4", cfg.ParanoiaLevel)
	}
	in, out := defaultInbound, defaultOutbound
	if t := cfg.AnomalyThreshold; t != nil {
		if t.Inbound < 0 || t.Outbound < 0 {
			return "", errors.New("anomalyThreshold: scores are positive")
		}
		if t.Inbound > 0 {
			in = t.Inbound
		}
		if t.Outbound > 0 {
			out = t.Outbound
		}
	}
	mode := "On"
	switch cfg.Mode {
	case "", "block":
	case "detect":
		mode = "DetectionOnly"
	default:
		return "", fmt.Errorf("mode %q: use \"block\" (the default) or \"detect\" (log what would be blocked)", cfg.Mode)
	}
	limit := cfg.RequestBodyLimit
	if limit == 0 {
		limit = defaultBodyLimit
	}
	if limit < 0 {
		return "", fmt.Errorf("requestBodyLimit %d is negative", limit)
	}
	line("Include @coraza.conf-recommended")
	line("SecRuleEngine %s", mode)
	line("SecRequestBodyAccess On")
	// Skips a regular expression when a cheap check shows the input cannot
	// match it: the CRS's @rx rules are most of its cost.
	line("SecRxPreFilter On")
	line("SecRequestBodyLimit %d", limit)
	line("SecRequestBodyInMemoryLimit %d", min(limit, 128<<10))
	line("SecRequestBodyLimitAction Reject")
	if cfg.ResponseInspection {
		line("SecResponseBodyAccess On")
	} else {
		line("SecResponseBodyAccess Off")
	}
	line("SecDataDir %s", os.TempDir())
	if cfg.AuditLog != "" {
		line("SecAuditEngine RelevantOnly")
		line("SecAuditLog %s", middlewares.ResolvePath(baseDir, cfg.AuditLog))
		line("SecAuditLogFormat JSON")
		line("SecAuditLogParts ABFHZ")
	} else {
		line("SecAuditEngine Off")
	}
	if crs {
		line("Include @crs-setup.conf.example")
		line(`SecAction "id:900000,phase:1,pass,t:none,nolog,setvar:tx.blocking_paranoia_level=%d"`, pl)
		line(`SecAction "id:900110,phase:1,pass,t:none,nolog,setvar:tx.inbound_anomaly_score_threshold=%d,setvar:tx.outbound_anomaly_score_threshold=%d"`, in, out)
		// CRS admits only GET, HEAD, POST and OPTIONS by default; an API
		// gateway carries REST traffic.
		line(`SecAction "id:900200,phase:1,pass,t:none,nolog,setvar:'tx.allowed_methods=GET HEAD POST OPTIONS PUT PATCH DELETE'"`)
		line("Include @owasp_crs/*.conf")
	}
	for _, d := range cfg.Directives {
		line("%s", d)
	}
	return b.String(), nil
}

func compile(cfg dynamic.WAF, baseDir string, log *slog.Logger) (*engine, error) {
	d, err := directives(cfg, baseDir)
	if err != nil {
		return nil, err
	}
	wc := coraza.NewWAFConfig().
		WithRootFS(rootFS{}).
		WithDirectives(d).
		WithErrorCallback(func(rule types.MatchedRule) {
			// One line per matched rule, naming it: the block line follows.
			log.Warn("waf rule matched", "rule", rule.Rule().ID(), "severity", rule.Rule().Severity().String(),
				"msg", rule.Message(), "data", rule.Data(), "id", rule.TransactionID(), "uri", rule.URI(), "client", rule.ClientIPAddress())
		})
	for _, f := range cfg.DirectivesFiles {
		wc = wc.WithDirectivesFromFile(middlewares.ResolvePath(baseDir, f))
	}
	w, err := coraza.NewWAF(wc)
	if err != nil {
		return nil, err
	}
	return &engine{waf: w, detect: cfg.Mode == "detect", inspectResponse: cfg.ResponseInspection}, nil
}

// rootFS serves the embedded CRS (names starting with @) and, for
// directivesFiles and their Include lines, the real file system.
type rootFS struct{}

func (rootFS) Open(name string) (fs.File, error) {
	if strings.HasPrefix(name, "@") {
		return coreruleset.FS.Open(name)
	}
	return os.Open(name)
}

func (rootFS) ReadFile(name string) ([]byte, error) {
	if strings.HasPrefix(name, "@") {
		return fs.ReadFile(coreruleset.FS, name)
	}
	return os.ReadFile(name)
}

func (rootFS) Glob(pattern string) ([]string, error) {
	if strings.HasPrefix(pattern, "@") {
		return fs.Glob(coreruleset.FS, pattern)
	}
	return filepath.Glob(pattern)
}

// requestID is the client's X-Request-Id when it sent a sane one, else a
// new random id; it names the transaction in the logs and the 403.
func requestID(r *http.Request) string {
	if id := r.Header.Get("X-Request-Id"); id != "" && len(id) <= 64 && !strings.ContainsAny(id, " \t\r\n\"") {
		return id
	}
	var b [12]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func splitAddr(addr string) (string, int) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr, 0
	}
	p, _ := strconv.Atoi(port)
	return host, p
}

func (m *middleware) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id := requestID(r)
	tx := m.waf.NewTransactionWithID(id)
	defer func() {
		tx.ProcessLogging()
		tx.Close()
	}()
	if tx.IsRuleEngineOff() {
		m.next.ServeHTTP(w, r)
		return
	}
	cip, cport := splitAddr(r.RemoteAddr)
	sip, sport := "", 0
	if a, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		sip, sport = splitAddr(a.String())
	}
	tx.ProcessConnection(cip, cport, sip, sport)
	tx.ProcessURI(r.URL.RequestURI(), r.Method, r.Proto)
	for k, vv := range r.Header {
		for _, v := range vv {
			tx.AddRequestHeader(k, v)
		}
	}
	if r.Host != "" {
		tx.AddRequestHeader("Host", r.Host)
		tx.SetServerName(hostOnly(r.Host))
	}
	if r.TransferEncoding != nil {
		tx.AddRequestHeader("Transfer-Encoding", strings.Join(r.TransferEncoding, ","))
	}
	if it := tx.ProcessRequestHeaders(); it != nil {
		m.block(w, r, tx, it, id)
		return
	}
	if r.Body != nil && r.Body != http.NoBody && tx.IsRequestBodyAccessible() {
		body, err := requestBody(r)
		if err != nil {
			m.fail(w, r, err)
			return
		}
		if body != nil {
			it, _, err := tx.ReadRequestBodyFrom(body)
			if err != nil {
				m.fail(w, r, err)
				return
			}
			if it != nil {
				m.block(w, r, tx, it, id)
				return
			}
			// The inspected part comes from the WAF's buffer, the rest
			// (when the limit action lets it through) from the client.
			buffered, err := tx.RequestBodyReader()
			if err != nil {
				m.fail(w, r, err)
				return
			}
			r.Body = struct {
				io.Reader
				io.Closer
			}{io.MultiReader(buffered, r.Body), r.Body}
		}
	}
	it, err := tx.ProcessRequestBody()
	if err != nil {
		m.fail(w, r, err)
		return
	}
	if it != nil {
		m.block(w, r, tx, it, id)
		return
	}
	if m.detect {
		if matched := disruptive(tx); matched != "" {
			middlewares.Decide(r, m.decision, m.name, resultDetected)
			m.log.Warn("waf: request would have been blocked (mode detect)", "id", id, "rules", matched)
		} else {
			middlewares.Decide(r, m.decision, m.name, resultAllowed)
		}
	} else {
		middlewares.Decide(r, m.decision, m.name, resultAllowed)
	}
	if !m.inspectResponse {
		m.next.ServeHTTP(w, r)
		return
	}
	m.serveInspected(w, r, tx, id)
}

// requestBody is what to inspect of the request's body, nil when it is
// empty. HTTP/2 and HTTP/3 requests without a body come with a Body that is
// not http.NoBody and a ContentLength of 0: one byte read tells, and spares
// Coraza's copy of an empty body (a 32 KiB buffer each time). A byte that
// is there despite the zero length is inspected with the rest, so nothing
// reaches the service uninspected whatever the length claims.
func requestBody(r *http.Request) (io.Reader, error) {
	if r.ContentLength != 0 || len(r.TransferEncoding) > 0 {
		return r.Body, nil
	}
	rest, empty, err := bodyprobe.Probe(r.Body)
	if empty || err != nil {
		return nil, err
	}
	return rest, nil
}

// disruptive lists the rules that would have blocked the request: rules
// with a blocking action, and the CRS's anomaly score evaluations (which
// are what block at the end of a phase). Mode detect reports them.
func disruptive(tx types.Transaction) string { return ruleIDs(tx, true) }

func matchedIDs(tx types.Transaction) string { return ruleIDs(tx, false) }

func ruleIDs(tx types.Transaction, blockingOnly bool) string {
	var ids []string
	for _, mr := range tx.MatchedRules() {
		id := mr.Rule().ID()
		// Rules without a message are the CRS's bookkeeping (setting
		// variables, skipping sections), not findings.
		if id == 0 || mr.Message() == "" || (blockingOnly && !mr.Disruptive() && id != crsInboundBlock && id != crsOutboundBlock) {
			continue
		}
		ids = append(ids, strconv.Itoa(id))
	}
	return strings.Join(ids, ",")
}

// The CRS rules that block when the anomaly score reaches the threshold.
const (
	crsInboundBlock  = 949110
	crsOutboundBlock = 959100
)

// block answers an interrupted transaction: 403 (or the rule's status)
// with the request id, and one log line naming the rules.
func (m *middleware) block(w http.ResponseWriter, r *http.Request, tx types.Transaction, it *types.Interruption, id string) {
	middlewares.Decide(r, m.decision, m.name, resultBlocked)
	m.log.Warn("waf: request blocked", "id", id, "rule", it.RuleID, "matched", matchedIDs(tx), "method", r.Method, "uri", r.URL.RequestURI(), "client", r.RemoteAddr)
	status := it.Status
	if status < 400 || status > 599 {
		status = http.StatusForbidden
	}
	w.Header().Set("X-Request-Id", id)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	fmt.Fprintf(w, "%s: request blocked by the web application firewall (request id %s)\n", http.StatusText(status), id)
}

func (m *middleware) fail(w http.ResponseWriter, r *http.Request, err error) {
	if r.Context().Err() != nil {
		return
	}
	middlewares.Decide(r, m.decision, m.name, resultError)
	m.log.Error("waf: inspection failed", "error", err)
	http.Error(w, http.StatusText(http.StatusBadRequest), http.StatusBadRequest)
}

func hostOnly(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		return h
	}
	return host
}

// serveInspected runs the service into a buffer, inspects the response
// headers and body, then sends it on or blocks it. Responses are held in
// memory: responseInspection is for APIs whose answers may leak data, not
// for streaming.
func (m *middleware) serveInspected(w http.ResponseWriter, r *http.Request, tx types.Transaction, id string) {
	rec := &recorder{header: http.Header{}}
	m.next.ServeHTTP(rec, r)
	status := rec.status
	if status == 0 {
		status = http.StatusOK
	}
	for k, vv := range rec.header {
		for _, v := range vv {
			tx.AddResponseHeader(k, v)
		}
	}
	if it := tx.ProcessResponseHeaders(status, r.Proto); it != nil {
		m.block(w, r, tx, it, id)
		return
	}
	body := rec.body.Bytes()
	if tx.IsResponseBodyAccessible() && tx.IsResponseBodyProcessable() {
		if it, _, err := tx.ReadResponseBodyFrom(bytes.NewReader(body)); err != nil {
			m.fail(w, r, err)
			return
		} else if it != nil {
			m.block(w, r, tx, it, id)
			return
		}
		if it, err := tx.ProcessResponseBody(); err != nil {
			m.fail(w, r, err)
			return
		} else if it != nil {
			m.block(w, r, tx, it, id)
			return
		}
	}
	for k, vv := range rec.header {
		w.Header()[k] = vv
	}
	w.WriteHeader(status)
	w.Write(body)
}

// recorder holds a response for inspection.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (c *recorder) Header() http.Header { return c.header }
func (c *recorder) WriteHeader(code int) {
	if c.status == 0 && code >= 200 {
		c.status = code
	}
}
func (c *recorder) Write(b []byte) (int, error) {
	if c.status == 0 {
		c.status = http.StatusOK
	}
	return c.body.Write(b)
}
