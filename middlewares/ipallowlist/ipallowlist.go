// Package ipallowlist implements the ipAllowList middleware: only clients
// whose IP is in sourceRange reach the next handler.
package ipallowlist

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"

	"github.com/guan-gateway/guan/config/dynamic"
	"github.com/guan-gateway/guan/middlewares"
	"github.com/guan-gateway/guan/middlewares/ipstrategy"
)

type allowList struct {
	next     http.Handler
	allowed  *ipstrategy.Matcher
	strategy *ipstrategy.Strategy
	code     int
	body     []byte
	logger   *slog.Logger
}

// New builds the middleware. sourceRange must hold at least one IP or CIDR.
func New(env middlewares.Env, cfg dynamic.IPAllowList, next http.Handler) (http.Handler, error) {
	if len(cfg.SourceRange) == 0 {
		return nil, errors.New("ipAllowList: sourceRange is empty; list the IPs or CIDRs allowed in, e.g. [\"10.0.0.0/8\"]")
	}
	allowed, err := ipstrategy.NewMatcher(cfg.SourceRange)
	if err != nil {
		return nil, fmt.Errorf("ipAllowList: sourceRange %w", err)
	}
	strategy, err := ipstrategy.New(cfg.IPStrategy)
	if err != nil {
		return nil, fmt.Errorf("ipAllowList: %w", err)
	}
	code := cfg.RejectStatusCode
	if code == 0 {
		code = http.StatusForbidden
	}
	if code < 100 || code > 599 || http.StatusText(code) == "" {
		return nil, fmt.Errorf("ipAllowList: rejectStatusCode %d is not a known HTTP status; use e.g. 403 or 404", cfg.RejectStatusCode)
	}
	logger := env.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &allowList{
		next:     next,
		allowed:  allowed,
		strategy: strategy,
		code:     code,
		body:     []byte(http.StatusText(code)),
		logger:   logger,
	}, nil
}

func (a *allowList) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	ip := a.strategy.ClientIP(req)
	addr, err := netip.ParseAddr(ip)
	if err == nil && a.allowed.Contains(addr) {
		a.next.ServeHTTP(w, req)
		return
	}
	a.logger.Debug("client IP not allowed", "clientIP", ip)
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(a.code)
	w.Write(a.body)
}

// NewWhiteList builds ipWhiteList, Traefik's deprecated name of
// ipAllowList: the same check, refused clients get 403.
func NewWhiteList(env middlewares.Env, cfg dynamic.IPWhiteList, next http.Handler) (http.Handler, error) {
	h, err := New(env, dynamic.IPAllowList{SourceRange: cfg.SourceRange, IPStrategy: cfg.IPStrategy}, next)
	if err != nil {
		return nil, fmt.Errorf("ipWhiteList%s", strings.TrimPrefix(err.Error(), "ipAllowList"))
	}
	return h, nil
}
