package mwtest

import (
	"bytes"
	"log/slog"
	"sync"
)

// Logs collects a middleware's log lines; safe for the goroutines a
// middleware logs from (reloads, background fetches).
type Logs struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *Logs) Write(p []byte) (int, error) { l.mu.Lock(); defer l.mu.Unlock(); return l.b.Write(p) }

func (l *Logs) String() string { l.mu.Lock(); defer l.mu.Unlock(); return l.b.String() }

// Logger is a text logger writing to l.
func (l *Logs) Logger() *slog.Logger { return slog.New(slog.NewTextHandler(l, nil)) }
