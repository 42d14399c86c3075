package e2e

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/guan-gateway/guan/mqtt/packet"
	"github.com/guan-gateway/guan/test/mosquittoserver"
	"github.com/guan-gateway/guan/test/redisserver"
)

// hs256 signs claims (JSON) with secret.
func hs256(secret, claims string) string {
	enc := base64.RawURLEncoding
	signing := enc.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`)) + "." + enc.EncodeToString([]byte(claims))
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(signing))
	return signing + "." + enc.EncodeToString(m.Sum(nil))
}

// The jwt and opa middlewares on MQTT: a token as the CONNECT password,
// and a Rego policy over CONNECT, PUBLISH and SUBSCRIBE with the token's
// claims, each refusal with the version's reason code.
func TestMQTTJWTAndOPA(t *testing.T) {
	b := mosquittoserver.Start(t)
	dir := t.TempDir()
	policy := filepath.Join(dir, "mqtt.rego")
	writeFile(t, policy, `package guan.authz

default allow := false

allow if {
	input.action == "connect"
	input.jwt.sub == input.clientID
}

allow if {
	input.action == "publish"
	startswith(input.topic, sprintf("apps/%s/", [input.clientID]))
}

allow if {
	input.action == "subscribe"
	input.topic == "news"
}
`)
	cfg := ticked(fmt.Sprintf(`
[mqtt.routers.apps]
  entryPoints = ["mqtt"]
  rule = "ClientIDPrefix(´app-´)"
  service = "broker"
  middlewares = ["apps-jwt", "apps-opa"]
[[mqtt.services.broker.loadBalancer.servers]]
  address = %q
[mqtt.middlewares.apps-jwt.jwt]
  secret = "s3cret-key-for-tests-only-32bytes"
  algorithms = ["HS256"]
[mqtt.middlewares.apps-opa.opa]
  policy = %q
`, b.Addr, policy))
	port := freePort(t)
	startGateway(t, map[string]string{"mqtt.toml": cfg}, gatewayOpts{extraEPs: map[string]int{"mqtt": port}})
	gw := fmt.Sprintf("127.0.0.1:%d", port)
	exp := time.Now().Add(time.Hour).Unix()
	token := func(sub string) []byte {
		return []byte(hs256("s3cret-key-for-tests-only-32bytes", fmt.Sprintf(`{"sub":%q,"exp":%d}`, sub, exp)))
	}

	for _, tt := range []struct {
		name string
		cp   packet.Connect
		want byte
	}{
		{"valid token, policy allows", packet.Connect{Version: 4, ClientID: "app-1", HasUsername: true, Username: "x", HasPassword: true, Password: token("app-1")}, 0},
		{"token of another client: policy denies (3.1.1)", packet.Connect{Version: 4, ClientID: "app-1", HasUsername: true, Username: "x", HasPassword: true, Password: token("app-2")}, 0x05},
		{"token of another client: policy denies (5.0)", packet.Connect{Version: 5, ClientID: "app-1", HasUsername: true, Username: "x", HasPassword: true, Password: token("app-2")}, 0x87},
		{"bad signature (3.1.1)", packet.Connect{Version: 4, ClientID: "app-1", HasUsername: true, Username: "x", HasPassword: true, Password: []byte(hs256("wrong-key", `{"sub":"app-1"}`))}, 0x04},
		{"no token (5.0)", packet.Connect{Version: 5, ClientID: "app-1"}, 0x87},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, ack := dialRaw(t, gw, tt.cp)
			if ack.Code != tt.want {
				t.Fatalf("CONNACK %#x, want %#x", ack.Code, tt.want)
			}
		})
	}

	r, ack := dialRaw(t, gw, packet.Connect{Version: 5, ClientID: "app-7", HasPassword: true, Password: token("app-7")})
	if ack.Code != 0 {
		t.Fatalf("connect: %#x", ack.Code)
	}
	r.send(packet.AppendSubscribe(nil, 5, 1, nil, []packet.Subscription{{Filter: "news", Options: 1}, {Filter: "secrets", Options: 1}}))
	if h, body := r.read(); h.Type != packet.SUBACK || string(body) != "\x00\x01\x00\x01\x87" {
		t.Fatalf("subscribe: %d % x", h.Type, body)
	}
	r.send(publishPacket(5, "apps/app-8/x", 1, 2, "not mine"))
	if h, body := r.read(); h.Type != packet.PUBACK || string(body) != "\x00\x02\x87" {
		t.Fatalf("publish elsewhere: %d % x", h.Type, body)
	}
	r.send(publishPacket(5, "apps/app-7/x", 1, 3, "mine"))
	if h, body := r.read(); h.Type != packet.PUBACK || body[0] != 0 || body[1] != 3 || (len(body) > 2 && body[2] != 0 && body[2] != packet.RCNoMatchingSubscribers) {
		t.Fatalf("publish own topic: %d % x", h.Type, body)
	}
}

// A client's message budget is shared through Redis by every gateway: what
// it spent through one is missing through the other.
func TestMQTTRateLimitSharedThroughRedis(t *testing.T) {
	rdb := redisserver.Start(t)
	b := mosquittoserver.Start(t)
	cfg := ticked(fmt.Sprintf(`
[mqtt.routers.meters]
  entryPoints = ["mqtt"]
  rule = "ClientIDPrefix(´meter-´)"
  service = "broker"
  middlewares = ["budget"]
[[mqtt.services.broker.loadBalancer.servers]]
  address = %q
[mqtt.middlewares.budget.rateLimit]
  messagesPerSecond = 0.05
  burst = 3
  action = "disconnect"
  [mqtt.middlewares.budget.rateLimit.redis]
    endpoints = [%q]
`, b.Addr, rdb.Addr))
	var gws []string
	for range 2 {
		port := freePort(t)
		startGateway(t, map[string]string{"mqtt.toml": cfg}, gatewayOpts{extraEPs: map[string]int{"mqtt": port}})
		gws = append(gws, fmt.Sprintf("127.0.0.1:%d", port))
	}
	// Three messages through the first gateway: the whole burst.
	r, ack := dialRaw(t, gws[0], packet.Connect{Version: 5, ClientID: "meter-1"})
	if ack.Code != 0 {
		t.Fatalf("connect: %#x", ack.Code)
	}
	for i := range 3 {
		r.send(publishPacket(5, "meters/1", 1, uint16(i+1), "kWh"))
		if h, _ := r.read(); h.Type != packet.PUBACK {
			t.Fatalf("message %d through the first gateway: packet %d", i+1, h.Type)
		}
	}
	r.send(packet.AppendDisconnect(nil, 5, 0))
	r.c.Close()
	// The fourth, through the second gateway, is over the shared limit.
	r2, ack := dialRaw(t, gws[1], packet.Connect{Version: 5, ClientID: "meter-1"})
	if ack.Code != 0 {
		t.Fatalf("connect through the second gateway: %#x", ack.Code)
	}
	r2.send(publishPacket(5, "meters/1", 1, 4, "kWh"))
	if h, body := r2.read(); h.Type != packet.DISCONNECT || body[0] != packet.RCMessageRateTooHigh {
		t.Fatalf("fourth message through the second gateway: packet %d % x, want DISCONNECT 0x96", h.Type, body)
	}
}
