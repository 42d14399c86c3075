// Package opa implements the opa middleware: every request is decided by a
// Rego policy evaluated in the gateway with the embedded Open Policy Agent
// (no external server). The policy is compiled and prepared once per load
// and again when its files change; each request is one evaluation.
package opa

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"

	"github.com/guan-gateway/guan/config/dynamic"
	"github.com/guan-gateway/guan/middlewares"
	"github.com/guan-gateway/guan/middlewares/jwt"
	"github.com/guan-gateway/guan/reqinfo"
)

// DefaultQuery is asked when the configuration names none.
const DefaultQuery = "data.guan.authz.allow"

const storeKind = "opa"

// Decision results counted in metrics.
const (
	resultAllowed = "allowed"
	resultDenied  = "denied"
	resultError   = "error" // the evaluation failed
)

type middleware struct {
	next     http.Handler
	name     string
	policy   *policy
	log      *slog.Logger
	decision func(string)
}

// New loads and prepares the policy; a policy that does not compile is a
// configuration error naming file:line.
func New(env middlewares.Env, cfg dynamic.OPA, next http.Handler) (http.Handler, error) {
	if cfg.Policy == "" {
		return nil, errors.New("opa: policy is empty; name a .rego file or a directory of them")
	}
	query := cfg.Query
	if query == "" {
		query = DefaultQuery
	}
	if _, err := ast.ParseBody(query); err != nil {
		return nil, fmt.Errorf("opa: query %q: %w", query, err)
	}
	log := env.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	data := make([]string, len(cfg.Data))
	for i, d := range cfg.Data {
		data[i] = env.Path(d)
	}
	pol, err := middlewares.Lasting(env, storeKind, cfg, func() (*policy, error) { return newPolicy(query, env.Path(cfg.Policy), data, log) })
	if err != nil {
		return nil, fmt.Errorf("opa: %w", err)
	}
	return &middleware{next: next, name: env.Name, policy: pol, log: log, decision: env.Decision}, nil
}

// verdict is what a policy answered: a boolean, or an object with allow
// and, for the client or the service, status, headers and body.
type verdict struct {
	allow   bool
	status  int
	headers map[string]string
	body    string
}

func (m *middleware) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	pq := m.policy.prepared.Load()
	rs, err := pq.Eval(r.Context(), rego.EvalParsedInput(input(r)))
	if err != nil {
		if r.Context().Err() != nil {
			return
		}
		middlewares.Decide(r, m.decision, m.name, resultError)
		m.log.Error("opa: policy evaluation failed", "error", err)
		http.Error(w, "policy evaluation failed", http.StatusInternalServerError)
		return
	}
	v, err := decode(rs)
	if err != nil {
		middlewares.Decide(r, m.decision, m.name, resultError)
		m.log.Error("opa: policy answered something that is not a decision", "error", err)
		http.Error(w, "policy evaluation failed", http.StatusInternalServerError)
		return
	}
	if !v.allow {
		middlewares.Decide(r, m.decision, m.name, resultDenied)
		for k, val := range v.headers {
			w.Header().Set(k, val)
		}
		status := v.status
		if status == 0 {
			status = http.StatusForbidden
		}
		if v.body == "" {
			http.Error(w, http.StatusText(status), status)
			return
		}
		w.WriteHeader(status)
		w.Write([]byte(v.body))
		return
	}
	middlewares.Decide(r, m.decision, m.name, resultAllowed)
	for k, val := range v.headers {
		r.Header.Set(k, val) // headers of an allow go to the service
	}
	m.next.ServeHTTP(w, r)
}

