package ratelimit

import (
	"net/http"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/guan-gateway/guan/config/dynamic"
	"github.com/guan-gateway/guan/middlewares"
	"github.com/guan-gateway/guan/test/redisserver"
)

// gateways builds n instances of one middleware, each with its own Redis
// client and local buckets, as n gateway processes would have.
func gateways(t *testing.T, n int, cfg dynamic.RateLimit) []http.Handler {
	t.Helper()
	hs := make([]http.Handler, n)
	for i := range hs {
		hs[i] = build(t, middlewares.Env{Name: "shared@file"}, cfg)
		if l, ok := hs[i].(*limiter); ok && l.redis != nil {
			t.Cleanup(func() { l.redis.Close() })
		}
	}
	return hs
}

func redisCfg(addrs []string, policy string) *dynamic.RateLimitRedis {
	return &dynamic.RateLimitRedis{Endpoints: addrs, FailurePolicy: policy,
		DialTimeout: dur(300 * time.Millisecond), ReadTimeout: dur(300 * time.Millisecond), WriteTimeout: dur(300 * time.Millisecond)}
}

func TestRedisSharesTheBucket(t *testing.T) {
	srv := redisserver.Start(t)
	hs := gateways(t, 3, dynamic.RateLimit{Average: 1, Period: dur(time.Hour), Burst: i64(10), Redis: redisCfg([]string{srv.Addr}, "")})
	admitted := 0
	for i := range 30 {
		if w := send(hs[i%3], "192.0.2.1:1", nil); w.Code == http.StatusOK {
			admitted++
		}
	}
	if admitted != 10 {
		t.Fatalf("3 gateways admitted %d requests of one source; they share one bucket of 10", admitted)
	}
	// The 429 carries what the shared bucket says.
	w := send(hs[0], "192.0.2.1:1", nil)
	if w.Code != 429 || w.Header().Get("RateLimit-Limit") != "10" || w.Header().Get("RateLimit-Remaining") != "0" {
		t.Fatalf("over the shared limit: %d %v", w.Code, w.Header())
	}
	if ra, _ := strconv.Atoi(w.Header().Get("Retry-After")); ra < 3599 || ra > 3600 {
		t.Fatalf("Retry-After %q; one token per hour comes back within 3600 s", w.Header().Get("Retry-After"))
	}
}

// One round trip per decision: EVALSHA, plus one EVAL the first time the
// script is not cached yet. (commandstats also counts the GET, SET and TIME
// the script runs inside Redis; those are not round trips.)
func TestRedisOneRoundTripPerRequest(t *testing.T) {
	srv := redisserver.Start(t)
	hs := gateways(t, 1, dynamic.RateLimit{Average: 1000, Burst: i64(1000), Redis: redisCfg([]string{srv.Addr}, "")})
	const n = 200
	for range n {
		send(hs[0], "192.0.2.1:1", nil)
	}
	calls := commandCalls(t, srv)
	total := calls["evalsha"] + calls["eval"]
	if total < n || total > n+1 {
		t.Fatalf("Redis commands for %d decisions: %v; want one script call each (and one EVAL to load it)", n, calls)
	}
}

var cmdstat = regexp.MustCompile(`cmdstat_(\w+):calls=(\d+)`)

func commandCalls(t *testing.T, srv *redisserver.Server) map[string]int {
	t.Helper()
	info, err := srv.Info("commandstats")
	if err != nil {
		t.Fatal(err)
	}
	calls := map[string]int{}
	for _, m := range cmdstat.FindAllStringSubmatch(info, -1) {
		calls[m[1]], _ = strconv.Atoi(m[2])
	}
	return calls
}

