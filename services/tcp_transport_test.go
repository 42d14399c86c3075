package services

import (
	"strings"
	"testing"
	"time"

	"github.com/guan-gateway/guan/config/dynamic"
	"github.com/guan-gateway/guan/services/tcpproxy"
)

func tcpTransportSet(transports map[string]*dynamic.TCPServersTransport, transportName string) *Set {
	return New(Options{
		TCPServices: map[string]*dynamic.TCPService{
			"db@file": {LoadBalancer: &dynamic.TCPServersLoadBalancer{
				Servers: []dynamic.TCPServer{{Address: "127.0.0.1:5432", TLS: true}}, ServersTransport: transportName}},
		},
		TCPTransports: transports,
	})
}

func TestTCPServersTransport(t *testing.T) {
	transports := map[string]*dynamic.TCPServersTransport{
		"slow@file": {DialTimeout: dur(0), DialKeepAlive: dur(-1), TerminationDelay: dur(-1)},
		"tls@file": {TerminationDelay: dur(2 * time.Second), TLS: &dynamic.TLSClientConfig{
			ServerName: "db.internal", InsecureSkipVerify: true}},
		"empty@file": {},
	}
	tests := []struct {
		name       string
		want       tcpproxy.Transport
		serverName string
		insecure   bool
	}{
		{"", tcpproxy.DefaultTransport(), "", false},
		{"default@internal", tcpproxy.DefaultTransport(), "", false},
		{"empty@file", tcpproxy.DefaultTransport(), "", false},
		{"slow@file", tcpproxy.Transport{DialTimeout: 0, DialKeepAlive: -1, TerminationDelay: -1}, "", false},
		{"tls@file", tcpproxy.Transport{DialTimeout: 30 * time.Second, DialKeepAlive: 15 * time.Second, TerminationDelay: 2 * time.Second}, "db.internal", true},
	}
	for _, tt := range tests {
		s := tcpTransportSet(transports, tt.name)
		tr, tc, err := s.tcpTransport(tt.name)
		if err != nil {
			t.Fatalf("%q: %v", tt.name, err)
		}
		if tr != tt.want || tc == nil || tc.ServerName != tt.serverName || tc.InsecureSkipVerify != tt.insecure {
			t.Errorf("%q: transport %+v, tls serverName %q insecure %v", tt.name, tr, tc.ServerName, tc.InsecureSkipVerify)
		}
		if _, err := s.TCPHandler("db@file"); err != nil {
			t.Errorf("%q: service: %v", tt.name, err)
		}
	}
}

func TestTCPServersTransportErrors(t *testing.T) {
	transports := map[string]*dynamic.TCPServersTransport{
		"neg@file": {DialTimeout: dur(-time.Second)},
		"ca@file":  {TLS: &dynamic.TLSClientConfig{RootCAs: []string{"-----BEGIN CERTIFICATE-----\nnot a cert\n-----END CERTIFICATE-----\n"}}},
	}
	for name, want := range map[string]string{
		"nope@file": `tcp service "db@file": unknown serversTransport "nope@file": define it under tcp.serversTransports`,
		"neg@file":  `tcp service "db@file": serversTransport "neg@file": dialTimeout must not be negative, got -1s`,
		"ca@file":   `tcp service "db@file": serversTransport "ca@file": tls.rootCAs[0]: no PEM certificate found`,
	} {
		_, err := tcpTransportSet(transports, name).TCPHandler("db@file")
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want %q", name, err, want)
		}
	}
}

// loadBalancer.terminationDelay (deprecated, milliseconds) overrides the
// default transport's, and is ignored when the load balancer names a
// serversTransport, as in Traefik. The default transport is the static
// tcpServersTransport (default@internal) when one is set.
func TestTCPLoadBalancerTerminationDelay(t *testing.T) {
	s := tcpTransportSet(map[string]*dynamic.TCPServersTransport{
		"named@file":       {TerminationDelay: dur(2 * time.Second)},
		"default@internal": {DialTimeout: dur(5 * time.Second), TerminationDelay: dur(time.Second)},
	}, "")
	for _, tt := range []struct {
		tname string
		delay *int
		want  tcpproxy.Transport
	}{
		{"", nil, tcpproxy.Transport{DialTimeout: 5 * time.Second, DialKeepAlive: 15 * time.Second, TerminationDelay: time.Second}},
		{"", intp(250), tcpproxy.Transport{DialTimeout: 5 * time.Second, DialKeepAlive: 15 * time.Second, TerminationDelay: 250 * time.Millisecond}},
		{"", intp(-1), tcpproxy.Transport{DialTimeout: 5 * time.Second, DialKeepAlive: 15 * time.Second, TerminationDelay: -time.Millisecond}},
		{"named@file", intp(250), tcpproxy.Transport{DialTimeout: 30 * time.Second, DialKeepAlive: 15 * time.Second, TerminationDelay: 2 * time.Second}},
	} {
		tr, _, err := s.tcpLBTransport("db@file", tt.tname, tt.delay)
		if err != nil || tr != tt.want {
			t.Errorf("transport %q, terminationDelay %v: got %+v, %v; want %+v", tt.tname, tt.delay, tr, err, tt.want)
		}
	}
}
