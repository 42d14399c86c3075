// Package hrw implements the highestRandomWeight service: each client IP is
// sent to one child service, chosen by weighted rendezvous hashing (highest
// random weight), so a client keeps reaching the same child without a cookie.
// When a child leaves (unhealthy, removed, weight 0) only its clients move;
// the others stay where they were.
//
// The score of a child is Traefik's — weight / -ln(u), u uniform in [0, 1)
// from a 64-bit FNV-1a hash of the client IP and the child's name — except
// that the hash goes through a mixing step (MurmurHash3's finalizer) before
// it becomes u. Raw FNV-1a gives names that differ only in their last bytes
// ("app1", "app2") almost the same u for every client, so in Traefik the
// heavier of two such children gets every client and equal weights split
// unevenly; mixed, clients follow the weights.
package hrw

import (
	"errors"
	"math"
	"net"
	"net/http"

	"github.com/guan-gateway/guan/reqinfo"
	"github.com/guan-gateway/guan/services/health"
	"github.com/guan-gateway/guan/services/proxy"
)

// Child is one child service.
type Child struct {
	// Name is hashed with the client IP: the same name keeps its clients
	// across reloads and gateway instances.
	Name    string
	Weight  int // 0 or less: no traffic
	Handler http.Handler
}

// Options configure a highestRandomWeight service.
type Options struct {
	Children []Child
	// Propagate skips unhealthy children and makes Healthy reflect them
	// (the service's `healthCheck: {}`).
	Propagate bool
}

// HRW is the handler of a highestRandomWeight service.
type HRW struct {
	children  []Child
	reporters []health.Reporter // nil entries never turn unhealthy
	propagate bool
}

// New returns a highestRandomWeight service handler.
func New(o Options) (*HRW, error) {
	if len(o.Children) == 0 {
		return nil, errors.New("no services: add at least one highestRandomWeight.services entry")
	}
	h := &HRW{
		children:  o.Children,
		reporters: make([]health.Reporter, len(o.Children)),
		propagate: o.Propagate,
	}
	for i, c := range o.Children {
		h.reporters[i], _ = c.Handler.(health.Reporter)
	}
	return h, nil
}

// Up reports whether child i may take requests.
func (h *HRW) Up(i int) bool {
	if h.children[i].Weight <= 0 {
		return false
	}
	if !h.propagate || h.reporters[i] == nil {
		return true
	}
	return h.reporters[i].Healthy()
}

// Healthy implements health.Reporter. Without propagation the service
// always reports healthy, as in Traefik.
func (h *HRW) Healthy() bool {
	if !h.propagate {
		return true
	}
	for i := range h.children {
		if h.Up(i) {
			return true
		}
	}
	return false
}

// Len, Key and Weight make the children Candidates.
func (h *HRW) Len() int { return len(h.children) }

// Key is child i's name.
func (h *HRW) Key(i int) string { return h.children[i].Name }

// Weight is child i's weight.
func (h *HRW) Weight(i int) float64 { return float64(h.children[i].Weight) }

// Pick returns the child a client at ip is sent to, or -1 when no child may
// take requests.
func (h *HRW) Pick(ip string) int { return Choose(h, ip) }

// Candidates are what a client is hashed over: the children of a
// highestRandomWeight service, or the servers of a load balancer with the
// hrw strategy.
type Candidates interface {
	Len() int
	// Up reports whether candidate i may take requests.
	Up(i int) bool
	// Key is hashed with the client IP; a stable key keeps its clients
	// across reloads and gateway instances.
	Key(i int) string
	// Weight scales candidate i's share of clients; it is > 0 when Up.
	Weight(i int) float64
}

// Choose returns the up candidate with the highest random weight for a
// client at ip, or -1 when none is up. It does not allocate.
func Choose(c Candidates, ip string) int {
	best, bestScore := -1, math.Inf(-1)
	seed := fnvString(fnvOffset, ip)
	for i := range c.Len() {
		if !c.Up(i) {
			continue
		}
		if s := score(fnvString(seed, c.Key(i)), c.Weight(i)); best < 0 || s > bestScore {
			best, bestScore = i, s
		}
	}
	return best
}

// ServeHTTP picks the client's child and hands the request to it.
func (h *HRW) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	i := h.Pick(ClientIP(r))
	if i < 0 {
		if info, ok := reqinfo.Lookup(r.Context()); ok {
			info.OriginStatus = http.StatusServiceUnavailable
		}
		proxy.WriteError(rw, http.StatusServiceUnavailable)
		return
	}
	h.children[i].Handler.ServeHTTP(rw, r)
}

// ClientIP is the address of the TCP peer, without its port, as Traefik
// takes it: X-Forwarded-For is not read, so a client cannot choose its
// child by sending one.
func ClientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// score is the weighted rendezvous score of a 64-bit hash: weight / -ln(u)
// with u uniform in (0, 1), so a child's share of clients is proportional to
// its weight.
func score(sum uint64, weight float64) float64 {
	u := (float64(mix(sum)>>11) + 0.5) / (1 << 53)
	return weight / -math.Log(u)
}

// mix is MurmurHash3's 64-bit finalizer: every input bit affects every
// output bit, which FNV-1a's last bytes do not.
func mix(k uint64) uint64 {
	k ^= k >> 33
	k *= 0xff51afd7ed558ccd
	k ^= k >> 33
	k *= 0xc4ceb9fe1a85ec53
	k ^= k >> 33
	return k
}

// 64-bit FNV-1a over the client IP followed by the child name, computed
// without allocating.
const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func fnvString(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= fnvPrime
	}
	return h
}
