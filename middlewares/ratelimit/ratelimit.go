// Package ratelimit implements the rateLimit middleware: a token bucket per
// source (Traefik's average, period, burst and sourceCriterion), kept in
// memory or, with redis, in Redis so that every gateway shares it.
package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/guan-gateway/guan/config/dynamic"
	"github.com/guan-gateway/guan/middlewares"
	"github.com/guan-gateway/guan/middlewares/ipstrategy"
)

// State-store kinds: an unchanged middleware keeps its buckets and its
// Redis connections across reloads.
const (
	bucketsKind = "ratelimit"
	redisKind   = "ratelimit.redis"
)

// Decision results counted in metrics.
const (
	resultAllowed      = "allowed"
	resultLimited      = "limited"
	resultLocalAllowed = "allowed_local" // Redis down, failurePolicy local
	resultLocalLimited = "limited_local"
	resultOpen         = "allowed_redis_down" // failurePolicy open
	resultClosed       = "refused_redis_down" // failurePolicy closed
)

type limiter struct {
	next     http.Handler
	name     string
	rule     rule
	source   func(*http.Request) string
	local    *Buckets
	redis    *redisStore // nil: buckets in memory only
	policy   string
	limitHdr string // the burst, formatted once
	log      *slog.Logger
	decision func(result string)
}

// New builds the middleware. average 0 means no limit, as in Traefik.
func New(env middlewares.Env, cfg dynamic.RateLimit, next http.Handler) (http.Handler, error) {
	r, err := ruleOf(cfg)
	if err != nil {
		return nil, fmt.Errorf("rateLimit: %w", err)
	}
	source, err := ipstrategy.Source(cfg.SourceCriterion)
	if err != nil {
		return nil, fmt.Errorf("rateLimit: %w", err)
	}
	policy, err := failurePolicy(cfg.Redis)
	if err != nil {
		return nil, fmt.Errorf("rateLimit: %w", err)
	}
	log := env.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.Average == 0 {
		log.Debug("rateLimit: average is 0, no limit applies")
		return next, nil
	}
	l := &limiter{
		next: next, name: env.Name, rule: r, source: source, policy: policy,
		limitHdr: strconv.FormatInt(r.burst, 10), log: log, decision: env.Decision,
	}
	if l.local, err = middlewares.Lasting(env, bucketsKind, cfg, func() (*Buckets, error) { return NewBuckets(), nil }); err != nil {
		return nil, fmt.Errorf("rateLimit: buckets: %w", err)
	}
	if cfg.Redis != nil {
		if l.redis, err = middlewares.Lasting(env, redisKind, *cfg.Redis, func() (*redisStore, error) {
			return newRedisStore(cfg.Redis, env.BaseDir, log)
		}); err != nil {
			return nil, fmt.Errorf("rateLimit: %w", err)
		}
	}
	return l, nil
}

// ruleOf turns average/period/burst into a bucket. Period defaults to 1s
// and burst to 1, as in Traefik.
func ruleOf(cfg dynamic.RateLimit) (rule, error) {
	if cfg.Average < 0 {
		return rule{}, fmt.Errorf("average is %d; set the number of requests allowed per period (> 0), or 0 for no limit", cfg.Average)
	}
	period := time.Second
	if cfg.Period != nil {
		if period = cfg.Period.Std(); period <= 0 {
			return rule{}, fmt.Errorf("period is %s; set a positive duration such as 1s or 1m", period)
		}
	}
	burst := int64(1)
	if cfg.Burst != nil {
		if burst = *cfg.Burst; burst < 0 {
			return rule{}, fmt.Errorf("burst is %d; set how many requests may pass at once (≥ 1)", burst)
		}
		burst = max(burst, 1)
	}
	if cfg.Average == 0 {
		return rule{burst: burst}, nil
	}
	// A nanosecond at least: beyond a billion requests per second per
	// source the limit is meaningless anyway.
	interval := max(period/time.Duration(cfg.Average), 1)
	if burst > math.MaxInt64/int64(interval) {
		return rule{}, fmt.Errorf("burst %d × the interval between requests overflows; lower burst", burst)
	}
	return rule{interval: interval, burst: burst}, nil
}

