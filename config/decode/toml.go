package decode

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/pelletier/go-toml/v2/unstable"
)

// TOML table flags: which tables may still be extended, and how.
const (
	tomlExplicit    uint8 = 1 << iota // opened by a [header]
	tomlInline                        // inline table: immutable once written
	tomlArrayTables                   // list built by [[header]]
)

type tomlBuilder struct {
	p     unstable.Parser
	li    *lineIndex
	errs  *errorList
	flags map[*node]uint8
}

// parseTOML turns a TOML document into a positioned tree. Syntax errors stop
// parsing (nothing after them can be trusted); redefinitions are reported and
// skipped.
func parseTOML(data []byte, errs *errorList) *node {
	b := &tomlBuilder{li: newLineIndex(data), errs: errs, flags: map[*node]uint8{}}
	b.p.Reset(data)
	root := &node{kind: kindMap, pos: pos{1, 1}}
	cur, curPath := root, []string(nil)
	for b.p.NextExpression() {
		expr := b.p.Expression()
		switch expr.Kind {
		case unstable.KeyValue:
			b.keyValue(cur, curPath, expr)
		case unstable.Table, unstable.ArrayTable:
			parts := b.keyParts(expr.Key())
			curPath = names(parts)
			if cur = b.header(root, parts, expr.Kind == unstable.ArrayTable); cur == nil {
				// Swallow the keys of a rejected table so they don't
				// produce follow-up errors elsewhere.
				cur = &node{kind: kindMap}
			}
		}
	}
	if err := b.p.Error(); err != nil {
		b.syntaxError(data, err)
		return nil
	}
	return root
}

func (b *tomlBuilder) syntaxError(data []byte, err error) {
	var perr *unstable.ParserError
	if !errors.As(err, &perr) {
		b.errs.add(pos{}, "TOML syntax error: %v", err)
		return
	}
	offset := len(data)
	if perr.Highlight != nil {
		offset = cap(data) - cap(perr.Highlight)
	}
	b.errs.add(b.li.pos(offset), "TOML syntax error: %s", perr.Message)
}

type keyPart struct {
	name string
	pos  pos
}

func names(parts []keyPart) []string {
	out := make([]string, len(parts))
	for i, p := range parts {
		out[i] = p.name
	}
	return out
}

func (b *tomlBuilder) keyParts(it unstable.Iterator) []keyPart {
	var parts []keyPart
	for it.Next() {
		k := it.Node()
		parts = append(parts, keyPart{name: string(k.Data), pos: b.li.pos(int(k.Raw.Offset))})
	}
	return parts
}

// header opens [a.b.c] or appends to [[a.b.c]] and returns the table that
// following key/values go into, or nil when the header conflicts.
func (b *tomlBuilder) header(root *node, parts []keyPart, arrayTable bool) *node {
	t := root
	for i, k := range parts {
		last := i == len(parts)-1
		e := t.lookup(k.name)
		if e == nil {
			child := &node{kind: kindMap, pos: k.pos}
			if last && arrayTable {
				list := &node{kind: kindList, pos: k.pos, items: []*node{child}}
				b.flags[list] = tomlArrayTables
				t.entries = append(t.entries, entry{key: k.name, keyPos: k.pos, val: list})
				return child
			}
			if last {
				b.flags[child] = tomlExplicit
			}
			t.entries = append(t.entries, entry{key: k.name, keyPos: k.pos, val: child})
			t = child
			continue
		}
		v, f := e.val, b.flags[e.val]
		switch {
		case v.kind == kindList && f&tomlArrayTables != 0 && last && arrayTable:
			child := &node{kind: kindMap, pos: k.pos}
			v.items = append(v.items, child)
			return child
		case v.kind == kindList && f&tomlArrayTables != 0 && !last:
			t = v.items[len(v.items)-1]
		case v.kind == kindMap && f&tomlInline == 0 && !arrayTable:
			if last {
				if f&tomlExplicit != 0 {
					b.errs.add(k.pos, "table [%s] is defined twice (first at line %d)", joinKey(names(parts)), e.keyPos.line)
					return nil
				}
				b.flags[v] = f | tomlExplicit
			}
			t = v
		case v.kind == kindMap && f&tomlInline == 0 && !last:
			t = v
		default:
			b.errs.add(k.pos, "%q is already defined as a %s at line %d: it cannot also be a table", joinKey(names(parts[:i+1])), v.kind, e.keyPos.line)
			return nil
		}
	}
	return t
}

