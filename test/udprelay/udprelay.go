// Package udprelay forwards the UDP datagrams of one client to a server,
// like the network between them: with a fixed one-way delay, and with a
// source port towards the server that can change mid-flow, as a NAT that
// lost its mapping gives. Tests of QUIC use it for 0-RTT timing, NAT
// rebinding and paths that go away.
package udprelay

import (
	"bytes"
	"net"
	"sync/atomic"
	"testing"
	"time"
)

// Relay is a running relay; it stops when the test ends or on Close.
type Relay struct {
	ln     *net.UDPConn
	server *net.UDPAddr
	delay  time.Duration
	up     atomic.Pointer[net.UDPConn]
	client atomic.Pointer[net.UDPAddr]
}

// Start relays between the client that sends to Addr and server.
func Start(t testing.TB, server net.Addr, delay time.Duration) *Relay {
	t.Helper()
	ln, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	ua, err := net.ResolveUDPAddr("udp", server.String())
	if err != nil {
		t.Fatal(err)
	}
	r := &Relay{ln: ln, server: ua, delay: delay}
	t.Cleanup(r.Close)
	r.Rebind(t)
	go func() {
		buf := make([]byte, 65536)
		for {
			n, from, err := ln.ReadFromUDP(buf)
			if err != nil {
				return
			}
			r.client.Store(from)
			p := bytes.Clone(buf[:n])
			r.after(func() { _, _ = r.up.Load().WriteToUDP(p, r.server) })
		}
	}()
	return r
}

func (r *Relay) after(f func()) {
	if r.delay == 0 {
		f()
		return
	}
	time.AfterFunc(r.delay, f)
}

// Rebind moves the relay's side towards the server to a new port; the old
// one keeps delivering late answers for a second.
func (r *Relay) Rebind(t testing.TB) {
	t.Helper()
	up, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	if old := r.up.Swap(up); old != nil {
		time.AfterFunc(time.Second, func() { old.Close() })
	}
	go func() {
		buf := make([]byte, 65536)
		for {
			n, _, err := up.ReadFromUDP(buf)
			if err != nil {
				return
			}
			p := bytes.Clone(buf[:n])
			r.after(func() {
				if c := r.client.Load(); c != nil {
					_, _ = r.ln.WriteToUDP(p, c)
				}
			})
		}
	}()
}

// Addr is where the client sends.
func (r *Relay) Addr() string { return r.ln.LocalAddr().String() }

// ServerSide is the relay's current address as the server sees it.
func (r *Relay) ServerSide() string { return r.up.Load().LocalAddr().String() }

// Close stops relaying: the path is gone.
func (r *Relay) Close() {
	r.ln.Close()
	if up := r.up.Load(); up != nil {
		up.Close()
	}
}
