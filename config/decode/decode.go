// Package decode reads TOML, YAML and JSON configuration files into the
// configuration structs with the same rules for every format: keys match the
// json tag names case-insensitively, map keys are kept exactly, types are
// checked strictly and unknown keys are errors. Every error carries the
// file:line:col where the offending key or value was written, and all errors of
// a file are reported together. Settings applies the same rules to
// configuration given as command-line flags or environment variables, whose
// values are text converted to the type of their key.
package decode

import (
	"bytes"
	"encoding"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"github.com/guan-gateway/guan/config"
	"github.com/guan-gateway/guan/config/suggest"
)

// Bytes decodes data into the value pointed to by into. The format is chosen
// by the extension of filename (.toml, .yaml, .yml or .json; JSON is read as
// YAML). Keys already set in *into and not present in data keep their values.
// The returned Meta is non-nil whenever the extension is known, even when the
// error is not nil, so callers can place follow-up messages. The error is a
// config.Errors listing every problem.
func Bytes(filename string, data []byte, into any) (*Meta, error) {
	rv := reflect.ValueOf(into)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return nil, fmt.Errorf("decode: target must be a non-nil pointer, got %T", into)
	}
	errs := &errorList{file: filename}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) // UTF-8 byte order mark
	var root *node
	switch ext := strings.ToLower(filepath.Ext(filename)); ext {
	case ".toml":
		root = parseTOML(data, errs)
	case ".yaml", ".yml", ".json":
		root = parseYAML(data, errs)
	default:
		errs.add(pos{}, "unsupported file extension %q: use .toml, .yaml, .yml or .json", ext)
		return nil, errs.list
	}
	meta := NewMeta(filename)
	if root != nil {
		d := decoder{errs: errs, meta: meta}
		d.value(root, rv.Elem())
	}
	return meta, errs.sorted().Err()
}

// File reads and decodes the file at path; see Bytes.
func File(path string, into any) (*Meta, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		var perr *fs.PathError
		if errors.As(err, &perr) {
			err = perr.Err
		}
		return nil, config.Errors{{Pos: config.Position{File: path}, Msg: "cannot read the file: " + err.Error()}}
	}
	return Bytes(path, data, into)
}

type errorList struct {
	file string
	list config.Errors
	at   []pos // where each error of list was found, for sorting
	// names, when set, are the flags or variables of a Settings call:
	// line n of a position is the n-th of them, which the error names.
	names []string
}

// position turns a parser position into a configuration position.
func (e *errorList) position(p pos) config.Position {
	if e.names != nil && p.line >= 1 && p.line <= len(e.names) {
		return config.Position{File: e.names[p.line-1]}
	}
	return config.Position{File: e.file, Line: p.line, Col: p.col}
}

func (e *errorList) add(p pos, format string, args ...any) {
	e.list = append(e.list, &config.Error{
		Pos: e.position(p),
		Msg: fmt.Sprintf(format, args...),
	})
	e.at = append(e.at, p)
}

// sorted orders errors as they appear in the file (or as the settings were
// given).
func (e *errorList) sorted() config.Errors {
	sort.Stable(e)
	return e.list
}

func (e *errorList) Len() int { return len(e.list) }
func (e *errorList) Less(i, j int) bool {
	a, b := e.at[i], e.at[j]
	if a.line != b.line {
		return a.line < b.line
	}
	return a.col < b.col
}
func (e *errorList) Swap(i, j int) {
	e.list[i], e.list[j] = e.list[j], e.list[i]
	e.at[i], e.at[j] = e.at[j], e.at[i]
}

// decoder walks the tree and the Go value side by side.
type decoder struct {
	errs *errorList
	meta *Meta
	path []string // canonical names: json tags, exact map keys, indexes
	disp []string // the same path as shown to users
	// settings is set when decoding flags or environment variables
	// (Settings): values are text converted to the type of their key.
	settings []Setting
}

// flat reports whether the tree comes from flags or environment variables.
func (d *decoder) flat() bool { return d.settings != nil }

func (d *decoder) push(canonical, shown string, at pos) {
	d.path = append(d.path, canonical)
	d.disp = append(d.disp, shown)
	d.meta.set(d.path, d.errs.position(at))
}

func (d *decoder) pop() {
	d.path = d.path[:len(d.path)-1]
	d.disp = d.disp[:len(d.disp)-1]
}

// where renders the current path: http.routers.web.rule, servers[0].url.
func (d *decoder) where() string { return joinShown(d.disp) }

func (d *decoder) fail(p pos, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	// A flag or variable names its key already.
	if w := d.where(); w != "" && !d.flat() {
		msg = w + ": " + msg
	}
	d.errs.add(p, "%s", msg)
}

var (
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
	durationType        = reflect.TypeFor[config.Duration]()
)

