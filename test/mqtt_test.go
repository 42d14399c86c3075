package e2e

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	paho5 "github.com/eclipse/paho.golang/paho"
	paho3 "github.com/eclipse/paho.mqtt.golang"
	"github.com/emmansun/gmsm/smx509"
	"golang.org/x/crypto/bcrypt"

	"github.com/guan-gateway/guan/mqtt/packet"
	"github.com/guan-gateway/guan/test/mosquittoserver"
	"github.com/guan-gateway/guan/tls/sm2certs"
	"github.com/guan-gateway/guan/tls/tlcp"
)

// rawMQTT is a byte-level MQTT client, to check exact reason codes.
type rawMQTT struct {
	t  *testing.T
	c  net.Conn
	br *bufio.Reader
	v  byte
	// wait bounds each read; 5 s when zero.
	wait time.Duration
}

func dialRaw(t *testing.T, addr string, cp packet.Connect) (*rawMQTT, packet.Connack) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if cp.ProtocolName == "" {
		cp.ProtocolName = "MQTT"
	}
	r := &rawMQTT{t: t, c: c, br: bufio.NewReader(c), v: cp.Version}
	r.send(cp.Append(nil))
	h, body := r.read()
	if h.Type != packet.CONNACK {
		t.Fatalf("got packet type %d, want CONNACK", h.Type)
	}
	ack, err := packet.ParseConnack(body, cp.Version)
	if err != nil {
		t.Fatal(err)
	}
	return r, ack
}

func (r *rawMQTT) send(b []byte) {
	r.t.Helper()
	if _, err := r.c.Write(b); err != nil {
		r.t.Fatal(err)
	}
}

func (r *rawMQTT) read() (packet.Header, []byte) {
	r.t.Helper()
	wait := r.wait
	if wait == 0 {
		wait = 5 * time.Second
	}
	_ = r.c.SetReadDeadline(time.Now().Add(wait))
	var head []byte
	for {
		b, err := r.br.ReadByte()
		if err != nil {
			r.t.Fatalf("reading a packet: %v", err)
		}
		head = append(head, b)
		h, hl, err := packet.ParseHeader(head)
		if err == nil {
			body := make([]byte, h.Remaining)
			if _, err := io.ReadFull(r.br, body); err != nil {
				r.t.Fatal(err)
			}
			_ = hl
			return h, body
		}
	}
}

// publish encodes a PUBLISH.
func publishPacket(version byte, topic string, qos byte, id uint16, payload string) []byte {
	var body []byte
	body = append(body, byte(len(topic)>>8), byte(len(topic)))
	body = append(body, topic...)
	if qos > 0 {
		body = append(body, byte(id>>8), byte(id))
	}
	if version == packet.V5 {
		body = append(body, 0)
	}
	body = append(body, payload...)
	return append(packet.AppendHeader(nil, packet.PUBLISH, qos<<1, len(body)), body...)
}

func mqttFleetConfig(t *testing.T, brokers ...*mosquittoserver.Broker) string {
	hash, err := bcrypt.GenerateFromPassword([]byte("secret"), 5)
	if err != nil {
		t.Fatal(err)
	}
	var servers strings.Builder
	for _, b := range brokers {
		fmt.Fprintf(&servers, "  [[mqtt.services.brokers.loadBalancer.servers]]\n    address = %q\n", b.Addr)
	}
	return ticked(fmt.Sprintf(`
[mqtt.routers.fleet]
  entryPoints = ["mqtt"]
  rule = "ClientIDPrefix(´dev-´) && !Username(´guest´)"
  service = "brokers"
  middlewares = ["fleet-auth", "fleet-acl"]
[mqtt.routers.limited]
  entryPoints = ["mqtt"]
  rule = "ClientIDPrefix(´slow-´)"
  service = "brokers"
  middlewares = ["fleet-auth", "fleet-limits"]
[mqtt.services.brokers.loadBalancer]
  affinity = "clientID"
%s
[mqtt.middlewares.fleet-auth.connectAuth]
  users = ["fleet:%s"]
[mqtt.middlewares.fleet-limits.rateLimit]
  messagesPerSecond = 20
  burst = 20
[mqtt.middlewares.fleet-acl.topicACL]
  publish = ["devices/{clientid}/up/#", "broadcast/#"]
  subscribe = ["devices/{clientid}/down/#", "broadcast/#"]
`, servers.String(), hash))
}

