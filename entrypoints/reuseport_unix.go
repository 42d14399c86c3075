//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package entrypoints

import (
	"context"
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

// listen opens a TCP listener, with SO_REUSEPORT when reusePort is set so
// that other sockets (of this process or another) may bind the same
// address; the kernel spreads new connections over them.
func listen(addr string, reusePort bool) (net.Listener, error) {
	return listenConfig(reusePort).Listen(context.Background(), "tcp", addr)
}

// listenUDP opens the UDP socket of an entrypoint's QUIC side, with
// SO_REUSEPORT as for its TCP listener.
func listenUDP(addr string, reusePort bool) (*net.UDPConn, error) {
	pc, err := listenConfig(reusePort).ListenPacket(context.Background(), "udp", addr)
	if err != nil {
		return nil, err
	}
	return pc.(*net.UDPConn), nil
}

func listenConfig(reusePort bool) *net.ListenConfig {
	var lc net.ListenConfig
	if reusePort {
		lc.Control = func(_, _ string, c syscall.RawConn) error {
			var serr error
			if err := c.Control(func(fd uintptr) {
				serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
			}); err != nil {
				return err
			}
			return serr
		}
	}
	return &lc
}