func (d *decoder) value(n *node, v reflect.Value) {
	if n.kind == kindText {
		d.textValue(n, v)
		return
	}
	if n.kind == kindNull {
		// An empty section ("compress:" in YAML) enables it with defaults,
		// like "compress: {}"; other empty values leave the default.
		if v.Kind() == reflect.Pointer && v.IsNil() && v.Type().Elem().Kind() == reflect.Struct {
			v.Set(reflect.New(v.Type().Elem()))
		}
		return
	}
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		d.value(n, v.Elem())
		return
	}
	if v.CanAddr() && reflect.PointerTo(v.Type()).Implements(textUnmarshalerType) {
		d.text(n, v)
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		d.structValue(n, v)
	case reflect.Map:
		d.mapValue(n, v)
	case reflect.Slice:
		d.sliceValue(n, v)
	case reflect.String:
		if n.kind != kindString {
			d.mismatch(n, "a string")
			return
		}
		v.SetString(n.str)
	case reflect.Bool:
		if n.kind != kindBool {
			d.mismatch(n, "a boolean (true or false)")
			return
		}
		v.SetBool(n.b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if n.kind != kindInt {
			d.mismatch(n, "an integer")
			return
		}
		if v.OverflowInt(n.i) {
			d.fail(n.pos, "%d is out of range", n.i)
			return
		}
		v.SetInt(n.i)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if n.kind != kindInt {
			d.mismatch(n, "an integer")
			return
		}
		if n.i < 0 || v.OverflowUint(uint64(n.i)) {
			d.fail(n.pos, "%d is out of range", n.i)
			return
		}
		v.SetUint(uint64(n.i))
	case reflect.Float32, reflect.Float64:
		switch n.kind {
		case kindFloat:
			v.SetFloat(n.f)
		case kindInt:
			v.SetFloat(float64(n.i))
		default:
			d.mismatch(n, "a number")
		}
	case reflect.Interface:
		if v.NumMethod() != 0 {
			d.fail(n.pos, "cannot decode into %s", v.Type())
			return
		}
		v.Set(reflect.ValueOf(generic(n)))
	default:
		d.fail(n.pos, "cannot decode into %s", v.Type())
	}
}

// text feeds scalars to an encoding.TextUnmarshaler (config.Duration and
// friends). Integers are passed as decimal text, so a Duration reads them as
// seconds.
func (d *decoder) text(n *node, v reflect.Value) {
	var s string
	switch n.kind {
	case kindString:
		s = n.str
	case kindInt:
		s = strconv.FormatInt(n.i, 10)
	case kindFloat:
		s = n.raw
	default:
		if v.Type() == durationType {
			d.mismatch(n, `a duration ("10s", "1m30s") or a number of seconds`)
		} else {
			d.mismatch(n, "a string")
		}
		return
	}
	if err := v.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(s)); err != nil {
		d.fail(n.pos, "%v", err)
	}
}

func (d *decoder) mismatch(n *node, want string) {
	if d.flat() && n.kind == kindMap {
		d.noSubKeys(n)
		return
	}
	got := describe(n)
	if want == "a string" && (n.kind == kindInt || n.kind == kindFloat || n.kind == kindBool) {
		d.fail(n.pos, "expected a string, got %s (quote it: %q)", got, n.raw)
		return
	}
	d.fail(n.pos, "expected %s, got %s", want, got)
}

func describe(n *node) string {
	switch n.kind {
	case kindString:
		return "string " + strconv.Quote(truncate(n.str))
	case kindInt:
		return "integer " + strconv.FormatInt(n.i, 10)
	case kindFloat:
		return "float " + truncate(n.raw)
	case kindBool:
		return "boolean " + strconv.FormatBool(n.b)
	case kindDateTime:
		return "date-time " + truncate(n.raw)
	case kindMap:
		return "a table"
	case kindList:
		return "a list"
	case kindText:
		return strconv.Quote(truncate(n.str))
	}
	return "null"
}

func truncate(s string) string {
	if len(s) > 40 {
		return s[:37] + "..."
	}
	return s
}

func (d *decoder) structValue(n *node, v reflect.Value) {
	if n.kind != kindMap {
		d.mismatch(n, "a table")
		return
	}
	if d.flat() {
		d.structSettings(n, v)
		return
	}
	info := structInfoOf(v.Type())
	var seen map[string]entry // canonical name -> first entry, to catch "entryPoints" + "entrypoints"
	for _, e := range n.entries {
		f, ok := info.byLower[strings.ToLower(e.key)]
		if !ok {
			d.unknownKey(e, info)
			continue
		}
		if prev, dup := seen[f.name]; dup {
			d.errs.add(e.keyPos, "%s: key %q sets the same value as %q on line %d (keys are case-insensitive)",
				joinShown(append(d.disp, quoteKey(f.name))), e.key, prev.key, prev.keyPos.line)
			continue
		}
		if seen == nil {
			seen = make(map[string]entry, len(n.entries))
		}
		seen[f.name] = e
		d.push(f.name, quoteKey(f.name), e.keyPos)
		d.value(e.val, fieldByIndexAlloc(v, f.index))
		d.pop()
	}
}

