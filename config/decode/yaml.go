package decode

import (
	"fmt"
	"math"
	"regexp"
	"strconv"

	yaml "go.yaml.in/yaml/v3"
)

// maxYAMLNodes bounds the tree built from a YAML document so that aliases
// referring to aliases ("billion laughs") cannot blow up memory or time.
const maxYAMLNodes = 1 << 20

type yamlBuilder struct {
	errs  *errorList
	nodes int
	depth int
}

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// parseYAML turns a YAML (or JSON) document into a positioned tree.
func parseYAML(data []byte, errs *errorList) (root *node) {
	var doc yaml.Node
	if err := safeYAMLUnmarshal(data, &doc); err != nil {
		msg := err.Error()
		p := pos{}
		if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
			p.line, _ = strconv.Atoi(m[1])
			msg = m[2]
		}
		errs.add(p, "YAML syntax error: %s", msg)
		return nil
	}
	top := &doc
	if top.Kind == yaml.DocumentNode {
		if len(top.Content) == 0 {
			return &node{kind: kindMap, pos: pos{1, 1}}
		}
		top = top.Content[0]
	}
	if top.Kind == 0 { // empty document
		return &node{kind: kindMap, pos: pos{1, 1}}
	}
	b := &yamlBuilder{errs: errs}
	n := b.convert(top, nil)
	if n == nil {
		return nil
	}
	if n.kind == kindNull {
		return &node{kind: kindMap, pos: n.pos}
	}
	if n.kind != kindMap {
		errs.add(n.pos, "the document must be a mapping of keys to values, got a %s", n.kind)
		return nil
	}
	return n
}

// safeYAMLUnmarshal turns a parser panic on hostile input into an error: a
// bad file must never take the gateway down.
func safeYAMLUnmarshal(data []byte, out *yaml.Node) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("yaml: unreadable document (%v)", r)
		}
	}()
	return yaml.Unmarshal(data, out)
}

func yamlPos(n *yaml.Node) pos { return pos{line: n.Line, col: n.Column} }

func (b *yamlBuilder) convert(y *yaml.Node, path []string) *node {
	b.nodes++
	if b.nodes > maxYAMLNodes {
		if b.nodes == maxYAMLNodes+1 {
			b.errs.add(yamlPos(y), "document expands to more than %d values (too many aliases?)", maxYAMLNodes)
		}
		return nil
	}
	b.depth++
	defer func() { b.depth-- }()
	if b.depth > 1000 {
		b.errs.add(yamlPos(y), "%s: values are nested too deeply", joinKey(path))
		return nil
	}
	switch y.Kind {
	case yaml.AliasNode:
		if y.Alias == nil {
			return &node{kind: kindNull, pos: yamlPos(y)}
		}
		n := b.convert(y.Alias, path)
		if n != nil {
			// Point at the alias, not the anchor, for mismatches.
			c := *n
			c.pos = yamlPos(y)
			return &c
		}
		return nil
	case yaml.DocumentNode:
		if len(y.Content) == 0 {
			return &node{kind: kindNull, pos: yamlPos(y)}
		}
		return b.convert(y.Content[0], path)
	case yaml.SequenceNode:
		n := &node{kind: kindList, pos: yamlPos(y), items: make([]*node, 0, len(y.Content))}
		for i, c := range y.Content {
			if item := b.convert(c, append(path, strconv.Itoa(i))); item != nil {
				n.items = append(n.items, item)
			}
		}
		return n
	case yaml.MappingNode:
		return b.mapping(y, path)
	case yaml.ScalarNode:
		return b.scalar(y, path)
	}
	b.errs.add(yamlPos(y), "%s: unsupported YAML node", joinKey(path))
	return nil
}

func (b *yamlBuilder) mapping(y *yaml.Node, path []string) *node {
	n := &node{kind: kindMap, pos: yamlPos(y)}
	var merges []*node
	for i := 0; i+1 < len(y.Content); i += 2 {
		k, v := y.Content[i], y.Content[i+1]
		for k.Kind == yaml.AliasNode && k.Alias != nil {
			k = k.Alias
		}
		if k.Kind != yaml.ScalarNode {
			b.errs.add(yamlPos(k), "%s: keys must be plain strings", joinKey(path))
			continue
		}
		if k.ShortTag() == "!!merge" {
			if m := b.convert(v, path); m != nil {
				merges = append(merges, m)
			}
			continue
		}
		if prev := n.lookup(k.Value); prev != nil {
			b.errs.add(yamlPos(k), "duplicate key %q (first defined at line %d)", joinKey(append(path, k.Value)), prev.keyPos.line)
			continue
		}
		val := b.convert(v, append(path, k.Value))
		if val == nil {
			continue
		}
		n.entries = append(n.entries, entry{key: k.Value, keyPos: yamlPos(k), val: val})
	}
	// "<<: *base" fills in keys the mapping does not set itself.
	for _, m := range merges {
		srcs := []*node{m}
		if m.kind == kindList {
			srcs = m.items
		}
		for _, src := range srcs {
			if src.kind != kindMap {
				b.errs.add(src.pos, "%s: \"<<\" must merge a mapping or a list of mappings", joinKey(path))
				continue
			}
			for _, e := range src.entries {
				if n.lookup(e.key) == nil {
					n.entries = append(n.entries, e)
				}
			}
		}
	}
	return n
}

func (b *yamlBuilder) scalar(y *yaml.Node, path []string) *node {
	n := &node{pos: yamlPos(y), raw: y.Value}
	switch y.ShortTag() {
	case "!!null":
		n.kind = kindNull
	case "!!bool":
		if err := y.Decode(&n.b); err != nil {
			b.errs.add(n.pos, "%s: invalid boolean %q", joinKey(path), y.Value)
			return nil
		}
		n.kind = kindBool
	case "!!int":
		if err := y.Decode(&n.i); err != nil {
			b.errs.add(n.pos, "%s: integer %s is out of range", joinKey(path), y.Value)
			return nil
		}
		n.kind = kindInt
	case "!!float":
		if err := y.Decode(&n.f); err != nil || math.IsInf(n.f, 0) && !isInfLiteral(y.Value) {
			b.errs.add(n.pos, "%s: invalid float %q", joinKey(path), y.Value)
			return nil
		}
		n.kind = kindFloat
	case "!!timestamp":
		n.kind = kindDateTime
	default: // !!str, !!binary and custom tags keep their text
		n.kind, n.str = kindString, y.Value
	}
	return n
}

func isInfLiteral(s string) bool {
	switch s {
	case ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF":
		return true
	}
	return false
}
