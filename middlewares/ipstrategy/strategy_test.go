package ipstrategy

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/guan-gateway/guan/config/dynamic"
)

func intPtr(i int) *int { return &i }

func TestClientIP(t *testing.T) {
	tests := []struct {
		name   string
		cfg    *dynamic.IPStrategy
		remote string
		xff    []string
		want   string
	}{
		{name: "nil config uses remote addr", remote: "10.0.0.1:1234", xff: []string{"1.1.1.1"}, want: "10.0.0.1"},
		{name: "remote addr without port", remote: "10.0.0.1", want: "10.0.0.1"},
		{name: "remote IPv6", remote: "[2001:db8::1]:443", want: "2001:db8::1"},
		{name: "depth 1 is rightmost", cfg: &dynamic.IPStrategy{Depth: 1}, remote: "10.0.0.1:1", xff: []string{"1.1.1.1, 2.2.2.2, 3.3.3.3"}, want: "3.3.3.3"},
		{name: "depth 3", cfg: &dynamic.IPStrategy{Depth: 3}, xff: []string{"1.1.1.1,2.2.2.2 ,3.3.3.3"}, want: "1.1.1.1"},
		{name: "depth beyond list", cfg: &dynamic.IPStrategy{Depth: 4}, xff: []string{"1.1.1.1,2.2.2.2,3.3.3.3"}, want: ""},
		{name: "depth with no header", cfg: &dynamic.IPStrategy{Depth: 1}, remote: "10.0.0.1:1", want: ""},
		{name: "depth spans header lines", cfg: &dynamic.IPStrategy{Depth: 2}, xff: []string{"1.1.1.1, 2.2.2.2", "3.3.3.3"}, want: "2.2.2.2"},
		{name: "depth trims spaces", cfg: &dynamic.IPStrategy{Depth: 2}, xff: []string{"  1.1.1.1  ,  2.2.2.2 "}, want: "1.1.1.1"},
		{name: "depth IPv6", cfg: &dynamic.IPStrategy{Depth: 1}, xff: []string{"1.1.1.1, 2001:db8::7"}, want: "2001:db8::7"},
		{name: "depth wins over excluded", cfg: &dynamic.IPStrategy{Depth: 1, ExcludedIPs: []string{"3.3.3.3"}}, xff: []string{"1.1.1.1,3.3.3.3"}, want: "3.3.3.3"},
		{name: "excluded skips trusted proxies", cfg: &dynamic.IPStrategy{ExcludedIPs: []string{"10.0.0.0/8", "3.3.3.3"}}, xff: []string{"1.1.1.1, 2.2.2.2, 10.1.2.3, 3.3.3.3"}, want: "2.2.2.2"},
		{name: "excluded skips empty items", cfg: &dynamic.IPStrategy{ExcludedIPs: []string{"3.3.3.3"}}, xff: []string{"1.1.1.1, ,3.3.3.3,"}, want: "1.1.1.1"},
		{name: "excluded all", cfg: &dynamic.IPStrategy{ExcludedIPs: []string{"0.0.0.0/0"}}, xff: []string{"1.1.1.1, 2.2.2.2"}, want: ""},
		{name: "excluded returns invalid item as is", cfg: &dynamic.IPStrategy{ExcludedIPs: []string{"3.3.3.3"}}, xff: []string{"1.1.1.1, bogus, 3.3.3.3"}, want: "bogus"},
		{name: "excluded IPv6", cfg: &dynamic.IPStrategy{ExcludedIPs: []string{"2001:db8::/32"}}, xff: []string{"2001:db9::1, 2001:db8::5"}, want: "2001:db9::1"},
		{name: "empty header", cfg: &dynamic.IPStrategy{ExcludedIPs: []string{"3.3.3.3"}}, xff: []string{""}, want: ""},
		{name: "ipv6 subnet masks remote", cfg: &dynamic.IPStrategy{IPv6Subnet: intPtr(64)}, remote: "[2001:db8:1:2:3:4:5:6]:80", want: "2001:db8:1:2::"},
		{name: "ipv6 subnet leaves IPv4", cfg: &dynamic.IPStrategy{IPv6Subnet: intPtr(64)}, remote: "10.0.0.1:80", want: "10.0.0.1"},
		{name: "ipv6 subnet with depth", cfg: &dynamic.IPStrategy{Depth: 1, IPv6Subnet: intPtr(48)}, xff: []string{"2001:db8:aaaa:bbbb::1"}, want: "2001:db8:aaaa::"},
		{name: "ipv6 subnet ignores invalid", cfg: &dynamic.IPStrategy{Depth: 1, IPv6Subnet: intPtr(48)}, xff: []string{"not:an:ip"}, want: "not:an:ip"},
		{name: "ipv6 subnet strips zone", cfg: &dynamic.IPStrategy{IPv6Subnet: intPtr(128)}, remote: "[fe80::1%eth0]:80", want: "fe80::1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := New(tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			req.RemoteAddr = tt.remote
			for _, v := range tt.xff {
				req.Header.Add("X-Forwarded-For", v)
			}
			if got := s.ClientIP(req); got != tt.want {
				t.Errorf("ClientIP = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  dynamic.IPStrategy
		want string
	}{
		{"negative depth", dynamic.IPStrategy{Depth: -1}, "depth"},
		{"subnet too large", dynamic.IPStrategy{IPv6Subnet: intPtr(129)}, "ipv6Subnet"},
		{"bad excluded", dynamic.IPStrategy{ExcludedIPs: []string{"10.0.0.300"}}, "excludedIPs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(&tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want mention of %q", err, tt.want)
			}
		})
	}
}

