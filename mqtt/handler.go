package mqtt

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/guan-gateway/guan/mqtt/packet"
	"github.com/guan-gateway/guan/routers"
)

// Route is what a router resolves to.
type Route struct {
	Name        string
	Middlewares []Middleware
	Service     *Service
	// LocalHeartbeat: the gateway answers the client's PINGREQ itself and
	// connects to the broker with keep-alive 0, so a broker behind a large
	// fleet sees no pings; the gateway still enforces the client's
	// keep-alive and closes the broker side when the client goes silent.
	LocalHeartbeat bool
}

// Table finds the route for a connecting client; a snapshot provides it.
type Table interface {
	Match(info *routers.MQTTInfo) *Route
}

// Settings are an entrypoint's MQTT limits.
type Settings struct {
	MaxConnections      int
	MaxConnectionsPerIP int
	ConnectTimeout      time.Duration // default 10s
	MaxPacketSize       int           // default 1 MiB
}

// Events receives what the handler observes (metrics); nil is fine.
type Events interface {
	// Connect counts a CONNECT's outcome: accepted, refused, no_route,
	// broker_unavailable, broker_refused, malformed, unsupported_version.
	Connect(entryPoint, router, result string)
	// Open follows the proxied connections of a router.
	Open(entryPoint, router string, delta int)
	Denied(router, middleware, what string)
	Throttled(router, middleware string)
	// Traffic returns the counters of a router's packets and bytes, once
	// per connection; the handler adds to them as packets pass.
	Traffic(router string) Traffic
}

// Counter is what Traffic is made of (a prometheus.Counter is one).
type Counter interface{ Add(float64) }

// Traffic counts a router's packets and bytes, from clients (in) and to
// them (out). Packets to clients are counted when broker traffic is framed.
type Traffic struct{ MessagesIn, BytesIn, MessagesOut, BytesOut Counter }

type nopCounter struct{}

func (nopCounter) Add(float64) {}

var nopTraffic = Traffic{nopCounter{}, nopCounter{}, nopCounter{}, nopCounter{}}

// Handler serves the MQTT connections of one entrypoint.
type Handler struct {
	EntryPoint string
	Settings   Settings
	Log        *slog.Logger
	Events     Events

	open  atomic.Int64
	mu    sync.Mutex
	perIP map[netip.Addr]int
	live  map[*conn]struct{}
}

const (
	defaultConnectTimeout = 10 * time.Second
	defaultMaxPacket      = 1 << 20
	brokerConnackTimeout  = 10 * time.Second
)

// conn is one proxied client.
type conn struct {
	s      Session
	client net.Conn
	broker net.Conn
	route  *Route
	hooks  hooks
	wmu    sync.Mutex // serializes writes to the client (relay and gateway replies)
	closed atomic.Bool

	msgsIn, bytesIn, bytesOut atomic.Int64
	traffic                   Traffic

	// Relaying (relay.go).
	h         *Handler
	ip        netip.Addr
	br, bbr   *bufio.Reader // client and broker side
	maxPacket int
	crc, brc  syscall.RawConn // sockets for parking; nil: goroutines block in Read
	holder    holder          // the client connection, when crc is set
	keepAlive *time.Timer
	finished  atomic.Bool
}

// hooks are the route's middlewares sorted by what they implement.
type hooks struct {
	connect   []ConnectHook
	publish   []PublishHook
	subscribe []SubscribeHook
	rate      []RateHook
}

func hooksOf(mws []Middleware) hooks {
	var h hooks
	for _, m := range mws {
		if x, ok := m.(ConnectHook); ok {
			h.connect = append(h.connect, x)
		}
		if x, ok := m.(PublishHook); ok {
			h.publish = append(h.publish, x)
		}
		if x, ok := m.(SubscribeHook); ok {
			h.subscribe = append(h.subscribe, x)
		}
		if x, ok := m.(RateHook); ok {
			h.rate = append(h.rate, x)
		}
	}
	return h
}

// nameOf names a hook: every hook is a Middleware.
func nameOf(hook any) string { return hook.(Middleware).Name() }

// inspects reports whether client packets must be framed and looked at.
func (h *hooks) inspects() bool { return len(h.publish)+len(h.subscribe)+len(h.rate) > 0 }

