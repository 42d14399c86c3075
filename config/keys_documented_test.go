package config_test

import (
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/guan-gateway/guan/config/dynamic"
	"github.com/guan-gateway/guan/config/static"
)

// Every configuration key, static and dynamic, is documented: its name
// appears in backticks somewhere under docs/. A key added without a word
// of documentation fails here.
func TestEveryKeyIsDocumented(t *testing.T) {
	var docs strings.Builder
	err := filepath.WalkDir("../docs", func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".md") {
			return err
		}
		b, err := os.ReadFile(path)
		docs.Write(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	text := docs.String()
	missing := map[string]bool{}
	for _, root := range []any{static.Configuration{}, dynamic.Configuration{}} {
		walkKeys(reflect.TypeOf(root), "", map[reflect.Type]bool{}, func(path, key string) {
			// `key`, `parent.key`, "key =" in TOML or "key:" in YAML
			// examples all count as documentation.
			if !strings.Contains(text, "`"+key+"`") && !strings.Contains(text, "."+key+"`") &&
				!strings.Contains(text, "`"+key+".") && !strings.Contains(text, "."+key+".") &&
				!strings.Contains(text, key+" =") && !strings.Contains(text, key+":") {
				missing[path] = true
			}
		})
	}
	if len(missing) > 0 {
		var list []string
		for p := range missing {
			list = append(list, p)
		}
		sort.Strings(list)
		t.Errorf("%d keys are not documented under docs/:\n%s", len(list), strings.Join(list, "\n"))
	}
}

// walkKeys calls f for every json-tagged field reachable from t, with its
// dotted path ("<name>" for map entries) and its key name.
func walkKeys(t reflect.Type, prefix string, seen map[reflect.Type]bool, f func(path, key string)) {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Map {
		if t.Kind() == reflect.Map {
			prefix += ".<name>"
		}
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || seen[t] {
		return
	}
	seen[t] = true
	defer delete(seen, t)
	for i := range t.NumField() {
		fl := t.Field(i)
		if !fl.IsExported() {
			continue
		}
		key, _, _ := strings.Cut(fl.Tag.Get("json"), ",")
		if key == "" || key == "-" {
			if fl.Anonymous {
				walkKeys(fl.Type, prefix, seen, f)
			}
			continue
		}
		path := strings.TrimPrefix(prefix+"."+key, ".")
		f(path, key)
		walkKeys(fl.Type, path, seen, f)
	}
}
