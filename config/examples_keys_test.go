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

// Keys accepted so Traefik files load but that have no effect (no ACME, no
// tracing exporter, Go orders cipher suites itself) need no example.
var inert = map[string]bool{"certResolver": true, "tracing": true, "traceVerbosity": true, "preferServerCipherSuites": true}

// Every configuration key, static and dynamic, appears in a file under
// examples/, which the test suite loads (gateway check).
func TestEveryKeyHasExample(t *testing.T) {
	var ex strings.Builder
	err := filepath.WalkDir("../examples", func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		switch filepath.Ext(path) {
		case ".toml", ".yaml", ".yml":
			b, err := os.ReadFile(path)
			ex.Write(b)
			return err
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	text := strings.ToLower(ex.String())
	var missing []string
	for _, root := range []any{static.Configuration{}, dynamic.Configuration{}} {
		walkKeys(reflect.TypeOf(root), "", map[reflect.Type]bool{}, func(path, key string) {
			if inert[key] {
				return
			}
			k := strings.ToLower(key)
			if !strings.Contains(text, k+" =") && !strings.Contains(text, k+":") && !strings.Contains(text, "."+k+"]") && !strings.Contains(text, "."+k+".") && !strings.Contains(text, "["+k+"]") && !strings.Contains(text, "["+k+".") {
				missing = append(missing, path)
			}
		})
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("%d keys have no example under examples/:\n%s", len(missing), strings.Join(missing, "\n"))
	}
}
