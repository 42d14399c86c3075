package packet

import (
	"bytes"
	"errors"
	"testing"
)

func TestHeader(t *testing.T) {
	for _, n := range []int{0, 1, 127, 128, 16383, 16384, 2097151, 2097152, MaxRemaining} {
		b := AppendHeader(nil, PUBLISH, 0x3, n)
		h, hl, err := ParseHeader(b)
		if err != nil || hl != len(b) || h.Remaining != n || h.Type != PUBLISH || h.Flags != 3 {
			t.Fatalf("%d: %+v %d %v", n, h, hl, err)
		}
		if _, _, err := ParseHeader(b[:len(b)-1]); !errors.Is(err, ErrIncomplete) {
			t.Fatalf("%d: truncated header: %v", n, err)
		}
	}
	for _, bad := range [][]byte{{0x00, 0}, {0x30, 0xff, 0xff, 0xff, 0xff, 0x01}, {0x30, 0x80, 0x00}} {
		if _, _, err := ParseHeader(bad); !errors.Is(err, ErrMalformed) {
			t.Errorf("% x: %v, want malformed", bad, err)
		}
	}
}

func TestConnectRoundTrip(t *testing.T) {
	for _, c := range []*Connect{
		{ProtocolName: "MQTT", Version: V311, CleanStart: true, KeepAlive: 60, ClientID: "dev-1", HasUsername: true, Username: "fleet", HasPassword: true, Password: []byte("s3cret")},
		{ProtocolName: "MQIsdp", Version: V31, KeepAlive: 10, ClientID: "old"},
		{ProtocolName: "MQTT", Version: V5, KeepAlive: 30, Properties: []byte{0x11, 0, 0, 0, 60}, ClientID: "v5",
			Will: true, WillQoS: 1, WillRetain: true, WillProperties: []byte{}, WillTopic: "devices/v5/status", WillPayload: []byte("gone")},
	} {
		b := c.Append(nil)
		h, hl, err := ParseHeader(b)
		if err != nil || h.Type != CONNECT || hl+h.Remaining != len(b) {
			t.Fatalf("header %+v %v", h, err)
		}
		got, err := ParseConnect(b[hl:])
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Append(nil), b) || got.ClientID != c.ClientID || got.Username != c.Username || got.Version != c.Version {
			t.Fatalf("round trip: %+v", got)
		}
	}
}

