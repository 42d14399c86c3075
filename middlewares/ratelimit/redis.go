package ratelimit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/guan-gateway/guan/config"
	"github.com/guan-gateway/guan/config/dynamic"
	"github.com/guan-gateway/guan/middlewares"
	"github.com/guan-gateway/guan/tls/clientconf"
)

// Failure policies: what a decision is while Redis cannot be reached.
const (
	policyLocal  = "local"  // per-gateway buckets until Redis is back
	policyOpen   = "open"   // admit
	policyClosed = "closed" // refuse with 503
)

// Redis defaults, as Traefik's.
const (
	defaultRedisAddr    = "localhost:6379"
	defaultDialTimeout  = 5 * time.Second
	defaultReadTimeout  = 3 * time.Second
	defaultWriteTimeout = 3 * time.Second
)

// gcraScript takes one token from the bucket at KEYS[1], stored as its
// theoretical arrival time in microseconds of Redis's clock, so every
// gateway sharing the bucket agrees on time. ARGV: the interval between
// tokens (µs) and the burst. It answers {allowed, remaining, retry after
// (µs), reset (µs)} and is the only command of a decision: one round trip.
// Keys expire when the bucket is full again.
var gcraScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local window = interval * tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then tat = now end
local ahead = tat + interval - now
if ahead > window then
  return {0, 0, ahead - window, tat - now}
end
redis.call('SET', KEYS[1], string.format('%d', tat + interval), 'PX', math.max(1, math.ceil(ahead / 1000)))
return {1, math.floor((window - ahead) / interval), 0, ahead}
`)

// redisStore decides with buckets kept in Redis. While Redis fails, it
// reports errUnavailable at once (no request waits on a Redis known to be
// down) and a prober pings it back into service.
type redisStore struct {
	client redis.UniversalClient
	log    *slog.Logger
	up     atomic.Bool
	// probing is held by the one goroutine pinging Redis while it is down.
	probing atomic.Bool
	stop    chan struct{}
	once    sync.Once
	minWait time.Duration // first pause between probes
}

var errUnavailable = errors.New("redis unavailable")

// newRedisStore connects lazily: a Redis that is down at load time does not
// make the configuration invalid, it applies the failure policy.
func newRedisStore(cfg *dynamic.RateLimitRedis, baseDir string, log *slog.Logger) (*redisStore, error) {
	opts := &redis.UniversalOptions{
		Addrs:          cfg.Endpoints,
		MasterName:     cfg.MasterName,
		Username:       cfg.Username,
		Password:       cfg.Password,
		DB:             cfg.DB,
		PoolSize:       cfg.PoolSize,
		MinIdleConns:   cfg.MinIdleConns,
		MaxActiveConns: cfg.MaxActiveConns,
		DialTimeout:    durationOr(cfg.DialTimeout, defaultDialTimeout),
		ReadTimeout:    durationOr(cfg.ReadTimeout, defaultReadTimeout),
		WriteTimeout:   durationOr(cfg.WriteTimeout, defaultWriteTimeout),
		// A decision is worth one attempt: a retry (of the command, or of
		// the dial, which go-redis otherwise tries 5 times 100 ms apart)
		// would multiply the time a request can wait, and the failure
		// policy covers the miss.
		MaxRetries:    -1,
		DialerRetries: 1,
	}
	if len(opts.Addrs) == 0 {
		opts.Addrs = []string{defaultRedisAddr}
	}
	// Waiting for a pooled connection counts against the same budget.
	opts.PoolTimeout = opts.ReadTimeout
	if cfg.TLS != nil {
		t := cfg.TLS
		tc, err := clientconf.Load(clientconf.Files{CA: middlewares.ResolvePath(baseDir, t.CA), Cert: middlewares.ResolvePath(baseDir, t.Cert), Key: middlewares.ResolvePath(baseDir, t.Key), InsecureSkipVerify: t.InsecureSkipVerify})
		if err != nil {
			return nil, fmt.Errorf("redis.tls: %w", err)
		}
		opts.TLSConfig = tc
	}
	quietLibraryLog.Do(func() { redis.SetLogger(debugLog{}) })
	s := &redisStore{client: redis.NewUniversalClient(opts), log: log, stop: make(chan struct{}), minWait: 100 * time.Millisecond}
	s.up.Store(true)
	return s, nil
}

// quietLibraryLog routes go-redis's own log lines (one per failed dial) to
// debug: the store logs Redis going away and coming back once each.
var quietLibraryLog sync.Once

type debugLog struct{}

func (debugLog) Printf(ctx context.Context, format string, v ...any) {
	slog.Default().DebugContext(ctx, fmt.Sprintf(format, v...), "component", "go-redis")
}

func durationOr(d *config.Duration, def time.Duration) time.Duration {
	if d != nil && d.Std() > 0 {
		return d.Std()
	}
	return def
}

// redisKey names a source's bucket. Keys are shared by every gateway
// using the same middleware name; long sources (a header value) are hashed
// so a client cannot make Redis store arbitrarily long keys.
func redisKey(middleware, source string) string {
	if len(source) > 128 {
		sum := sha256.Sum256([]byte(source))
		source = "sha256:" + hex.EncodeToString(sum[:])
	}
	return "guan:ratelimit:" + middleware + ":" + source
}

// take spends a token of key's bucket in Redis.
func (s *redisStore) take(ctx context.Context, key string, r rule) (decision, error) {
	if !s.up.Load() {
		return decision{}, errUnavailable
	}
	interval := max(r.interval.Microseconds(), 1)
	vals, err := gcraScript.Run(ctx, s.client, []string{key}, interval, r.burst).Int64Slice()
	if err != nil {
		if ctx.Err() != nil {
			return decision{}, ctx.Err() // the client left; Redis is not to blame
		}
		s.down(err)
		return decision{}, err
	}
	if len(vals) != 4 {
		err := fmt.Errorf("rate-limit script answered %d values, want 4", len(vals))
		s.down(err)
		return decision{}, err
	}
	return decision{
		allowed:    vals[0] == 1,
		remaining:  vals[1],
		retryAfter: time.Duration(vals[2]) * time.Microsecond,
		reset:      time.Duration(vals[3]) * time.Microsecond,
	}, nil
}

// down marks Redis unavailable and starts the prober that brings it back.
func (s *redisStore) down(err error) {
	if s.up.CompareAndSwap(true, false) {
		s.log.Warn("Redis unavailable for rate limits; applying the failure policy until it answers again", "error", err)
	}
	if s.probing.CompareAndSwap(false, true) {
		go s.probe()
	}
}

// probe pings Redis with a growing pause (up to 5 s) until it answers.
func (s *redisStore) probe() {
	defer s.probing.Store(false)
	wait := s.minWait
	for {
		select {
		case <-s.stop:
			return
		case <-time.After(wait):
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		err := s.client.Ping(ctx).Err()
		cancel()
		if err == nil {
			s.up.Store(true)
			s.log.Info("Redis answers again; rate limits are shared again")
			return
		}
		wait = min(2*wait, 5*time.Second)
	}
}

// Close stops the prober and closes the connections (the state store calls
// it when no configuration uses this Redis any more).
func (s *redisStore) Close() error {
	s.once.Do(func() { close(s.stop) })
	return s.client.Close()
}
