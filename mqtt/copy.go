package mqtt

import (
	"bufio"
	"errors"
	"sync"
	"syscall"
)

// copyBufs hold broker bytes only while they are being relayed: an idle
// client costs no copy buffer.
var copyBufs = sync.Pool{New: func() any { b := make([]byte, 16<<10); return &b }}

// copyFromBroker relays broker bytes to the client unframed. It waits for
// the broker socket to be readable without holding a buffer, then reads
// what is there into a pooled one.
func (k *conn) copyFromBroker(bbr *bufio.Reader) error {
	if n := bbr.Buffered(); n > 0 {
		// Sent with the CONNACK (retained messages of a resumed session).
		b, _ := bbr.Peek(n)
		if err := k.writeClient(b); err != nil {
			return err
		}
		_, _ = bbr.Discard(n)
	}
	var rc syscall.RawConn
	if sc, ok := k.broker.(syscall.Conn); ok {
		rc, _ = sc.SyscallConn()
	}
	for {
		if rc != nil {
			if err := waitReadable(rc); err != nil {
				return errBrokerGone
			}
		}
		bp := copyBufs.Get().(*[]byte)
		n, err := k.broker.Read(*bp)
		if n > 0 {
			if werr := k.writeClient((*bp)[:n]); werr != nil {
				copyBufs.Put(bp)
				return werr
			}
		}
		copyBufs.Put(bp)
		if err != nil {
			return errBrokerGone
		}
	}
}

// waitReadable blocks until the socket has bytes (or EOF, or an error) to
// read, in the runtime's poller, peeking one byte into the stack.
func waitReadable(rc syscall.RawConn) error {
	var opErr error
	err := rc.Read(func(fd uintptr) bool {
		var b [1]byte
		_, _, e := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		if e == syscall.EAGAIN || e == syscall.EWOULDBLOCK {
			return false
		}
		if e == syscall.EINTR {
			return false
		}
		opErr = e
		return true
	})
	if err != nil {
		return err
	}
	if opErr != nil && !errors.Is(opErr, syscall.ECONNRESET) {
		return opErr
	}
	return nil
}
