package decode

import (
	"strconv"
	"strings"

	"github.com/guan-gateway/guan/config"
)

// sep joins path elements into map keys; it does not occur in real keys.
const sep = "\x00"

// Meta records where every key of a decoded document was written, so that
// later validation can point at the offending line.
type Meta struct {
	file string
	pos  map[string]config.Position
}

// NewMeta returns an empty Meta whose fallback position is file.
func NewMeta(file string) *Meta {
	return &Meta{file: file, pos: map[string]config.Position{}}
}

func (m *Meta) set(path []string, p config.Position) {
	m.pos[strings.Join(path, sep)] = p
}

// Pos returns the position of the key at path. Path elements are canonical:
// struct fields by their json tag name ("http", "routers"), map keys exactly,
// list indexes in decimal. When the exact key is unknown (it was defaulted,
// say), the position of its closest known parent is returned; failing that,
// just the file name. Pos is safe to call on a nil Meta.
func (m *Meta) Pos(path ...string) config.Position {
	if m == nil {
		return config.Position{}
	}
	for n := len(path); n > 0; n-- {
		if p, ok := m.pos[strings.Join(path[:n], sep)]; ok {
			return p
		}
	}
	return config.Position{File: m.file}
}

// Has reports whether the key at path was written in the source.
func (m *Meta) Has(path ...string) bool {
	if m == nil {
		return false
	}
	_, ok := m.pos[strings.Join(path, sep)]
	return ok
}

// Merge adds the positions of o that m does not know yet; use it to combine
// the files of a multi-file provider.
func (m *Meta) Merge(o *Meta) {
	if o == nil {
		return
	}
	if m.pos == nil {
		m.pos = make(map[string]config.Position, len(o.pos))
	}
	if m.file == "" {
		m.file = o.file
	}
	for k, p := range o.pos {
		if _, ok := m.pos[k]; !ok {
			m.pos[k] = p
		}
	}
}

// Drop forgets the key at path and every key below it: for a definition
// that is read but not used, whose positions must not mix with the one in
// use when the files are merged.
func (m *Meta) Drop(path ...string) {
	if m == nil {
		return
	}
	key := strings.Join(path, sep)
	for k := range m.pos {
		if k == key || strings.HasPrefix(k, key+sep) {
			delete(m.pos, k)
		}
	}
}

// ShiftIndex renumbers the elements of the list at path by adding by to
// their index. Call it before Merge when lists of several files are
// concatenated (tls.certificates).
func (m *Meta) ShiftIndex(by int, path ...string) {
	if m == nil || by == 0 {
		return
	}
	prefix := strings.Join(path, sep) + sep
	moved := map[string]config.Position{}
	for k, p := range m.pos {
		rest, ok := strings.CutPrefix(k, prefix)
		if !ok {
			continue
		}
		idx, tail, _ := strings.Cut(rest, sep)
		i, err := strconv.Atoi(idx)
		if err != nil {
			continue
		}
		nk := prefix + strconv.Itoa(i+by)
		if tail != "" || strings.Contains(rest, sep) {
			nk += sep + tail
		}
		moved[nk] = p
		delete(m.pos, k)
	}
	for k, p := range moved {
		m.pos[k] = p
	}
}
