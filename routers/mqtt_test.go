package routers

import (
	"net/netip"
	"strings"
	"testing"
)

func TestMQTTRules(t *testing.T) {
	dev := &MQTTInfo{ClientID: "dev-42", Username: "fleet", ProtocolVersion: 5, RemoteIP: netip.MustParseAddr("10.1.2.3"), ServerName: "MQ.Example.com"}
	guest := &MQTTInfo{ClientID: "dev-7", Username: "guest", ProtocolVersion: 4, RemoteIP: netip.MustParseAddr("192.0.2.1")}
	for _, tt := range []struct {
		rule       string
		dev, guest bool
	}{
		{"ClientIDPrefix(`dev-`) && !Username(`guest`)", true, false},
		{"ClientID(`dev-7`)", false, true},
		{"ClientIDRegexp(`^dev-[0-9]{2}$`)", true, false},
		{"UsernameRegexp(`^gu`)", false, true},
		{"ClientIP(`10.0.0.0/8`)", true, false},
		{"ProtocolVersion(`5`)", true, false},
		{"ProtocolVersion(`3.1.1`)", false, true},
		{"HostSNI(`mq.example.com`)", true, false},
		{"HostSNI(`*`) || ClientIP(`192.0.2.0/24`)", true, true},
	} {
		r, err := ParseMQTT(tt.rule)
		if err != nil {
			t.Fatalf("%s: %v", tt.rule, err)
		}
		if r.Match(dev) != tt.dev || r.Match(guest) != tt.guest {
			t.Errorf("%s: dev %v guest %v", tt.rule, r.Match(dev), r.Match(guest))
		}
	}
	for rule, want := range map[string]string{
		"Host(`a`)":              "HostSNI",
		"ProtocolVersion(`4.0`)": "unknown MQTT version",
		"ClientIDRegexp(`(`)":    "invalid regexp",
		"ClientIDPrefx(`a`)":     "did you mean",
		"ClientID(`a`, `b`)":     "exactly 1 argument",
	} {
		if _, err := ParseMQTT(rule); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", rule, err, want)
		}
	}
}

func TestMQTTTable(t *testing.T) {
	mk := func(name, rule string, prio int) MQTTRoute {
		r, err := ParseMQTT(rule)
		if err != nil {
			t.Fatal(err)
		}
		return MQTTRoute{Name: name, Rule: r, Priority: prio, Handler: name}
	}
	tab := NewMQTTTable([]MQTTRoute{
		mk("all", "HostSNI(`*`)", 1),
		mk("fleet", "ClientIDPrefix(`dev-`) && !Username(`guest`)", 0),
		mk("guests", "Username(`guest`)", 0),
	})
	for _, tt := range []struct {
		info MQTTInfo
		want string
	}{
		{MQTTInfo{ClientID: "dev-1", Username: "fleet"}, "fleet"},
		{MQTTInfo{ClientID: "dev-1", Username: "guest"}, "guests"},
		{MQTTInfo{ClientID: "x"}, "all"},
	} {
		if got := tab.Match(&tt.info); got == nil || got.Name != tt.want {
			t.Errorf("%+v: %v, want %s", tt.info, got, tt.want)
		}
	}
}