func failurePolicy(r *dynamic.RateLimitRedis) (string, error) {
	if r == nil {
		return "", nil
	}
	switch r.FailurePolicy {
	case "", policyLocal:
		return policyLocal, nil
	case policyOpen, policyClosed:
		return r.FailurePolicy, nil
	}
	return "", fmt.Errorf("redis.failurePolicy is %q; use %q (per-gateway limits while Redis is away, the default), %q (admit) or %q (refuse with 503)",
		r.FailurePolicy, policyLocal, policyOpen, policyClosed)
}

func (l *limiter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	key := l.source(r)
	d, result, err := l.take(r.Context(), key)
	if err != nil {
		return // the client left while Redis decided: nobody to answer
	}
	middlewares.Decide(r, l.decision, l.name, result)
	switch result {
	case resultOpen:
		l.next.ServeHTTP(w, r) // no bucket was consulted: no RateLimit-* headers
		return
	case resultClosed:
		w.Header().Set("Retry-After", "1")
		http.Error(w, "rate limit unavailable", http.StatusServiceUnavailable)
		return
	}
	h := w.Header()
	h.Set("RateLimit-Limit", l.limitHdr)
	h.Set("RateLimit-Remaining", strconv.FormatInt(d.remaining, 10))
	h.Set("RateLimit-Reset", strconv.FormatInt(ceilSeconds(d.reset), 10))
	if !d.allowed {
		l.log.Debug("rate limit reached", "source", key, "retryAfter", d.retryAfter)
		h.Set("Retry-After", strconv.FormatInt(max(ceilSeconds(d.retryAfter), 1), 10))
		h.Set("X-Retry-In", d.retryAfter.String()) // as Traefik
		http.Error(w, http.StatusText(http.StatusTooManyRequests), http.StatusTooManyRequests)
		return
	}
	l.next.ServeHTTP(w, r)
}

// take decides with Redis when configured, else or on Redis failure with
// the failure policy. err is set only when the client went away.
func (l *limiter) take(ctx context.Context, key string) (decision, string, error) {
	if l.redis != nil {
		d, err := l.redis.take(ctx, redisKey(l.name, key), l.rule)
		switch {
		case err == nil:
			return d, verdict(d, resultAllowed, resultLimited), nil
		case ctx.Err() != nil && !errors.Is(err, errUnavailable):
			return decision{}, "", err
		}
		switch l.policy {
		case policyOpen:
			return decision{allowed: true}, resultOpen, nil
		case policyClosed:
			return decision{}, resultClosed, nil
		}
		d = l.local.take(key, l.rule)
		return d, verdict(d, resultLocalAllowed, resultLocalLimited), nil
	}
	d := l.local.take(key, l.rule)
	return d, verdict(d, resultAllowed, resultLimited), nil
}

func verdict(d decision, allowed, limited string) string {
	if d.allowed {
		return allowed
	}
	return limited
}

func ceilSeconds(d time.Duration) int64 {
	return int64((d + time.Second - 1) / time.Second)
}

// Limiter decides for keys of the caller's choosing, outside HTTP: the MQTT
// rateLimit uses it to share a client's message budget across gateways
// through Redis, with the same rule, keys and failure policy.
type Limiter struct{ l *limiter }

// NewLimiter builds a limiter from rateLimit's keys (sourceCriterion is
// not used); nil when average is 0 (no limit).
func NewLimiter(env middlewares.Env, cfg dynamic.RateLimit) (*Limiter, error) {
	h, err := New(env, cfg, http.NotFoundHandler())
	if err != nil {
		return nil, err
	}
	l, ok := h.(*limiter)
	if !ok {
		return nil, nil
	}
	return &Limiter{l: l}, nil
}

// Take spends one unit of key's budget: whether it was there, and if not
// how long until it is. The decision is counted as the HTTP one is.
func (x *Limiter) Take(ctx context.Context, key string) (bool, time.Duration) {
	d, result, err := x.l.take(ctx, key)
	if err != nil {
		return false, time.Second
	}
	if x.l.decision != nil {
		x.l.decision(result)
	}
	switch result {
	case resultOpen:
		return true, 0
	case resultClosed:
		return false, time.Second
	}
	return d.allowed, d.retryAfter
}
