package tlcp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Conn is a TLCP connection over a net.Conn. Read and Write may be called
// concurrently; the handshake runs on first use or by Handshake.
type Conn struct {
	conn     net.Conn
	isClient bool
	config   *Config

	handshakeMu   sync.Mutex
	handshakeErr  error
	handshakeDone atomic.Bool
	state         ConnectionState

	inMu    sync.Mutex
	in      *halfConn
	raw     []byte // bytes read from conn; raw[rawOff:] not yet consumed
	rawOff  int
	input   []byte  // decrypted application data not yet returned by Read
	rawBuf  *[]byte // pooled buffer behind raw, returned when raw is drained
	hdr     [recordHeaderLen]byte
	hdrN    int    // bytes of the next header read into hdr while rawBuf is nil
	hand    []byte // handshake bytes not yet consumed
	ignored int    // warnings and empty records in a row
	readErr error  // sticky, timeouts excepted

	outMu      sync.Mutex
	out        *halfConn
	pending    []byte // sealed records not yet written
	writeErr   error  // sticky
	closedSend bool
	sentFatal  bool
}

// maxIgnoredRecords bounds the warnings and empty records accepted in a row.
const maxIgnoredRecords = 16

// rawPool holds read buffers, one record each: a connection keeps one only
// while it has bytes in flight, so idle connections cost no read buffer.
var rawPool = sync.Pool{New: func() any { b := make([]byte, 0, recordHeaderLen+maxCiphertext); return &b }}

// recoverPanics is turned off by the fuzz tests, so that a panic is found
// rather than survived.
var recoverPanics = true

// Server returns a server-side connection.
func Server(conn net.Conn, config *Config) *Conn { return &Conn{conn: conn, config: config} }

// Client returns a client-side connection. config.ServerName or
// InsecureSkipVerify must be set.
func Client(conn net.Conn, config *Config) *Conn {
	return &Conn{conn: conn, config: config, isClient: true}
}

// Listener wraps every accepted connection as a TLCP server connection.
func NewListener(inner net.Listener, config *Config) net.Listener {
	return &listener{Listener: inner, config: config}
}

type listener struct {
	net.Listener
	config *Config
}

func (l *listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return Server(c, l.config), nil
}

// Dial connects to addr and runs the client handshake.
func Dial(ctx context.Context, network, addr string, config *Config) (*Conn, error) {
	var d net.Dialer
	raw, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	c := Client(raw, config)
	if err := c.HandshakeContext(ctx); err != nil {
		raw.Close()
		return nil, err
	}
	return c, nil
}

func (c *Conn) LocalAddr() net.Addr                { return c.conn.LocalAddr() }
func (c *Conn) RemoteAddr() net.Addr               { return c.conn.RemoteAddr() }
func (c *Conn) SetDeadline(t time.Time) error      { return c.conn.SetDeadline(t) }
func (c *Conn) SetReadDeadline(t time.Time) error  { return c.conn.SetReadDeadline(t) }
func (c *Conn) SetWriteDeadline(t time.Time) error { return c.conn.SetWriteDeadline(t) }

// NetConn returns the underlying connection.
func (c *Conn) NetConn() net.Conn { return c.conn }

// ConnectionState reports the negotiated parameters.
func (c *Conn) ConnectionState() ConnectionState {
	c.handshakeMu.Lock()
	defer c.handshakeMu.Unlock()
	return c.state
}

// Handshake runs the handshake if it has not run yet.
func (c *Conn) Handshake() error { return c.HandshakeContext(context.Background()) }

// HandshakeContext runs the handshake; ctx bounds it (its expiry closes the
// handshake with a timeout error).
func (c *Conn) HandshakeContext(ctx context.Context) (err error) {
	if c.handshakeDone.Load() {
		return nil
	}
	c.handshakeMu.Lock()
	defer c.handshakeMu.Unlock()
	if c.handshakeErr != nil {
		return c.handshakeErr
	}
	if c.handshakeDone.Load() {
		return nil
	}
	if ctx.Done() != nil {
		stop := context.AfterFunc(ctx, func() { _ = c.conn.SetDeadline(time.Unix(1, 0)) })
		defer func() {
			if !stop() && err != nil {
				err = ctx.Err()
			}
		}()
	}
	// The handshake holds both directions: nothing else may read or write.
	c.inMu.Lock()
	defer c.inMu.Unlock()
	defer func() {
		// A panic while handling a malformed message fails this connection
		// alone, never the process.
		if recoverPanics {
			if r := recover(); r != nil {
				err = fail(alertInternalError, fmt.Sprintf("handshake panic: %v", r))
			}
		}
		if err != nil {
			c.sendFatal(err)
			c.handshakeErr = err
		}
	}()
	if c.isClient {
		err = c.clientHandshake()
	} else {
		err = c.serverHandshake()
	}
	if err == nil && ctx.Err() != nil {
		// ctx ended as the handshake finished: its AfterFunc may have
		// set a deadline in the past, so the connection is not usable.
		err = ctx.Err()
	}
	if err == nil {
		c.hand = nil
		c.releaseRaw()
		c.state.Version = VersionTLCP
		c.state.HandshakeComplete = true
		c.handshakeDone.Store(true)
	}
	return err
}

