package entrypoints

import (
	cryptotls "crypto/tls"
	"net"
	"sync"
)

// handoff is the listener the HTTP server accepts from: the entrypoint's
// accept loop decides which connections are HTTP and hands them over here.
type handoff struct {
	addr net.Addr
	ch   chan net.Conn
	done chan struct{}
	once sync.Once
}

func newHandoff(addr net.Addr) *handoff {
	return &handoff{addr: addr, ch: make(chan net.Conn), done: make(chan struct{})}
}

// hand passes c to the HTTP server, or closes it once the server stopped.
func (l *handoff) hand(c net.Conn) {
	select {
	case l.ch <- c:
	case <-l.done:
		c.Close()
	}
}

func (l *handoff) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *handoff) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *handoff) Addr() net.Addr { return l.addr }

// replayConn is a connection the HTTP/1.x server hands to net/http's: the
// bytes it already read come first. state is the TLS state of a TLS
// connection (see tlsHandler).
type replayConn struct {
	net.Conn
	pending []byte
	state   *cryptotls.ConnectionState
}

func (c *replayConn) Read(p []byte) (int, error) {
	if len(c.pending) > 0 {
		n := copy(p, c.pending)
		c.pending = c.pending[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}

// NetConn lets baseConn find the entrypoint's conn underneath.
func (c *replayConn) NetConn() net.Conn { return c.Conn }
