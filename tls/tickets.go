package tls

import (
	"crypto/rand"
	cryptotls "crypto/tls"
	"sync"
	"time"
	"weak"
)

// Session-ticket keys are shared by every server configuration the process
// builds, so clients resume their TLS sessions after a configuration reload
// instead of all paying a full handshake at once. Keys rotate on a timer;
// the previous keys still decrypt tickets for a while, for forward secrecy
// without breaking recent sessions.
const (
	ticketKeyRotation = 12 * time.Hour
	ticketKeysKept    = 3 // the encrypting key and two older ones
)

var tickets = &ticketRing{}

type ticketRing struct {
	mu      sync.Mutex
	keys    [][32]byte // newest first
	configs []weak.Pointer[cryptotls.Config]
	timer   *time.Timer
}

// install gives c the current keys and keeps it up to date on rotation.
func (r *ticketRing) install(c *cryptotls.Config) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.keys == nil {
		r.keys = [][32]byte{newTicketKey()}
		r.timer = time.AfterFunc(ticketKeyRotation, r.rotate)
	}
	c.SetSessionTicketKeys(r.keys)
	live := r.configs[:0]
	for _, p := range r.configs {
		if p.Value() != nil {
			live = append(live, p)
		}
	}
	r.configs = append(live, weak.Make(c))
}

// rotate adds a fresh encrypting key and hands the new set to every
// configuration still in use.
func (r *ticketRing) rotate() {
	r.mu.Lock()
	defer r.mu.Unlock()
	keys := append([][32]byte{newTicketKey()}, r.keys...)
	if len(keys) > ticketKeysKept {
		keys = keys[:ticketKeysKept]
	}
	r.keys = keys
	live := r.configs[:0]
	for _, p := range r.configs {
		if c := p.Value(); c != nil {
			c.SetSessionTicketKeys(keys)
			live = append(live, p)
		}
	}
	r.configs = live
	r.timer.Reset(ticketKeyRotation)
}

func newTicketKey() [32]byte {
	var k [32]byte
	if _, err := rand.Read(k[:]); err != nil {
		panic("tls: no randomness for session-ticket keys: " + err.Error())
	}
	return k
}