// sendFatal tells the peer why the handshake failed, unless the peer is the
// one that failed it or the transport is gone.
func (c *Conn) sendFatal(err error) {
	var le *localError
	if !errors.As(err, &le) {
		var ae AlertError
		var ne net.Error
		if errors.As(err, &ae) || errors.As(err, &ne) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return
		}
	}
	c.outMu.Lock()
	defer c.outMu.Unlock()
	if c.sentFatal {
		return
	}
	c.sentFatal = true
	c.pending = c.pending[:0]
	_ = c.writeAlertLocked(alertLevelFatal, alertOf(err))
	if c.writeErr == nil {
		c.writeErr = errors.New("tlcp: the connection failed: " + err.Error())
	}
}

func (c *Conn) writeAlertLocked(level uint8, a alert) error {
	var err error
	c.pending, err = c.out.seal(c.pending, recordAlert, []byte{level, byte(a)}, c.config.rand())
	if err != nil {
		return err
	}
	return c.flushLocked()
}

// fill makes sure at least n unconsumed bytes are in raw.
func (c *Conn) fill(n int) error {
	if len(c.raw)-c.rawOff >= n {
		return nil
	}
	if c.rawBuf == nil {
		// Wait for the next record's header in a 5-byte array, so an idle
		// connection holds no read buffer; take one once bytes arrive.
		for c.hdrN < recordHeaderLen {
			m, err := c.conn.Read(c.hdr[c.hdrN:])
			c.hdrN += m
			if err != nil && c.hdrN < recordHeaderLen {
				if errors.Is(err, io.EOF) && c.hdrN > 0 {
					err = io.ErrUnexpectedEOF
				}
				return err
			}
		}
		c.rawBuf = rawPool.Get().(*[]byte)
		c.raw, c.rawOff = append((*c.rawBuf)[:0], c.hdr[:]...), 0
		c.hdrN = 0
		if len(c.raw) >= n {
			return nil
		}
	}
	if c.rawOff > 0 {
		m := copy(c.raw, c.raw[c.rawOff:])
		c.raw = c.raw[:m]
		c.rawOff = 0
	}
	if cap(c.raw) < n {
		grown := make([]byte, len(c.raw), max(n, recordHeaderLen+maxCiphertext))
		copy(grown, c.raw)
		c.raw = grown
	}
	for len(c.raw) < n {
		m, err := c.conn.Read(c.raw[len(c.raw):cap(c.raw)])
		c.raw = c.raw[:len(c.raw)+m]
		if err != nil && len(c.raw) < n {
			if errors.Is(err, io.EOF) && len(c.raw) > 0 {
				err = io.ErrUnexpectedEOF
			}
			return err
		}
	}
	return nil
}

// readRecord returns the next record's type and plaintext. The plaintext
// aliases the read buffer and is valid until the next call.
func (c *Conn) readRecord() (uint8, []byte, error) {
	if c.readErr != nil {
		return 0, nil, c.readErr
	}
	typ, body, err := c.readRecordRaw()
	if err != nil {
		if a, ok := err.(alert); ok {
			err = fail(a, "reading a record")
		}
		// A deadline (an idle keep-alive timeout, an aborted read) leaves
		// the partial record in raw: the next read resumes it.
		if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
			c.readErr = err
		}
	}
	return typ, body, err
}

