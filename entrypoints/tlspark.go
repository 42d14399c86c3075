package entrypoints

import (
	cryptotls "crypto/tls"
	"errors"
	"net"
	"syscall"
)

// recordConn hands crypto/tls one TLS record at a time, so that between
// records crypto/tls holds no raw bytes of its own: what has not been
// returned to the reader is still in the socket, where a poller sees it.
type recordConn struct {
	net.Conn
	hdr   [5]byte
	inHdr int // header bytes delivered of the current record
	left  int // body bytes of the current record not yet delivered
}

func (c *recordConn) Read(p []byte) (int, error) {
	if c.inHdr < len(c.hdr) {
		want := min(len(c.hdr)-c.inHdr, len(p))
		n, err := c.Conn.Read(p[:want])
		copy(c.hdr[c.inHdr:], p[:n])
		c.inHdr += n
		if c.inHdr == len(c.hdr) {
			c.left = int(c.hdr[3])<<8 | int(c.hdr[4])
			if c.left == 0 {
				c.inHdr = 0
			}
		}
		return n, err
	}
	n, err := c.Conn.Read(p[:min(c.left, len(p))])
	if c.left -= n; c.left == 0 {
		c.inHdr = 0
	}
	return n, err
}

// midRecord reports whether part of a record was handed over.
func (c *recordConn) midRecord() bool { return c.inHdr != 0 }

// parkableTLS is a server TLS connection (over a recordConn) that can tell
// an idle poller whether it holds bytes read from its socket and not yet
// returned: mid-record, or after a Read that filled the caller's buffer
// (decrypted bytes may remain inside crypto/tls).
type parkableTLS struct {
	*cryptotls.Conn
	rec  *recordConn
	raw  net.Conn
	full bool
}

func (c *parkableTLS) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.full = n == len(p)
	return n, err
}

// Holding reports whether a Read could return bytes the socket no longer shows.
func (c *parkableTLS) Holding() bool { return c.full || c.rec.midRecord() }

// SyscallConn exposes the socket under the TLS connection.
func (c *parkableTLS) SyscallConn() (syscall.RawConn, error) {
	if sc, ok := c.raw.(syscall.Conn); ok {
		return sc.SyscallConn()
	}
	return nil, errors.ErrUnsupported
}
