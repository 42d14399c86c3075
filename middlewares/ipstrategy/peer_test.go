package ipstrategy

import (
	"net"
	"testing"
)

type textAddr string

func (a textAddr) Network() string { return "tcp" }
func (a textAddr) String() string  { return string(a) }

func TestPeerAddr(t *testing.T) {
	tests := []struct {
		addr net.Addr
		want string // "" expects ok = false
	}{
		{&net.TCPAddr{IP: net.ParseIP("192.0.2.1"), Port: 1}, "192.0.2.1"},
		{&net.TCPAddr{IP: net.ParseIP("::ffff:192.0.2.1"), Port: 1}, "192.0.2.1"},
		{&net.TCPAddr{IP: net.ParseIP("fe80::1"), Port: 1, Zone: "eth0"}, "fe80::1"},
		{textAddr("[2001:db8::1]:443"), "2001:db8::1"},
		{textAddr("[::ffff:10.0.0.1]:443"), "10.0.0.1"},
		{textAddr("/run/guan.sock"), ""},
		{&net.TCPAddr{}, ""},
		{nil, ""},
	}
	for _, tt := range tests {
		ip, ok := PeerAddr(tt.addr)
		if got := ip.String(); tt.want == "" && ok || tt.want != "" && (!ok || got != tt.want) {
			t.Errorf("PeerAddr(%v) = %s, %v; want %q", tt.addr, got, ok, tt.want)
		}
	}
}
