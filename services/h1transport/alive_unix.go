//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package h1transport

import "syscall"

// setupPeek prepares the liveness check. Without a reader goroutine per
// connection nothing notices that the server closed an idle connection;
// a non-blocking peek before reuse does, for one system call.
func (pc *conn) setupPeek() {
	sc, ok := pc.nc.(syscall.Conn)
	if !ok {
		return
	}
	if rc, err := sc.SyscallConn(); err == nil {
		pc.raw = rc
		pc.peekFn = pc.peek
	}
}

func (pc *conn) peek(fd uintptr) bool {
	pc.peekN, pc.peekErr = peekAt(fd, pc.peekBuf[:])
	return true
}

// peekAt is the non-blocking one-byte peek of both checks: no error means
// bytes to read, or the server's close when n is 0.
func peekAt(fd uintptr, b []byte) (int, error) {
	n, _, err := syscall.Recvfrom(int(fd), b, syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
	return n, err
}

// nothingToRead reports a peek that found the socket empty and open.
func nothingToRead(err error) bool { return err == syscall.EAGAIN || err == syscall.EINTR }

// alive reports whether an idle connection can carry a request: the server
// has neither closed it nor sent anything unasked.
func (pc *conn) alive() bool {
	if pc.raw == nil {
		return true
	}
	livenessPeeks.Add(1)
	if err := pc.raw.Read(pc.peekFn); err != nil {
		return false
	}
	// Not alive: EOF (0 bytes, no error), stray bytes, or a socket error.
	return nothingToRead(pc.peekErr)
}

// readable reports that the connection has something to read: bytes, the
// server's close or an error. It may run while another goroutine waits to
// read: it does not take the connection's read lock.
func (pc *conn) readable() bool {
	if pc.raw == nil {
		return false
	}
	var err error
	var b [1]byte
	if pc.raw.Control(func(fd uintptr) {
		_, err = peekAt(fd, b[:])
	}) != nil {
		return false // closed by us: its reader wakes anyway
	}
	return !nothingToRead(err)
}
