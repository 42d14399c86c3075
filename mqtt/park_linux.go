package mqtt

import (
	"sync"
	"syscall"
)

// idlePoller is an epoll instance of its own for parked sockets: one
// goroutine waits on it and starts a goroutine for each socket that turns
// readable. Go's poller keeps its own registration of the same sockets.
type idlePoller struct {
	epfd    int
	mu      sync.Mutex
	waiters map[int32]func()
}

var poller = sync.OnceValue(func() *idlePoller {
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil
	}
	p := &idlePoller{epfd: epfd, waiters: map[int32]func(){}}
	go p.loop()
	return p
})

func canPark() bool { return poller() != nil }

func (p *idlePoller) loop() {
	events := make([]syscall.EpollEvent, 256)
	for {
		n, err := syscall.EpollWait(p.epfd, events, -1)
		if err != nil {
			continue // EINTR
		}
		for i := 0; i < n; i++ {
			fd := events[i].Fd
			p.mu.Lock()
			cb := p.waiters[fd]
			delete(p.waiters, fd)
			p.mu.Unlock()
			if cb != nil {
				go cb()
			}
		}
	}
}

// park arranges for resume to run on a new goroutine once the socket is
// readable (or closed by the peer). It reports false when it could not, and
// the caller then reads (and blocks) as usual.
func park(rc syscall.RawConn, resume func()) bool {
	p := poller()
	if p == nil || rc == nil {
		return false
	}
	ok := false
	_ = rc.Control(func(fd uintptr) {
		p.mu.Lock()
		p.waiters[int32(fd)] = resume
		p.mu.Unlock()
		ev := syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLRDHUP | 1<<30 /* EPOLLONESHOT */, Fd: int32(fd)}
		err := syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_MOD, int(fd), &ev)
		if err == syscall.ENOENT {
			err = syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_ADD, int(fd), &ev)
		}
		if err != nil {
			p.mu.Lock()
			delete(p.waiters, int32(fd))
			p.mu.Unlock()
			return
		}
		ok = true
	})
	return ok
}

// unpark removes a socket from the poller before it is closed, so that a
// later socket reusing the descriptor number is not mistaken for it.
func unpark(rc syscall.RawConn) {
	p := poller()
	if p == nil || rc == nil {
		return
	}
	_ = rc.Control(func(fd uintptr) {
		_ = syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_DEL, int(fd), nil)
		p.mu.Lock()
		delete(p.waiters, int32(fd))
		p.mu.Unlock()
	})
}

// readable reports whether a read would not block: bytes, EOF or an error
// are waiting. It peeks one byte into the stack.
func readable(rc syscall.RawConn) bool {
	if rc == nil {
		return true
	}
	ready := true
	_ = rc.Control(func(fd uintptr) {
		var b [1]byte
		_, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		ready = err != syscall.EAGAIN && err != syscall.EWOULDBLOCK
	})
	return ready
}
