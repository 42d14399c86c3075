package file

import (
	"errors"
	"fmt"
	"hash"
	"hash/fnv"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/guan-gateway/guan/config"
	"github.com/guan-gateway/guan/config/decode"
	"github.com/guan-gateway/guan/config/dynamic"
	"github.com/guan-gateway/guan/providers"
)

// Name is the provider name used in messages and in "name@file" references.
const Name = "file"

// load reads the configured source once. The digest covers the list of
// files and their bytes, so the watcher can skip reloads that change nothing.
func (p *Provider) load() (providers.Message, uint64) {
	msg := providers.Message{Provider: Name}
	h := fnv.New64a()
	var files []string
	source := p.cfg.Filename
	switch {
	case p.cfg.Filename != "" && p.cfg.Directory != "":
		return p.fail(msg, h, config.Errors{{Msg: `set only one of "filename" and "directory"`}})
	case p.cfg.Filename != "":
		files = []string{p.cfg.Filename}
		msg.BaseDir = filepath.Dir(p.cfg.Filename)
	case p.cfg.Directory != "":
		source = p.cfg.Directory
		msg.BaseDir = p.cfg.Directory
		var err error
		if files, err = listFiles(p.cfg.Directory); err != nil {
			return p.fail(msg, h, config.Errors{{Pos: config.Position{File: p.cfg.Directory}, Msg: "cannot read the directory: " + unwrapPath(err).Error()}})
		}
	default:
		return p.fail(msg, h, config.Errors{{Msg: `set "filename" or "directory"`}})
	}
	if abs, err := filepath.Abs(msg.BaseDir); err == nil {
		msg.BaseDir = abs
	}

	m := merger{dst: &dynamic.Configuration{}, meta: decode.NewMeta(source)}
	for _, f := range files {
		h.Write([]byte(f))
		h.Write([]byte{0})
		data, err := os.ReadFile(f)
		if err != nil {
			m.errs = append(m.errs, &config.Error{Pos: config.Position{File: f}, Msg: "cannot read the file: " + unwrapPath(err).Error()})
			h.Write([]byte(err.Error()))
			continue
		}
		h.Write(data)
		h.Write([]byte{0})
		data, templated, err := render(f, data)
		if err != nil {
			m.errs = append(m.errs, err.(*config.Error))
			continue
		}
		if templated && p.cfg.DebugLogGeneratedTemplate {
			p.log.Debug("file provider: generated configuration", "file", f, "content", string(data))
		}
		var c dynamic.Configuration
		fm, err := decode.Bytes(f, data, &c)
		if err != nil {
			var errs config.Errors
			if !errors.As(err, &errs) {
				errs = config.Errors{{Pos: config.Position{File: f}, Msg: err.Error()}}
			}
			if templated {
				for _, e := range errs {
					e.Msg += " (positions are in the file as its template generated it)"
				}
			}
			m.errs = append(m.errs, errs...)
			continue
		}
		m.add(&c, fm)
	}
	msg.Meta = m.meta
	for _, w := range m.warns {
		msg.Warnings = append(msg.Warnings, &providers.Error{Provider: Name, Err: w})
		p.log.Warn("file provider: "+w.Msg, "at", w.Pos.String())
	}
	if len(m.errs) > 0 {
		msg.Err = &providers.Error{Provider: Name, Err: m.errs}
		return msg, h.Sum64()
	}
	msg.Config = m.dst
	return msg, h.Sum64()
}

func (p *Provider) fail(msg providers.Message, h hash.Hash64, errs config.Errors) (providers.Message, uint64) {
	msg.Err = &providers.Error{Provider: Name, Err: errs}
	h.Write([]byte(errs.Error()))
	return msg, h.Sum64()
}

func unwrapPath(err error) error {
	var perr *fs.PathError
	if errors.As(err, &perr) {
		return perr.Err
	}
	return err
}

// isConfigFile reports whether a directory entry is read: a .toml, .yaml,
// .yml or .json file that is neither hidden nor an editor's temporary file.
func isConfigFile(name string) bool {
	if strings.HasPrefix(name, ".") || strings.HasPrefix(name, "#") || strings.HasSuffix(name, "~") {
		return false
	}
	switch strings.ToLower(filepath.Ext(name)) {
	case ".toml", ".yaml", ".yml", ".json":
		return true
	}
	return false
}

