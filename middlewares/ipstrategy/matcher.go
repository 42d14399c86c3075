package ipstrategy

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// Matcher answers "is this address in one of the configured IPs or CIDRs".
// Entries are turned into sorted, merged address intervals at construction so
// a lookup is a binary search that does not allocate, whatever the list size.
type Matcher struct {
	v4 []span32
	v6 []span128
}

type span32 struct{ lo, hi uint32 }

type u128 struct{ hi, lo uint64 }

type span128 struct{ lo, hi u128 }

func (a u128) cmp(b u128) int {
	if c := cmp.Compare(a.hi, b.hi); c != 0 {
		return c
	}
	return cmp.Compare(a.lo, b.lo)
}

func (a u128) inc() (u128, bool) {
	lo := a.lo + 1
	hi := a.hi
	if lo == 0 {
		hi++
		if hi == 0 {
			return u128{}, false // overflowed past the last address
		}
	}
	return u128{hi, lo}, true
}

// NewMatcher parses entries such as "192.168.1.7", "10.0.0.0/8" or
// "2001:db8::/32". IPv4-mapped IPv6 forms are treated as IPv4.
func NewMatcher(entries []string) (*Matcher, error) {
	m := &Matcher{}
	for i, raw := range entries {
		p, err := parseEntry(raw)
		if err != nil {
			return nil, fmt.Errorf("entry %d %q: %w", i, raw, err)
		}
		m.add(p)
	}
	m.v4 = merge32(m.v4)
	m.v6 = merge128(m.v6)
	return m, nil
}

func parseEntry(raw string) (netip.Prefix, error) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return netip.Prefix{}, fmt.Errorf("empty value; use an IP (10.0.0.1) or a CIDR (10.0.0.0/8)")
	}
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("not a CIDR; write it like 10.0.0.0/8 or 2001:db8::/32")
		}
		return unmapPrefix(p.Masked()), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Prefix{}, fmt.Errorf("not an IP address; write it like 10.0.0.1 or 2001:db8::1 (no zone)")
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// unmapPrefix turns ::ffff:a.b.c.d/n (n >= 96) into a.b.c.d/(n-96) so it
// matches clients seen as plain IPv4.
func unmapPrefix(p netip.Prefix) netip.Prefix {
	a := p.Addr()
	if a.Is4In6() && p.Bits() >= 96 {
		return netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	return p
}

func (m *Matcher) add(p netip.Prefix) {
	a := p.Addr()
	if a.Is4() {
		b := a.As4()
		lo := binary.BigEndian.Uint32(b[:])
		host := uint32(0)
		if p.Bits() < 32 {
			host = ^uint32(0) >> p.Bits()
		}
		m.v4 = append(m.v4, span32{lo, lo | host})
		return
	}
	lo := toU128(a)
	hostBits := 128 - p.Bits()
	hi := lo
	switch {
	case hostBits >= 64:
		hi.lo = ^uint64(0)
		hi.hi |= ^uint64(0) >> (128 - hostBits) // shift of 64 yields 0
	case hostBits > 0:
		hi.lo |= ^uint64(0) >> (64 - hostBits)
	}
	m.v6 = append(m.v6, span128{lo, hi})
}

func toU128(a netip.Addr) u128 {
	b := a.As16()
	return u128{binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])}
}

func merge32(s []span32) []span32 {
	slices.SortFunc(s, func(a, b span32) int { return cmp.Compare(a.lo, b.lo) })
	out := s[:0]
	for _, r := range s {
		if n := len(out); n > 0 && (out[n-1].hi == ^uint32(0) || r.lo <= out[n-1].hi+1) {
			out[n-1].hi = max(out[n-1].hi, r.hi)
			continue
		}
		out = append(out, r)
	}
	return slices.Clip(out)
}

func merge128(s []span128) []span128 {
	slices.SortFunc(s, func(a, b span128) int { return a.lo.cmp(b.lo) })
	out := s[:0]
	for _, r := range s {
		if n := len(out); n > 0 {
			next, ok := out[n-1].hi.inc()
			if !ok || r.lo.cmp(next) <= 0 {
				if r.hi.cmp(out[n-1].hi) > 0 {
					out[n-1].hi = r.hi
				}
				continue
			}
		}
		out = append(out, r)
	}
	return slices.Clip(out)
}

// Contains reports whether a is in the set. Zones are ignored and
// IPv4-mapped IPv6 addresses are matched as IPv4.
func (m *Matcher) Contains(a netip.Addr) bool {
	if !a.IsValid() {
		return false
	}
	a = a.Unmap()
	if a.Is4() {
		b := a.As4()
		v := binary.BigEndian.Uint32(b[:])
		i, _ := slices.BinarySearchFunc(m.v4, v, func(s span32, v uint32) int {
			if s.hi < v {
				return -1
			}
			if s.lo > v {
				return 1
			}
			return 0
		})
		return i < len(m.v4) && m.v4[i].lo <= v && v <= m.v4[i].hi
	}
	v := toU128(a.WithZone(""))
	i, _ := slices.BinarySearchFunc(m.v6, v, func(s span128, v u128) int {
		if s.hi.cmp(v) < 0 {
			return -1
		}
		if s.lo.cmp(v) > 0 {
			return 1
		}
		return 0
	})
	return i < len(m.v6) && m.v6[i].lo.cmp(v) <= 0 && v.cmp(m.v6[i].hi) <= 0
}

// ContainsString parses s as an address and reports whether it is in the
// set; an unparsable address is never contained.
func (m *Matcher) ContainsString(s string) bool {
	a, err := netip.ParseAddr(s)
	if err != nil {
		return false
	}
	return m.Contains(a)
}
