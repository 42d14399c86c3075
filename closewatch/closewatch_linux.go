package closewatch

import (
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

var watch struct {
	mu      sync.Mutex
	started bool  // the epoll set exists and its goroutine runs
	epfd    int   // valid once started
	err     error // set when waiting on the set failed: no new watch
	entries map[uint64]*Entry
	next    uint64
}

// Watch registers the socket behind rc. An error means this connection is
// not watched (the caller keeps its own check); Stop ends the watch.
func Watch(rc syscall.RawConn) (*Entry, error) {
	watch.mu.Lock()
	if watch.err != nil {
		err := watch.err
		watch.mu.Unlock()
		return nil, err
	}
	if !watch.started {
		// Made with the first connection; a failure (out of file
		// descriptors, say) is tried again with the next one.
		fd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
		if err != nil {
			watch.mu.Unlock()
			return nil, err
		}
		watch.started, watch.epfd = true, fd
		watch.entries = make(map[uint64]*Entry)
		go loop(fd)
	}
	watch.next++
	e := &Entry{id: watch.next}
	watch.entries[e.id] = e
	watch.mu.Unlock()

	// The entry is named by its id, not a pointer: the kernel's copy is
	// invisible to the garbage collector. A close that arrived before the
	// registration is reported by it all the same.
	ev := unix.EpollEvent{Events: unix.EPOLLRDHUP | unix.EPOLLET, Fd: int32(uint32(e.id)), Pad: int32(uint32(e.id >> 32))}
	var err error
	if cerr := rc.Control(func(fd uintptr) {
		err = unix.EpollCtl(watch.epfd, unix.EPOLL_CTL_ADD, int(fd), &ev)
	}); cerr != nil {
		err = cerr
	}
	if err != nil {
		e.Stop()
		return nil, err
	}
	return e, nil
}

// Stop ends the watch of the entry's socket; call it when the connection
// is closed. The socket leaves the epoll set when it is closed, with no
// system call here; an event that arrives before that is ignored.
func (e *Entry) Stop() {
	watch.mu.Lock()
	delete(watch.entries, e.id)
	watch.mu.Unlock()
}

// loop is the watch: a goroutine blocked in epoll_wait (a blocking system
// call, so its thread gives up its P while it sleeps).
func loop(epfd int) {
	var evs [64]unix.EpollEvent
	for {
		n, err := unix.EpollWait(epfd, evs[:], -1)
		wakes.Add(1)
		if err == unix.EINTR {
			continue
		}
		watch.mu.Lock()
		if err != nil {
			// Never seen; if it happens, no close can be reported any
			// more: every watched socket counts as closed (its owner
			// drops it) and no new one is watched.
			watch.err = err
			for _, e := range watch.entries {
				e.closed.Store(true)
			}
			clear(watch.entries)
			watch.mu.Unlock()
			return
		}
		for _, ev := range evs[:n] {
			id := uint64(uint32(ev.Fd)) | uint64(uint32(ev.Pad))<<32
			if e := watch.entries[id]; e != nil {
				e.closed.Store(true)
			}
		}
		watch.mu.Unlock()
	}
}

// Watched is the number of sockets being watched: registered and not
// stopped.
func Watched() int {
	watch.mu.Lock()
	defer watch.mu.Unlock()
	return len(watch.entries)
}
