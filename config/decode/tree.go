package decode

import (
	"sort"
	"unicode/utf8"
)

// kind is the type of a value in the format-neutral tree both parsers produce.
type kind uint8

const (
	kindNull kind = iota
	kindString
	kindInt
	kindFloat
	kindBool
	kindMap
	kindList
	kindDateTime // TOML dates and YAML timestamps: no config field accepts them
	kindText     // the value of a flag or variable: converted to the key's type
)

func (k kind) String() string {
	switch k {
	case kindNull:
		return "null"
	case kindString:
		return "string"
	case kindInt:
		return "integer"
	case kindFloat:
		return "float"
	case kindBool:
		return "boolean"
	case kindMap:
		return "table"
	case kindList:
		return "list"
	case kindDateTime:
		return "date-time"
	case kindText:
		return "text"
	}
	return "value"
}

// pos is a 1-based line and column inside one source file.
type pos struct{ line, col int }

// node is one value of a parsed document with the place it was written.
type node struct {
	kind    kind
	pos     pos
	raw     string // source text of a scalar, for messages and text decoding
	str     string // kindString
	i       int64  // kindInt
	f       float64
	b       bool
	bare    bool    // kindText: a flag without "=value"
	entries []entry // kindMap, in document order
	items   []*node // kindList
}

// entry is one key of a table/mapping.
type entry struct {
	key    string
	keyPos pos
	val    *node
}

func (n *node) lookup(key string) *entry {
	for i := range n.entries {
		if n.entries[i].key == key {
			return &n.entries[i]
		}
	}
	return nil
}

// lineIndex converts byte offsets to line and column (columns count runes,
// as editors do).
type lineIndex struct {
	data   []byte
	starts []int // byte offset of the first byte of each line
}

func newLineIndex(data []byte) *lineIndex {
	li := &lineIndex{data: data, starts: []int{0}}
	for i, c := range data {
		if c == '\n' {
			li.starts = append(li.starts, i+1)
		}
	}
	return li
}

func (li *lineIndex) pos(offset int) pos {
	if offset < 0 {
		offset = 0
	}
	if offset > len(li.data) {
		offset = len(li.data)
	}
	// The line is the last start <= offset.
	line := sort.Search(len(li.starts), func(i int) bool { return li.starts[i] > offset }) - 1
	col := utf8.RuneCount(li.data[li.starts[line]:offset]) + 1
	return pos{line: line + 1, col: col}
}
