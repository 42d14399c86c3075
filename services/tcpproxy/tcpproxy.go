// Package tcpproxy forwards TCP connections to upstream servers: dial
// (plain or TLS), copy bytes both ways with half-close, and spread
// connections over servers or services by weight.
package tcpproxy

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/guan-gateway/guan/services/wrr"
)

// The defaults of Traefik's TCP servers transport (default@internal).
const (
	DefaultDialTimeout      = 30 * time.Second
	DefaultDialKeepAlive    = 15 * time.Second
	DefaultTerminationDelay = 100 * time.Millisecond
)

// Transport is how a proxy reaches its server and ends its connections:
// the durations of Traefik's TCP servers transport.
type Transport struct {
	// DialTimeout bounds connecting (and the TLS handshake); 0: no bound.
	DialTimeout time.Duration
	// DialKeepAlive is the TCP keep-alive period of upstream connections;
	// 0: Go's default (15s); negative: keep-alives off.
	DialKeepAlive time.Duration
	// TerminationDelay is how long the other direction may still flow once
	// one side has finished sending; then both connections are closed.
	// Negative: wait as long as it takes.
	TerminationDelay time.Duration
}

// DefaultTransport returns the settings of Traefik's default@internal.
func DefaultTransport() Transport {
	return Transport{DialTimeout: DefaultDialTimeout, DialKeepAlive: DefaultDialKeepAlive, TerminationDelay: DefaultTerminationDelay}
}

// Handler takes ownership of a client connection: it proxies it and closes
// it when done.
type Handler interface {
	ServeTCP(conn net.Conn)
}

// Proxy forwards connections to one server.
type Proxy struct {
	addr string
	tls  *tls.Config // nil: plain TCP
	tr   Transport
	log  *slog.Logger
}

// NewProxy returns a proxy to addr ("host:port") that dials and ends
// connections as t says. With tlsConf non-nil the upstream connection is
// TLS; an empty ServerName is taken from addr.
func NewProxy(addr string, tlsConf *tls.Config, t Transport, log *slog.Logger) (*Proxy, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || port == "" {
		return nil, fmt.Errorf("address %q: use host:port", addr)
	}
	if tlsConf != nil && tlsConf.ServerName == "" {
		tlsConf = tlsConf.Clone()
		tlsConf.ServerName = host
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Proxy{addr: addr, tls: tlsConf, tr: t, log: log}, nil
}

// ServeTCP dials the server and relays until both directions are done. A
// failed dial closes the client connection.
func (p *Proxy) ServeTCP(conn net.Conn) {
	defer conn.Close()
	ctx := context.Background()
	if p.tr.DialTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, p.tr.DialTimeout)
		defer cancel()
	}
	nd := &net.Dialer{KeepAlive: p.tr.DialKeepAlive}
	var up net.Conn
	var err error
	if p.tls != nil {
		d := &tls.Dialer{NetDialer: nd, Config: p.tls}
		up, err = d.DialContext(ctx, "tcp", p.addr)
	} else {
		up, err = nd.DialContext(ctx, "tcp", p.addr)
	}
	if err != nil {
		p.log.Debug("tcp upstream unreachable", "address", p.addr, "error", err)
		return
	}
	defer up.Close()
	Relay(conn, up, p.tr.TerminationDelay)
}

// Relay copies bytes between a and b in both directions. When one side
// finishes sending (EOF) the other side's write half is closed so it sees
// EOF too, and the other direction may go on flowing for terminationDelay
// (negative: without limit); after that its read fails and both
// connections are closed, so a peer that never closes its side cannot hold
// the connections forever. An error in either direction ends both.
func Relay(a, b net.Conn, terminationDelay time.Duration) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		pipe(b, a, terminationDelay)
	}()
	pipe(a, b, terminationDelay)
	<-done
}

// pipe copies src to dst, then half-closes dst and gives dst's sending
// terminationDelay to finish, or closes both on error.
func pipe(dst, src net.Conn, terminationDelay time.Duration) {
	_, err := copyConn(dst, src)
	if err != nil && !errors.Is(err, net.ErrClosed) {
		dst.Close()
		src.Close()
		return
	}
	if !closeWrite(dst) {
		// The connection cannot half-close: closing it fully is the only
		// way to tell the peer we are done.
		dst.Close()
		return
	}
	if terminationDelay >= 0 {
		dst.SetReadDeadline(time.Now().Add(terminationDelay))
	}
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

type writerOnly struct{ io.Writer }
type readerOnly struct{ io.Reader }

func copyConn(dst, src net.Conn) (int64, error) {
	// Between two plain TCP sockets the kernel can splice without a buffer.
	if d, ok := dst.(*net.TCPConn); ok {
		if _, ok := src.(*net.TCPConn); ok {
			return io.Copy(d, src)
		}
	}
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	return io.CopyBuffer(writerOnly{dst}, readerOnly{src}, *bp)
}

// closeWrite half-closes c, looking through wrappers (peeked connections)
// via NetConn. It reports whether c supports half-close.
func closeWrite(c net.Conn) bool {
	for range 4 {
		if cw, ok := c.(interface{ CloseWrite() error }); ok {
			cw.CloseWrite()
			return true
		}
		u, ok := c.(interface{ NetConn() net.Conn })
		if !ok {
			return false
		}
		c = u.NetConn()
	}
	return false
}

// Balancer spreads connections over handlers (servers or services) by
// weighted round robin.
type Balancer struct {
	handlers []Handler
	sched    *wrr.Schedule
}

// NewBalancer returns a balancer; weights align with handlers.
func NewBalancer(handlers []Handler, weights []int) (*Balancer, error) {
	if len(handlers) == 0 {
		return nil, errors.New("no servers: add at least one entry")
	}
	b := &Balancer{handlers: handlers, sched: wrr.New(weights)}
	if b.sched.Len() == 0 {
		return nil, errors.New("every weight is 0: give at least one entry a positive weight")
	}
	return b, nil
}

// ServeTCP hands conn to the next handler.
func (b *Balancer) ServeTCP(conn net.Conn) {
	b.handlers[b.sched.Next(nil)].ServeTCP(conn)
}
