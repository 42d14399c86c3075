package tlcp

import (
	"container/list"
	"sync"
	"time"
)

// session is what resumption needs from an earlier handshake.
type session struct {
	key       string
	id        []byte
	suite     uint16
	master    []byte
	peerCerts [][]byte
	created   time.Time
}

// SessionCache is a bounded LRU of sessions with a lifetime; safe for
// concurrent use and shareable by many connections.
type SessionCache struct {
	mu       sync.Mutex
	capacity int
	ttl      time.Duration
	entries  map[string]*list.Element
	lru      list.List
}

// NewSessionCache returns a cache of at most capacity sessions, each usable
// for ttl. Zero values pick 10 000 sessions and 1 hour.
func NewSessionCache(capacity int, ttl time.Duration) *SessionCache {
	if capacity <= 0 {
		capacity = 10000
	}
	if ttl <= 0 {
		ttl = time.Hour
	}
	return &SessionCache{capacity: capacity, ttl: ttl, entries: map[string]*list.Element{}}
}

func (c *SessionCache) get(key string, now time.Time) *session {
	if c == nil || key == "" {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok {
		return nil
	}
	s := e.Value.(*session)
	if now.Sub(s.created) > c.ttl {
		c.lru.Remove(e)
		delete(c.entries, key)
		return nil
	}
	c.lru.MoveToFront(e)
	return s
}

func (c *SessionCache) put(s *session) {
	if c == nil || s.key == "" {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.entries[s.key]; ok {
		e.Value = s
		c.lru.MoveToFront(e)
		return
	}
	c.entries[s.key] = c.lru.PushFront(s)
	for c.lru.Len() > c.capacity {
		old := c.lru.Back()
		c.lru.Remove(old)
		delete(c.entries, old.Value.(*session).key)
	}
}

func (c *SessionCache) remove(key string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.entries[key]; ok {
		c.lru.Remove(e)
		delete(c.entries, key)
	}
}

// Len reports how many sessions are cached.
func (c *SessionCache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len()
}
