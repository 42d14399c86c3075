// Package mqtt builds the MQTT middlewares of the dynamic configuration:
// connectAuth (user name and password of CONNECT against htpasswd entries),
// topicACL (which topics a client may publish and subscribe to) and
// rateLimit (messages and bytes per second per client).
package mqtt

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/guan-gateway/guan/config"
	"github.com/guan-gateway/guan/config/dynamic"
	"github.com/guan-gateway/guan/middlewares"
	"github.com/guan-gateway/guan/middlewares/basicauth"
	"github.com/guan-gateway/guan/middlewares/jwt"
	"github.com/guan-gateway/guan/middlewares/opa"
	"github.com/guan-gateway/guan/middlewares/ratelimit"
	gmqtt "github.com/guan-gateway/guan/mqtt"
	"github.com/guan-gateway/guan/mqtt/packet"
)

// Kind names the middleware type of a configuration ("connectAuth"...).
func Kind(m *dynamic.MQTTMiddleware) string {
	switch {
	case m == nil:
		return ""
	case m.ConnectAuth != nil:
		return "connectAuth"
	case m.TopicACL != nil:
		return "topicACL"
	case m.RateLimit != nil:
		return "rateLimit"
	case m.JWT != nil:
		return "jwt"
	case m.OPA != nil:
		return "opa"
	}
	return ""
}

// Build compiles one middleware; env gives its name, base directory,
// logger and the state store (JWKS caches and policies outlive reloads).
func Build(env middlewares.Env, m *dynamic.MQTTMiddleware) (gmqtt.Middleware, error) {
	name, baseDir := env.Name, env.BaseDir
	n := 0
	for _, set := range []bool{m.ConnectAuth != nil, m.TopicACL != nil, m.RateLimit != nil, m.JWT != nil, m.OPA != nil} {
		if set {
			n++
		}
	}
	if n != 1 {
		return nil, errors.New("an MQTT middleware needs exactly one type: connectAuth, topicACL, rateLimit, jwt or opa")
	}
	switch {
	case m.JWT != nil:
		v, err := jwt.NewVerifier(env, *m.JWT)
		if err != nil {
			return nil, err
		}
		return &jwtAuth{name: name, v: v}, nil
	case m.OPA != nil:
		e, err := opa.NewEvaluator(env, *m.OPA)
		if err != nil {
			return nil, err
		}
		return &opaPolicy{name: name, e: e, log: env.Logger}, nil
	case m.ConnectAuth != nil:
		creds, err := basicauth.NewCredentials(baseDir, m.ConnectAuth.Users, m.ConnectAuth.UsersFile)
		if err != nil {
			return nil, fmt.Errorf("connectAuth: %w", err)
		}
		return &connectAuth{name: name, creds: creds}, nil
	case m.TopicACL != nil:
		return newTopicACL(name, m.TopicACL)
	default:
		r := m.RateLimit
		if r.MessagesPerSecond < 0 || r.BytesPerSecond < 0 || r.Burst < 0 {
			return nil, errors.New("rateLimit: messagesPerSecond, burst and bytesPerSecond cannot be negative")
		}
		if r.MessagesPerSecond == 0 && r.BytesPerSecond == 0 {
			return nil, errors.New("rateLimit: set messagesPerSecond, bytesPerSecond or both")
		}
		burst := float64(r.Burst)
		if burst == 0 {
			burst = max(1, r.MessagesPerSecond)
		}
		var disconnect bool
		switch r.Action {
		case "", "throttle":
		case "disconnect":
			disconnect = true
		default:
			return nil, fmt.Errorf("rateLimit: unknown action %q: use throttle or disconnect", r.Action)
		}
		rl := &gmqtt.RateLimit{MiddlewareName: name, PerSecond: r.MessagesPerSecond, Burst: burst,
			BytesPerSecond: float64(r.BytesPerSecond), DisconnectOver: disconnect}
		if r.Redis != nil && r.MessagesPerSecond > 0 {
			// The HTTP rateLimit's Redis GCRA, its keys and failure policy:
			// below one message a second, one message per 1/rate seconds;
			// above, the rate rounded up per second.
			avg, period := int64(math.Ceil(r.MessagesPerSecond)), config.Duration(time.Second)
			if r.MessagesPerSecond < 1 {
				avg, period = 1, config.Duration(float64(time.Second)/r.MessagesPerSecond)
			}
			b := int64(burst)
			l, err := ratelimit.NewLimiter(env, dynamic.RateLimit{Average: avg, Period: &period, Burst: &b, Redis: r.Redis})
			if err != nil {
				return nil, fmt.Errorf("rateLimit.redis: %w", err)
			}
			if l != nil {
				rl.Shared = l
			}
		}
		return rl, nil
	}
}

