package mqtt

import (
	"context"
	"errors"
	"net"
	"sync/atomic"
	"time"
)

// Service is a pool of brokers.
type Service struct {
	Name        string
	Servers     []string // host:port
	RoundRobin  bool     // else rendezvous hashing on the client ID
	DialTimeout time.Duration
	rr          atomic.Uint64
	health      *health // nil without health checks
}

// order returns the brokers to try for a client, best first. With client-ID
// affinity it is the rendezvous-hashing order, so a client ID lands on the
// same broker across reconnects and moves only when its broker leaves.
func (s *Service) order(clientID string) []string {
	out := s.ranked(clientID)
	if s.health == nil {
		return out
	}
	// Brokers the health check saw down go last: tried only when no
	// healthy one answers.
	down := *s.health.down.Load()
	if len(down) == 0 {
		return out
	}
	up := make([]string, 0, len(out))
	var rest []string
	for _, a := range out {
		if down[a] {
			rest = append(rest, a)
		} else {
			up = append(up, a)
		}
	}
	return append(up, rest...)
}

func (s *Service) ranked(clientID string) []string {
	n := len(s.Servers)
	out := make([]string, n)
	if s.RoundRobin || clientID == "" {
		start := int(s.rr.Add(1)-1) % n
		for i := range n {
			out[i] = s.Servers[(start+i)%n]
		}
		return out
	}
	scores := make([]uint64, n)
	copy(out, s.Servers)
	for i, srv := range out {
		scores[i] = hrw(clientID, srv)
	}
	// Insertion sort: pools are small.
	for i := 1; i < n; i++ {
		for j := i; j > 0 && scores[j] > scores[j-1]; j-- {
			scores[j], scores[j-1] = scores[j-1], scores[j]
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// hrw is FNV-1a over client ID and server, then a 64-bit finaliser: the
// same on every gateway instance, so all of them agree on a client's broker.
func hrw(clientID, server string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(clientID); i++ {
		h = (h ^ uint64(clientID[i])) * 1099511628211
	}
	h = (h ^ 0xff) * 1099511628211
	for i := 0; i < len(server); i++ {
		h = (h ^ uint64(server[i])) * 1099511628211
	}
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	return h
}

var errNoBroker = errors.New("no broker reachable")

// dial connects to the first reachable broker in the client's order.
func (s *Service) dial(ctx context.Context, clientID string) (net.Conn, string, error) {
	if len(s.Servers) == 0 {
		return nil, "", errNoBroker
	}
	d := net.Dialer{Timeout: s.DialTimeout}
	if d.Timeout <= 0 {
		d.Timeout = 5 * time.Second
	}
	var last error
	for _, addr := range s.order(clientID) {
		c, err := d.DialContext(ctx, "tcp", addr)
		if err == nil {
			return c, addr, nil
		}
		last = err
	}
	return nil, "", errors.Join(errNoBroker, last)
}
