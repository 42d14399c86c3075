// Package closewatch tells, without reading the socket, that the peer of a
// registered TCP connection closed it (a half-close included) or reset it.
//
// Why: a pooled upstream connection learns of a server's close either by
// a goroutine blocked reading it (net/http's way: a park and a wake-up per
// request) or by a peek before each reuse (one system call per request,
// and the poller bookkeeping around it). On Linux one epoll set that asks
// only for hang-ups (EPOLLRDHUP, edge-triggered) and one goroutine blocked
// in epoll_wait learn of every close at no cost per request: the kernel
// drops a wake-up whose events the set did not ask for, so the arrival of
// data never wakes the watch. Registration costs one epoll_ctl per
// connection; closing the socket takes it out of the set (once no other
// descriptor refers to it: entries are named by ids, so one that stays a
// while after Stop reports to no one).
package closewatch

import "sync/atomic"

// Entry is one watched socket.
type Entry struct {
	id     uint64
	closed atomic.Bool
}

// Closed reports that the peer closed or reset the socket. It turns true
// within a scheduling delay of the close's arrival, and stays true.
func (e *Entry) Closed() bool { return e.closed.Load() }

// wakes counts the watch's returns from epoll_wait, for tests: data on a
// watched socket must not cause one.
var wakes atomic.Int64
