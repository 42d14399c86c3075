package pipeline

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/guan-gateway/guan/config/dynamic"
	"github.com/guan-gateway/guan/config/static"
	"github.com/guan-gateway/guan/providers"
	"github.com/guan-gateway/guan/snapshot"
	"github.com/guan-gateway/guan/statestore"
)

func routerConfig(name string) *dynamic.Configuration {
	return &dynamic.Configuration{HTTP: &dynamic.HTTPConfiguration{Routers: map[string]*dynamic.Router{
		name: {Rule: "PathPrefix(`/`)", Service: "noop@internal"},
	}}}
}

type recorder struct {
	builds  atomic.Int64
	mu      sync.Mutex
	reloads []bool
}

func newPipeline(t *testing.T, throttle time.Duration) (*Pipeline, *recorder) {
	rec := &recorder{}
	p := New(Options{
		Throttle: throttle,
		Logger:   slog.New(slog.DiscardHandler),
		OnReload: func(ok bool) { rec.mu.Lock(); rec.reloads = append(rec.reloads, ok); rec.mu.Unlock() },
		Build: func(msgs map[string]providers.Message, b *statestore.Build) (*snapshot.Snapshot, error) {
			rec.builds.Add(1)
			return snapshot.Build(snapshot.Input{
				EntryPoints: map[string]*static.EntryPoint{"web": {Address: ":80"}},
				Providers:   msgs,
				Internal:    map[string]http.Handler{"noop@internal": http.NotFoundHandler()},
				Store:       b,
				Logger:      slog.New(slog.DiscardHandler),
			})
		},
	})
	return p, rec
}

func waitFor(t *testing.T, what string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func hasRouter(p *Pipeline, name string) bool {
	_, ok := p.Current().Status().Routers[name]
	return ok
}

// A burst of configurations inside the throttle window is applied as one:
// the first at once, the rest coalesced into the latest.
func TestThrottleCoalescesBursts(t *testing.T) {
	p, rec := newPipeline(t, 300*time.Millisecond)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	in := make(chan providers.Message)
	go p.Run(ctx, in)
	for _, name := range []string{"one", "two", "three", "four"} {
		in <- providers.Message{Provider: "file", Config: routerConfig(name)}
	}
	waitFor(t, "the last configuration", func() bool { return hasRouter(p, "four@file") })
	if n := rec.builds.Load(); n != 2 {
		t.Fatalf("%d builds for a burst of 4, want 2 (first, then the coalesced rest)", n)
	}
	select {
	case <-p.Applied():
	default:
		t.Fatal("Applied not closed")
	}
}

// A refused configuration keeps the last good one serving and is reported.
func TestRefusedConfigurationKeepsLastGood(t *testing.T) {
	p, rec := newPipeline(t, 0)
	p.Update(providers.Message{Provider: "file", Config: routerConfig("good")})
	p.Update(providers.Message{Provider: "file", Err: errors.New("dyn.toml:3:1: broken")})
	st := p.Current().Status()
	if _, ok := st.Routers["good@file"]; !ok {
		t.Fatal("the last good configuration was dropped")
	}
	if errs := st.ProviderErrors["file"]; len(errs) != 1 || errs[0] != "dyn.toml:3:1: broken" {
		t.Fatalf("provider error not shown: %v", st.ProviderErrors)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.reloads) < 2 || rec.reloads[0] != true || rec.reloads[1] != false {
		t.Fatalf("reload outcomes %v, want [true false ...]", rec.reloads)
	}
	// A fixed configuration clears the error.
	rec.mu.Unlock()
	p.Update(providers.Message{Provider: "file", Config: routerConfig("fixed")})
	rec.mu.Lock()
	if st := p.Current().Status(); len(st.ProviderErrors["file"]) != 0 || st.Routers["fixed@file"] == nil {
		t.Fatalf("fix not applied: %v", st.ProviderErrors)
	}
}

// An empty configuration (a file caught between truncation and rewrite)
// is skipped: the routes keep serving.
func TestEmptyConfigurationSkipped(t *testing.T) {
	p, rec := newPipeline(t, 0)
	p.Update(providers.Message{Provider: "file", Config: routerConfig("good")})
	builds := rec.builds.Load()
	for _, empty := range []*dynamic.Configuration{nil, {}, {HTTP: &dynamic.HTTPConfiguration{}, TLS: &dynamic.TLSConfiguration{}}} {
		if p.accept(providers.Message{Provider: "file", Config: empty}) {
			t.Fatalf("%+v asked for a rebuild", empty)
		}
	}
	p.Apply()
	if st := p.Current().Status(); st.Routers["good@file"] == nil {
		t.Fatal("the routes were dropped for an empty configuration")
	}
	if rec.builds.Load() != builds+1 {
		t.Fatalf("builds %d, want %d", rec.builds.Load(), builds+1)
	}
}

// OnCommit sees each live snapshot, after it is swapped in, and is not told
// about builds that fail.
func TestOnCommit(t *testing.T) {
	var got []*snapshot.Snapshot
	var p *Pipeline
	fail := false
	p = New(Options{
		Logger: slog.New(slog.DiscardHandler),
		OnCommit: func(s *snapshot.Snapshot) {
			if p.Current() != s {
				t.Error("OnCommit called before the snapshot is live")
			}
			got = append(got, s)
		},
		Build: func(msgs map[string]providers.Message, b *statestore.Build) (*snapshot.Snapshot, error) {
			if fail {
				return nil, errors.New("broken")
			}
			return snapshot.Build(snapshot.Input{Providers: msgs, Store: b, Logger: slog.New(slog.DiscardHandler),
				Internal: map[string]http.Handler{"noop@internal": http.NotFoundHandler()}})
		},
	})
	p.Update(providers.Message{Provider: "file", Config: routerConfig("one")})
	fail = true
	p.Update(providers.Message{Provider: "file", Config: routerConfig("two")})
	if len(got) != 1 || got[0] != p.Current() || !hasRouter(p, "one@file") {
		t.Fatalf("OnCommit told about %d snapshots, want the one live", len(got))
	}
}
