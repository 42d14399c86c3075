package decode

import (
	"encoding"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"github.com/guan-gateway/guan/config/suggest"
)

// Setting is one key of a configuration given as a path and a text value:
// a command-line flag ("--entryPoints.web.address=:80") or an environment
// variable ("GUAN_ENTRYPOINTS_WEB_ADDRESS=:80"). Settings converts the text
// to the type of the key.
type Setting struct {
	// Name is the flag or variable as written, without its value; errors
	// name it.
	Name string
	// Path holds the elements of the key: struct keys (matched
	// case-insensitively), map keys (kept exactly) and list indexes.
	Path  []string
	Value string
	// Bare marks a flag written without "=value": it means true for a
	// boolean and enables a section with its defaults.
	Bare bool

	spans []span // where each element of Path is written in Name
	upper bool   // an environment variable: hints are written in upper case
	err   string // the name does not parse
}

type span struct{ start, end int }

// Flag parses a command-line flag: one or two dashes, the key's elements
// separated by dots, list indexes as "[n]" or ".n", then "=value" or
// nothing (Bare). A malformed flag is reported when the settings are
// decoded.
func Flag(arg string) Setting {
	name, value, hasValue := strings.Cut(arg, "=")
	s := Setting{Name: name, Value: value, Bare: !hasValue}
	start := 0
	for start < 2 && start < len(name) && name[start] == '-' {
		start++
	}
	if start == 0 || start == len(name) {
		s.err = fmt.Sprintf("bad flag syntax: write --KEY=VALUE, got %q", arg)
		return s
	}
	i := start
	for {
		j := i
		for j < len(name) && name[j] != '.' && name[j] != '[' && name[j] != ']' {
			j++
		}
		if j == i {
			s.err = "empty key: write the elements of the key separated by single dots, like --entryPoints.web.address"
			return s
		}
		s.add(name, i, j)
		for j < len(name) && name[j] == '[' {
			k := strings.IndexByte(name[j:], ']')
			if k < 0 || !isIndex(name[j+1:j+k]) {
				s.err = `bad list index: write it as [0], [1], ...`
				return s
			}
			s.add(name, j+1, j+k)
			j += k + 1
		}
		if j == len(name) {
			return s
		}
		if name[j] != '.' || j+1 == len(name) {
			s.err = "bad key syntax: write the elements of the key separated by dots and list indexes as [0], like --entryPoints.web.forwardedHeaders.trustedIPs[0]"
			return s
		}
		i = j + 1
	}
}

// EnvVar parses an environment variable named prefix + elements separated
// by "_", like GUAN_ENTRYPOINTS_WEB_ADDRESS. Elements are lower-cased, so
// map keys (entrypoint names) come out lower-case, as in Traefik; a
// numeric element indexes a list (GUAN_..._TRUSTEDIPS_0).
func EnvVar(prefix, name, value string) Setting {
	s := Setting{Name: name, Value: value, upper: true}
	if !strings.HasPrefix(name, prefix) || len(name) == len(prefix) {
		s.err = fmt.Sprintf("the name must be %s followed by the key", prefix)
		return s
	}
	i := len(prefix)
	for {
		j := strings.IndexByte(name[i:], '_')
		if j < 0 {
			j = len(name)
		} else {
			j += i
		}
		if j == i {
			s.err = `empty key: separate the elements of the key with single "_"`
			return s
		}
		s.add(name, i, j)
		s.Path[len(s.Path)-1] = strings.ToLower(s.Path[len(s.Path)-1])
		if j == len(name) {
			return s
		}
		i = j + 1
	}
}

func (s *Setting) add(name string, start, end int) {
	s.Path = append(s.Path, name[start:end])
	s.spans = append(s.spans, span{start, end})
}

