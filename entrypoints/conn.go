package entrypoints

import (
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/guan-gateway/guan/sockio"
)

// Protocols reported to Options.OnConn.
const (
	ProtoHTTP           = "http"
	ProtoHTTPS          = "https"
	ProtoTCP            = "tcp"
	ProtoTLS            = "tls" // TLS terminated here, then TCP
	ProtoTLSPassthrough = "tls-passthrough"
	ProtoMQTT           = "mqtt" // plain, or over TLS/TLCP terminated here
)

var protoNames = [...]string{"", ProtoHTTP, ProtoHTTPS, ProtoTCP, ProtoTLS, ProtoTLSPassthrough, ProtoMQTT}

const (
	protoUnset int32 = iota
	protoHTTP
	protoHTTPS
	protoTCP
	protoTLS
	protoPassthrough
	protoMQTT
	protoClosed = -1
)

// peekBufSize fits real ClientHellos (even with post-quantum key shares).
const peekBufSize = 4096

var peekPool = sync.Pool{New: func() any { b := make([]byte, peekBufSize); return &b }}

// conn is an accepted connection: it replays the bytes read while peeking,
// counts itself in the entrypoint's open connections and tells the
// entrypoint when it closes.
type conn struct {
	net.Conn
	sock     *sockio.Conn // Conn's socket read and written without the scheduler's hand-off; nil if not TCP
	ep       *EntryPoint
	accepted time.Time
	requests atomic.Int64 // HTTP requests served, for keepAliveMaxRequests
	proto    atomic.Int32

	// Peeked bytes not yet read back; owned by the reading goroutine.
	pending []byte
	buf     *[]byte // pooled buffer behind pending, returned once drained
}

func (c *conn) Read(p []byte) (int, error) {
	if len(c.pending) > 0 {
		n := copy(p, c.pending)
		c.pending = c.pending[n:]
		if len(c.pending) == 0 {
			c.release()
		}
		return n, nil
	}
	if c.sock != nil {
		return c.sock.Read(p)
	}
	return c.Conn.Read(p)
}

func (c *conn) Write(p []byte) (int, error) {
	if c.sock != nil {
		return c.sock.Write(p)
	}
	return c.Conn.Write(p)
}

// WaitsFirst reports whether WriteRead can wait for the answer without a
// read first (a plain TCP socket read and written directly); the HTTP/1.x
// server then writes the end of a response and waits for the next request
// in one step.
func (c *conn) WaitsFirst() bool { return c.sock != nil }

// WriteRead writes w and reads what comes next into p (sockio.WriteRead);
// bytes still held from peeking come first, without a wait.
func (c *conn) WriteRead(w, p []byte, sent func()) (written, n int, err error) {
	if c.sock != nil && len(c.pending) == 0 {
		return c.sock.WriteRead(w, p, sent)
	}
	if written, err = c.Write(w); err != nil {
		return written, 0, err
	}
	if sent != nil {
		sent()
	}
	n, err = c.Read(p)
	return written, n, err
}

// Readable reports bytes or a close waiting on the socket, without the
// read lock (sockio.Conn.Readable); false when it cannot tell.
func (c *conn) Readable() bool { return c.sock != nil && c.sock.Readable() }

// WriteTo lets io.Copy(dst, conn) use the socket directly (splice on Linux)
// once the peeked bytes are written.
func (c *conn) WriteTo(w io.Writer) (int64, error) {
	var total int64
	if len(c.pending) > 0 {
		n, err := w.Write(c.pending)
		total += int64(n)
		c.pending = c.pending[n:]
		if err != nil {
			return total, err
		}
		c.release()
	}
	n, err := io.Copy(w, c.Conn)
	return total + n, err
}

// replay makes the next reads return b (which lives in buf) first.
func (c *conn) replay(buf *[]byte, b []byte) {
	c.buf, c.pending = buf, b
	if len(b) == 0 {
		c.release()
	}
}

func (c *conn) release() {
	c.pending = nil
	if c.buf != nil && cap(*c.buf) == peekBufSize {
		peekPool.Put(c.buf)
	}
	c.buf = nil
}

// setProto classifies the connection once and counts it as open.
func (c *conn) setProto(p int32) {
	if c.proto.CompareAndSwap(protoUnset, p) && c.ep.onConn != nil {
		c.ep.onConn(protoNames[p], 1)
	}
}

func (c *conn) Close() error {
	if p := c.proto.Swap(protoClosed); p != protoClosed {
		if p != protoUnset && c.ep.onConn != nil {
			c.ep.onConn(protoNames[p], -1)
		}
		c.ep.untrack(c)
	}
	return c.Conn.Close()
}

// SyscallConn exposes the socket, for the MQTT handler's idle poller.
func (c *conn) SyscallConn() (syscall.RawConn, error) {
	if sc, ok := c.Conn.(syscall.Conn); ok {
		return sc.SyscallConn()
	}
	return nil, errors.ErrUnsupported
}

// Holding reports whether peeked bytes are waiting to be read back.
func (c *conn) Holding() bool { return len(c.pending) > 0 }
