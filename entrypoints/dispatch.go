package entrypoints

import (
	"context"
	cryptotls "crypto/tls"
	"errors"
	"log/slog"
	"net"
	"os"
	"time"

	"github.com/guan-gateway/guan/entrypoints/clienthello"
	"github.com/guan-gateway/guan/tls/tlcp"
)

// maxPeek bounds what is buffered while waiting for a fragmented ClientHello.
const maxPeek = 2 * clienthello.MaxHelloLen

// route reads the first bytes of c, picks its route and hands it over. It
// runs on its own goroutine only until the connection is classified; HTTP
// connections then belong to the HTTP server's goroutine.
func (e *EntryPoint) route(c *conn, rt Routing) {
	info := ConnInfo{RemoteAddr: c.RemoteAddr()}
	catchAll := rt.CatchAllTCP()
	if catchAll == CatchAllOnly {
		if h, _, ok := rt.TCP(info); ok {
			e.serveTCP(c, h, protoTCP)
			return
		}
	}

	bufp := peekPool.Get().(*[]byte)
	buf := *bufp
	deadline := time.Now().Add(e.set.peekTimeout())
	mqttTable, mqttTLS := rt.MQTT()
	if mqttTable != nil {
		// An MQTT client has connectTimeout to send its CONNECT, whose
		// first bytes (or its TLS ClientHello) are read here.
		deadline = time.Now().Add(e.mqtt.ConnectTimeout())
	}
	first := deadline
	if catchAll == CatchAllAfterDelay {
		first = time.Now().Add(ServerFirstDelay)
	}
	_ = c.SetReadDeadline(first)
	n, err := c.Conn.Read(buf)
	if n == 0 && catchAll == CatchAllAfterDelay && errors.Is(err, os.ErrDeadlineExceeded) {
		// A silent client: a server-first protocol waiting for our greeting.
		peekPool.Put(bufp)
		if h, _, ok := rt.TCP(info); ok {
			_ = c.SetReadDeadline(time.Time{})
			e.serveTCP(c, h, protoTCP)
			return
		}
		e.drop(c, "no route for a silent connection")
		return
	}
	if n == 0 {
		peekPool.Put(bufp)
		c.Close()
		return
	}

	if !clienthello.IsTLS(buf[0]) {
		_ = c.SetReadDeadline(time.Time{})
		c.replay(bufp, buf[:n])
		if mqttTable != nil {
			if mqttTLS != nil {
				e.drop(c, "plain connection on an MQTT entrypoint whose routers have tls")
				return
			}
			c.setProto(protoMQTT)
			e.mqtt.ServeMQTT(c, "", mqttTable)
			return
		}
		if h, _, ok := rt.TCP(info); ok {
			e.serveTCP(c, h, protoTCP)
			return
		}
		c.setProto(protoHTTP)
		e.h1.ServeConn(c, nil)
		return
	}

	// TLS: read until the whole ClientHello is in.
	_ = c.SetReadDeadline(deadline)
	var hello clienthello.Hello
	for {
		hello, err = clienthello.Parse(buf[:n])
		if !errors.Is(err, clienthello.ErrIncomplete) {
			break
		}
		if n == len(buf) {
			if len(buf) >= maxPeek {
				err = clienthello.ErrTooLarge
				break
			}
			grown := make([]byte, min(2*len(buf), maxPeek))
			copy(grown, buf[:n])
			if cap(*bufp) == peekBufSize {
				peekPool.Put(bufp)
			}
			buf = grown
			bufp = &grown
		}
		var m int
		m, err = c.Conn.Read(buf[n:])
		n += m
		if err != nil && m == 0 {
			break
		}
	}
	if err != nil {
		if cap(*bufp) == peekBufSize {
			peekPool.Put(bufp)
		}
		e.drop(c, "reading TLS ClientHello", "error", err)
		return
	}
	_ = c.SetReadDeadline(time.Time{})
	c.replay(bufp, buf[:n])
	info.TLS = true
	info.TLCP = hello.TLCP
	info.ServerName = hello.ServerName
	info.ALPN = hello.ALPN

	if mqttTable != nil {
		if mqttTLS == nil {
			e.drop(c, "TLS ClientHello on an MQTT entrypoint whose routers have no tls")
			return
		}
		gm, ok := e.pickTLCP(c, rt, mqttTLS, info)
		if !ok {
			return
		}
		handshake := func() (net.Conn, error) {
			// One record at a time under crypto/tls, so an idle client
			// can be parked on its socket (see tlspark.go).
			rec := &recordConn{Conn: c}
			tc := cryptotls.Server(rec, mqttTLS)
			if _, err := e.handshake(tc); err != nil {
				return tc, err
			}
			return &parkableTLS{Conn: tc, rec: rec, raw: c}, nil
		}
		if gm != nil {
			// tlcp.Conn says itself whether it holds bytes, so it can be
			// parked on its socket as it is.
			handshake = func() (net.Conn, error) { return e.handshake(tlcp.Server(c, gm)) }
		}
		c.setProto(protoMQTT)
		sc, err := handshake()
		if err != nil {
			e.log.Debug("handshake failed", "remote", c.RemoteAddr().String(), "error", err)
			c.Close()
			return
		}
		// A fresh goroutine for the session: the one that ran the handshake
		// grew its stack for the cryptography and would keep it while idle.
		go e.mqtt.ServeMQTT(sc, info.ServerName, mqttTable)
		return
	}

	if h, term, ok := rt.TCP(info); ok {
		if term == nil {
			e.serveTCP(c, h, protoPassthrough)
			return
		}
		gm, ok := e.pickTLCP(c, rt, term, info)
		switch {
		case gm != nil:
			e.terminateTCP(c, h, func() (net.Conn, error) { return e.handshake(tlcp.Server(c, gm)) })
		case ok:
			e.terminateTCP(c, h, func() (net.Conn, error) { return e.handshake(cryptotls.Server(c, term)) })
		}
		return
	}
	cfg := rt.HTTPS(info)
	if cfg == nil {
		e.drop(c, "no HTTPS or TLS route", "serverName", info.ServerName)
		return
	}
	gm, ok := e.pickTLCP(c, rt, cfg, info)
	if !ok {
		return
	}
	c.setProto(protoHTTPS)
	if gm != nil {
		e.serveTLCP(tlcp.Server(c, gm))
		return
	}
	e.serveHTTPS(cryptotls.Server(c, cfg))
}

