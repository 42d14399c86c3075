package routers

import (
	"errors"
	"net/netip"
	"testing"
)

var fuzzSeeds = []string{
	"Host(`example.com`) && PathPrefix(`/api`)",
	"(Host(`a`) || HostRegexp(`^b`)) && !Method(`POST`)",
	`Header("X-A", "v\"1") || Query("k")`,
	"QueryRegexp(`id`, `^[0-9]+$`) && ClientIP(`10.0.0.0/8`)",
	"HostRegexp(`{sub:[a-z]+}.example.com`) && Path(`/u/{id:[0-9]+}`)",
	"HostSNI(`*`) && ClientIP(`::1`)",
	"HostSNI(`a.com`) || ALPN(`h2`)",
	"HostSNIRegexp(`^.*$`)",
	"((((", "Host(`", `Host("\`, "!", "a(", "",
}

func FuzzParseHTTP(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s, false)
		f.Add(s, true)
	}
	sample := req("GET", "http://Example.com:8080/api/x%2Fy?k=&id=7", "X-A: v\"1", "remote=10.1.2.3:4")
	f.Fuzz(func(t *testing.T, rule string, v2 bool) {
		syntax := "v3"
		if v2 {
			syntax = "v2"
		}
		r, err := ParseHTTP(rule, syntax)
		if err != nil {
			var pe *ParseError
			if errors.As(err, &pe) && (pe.Col < 1 || pe.Col > len([]rune(rule))+1) {
				t.Fatalf("column %d out of range for %q", pe.Col, rule)
			}
			return
		}
		r.Match(sample)
		r.Hosts()
		NewTable([]Route{{Name: "r", Rule: r}}).Lookup(sample)
	})
}

func FuzzParseTCP(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s, false)
		f.Add(s, true)
	}
	samples := []ConnInfo{
		{ServerName: "A.example.com", ALPN: []string{"h2"}, RemoteIP: netip.MustParseAddr("10.1.2.3"), TLS: true},
		{RemoteIP: netip.MustParseAddr("::1")},
		{},
	}
	f.Fuzz(func(t *testing.T, rule string, v2 bool) {
		syntax := ""
		if v2 {
			syntax = "v2"
		}
		r, err := ParseTCP(rule, syntax)
		if err != nil {
			return
		}
		table := NewTCPTable([]TCPRoute{{Name: "r", Rule: r}})
		for _, c := range samples {
			if r.Match(c) != (table.Match(c) != nil) {
				t.Fatalf("rule and table disagree on %+v", c)
			}
		}
	})
}