// ConnectTimeout is the time a client has between accept and CONNECT.
func (h *Handler) ConnectTimeout() time.Duration {
	if h.Settings.ConnectTimeout > 0 {
		return h.Settings.ConnectTimeout
	}
	return defaultConnectTimeout
}

// ServeMQTT serves one client connection until either side closes, routed
// by table (the snapshot current when the connection arrived); serverName
// is the TLS SNI when TLS (or TLCP) was terminated. It closes c.
func (h *Handler) ServeMQTT(c net.Conn, serverName string, table Table) {
	handedOff := false // once relaying, the connection cleans up after itself
	defer func() {
		if !handedOff {
			c.Close()
		}
	}()
	ip := remoteIP(c)
	if !h.admit(ip) {
		h.log().Debug("MQTT connection refused: connection limit", "remote", c.RemoteAddr().String())
		return
	}
	defer func() {
		if !handedOff {
			h.release(ip)
		}
	}()

	timeout := h.Settings.ConnectTimeout
	if timeout <= 0 {
		timeout = defaultConnectTimeout
	}
	maxPacket := h.Settings.MaxPacketSize
	if maxPacket <= 0 {
		maxPacket = defaultMaxPacket
	}
	_ = c.SetReadDeadline(time.Now().Add(timeout))
	br := takeReader(c)
	raw, hdr, err := readPacket(br, maxPacket)
	if err != nil || hdr.Type != packet.CONNECT {
		h.log().Debug("MQTT connection closed before a CONNECT", "remote", c.RemoteAddr().String(), "error", err)
		return
	}
	body := raw[len(raw)-hdr.Remaining:]
	cp, err := packet.ParseConnect(body)
	if errors.Is(err, packet.ErrUnsupportedVersion) && cp != nil {
		// 3.1.1's "unacceptable protocol version": the one answer every
		// version understands.
		_, _ = c.Write(packet.AppendConnack(nil, packet.V311, false, packet.ConnRefusedVersion))
		h.event("", "unsupported_version")
		return
	}
	if err != nil {
		h.event("", "malformed")
		return
	}
	k := &conn{client: c, s: Session{
		ClientID: cp.ClientID, Username: cp.Username, Version: cp.Version, KeepAlive: cp.KeepAlive,
		RemoteAddr: c.RemoteAddr().String(), ServerName: serverName, EntryPoint: h.EntryPoint, Connected: time.Now(),
	}}
	refuse := func(reason byte, result string) {
		_, _ = c.Write(packet.AppendConnack(nil, cp.Version, false, packet.RefuseCode(cp.Version, reason)))
		h.event(k.s.Router, result)
	}
	var route *Route
	if table != nil {
		route = table.Match(&routers.MQTTInfo{ClientID: cp.ClientID, Username: cp.Username, ProtocolVersion: cp.Version, RemoteIP: ip, ServerName: serverName})
	}
	if route == nil || route.Service == nil {
		refuse(packet.RCNotAuthorized, "no_route")
		return
	}
	k.route, k.s.Router, k.s.Service = route, route.Name, route.Service.Name
	k.hooks = hooksOf(route.Middlewares)
	for _, m := range k.hooks.connect {
		if reason := m.Connect(&k.s, cp); reason != 0 {
			h.log().Debug("MQTT CONNECT refused", "router", route.Name, "middleware", nameOf(m), "clientID", cp.ClientID, "reason", reason)
			h.denied(k, m, "connect")
			refuse(reason, "refused")
			return
		}
	}
	now := time.Now()
	for _, r := range k.hooks.rate {
		k.s.limits = append(k.s.limits, r.newState(now))
	}

	// A broker, CONNECT forwarded as received, its CONNACK relayed.
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	bc, addr, err := route.Service.dial(ctx, cp.ClientID)
	cancel()
	if err != nil {
		h.log().Warn("MQTT broker unreachable", "service", route.Service.Name, "error", err)
		refuse(packet.RCServerUnavailable, "broker_unavailable")
		return
	}
	defer func() {
		if !handedOff {
			bc.Close()
		}
	}()
	k.broker, k.s.Broker = bc, addr
	_ = bc.SetDeadline(time.Now().Add(brokerConnackTimeout))
	if route.LocalHeartbeat && cp.KeepAlive != 0 {
		up := *cp
		up.KeepAlive = 0
		raw = up.Append(nil)
	}
	if _, err := bc.Write(raw); err != nil {
		refuse(packet.RCServerUnavailable, "broker_unavailable")
		return
	}
	bbr := takeReader(bc)
	ack, ackHdr, err := readPacket(bbr, maxPacket)
	if err != nil || ackHdr.Type != packet.CONNACK {
		refuse(packet.RCServerUnavailable, "broker_unavailable")
		return
	}
	_ = bc.SetDeadline(time.Time{})
	if _, err := c.Write(ack); err != nil {
		return
	}
	ca, err := packet.ParseConnack(ack[len(ack)-ackHdr.Remaining:], cp.Version)
	if err != nil || ca.Code != 0 {
		h.event(route.Name, "broker_refused")
		return
	}
	h.event(route.Name, "accepted")
	// connectTimeout bounded the CONNECT; from here the keep-alive does.
	_ = c.SetReadDeadline(time.Time{})
	k.traffic = nopTraffic
	if h.Events != nil {
		k.traffic = h.Events.Traffic(route.Name)
	}
	k.h, k.ip, k.br, k.bbr, k.maxPacket = h, ip, br, bbr, maxPacket
	h.track(k, true)
	handedOff = true
	k.relay()
}

