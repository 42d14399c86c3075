package snapshot

import (
	"strings"
	"testing"

	"github.com/guan-gateway/guan/config/static"
)

// tcp.serversTransports are qualified by provider like every other name,
// references to them too, and they show in rawdata.
func TestTCPServersTransportsMerge(t *testing.T) {
	snap := buildInput(t, `
[tcp.serversTransports.slow]
  terminationDelay = "-1s"
[tcp.services.ok.loadBalancer]
  serversTransport = "slow"
  [[tcp.services.ok.loadBalancer.servers]]
    address = "127.0.0.1:9"
[tcp.services.other.loadBalancer]
  serversTransport = "slow@elsewhere"
  [[tcp.services.other.loadBalancer.servers]]
    address = "127.0.0.1:9"
`, Input{
		EntryPoints:    map[string]*static.EntryPoint{"web": {Address: ":80"}},
		ValidateUnused: true,
	})
	p := snap.Problems()
	if len(p) != 1 || !strings.Contains(p[0].Error(), `tcp service "other@file": unknown serversTransport "slow@elsewhere"`) {
		t.Fatalf("problems = %v", p)
	}
	raw := snap.Raw()
	if raw.TCP.ServersTransports["slow@file"] == nil || raw.TCP.Services["ok@file"].LoadBalancer.ServersTransport != "slow@file" {
		t.Fatalf("rawdata tcp = %+v", raw.TCP)
	}
}
