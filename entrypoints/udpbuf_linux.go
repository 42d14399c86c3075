package entrypoints

import (
	"log/slog"
	"net"
	"os"

	"golang.org/x/sys/unix"
)

// quicBufferSize is the UDP socket buffer quic-go asks for (7 MiB): less
// drops packets under load and caps throughput.
const quicBufferSize = 7 << 20

// quic-go prints its own buffer warning through the standard logger; the
// structured one below replaces it.
func init() {
	if _, set := os.LookupEnv("QUIC_GO_DISABLE_RECEIVE_BUFFER_WARNING"); !set {
		os.Setenv("QUIC_GO_DISABLE_RECEIVE_BUFFER_WARNING", "true")
	}
}

// warnSmallUDPBuffers says, once at start-up, when the kernel gave the QUIC
// socket smaller buffers than quic-go asked for (net.core.rmem_max and
// wmem_max cap them for processes without CAP_NET_ADMIN).
func warnSmallUDPBuffers(log *slog.Logger, c *net.UDPConn) {
	rcv, snd, err := udpBuffers(c)
	if err != nil || (rcv >= quicBufferSize && snd >= quicBufferSize) {
		return
	}
	log.Warn("UDP socket buffers are smaller than QUIC needs; HTTP/3 and MQTT over QUIC will drop packets under load",
		"receiveBuffer", rcv, "sendBuffer", snd, "wanted", quicBufferSize,
		"fix", "sysctl -w net.core.rmem_max=7500000 net.core.wmem_max=7500000 (docs/entrypoints/http3.md#udp-buffers)")
}

// udpBuffers returns the socket's receive and send buffer sizes as the
// kernel reports them.
func udpBuffers(c *net.UDPConn) (rcv, snd int, err error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return 0, 0, err
	}
	var serr error
	err = rc.Control(func(fd uintptr) {
		if rcv, serr = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF); serr != nil {
			return
		}
		snd, serr = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_SNDBUF)
	})
	if err == nil {
		err = serr
	}
	return rcv, snd, err
}