// Publish and subscribe through the gateway with Paho (3.1.1), Paho v5 and
// mosquitto_pub/sub; every CONNECT refusal and ACL outcome with its exact
// reason code.
func TestMQTTGateway(t *testing.T) {
	b1, b2, b3 := mosquittoserver.Start(t), mosquittoserver.Start(t), mosquittoserver.Start(t)
	port := freePort(t)
	g := startGateway(t, map[string]string{"mqtt.toml": mqttFleetConfig(t, b1, b2, b3)}, gatewayOpts{extraEPs: map[string]int{"mqtt": port}})
	addr := fmt.Sprintf("127.0.0.1:%d", port)

	// Paho 3.1.1: subscribe and receive its own broadcast through the gateway.
	got := make(chan string, 4)
	opts := paho3.NewClientOptions().AddBroker("tcp://" + addr).SetClientID("dev-paho3").SetUsername("fleet").SetPassword("secret").
		SetProtocolVersion(4).SetAutoReconnect(false).SetConnectTimeout(5 * time.Second)
	c3 := paho3.NewClient(opts)
	if tok := c3.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("paho 3.1.1 connect: %v", tok.Error())
	}
	defer c3.Disconnect(100)
	if tok := c3.Subscribe("broadcast/#", 1, func(_ paho3.Client, m paho3.Message) { got <- m.Topic() + " " + string(m.Payload()) }); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	if tok := c3.Publish("broadcast/hello", 1, false, "from paho"); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	select {
	case m := <-got:
		if m != "broadcast/hello from paho" {
			t.Fatalf("received %q", m)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("paho 3.1.1: no message back through the gateway")
	}

	// Paho v5.
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	got5 := make(chan string, 4)
	c5 := paho5.NewClient(paho5.ClientConfig{Conn: conn, OnPublishReceived: []func(paho5.PublishReceived) (bool, error){
		func(p paho5.PublishReceived) (bool, error) {
			got5 <- p.Packet.Topic + " " + string(p.Packet.Payload)
			return true, nil
		},
	}})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ack, err := c5.Connect(ctx, &paho5.Connect{ClientID: "dev-paho5", Username: "fleet", UsernameFlag: true, Password: []byte("secret"), PasswordFlag: true, KeepAlive: 30, CleanStart: true})
	if err != nil || ack.ReasonCode != 0 {
		t.Fatalf("paho v5 connect: %v %+v", err, ack)
	}
	sa, err := c5.Subscribe(ctx, &paho5.Subscribe{Subscriptions: []paho5.SubscribeOptions{{Topic: "devices/dev-paho5/down/#", QoS: 1}, {Topic: "devices/other/down/#", QoS: 1}}})
	// paho reports the denied filter as an error beside the SUBACK.
	if sa == nil || len(sa.Reasons) != 2 || sa.Reasons[0] != 1 || sa.Reasons[1] != packet.RCNotAuthorized {
		t.Fatalf("v5 mixed subscribe: %v %+v", err, sa)
	}
	// A message published to the broker the client landed on reaches it.
	for _, b := range []*mosquittoserver.Broker{b1, b2, b3} {
		mosquittoPub(t, b.Addr, "devices/dev-paho5/down/cmd", "reboot")
	}
	select {
	case m := <-got5:
		if m != "devices/dev-paho5/down/cmd reboot" {
			t.Fatalf("v5 received %q", m)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("paho v5: no message through the gateway")
	}
	_ = c5.Disconnect(&paho5.Disconnect{})

	// mosquitto_pub through the gateway, mosquitto_sub on the brokers.
	subs := make(chan string, 3)
	for _, b := range []*mosquittoserver.Broker{b1, b2, b3} {
		go func() { subs <- mosquittoSubOne(t, b.Addr, "devices/dev-cli/up/#") }()
	}
	time.Sleep(300 * time.Millisecond) // let the subscribers subscribe
	out, err := exec.Command("mosquitto_pub", "-h", "127.0.0.1", "-p", fmt.Sprint(port), "-i", "dev-cli", "-u", "fleet", "-P", "secret",
		"-t", "devices/dev-cli/up/temp", "-m", "21.5", "-q", "1").CombinedOutput()
	if err != nil {
		t.Fatalf("mosquitto_pub through the gateway: %v %s", err, out)
	}
	var received []string
	for range 3 {
		if m := <-subs; m != "" {
			received = append(received, m)
		}
	}
	if len(received) != 1 || received[0] != "21.5" {
		t.Fatalf("brokers received %q; want the message on exactly one broker", received)
	}

	// CONNECT refusals, with the code for the client's version; no route.
	for _, tt := range []struct {
		name string
		cp   packet.Connect
		want byte
	}{
		{"3.1.1 wrong password", packet.Connect{Version: 4, ClientID: "dev-a", HasUsername: true, Username: "fleet", HasPassword: true, Password: []byte("x")}, 0x04},
		{"3.1.1 no credentials", packet.Connect{Version: 4, ClientID: "dev-a"}, 0x05},
		{"5.0 wrong password", packet.Connect{Version: 5, ClientID: "dev-a", HasUsername: true, Username: "fleet", HasPassword: true, Password: []byte("x")}, 0x86},
		{"5.0 no credentials", packet.Connect{Version: 5, ClientID: "dev-a"}, 0x87},
		{"3.1 wrong password", packet.Connect{ProtocolName: "MQIsdp", Version: 3, ClientID: "dev-a", HasUsername: true, Username: "fleet", HasPassword: true, Password: []byte("x")}, 0x04},
		{"no router (guest)", packet.Connect{Version: 4, ClientID: "dev-a", HasUsername: true, Username: "guest", HasPassword: true, Password: []byte("x")}, 0x05},
		{"no router (5.0)", packet.Connect{Version: 5, ClientID: "phone-1"}, 0x87},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r, ack := dialRaw(t, addr, tt.cp)
			if ack.Code != tt.want {
				t.Fatalf("CONNACK code %#x, want %#x", ack.Code, tt.want)
			}
			_ = r.c.SetReadDeadline(time.Now().Add(2 * time.Second))
			if _, err := r.br.ReadByte(); err == nil {
				t.Fatal("the connection stayed open after a refused CONNECT")
			}
		})
	}

	// ACL on a raw 3.1.1 client: denied SUBSCRIBE gets 0x80; a denied
	// QoS 1 PUBLISH is dropped (3.1.1 has no reason code: PUBACK).
	r, ack0 := dialRaw(t, addr, packet.Connect{Version: 4, ClientID: "dev-raw", HasUsername: true, Username: "fleet", HasPassword: true, Password: []byte("secret"), KeepAlive: 30})
	if ack0.Code != 0 {
		t.Fatalf("raw connect: %#x", ack0.Code)
	}
	r.send(packet.AppendSubscribe(nil, 4, 7, nil, []packet.Subscription{{Filter: "#", Options: 0}}))
	if h, body := r.read(); h.Type != packet.SUBACK || string(body) != "\x00\x07\x80" {
		t.Fatalf("denied subscribe: type %d body % x", h.Type, body)
	}
	r.send(publishPacket(4, "devices/someone-else/up/x", 1, 9, "nope"))
	if h, body := r.read(); h.Type != packet.PUBACK || string(body) != "\x00\x09" {
		t.Fatalf("denied publish: type %d body % x", h.Type, body)
	}
	// v5: the denied QoS 1 PUBLISH is acknowledged with 0x87.
	r5, _ := dialRaw(t, addr, packet.Connect{Version: 5, ClientID: "dev-raw5", HasUsername: true, Username: "fleet", HasPassword: true, Password: []byte("secret")})
	r5.send(publishPacket(5, "devices/someone-else/up/x", 1, 3, "nope"))
	if h, body := r5.read(); h.Type != packet.PUBACK || string(body) != "\x00\x03\x87" {
		t.Fatalf("v5 denied publish: type %d body % x", h.Type, body)
	}

	// The API counts the live connections (paho 3.1.1, dev-raw, dev-raw5)
	// per router and per broker; the metrics count outcomes and denials.
	var rt struct {
		Status      string
		Connections int
		Middlewares []string
	}
	_, body, _ := get(t, http.DefaultClient, g.apiURL("/api/mqtt/routers/fleet@file"), nil)
	if err := json.Unmarshal([]byte(body), &rt); err != nil || rt.Status != "enabled" || rt.Connections != 3 || len(rt.Middlewares) != 2 {
		t.Fatalf("/api/mqtt/routers/fleet@file: %s", body)
	}
	var svc struct {
		Connections int
		Servers     []struct{ Connections int }
	}
	_, body, _ = get(t, http.DefaultClient, g.apiURL("/api/mqtt/services/brokers@file"), nil)
	if err := json.Unmarshal([]byte(body), &svc); err != nil || svc.Connections != 3 || len(svc.Servers) != 3 ||
		svc.Servers[0].Connections+svc.Servers[1].Connections+svc.Servers[2].Connections != 3 {
		t.Fatalf("/api/mqtt/services/brokers@file: %s", body)
	}
	_, body, _ = get(t, http.DefaultClient, g.apiURL("/api/mqtt/middlewares"), nil)
	if !strings.Contains(body, `"type":"topicACL"`) || !strings.Contains(body, `"type":"connectAuth"`) {
		t.Fatalf("/api/mqtt/middlewares: %s", body)
	}
	m := g.metrics(t)
	for _, want := range []string{
		`guan_mqtt_connections{entrypoint="mqtt",router="fleet@file"} 3`,
		`guan_mqtt_connects_total{entrypoint="mqtt",result="refused",router="fleet@file"} 5`,
		`guan_mqtt_connects_total{entrypoint="mqtt",result="no_route",router=""} 2`,
		`guan_mqtt_denied_total{middleware="fleet-acl@file",packet="publish",router="fleet@file"} 2`,
		`guan_mqtt_denied_total{middleware="fleet-acl@file",packet="subscribe",router="fleet@file"} 2`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

func mosquittoPub(t *testing.T, addr, topic, msg string) {
	t.Helper()
	host, port, _ := net.SplitHostPort(addr)
	if out, err := exec.Command("mosquitto_pub", "-h", host, "-p", port, "-t", topic, "-m", msg).CombinedOutput(); err != nil {
		t.Fatalf("mosquitto_pub: %v %s", err, out)
	}
}

// mosquittoSubOne returns the first message on topic within 3s, or "".
func mosquittoSubOne(t *testing.T, addr, topic string) string {
	return mosquittoSubWithin(addr, topic, 3)
}

// mosquittoSubWithin returns the first message on topic within secs, or "".
func mosquittoSubWithin(addr, topic string, secs int) string {
	host, port, _ := net.SplitHostPort(addr)
	out, err := exec.Command("mosquitto_sub", "-h", host, "-p", port, "-t", topic, "-C", "1", "-W", fmt.Sprint(secs)).Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

// brokerOf publishes a retained message as clientID through the gateway and
// returns the index of the broker that holds it.
func brokerOf(t *testing.T, gw string, brokers []*mosquittoserver.Broker, clientID, version string) int {
	t.Helper()
	topic := "devices/" + clientID + "/up/where"
	mark := fmt.Sprintf("%d", time.Now().UnixNano())
	host, port, _ := net.SplitHostPort(gw)
	if out, err := exec.Command("mosquitto_pub", "-h", host, "-p", port, "-i", clientID, "-u", "fleet", "-P", "secret",
		"-V", version, "-t", topic, "-m", mark, "-r", "-q", "1").CombinedOutput(); err != nil {
		t.Fatalf("mosquitto_pub as %s: %v %s", clientID, err, out)
	}
	found := make(chan int, len(brokers))
	for i, b := range brokers {
		go func() {
			// A retained message arrives as soon as the subscription is made.
			if mosquittoSubWithin(b.Addr, topic, 1) == mark {
				found <- i
				return
			}
			found <- -1
		}()
	}
	at := -1
	for range brokers {
		if i := <-found; i >= 0 {
			at = i
		}
	}
	if at < 0 {
		t.Fatalf("%s's message reached no broker", clientID)
	}
	return at
}

// The same client ID reaches the same one of 3 brokers across reconnects;
// when its broker dies under an MQTT 5 session the client is told to use
// another server, and reconnects to a live one.
func TestMQTTAffinityAndBrokerLoss(t *testing.T) {
	brokers := []*mosquittoserver.Broker{mosquittoserver.Start(t), mosquittoserver.Start(t), mosquittoserver.Start(t)}
	port := freePort(t)
	startGateway(t, map[string]string{"mqtt.toml": mqttFleetConfig(t, brokers...)}, gatewayOpts{extraEPs: map[string]int{"mqtt": port}})
	gw := fmt.Sprintf("127.0.0.1:%d", port)

	// (How evenly IDs spread is mqtt's unit test: broker ports are random
	// here, so the spread of five IDs is too.)
	for _, id := range []string{"dev-a", "dev-b", "dev-c", "dev-d", "dev-e"} {
		first := brokerOf(t, gw, brokers, id, "mqttv311")
		if again := brokerOf(t, gw, brokers, id, "mqttv5"); again != first {
			t.Fatalf("%s moved from broker %d to %d between reconnects", id, first, again)
		}
	}

	// Kill dev-a's broker under a live MQTT 5 session.
	home := brokerOf(t, gw, brokers, "dev-a", "mqttv5")
	r, ack := dialRaw(t, gw, packet.Connect{Version: 5, ClientID: "dev-a", HasUsername: true, Username: "fleet", HasPassword: true, Password: []byte("secret"), KeepAlive: 60})
	if ack.Code != 0 {
		t.Fatalf("connect: %#x", ack.Code)
	}
	brokers[home].Kill()
	h, body := r.read()
	if h.Type != packet.DISCONNECT || len(body) < 1 || body[0] != packet.RCUseAnotherServer {
		t.Fatalf("after the broker died: packet %d % x, want DISCONNECT 0x9C", h.Type, body)
	}
	live := brokers[:home:home]
	live = append(live, brokers[home+1:]...)
	if at := brokerOf(t, gw, live, "dev-a", "mqttv5"); at < 0 {
		t.Fatal("dev-a did not reconnect to a live broker")
	}
}

// Over-limit publishers are slowed down, not dropped: 60 messages at 20/s
// with a burst of 20 take about 2 s to cross the gateway.
func TestMQTTRateLimitThrottles(t *testing.T) {
	b := mosquittoserver.Start(t)
	port := freePort(t)
	startGateway(t, map[string]string{"mqtt.toml": mqttFleetConfig(t, b)}, gatewayOpts{extraEPs: map[string]int{"mqtt": port}})
	gw := fmt.Sprintf("127.0.0.1:%d", port)

	host, bport, _ := net.SplitHostPort(b.Addr)
	sub := exec.Command("mosquitto_sub", "-h", host, "-p", bport, "-t", "load/#", "-C", "60", "-W", "20")
	out := &syncBuffer{}
	sub.Stdout = out
	if err := sub.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	r, ack := dialRaw(t, gw, packet.Connect{Version: 4, ClientID: "slow-1", HasUsername: true, Username: "fleet", HasPassword: true, Password: []byte("secret")})
	if ack.Code != 0 {
		t.Fatalf("connect: %#x", ack.Code)
	}
	start := time.Now()
	for i := range 60 {
		r.send(publishPacket(4, fmt.Sprintf("load/%d", i), 0, 0, "x"))
	}
	if err := sub.Wait(); err != nil {
		t.Fatalf("mosquitto_sub: %v (got %d lines)", err, strings.Count(out.String(), "\n"))
	}
	took := time.Since(start)
	if n := strings.Count(out.String(), "\n"); n != 60 {
		t.Fatalf("%d of 60 messages arrived", n)
	}
	if took < 1500*time.Millisecond {
		t.Fatalf("60 messages crossed in %v; the 20/s limit was not applied", took)
	}
}

// SIGTERM disconnects MQTT 5 clients with 0x8B, spread over the grace
// period rather than all at once.
func TestMQTTDrainOnSIGTERM(t *testing.T) {
	b := mosquittoserver.Start(t)
	port := freePort(t)
	g := startGateway(t, map[string]string{"mqtt.toml": mqttFleetConfig(t, b)}, gatewayOpts{
		extraEPs:    map[string]int{"mqtt": port},
		extraStatic: "[entryPoints.mqtt.transport.lifeCycle]\n  graceTimeOut = \"3s\"\n",
	})
	gw := fmt.Sprintf("127.0.0.1:%d", port)
	const n = 5
	clients := make([]*rawMQTT, n)
	for i := range clients {
		var ack packet.Connack
		clients[i], ack = dialRaw(t, gw, packet.Connect{Version: 5, ClientID: fmt.Sprintf("dev-drain-%d", i), HasUsername: true, Username: "fleet", HasPassword: true, Password: []byte("secret")})
		if ack.Code != 0 {
			t.Fatalf("connect: %#x", ack.Code)
		}
	}
	_ = g.cmd.Process.Signal(syscall.SIGTERM)
	start := time.Now()
	// Each client waits for its DISCONNECT on its own goroutine, so the
	// arrival times are the clients' own, whatever the drain order.
	type arrival struct {
		at   time.Duration
		kind byte
		body []byte
	}
	arrivals := make(chan arrival, n)
	for _, c := range clients {
		go func() {
			_ = c.c.SetReadDeadline(time.Now().Add(10 * time.Second))
			var head []byte
			for {
				b, err := c.br.ReadByte()
				if err != nil {
					arrivals <- arrival{at: time.Since(start)}
					return
				}
				head = append(head, b)
				if h, _, err := packet.ParseHeader(head); err == nil {
					body := make([]byte, h.Remaining)
					_, _ = io.ReadFull(c.br, body)
					arrivals <- arrival{at: time.Since(start), kind: h.Type, body: body}
					return
				}
			}
		}()
	}
	var first, last time.Duration
	for i := range n {
		a := <-arrivals
		if a.kind != packet.DISCONNECT || len(a.body) < 1 || a.body[0] != packet.RCServerShuttingDown {
			t.Fatalf("a client got packet %d % x, want DISCONNECT 0x8B", a.kind, a.body)
		}
		if i == 0 || a.at < first {
			first = a.at
		}
		last = max(last, a.at)
	}
	if last-first < time.Second {
		t.Fatalf("5 clients told to leave within %v of each other; want them spread over the grace period", last-first)
	}
	select {
	case <-g.exited:
	case <-time.After(10 * time.Second):
		t.Fatal("the gateway did not exit after draining")
	}
}

// A health check takes a dead broker out of the pool and puts it back when
// it answers CONNECT again.
func TestMQTTHealthCheck(t *testing.T) {
	b1, b2 := mosquittoserver.Start(t), mosquittoserver.Start(t)
	cfg := mqttFleetConfig(t, b1, b2) + `
[mqtt.services.brokers.loadBalancer.healthCheck]
  interval = "200ms"
  timeout = "500ms"
`
	port := freePort(t)
	g := startGateway(t, map[string]string{"mqtt.toml": cfg}, gatewayOpts{extraEPs: map[string]int{"mqtt": port}})
	status := func() string {
		var svc struct {
			Servers []struct{ Address, Status string }
		}
		_, body, _ := get(t, http.DefaultClient, g.apiURL("/api/mqtt/services/brokers@file"), nil)
		if err := json.Unmarshal([]byte(body), &svc); err != nil {
			t.Fatal(err)
		}
		var parts []string
		for _, s := range svc.Servers {
			if s.Address == b1.Addr {
				parts = append(parts, "b1="+s.Status)
			} else {
				parts = append(parts, "b2="+s.Status)
			}
		}
		return strings.Join(parts, " ")
	}
	want := func(s string) {
		t.Helper()
		eventually(t, 5*time.Second, func() error {
			if got := status(); got != s {
				return fmt.Errorf("brokers %s, want %s", got, s)
			}
			return nil
		})
	}
	want("b1=up b2=up")
	b1.Kill()
	want("b1=down b2=up")
	// Every client now lands on b2, without waiting on b1.
	gw := fmt.Sprintf("127.0.0.1:%d", port)
	for i := range 6 {
		start := time.Now()
		_, ack := dialRaw(t, gw, packet.Connect{Version: 4, ClientID: fmt.Sprintf("dev-h%d", i), HasUsername: true, Username: "fleet", HasPassword: true, Password: []byte("secret")})
		if ack.Code != 0 || time.Since(start) > 2*time.Second {
			t.Fatalf("client %d: code %#x after %v", i, ack.Code, time.Since(start))
		}
	}
	b1.Restart()
	want("b1=up b2=up")
}

// MQTT over TLS and over TLCP on one entrypoint: the routers' TLS options
// (tlcp = "auto") terminate both, and HostSNI rules see the server name.
func TestMQTTOverTLSAndTLCP(t *testing.T) {
	b := mosquittoserver.Start(t)
	sm, err := sm2certs.Generate(sm2certs.Options{Hosts: []string{"mq.test"}})
	if err != nil {
		t.Fatal(err)
	}
	ca := newTestCA(t, "mqtt CA")
	cert, key, _ := ca.issue(t, "mq.test", false, "mq.test")
	cfg := mqttFleetConfig(t, b) + ticked(fmt.Sprintf(`
[[tls.certificates]]
  certFile = '''%s'''
  keyFile = '''%s'''
[[tls.certificates]]
  certFile = '''%s'''
  keyFile = '''%s'''
  encCertFile = '''%s'''
  encKeyFile = '''%s'''
[tls.options.mqtts]
  tlcp = "auto"
[mqtt.routers.secure]
  entryPoints = ["mqtts"]
  rule = "HostSNI(´mq.test´)"
  service = "brokers"
  middlewares = ["fleet-auth"]
  [mqtt.routers.secure.tls]
    options = "mqtts"
`, cert, key, sm.ServerSign.CertPEM, sm.ServerSign.KeyPEM, sm.ServerEnc.CertPEM, sm.ServerEnc.KeyPEM))
	port := freePort(t)
	startGateway(t, map[string]string{"mqtt.toml": cfg}, gatewayOpts{extraEPs: map[string]int{"mqtts": port}})
	addr := fmt.Sprintf("127.0.0.1:%d", port)

	roundTrip := func(c net.Conn, name string) {
		t.Helper()
		r := &rawMQTT{t: t, c: c, br: bufio.NewReader(c), v: 4}
		r.send((&packet.Connect{ProtocolName: "MQTT", Version: 4, ClientID: "dev-" + name, HasUsername: true, Username: "fleet", HasPassword: true, Password: []byte("secret")}).Append(nil))
		if h, body := r.read(); h.Type != packet.CONNACK || body[1] != 0 {
			t.Fatalf("%s: CONNACK % x", name, body)
		}
		r.send(packet.AppendSubscribe(nil, 4, 1, nil, []packet.Subscription{{Filter: "tls/" + name}}))
		if h, _ := r.read(); h.Type != packet.SUBACK {
			t.Fatalf("%s: no SUBACK", name)
		}
		r.send(publishPacket(4, "tls/"+name, 0, 0, "over "+name))
		h, body := r.read()
		if h.Type != packet.PUBLISH || !strings.HasSuffix(string(body), "over "+name) {
			t.Fatalf("%s: got packet %d % x", name, h.Type, body)
		}
	}
	tc, err := tls.Dial("tcp", addr, clientTLS("mq.test", ca.pool, nil))
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	roundTrip(tc, "tls")

	afterIdle(t, tc, "tls")

	roots := smx509.NewCertPool()
	roots.AddCert(sm.CA.Cert)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	gc, err := tlcp.Dial(ctx, "tcp", addr, &tlcp.Config{ServerName: "mq.test", RootCAs: roots})
	if err != nil {
		t.Fatal(err)
	}
	defer gc.Close()
	roundTrip(gc, "tlcp")
	afterIdle(t, gc, "tlcp")

	// Plain MQTT is refused on an entrypoint whose routers have tls.
	if c, err := net.Dial("tcp", addr); err == nil {
		defer c.Close()
		r := &rawMQTT{t: t, c: c, br: bufio.NewReader(c), v: 4}
		r.send((&packet.Connect{ProtocolName: "MQTT", Version: 4, ClientID: "dev-plain"}).Append(nil))
		_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
		if _, err := r.br.ReadByte(); err == nil {
			t.Fatal("plain MQTT answered on a TLS MQTT entrypoint")
		}
	}
}

// heartbeat = "local": the gateway answers PINGREQ and the broker sees a
// connection without keep-alive and no pings.
func TestMQTTLocalHeartbeat(t *testing.T) {
	b := mosquittoserver.StartLogging(t)
	cfg := ticked(fmt.Sprintf(`
[mqtt.routers.quiet]
  entryPoints = ["mqtt"]
  rule = "ClientIDPrefix(´quiet-´)"
  service = "broker"
  heartbeat = "local"
[mqtt.routers.chatty]
  entryPoints = ["mqtt"]
  rule = "ClientIDPrefix(´chatty-´)"
  service = "broker"
[[mqtt.services.broker.loadBalancer.servers]]
  address = %q
`, b.Addr))
	port := freePort(t)
	startGateway(t, map[string]string{"mqtt.toml": cfg}, gatewayOpts{extraEPs: map[string]int{"mqtt": port}})
	gw := fmt.Sprintf("127.0.0.1:%d", port)
	for _, id := range []string{"quiet-1", "chatty-1"} {
		r, ack := dialRaw(t, gw, packet.Connect{Version: 4, ClientID: id, KeepAlive: 30})
		if ack.Code != 0 {
			t.Fatalf("%s: connect %#x", id, ack.Code)
		}
		for range 3 {
			r.send(packet.Pingreq)
			if h, _ := r.read(); h.Type != packet.PINGRESP {
				t.Fatalf("%s: got packet %d, want PINGRESP", id, h.Type)
			}
		}
	}
	eventually(t, 5*time.Second, func() error {
		log := b.Log()
		switch {
		case !strings.Contains(log, "as chatty-1 (") || strings.Count(log, "PINGREQ from chatty-1") != 3:
			return fmt.Errorf("the broker has not logged chatty-1's 3 pings yet")
		case !strings.Contains(log, "as quiet-1 (p2, c0, k0)"):
			return fmt.Errorf("quiet-1 did not reach the broker with keep-alive 0:\n%s", log)
		case strings.Contains(log, "PINGREQ from quiet-1"):
			return fmt.Errorf("the broker saw quiet-1's pings")
		}
		return nil
	})
}

// MQTT over WebSocket: an HTTP router on the web entrypoint whose service is
// of type mqtt hands upgraded connections (subprotocol mqtt) to an mqtt
// router's middlewares and brokers; Paho connects with ws://.
func TestMQTTOverWebSocket(t *testing.T) {
	b := mosquittoserver.Start(t)
	cfg := mqttFleetConfig(t, b) + ticked(`
[mqtt.routers.ws-fleet]
  rule = "HostSNI(´*´)"
  service = "brokers"
  middlewares = ["fleet-auth", "fleet-acl"]
[http.routers.mqtt-ws]
  entryPoints = ["web"]
  rule = "Path(´/mqtt´)"
  service = "devices-ws"
[http.services.devices-ws.mqtt]
  router = "ws-fleet"
`)
	port := freePort(t)
	g := startGateway(t, map[string]string{"mqtt.toml": cfg}, gatewayOpts{extraEPs: map[string]int{"mqtt": port}})

	got := make(chan string, 2)
	opts := paho3.NewClientOptions().AddBroker(fmt.Sprintf("ws://127.0.0.1:%d/mqtt", g.web)).SetClientID("dev-ws").
		SetUsername("fleet").SetPassword("secret").SetProtocolVersion(4).SetAutoReconnect(false).SetConnectTimeout(5 * time.Second)
	c := paho3.NewClient(opts)
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("paho over WebSocket: %v", tok.Error())
	}
	defer c.Disconnect(100)
	if tok := c.Subscribe("broadcast/ws", 0, func(_ paho3.Client, m paho3.Message) { got <- string(m.Payload()) }); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	if tok := c.Publish("broadcast/ws", 0, false, "over websocket"); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	select {
	case m := <-got:
		if m != "over websocket" {
			t.Fatalf("received %q", m)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no message back over WebSocket")
	}
	// The mqtt router's middlewares apply: wrong password refused.
	bad := paho3.NewClient(paho3.NewClientOptions().AddBroker(fmt.Sprintf("ws://127.0.0.1:%d/mqtt", g.web)).SetClientID("dev-ws2").
		SetUsername("fleet").SetPassword("wrong").SetProtocolVersion(4).SetAutoReconnect(false).SetConnectTimeout(5 * time.Second))
	if tok := bad.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() == nil {
		t.Fatal("a wrong password connected over WebSocket")
	}
	// The web entrypoint still serves HTTP: a plain GET gets 400.
	code, _, _ := get(t, http.DefaultClient, g.url("/mqtt"), nil)
	if code != http.StatusBadRequest {
		t.Fatalf("plain GET /mqtt: %d", code)
	}
}

// Entrypoint limits and the remaining enforcement paths: connections per
// IP, the CONNECT timeout, the packet size limit, keep-alive expiry, the
// ACL's disconnect action, a denied QoS 2 PUBLISH on 3.1.1 and the rate
// limit's disconnect action.
func TestMQTTLimitsAndEnforcement(t *testing.T) {
	b := mosquittoserver.Start(t)
	cfg := mqttFleetConfig(t, b) + ticked(`
[mqtt.routers.strict]
  entryPoints = ["mqtt"]
  rule = "ClientIDPrefix(´strict-´)"
  service = "brokers"
  middlewares = ["fleet-auth", "strict-acl", "strict-rate"]
[mqtt.middlewares.strict-acl.topicACL]
  publish = ["ok/#"]
  action = "disconnect"
[mqtt.middlewares.strict-rate.rateLimit]
  messagesPerSecond = 1
  burst = 2
  action = "disconnect"
`)
	port := freePort(t)
	startGateway(t, map[string]string{"mqtt.toml": cfg}, gatewayOpts{
		extraEPs:    map[string]int{"mqtt": port},
		extraStatic: "[entryPoints.mqtt.mqtt]\n  maxConnectionsPerIP = 4\n  connectTimeout = \"1s\"\n  maxPacketSize = 2048\n",
	})
	gw := fmt.Sprintf("127.0.0.1:%d", port)
	login := func(id string, v byte, keepAlive uint16) *rawMQTT {
		t.Helper()
		r, ack := dialRaw(t, gw, packet.Connect{Version: v, ClientID: id, HasUsername: true, Username: "fleet", HasPassword: true, Password: []byte("secret"), KeepAlive: keepAlive})
		if ack.Code != 0 {
			t.Fatalf("%s: connect %#x", id, ack.Code)
		}
		return r
	}
	closed := func(r *rawMQTT, within time.Duration) bool {
		_ = r.c.SetReadDeadline(time.Now().Add(within))
		for {
			if _, err := r.br.ReadByte(); err != nil {
				return !errors.Is(err, os.ErrDeadlineExceeded)
			}
		}
	}

	// connectTimeout: a client that sends no CONNECT is closed after 1s.
	silent, err := net.Dial("tcp", gw)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_ = silent.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := silent.Read(make([]byte, 1)); err == nil || time.Since(start) > 3*time.Second {
		t.Fatalf("silent client: %v after %v", err, time.Since(start))
	}
	silent.Close()

	// maxConnectionsPerIP = 4: the fifth is closed at once.
	var four []*rawMQTT
	for i := range 4 {
		four = append(four, login(fmt.Sprintf("dev-lim-%d", i), 4, 0))
	}
	fifth, err := net.Dial("tcp", gw)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = fifth.Write((&packet.Connect{ProtocolName: "MQTT", Version: 4, ClientID: "dev-lim-5"}).Append(nil))
	_ = fifth.SetReadDeadline(time.Now().Add(3 * time.Second))
	if n, err := fifth.Read(make([]byte, 4)); err == nil {
		t.Fatalf("a fifth connection from one IP got %d bytes", n)
	}
	fifth.Close()
	for _, r := range four {
		r.c.Close()
	}
	time.Sleep(200 * time.Millisecond) // the gateway sees the closes

	// maxPacketSize: a 5.0 client sending more is told 0x95 and closed.
	big := login("dev-big", 5, 0)
	big.send(publishPacket(5, "devices/dev-big/up/x", 0, 0, strings.Repeat("x", 4096)))
	if h, body := big.read(); h.Type != packet.DISCONNECT || body[0] != packet.RCPacketTooLarge {
		t.Fatalf("oversized packet: %d % x", h.Type, body)
	}

	// Keep-alive 1s: silence for 1.5s closes the client.
	ka := login("dev-ka", 4, 1)
	if !closed(ka, 4*time.Second) {
		t.Fatal("a client silent past 1.5× its keep-alive stayed connected")
	}

	// A denied QoS 2 PUBLISH on 3.1.1: PUBREC, then the gateway answers
	// the client's PUBREL with PUBCOMP itself.
	q2 := login("dev-q2", 4, 0)
	q2.send(publishPacket(4, "devices/other/up/x", 2, 11, "no"))
	if h, body := q2.read(); h.Type != packet.PUBREC || string(body) != "\x00\x0b" {
		t.Fatalf("denied QoS 2: %d % x", h.Type, body)
	}
	q2.send(append(packet.AppendHeader(nil, packet.PUBREL, 2, 2), 0, 11))
	if h, body := q2.read(); h.Type != packet.PUBCOMP || string(body) != "\x00\x0b" {
		t.Fatalf("PUBREL of a dropped message: %d % x", h.Type, body)
	}

	// topicACL action = disconnect (5.0: DISCONNECT 0x87).
	acl := login("strict-1", 5, 0)
	acl.send(publishPacket(5, "forbidden/x", 0, 0, "no"))
	if h, body := acl.read(); h.Type != packet.DISCONNECT || body[0] != packet.RCNotAuthorized {
		t.Fatalf("ACL disconnect: %d % x", h.Type, body)
	}

	// rateLimit action = disconnect: over 2 at once, DISCONNECT 0x96.
	rl := login("strict-2", 5, 0)
	for range 4 {
		rl.send(publishPacket(5, "ok/x", 0, 0, "m"))
	}
	if h, body := rl.read(); h.Type != packet.DISCONNECT || body[0] != packet.RCMessageRateTooHigh {
		t.Fatalf("rate limit disconnect: %d % x", h.Type, body)
	}
}

// afterIdle checks that a client parked while idle wakes up for what it
// sends next: two packets in one write, then a PUBLISH larger than one
// read, then silence, then one more — each comes back.
func afterIdle(t *testing.T, c net.Conn, name string) {
	t.Helper()
	tr := &rawMQTT{t: t, c: c, br: bufio.NewReader(c), v: 4}
	topic := "tls/more-" + name
	time.Sleep(300 * time.Millisecond)
	both := append(packet.AppendSubscribe(nil, 4, 2, nil, []packet.Subscription{{Filter: topic}}), publishPacket(4, topic, 0, 0, "pipelined")...)
	tr.send(both)
	if h, _ := tr.read(); h.Type != packet.SUBACK {
		t.Fatalf("%s: pipelined SUBSCRIBE: packet %d", name, h.Type)
	}
	for _, payload := range []string{"pipelined", strings.Repeat("L", 6000), "after silence"} {
		if payload == "after silence" {
			time.Sleep(300 * time.Millisecond)
			tr.send(publishPacket(4, topic, 0, 0, payload))
		} else if len(payload) > 100 {
			tr.send(publishPacket(4, topic, 0, 0, payload))
		}
		h, body := tr.read()
		if h.Type != packet.PUBLISH || !strings.HasSuffix(string(body), payload) {
			t.Fatalf("%s after parking: packet %d, %d bytes, want %q", name, h.Type, len(body), payload[:min(len(payload), 20)])
		}
	}
}