func (c *Conn) readRecordRaw() (uint8, []byte, error) {
	for {
		if err := c.fill(recordHeaderLen); err != nil {
			return 0, nil, err
		}
		h := c.raw[c.rawOff : c.rawOff+recordHeaderLen]
		typ := h[0]
		if typ < recordChangeCipherSpec || typ > recordApplicationData {
			return 0, nil, alertUnexpectedMessage
		}
		if h[1] != VersionTLCP>>8 || h[2] != VersionTLCP&0xff {
			return 0, nil, alertProtocolVersion
		}
		n := int(h[3])<<8 | int(h[4])
		limit := maxCiphertext
		if c.in == nil {
			limit = maxPlaintext
		}
		if n > limit {
			return 0, nil, alertRecordOverflow
		}
		if err := c.fill(recordHeaderLen + n); err != nil {
			return 0, nil, err
		}
		body := c.raw[c.rawOff+recordHeaderLen : c.rawOff+recordHeaderLen+n]
		c.rawOff += recordHeaderLen + n
		plain, err := c.in.open(typ, body)
		if err != nil {
			return 0, nil, err
		}
		if len(plain) > maxPlaintext {
			return 0, nil, alertRecordOverflow
		}
		if typ == recordAlert {
			if len(plain) != 2 {
				return 0, nil, alertDecodeError
			}
			if alert(plain[1]) == alertCloseNotify {
				return 0, nil, io.EOF
			}
			if plain[0] != alertLevelWarning || !c.handshakeDone.Load() {
				// Warnings change nothing after the handshake; during it,
				// any alert ends it.
				return 0, nil, AlertError{Code: plain[1]}
			}
		}
		if typ == recordAlert || len(plain) == 0 {
			// Warnings and empty records carry nothing: a peer sending
			// them in a row is stalling, not talking.
			if c.ignored++; c.ignored > maxIgnoredRecords {
				return 0, nil, alertUnexpectedMessage
			}
			continue
		}
		c.ignored = 0
		return typ, plain, nil
	}
}

// readHandshake returns the next whole handshake message (header included).
func (c *Conn) readHandshake() ([]byte, error) {
	for {
		if len(c.hand) >= 4 {
			n := 4 + (int(c.hand[1])<<16 | int(c.hand[2])<<8 | int(c.hand[3]))
			if n > maxHandshake {
				return nil, fail(alertDecodeError, "handshake message too large")
			}
			if len(c.hand) >= n {
				msg := c.hand[:n:n]
				c.hand = c.hand[n:]
				return msg, nil
			}
		}
		typ, body, err := c.readRecord()
		if err != nil {
			return nil, err
		}
		if typ != recordHandshake {
			return nil, fail(alertUnexpectedMessage, "expected a handshake message")
		}
		if len(body) == 0 {
			continue
		}
		c.hand = append(c.hand, body...)
	}
}

// readChangeCipherSpec waits for ChangeCipherSpec and switches reading to hc.
func (c *Conn) readChangeCipherSpec(hc *halfConn) error {
	if len(c.hand) > 0 {
		return fail(alertUnexpectedMessage, "ChangeCipherSpec inside a handshake message")
	}
	typ, body, err := c.readRecord()
	if err != nil {
		return err
	}
	if typ != recordChangeCipherSpec || len(body) != 1 || body[0] != 1 {
		return fail(alertUnexpectedMessage, "expected ChangeCipherSpec")
	}
	c.in = hc
	return nil
}

// queue seals handshake-time records for the next flush.
func (c *Conn) queue(typ uint8, data []byte) error {
	c.outMu.Lock()
	defer c.outMu.Unlock()
	return c.queueLocked(typ, data)
}

func (c *Conn) queueLocked(typ uint8, data []byte) error {
	for {
		n := min(len(data), maxPlaintext)
		var err error
		if c.pending, err = c.out.seal(c.pending, typ, data[:n], c.config.rand()); err != nil {
			return err
		}
		data = data[n:]
		if len(data) == 0 {
			return nil
		}
	}
}

func (c *Conn) flush() error {
	c.outMu.Lock()
	defer c.outMu.Unlock()
	return c.flushLocked()
}

func (c *Conn) flushLocked() error {
	if c.writeErr != nil {
		return c.writeErr
	}
	if len(c.pending) == 0 {
		return nil
	}
	_, err := c.conn.Write(c.pending)
	c.pending = c.pending[:0]
	if cap(c.pending) > 64<<10 {
		c.pending = nil // don't keep a large write's buffer on an idle connection
	}
	if err != nil {
		c.writeErr = err
	}
	return err
}

// switchWrite sends ChangeCipherSpec and protects what follows with hc.
func (c *Conn) switchWrite(hc *halfConn) error {
	c.outMu.Lock()
	defer c.outMu.Unlock()
	if err := c.queueLocked(recordChangeCipherSpec, []byte{1}); err != nil {
		return err
	}
	c.out = hc
	return nil
}

