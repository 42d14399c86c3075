package entrypoints

import (
	cryptotls "crypto/tls"
	"net"
	"time"

	"github.com/guan-gateway/guan/mqtt"
	"github.com/guan-gateway/guan/tls/tlcp"
)

// ConnInfo is what routing may use to pick a route for a new connection.
type ConnInfo struct {
	ServerName string   // SNI from the ClientHello; "" for plain connections
	ALPN       []string // protocols the client offered; shared, do not modify
	RemoteAddr net.Addr
	TLS        bool // the connection starts with a TLS ClientHello
	TLCP       bool // ... and that ClientHello asks for TLCP (GB/T 38636)
}

// TCPHandler serves a raw connection. The entrypoint closes conn when
// ServeTCP returns, so a handler must not keep using it afterwards.
type TCPHandler interface {
	ServeTCP(conn net.Conn)
}

// CatchAll says how an entrypoint treats a non-TLS TCP route that matches
// every connection (HostSNI(`*`)), which is what server-first protocols
// (SMTP, MySQL...) need: their clients send nothing until greeted.
type CatchAll int

const (
	// NoCatchAll: there is no such route; wait for the client's first bytes.
	NoCatchAll CatchAll = iota
	// CatchAllAfterDelay: other routes exist too; a client that stays silent
	// for ServerFirstDelay is handed to TCP(ConnInfo{RemoteAddr}).
	CatchAllAfterDelay
	// CatchAllOnly: the entrypoint has only non-TLS TCP routes (no HTTP,
	// HTTPS or TLS routes); connections are routed without reading, as in Traefik.
	CatchAllOnly
)

// ServerFirstDelay is how long a connection may stay silent before it is
// given to a non-TLS catch-all TCP route when other routes exist.
const ServerFirstDelay = time.Second

// Routing is the per-connection view of the current configuration snapshot
// for one entrypoint, fetched once per connection. Implementations must be
// safe for concurrent use.
type Routing interface {
	// PeekNeeded is false when the entrypoint serves only plain HTTP (no TLS
	// routers, no TCP routers): connections then go straight to the HTTP
	// server without reading ahead.
	PeekNeeded() bool
	// TCP returns the handler of the TCP route matching info. terminate !=
	// nil means TLS is terminated with that config before the handler gets
	// the decrypted connection; nil means passthrough (TLS) or plain TCP.
	// For TLS connections it is asked before HTTPS and must return ok=false
	// when an HTTPS router should win (Traefik's order: specific TLS route,
	// specific HTTPS host, catch-all TLS route, HTTPS).
	TCP(info ConnInfo) (h TCPHandler, terminate *cryptotls.Config, ok bool)
	// HTTPS returns the TLS config terminating TLS for HTTP routers for this
	// SNI; nil when the entrypoint has no HTTPS, and the connection is closed.
	HTTPS(info ConnInfo) *cryptotls.Config
	// CatchAllTCP reports how a non-TLS catch-all TCP route is served.
	CatchAllTCP() CatchAll
	// TLCP returns the TLCP configuration that goes with a TLS config
	// returned by TCP or HTTPS: nil when those options serve TLS only;
	// only is set when they serve TLCP alone and TLS clients are refused.
	TLCP(c *cryptotls.Config) (conf *tlcp.Config, only bool)
	// MQTT returns the entrypoint's MQTT routing table when it has mqtt
	// routers — every connection then speaks MQTT — and the TLS config its
	// TLS (or TLCP) connections are terminated with; nil when plain only.
	MQTT() (table mqtt.Table, tls *cryptotls.Config)
}
