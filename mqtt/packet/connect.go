package packet

import "fmt"

// Connect is a parsed CONNECT packet.
type Connect struct {
	ProtocolName   string // "MQTT", or "MQIsdp" for 3.1
	Version        byte   // V31, V311 or V5
	CleanStart     bool
	KeepAlive      uint16 // seconds; 0 disables keep-alive
	Properties     []byte // MQTT 5, raw
	ClientID       string
	Will           bool
	WillQoS        byte
	WillRetain     bool
	WillProperties []byte
	WillTopic      string
	WillPayload    []byte
	HasUsername    bool
	Username       string
	HasPassword    bool
	Password       []byte
}

// ParseConnect parses the variable header and payload of a CONNECT (the
// bytes after the fixed header).
func ParseConnect(body []byte) (*Connect, error) {
	r := reader{b: body}
	c := &Connect{}
	c.ProtocolName = r.str("protocol name")
	c.Version = r.byte1("protocol level")
	if r.err != nil {
		return nil, r.err
	}
	switch {
	case c.ProtocolName == "MQTT" && (c.Version == V311 || c.Version == V5):
	case c.ProtocolName == "MQIsdp" && c.Version == V31:
	default:
		return c, fmt.Errorf("%w: protocol %q level %d", ErrUnsupportedVersion, c.ProtocolName, c.Version)
	}
	flags := r.byte1("connect flags")
	c.KeepAlive = r.uint16("keep alive")
	if flags&0x01 != 0 {
		r.fail("reserved connect flag set")
	}
	c.CleanStart = flags&0x02 != 0
	c.Will = flags&0x04 != 0
	c.WillQoS = flags >> 3 & 0x03
	c.WillRetain = flags&0x20 != 0
	c.HasPassword = flags&0x40 != 0
	c.HasUsername = flags&0x80 != 0
	if !c.Will && (c.WillQoS != 0 || c.WillRetain) || c.WillQoS == 3 {
		r.fail("will flags")
	}
	if c.Version == V5 {
		c.Properties = r.properties("connect properties")
	}
	c.ClientID = r.str("client identifier")
	if c.Will {
		if c.Version == V5 {
			c.WillProperties = r.properties("will properties")
		}
		c.WillTopic = r.str("will topic")
		c.WillPayload = r.binary("will payload")
	}
	if c.HasUsername {
		c.Username = r.str("user name")
	}
	if c.HasPassword {
		c.Password = r.binary("password")
	}
	if r.err == nil && len(r.b) != 0 {
		r.fail("bytes after the payload")
	}
	if r.err != nil {
		return nil, r.err
	}
	return c, nil
}

// ErrUnsupportedVersion is a CONNECT of a protocol or level not spoken here;
// the Connect returned beside it holds the name and level read.
var ErrUnsupportedVersion = fmt.Errorf("%w: unsupported protocol version", ErrMalformed)

// Append encodes the CONNECT as a whole packet.
func (c *Connect) Append(dst []byte) []byte {
	var body []byte
	body = appendString(body, c.ProtocolName)
	body = append(body, c.Version)
	var flags byte
	if c.CleanStart {
		flags |= 0x02
	}
	if c.Will {
		flags |= 0x04 | c.WillQoS<<3
		if c.WillRetain {
			flags |= 0x20
		}
	}
	if c.HasPassword {
		flags |= 0x40
	}
	if c.HasUsername {
		flags |= 0x80
	}
	body = append(body, flags, byte(c.KeepAlive>>8), byte(c.KeepAlive))
	if c.Version == V5 {
		body = AppendVarint(body, len(c.Properties))
		body = append(body, c.Properties...)
	}
	body = appendString(body, c.ClientID)
	if c.Will {
		if c.Version == V5 {
			body = AppendVarint(body, len(c.WillProperties))
			body = append(body, c.WillProperties...)
		}
		body = appendString(body, c.WillTopic)
		body = appendBinary(body, c.WillPayload)
	}
	if c.HasUsername {
		body = appendString(body, c.Username)
	}
	if c.HasPassword {
		body = appendBinary(body, c.Password)
	}
	dst = AppendHeader(dst, CONNECT, 0, len(body))
	return append(dst, body...)
}

// Connack is a parsed CONNACK.
type Connack struct {
	SessionPresent bool
	Code           byte   // return code (3.x) or reason code (5)
	Properties     []byte // MQTT 5, raw
}

// ParseConnack parses a CONNACK body for the protocol version of the session.
func ParseConnack(body []byte, version byte) (Connack, error) {
	r := reader{b: body}
	var c Connack
	flags := r.byte1("connack flags")
	c.SessionPresent = flags&0x01 != 0
	c.Code = r.byte1("connack code")
	if version == V5 && r.err == nil && len(r.b) > 0 {
		c.Properties = r.properties("connack properties")
	}
	if r.err != nil {
		return c, r.err
	}
	return c, nil
}

// AppendConnack encodes a CONNACK with the given code, no properties.
func AppendConnack(dst []byte, version byte, sessionPresent bool, code byte) []byte {
	var sp byte
	if sessionPresent {
		sp = 1
	}
	if version == V5 {
		dst = AppendHeader(dst, CONNACK, 0, 3)
		return append(dst, sp, code, 0)
	}
	dst = AppendHeader(dst, CONNACK, 0, 2)
	return append(dst, sp, code)
}
