package mqtt

import (
	"context"
	"log/slog"
	"time"

	"github.com/guan-gateway/guan/middlewares/jwt"
	"github.com/guan-gateway/guan/middlewares/opa"
	gmqtt "github.com/guan-gateway/guan/mqtt"
	"github.com/guan-gateway/guan/mqtt/packet"
)

// jwtAuth takes the CONNECT password as a JWT (the user name when the
// password is empty, as some device SDKs send it) and keeps its claims on
// the session for policies.
type jwtAuth struct {
	name string
	v    *jwt.Verifier
}

func (a *jwtAuth) Name() string { return a.name }

func (a *jwtAuth) Connect(s *gmqtt.Session, c *packet.Connect) byte {
	raw := string(c.Password)
	if raw == "" {
		raw = c.Username
	}
	if raw == "" {
		return packet.RCNotAuthorized
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	claims, err := a.v.Verify(ctx, raw)
	if err != nil {
		return packet.RCBadUserNameOrPassword
	}
	s.Claims = claims
	return 0
}

// opaPolicy asks an embedded Rego policy about each CONNECT, PUBLISH and
// SUBSCRIBE filter. Input:
//
//	{"protocol": "mqtt", "action": "connect"|"publish"|"subscribe",
//	 "clientID", "username", "topic", "clientIP", "router", "entryPoint",
//	 "protocolVersion", "jwt": {claims of a jwt middleware before it}}
type opaPolicy struct {
	name string
	e    *opa.Evaluator
	log  *slog.Logger
}

func (p *opaPolicy) Name() string { return p.name }

func (p *opaPolicy) allow(s *gmqtt.Session, action, topic string) bool {
	in := map[string]any{
		"protocol": "mqtt", "action": action, "clientID": s.ClientID, "username": s.Username,
		"clientIP": s.RemoteIP(), "router": s.Router, "entryPoint": s.EntryPoint, "protocolVersion": int(s.Version),
	}
	if topic != "" {
		in["topic"] = topic
	}
	if s.Claims != nil {
		in["jwt"] = s.Claims
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ok, err := p.e.Allow(ctx, in)
	if err != nil {
		if p.log != nil {
			p.log.Error("opa: policy evaluation failed", "middleware", p.name, "error", err)
		}
		return false
	}
	return ok
}

func (p *opaPolicy) Connect(s *gmqtt.Session, _ *packet.Connect) byte {
	if !p.allow(s, "connect", "") {
		return packet.RCNotAuthorized
	}
	return 0
}

func (p *opaPolicy) Publish(s *gmqtt.Session, topic string) gmqtt.Verdict {
	if p.allow(s, "publish", topic) {
		return gmqtt.Allow
	}
	return gmqtt.Deny
}

func (p *opaPolicy) Subscribe(s *gmqtt.Session, filter string) bool {
	return p.allow(s, "subscribe", filter)
}