// pickTLCP returns the TLCP config for a TLCP client and nil for a TLS
// client, with ok set when the options accept the client's protocol. A
// client of a protocol they do not serve gets a protocol_version alert in
// its own framing, and c is closed.
func (e *EntryPoint) pickTLCP(c *conn, rt Routing, cfg *cryptotls.Config, info ConnInfo) (gm *tlcp.Config, ok bool) {
	gm, only := rt.TLCP(cfg)
	switch {
	case info.TLCP && gm == nil:
		e.refuseVersion(c, []byte{0x15, 0x01, 0x01, 0, 2, 2, 70}, "TLCP ClientHello; the router's TLS options have tlcp off")
		return nil, false
	case !info.TLCP && only:
		e.refuseVersion(c, []byte{0x15, 0x03, 0x03, 0, 2, 2, 70}, "TLS ClientHello; the router's TLS options have tlcp = only")
		return nil, false
	case info.TLCP:
		return gm, true
	}
	return nil, true
}

func (e *EntryPoint) refuseVersion(c *conn, alert []byte, why string) {
	_ = c.SetWriteDeadline(time.Now().Add(time.Second))
	_, _ = c.Conn.Write(alert)
	e.drop(c, why, "remote", c.RemoteAddr().String())
}

// serveTCP gives c to a TCP route and closes it when the route is done.
func (e *EntryPoint) serveTCP(c *conn, h TCPHandler, proto int32) {
	c.setProto(proto)
	defer c.Close()
	h.ServeTCP(c)
}

// terminateTCP completes the TLS or TLCP handshake, then gives the
// decrypted connection to the TCP route.
func (e *EntryPoint) terminateTCP(c *conn, h TCPHandler, handshake func() (net.Conn, error)) {
	c.setProto(protoTLS)
	sc, err := handshake()
	if err != nil {
		e.log.Debug("handshake failed", "remote", c.RemoteAddr().String(), "error", err)
		c.Close()
		return
	}
	defer sc.Close()
	h.ServeTCP(sc)
}

// handshaker is a server-side TLS or TLCP connection before its handshake.
type handshaker interface {
	net.Conn
	HandshakeContext(ctx context.Context) error
}

// handshake runs a TLS or TLCP handshake within the peek timeout.
func (e *EntryPoint) handshake(tc handshaker) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), e.set.peekTimeout())
	defer cancel()
	return tc, tc.HandshakeContext(ctx)
}

func (e *EntryPoint) drop(c net.Conn, why string, attrs ...any) {
	if e.log.Enabled(context.Background(), slog.LevelDebug) {
		e.log.Debug("closing connection", append([]any{"reason", why, "remote", c.RemoteAddr().String()}, attrs...)...)
	}
	c.Close()
}
