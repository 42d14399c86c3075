package mqtt

import (
	"context"
	"time"

	"github.com/guan-gateway/guan/mqtt/packet"
)

// Middleware is an MQTT middleware. It implements one or more of the
// hooks below; the handler calls those it has, in router order.
type Middleware interface {
	Name() string
}

// ConnectHook decides on a CONNECT before any broker is contacted; it
// returns 0 to accept or an MQTT 5 reason code (mapped for 3.x clients).
// Authentication middlewares (connectAuth, and JWT or OPA policies) are
// ConnectHooks.
type ConnectHook interface {
	Connect(s *Session, c *packet.Connect) (reason byte)
}

// PublishHook decides on a PUBLISH from the client.
type PublishHook interface {
	Publish(s *Session, topic string) Verdict
}

// SubscribeHook decides on one topic filter of a SUBSCRIBE.
type SubscribeHook interface {
	Subscribe(s *Session, filter string) bool
}

// RateHook is asked before each PUBLISH is forwarded: how long to stop
// reading from the client (backpressure), or to disconnect it.
type RateHook interface {
	Limit(s *Session, st *limitState, size int, now time.Time) (wait time.Duration, disconnect bool)
	newState(now time.Time) *limitState
}

// SharedLimiter holds message budgets outside the gateway (Redis), so that
// a client's limit holds across every instance it may connect through.
type SharedLimiter interface {
	Take(ctx context.Context, key string) (allowed bool, retryAfter time.Duration)
}

// Verdict is a PublishHook's answer.
type Verdict uint8

const (
	Allow      Verdict = iota
	Deny               // drop the message (MQTT 5 QoS>0: acknowledge with 0x87)
	Disconnect         // drop it and disconnect the client
)

// limitState is one client's buckets for one rate-limit middleware.
type limitState struct {
	msgTokens, byteTokens float64
	last                  time.Time
}

// RateLimit is a token bucket on messages and one on bytes per client.
type RateLimit struct {
	MiddlewareName string
	PerSecond      float64 // messages; 0: no message limit
	Burst          float64
	BytesPerSecond float64 // 0: no byte limit
	DisconnectOver bool    // disconnect instead of throttling
	// Shared, when set, decides the message rate (keyed by client ID)
	// instead of the local bucket; the byte rate stays local.
	Shared SharedLimiter
}

func (r *RateLimit) Name() string { return r.MiddlewareName }

func (r *RateLimit) newState(now time.Time) *limitState {
	return &limitState{msgTokens: r.Burst, byteTokens: r.BytesPerSecond, last: now}
}

// Limit takes one message of size bytes from the client's buckets and
// returns how long the client must wait for them.
func (r *RateLimit) Limit(s *Session, st *limitState, size int, now time.Time) (time.Duration, bool) {
	dt := now.Sub(st.last).Seconds()
	st.last = now
	var wait float64
	if r.Shared != nil && r.PerSecond > 0 {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		ok, retry := r.Shared.Take(ctx, s.ClientID)
		cancel()
		if !ok {
			wait = max(retry.Seconds(), 0.001)
		}
	} else if r.PerSecond > 0 {
		st.msgTokens = min(r.Burst, st.msgTokens+dt*r.PerSecond) - 1
		if st.msgTokens < 0 {
			wait = -st.msgTokens / r.PerSecond
		}
	}
	if r.BytesPerSecond > 0 {
		// The byte bucket holds one second of bytes, or one message.
		capacity := max(r.BytesPerSecond, float64(size))
		st.byteTokens = min(capacity, st.byteTokens+dt*r.BytesPerSecond) - float64(size)
		if st.byteTokens < 0 {
			wait = max(wait, -st.byteTokens/r.BytesPerSecond)
		}
	}
	if wait <= 0 {
		return 0, false
	}
	if r.DisconnectOver {
		return 0, true
	}
	return time.Duration(wait * float64(time.Second)), false
}