func TestConnectRejects(t *testing.T) {
	good := (&Connect{ProtocolName: "MQTT", Version: V311, ClientID: "a"}).Append(nil)[2:]
	if _, err := ParseConnect(good); err != nil {
		t.Fatal(err)
	}
	bad := map[string][]byte{
		"unknown level":    append([]byte{0, 4, 'M', 'Q', 'T', 'T', 9}, good[7:]...),
		"reserved flag":    func() []byte { b := bytes.Clone(good); b[7] |= 1; return b }(),
		"will qos no will": func() []byte { b := bytes.Clone(good); b[7] |= 0x08; return b }(),
		"truncated":        good[:len(good)-1],
		"trailing bytes":   append(bytes.Clone(good), 0),
		"nul in id":        (&Connect{ProtocolName: "MQTT", Version: V311, ClientID: "a\x00b"}).Append(nil)[2:],
	}
	for name, b := range bad {
		if _, err := ParseConnect(b); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if c, err := ParseConnect(bad["unknown level"]); !errors.Is(err, ErrUnsupportedVersion) || c == nil || c.Version != 9 {
		t.Errorf("unsupported version: %v", err)
	}
}

func TestPublishAndSubscribe(t *testing.T) {
	// PUBLISH QoS 1, topic "a/b", id 7, payload "hi", MQTT 5 with no properties.
	body := []byte{0, 3, 'a', '/', 'b', 0, 7, 0, 'h', 'i'}
	p, err := ParsePublish(0x02, body, V5)
	if err != nil || p.Topic != "a/b" || p.PacketID != 7 || p.QoS != 1 || p.Payload != 2 {
		t.Fatalf("%+v %v", p, err)
	}
	if _, err := ParsePublish(0x06, body, V5); err == nil {
		t.Fatal("QoS 3 accepted")
	}
	sub := []byte{0, 9, 0, 3, 'a', '/', '#', 1, 0, 1, '+', 0}
	id, subs, err := ParseSubscribe(sub, V311)
	if err != nil || id == 0 || len(subs) != 2 || subs[0].Filter != "a/#" || subs[1].Filter != "+" {
		t.Fatalf("%d %+v %v", id, subs, err)
	}
	if got := AppendSuback(nil, V311, 9, []byte{1, SubackFailure}); !bytes.Equal(got, []byte{0x90, 4, 0, 9, 1, 0x80}) {
		t.Fatalf("suback % x", got)
	}
	if got := AppendAck(nil, PUBACK, V5, 7, RCNotAuthorized); !bytes.Equal(got, []byte{0x40, 3, 0, 7, 0x87}) {
		t.Fatalf("puback % x", got)
	}
	if got := AppendConnack(nil, V311, false, ConnRefusedBadUserPass); !bytes.Equal(got, []byte{0x20, 2, 0, 4}) {
		t.Fatalf("connack % x", got)
	}
}

func TestTopics(t *testing.T) {
	for _, tt := range []struct {
		filter, topic string
		want          bool
	}{
		{"a/b", "a/b", true}, {"a/+", "a/b", true}, {"a/+", "a/b/c", false}, {"a/#", "a", true},
		{"a/#", "a/b/c", true}, {"#", "$SYS/x", false}, {"+/b", "$SYS/b", false}, {"$SYS/#", "$SYS/x", true},
		{"a/b", "a/c", false}, {"+", "a", true}, {"+/+", "a", false}, {"a//b", "a//b", true},
	} {
		if got := MatchTopic(tt.filter, tt.topic); got != tt.want {
			t.Errorf("MatchTopic(%q, %q) = %v", tt.filter, tt.topic, got)
		}
	}
	for _, tt := range []struct {
		allowed, sub string
		want         bool
	}{
		{"devices/d1/down/#", "devices/d1/down/#", true}, {"devices/d1/down/#", "devices/d1/down/x", true},
		{"devices/d1/down/#", "devices/+/down/x", false}, {"devices/d1/down/#", "#", false},
		{"devices/+/up", "devices/d1/up", true}, {"devices/d1/up", "devices/+/up", false},
		{"#", "$SYS/x", false}, {"broadcast/#", "broadcast", true},
	} {
		if got := FilterWithin(tt.allowed, tt.sub); got != tt.want {
			t.Errorf("FilterWithin(%q, %q) = %v", tt.allowed, tt.sub, got)
		}
	}
}

func FuzzParseConnect(f *testing.F) {
	f.Add((&Connect{ProtocolName: "MQTT", Version: V5, ClientID: "x", Will: true, WillTopic: "t", HasUsername: true, Username: "u", HasPassword: true, Password: []byte("p")}).Append(nil)[2:])
	f.Add((&Connect{ProtocolName: "MQIsdp", Version: V31, ClientID: "x"}).Append(nil)[2:])
	f.Fuzz(func(t *testing.T, body []byte) {
		c, err := ParseConnect(body)
		if err != nil {
			return
		}
		again, err := ParseConnect(c.Append(nil)[len(AppendHeader(nil, CONNECT, 0, 0)):])
		_ = again
		b := c.Append(nil)
		_, hl, herr := ParseHeader(b)
		if herr != nil {
			t.Fatal(herr)
		}
		if again, err = ParseConnect(b[hl:]); err != nil || again.ClientID != c.ClientID || !bytes.Equal(again.Password, c.Password) {
			t.Fatalf("re-encoded CONNECT differs: %v", err)
		}
	})
}

func FuzzParsePackets(f *testing.F) {
	f.Add(byte(0x32), []byte{0, 3, 'a', '/', 'b', 0, 7, 0, 'h', 'i'}, byte(V5))
	f.Add(byte(0x82), []byte{0, 9, 0, 3, 'a', '/', '#', 1}, byte(V311))
	f.Add(byte(0x20), []byte{0, 0, 0}, byte(V5))
	f.Fuzz(func(t *testing.T, first byte, body []byte, version byte) {
		_, _, _ = ParseHeader(append([]byte{first}, body...))
		switch first >> 4 {
		case PUBLISH:
			if p, err := ParsePublish(first&0x0f, body, version); err == nil && p.Payload > len(body) {
				t.Fatal("payload longer than the body")
			}
		case SUBSCRIBE:
			_, _, _ = ParseSubscribe(body, version)
		case CONNACK:
			_, _ = ParseConnack(body, version)
		}
	})
}

func FuzzTopics(f *testing.F) {
	f.Add("a/+/#", "a/b/c")
	f.Fuzz(func(t *testing.T, filter, topic string) {
		// A filter allowed by itself; a topic name within a filter is
		// matched by it.
		if !FilterWithin(filter, filter) && !containsWildcardMisuse(filter) {
			t.Fatalf("FilterWithin(%q, itself) = false", filter)
		}
		if FilterWithin(filter, topic) && !containsWildcard(topic) && !MatchTopic(filter, topic) {
			t.Fatalf("%q within %q but does not match it", topic, filter)
		}
	})
}

func containsWildcard(s string) bool { return bytes.ContainsAny([]byte(s), "+#") }

// containsWildcardMisuse: "#" not as the last whole level, or "+" inside a
// level, which a valid filter never has.
func containsWildcardMisuse(s string) bool {
	levels := bytes.Split([]byte(s), []byte("/"))
	for i, l := range levels {
		if bytes.Contains(l, []byte("#")) && (string(l) != "#" || i != len(levels)-1) {
			return true
		}
		if bytes.Contains(l, []byte("+")) && string(l) != "+" {
			return true
		}
	}
	return false
}
