package ipstrategy

import (
	"net"
	"net/netip"
)

// PeerAddr returns the IP address of a connection's peer (conn.RemoteAddr()),
// without zone and with IPv4-mapped IPv6 addresses turned into IPv4, so
// that it compares with a Matcher and keys counters like the peer address
// of a request. ok is false when a holds no IP address.
func PeerAddr(a net.Addr) (ip netip.Addr, ok bool) {
	switch v := a.(type) {
	case nil:
		return netip.Addr{}, false
	case *net.TCPAddr:
		ip, ok = netip.AddrFromSlice(v.IP)
	default:
		ap, err := netip.ParseAddrPort(a.String())
		if err != nil {
			return netip.Addr{}, false
		}
		ip, ok = ap.Addr(), true
	}
	if !ok {
		return netip.Addr{}, false
	}
	return ip.Unmap().WithZone(""), true
}
