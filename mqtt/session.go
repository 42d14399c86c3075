package mqtt

import (
	"net"
	"time"
)

// Session is the state of one proxied client connection. It is small and
// made of plain values so that it can be serialized, as a binary upgrade
// that hands live connections to a new process will need.
type Session struct {
	ClientID   string    `json:"clientID"`
	Username   string    `json:"username,omitempty"`
	Version    byte      `json:"version"` // 3 (3.1), 4 (3.1.1), 5
	KeepAlive  uint16    `json:"keepAlive"`
	RemoteAddr string    `json:"remoteAddr"`
	ServerName string    `json:"serverName,omitempty"`
	EntryPoint string    `json:"entryPoint"`
	Router     string    `json:"router"`
	Service    string    `json:"service"`
	Broker     string    `json:"broker"`
	Connected  time.Time `json:"connected"`
	// Claims of the token a jwt middleware accepted, for policies.
	Claims map[string]any `json:"claims,omitempty"`

	// Counters: packets and bytes from the client, bytes to it.
	MessagesIn int64 `json:"messagesIn"`
	BytesIn    int64 `json:"bytesIn"`
	BytesOut   int64 `json:"bytesOut"`

	limits []*limitState // one per rate-limit middleware, by position
	// Subscriptions rewritten because some filters were denied, by packet
	// identifier: which positions the broker's SUBACK lacks.
	pendingSubs map[uint16]deniedFilters
	// QoS 2 publications dropped by an ACL whose PUBREL the gateway answers.
	droppedQoS2 map[uint16]bool
}

// RemoteIP is the client's address without the port.
func (s *Session) RemoteIP() string {
	if host, _, err := net.SplitHostPort(s.RemoteAddr); err == nil {
		return host
	}
	return s.RemoteAddr
}

type deniedFilters struct {
	total  int
	denied []bool
}
