// Package circuitbreaker implements Traefik's circuitBreaker middleware:
// while an expression over the last 10 seconds of responses holds (too
// many network errors, 5xx or slow answers), requests are answered at once
// with a fallback status instead of reaching a failing service; after
// fallbackDuration traffic comes back gradually over recoveryDuration.
package circuitbreaker

import (
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/guan-gateway/guan/config"
	"github.com/guan-gateway/guan/config/dynamic"
	"github.com/guan-gateway/guan/metrics/capture"
	"github.com/guan-gateway/guan/middlewares"
)

// Defaults, as Traefik's.
const (
	defaultCheckPeriod = 100 * time.Millisecond
	defaultFallback    = 10 * time.Second
	defaultRecovery    = 10 * time.Second
	defaultCode        = http.StatusServiceUnavailable
)

// storeKind keeps a breaker's state and window across reloads that leave
// its configuration unchanged.
const storeKind = "circuitbreaker"

// Breaker states.
const (
	standby    int32 = iota // closed: every request passes
	tripped                 // open: every request gets the fallback status
	recovering              // a growing share of requests passes
)

// Decision results counted in metrics.
const (
	resultAllowed           = "allowed"
	resultRefused           = "refused"            // tripped
	resultRecoveringAllowed = "allowed_recovering" // let through while recovering
	resultRecoveringRefused = "refused_recovering"
)

// core is the lasting part: state and window.
type core struct {
	name        string
	cond        condition
	checkPeriod time.Duration
	fallback    time.Duration
	recovery    time.Duration
	log         *slog.Logger

	win       window
	mu        sync.Mutex   // serializes state changes
	state     atomic.Int32 // standby, tripped, recovering
	since     atomic.Int64 // Unix ns: when tripped (until+fallback) or recovering began
	nextCheck atomic.Int64 // Unix ns of the next evaluation
}

type breaker struct {
	*core
	next     http.Handler
	code     int
	body     string
	decision func(string)
}

// New builds the middleware.
func New(env middlewares.Env, cfg dynamic.CircuitBreaker, next http.Handler) (http.Handler, error) {
	if cfg.Expression == "" {
		return nil, errors.New("circuitBreaker: expression is empty; set a condition such as \"NetworkErrorRatio() > 0.30\"")
	}
	cond, err := parseExpression(cfg.Expression)
	if err != nil {
		return nil, fmt.Errorf("circuitBreaker: %w", err)
	}
	c := &core{name: env.Name, cond: cond, checkPeriod: defaultCheckPeriod, fallback: defaultFallback, recovery: defaultRecovery, log: env.Logger}
	for _, d := range []struct {
		key string
		src *config.Duration
		dst *time.Duration
	}{
		{"checkPeriod", cfg.CheckPeriod, &c.checkPeriod},
		{"fallbackDuration", cfg.FallbackDuration, &c.fallback},
		{"recoveryDuration", cfg.RecoveryDuration, &c.recovery},
	} {
		if d.src == nil {
			continue
		}
		if v := d.src.Std(); v > 0 {
			*d.dst = v
		} else {
			return nil, fmt.Errorf("circuitBreaker: %s is %s; set a positive duration", d.key, v)
		}
	}
	code := defaultCode
	if cfg.ResponseCode != 0 {
		if cfg.ResponseCode < 100 || cfg.ResponseCode > 599 {
			return nil, fmt.Errorf("circuitBreaker: responseCode %d is not an HTTP status", cfg.ResponseCode)
		}
		code = cfg.ResponseCode
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	c, err = middlewares.Lasting(env, storeKind, cfg, func() (*core, error) { return c, nil })
	if err != nil {
		return nil, fmt.Errorf("circuitBreaker: %w", err)
	}
	return &breaker{core: c, next: next, code: code, body: http.StatusText(code), decision: env.Decision}, nil
}

func (b *breaker) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	now := time.Now()
	st := b.state.Load()
	if st != standby {
		st = b.refresh(now)
	}
	switch st {
	case tripped:
		b.refuse(w, r, resultRefused)
		return
	case recovering:
		if rand.Float64() >= b.recoveredShare(now) {
			b.refuse(w, r, resultRecoveringRefused)
			return
		}
		middlewares.Decide(r, b.decision, b.name, resultRecoveringAllowed)
	default:
		middlewares.Decide(r, b.decision, b.name, resultAllowed)
	}

	c, owner := capture.Begin(w, r)
	defer func() {
		end := time.Now()
		code := c.Status()
		if code == 0 {
			code = http.StatusOK // net/http's implicit answer
		}
		b.win.record(code, end.Sub(now), end)
		if owner {
			c.Release()
		}
		b.maybeCheck(end)
	}()
	b.next.ServeHTTP(c, r)
}

func (b *breaker) refuse(w http.ResponseWriter, r *http.Request, result string) {
	middlewares.Decide(r, b.decision, b.name, result)
	http.Error(w, b.body, b.code)
}

// refresh moves a tripped breaker to recovering once fallbackDuration has
// passed, and a recovering one to standby once recoveryDuration has.
func (c *core) refresh(now time.Time) int32 {
	st := c.state.Load()
	ns := now.UnixNano()
	switch {
	case st == tripped && ns >= c.since.Load():
		c.mu.Lock()
		if c.state.Load() == tripped && ns >= c.since.Load() {
			c.since.Store(ns)
			c.state.Store(recovering)
			c.log.Info("circuit breaker recovering: letting traffic back gradually", "middleware", c.name, "recoveryDuration", c.recovery)
		}
		c.mu.Unlock()
	case st == recovering && ns-c.since.Load() >= int64(c.recovery):
		c.mu.Lock()
		if c.state.Load() == recovering && ns-c.since.Load() >= int64(c.recovery) {
			c.state.Store(standby)
			c.log.Info("circuit breaker closed: traffic back to normal", "middleware", c.name)
		}
		c.mu.Unlock()
	}
	return c.state.Load()
}

// recoveredShare grows linearly from 0 to 1 over recoveryDuration.
func (c *core) recoveredShare(now time.Time) float64 {
	return min(float64(now.UnixNano()-c.since.Load())/float64(c.recovery), 1)
}

// maybeCheck evaluates the expression at most once per checkPeriod and
// trips the breaker when it holds.
func (c *core) maybeCheck(now time.Time) {
	ns := now.UnixNano()
	next := c.nextCheck.Load()
	if ns < next || !c.nextCheck.CompareAndSwap(next, ns+int64(c.checkPeriod)) {
		return
	}
	if c.state.Load() == tripped {
		return
	}
	if !c.cond(c.win.snapshot(now)) {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state.Load() == tripped {
		return
	}
	c.since.Store(ns + int64(c.fallback))
	c.state.Store(tripped)
	c.win.reset()
	c.log.Warn("circuit breaker tripped: answering with the fallback status", "middleware", c.name, "fallbackDuration", c.fallback)
}
