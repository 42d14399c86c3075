// Package pipeline turns provider messages into live snapshots: it keeps the
// last good configuration of each provider, throttles bursts, builds a new
// snapshot off the request path and publishes it with one atomic swap.
package pipeline

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/guan-gateway/guan/providers"
	"github.com/guan-gateway/guan/snapshot"
	"github.com/guan-gateway/guan/statestore"
)

// BuildFunc compiles the providers' configurations with a state-store build.
type BuildFunc func(msgs map[string]providers.Message, store *statestore.Build) (*snapshot.Snapshot, error)

// Pipeline owns the current snapshot.
type Pipeline struct {
	current  atomic.Pointer[snapshot.Snapshot]
	store    *statestore.Store
	build    BuildFunc
	throttle time.Duration
	log      *slog.Logger
	onReload func(ok bool)
	onCommit func(*snapshot.Snapshot)

	mu       sync.Mutex
	last     map[string]providers.Message // last good message per provider
	failures map[string]error             // latest load error per provider
	applied  chan struct{}                // closed after the first successful apply
	once     sync.Once
}

// Options configure a pipeline.
type Options struct {
	Build    BuildFunc
	Throttle time.Duration // minimum time between two applies
	Logger   *slog.Logger
	OnReload func(ok bool) // metrics hook; may be nil
	// OnCommit is told about each snapshot once it is live and the lasting
	// objects it no longer uses are closed (metrics prune the series of
	// removed objects); may be nil.
	OnCommit func(*snapshot.Snapshot)
}

// New returns a pipeline serving an empty snapshot until the first apply.
func New(o Options) *Pipeline {
	p := &Pipeline{
		store: statestore.New(), build: o.Build, throttle: o.Throttle, log: o.Logger, onReload: o.OnReload, onCommit: o.OnCommit,
		last: map[string]providers.Message{}, failures: map[string]error{}, applied: make(chan struct{}),
	}
	if p.log == nil {
		p.log = slog.Default()
	}
	p.current.Store(snapshot.Empty())
	return p
}

// Current returns the live snapshot. It takes no lock.
func (p *Pipeline) Current() *snapshot.Snapshot { return p.current.Load() }

// Applied is closed once a configuration from at least one provider is live.
func (p *Pipeline) Applied() <-chan struct{} { return p.applied }

// Run consumes provider messages until ctx is done.
func (p *Pipeline) Run(ctx context.Context, in <-chan providers.Message) {
	var (
		timer     *time.Timer
		timerC    <-chan time.Time
		lastApply time.Time
		dirty     bool
	)
	for {
		select {
		case <-ctx.Done():
			if timer != nil {
				timer.Stop()
			}
			return
		case msg := <-in:
			if !p.accept(msg) {
				continue
			}
			dirty = true
			if wait := p.throttle - time.Since(lastApply); wait > 0 {
				if timer == nil {
					timer = time.NewTimer(wait)
					timerC = timer.C
				}
				continue
			}
		case <-timerC:
			timer, timerC = nil, nil
		}
		if dirty && timer == nil {
			p.Apply()
			lastApply = time.Now()
			dirty = false
		}
	}
}

// accept records a provider message; it reports whether a rebuild is needed.
func (p *Pipeline) accept(msg providers.Message) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if msg.Err != nil {
		p.failures[msg.Provider] = msg.Err
		p.log.Error("configuration refused, the last good configuration keeps serving",
			"provider", msg.Provider, "error", msg.Err.Error())
		if p.onReload != nil {
			p.onReload(false)
		}
		return true // rebuild so the API shows the provider error
	}
	if msg.Config.Empty() {
		// Mostly a file caught between truncation and rewrite: keep the
		// last configuration rather than drop every route for a moment.
		p.log.Warn("empty configuration skipped, the last one keeps serving", "provider", msg.Provider)
		return false
	}
	delete(p.failures, msg.Provider)
	p.last[msg.Provider] = msg
	return true
}

// Update records msg and applies it at once, bypassing the throttle. It is
// for one-shot loads and benchmarks; Run is the long-running path.
func (p *Pipeline) Update(msg providers.Message) {
	p.accept(msg)
	p.Apply()
}

// Apply builds a snapshot from the last good configurations and swaps it in.
func (p *Pipeline) Apply() {
	p.mu.Lock()
	msgs := make(map[string]providers.Message, len(p.last)+len(p.failures))
	for k, v := range p.last {
		msgs[k] = v
	}
	for k, err := range p.failures {
		m := msgs[k]
		m.Provider, m.Err = k, err // keep serving the last good Config, show the error
		msgs[k] = m
	}
	p.mu.Unlock()

	start := time.Now()
	b := p.store.Begin()
	snap, err := p.build(msgs, b)
	if err != nil {
		b.Abort()
		p.log.Error("configuration build failed, the last good configuration keeps serving", "error", err)
		if p.onReload != nil {
			p.onReload(false)
		}
		return
	}
	p.current.Store(snap)
	b.Commit()
	if p.onCommit != nil {
		p.onCommit(snap)
	}
	for _, e := range snap.Problems() {
		p.log.Warn("configuration problem", "error", e.Error())
	}
	p.log.Info("configuration applied", "took", time.Since(start).String(), "lasting_objects", p.store.Len())
	p.mu.Lock()
	ok := len(p.failures) == 0
	p.mu.Unlock()
	if p.onReload != nil && ok {
		p.onReload(true)
	}
	if len(msgs) > 0 {
		p.once.Do(func() { close(p.applied) })
	}
}
