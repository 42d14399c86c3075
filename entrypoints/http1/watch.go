package http1

import (
	"time"
)

// watchDelay is how long a request stays in the handler before the
// connection is watched for the client leaving. Most requests are answered
// sooner and never pay for the watch; a slow upstream or a long poll is
// abandoned at most this long after its client went away.
const watchDelay = 100 * time.Millisecond

// aLongTimeAgo, as a read deadline, ends a blocked read at once.
var aLongTimeAgo = time.Unix(1, 0)

// armWatch schedules the watch; the request's body has been read whole
// (or it has none), so the connection's next byte is not the handler's.
func (c *serverConn) armWatch() {
	c.watchMu.Lock()
	defer c.watchMu.Unlock()
	if c.watchArmed || c.watching {
		return
	}
	c.watchArmed = true
	if c.watchTimer == nil {
		c.watchTimer = time.AfterFunc(watchDelay, c.startWatch)
	} else {
		c.watchTimer.Reset(watchDelay)
	}
}

// startWatch reads from the connection in the background: an error means
// the client left and the request's context is canceled; a byte is the
// start of a pipelined request, kept for the next read.
func (c *serverConn) startWatch() {
	c.watchMu.Lock()
	if !c.watchArmed || c.br == nil || c.br.Buffered() > 0 {
		// Disarmed meanwhile, or a pipelined request is already buffered:
		// the client is there.
		c.watchMu.Unlock()
		return
	}
	c.watchArmed = false
	c.watching = true
	c.aborted = false
	done := make(chan struct{})
	c.watchDone = done
	cancel := c.cancel
	c.watchMu.Unlock()

	go func() {
		defer close(done)
		// No deadline: the request's read deadline bounded reading the
		// request, not how long the handler may take (stopWatch ends the
		// read with one in the past).
		c.src.conn.SetReadDeadline(time.Time{})
		n, err := c.src.conn.Read(c.src.ahead[:])
		if n == 1 {
			c.src.hasByte = true
			return
		}
		c.watchMu.Lock()
		aborted := c.aborted
		if err != nil && !aborted {
			c.gone = true
		}
		c.watchMu.Unlock()
		if err != nil && !aborted {
			cancel()
		}
	}()
}

// stopWatch disarms the watch and, when it is reading, ends the read and
// waits for it, so that the connection's reader is the loop's again.
func (c *serverConn) stopWatch() {
	c.watchMu.Lock()
	if c.watchArmed {
		c.watchArmed = false
		c.watchTimer.Stop()
	}
	if !c.watching {
		c.watchMu.Unlock()
		return
	}
	c.aborted = true
	done := c.watchDone
	c.watchMu.Unlock()

	c.rwc.SetReadDeadline(aLongTimeAgo)
	<-done
	c.watchMu.Lock()
	c.watching = false
	c.watchDone = nil
	c.watchMu.Unlock()
}