// Redis killed under traffic: each failure policy is applied, no request
// waits longer than the Redis timeouts, and once Redis is back the limit
// is shared again.
func TestRedisFailurePolicies(t *testing.T) {
	for _, tc := range []struct {
		policy   string
		wantDown int // status while Redis is down, for a source over its limit
	}{
		{"local", http.StatusTooManyRequests},
		{"open", http.StatusOK},
		{"closed", http.StatusServiceUnavailable},
	} {
		t.Run(tc.policy, func(t *testing.T) {
			srv := redisserver.Start(t)
			var mu sync.Mutex
			results := map[string]int{}
			h := build(t, middlewares.Env{Name: "p@file", Decision: func(r string) { mu.Lock(); results[r]++; mu.Unlock() }},
				dynamic.RateLimit{Average: 1, Period: dur(time.Hour), Burst: i64(2), Redis: redisCfg([]string{srv.Addr}, tc.policy)})
			t.Cleanup(func() { h.(*limiter).redis.Close() })
			send(h, "192.0.2.1:1", nil)
			send(h, "192.0.2.1:1", nil)
			if w := send(h, "192.0.2.1:1", nil); w.Code != 429 {
				t.Fatalf("over the limit with Redis up: %d", w.Code)
			}

			srv.Kill()
			codes := map[int]int{}
			for range 5 {
				start := time.Now()
				w := send(h, "192.0.2.1:1", nil)
				if d := time.Since(start); d > 700*time.Millisecond {
					t.Fatalf("a decision took %v with Redis down; the timeouts are 300ms", d)
				}
				codes[w.Code]++
			}
			switch tc.policy {
			case "local": // a fresh local bucket of 2, then 429
				if codes[200] != 2 || codes[429] != 3 {
					t.Fatalf("policy local with Redis down: %v; want the local bucket (2 admitted, then 429)", codes)
				}
			default:
				if codes[tc.wantDown] != 5 {
					t.Fatalf("policy %s with Redis down: %v; want %d", tc.policy, codes, tc.wantDown)
				}
			}

			srv.Restart() // empty: the shared bucket starts full
			deadline := time.Now().Add(10 * time.Second)
			for !h.(*limiter).redis.up.Load() {
				if time.Now().After(deadline) {
					t.Fatal("Redis back for 10 s but rate limits still apply the failure policy")
				}
				time.Sleep(20 * time.Millisecond)
			}
			for i := range 2 {
				if w := send(h, "192.0.2.9:1", nil); w.Code != 200 {
					t.Fatalf("request %d after recovery: %d", i+1, w.Code)
				}
			}
			if w := send(h, "192.0.2.9:1", nil); w.Code != 429 {
				t.Fatalf("over the limit after recovery: %d, want 429 from Redis again", w.Code)
			}
			mu.Lock()
			defer mu.Unlock()
			if results[resultLimited] < 2 {
				t.Fatalf("decisions %v: Redis's refusals before and after the outage not counted", results)
			}
		})
	}
}

func TestRedisCluster(t *testing.T) {
	nodes := redisserver.StartCluster(t, 3)
	addrs := []string{nodes[0].Addr, nodes[1].Addr, nodes[2].Addr}
	hs := gateways(t, 2, dynamic.RateLimit{Average: 1, Period: dur(time.Hour), Burst: i64(3), Redis: redisCfg(addrs, "closed")})
	// Many sources: their keys land on every node's slots.
	for src := range 30 {
		remote := "198.51.100." + strconv.Itoa(src+1) + ":1"
		admitted := 0
		for i := range 5 {
			if w := send(hs[i%2], remote, nil); w.Code == 200 {
				admitted++
			} else if w.Code != 429 {
				t.Fatalf("source %d: status %d (503 means the cluster was not reachable)", src, w.Code)
			}
		}
		if admitted != 3 {
			t.Fatalf("source %d: %d admitted across 2 gateways, want 3", src, admitted)
		}
	}
	used := 0
	for _, n := range nodes {
		if keys, err := n.Do("DBSIZE"); err == nil && keys != "0" {
			used++
		}
	}
	if used < 2 {
		t.Fatalf("buckets on %d of 3 cluster nodes; keys should spread", used)
	}
}