// keyValue sets a (possibly dotted) key inside table t.
func (b *tomlBuilder) keyValue(t *node, prefix []string, kv *unstable.Node) {
	parts := b.keyParts(kv.Key())
	if len(parts) == 0 {
		return
	}
	full := func(n int) string { return joinKey(append(append([]string(nil), prefix...), names(parts[:n])...)) }
	for i, k := range parts[:len(parts)-1] {
		e := t.lookup(k.name)
		if e == nil {
			child := &node{kind: kindMap, pos: k.pos}
			t.entries = append(t.entries, entry{key: k.name, keyPos: k.pos, val: child})
			t = child
			continue
		}
		if e.val.kind != kindMap || b.flags[e.val]&tomlInline != 0 {
			b.errs.add(k.pos, "%q is already defined at line %d and cannot be extended", full(i+1), e.keyPos.line)
			return
		}
		t = e.val
	}
	k := parts[len(parts)-1]
	if e := t.lookup(k.name); e != nil {
		b.errs.add(k.pos, "duplicate key %q (first defined at line %d)", full(len(parts)), e.keyPos.line)
		return
	}
	path := append(append([]string(nil), prefix...), names(parts)...)
	t.entries = append(t.entries, entry{key: k.name, keyPos: k.pos, val: b.value(kv.Value(), k.pos, path)})
}

func (b *tomlBuilder) value(v *unstable.Node, fallback pos, path []string) *node {
	p := fallback
	if v.Raw.Length > 0 {
		p = b.li.pos(int(v.Raw.Offset))
	}
	n := &node{pos: p, raw: string(v.Data)}
	switch v.Kind {
	case unstable.String:
		n.kind, n.str = kindString, n.raw
	case unstable.Bool:
		n.kind, n.b = kindBool, n.raw == "true"
	case unstable.Integer:
		i, err := parseTOMLInt(n.raw)
		if err != nil {
			b.errs.add(p, "%s: integer %s is out of range", joinKey(path), n.raw)
			return &node{kind: kindNull, pos: p}
		}
		n.kind, n.i = kindInt, i
	case unstable.Float:
		f, err := strconv.ParseFloat(strings.ReplaceAll(n.raw, "_", ""), 64)
		if err != nil && !errors.Is(err, strconv.ErrRange) {
			b.errs.add(p, "%s: invalid float %s", joinKey(path), n.raw)
			return &node{kind: kindNull, pos: p}
		}
		n.kind, n.f = kindFloat, f
	case unstable.Array:
		n.kind, n.raw = kindList, ""
		it := v.Children()
		for i := 0; it.Next(); i++ {
			c := it.Node()
			if c.Kind == unstable.Comment {
				continue
			}
			n.items = append(n.items, b.value(c, p, append(path, strconv.Itoa(i))))
		}
	case unstable.InlineTable:
		n.kind, n.raw = kindMap, ""
		it := v.Children()
		for it.Next() {
			if c := it.Node(); c.Kind == unstable.KeyValue {
				b.keyValue(n, path, c)
			}
		}
		b.flags[n] = tomlInline
		// Dotted keys inside the inline table created sub-tables: freeze them too.
		freeze(n, b.flags)
	default: // dates and times
		n.kind = kindDateTime
	}
	return n
}

func freeze(n *node, flags map[*node]uint8) {
	for _, e := range n.entries {
		if e.val.kind == kindMap {
			flags[e.val] |= tomlInline
			freeze(e.val, flags)
		}
	}
}

func parseTOMLInt(raw string) (int64, error) {
	s := strings.ReplaceAll(raw, "_", "")
	base := 10
	if len(s) > 2 && s[0] == '0' {
		switch s[1] {
		case 'x':
			base = 16
		case 'o':
			base = 8
		case 'b':
			base = 2
		}
		if base != 10 {
			s = s[2:]
		}
	}
	if base != 10 {
		u, err := strconv.ParseUint(s, base, 64)
		if err != nil || u > 1<<63-1 {
			return 0, fmt.Errorf("out of range")
		}
		return int64(u), nil
	}
	return strconv.ParseInt(s, 10, 64)
}