func (d *decoder) unknownKey(e entry, info *structInfo) {
	key := joinShown(append(d.disp[:len(d.disp):len(d.disp)], quoteKey(e.key)))
	if msg := unsupportedMessage(d.path, e.key); msg != "" {
		// A Traefik section Guan does not implement: say so rather than
		// suggest a look-alike key.
		d.errs.add(e.keyPos, "%s: %s", key, msg)
		return
	}
	if s, ok := suggest.Closest(e.key, info.names); ok {
		d.errs.add(e.keyPos, "unknown key %q (did you mean %q?)", key, s)
		return
	}
	if len(info.names) <= 20 {
		d.errs.add(e.keyPos, "unknown key %q (valid keys here: %s)", key, strings.Join(info.names, ", "))
		return
	}
	d.errs.add(e.keyPos, "unknown key %q", key)
}

func (d *decoder) mapValue(n *node, v reflect.Value) {
	t := v.Type()
	if t.Key().Kind() != reflect.String {
		d.fail(n.pos, "cannot decode into %s", t)
		return
	}
	if n.kind != kindMap {
		d.mismatch(n, "a table")
		return
	}
	if v.IsNil() {
		v.Set(reflect.MakeMapWithSize(t, len(n.entries)))
	}
	if d.flat() {
		d.mapSettings(n, v)
		return
	}
	for _, e := range n.entries {
		k := reflect.ValueOf(e.key).Convert(t.Key())
		elem := reflect.New(t.Elem()).Elem()
		if old := v.MapIndex(k); old.IsValid() {
			elem.Set(old)
		}
		d.push(e.key, quoteKey(e.key), e.keyPos)
		d.value(e.val, elem)
		d.pop()
		v.SetMapIndex(k, elem)
	}
}

func (d *decoder) sliceValue(n *node, v reflect.Value) {
	if d.flat() && n.kind == kindMap {
		d.indexedSettings(n, v)
		return
	}
	if n.kind != kindList {
		if n.kind == kindString {
			d.fail(n.pos, "expected a list, got %s (write [%q])", describe(n), n.str)
			return
		}
		d.mismatch(n, "a list")
		return
	}
	s := reflect.MakeSlice(v.Type(), len(n.items), len(n.items))
	for i, item := range n.items {
		idx := strconv.Itoa(i)
		d.push(idx, "["+idx+"]", item.pos)
		d.value(item, s.Index(i))
		d.pop()
	}
	v.Set(s)
}

// fieldByIndexAlloc is reflect.Value.FieldByIndex that allocates nil
// embedded pointers on the way.
func fieldByIndexAlloc(v reflect.Value, index []int) reflect.Value {
	for i, x := range index {
		if i > 0 && v.Kind() == reflect.Pointer {
			if v.IsNil() {
				v.Set(reflect.New(v.Type().Elem()))
			}
			v = v.Elem()
		}
		v = v.Field(x)
	}
	return v
}

// generic converts a tree to plain Go values for interface{} targets.
func generic(n *node) any {
	switch n.kind {
	case kindString:
		return n.str
	case kindInt:
		return n.i
	case kindFloat:
		return n.f
	case kindBool:
		return n.b
	case kindDateTime:
		return n.raw
	case kindText:
		return n.str
	case kindMap:
		m := make(map[string]any, len(n.entries))
		for _, e := range n.entries {
			m[e.key] = generic(e.val)
		}
		return m
	case kindList:
		l := make([]any, len(n.items))
		for i, it := range n.items {
			l[i] = generic(it)
		}
		return l
	}
	return nil
}

// quoteKey shows a key as it would be written in a dotted TOML key.
func quoteKey(k string) string {
	if k == "" {
		return `""`
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return strconv.Quote(k)
		}
	}
	return k
}

// joinShown joins display parts; list indexes ("[0]") attach without a dot.
func joinShown(parts []string) string {
	var b strings.Builder
	for i, p := range parts {
		if i > 0 && !strings.HasPrefix(p, "[") {
			b.WriteByte('.')
		}
		b.WriteString(p)
	}
	return b.String()
}

// joinKey renders raw key names for parser-level messages.
func joinKey(parts []string) string {
	shown := make([]string, len(parts))
	for i, p := range parts {
		shown[i] = quoteKey(p)
	}
	return joinShown(shown)
}
