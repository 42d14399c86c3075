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
