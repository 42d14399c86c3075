// Package file is the file provider: it reads the dynamic configuration from
// one file or from every .toml/.yaml/.yml/.json file of a directory tree and,
// when watching, sends a fresh configuration after each change.
package file

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/guan-gateway/guan/config/static"
	"github.com/guan-gateway/guan/providers"
)

const (
	// settle is how long the watcher waits after the last event of a burst
	// (an editor's save is several events) before reloading.
	settle = 50 * time.Millisecond
	// maxSettle bounds the wait while events keep coming.
	maxSettle = time.Second
)

// Provider reads dynamic configuration from files.
type Provider struct {
	cfg    static.FileProvider
	log    *slog.Logger
	reload chan struct{}
}

// New returns a file provider for cfg. A nil logger uses slog.Default().
func New(cfg static.FileProvider, logger *slog.Logger) *Provider {
	if logger == nil {
		logger = slog.Default()
	}
	return &Provider{
		cfg:    cfg,
		log:    logger,
		reload: make(chan struct{}, 1),
	}
}

// Load reads the configuration once.
func (p *Provider) Load() providers.Message {
	msg, _ := p.load()
	return msg
}

// Reload asks a running Run to load and send the configuration again, even
// if no file changed (SIGHUP). It never blocks.
func (p *Provider) Reload() {
	select {
	case p.reload <- struct{}{}:
	default: // a reload is already pending
	}
}

func (p *Provider) watching() bool { return p.cfg.Watch == nil || *p.cfg.Watch }

// Run sends the initial configuration to out and then, if watching is
// enabled, a new one after every change that alters the files' content. It
// returns nil when ctx is done; an error only when watching cannot start or
// stops working. Only the latest pending configuration is kept while out
// is full.
func (p *Provider) Run(ctx context.Context, out chan<- providers.Message) error {
	var (
		events  <-chan fsnotify.Event
		errs    <-chan error
		watcher *fsnotify.Watcher
		werr    error
	)
	if p.watching() {
		// Watch before the first load so no change can slip in between.
		if watcher, werr = p.startWatcher(); werr == nil {
			defer watcher.Close()
			events, errs = watcher.Events, watcher.Errors
		}
	}

	msg, last := p.load()
	pending := &msg
	if werr != nil {
		// Deliver what we have, then report why watching is impossible.
		select {
		case out <- msg:
		case <-ctx.Done():
			return nil
		}
		return fmt.Errorf("provider file: cannot watch for changes: %w", werr)
	}

	var (
		timer      = time.NewTimer(time.Hour)
		timerC     <-chan time.Time
		burstStart time.Time
	)
	timer.Stop()
	defer timer.Stop()

	for {
		var sendC chan<- providers.Message
		var next providers.Message
		if pending != nil {
			sendC, next = out, *pending
		}
		select {
		case <-ctx.Done():
			return nil
		case sendC <- next:
			pending = nil
		case <-p.reload:
			msg, last = p.load()
			pending = &msg
		case ev, ok := <-events:
			if !ok {
				return errors.New("provider file: the file watcher stopped")
			}
			if ev.Op == fsnotify.Chmod {
				continue
			}
			if ev.Has(fsnotify.Create) && p.cfg.Directory != "" {
				p.watchNewDir(watcher, ev.Name)
			}
			now := time.Now()
			if timerC == nil {
				burstStart = now
			}
			wait := settle
			if left := maxSettle - now.Sub(burstStart); left < wait {
				wait = max(left, 0)
			}
			timer.Reset(wait)
			timerC = timer.C
		case err, ok := <-errs:
			if ok {
				p.log.Warn("file provider: watcher error", "error", err)
			}
		case <-timerC:
			timerC = nil
			m, digest := p.load()
			if digest == last {
				continue // touched but unchanged
			}
			last = digest
			if m.Err != nil {
				p.log.Error("file provider: configuration not loaded, keeping the previous one", "error", m.Err)
			}
			pending = &m
		}
	}
}

func (p *Provider) startWatcher() (*fsnotify.Watcher, error) {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, err
	}
	if p.cfg.Directory != "" {
		err = addTree(w, p.cfg.Directory)
	} else {
		// Watch the directory, not the file: editors save by renaming a new
		// file over the old one, and Kubernetes swaps a symlink.
		dir := filepath.Dir(p.cfg.Filename)
		err = w.Add(dir)
		if err == nil {
			// A symlink to a file elsewhere: watch where its content lives too.
			if real, rerr := filepath.EvalSymlinks(p.cfg.Filename); rerr == nil {
				if rdir := filepath.Dir(real); rdir != dir {
					if aerr := w.Add(rdir); aerr != nil {
						p.log.Warn("file provider: cannot watch the symlink target directory", "dir", rdir, "error", aerr)
					}
				}
			}
		}
	}
	if err != nil {
		w.Close()
		return nil, err
	}
	return w, nil
}

// watchNewDir starts watching a directory created inside the watched tree,
// with everything already created beneath it.
func (p *Provider) watchNewDir(w *fsnotify.Watcher, path string) {
	fi, err := os.Lstat(path)
	if err != nil || !fi.IsDir() || strings.HasPrefix(fi.Name(), ".") {
		return
	}
	if err := addTree(w, path); err != nil {
		p.log.Warn("file provider: cannot watch new directory", "dir", path, "error", err)
	}
}

// addTree watches root and its non-hidden subdirectories.
func addTree(w *fsnotify.Watcher, root string) error {
	return filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if path == root {
				return err
			}
			return nil
		}
		if !d.IsDir() {
			return nil
		}
		if path != root && strings.HasPrefix(d.Name(), ".") {
			return filepath.SkipDir
		}
		return w.Add(path)
	})
}