// decode reads the first result: undefined means deny.
func decode(rs rego.ResultSet) (verdict, error) {
	if len(rs) == 0 || len(rs[0].Expressions) == 0 {
		return verdict{}, nil
	}
	switch x := rs[0].Expressions[0].Value.(type) {
	case bool:
		return verdict{allow: x}, nil
	case map[string]any:
		var v verdict
		allow, ok := x["allow"].(bool)
		if !ok {
			return verdict{}, fmt.Errorf("object without a boolean allow: %v", x)
		}
		v.allow = allow
		switch s := x["status"].(type) {
		case nil:
		case json.Number:
			n, err := s.Int64()
			if err != nil || n < 100 || n > 599 {
				return verdict{}, fmt.Errorf("status %v is not an HTTP status", s)
			}
			v.status = int(n)
		default:
			return verdict{}, fmt.Errorf("status %v is not a number", s)
		}
		if h, ok := x["headers"].(map[string]any); ok {
			v.headers = make(map[string]string, len(h))
			for k, val := range h {
				s, ok := val.(string)
				if !ok {
					return verdict{}, fmt.Errorf("header %s: %v is not a string", k, val)
				}
				v.headers[k] = s
			}
		}
		if b, ok := x["body"].(string); ok {
			v.body = b
		}
		return v, nil
	}
	return verdict{}, fmt.Errorf("%T %v is neither a boolean nor an object", rs[0].Expressions[0].Value, rs[0].Expressions[0].Value)
}

// input describes the request to the policy, built as OPA values directly
// (rather than through a map converted by reflection) because it is made
// for every request.
//
//	{"method", "path", "host", "scheme", "headers": {lower-case name: value},
//	 "query": {name: [values]}, "clientIP", "router", "entryPoint", "jwt": {claims}}
func input(r *http.Request) ast.Value {
	obj := ast.NewObjectWithCapacity(11)
	obj.Insert(ast.InternedTerm("method"), ast.StringTerm(r.Method))
	obj.Insert(ast.InternedTerm("path"), ast.StringTerm(r.URL.Path))
	obj.Insert(ast.InternedTerm("host"), ast.StringTerm(r.Host))
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	obj.Insert(ast.InternedTerm("scheme"), ast.StringTerm(scheme))
	headers := ast.NewObjectWithCapacity(len(r.Header))
	for k, vv := range r.Header {
		headers.Insert(ast.StringTerm(strings.ToLower(k)), ast.StringTerm(strings.Join(vv, ", ")))
	}
	obj.Insert(ast.InternedTerm("headers"), ast.NewTerm(headers))
	query := ast.NewObject()
	if r.URL.RawQuery != "" {
		for k, vv := range r.URL.Query() {
			arr := ast.NewArrayWithCapacity(len(vv))
			for _, v := range vv {
				arr = arr.Append(ast.StringTerm(v))
			}
			query.Insert(ast.StringTerm(k), ast.NewTerm(arr))
		}
	}
	obj.Insert(ast.InternedTerm("query"), ast.NewTerm(query))
	obj.Insert(ast.InternedTerm("clientIP"), ast.StringTerm(clientIP(r)))
	if info, ok := reqinfo.Lookup(r.Context()); ok && info != nil {
		obj.Insert(ast.InternedTerm("router"), ast.StringTerm(info.Router))
		obj.Insert(ast.InternedTerm("entryPoint"), ast.StringTerm(info.EntryPoint))
	}
	if claims := jwt.Claims(r.Context()); claims != nil {
		if v, err := ast.InterfaceToValue(claims); err == nil {
			obj.Insert(ast.InternedTerm("jwt"), ast.NewTerm(v))
		}
	}
	return obj
}

// clientIP is the TCP peer's address (after the entrypoint's trusted
// forwarded headers, which set X-Real-Ip and X-Forwarded-For, the policy
// can read those too).
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	if a, err := netip.ParseAddr(host); err == nil {
		return a.Unmap().String()
	}
	return host
}

// Evaluator runs a policy outside HTTP: the MQTT opa middleware asks it
// about CONNECT, PUBLISH and SUBSCRIBE with an input of its own.
type Evaluator struct{ m *middleware }

// NewEvaluator loads and prepares the policy as New does.
func NewEvaluator(env middlewares.Env, cfg dynamic.OPA) (*Evaluator, error) {
	h, err := New(env, cfg, http.NotFoundHandler())
	if err != nil {
		return nil, err
	}
	return &Evaluator{m: h.(*middleware)}, nil
}

// Allow evaluates the policy on input; an undefined result is a deny.
func (e *Evaluator) Allow(ctx context.Context, input map[string]any) (bool, error) {
	v, err := ast.InterfaceToValue(input)
	if err != nil {
		return false, err
	}
	rs, err := e.m.policy.prepared.Load().Eval(ctx, rego.EvalParsedInput(v))
	if err != nil {
		return false, err
	}
	d, err := decode(rs)
	return d.allow, err
}
