package packet

import "fmt"

// Publish is what a gateway reads of a PUBLISH: its topic, QoS and packet
// identifier; the payload stays in the caller's buffer.
type Publish struct {
	QoS      byte
	Retain   bool
	Dup      bool
	Topic    string
	PacketID uint16 // QoS 1 and 2 only
	Payload  int    // payload length
}

// ParsePublish reads a PUBLISH's fixed-header flags and variable header.
// With MQTT 5, a topic alias may leave Topic empty: the caller resolves it.
func ParsePublish(flags byte, body []byte, version byte) (Publish, error) {
	p := Publish{QoS: flags >> 1 & 0x03, Retain: flags&0x01 != 0, Dup: flags&0x08 != 0}
	if p.QoS == 3 {
		return p, fmt.Errorf("%w: PUBLISH with QoS 3", ErrMalformed)
	}
	r := reader{b: body}
	p.Topic = r.str("topic name")
	if p.QoS > 0 {
		p.PacketID = r.uint16("packet identifier")
	}
	if version == V5 {
		r.properties("publish properties")
	}
	if r.err != nil {
		return p, r.err
	}
	p.Payload = len(r.b)
	return p, nil
}

// Subscription is one topic filter of a SUBSCRIBE.
type Subscription struct {
	Filter  string
	Options byte // QoS (and MQTT 5 options)
}

// ParseSubscribe reads a SUBSCRIBE body.
func ParseSubscribe(body []byte, version byte) (uint16, []Subscription, error) {
	r := reader{b: body}
	id := r.uint16("packet identifier")
	if version == V5 {
		r.properties("subscribe properties")
	}
	var subs []Subscription
	for r.err == nil && len(r.b) > 0 {
		f := r.str("topic filter")
		o := r.byte1("subscription options")
		subs = append(subs, Subscription{Filter: f, Options: o})
	}
	if r.err == nil && len(subs) == 0 {
		r.fail("SUBSCRIBE without a topic filter")
	}
	if r.err != nil {
		return 0, nil, r.err
	}
	return id, subs, nil
}

// AppendSuback encodes a SUBACK with one code per filter.
func AppendSuback(dst []byte, version byte, id uint16, codes []byte) []byte {
	n := 2 + len(codes)
	if version == V5 {
		n++
	}
	dst = AppendHeader(dst, SUBACK, 0, n)
	dst = append(dst, byte(id>>8), byte(id))
	if version == V5 {
		dst = append(dst, 0)
	}
	return append(dst, codes...)
}

// AppendAck encodes a PUBACK or PUBREC (typ) for id; MQTT 5 carries the
// reason code, 3.x has none.
func AppendAck(dst []byte, typ, version byte, id uint16, reason byte) []byte {
	if version == V5 && reason != RCSuccess {
		dst = AppendHeader(dst, typ, 0, 3)
		return append(dst, byte(id>>8), byte(id), reason)
	}
	dst = AppendHeader(dst, typ, 0, 2)
	return append(dst, byte(id>>8), byte(id))
}

// AppendDisconnect encodes a DISCONNECT; only MQTT 5 carries a reason.
func AppendDisconnect(dst []byte, version, reason byte) []byte {
	if version == V5 {
		dst = AppendHeader(dst, DISCONNECT, 0, 1)
		return append(dst, reason)
	}
	return AppendHeader(dst, DISCONNECT, 0, 0)
}

// Pingreq and Pingresp are the whole keep-alive packets.
var (
	Pingreq  = []byte{PINGREQ << 4, 0}
	Pingresp = []byte{PINGRESP << 4, 0}
)

// AppendSubscribe encodes a SUBSCRIBE (props: MQTT 5 properties, raw).
func AppendSubscribe(dst []byte, version byte, id uint16, props []byte, subs []Subscription) []byte {
	var body []byte
	body = append(body, byte(id>>8), byte(id))
	if version == V5 {
		body = AppendVarint(body, len(props))
		body = append(body, props...)
	}
	for _, s := range subs {
		body = appendString(body, s.Filter)
		body = append(body, s.Options)
	}
	dst = AppendHeader(dst, SUBSCRIBE, 0x2, len(body))
	return append(dst, body...)
}