// onPublish applies topic rules and rate limits to a PUBLISH.
func (h *Handler) onPublish(k *conn, raw []byte, hdr packet.Header) (bool, error) {
	if len(k.hooks.publish) == 0 && len(k.hooks.rate) == 0 {
		return true, nil
	}
	p, err := packet.ParsePublish(hdr.Flags, raw[len(raw)-hdr.Remaining:], k.s.Version)
	if err != nil {
		return false, err
	}
	for _, m := range k.hooks.publish {
		switch m.Publish(&k.s, p.Topic) {
		case Allow:
			continue
		case Disconnect:
			h.denied(k, m, "publish")
			if k.s.Version == packet.V5 {
				k.writeClient(packet.AppendDisconnect(nil, packet.V5, packet.RCNotAuthorized))
			}
			return false, errors.New("publish denied")
		default:
			h.denied(k, m, "publish")
			switch p.QoS {
			case 1:
				k.writeClient(packet.AppendAck(nil, packet.PUBACK, k.s.Version, p.PacketID, packet.RCNotAuthorized))
			case 2:
				k.writeClient(packet.AppendAck(nil, packet.PUBREC, k.s.Version, p.PacketID, packet.RCNotAuthorized))
				if k.s.Version != packet.V5 {
					// 3.x carries no reason: the client goes on with
					// PUBREL, which the gateway answers itself.
					if k.s.droppedQoS2 == nil {
						k.s.droppedQoS2 = map[uint16]bool{}
					}
					k.s.droppedQoS2[p.PacketID] = true
				}
			}
			return false, nil
		}
	}
	now := time.Now()
	for i, r := range k.hooks.rate {
		wait, disconnect := r.Limit(&k.s, k.s.limits[i], len(raw), now)
		if disconnect {
			h.throttled(k, r)
			if k.s.Version == packet.V5 {
				k.writeClient(packet.AppendDisconnect(nil, packet.V5, packet.RCMessageRateTooHigh))
			}
			return false, errors.New("rate limit exceeded")
		}
		if wait > 0 {
			// Backpressure: stop reading from this client for a while;
			// its TCP window fills and it slows down.
			h.throttled(k, r)
			time.Sleep(wait)
			now = time.Now()
		}
	}
	return true, nil
}