// Read reads application data.
func (c *Conn) Read(p []byte) (int, error) {
	if err := c.Handshake(); err != nil {
		return 0, err
	}
	if len(p) == 0 {
		return 0, nil
	}
	c.inMu.Lock()
	defer c.inMu.Unlock()
	for len(c.input) == 0 {
		typ, body, err := c.readRecord()
		if err != nil {
			c.sendFatal(err)
			return 0, err
		}
		switch typ {
		case recordApplicationData:
			c.input = body
		case recordHandshake:
			if err := c.refuseRenegotiation(body); err != nil {
				return 0, err
			}
		default:
			return 0, c.fatal(alertUnexpectedMessage, "unexpected record after the handshake")
		}
	}
	n := copy(p, c.input)
	c.input = c.input[n:]
	if len(c.input) == 0 {
		c.releaseRaw()
	}
	return n, nil
}

// releaseRaw returns the read buffer to the pool once every byte in it is
// consumed (and no plaintext aliases it).
func (c *Conn) releaseRaw() {
	if c.rawBuf == nil || c.rawOff != len(c.raw) {
		return
	}
	if cap(c.raw) == cap(*c.rawBuf) {
		*c.rawBuf = c.raw[:0]
		rawPool.Put(c.rawBuf)
	}
	c.rawBuf, c.raw, c.rawOff = nil, nil, 0
}

// refuseRenegotiation answers a ClientHello (to a server) or HelloRequest (to
// a client) after the handshake with a no_renegotiation warning; the
// connection goes on with its current keys.
func (c *Conn) refuseRenegotiation(body []byte) error {
	c.hand = append(c.hand, body...)
	for len(c.hand) >= 4 {
		n := 4 + (int(c.hand[1])<<16 | int(c.hand[2])<<8 | int(c.hand[3]))
		if n > maxHandshake {
			return c.fatal(alertDecodeError, "handshake message too large")
		}
		if len(c.hand) < n {
			return nil
		}
		typ := c.hand[0]
		c.hand = c.hand[n:]
		if (c.isClient && typ != typeHelloRequest) || (!c.isClient && typ != typeClientHello) {
			return c.fatal(alertUnexpectedMessage, "unexpected handshake message after the handshake")
		}
		c.outMu.Lock()
		err := c.writeAlertLocked(alertLevelWarning, alertNoRenegotiation)
		c.outMu.Unlock()
		if err != nil {
			return err
		}
	}
	return nil
}

func (c *Conn) fatal(a alert, msg string) error {
	c.readErr = fail(a, msg)
	c.sendFatal(c.readErr)
	return c.readErr
}

// Write writes application data.
func (c *Conn) Write(p []byte) (int, error) {
	if err := c.Handshake(); err != nil {
		return 0, err
	}
	c.outMu.Lock()
	defer c.outMu.Unlock()
	if c.closedSend {
		return 0, errors.New("tlcp: write after close")
	}
	if c.writeErr != nil {
		return 0, c.writeErr
	}
	written := 0
	for len(p) > 0 {
		// Seal up to 64 KiB per write to the socket.
		batch := p[:min(len(p), 4*maxPlaintext)]
		if err := c.queueLocked(recordApplicationData, batch); err != nil {
			return written, err
		}
		if err := c.flushLocked(); err != nil {
			return written, err
		}
		written += len(batch)
		p = p[len(batch):]
	}
	return written, nil
}

// CloseWrite sends close_notify without closing the transport.
func (c *Conn) CloseWrite() error {
	if !c.handshakeDone.Load() {
		return errors.New("tlcp: CloseWrite before the handshake")
	}
	c.outMu.Lock()
	defer c.outMu.Unlock()
	if c.closedSend {
		return nil
	}
	c.closedSend = true
	return c.writeAlertLocked(alertLevelWarning, alertCloseNotify)
}

// Close sends close_notify (after a finished handshake, unless a write is
// blocked) and closes the transport.
func (c *Conn) Close() error {
	if c.handshakeDone.Load() && c.outMu.TryLock() {
		if !c.closedSend && !c.sentFatal && c.writeErr == nil {
			c.closedSend = true
			_ = c.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
			_ = c.writeAlertLocked(alertLevelWarning, alertCloseNotify)
		}
		c.outMu.Unlock()
	}
	return c.conn.Close()
}

// Holding reports whether the connection holds bytes read from its socket
// that a Read has not returned yet (a partial or further record, or
// decrypted data): an idle poller must not wait on the socket then.
func (c *Conn) Holding() bool {
	c.inMu.Lock()
	defer c.inMu.Unlock()
	return len(c.input) > 0 || c.hdrN > 0 || c.rawOff < len(c.raw) || len(c.hand) > 0
}

// SyscallConn exposes the socket under the connection, for an idle poller.
func (c *Conn) SyscallConn() (syscall.RawConn, error) {
	if sc, ok := c.conn.(syscall.Conn); ok {
		return sc.SyscallConn()
	}
	return nil, errors.ErrUnsupported
}
