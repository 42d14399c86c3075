//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package entrypoints

import (
	"errors"
	"net"
)

// listen opens a TCP listener; SO_REUSEPORT is not available here.
func listen(addr string, reusePort bool) (net.Listener, error) {
	if reusePort {
		return nil, errors.New("reusePort is not supported on this operating system")
	}
	return net.Listen("tcp", addr)
}

// listenUDP opens the UDP socket of an entrypoint's QUIC side.
func listenUDP(addr string, reusePort bool) (*net.UDPConn, error) {
	if reusePort {
		return nil, errors.New("reusePort is not supported on this operating system")
	}
	ua, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return nil, err
	}
	return net.ListenUDP("udp", ua)
}
