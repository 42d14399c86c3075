package services

import (
	"strings"
	"testing"

	"github.com/guan-gateway/guan/config/dynamic"
)

// A TCP load balancer naming a serversTransport is an error, not a key
// silently ignored.
func TestTCPServersTransportIsRejected(t *testing.T) {
	s := New(Options{TCPServices: map[string]*dynamic.TCPService{
		"db@file": {LoadBalancer: &dynamic.TCPServersLoadBalancer{
			Servers: []dynamic.TCPServer{{Address: "127.0.0.1:5432"}}, ServersTransport: "tcp-tls"}},
	}})
	_, err := s.TCPHandler("db@file")
	if err == nil || !strings.Contains(err.Error(), `tcp service "db@file": loadBalancer.serversTransport "tcp-tls": TCP servers transports are not supported yet`) {
		t.Fatalf("err = %v", err)
	}
}
