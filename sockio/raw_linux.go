//go:build linux

package sockio

import (
	"syscall"
	"unsafe"
)

const supported = true

// readOnce runs under the fd's read lock; false means "wait until
// readable, then call again".
func (c *Conn) readOnce(fd uintptr) bool {
	for {
		n, _, e := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&c.rbuf[0])), uintptr(len(c.rbuf)))
		switch e {
		case 0:
			c.rn = int(n)
			return true
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return false
		}
		c.rerr = e
		return true
	}
}

// writeOnce sends what is left of wbuf; MSG_NOSIGNAL turns a write to a
// reset connection into EPIPE instead of a signal.
func (c *Conn) writeOnce(fd uintptr) bool {
	for c.wn < len(c.wbuf) {
		rest := c.wbuf[c.wn:]
		n, _, e := syscall.RawSyscall6(syscall.SYS_SENDTO, fd, uintptr(unsafe.Pointer(&rest[0])), uintptr(len(rest)), syscall.MSG_NOSIGNAL, 0, 0)
		switch e {
		case 0:
			c.wn += int(n)
		case syscall.EINTR:
		case syscall.EAGAIN:
			return false
		default:
			c.werr = e
			return true
		}
	}
	return true
}

// writeThenRead is WriteRead's step under the fd's read lock: first the
// write, then "wait until readable" without a read (see WriteRead), then
// the read.
func (c *Conn) writeThenRead(fd uintptr) bool {
	if c.wn < len(c.wbuf) {
		if !c.writeOnce(fd) {
			c.wfull = true // the rest waits for writability, outside
			return true
		}
		if c.werr != 0 {
			return true
		}
		if c.sent != nil {
			c.sent()
		}
		return false // written whole: wait for the answer
	}
	return c.readOnce(fd)
}

// peekOne is a non-blocking one-byte peek: nil when there are bytes to
// read or the peer closed (0 bytes), else the errno.
func peekOne(fd uintptr) error {
	var b [1]byte
	_, _, e := syscall.RawSyscall6(syscall.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(&b[0])), 1, syscall.MSG_PEEK|syscall.MSG_DONTWAIT, 0, 0)
	if e != 0 {
		return e
	}
	return nil
}
