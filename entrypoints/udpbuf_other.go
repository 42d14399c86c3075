//go:build !linux

package entrypoints

import (
	"log/slog"
	"net"
)

// warnSmallUDPBuffers: quic-go itself logs a buffer it could not enlarge
// on other systems.
func warnSmallUDPBuffers(*slog.Logger, *net.UDPConn) {}