func isIndex(s string) bool {
	if s == "" || len(s) > 9 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// written returns element i of the path as the user wrote it.
func (s *Setting) written(i int) string {
	if i < len(s.spans) {
		return s.Name[s.spans[i].start:s.spans[i].end]
	}
	if i < len(s.Path) {
		return s.Path[i]
	}
	return ""
}

// replaced renders the name with element i of the path replaced by key:
// the flag or variable the user probably meant.
func (s *Setting) replaced(i int, key string) string {
	if s.upper {
		key = strings.ToUpper(key)
	}
	if i >= len(s.spans) {
		return strconv.Quote(key)
	}
	return s.Name[:s.spans[i].start] + key + s.Name[s.spans[i].end:]
}

// Environ returns the settings of the variables in environ (KEY=VALUE
// strings) named by one of prefixes followed by a top-level key of into,
// sorted by name. As in Traefik, other variables with the prefix are
// ignored, except those whose first element is a likely misspelling of a
// top-level key: decoding reports them with a suggestion.
func Environ(environ []string, prefixes []string, into any) []Setting {
	t := reflect.TypeOf(into)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	info := structInfoOf(t)
	var out []Setting
	for _, kv := range environ {
		name, value, _ := strings.Cut(kv, "=")
		for _, prefix := range prefixes {
			if !strings.HasPrefix(name, prefix) || len(name) == len(prefix) {
				continue
			}
			first, _, _ := strings.Cut(name[len(prefix):], "_")
			if _, ok := info.byLower[strings.ToLower(first)]; !ok {
				if _, near := suggest.Closest(first, info.names); !near {
					continue
				}
			}
			out = append(out, EnvVar(prefix, name, value))
			break
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// IsSwitch reports whether path names a boolean or a section in the type of
// into: a flag for it written without "=value" takes no value from the next
// argument. Unknown paths are not switches.
func IsSwitch(into any, path []string) bool {
	if len(path) == 0 {
		return true
	}
	t := reflect.TypeOf(into)
	for _, el := range path {
		t = derefType(t)
		switch t.Kind() {
		case reflect.Struct:
			if isTextType(t) {
				return false
			}
			f, ok := structInfoOf(t).byLower[strings.ToLower(el)]
			if !ok {
				return false
			}
			t = t.FieldByIndex(f.index).Type
		case reflect.Map, reflect.Slice:
			t = t.Elem()
		default:
			return false
		}
	}
	t = derefType(t)
	if isTextType(t) {
		return false
	}
	switch t.Kind() {
	case reflect.Bool, reflect.Struct, reflect.Map:
		return true
	}
	return false
}

func derefType(t reflect.Type) reflect.Type {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}

func isTextType(t reflect.Type) bool {
	return t.Kind() != reflect.Pointer && reflect.PointerTo(t).Implements(textUnmarshalerType)
}

// isSection reports whether t (pointers removed) holds keys below it.
func isSection(t reflect.Type) bool {
	t = derefType(t)
	return !isTextType(t) && (t.Kind() == reflect.Struct || t.Kind() == reflect.Map)
}

// Settings decodes flags or environment variables into the value pointed
// to by into, with the rules of the file formats: struct keys match the
// json tags case-insensitively, map keys are kept exactly, unknown keys are
// errors with a suggestion. Values are converted from text to the type of
// their key: booleans (strconv.ParseBool), numbers, durations ("10s" or
// seconds), lists (comma-separated, or one setting per index). A bare
// setting is true for a boolean and enables a section with its defaults;
// "false" leaves a section off. A key set twice is an error, except a list
// given by repeated flags, whose values add up.
//
// Errors are positioned by the Name of the setting at fault (Line 0);
// source names the settings as a whole in the Meta ("flags").
func Settings(source string, settings []Setting, into any) (*Meta, error) {
	rv := reflect.ValueOf(into)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return nil, fmt.Errorf("decode: target must be a non-nil pointer, got %T", into)
	}
	names := make([]string, len(settings))
	errs := &errorList{file: source, names: names}
	root := &node{kind: kindMap}
	for i, s := range settings {
		names[i] = s.Name
		p := pos{line: i + 1}
		switch {
		case s.err != "":
			errs.add(p, "%s", s.err)
		case len(s.Path) == 0:
			errs.add(p, "no key given")
		default:
			insertSetting(root, s, p)
		}
	}
	meta := NewMeta(source)
	d := decoder{errs: errs, meta: meta, settings: settings}
	d.value(root, rv.Elem())
	return meta, errs.sorted().Err()
}

// insertSetting adds one setting to the tree: one table per element, shared
// with the settings whose elements are written the same; the value is
// always a new entry, so settings of the same key meet when decoded.
func insertSetting(root *node, s Setting, p pos) {
	n := root
	for _, el := range s.Path[:len(s.Path)-1] {
		var next *node
		for i := range n.entries {
			if e := &n.entries[i]; e.key == el && e.val.kind == kindMap {
				next = e.val
				break
			}
		}
		if next == nil {
			next = &node{kind: kindMap, pos: p}
			n.entries = append(n.entries, entry{key: el, keyPos: p, val: next})
		}
		n = next
	}
	last := s.Path[len(s.Path)-1]
	n.entries = append(n.entries, entry{key: last, keyPos: p,
		val: &node{kind: kindText, pos: p, str: s.Value, raw: s.Value, bare: s.Bare}})
}

// setting returns the flag or variable a node comes from.
func (d *decoder) setting(n *node) *Setting { return &d.settings[n.pos.line-1] }

// structSettings decodes a table of settings into a struct: keys that are
// the same but for case (--entryPoints.a.address, --entrypoints.b.address)
// are grouped, so they add up instead of clashing.
func (d *decoder) structSettings(n *node, v reflect.Value) {
	info := structInfoOf(v.Type())
	groups := map[string][]entry{}
	var order []string
	for _, e := range n.entries {
		f, ok := info.byLower[strings.ToLower(e.key)]
		if !ok {
			d.unknownSetting(e, info.names)
			continue
		}
		if _, seen := groups[f.name]; !seen {
			order = append(order, f.name)
		}
		groups[f.name] = append(groups[f.name], e)
	}
	for _, name := range order {
		g := groups[name]
		f := info.byLower[strings.ToLower(name)]
		d.push(f.name, quoteKey(f.name), g[0].keyPos)
		d.group(g, fieldByIndexAlloc(v, f.index))
		d.pop()
	}
}

// mapSettings decodes a table of settings into a map (made by the caller).
func (d *decoder) mapSettings(n *node, v reflect.Value) {
	t := v.Type()
	groups := map[string][]entry{}
	var order []string
	for _, e := range n.entries {
		if _, seen := groups[e.key]; !seen {
			order = append(order, e.key)
		}
		groups[e.key] = append(groups[e.key], e)
	}
	for _, key := range order {
		g := groups[key]
		k := reflect.ValueOf(key).Convert(t.Key())
		elem := reflect.New(t.Elem()).Elem()
		if old := v.MapIndex(k); old.IsValid() {
			elem.Set(old)
		}
		d.push(key, quoteKey(key), g[0].keyPos)
		d.group(g, elem)
		d.pop()
		v.SetMapIndex(k, elem)
	}
}

// indexedSettings decodes list elements set one by one
// (trustedIPs[0]=..., trustedIPs[1]=...) into a slice.
func (d *decoder) indexedSettings(n *node, v reflect.Value) {
	byIndex := map[int][]entry{}
	for _, e := range n.entries {
		if !isIndex(e.key) {
			d.badKey(e, "%s is a list: set it whole (comma-separated) or by element index ([0], [1], ...)", joinShown(d.disp))
			continue
		}
		i, _ := strconv.Atoi(e.key)
		byIndex[i] = append(byIndex[i], e)
	}
	count := len(byIndex)
	gap := false
	for i, g := range byIndex {
		if i >= count {
			for _, e := range g {
				for _, leaf := range leaves(e.val) {
					d.fail(leaf.pos, "index %d leaves a gap: number the elements of %s 0, 1, 2, ... in order", i, joinShown(d.disp))
				}
			}
			gap = true
		}
	}
	if gap {
		return
	}
	s := reflect.MakeSlice(v.Type(), count, count)
	for i := 0; i < count; i++ {
		idx := strconv.Itoa(i)
		d.push(idx, "["+idx+"]", byIndex[i][0].keyPos)
		d.group(byIndex[i], s.Index(i))
		d.pop()
	}
	v.Set(s)
}

// group decodes the settings that reach the same key.
func (d *decoder) group(g []entry, v reflect.Value) {
	if len(g) == 1 {
		d.value(g[0].val, v)
		return
	}
	var texts []*node
	merged := &node{kind: kindMap}
	for _, e := range g {
		if e.val.kind == kindText {
			texts = append(texts, e.val)
			continue
		}
		if len(merged.entries) == 0 {
			merged.pos = e.val.pos
		}
		merged.entries = append(merged.entries, e.val.entries...)
	}
	t := v.Type()
	switch k := derefType(t).Kind(); {
	case isSection(t):
		// Switches and keys below add up; only "false" clashes with them.
		var on, off []*node
		for _, x := range texts {
			if enabled, ok := d.sectionSwitch(x, derefType(t)); ok {
				if enabled {
					on = append(on, x)
				} else {
					off = append(off, x)
				}
			}
		}
		if len(off) > 0 && (len(on) > 0 || len(merged.entries) > 0) {
			other := merged
			if len(on) > 0 {
				other = on[0]
			}
			d.fail(off[0].pos, "turns the section off, but %s sets it", d.setting(firstLeaf(other)).Name)
			return
		}
		for _, x := range on {
			d.value(x, v)
		}
		if len(merged.entries) > 0 {
			d.value(merged, v)
		}
	case k == reflect.Slice && !isTextType(derefType(t)):
		if len(texts) > 0 && len(merged.entries) > 0 {
			d.fail(firstLeaf(merged).pos, "sets an element of the list that %s sets whole", d.setting(texts[0]).Name)
			return
		}
		if len(texts) == 0 {
			d.value(merged, v)
			return
		}
		// Repeated flags add up, as in Traefik; a variable set under both
		// prefixes is a clash.
		list := &node{kind: kindList, pos: texts[0].pos}
		for i, x := range texts {
			if i > 0 && (d.setting(x).upper || d.setting(texts[0]).upper) {
				d.fail(x.pos, "sets the same key as %s", d.setting(texts[0]).Name)
				continue
			}
			if x.bare {
				d.needValue(x)
				continue
			}
			list.items = append(list.items, splitList(x).items...)
		}
		d.value(list, v)
	default:
		if len(merged.entries) > 0 {
			d.noSubKeys(merged)
		}
		for _, x := range texts[min(1, len(texts)):] {
			first := d.setting(texts[0]).Name
			if strings.EqualFold(first, d.setting(x).Name) {
				d.fail(x.pos, "is given more than once")
			} else {
				d.fail(x.pos, "sets the same key as %s", first)
			}
		}
		if len(texts) > 0 {
			d.value(texts[0], v)
		}
	}
}

// textValue converts the text of a flag or variable to the type of v.
func (d *decoder) textValue(n *node, v reflect.Value) {
	t := v.Type()
	if t.Kind() == reflect.Pointer {
		if isSection(t) {
			if on, ok := d.sectionSwitch(n, derefType(t)); ok && on && v.IsNil() {
				v.Set(reflect.New(t.Elem()))
			}
			return
		}
		if v.IsNil() {
			v.Set(reflect.New(t.Elem()))
		}
		d.textValue(n, v.Elem())
		return
	}
	if v.CanAddr() && isTextType(t) {
		if n.bare {
			d.needValue(n)
			return
		}
		if err := v.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(n.str)); err != nil {
			d.fail(n.pos, "%v", err)
		}
		return
	}
	if n.bare && t.Kind() != reflect.Bool && !isSection(t) {
		d.needValue(n)
		return
	}
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		if on, ok := d.sectionSwitch(n, t); ok && on && t.Kind() == reflect.Map && v.IsNil() {
			v.Set(reflect.MakeMap(t))
		}
	case reflect.Slice:
		d.sliceValue(splitList(n), v)
	case reflect.String:
		v.SetString(n.str)
	case reflect.Bool:
		if n.bare {
			v.SetBool(true)
			return
		}
		b, err := strconv.ParseBool(n.str)
		if err != nil {
			d.fail(n.pos, "expected a boolean, got %q", n.str)
			return
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		i, err := strconv.ParseInt(n.str, 10, 64)
		if err != nil || v.OverflowInt(i) {
			d.fail(n.pos, "expected an integer, got %q", n.str)
			return
		}
		v.SetInt(i)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		i, err := strconv.ParseUint(n.str, 10, 64)
		if err != nil || v.OverflowUint(i) {
			d.fail(n.pos, "expected a non-negative integer, got %q", n.str)
			return
		}
		v.SetUint(i)
	case reflect.Float32, reflect.Float64:
		f, err := strconv.ParseFloat(n.str, 64)
		if err != nil {
			d.fail(n.pos, "expected a number, got %q", n.str)
			return
		}
		v.SetFloat(f)
	case reflect.Interface:
		if v.NumMethod() != 0 {
			d.fail(n.pos, "cannot decode into %s", t)
			return
		}
		v.Set(reflect.ValueOf(n.str))
	default:
		d.fail(n.pos, "cannot decode into %s", t)
	}
}

// sectionSwitch reads the value of a section: bare, empty or true enables
// it with its defaults, false leaves it off.
func (d *decoder) sectionSwitch(n *node, t reflect.Type) (on, ok bool) {
	if n.bare || n.str == "" {
		return true, true
	}
	if b, err := strconv.ParseBool(n.str); err == nil {
		return b, true
	}
	keys := ""
	if t.Kind() == reflect.Struct {
		keys = " (" + strings.Join(d.spell(n, structInfoOf(t).names), ", ") + ")"
	}
	d.fail(n.pos, "is a section: give true or false to turn it on or off, or set a key below it%s; got %q", keys, n.str)
	return false, false
}

func (d *decoder) needValue(n *node) {
	d.fail(n.pos, "needs a value: %s=VALUE", d.setting(n).Name)
}

// splitList turns a comma-separated text into a list of texts; spaces
// around the elements and empty elements are dropped.
func splitList(n *node) *node {
	list := &node{kind: kindList, pos: n.pos}
	for _, item := range strings.Split(n.str, ",") {
		if item = strings.TrimSpace(item); item != "" {
			list.items = append(list.items, &node{kind: kindText, pos: n.pos, str: item, raw: item})
		}
	}
	return list
}

// unknownSetting reports every setting below an unknown key, with the
// setting the user probably meant.
func (d *decoder) unknownSetting(e entry, names []string) {
	if msg := unsupportedMessage(d.path, e.key); msg != "" {
		d.badKey(e, "%s", msg)
		return
	}
	depth := len(d.path)
	sug, found := suggest.Closest(e.key, names)
	for _, leaf := range leaves(e.val) {
		s := d.setting(leaf)
		switch {
		case found:
			d.errs.add(leaf.pos, "unknown key %q (did you mean %s?)", s.written(depth), s.replaced(depth, sug))
		case len(names) <= 20:
			d.errs.add(leaf.pos, "unknown key %q (valid keys here: %s)", s.written(depth), strings.Join(d.spell(leaf, names), ", "))
		default:
			d.errs.add(leaf.pos, "unknown key %q", s.written(depth))
		}
	}
}

// noSubKeys reports the settings below a key that takes a value.
func (d *decoder) noSubKeys(n *node) {
	for _, e := range n.entries {
		d.badKey(e, "%s takes a value, it has no keys below it", joinShown(d.disp))
	}
}

// badKey reports every setting below e as `unknown key "X": <msg>`.
func (d *decoder) badKey(e entry, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	depth := len(d.path)
	for _, leaf := range leaves(e.val) {
		d.errs.add(leaf.pos, "unknown key %q: %s", d.setting(leaf).written(depth), msg)
	}
}

// spell writes key names as the setting of n would: upper case for
// environment variables.
func (d *decoder) spell(n *node, names []string) []string {
	if !d.setting(n).upper {
		return names
	}
	out := make([]string, len(names))
	for i, name := range names {
		out[i] = strings.ToUpper(name)
	}
	return out
}

// leaves returns the values below n, one per setting.
func leaves(n *node) []*node {
	if n.kind != kindMap {
		return []*node{n}
	}
	var out []*node
	seen := map[int]bool{}
	var walk func(*node)
	walk = func(n *node) {
		if n.kind != kindMap {
			if !seen[n.pos.line] {
				seen[n.pos.line] = true
				out = append(out, n)
			}
			return
		}
		for _, e := range n.entries {
			walk(e.val)
		}
	}
	walk(n)
	return out
}

func firstLeaf(n *node) *node { return leaves(n)[0] }