type connectAuth struct {
	name  string
	creds *basicauth.Credentials
}

func (a *connectAuth) Name() string { return a.name }

// Connect: no credentials → "not authorized"; wrong ones → "bad user name
// or password" (3.1.1: 0x05 and 0x04; 5.0: 0x87 and 0x86).
func (a *connectAuth) Connect(_ *gmqtt.Session, c *packet.Connect) byte {
	if !c.HasUsername || !c.HasPassword {
		return packet.RCNotAuthorized
	}
	if !a.creds.Check(c.Username, string(c.Password)) {
		return packet.RCBadUserNameOrPassword
	}
	return 0
}

type topicACL struct {
	name               string
	publish, subscribe []string
	disconnect         bool
}

func newTopicACL(name string, cfg *dynamic.MQTTTopicACL) (*topicACL, error) {
	a := &topicACL{name: name, publish: cfg.Publish, subscribe: cfg.Subscribe}
	switch cfg.Action {
	case "", "drop":
	case "disconnect":
		a.disconnect = true
	default:
		return nil, fmt.Errorf("topicACL: unknown action %q: use drop or disconnect", cfg.Action)
	}
	for i, lists := range [][]string{cfg.Publish, cfg.Subscribe} {
		key := [...]string{"publish", "subscribe"}[i]
		for j, f := range lists {
			if err := validFilter(f); err != nil {
				return nil, fmt.Errorf("topicACL.%s[%d] %q: %w", key, j, f, err)
			}
		}
	}
	return a, nil
}

// validFilter checks an ACL entry: an MQTT topic filter whose levels may
// also be {clientid} or {username}.
func validFilter(f string) error {
	if f == "" {
		return errors.New("empty topic filter")
	}
	levels := strings.Split(f, "/")
	for i, l := range levels {
		switch {
		case l == "#" && i != len(levels)-1:
			return errors.New("# must be the last level")
		case l != "#" && strings.Contains(l, "#"), l != "+" && strings.Contains(l, "+"):
			return errors.New("a wildcard must fill a whole level")
		}
	}
	return nil
}

func (a *topicACL) Name() string { return a.name }

func (a *topicACL) Publish(s *gmqtt.Session, topic string) gmqtt.Verdict {
	for _, f := range a.publish {
		if exp, ok := expand(f, s); ok && packet.MatchTopic(exp, topic) {
			return gmqtt.Allow
		}
	}
	if a.disconnect {
		return gmqtt.Disconnect
	}
	return gmqtt.Deny
}

func (a *topicACL) Subscribe(s *gmqtt.Session, filter string) bool {
	if validFilter(filter) != nil {
		return false
	}
	for _, f := range a.subscribe {
		if exp, ok := expand(f, s); ok && packet.FilterWithin(exp, filter) {
			return true
		}
	}
	return false
}

// expand puts the client's ID and user name into an ACL entry. An ID or
// name holding a wildcard or a level separator would widen the entry, so
// such a client gets no rule that names it.
func expand(f string, s *gmqtt.Session) (string, bool) {
	if !strings.Contains(f, "{") {
		return f, true
	}
	for _, p := range [...]struct{ ph, v string }{{"{clientid}", s.ClientID}, {"{username}", s.Username}} {
		if !strings.Contains(f, p.ph) {
			continue
		}
		if p.v == "" || strings.ContainsAny(p.v, "+#/") {
			return "", false
		}
		f = strings.ReplaceAll(f, p.ph, p.v)
	}
	return f, true
}
