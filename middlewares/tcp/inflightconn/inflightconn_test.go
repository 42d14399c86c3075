package inflightconn

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/guan-gateway/guan/config/dynamic"
	"github.com/guan-gateway/guan/middlewares"
	"github.com/guan-gateway/guan/middlewares/internal/mwtest"
	"github.com/guan-gateway/guan/statestore"
)

func newHandler(t *testing.T, env middlewares.Env, amount int64, next middlewares.TCPHandler) *inFlight {
	t.Helper()
	h, err := New(env, dynamic.TCPInFlightConn{Amount: amount}, next)
	if err != nil {
		t.Fatal(err)
	}
	return h.(*inFlight)
}

// waitCount waits until key has n connections counted.
func waitCount(t *testing.T, h *inFlight, key string, n int64) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for h.counts.InFlight(key) != n {
		if time.Now().After(deadline) {
			t.Fatalf("%s has %d connections counted, want %d", key, h.counts.InFlight(key), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// The (amount+1)th simultaneous connection of a client IP is closed; other
// IPs have their own count, and a slot frees when a connection ends.
func TestLimitPerClientIP(t *testing.T) {
	echo := mwtest.NewEcho()
	h := newHandler(t, middlewares.Env{Name: "two@file"}, 2, echo)
	addr := mwtest.ServeTCP(t, h)

	first := mwtest.DialFrom(t, addr, "127.0.0.1")
	mwtest.ExpectServed(t, first)
	second := mwtest.DialFrom(t, addr, "127.0.0.1")
	mwtest.ExpectServed(t, second)
	mwtest.ExpectClosed(t, mwtest.DialFrom(t, addr, "127.0.0.1"))
	mwtest.ExpectServed(t, mwtest.DialFrom(t, addr, "127.0.0.2"))

	first.Close()
	waitCount(t, h, "127.0.0.1", 1)
	third := mwtest.DialFrom(t, addr, "127.0.0.1")
	mwtest.ExpectServed(t, third)
	mwtest.ExpectClosed(t, mwtest.DialFrom(t, addr, "127.0.0.1"))

	second.Close()
	third.Close()
	waitCount(t, h, "127.0.0.1", 0)
	if n := h.counts.Len(); n != 1 { // 127.0.0.2 is still connected
		t.Fatalf("%d client IPs counted, want 1", n)
	}
}

// One middleware name shares its counts between the routers that use it
// and with the next build of the same configuration (a reload), so
// connections opened before a reload still count after it.
func TestCountsSharedAcrossRoutersAndReloads(t *testing.T) {
	store := statestore.New()
	b1 := store.Begin()
	echo := mwtest.NewEcho()
	env := middlewares.Env{Name: "one@file", Store: b1}
	routerA := newHandler(t, env, 1, echo)
	routerB := newHandler(t, env, 1, echo)
	b1.Commit()
	addrA, addrB := mwtest.ServeTCP(t, routerA), mwtest.ServeTCP(t, routerB)

	open := mwtest.DialFrom(t, addrA, "127.0.0.1")
	mwtest.ExpectServed(t, open)
	mwtest.ExpectClosed(t, mwtest.DialFrom(t, addrB, "127.0.0.1"))

	// A reload with the same name and configuration keeps the count.
	b2 := store.Begin()
	reloaded := newHandler(t, middlewares.Env{Name: "one@file", Store: b2}, 1, echo)
	other := newHandler(t, middlewares.Env{Name: "other@file", Store: b2}, 1, echo)
	b2.Commit()
	mwtest.ExpectClosed(t, mwtest.DialFrom(t, mwtest.ServeTCP(t, reloaded), "127.0.0.1"))
	// Another middleware name counts on its own.
	mwtest.ExpectServed(t, mwtest.DialFrom(t, mwtest.ServeTCP(t, other), "127.0.0.1"))

	// The connection of the old build ends: the new build sees the slot free.
	open.Close()
	waitCount(t, reloaded, "127.0.0.1", 0)
	mwtest.ExpectServed(t, mwtest.DialFrom(t, mwtest.ServeTCP(t, reloaded), "127.0.0.1"))

	// A changed configuration starts from zero.
	b3 := store.Begin()
	changed := newHandler(t, middlewares.Env{Name: "one@file", Store: b3}, 2, echo)
	b3.Commit()
	if changed.counts == reloaded.counts {
		t.Fatal("a changed amount kept the old counters")
	}
}

func TestAmountMustBePositive(t *testing.T) {
	for _, amount := range []int64{0, -1} {
		_, err := New(middlewares.Env{}, dynamic.TCPInFlightConn{Amount: amount}, mwtest.NewEcho())
		if err == nil || !strings.Contains(err.Error(), "inFlightConn: amount is") {
			t.Errorf("amount %d: error %v", amount, err)
		}
	}
}

// A peer without an IP address (a Unix socket) is counted under its
// address text.
func TestNonIPPeer(t *testing.T) {
	echo := mwtest.NewEcho()
	h := newHandler(t, middlewares.Env{}, 1, echo)
	dir := t.TempDir()
	l, err := net.Listen("unix", dir+"/s")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		c, err := l.Accept()
		if err == nil {
			h.ServeTCP(c)
			c.Close()
		}
	}()
	c, err := net.Dial("unix", dir+"/s")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	mwtest.ExpectServed(t, c)
	if h.counts.Len() != 1 {
		t.Fatalf("%d keys counted, want 1", h.counts.Len())
	}
}
