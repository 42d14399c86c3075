package opa

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/open-policy-agent/opa/v1/loader"
	"github.com/open-policy-agent/opa/v1/rego"
)

// reloadDelay gathers the events of one save (editors write, rename and
// chmod) into one reload.
const reloadDelay = 100 * time.Millisecond

// policy is a prepared query kept up to date with its files: a change is
// compiled and prepared again, and swapped in only if that succeeds, so a
// broken edit keeps the last good policy serving.
type policy struct {
	query string
	paths []string // policy file or directory, then data files
	log   *slog.Logger

	prepared atomic.Pointer[rego.PreparedEvalQuery]
	watcher  *fsnotify.Watcher
	done     chan struct{}
	stopOnce sync.Once
	reloads  atomic.Int64 // successful reloads after the first load (tests, logs)
}

// prepare compiles the files; errors name file:line.
func prepare(ctx context.Context, query string, paths []string) (*rego.PreparedEvalQuery, error) {
	// Test files (*_test.rego) are for `opa test`, not for serving.
	r := rego.New(rego.Query(query), rego.Load(paths, loader.GlobExcludeName("*_test.rego", 0)))
	pq, err := r.PrepareForEval(ctx)
	if err != nil {
		return nil, err
	}
	return &pq, nil
}

func newPolicy(query, policyPath string, data []string, log *slog.Logger) (*policy, error) {
	st, err := os.Stat(policyPath)
	if err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	if !st.IsDir() && !strings.HasSuffix(policyPath, ".rego") {
		return nil, fmt.Errorf("policy %s: not a .rego file or a directory", policyPath)
	}
	for _, d := range data {
		if _, err := os.Stat(d); err != nil {
			return nil, fmt.Errorf("data: %w", err)
		}
	}
	p := &policy{query: query, paths: append([]string{policyPath}, data...), log: log, done: make(chan struct{})}
	pq, err := prepare(context.Background(), query, p.paths)
	if err != nil {
		return nil, err
	}
	p.prepared.Store(pq)
	if err := p.watch(); err != nil {
		log.Warn("opa: policy files not watched; edits need a configuration reload", "error", err)
	}
	return p, nil
}

// watch follows the files' directories (editors replace files by renaming)
// and the policy directory's subdirectories.
func (p *policy) watch() error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return err
	}
	dirs := map[string]bool{}
	for _, path := range p.paths {
		st, err := os.Stat(path)
		if err != nil {
			continue
		}
		if !st.IsDir() {
			dirs[filepath.Dir(path)] = true
			continue
		}
		filepath.WalkDir(path, func(d string, e os.DirEntry, err error) error {
			if err == nil && e.IsDir() {
				dirs[d] = true
			}
			return nil
		})
	}
	for d := range dirs {
		if err := w.Add(d); err != nil {
			w.Close()
			return err
		}
	}
	p.watcher = w
	go p.loop()
	return nil
}

func (p *policy) relevant(name string) bool {
	for _, path := range p.paths {
		if name == path || strings.HasPrefix(name, path+string(filepath.Separator)) {
			return true
		}
	}
	return false
}

func (p *policy) loop() {
	var timer <-chan time.Time
	for {
		select {
		case <-p.done:
			return
		case ev, ok := <-p.watcher.Events:
			if !ok {
				return
			}
			if p.relevant(ev.Name) {
				timer = time.After(reloadDelay)
			}
		case err, ok := <-p.watcher.Errors:
			if !ok {
				return
			}
			p.log.Warn("opa: watching policy files", "error", err)
		case <-timer:
			timer = nil
			pq, err := prepare(context.Background(), p.query, p.paths)
			if err != nil {
				p.log.Error("opa: policy change refused; the previous policy keeps deciding", "error", err)
				continue
			}
			p.prepared.Store(pq)
			p.reloads.Add(1)
			p.log.Info("opa: policy reloaded", "paths", p.paths)
		}
	}
}

// Close stops watching (the state store calls it when the middleware's
// configuration goes away).
func (p *policy) Close() error {
	p.stopOnce.Do(func() {
		close(p.done)
		if p.watcher != nil {
			p.watcher.Close()
		}
	})
	return nil
}