// listFiles returns the configuration files under dir, recursively, in
// lexical order. Hidden directories are skipped (this includes the "..data"
// directories of Kubernetes ConfigMap volumes; their files are reached
// through the visible symlinks).
func listFiles(dir string) ([]string, error) {
	var files []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if path == dir {
				return err
			}
			return nil // vanished while walking: the next event reloads
		}
		if d.IsDir() {
			if path != dir && strings.HasPrefix(d.Name(), ".") {
				return filepath.SkipDir
			}
			return nil
		}
		if !isConfigFile(d.Name()) {
			return nil
		}
		if d.Type()&fs.ModeSymlink != 0 {
			fi, err := os.Stat(path)
			if err != nil || !fi.Mode().IsRegular() {
				return nil
			}
		} else if !d.Type().IsRegular() {
			return nil
		}
		files = append(files, path)
		return nil
	})
	return files, err
}

// merger combines the files of a directory. A name defined in two files
// keeps its first definition (files in lexical order) with a warning, as
// Traefik does; TLS certificates are concatenated.
type merger struct {
	dst   *dynamic.Configuration
	meta  *decode.Meta
	errs  config.Errors
	warns []*config.Error
}

func (m *merger) add(c *dynamic.Configuration, fm *decode.Meta) {
	if h := c.HTTP; h != nil {
		if m.dst.HTTP == nil {
			m.dst.HTTP = &dynamic.HTTPConfiguration{}
		}
		d := m.dst.HTTP
		mergeNamed(m, &d.Routers, h.Routers, fm, "HTTP router", "http", "routers")
		mergeNamed(m, &d.Services, h.Services, fm, "HTTP service", "http", "services")
		mergeNamed(m, &d.Middlewares, h.Middlewares, fm, "HTTP middleware", "http", "middlewares")
		mergeNamed(m, &d.ServersTransports, h.ServersTransports, fm, "servers transport", "http", "serversTransports")
	}
	if t := c.TCP; t != nil {
		if m.dst.TCP == nil {
			m.dst.TCP = &dynamic.TCPConfiguration{}
		}
		d := m.dst.TCP
		mergeNamed(m, &d.Routers, t.Routers, fm, "TCP router", "tcp", "routers")
		mergeNamed(m, &d.Services, t.Services, fm, "TCP service", "tcp", "services")
		mergeNamed(m, &d.Middlewares, t.Middlewares, fm, "TCP middleware", "tcp", "middlewares")
		mergeNamed(m, &d.ServersTransports, t.ServersTransports, fm, "TCP servers transport", "tcp", "serversTransports")
	}
	if q := c.MQTT; q != nil {
		if m.dst.MQTT == nil {
			m.dst.MQTT = &dynamic.MQTTConfiguration{}
		}
		d := m.dst.MQTT
		mergeNamed(m, &d.Routers, q.Routers, fm, "MQTT router", "mqtt", "routers")
		mergeNamed(m, &d.Services, q.Services, fm, "MQTT service", "mqtt", "services")
		mergeNamed(m, &d.Middlewares, q.Middlewares, fm, "MQTT middleware", "mqtt", "middlewares")
	}
	if t := c.TLS; t != nil {
		if m.dst.TLS == nil {
			m.dst.TLS = &dynamic.TLSConfiguration{}
		}
		d := m.dst.TLS
		fm.ShiftIndex(len(d.Certificates), "tls", "certificates")
		d.Certificates = append(d.Certificates, t.Certificates...)
		mergeNamed(m, &d.Options, t.Options, fm, "TLS option", "tls", "options")
		mergeNamed(m, &d.Stores, t.Stores, fm, "TLS store", "tls", "stores")
	}
	m.meta.Merge(fm)
}

func mergeNamed[V any](m *merger, dst *map[string]V, src map[string]V, fm *decode.Meta, what string, section ...string) {
	names := make([]string, 0, len(src))
	for name := range src {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if *dst == nil {
			*dst = make(map[string]V, len(src))
		}
		if _, dup := (*dst)[name]; dup {
			at := append(append([]string(nil), section...), name)
			m.warns = append(m.warns, &config.Error{
				Pos: fm.Pos(at...),
				Msg: fmt.Sprintf("%s %q is already defined at %s: this definition is skipped; rename one of them", what, name, m.meta.Pos(at...)),
			})
			fm.Drop(at...) // positions keep pointing at the definition in use
			continue
		}
		(*dst)[name] = src[name]
	}
}
