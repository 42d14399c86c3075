package mqtt

import (
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/guan-gateway/guan/config/dynamic"
	"github.com/guan-gateway/guan/middlewares"
	gmqtt "github.com/guan-gateway/guan/mqtt"
	"github.com/guan-gateway/guan/mqtt/packet"
)

func TestTopicACL(t *testing.T) {
	m, err := Build(middlewares.Env{Name: "acl"}, &dynamic.MQTTMiddleware{TopicACL: &dynamic.MQTTTopicACL{
		Publish:   []string{"devices/{clientid}/up/#"},
		Subscribe: []string{"devices/{clientid}/down/#", "broadcast/#"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	acl := m.(*topicACL)
	s := &gmqtt.Session{ClientID: "dev-1"}
	for topic, want := range map[string]gmqtt.Verdict{
		"devices/dev-1/up/temp": gmqtt.Allow, "devices/dev-2/up/temp": gmqtt.Deny, "devices/dev-1/down/x": gmqtt.Deny,
	} {
		if got := acl.Publish(s, topic); got != want {
			t.Errorf("publish %s: %v", topic, got)
		}
	}
	for filter, want := range map[string]bool{
		"devices/dev-1/down/#": true, "broadcast/news": true, "devices/+/down/#": false, "#": false, "a/#/b": false,
	} {
		if got := acl.Subscribe(s, filter); got != want {
			t.Errorf("subscribe %s: %v", filter, got)
		}
	}
	// A client ID holding a wildcard gets nothing from rules that name it.
	if acl.Publish(&gmqtt.Session{ClientID: "+"}, "devices/x/up/a") != gmqtt.Deny ||
		acl.Subscribe(&gmqtt.Session{ClientID: "#"}, "devices/a/down/x") {
		t.Error("a wildcard client ID widened the ACL")
	}
	for _, bad := range []dynamic.MQTTTopicACL{{Publish: []string{"a/#/b"}}, {Subscribe: []string{"a+/b"}}, {Action: "kick"}} {
		if _, err := Build(middlewares.Env{Name: "x"}, &dynamic.MQTTMiddleware{TopicACL: &bad}); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}

func TestConnectAuth(t *testing.T) {
	hash, _ := bcrypt.GenerateFromPassword([]byte("secret"), 5)
	m, err := Build(middlewares.Env{Name: "auth"}, &dynamic.MQTTMiddleware{ConnectAuth: &dynamic.MQTTConnectAuth{
		Users: []string{"fleet:" + string(hash)}}})
	if err != nil {
		t.Fatal(err)
	}
	a := m.(gmqtt.ConnectHook)
	for _, tt := range []struct {
		c    packet.Connect
		want byte
	}{
		{packet.Connect{HasUsername: true, Username: "fleet", HasPassword: true, Password: []byte("secret")}, 0},
		{packet.Connect{HasUsername: true, Username: "fleet", HasPassword: true, Password: []byte("wrong")}, packet.RCBadUserNameOrPassword},
		{packet.Connect{}, packet.RCNotAuthorized},
	} {
		if got := a.Connect(&gmqtt.Session{}, &tt.c); got != tt.want {
			t.Errorf("%+v: %#x, want %#x", tt.c, got, tt.want)
		}
	}
	if _, err := Build(middlewares.Env{Name: "x"}, &dynamic.MQTTMiddleware{ConnectAuth: &dynamic.MQTTConnectAuth{}}); err == nil || !strings.Contains(err.Error(), "no users") {
		t.Errorf("no users: %v", err)
	}
}

func TestRateLimitBuckets(t *testing.T) {
	m, err := Build(middlewares.Env{Name: "rl"}, &dynamic.MQTTMiddleware{RateLimit: &dynamic.MQTTRateLimit{MessagesPerSecond: 10, Burst: 2}})
	if err != nil {
		t.Fatal(err)
	}
	r := m.(*gmqtt.RateLimit)
	if r.PerSecond != 10 || r.Burst != 2 || r.DisconnectOver {
		t.Fatalf("%+v", r)
	}
	if _, err := Build(middlewares.Env{Name: "x"}, &dynamic.MQTTMiddleware{RateLimit: &dynamic.MQTTRateLimit{}}); err == nil {
		t.Error("a rate limit without rates accepted")
	}
}
