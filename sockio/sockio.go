// Package sockio reads and writes a TCP socket with non-blocking system
// calls made without the scheduler's syscall bookkeeping.
//
// Why: net.Conn's Read and Write enter every read(2) and write(2) as a
// potentially blocking system call. On a loaded machine a loopback write
// can sit in the kernel for tens of microseconds (it runs the receiver's
// TCP path and may be preempted by the thread it wakes), and the runtime's
// monitor then hands the goroutine's P to another thread: a futex wake, a
// thread switch and a slower return for every such write. Measured on the
// proxy path (2 vCPU, wrk + upstream on the same cores), the monitor and
// those hand-offs cost 7–10% of the gateway's CPU. A non-blocking socket
// call never blocks, so it is made here as a raw system call, and waiting
// for readiness stays with the runtime's poller (syscall.RawConn).
package sockio

import (
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
)

// Conn wraps a TCP connection's socket. Read and Write behave as
// net.Conn's: deadlines set on the connection apply, Write writes all of p
// or fails, and errors are *net.OpError like the ones net returns.
type Conn struct {
	nc net.Conn
	rc syscall.RawConn

	rmu  sync.Mutex // one Read at a time, as the fd's read lock would order them
	rbuf []byte
	rn   int
	rerr syscall.Errno
	read func(fd uintptr) bool

	wmu   sync.Mutex
	wbuf  []byte
	wn    int
	werr  syscall.Errno
	write func(fd uintptr) bool

	wfull     bool   // WriteRead: the socket took only part of wbuf
	sent      func() // WriteRead's: called when the wait begins
	writeRead func(fd uintptr) bool
}

// New returns nil when nc is not a TCP connection on a system where the
// raw calls are implemented, or in a race-detector build; callers then
// keep using nc.
func New(nc net.Conn) *Conn {
	if raceEnabled {
		return nil
	}
	return wrap(nc)
}

func wrap(nc net.Conn) *Conn {
	if !supported {
		return nil
	}
	tc, ok := nc.(*net.TCPConn)
	if !ok {
		return nil
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return nil
	}
	c := &Conn{nc: nc, rc: rc}
	// Bound once: a method value made per call would allocate.
	c.read = c.readOnce
	c.write = c.writeOnce
	c.writeRead = c.writeThenRead
	return c
}

// Read reads up to len(p) bytes; io.EOF when the peer closed its side.
func (c *Conn) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	c.rmu.Lock()
	n, err := c.readLocked(p)
	c.rmu.Unlock()
	return n, err
}

func (c *Conn) readLocked(p []byte) (int, error) {
	c.rbuf, c.rn, c.rerr = p, 0, 0
	err := c.rc.Read(c.read)
	return c.readResult(err)
}

// readResult reports the read readOnce made (rn, rerr) or the RawConn's
// err, as net would.
func (c *Conn) readResult(err error) (int, error) {
	n, errno := c.rn, c.rerr
	c.rbuf = nil
	switch {
	case err != nil:
		return 0, c.opError("read", err)
	case errno != 0:
		return 0, c.opError("read", os.NewSyscallError("read", errno))
	case n == 0:
		return 0, io.EOF
	}
	return n, nil
}

// Write writes all of p, waiting for the socket to drain when it is full.
func (c *Conn) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	c.wmu.Lock()
	n, err := c.writeLocked(p)
	c.wmu.Unlock()
	return n, err
}

func (c *Conn) writeLocked(p []byte) (int, error) {
	c.wbuf, c.wn, c.werr = p, 0, 0
	err := c.rc.Write(c.write)
	return c.writeResult(err)
}

func (c *Conn) writeResult(err error) (int, error) {
	n, errno := c.wn, c.werr
	c.wbuf = nil
	switch {
	case err != nil:
		return n, c.opError("write", err)
	case errno != 0:
		return n, c.opError("write", os.NewSyscallError("write", errno))
	}
	return n, nil
}

// WriteRead writes all of w, then reads the first bytes of the answer into
// p: a request and the start of its response, one system call fewer than
// Write and Read.
//
// Why it saves one: Read has to try the socket before it waits, because
// the runtime's poller forgets a socket's readiness when a read starts
// (internal/poll's prepareRead), and bytes that arrived before would
// otherwise never wake it; a request's response is rarely there yet, so
// that first read finds nothing. Here the request is written inside the
// read, after that point: no answer to it can have arrived earlier, so the
// first readiness the poller reports is the answer's and waiting first
// loses nothing. The one thing this cannot see is what the peer sent
// before the call (bytes, or its close) when the poller had already
// reported it: that wakes nothing. A socket closed for good answers the
// request with a reset, which does wake the wait; one the peer only
// half-closed, while it goes on reading and discarding, sends nothing. So
// sent, when not nil, is called once w is written whole and the wait
// begins: from then on, anything that arrives wakes it, and anything
// readable that did not is what arrived before. A caller that cannot rule
// that out checks for it (h1transport's stale watch does, with a peek) and
// ends the wait with a deadline.
//
// written is how much of w was sent. When the socket cannot take all of w
// at once, the rest is written as Write does and the answer read as Read
// does, trying the socket first; sent is called between the two, so that
// it always means "w is out and the answer awaited". From then on w is
// not looked at again: its buffer may be reused.
func (c *Conn) WriteRead(w, p []byte, sent func()) (written, n int, err error) {
	if len(w) == 0 {
		n, err = c.Read(p)
		return 0, n, err
	}
	if len(p) == 0 {
		written, err = c.Write(w)
		return written, 0, err
	}
	c.wmu.Lock()
	c.rmu.Lock()
	c.wbuf, c.wn, c.werr, c.wfull, c.sent = w, 0, 0, false, sent
	c.rbuf, c.rn, c.rerr = p, 0, 0
	rerr := c.rc.Read(c.writeRead)
	full := c.wfull
	c.sent = nil
	switch {
	case rerr != nil && c.wn < len(w):
		// The deadline passed or the connection closed before the
		// request went out.
		c.rbuf = nil
		written, err = c.writeResult(rerr)
	case c.werr != 0:
		c.rbuf = nil
		written, err = c.writeResult(nil)
	case full:
		// The socket's buffer filled up: finish as Write and Read do.
		c.rbuf = nil
		first := c.wn
		var m int
		m, err = c.writeLocked(w[first:])
		written = first + m
		if err == nil {
			if sent != nil {
				sent()
			}
			n, err = c.readLocked(p)
		}
	default:
		written = c.wn
		c.wbuf = nil
		n, err = c.readResult(rerr)
	}
	c.rmu.Unlock()
	c.wmu.Unlock()
	return written, n, err
}

// Readable reports that the socket has something to read: bytes, the
// peer's close or an error. It peeks without the connection's read lock,
// so it may run while another goroutine waits in Read or WriteRead.
func (c *Conn) Readable() bool {
	var err error
	if c.rc.Control(func(fd uintptr) { err = peekOne(fd) }) != nil {
		return false // closed here: its reader wakes anyway
	}
	return err != syscall.EAGAIN && err != syscall.EINTR
}

// opError reports err as net does for a read or write on the connection.
// Errors from the RawConn (deadline, closed connection) arrive wrapped as
// "raw-read"/"raw-write" and are re-labelled.
func (c *Conn) opError(op string, err error) error {
	var oe *net.OpError
	if errors.As(err, &oe) {
		err = oe.Err
	}
	return &net.OpError{Op: op, Net: "tcp", Source: c.nc.LocalAddr(), Addr: c.nc.RemoteAddr(), Err: err}
}