// onSubscribe drops the filters the ACL denies. All denied: the gateway
// answers the SUBACK itself. Some: the broker gets the others and the
// failures are put back into its SUBACK. nil means nothing to forward.
func (h *Handler) onSubscribe(k *conn, raw []byte, hdr packet.Header) ([]byte, error) {
	body := raw[len(raw)-hdr.Remaining:]
	id, subs, err := packet.ParseSubscribe(body, k.s.Version)
	if err != nil {
		return nil, err
	}
	denied := make([]bool, len(subs))
	nDenied := 0
	for i, sub := range subs {
		for _, m := range k.hooks.subscribe {
			if !m.Subscribe(&k.s, sub.Filter) {
				denied[i] = true
				nDenied++
				h.denied(k, m, "subscribe")
				break
			}
		}
	}
	if nDenied == 0 {
		return raw, nil
	}
	fail := byte(packet.SubackFailure)
	if k.s.Version == packet.V5 {
		fail = packet.RCNotAuthorized
	}
	if nDenied == len(subs) {
		codes := make([]byte, len(subs))
		for i := range codes {
			codes[i] = fail
		}
		return nil, k.writeClient(packet.AppendSuback(nil, k.s.Version, id, codes))
	}
	var kept []packet.Subscription
	for i, s := range subs {
		if !denied[i] {
			kept = append(kept, s)
		}
	}
	if k.s.pendingSubs == nil {
		k.s.pendingSubs = map[uint16]deniedFilters{}
	}
	k.wmu.Lock()
	k.s.pendingSubs[id] = deniedFilters{total: len(subs), denied: denied}
	k.wmu.Unlock()
	return packet.AppendSubscribe(nil, k.s.Version, id, propsOf(body, k.s.Version), kept), nil
}

// mergeSuback puts the gateway's failures back into a SUBACK for a
// rewritten SUBSCRIBE.
func (k *conn) mergeSuback(raw []byte, hdr packet.Header) []byte {
	body := raw[len(raw)-hdr.Remaining:]
	if len(body) < 2 {
		return raw
	}
	id := uint16(body[0])<<8 | uint16(body[1])
	k.wmu.Lock()
	d, ok := k.s.pendingSubs[id]
	delete(k.s.pendingSubs, id)
	k.wmu.Unlock()
	if !ok {
		return raw
	}
	codes := body[2:]
	if k.s.Version == packet.V5 {
		// Skip the SUBACK's properties.
		n, l := packet.Varint(codes)
		if l == 0 || l+n > len(codes) {
			return raw
		}
		codes = codes[l+n:]
	}
	fail := byte(packet.SubackFailure)
	if k.s.Version == packet.V5 {
		fail = packet.RCNotAuthorized
	}
	out := make([]byte, 0, d.total)
	j := 0
	for i := 0; i < d.total; i++ {
		if d.denied[i] || j >= len(codes) {
			out = append(out, fail)
			continue
		}
		out = append(out, codes[j])
		j++
	}
	return packet.AppendSuback(nil, k.s.Version, id, out)
}

func (k *conn) writeClient(b []byte) error {
	k.wmu.Lock()
	defer k.wmu.Unlock()
	_, err := k.client.Write(b)
	if err == nil {
		k.bytesOut.Add(int64(len(b)))
		if k.traffic.BytesOut != nil {
			k.traffic.BytesOut.Add(float64(len(b)))
		}
	}
	return err
}

var errTooLarge = errors.New("packet larger than maxPacketSize")

// readPacket reads one whole packet (fixed header included).
func readPacket(br *bufio.Reader, max int) ([]byte, packet.Header, error) {
	var hdr packet.Header
	var hl int
	for n := 2; ; n++ {
		head, err := br.Peek(n)
		if err != nil && len(head) < n {
			return nil, hdr, err
		}
		var perr error
		hdr, hl, perr = packet.ParseHeader(head)
		if perr == nil {
			break
		}
		if !errors.Is(perr, packet.ErrIncomplete) || n >= 5 {
			return nil, hdr, perr
		}
	}
	if hdr.Remaining > max {
		return nil, hdr, errTooLarge
	}
	raw := make([]byte, hl+hdr.Remaining)
	if _, err := io.ReadFull(br, raw); err != nil {
		return nil, hdr, err
	}
	return raw, hdr, nil
}

// propsOf returns the raw properties of a SUBSCRIBE body (MQTT 5).
func propsOf(body []byte, version byte) []byte {
	if version != packet.V5 || len(body) < 3 {
		return nil
	}
	n, l := packet.Varint(body[2:])
	if l == 0 || 2+l+n > len(body) {
		return nil
	}
	return body[2+l : 2+l+n]
}