// TestClientIPOverRealServer checks RemoteAddr as set by net/http itself.
func TestClientIPOverRealServer(t *testing.T) {
	s, err := New(nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, s.ClientIP(r))
	}))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if string(b) != "127.0.0.1" {
		t.Fatalf("client IP = %q, want 127.0.0.1", b)
	}
}

func TestMatcher(t *testing.T) {
	m, err := NewMatcher([]string{"10.0.0.0/8", "192.168.1.7", " 172.16.0.0/12 ", "2001:db8::/32", "::1", "10.1.0.0/16", "::ffff:203.0.113.0/120", "255.255.255.255"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		ip   string
		want bool
	}{
		{"10.0.0.0", true}, {"10.255.255.255", true}, {"11.0.0.0", false}, {"9.255.255.255", false},
		{"192.168.1.7", true}, {"192.168.1.8", false}, {"192.168.1.6", false},
		{"172.31.255.255", true}, {"172.32.0.0", false},
		{"::ffff:10.1.2.3", true}, // IPv4-mapped client
		{"203.0.113.9", true},     // IPv4-mapped config entry
		{"255.255.255.255", true},
		{"2001:db8:ffff::1", true}, {"2001:db9::", false}, {"::1", true}, {"::2", false},
		{"fe80::1%eth0", false}, {"2001:db8::1%eth0", true},
		{"", false}, {"junk", false}, {"10.0.0.1:80", false},
	}
	for _, tt := range tests {
		if got := m.ContainsString(tt.ip); got != tt.want {
			t.Errorf("ContainsString(%q) = %v, want %v", tt.ip, got, tt.want)
		}
	}
}

func TestMatcherAllAndMerge(t *testing.T) {
	m, err := NewMatcher([]string{"0.0.0.0/0", "1.2.3.4", "::/0", "2001:db8::/32"})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.v4) != 1 || len(m.v6) != 1 {
		t.Fatalf("ranges not merged: v4=%v v6=%v", m.v4, m.v6)
	}
	for _, ip := range []string{"0.0.0.0", "255.255.255.255", "::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"} {
		if !m.ContainsString(ip) {
			t.Errorf("%s not matched by /0", ip)
		}
	}
	// Adjacent ranges merge into one.
	m, _ = NewMatcher([]string{"10.0.0.0/25", "10.0.0.128/25", "2001:db8::/33", "2001:db8:8000::/33"})
	if len(m.v4) != 1 || len(m.v6) != 1 {
		t.Fatalf("adjacent ranges not merged: v4=%v v6=%v", m.v4, m.v6)
	}
}

func TestMatcherRejects(t *testing.T) {
	for _, e := range []string{"", "10.0.0.0/33", "300.1.1.1", "fe80::1%eth0", "host.example"} {
		if _, err := NewMatcher([]string{e}); err == nil {
			t.Errorf("NewMatcher(%q) accepted", e)
		}
	}
}

// FuzzClientIP feeds arbitrary X-Forwarded-For values: no panics, and the
// answer is always one trimmed item of the list (or empty).
func FuzzClientIP(f *testing.F) {
	for _, s := range []string{"", ",", "1.1.1.1, 2.2.2.2", " , ,", "2001:db8::1,10.0.0.1", "\t1.1.1.1\t"} {
		f.Add(s, uint8(1))
	}
	f.Fuzz(func(t *testing.T, xff string, depth uint8) {
		for _, cfg := range []*dynamic.IPStrategy{
			{Depth: int(depth%8) + 1, IPv6Subnet: intPtr(64)},
			{ExcludedIPs: []string{"10.0.0.0/8", "2001:db8::/32"}},
		} {
			s, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			req := &http.Request{Header: http.Header{"X-Forwarded-For": {xff}}}
			got := s.ClientIP(req)
			if got != strings.TrimSpace(got) {
				t.Fatalf("untrimmed result %q", got)
			}
			if got != "" && !strings.Contains(xff, got) && cfg.IPv6Subnet == nil {
				t.Fatalf("result %q not from header %q", got, xff)
			}
		}
	})
}

// FuzzMatcher compares the interval matcher with netip.Prefix.Contains.
func FuzzMatcher(f *testing.F) {
	f.Add("10.0.0.0/8", "10.1.2.3")
	f.Add("2001:db8::/31", "2001:db9::1")
	f.Add("::/0", "1.2.3.4")
	f.Fuzz(func(t *testing.T, entry, ip string) {
		m, err := NewMatcher([]string{entry})
		if err != nil {
			return
		}
		a, err := netip.ParseAddr(ip)
		if err != nil {
			return
		}
		p, _ := parseEntry(entry)
		want := p.Contains(a.Unmap().WithZone(""))
		if got := m.Contains(a); got != want {
			t.Fatalf("Contains(%s in %s) = %v, want %v", ip, entry, got, want)
		}
	})
}

func BenchmarkClientIP(b *testing.B) {
	for _, bc := range []struct {
		name string
		cfg  *dynamic.IPStrategy
	}{
		{"depth", &dynamic.IPStrategy{Depth: 3}},
		{"excluded", &dynamic.IPStrategy{ExcludedIPs: []string{"10.0.0.0/8"}}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			s, err := New(bc.cfg)
			if err != nil {
				b.Fatal(err)
			}
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			req.Header.Set("X-Forwarded-For", "203.0.113.7, 10.0.0.3, 10.0.0.2")
			b.ReportAllocs()
			for b.Loop() {
				if s.ClientIP(req) != "203.0.113.7" {
					b.Fatal("wrong client")
				}
			}
		})
	}
}
