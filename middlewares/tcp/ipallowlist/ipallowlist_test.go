package ipallowlist

import (
	"strings"
	"testing"

	"github.com/guan-gateway/guan/config/dynamic"
	"github.com/guan-gateway/guan/middlewares"
	"github.com/guan-gateway/guan/middlewares/internal/mwtest"
)

// Connections from allowed addresses reach the next handler; the others are
// closed without a byte, over real loopback connections from distinct
// client addresses.
func TestAllowsOnlySourceRange(t *testing.T) {
	echo := mwtest.NewEcho()
	h, err := New(middlewares.Env{Name: "only@file"}, dynamic.TCPIPAllowList{SourceRange: []string{"127.0.0.1", "127.0.1.0/24", "::ffff:127.0.2.1"}}, echo)
	if err != nil {
		t.Fatal(err)
	}
	addr := mwtest.ServeTCP(t, h)
	for _, tt := range []struct {
		from    string
		allowed bool
	}{
		{"127.0.0.1", true},
		{"127.0.1.200", true},
		{"127.0.2.1", true}, // an IPv4-mapped entry matches the IPv4 client
		{"127.0.0.2", false},
		{"127.0.2.2", false},
	} {
		t.Run(tt.from, func(t *testing.T) {
			c := mwtest.DialFrom(t, addr, tt.from)
			if tt.allowed {
				mwtest.ExpectServed(t, c)
			} else {
				mwtest.ExpectClosed(t, c)
			}
		})
	}
	if n := len(echo.Arrived); n != 3 {
		t.Fatalf("%d connections reached the service, want 3", n)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, tt := range []struct {
		ranges []string
		want   string
	}{
		{nil, "sourceRange is empty"},
		{[]string{"10.0.0.0/33"}, `sourceRange entry 0 "10.0.0.0/33": not a CIDR`},
		{[]string{"10.0.0.1", "example.com"}, `sourceRange entry 1 "example.com": not an IP address`},
	} {
		_, err := New(middlewares.Env{}, dynamic.TCPIPAllowList{SourceRange: tt.ranges}, mwtest.NewEcho())
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: error %v, want %q", tt.ranges, err, tt.want)
		}
	}
}