func remoteIP(c net.Conn) netip.Addr {
	var ip netip.Addr
	switch a := c.RemoteAddr().(type) {
	case *net.TCPAddr:
		ip, _ = netip.AddrFromSlice(a.IP)
	case *net.UDPAddr: // MQTT over QUIC
		ip, _ = netip.AddrFromSlice(a.IP)
	}
	return ip.Unmap()
}

func (h *Handler) admit(ip netip.Addr) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.perIP == nil {
		h.perIP = map[netip.Addr]int{}
	}
	if m := h.Settings.MaxConnections; m > 0 && h.open.Load() >= int64(m) {
		return false
	}
	if m := h.Settings.MaxConnectionsPerIP; m > 0 && h.perIP[ip] >= m {
		return false
	}
	h.perIP[ip]++
	h.open.Add(1)
	return true
}

func (h *Handler) release(ip netip.Addr) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.perIP[ip]--; h.perIP[ip] <= 0 {
		delete(h.perIP, ip)
	}
	h.open.Add(-1)
}

func (h *Handler) track(k *conn, add bool) {
	h.mu.Lock()
	if h.live == nil {
		h.live = map[*conn]struct{}{}
	}
	if add {
		h.live[k] = struct{}{}
	} else {
		delete(h.live, k)
	}
	h.mu.Unlock()
	if h.Events != nil {
		d := 1
		if !add {
			d = -1
		}
		h.Events.Open(h.EntryPoint, k.s.Router, d)
	}
}

// Drain disconnects every client, spread evenly over spread (all at once
// when it is 0): MQTT 5 clients get DISCONNECT 0x8B "server shutting down".
// Clients told to leave reconnect, to another instance, at different
// times instead of in one storm. It returns when all are told or ctx ends.
func (h *Handler) Drain(ctx context.Context, spread time.Duration) {
	h.mu.Lock()
	live := make([]*conn, 0, len(h.live))
	for k := range h.live {
		live = append(live, k)
	}
	h.mu.Unlock()
	if len(live) == 0 {
		return
	}
	step := spread / time.Duration(len(live))
	t := time.NewTimer(0)
	defer t.Stop()
	for _, k := range live {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		k.shutdown()
		t.Reset(step)
	}
}

// shutdown tells the client the server is going away and closes both sides.
func (k *conn) shutdown() {
	if !k.closed.CompareAndSwap(false, true) {
		return
	}
	if k.s.Version == packet.V5 {
		_ = k.client.SetWriteDeadline(time.Now().Add(time.Second))
		_ = k.writeClient(packet.AppendDisconnect(nil, packet.V5, packet.RCServerShuttingDown))
	}
	k.finish(nil)
}

// Sessions returns a copy of every live session (for the API and tests).
func (h *Handler) Sessions() []Session {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]Session, 0, len(h.live))
	for k := range h.live {
		// Fields set before the connection was tracked, counters read
		// atomically; per-packet state stays out.
		s := Session{ClientID: k.s.ClientID, Username: k.s.Username, Version: k.s.Version, KeepAlive: k.s.KeepAlive,
			RemoteAddr: k.s.RemoteAddr, ServerName: k.s.ServerName, EntryPoint: k.s.EntryPoint, Router: k.s.Router,
			Service: k.s.Service, Broker: k.s.Broker, Connected: k.s.Connected,
			MessagesIn: k.msgsIn.Load(), BytesIn: k.bytesIn.Load(), BytesOut: k.bytesOut.Load()}
		out = append(out, s)
	}
	return out
}

// Open is the number of client connections being served.
func (h *Handler) Open() int { return int(h.open.Load()) }

func (h *Handler) event(router, result string) {
	if h.Events != nil {
		h.Events.Connect(h.EntryPoint, router, result)
	}
}

func (h *Handler) denied(k *conn, m any, what string) {
	if h.Events != nil {
		h.Events.Denied(k.s.Router, nameOf(m), what)
	}
}

func (h *Handler) throttled(k *conn, m any) {
	if h.Events != nil {
		h.Events.Throttled(k.s.Router, nameOf(m))
	}
}

func (h *Handler) log() *slog.Logger {
	if h.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return h.Log
}
