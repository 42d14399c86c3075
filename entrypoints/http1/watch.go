package http1

import (
	"time"
)

// watchDelay is how long a request stays in the handler, at least, before
// the connection is watched for the client leaving (at most twice as long;
// see armWatch). Most requests are answered sooner and never pay for the
// watch; a slow upstream or a long poll is abandoned soon after its client
// went away.
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
	// The timer is not reset for every request nor stopped after it: a
	// timer already running fires, sees that the watch was armed again
	// since, and waits one more period. A busy connection changes its timer
	// once per watchDelay instead of twice per request, and a request is
	// watched after 100 to 200 ms in the handler.
	c.armings++
	if c.timerSet {
		return
	}
	c.armingsSeen = c.armings
	c.timerSet = true
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
	c.timerSet = false
	if c.watchArmed && c.armings != c.armingsSeen {
		c.armingsSeen = c.armings // armed again since the timer was set
		c.watchTimer.Reset(watchDelay)
		c.timerSet = true
		c.watchMu.Unlock()
		return
	}
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
	c.watchArmed = false // a timer still set finds it disarmed
	if !c.watching {
		c.watchMu.Unlock()
		return
	}
	c.aborted = true
	done := c.watchDone
	c.watchMu.Unlock()

	c.rwc.SetReadDeadline(aLongTimeAgo)
	<-done
	c.src.deadlineChanged() // the watch cleared it, and this ended it
	c.watchMu.Lock()
	c.watching = false
	c.watchDone = nil
	c.watchMu.Unlock()
}
