package e2e

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/guan-gateway/guan/mqtt/packet"
	"github.com/guan-gateway/guan/test/mosquittoserver"
	"github.com/guan-gateway/guan/test/udprelay"
)

// quicStream is an MQTT-over-QUIC client's stream as a net.Conn, the way
// EMQX's clients carry a session: one bidirectional stream per connection.
type quicStream struct {
	*quic.Stream
	conn *quic.Conn
}

func (s quicStream) LocalAddr() net.Addr  { return s.conn.LocalAddr() }
func (s quicStream) RemoteAddr() net.Addr { return s.conn.RemoteAddr() }

// dialMQTTQUIC opens a QUIC connection (ALPN mqtt) from its own UDP socket
// and its first stream.
func dialMQTTQUIC(t *testing.T, addr string, roots *tls.Config) (*quic.Conn, *rawMQTT) {
	t.Helper()
	udp, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	tr := &quic.Transport{Conn: udp}
	t.Cleanup(func() { tr.Close() })
	ua, _ := net.ResolveUDPAddr("udp", addr)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	tc := roots.Clone()
	tc.NextProtos = []string{"mqtt"}
	c, err := tr.Dial(ctx, ua, tc, &quic.Config{KeepAlivePeriod: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.CloseWithError(0, "") })
	str, err := c.OpenStreamSync(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sc := quicStream{Stream: str, conn: c}
	return c, &rawMQTT{t: t, c: sc, br: bufio.NewReader(sc), v: 4}
}

func connectPacket(clientID, password string) []byte {
	return (&packet.Connect{ProtocolName: "MQTT", Version: 4, ClientID: clientID, KeepAlive: 30,
		HasUsername: true, Username: "fleet", HasPassword: true, Password: []byte(password)}).Append(nil)
}

// retained encodes a QoS 0 PUBLISH with the retain flag, so a subscriber
// that comes later still gets it.
func retained(topic, payload string) []byte {
	body := append([]byte{byte(len(topic) >> 8), byte(len(topic))}, topic...)
	body = append(body, payload...)
	return append(packet.AppendHeader(nil, packet.PUBLISH, 0x01, len(body)), body...)
}

// MQTT over QUIC through to a real Mosquitto: CONNECT, SUBSCRIBE and
// PUBLISH both ways, the ACL and auth refusals, and a client that moves to
// another network path keeping its session without reconnecting.
func TestMQTTOverQUIC(t *testing.T) {
	b := mosquittoserver.Start(t)
	ca := newTestCA(t, "mqtt quic CA")
	cert, key, _ := ca.issue(t, "mq.test", false, "mq.test")
	cfg := mqttFleetConfig(t, b) + ticked(fmt.Sprintf(`
[[tls.certificates]]
  certFile = '''%s'''
  keyFile = '''%s'''
[mqtt.routers.secure]
  entryPoints = ["mqtts"]
  rule = "HostSNI(´mq.test´) && ClientIDPrefix(´dev-´) && ClientIP(´127.0.0.0/8´)"
  service = "brokers"
  middlewares = ["fleet-auth", "fleet-acl"]
  [mqtt.routers.secure.tls]
`, cert, key))
	port := freePort(t)
	g := startGateway(t, map[string]string{"mqtt.toml": cfg}, gatewayOpts{
		extraEPs:    map[string]int{"mqtts": port, "mqtt": freePort(t)},
		extraStatic: "[entryPoints.mqtts.mqtt]\n  quic = true\n  maxConnectionsPerIP = 3\n  connectTimeout = \"1s\"\n",
	})
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	roots := clientTLS("mq.test", ca.pool, nil)

	c, r := dialMQTTQUIC(t, addr, roots)
	r.send(connectPacket("dev-q1", "secret"))
	if h, body := r.read(); h.Type != packet.CONNACK || body[1] != 0 {
		t.Fatalf("CONNACK over QUIC: type %d % x", h.Type, body)
	}
	r.send(packet.AppendSubscribe(nil, 4, 1, nil, []packet.Subscription{{Filter: "devices/dev-q1/down/#"}, {Filter: "devices/dev-other/down/#"}}))
	if h, body := r.read(); h.Type != packet.SUBACK || len(body) != 4 || body[2] != 0 || body[3] != 0x80 {
		t.Fatalf("SUBACK over QUIC: type %d % x, want granted then 0x80 for the other device's topic", h.Type, body)
	}
	expect := func(msg string) {
		t.Helper()
		h, body := r.read()
		if h.Type != packet.PUBLISH || !strings.HasSuffix(string(body), msg) {
			t.Fatalf("want PUBLISH %q, got type %d % x", msg, h.Type, body)
		}
	}
	mosquittoPub(t, b.Addr, "devices/dev-q1/down/cmd", "before-move")
	expect("before-move")
	r.send(retained("devices/dev-q1/up/state", "up-before-move"))
	if got := mosquittoSubOne(t, b.Addr, "devices/dev-q1/up/state"); got != "up-before-move" {
		t.Fatalf("the broker has %q", got)
	}

	// The phone moves from Wi-Fi to cellular: another local address, the
	// same QUIC connection and MQTT session.
	udp2, _ := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	tr2 := &quic.Transport{Conn: udp2}
	defer tr2.Close()
	path, err := c.AddPath(tr2)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := path.Probe(ctx); err != nil {
		t.Fatal(err)
	}
	if err := path.Switch(); err != nil {
		t.Fatal(err)
	}
	// Quiet for longer than connectTimeout, which bounds only the CONNECT.
	time.Sleep(1500 * time.Millisecond)
	mosquittoPub(t, b.Addr, "devices/dev-q1/down/cmd", "after-move")
	expect("after-move")
	r.send(retained("devices/dev-q1/up/state", "up-after-move"))
	if got := mosquittoSubOne(t, b.Addr, "devices/dev-q1/up/state"); got != "up-after-move" {
		t.Fatalf("after the move the broker has %q", got)
	}

	// Behind a NAT that loses its mapping: the gateway sees the client's
	// packets come from a new port, mid-session.
	relay := udprelay.Start(t, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port}, 0)
	_, rn := dialMQTTQUIC(t, relay.Addr(), roots)
	rn.send(connectPacket("dev-q3", "secret"))
	if h, body := rn.read(); h.Type != packet.CONNACK || body[1] != 0 {
		t.Fatalf("CONNACK through the NAT: type %d % x", h.Type, body)
	}
	relay.Rebind(t)
	rn.send(retained("devices/dev-q3/up/state", "after-rebinding"))
	if got := mosquittoSubOne(t, b.Addr, "devices/dev-q3/up/state"); got != "after-rebinding" {
		t.Fatalf("after the NAT rebinding the broker has %q", got)
	}

	// One CONNECT accepted per client: no session reconnected.
	m := g.metrics(t)
	if !regexp.MustCompile(`guan_mqtt_connects_total\{entrypoint="mqtts",result="accepted",router="secure@file"\} 2\b`).MatchString(m) {
		t.Fatalf("want two accepted CONNECTs on mqtts:\n%s", grepLines(m, "guan_mqtt_connects_total"))
	}
	if !regexp.MustCompile(`guan_open_connections\{entrypoint="mqtts",protocol="UDP"\} 2\b`).MatchString(m) {
		t.Fatalf("the QUIC connections are not counted:\n%s", grepLines(m, "guan_open_connections"))
	}

	// A wrong password: CONNACK 0x04 (bad user name or password), then the
	// connection ends.
	bad, rb := dialMQTTQUIC(t, addr, roots)
	rb.send(connectPacket("dev-q2", "wrong"))
	if h, body := rb.read(); h.Type != packet.CONNACK || body[1] != 0x04 {
		t.Fatalf("refused CONNACK over QUIC: type %d % x, want code 0x04", h.Type, body)
	}
	select {
	case <-bad.Context().Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the refused client's QUIC connection stayed open")
	}

	// A third client from 127.0.0.1 (maxConnectionsPerIP = 3: the QUIC
	// clients are counted by their address as TCP ones are)...
	_, r5 := dialMQTTQUIC(t, addr, roots)
	r5.v = 5
	r5.send((&packet.Connect{ProtocolName: "MQTT", Version: 5, ClientID: "dev-q5", KeepAlive: 30,
		HasUsername: true, Username: "fleet", HasPassword: true, Password: []byte("secret")}).Append(nil))
	if h, body := r5.read(); h.Type != packet.CONNACK || body[1] != 0 {
		t.Fatalf("MQTT 5 CONNACK over QUIC: type %d % x", h.Type, body)
	}

	// ...and a fourth is closed without a CONNACK.
	_, r4 := dialMQTTQUIC(t, addr, roots)
	r4.send(connectPacket("dev-q4", "secret"))
	_ = r4.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if b, err := r4.br.ReadByte(); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("a fourth client from one address: byte %#x, %v; want the connection closed", b, err)
	}

	// SIGTERM: DISCONNECT 0x8B "server shutting down" within the grace
	// period (the drain spreads the clients over 80% of 10 s).
	go g.stop()
	r5.wait = 12 * time.Second
	if h, body := r5.read(); h.Type != packet.DISCONNECT || len(body) < 1 || body[0] != packet.RCServerShuttingDown {
		t.Fatalf("on SIGTERM over QUIC: packet %d % x, want DISCONNECT 0x8B", h.Type, body)
	}
}
