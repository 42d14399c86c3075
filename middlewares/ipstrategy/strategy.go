// Package ipstrategy decides which address is "the client" of a request:
// the peer address, or one taken from X-Forwarded-For (by depth or by
// skipping trusted proxies). ipAllowList and inFlightReq share it.
package ipstrategy

import (
	"fmt"
	"iter"
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/guan-gateway/guan/config/dynamic"
)

const xForwardedFor = "X-Forwarded-For"

// Strategy extracts the client IP of a request. The zero value uses the
// request's RemoteAddr. It is immutable and safe for concurrent use.
type Strategy struct {
	depth      int      // >0: Nth entry from the right of X-Forwarded-For
	excluded   *Matcher // non-nil: rightmost entry not in this set
	ipv6Prefix int      // <0: keep IPv6 addresses whole
}

// New builds a Strategy; a nil cfg means "use RemoteAddr". As in Traefik,
// depth wins over excludedIPs when both are set.
func New(cfg *dynamic.IPStrategy) (*Strategy, error) {
	s := &Strategy{ipv6Prefix: -1}
	if cfg == nil {
		return s, nil
	}
	if cfg.Depth < 0 {
		return nil, fmt.Errorf("ipStrategy.depth is %d; use 0 (disabled) or a positive position from the right of X-Forwarded-For", cfg.Depth)
	}
	if cfg.IPv6Subnet != nil {
		n := *cfg.IPv6Subnet
		if n < 0 || n > 128 {
			return nil, fmt.Errorf("ipStrategy.ipv6Subnet is %d; use a prefix length between 0 and 128", n)
		}
		s.ipv6Prefix = n
	}
	s.depth = cfg.Depth
	if cfg.Depth == 0 && len(cfg.ExcludedIPs) > 0 {
		m, err := NewMatcher(cfg.ExcludedIPs)
		if err != nil {
			return nil, fmt.Errorf("ipStrategy.excludedIPs: %w", err)
		}
		s.excluded = m
	}
	return s, nil
}

// ClientIP returns the client address as text, or "" when the configured
// X-Forwarded-For position does not exist. Every X-Forwarded-For header line
// is considered, in order, as if they were one comma-separated list.
func (s *Strategy) ClientIP(req *http.Request) string {
	var ip string
	switch {
	case s.depth > 0:
		ip = s.fromDepth(req.Header.Values(xForwardedFor))
	case s.excluded != nil:
		ip = s.fromExcluded(req.Header.Values(xForwardedFor))
	default:
		ip = remoteIP(req.RemoteAddr)
	}
	return s.maskIPv6(ip)
}

func remoteIP(remoteAddr string) string {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		return remoteAddr
	}
	return host
}

// fromDepth returns the depth-th item from the right.
func (s *Strategy) fromDepth(lines []string) string {
	n := 0
	for item := range itemsFromRight(lines) {
		if n++; n == s.depth {
			return strings.TrimSpace(item)
		}
	}
	return ""
}

// fromExcluded returns the rightmost non-empty item that is not an excluded
// (trusted) address.
func (s *Strategy) fromExcluded(lines []string) string {
	for item := range itemsFromRight(lines) {
		if item = strings.TrimSpace(item); item != "" && !s.excluded.ContainsString(item) {
			return item
		}
	}
	return ""
}

// itemsFromRight yields the comma-separated items of the header lines,
// rightmost first, without splitting them into a slice.
func itemsFromRight(lines []string) iter.Seq[string] {
	return func(yield func(string) bool) {
		for i := len(lines) - 1; i >= 0; i-- {
			rest := lines[i]
			for {
				item := rest
				j := strings.LastIndexByte(rest, ',')
				if j >= 0 {
					item, rest = rest[j+1:], rest[:j]
				}
				if !yield(item) {
					return
				}
				if j < 0 {
					break
				}
			}
		}
	}
}

// maskIPv6 keeps the first ipv6Prefix bits of an IPv6 address so that every
// address of a client's subnet counts as the same client.
func (s *Strategy) maskIPv6(ip string) string {
	if s.ipv6Prefix < 0 || ip == "" || !strings.Contains(ip, ":") {
		return ip
	}
	a, err := netip.ParseAddr(ip)
	if err != nil || a.Is4In6() || !a.Is6() {
		return ip
	}
	p, err := a.WithZone("").Prefix(s.ipv6Prefix)
	if err != nil {
		return ip
	}
	return p.Addr().String()
}
