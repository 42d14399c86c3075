package tls

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pelletier/go-toml/v2"
	"go.yaml.in/yaml/v3"

	"github.com/guan-gateway/guan/config/dynamic"
)

// TestReferenceExamples builds a Manager from every example's tls section,
// with paths relative to the example directory, as the file provider does.
func TestReferenceExamples(t *testing.T) {
	dir := filepath.Join("..", "examples", "reference", "tls")
	files, _ := filepath.Glob(filepath.Join(dir, "*.*ml"))
	if len(files) == 0 {
		t.Fatal("no examples found")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var generic map[string]any
			if strings.HasSuffix(f, ".toml") {
				err = toml.Unmarshal(raw, &generic)
			} else {
				err = yaml.Unmarshal(raw, &generic)
			}
			if err != nil {
				t.Fatal(err)
			}
			// encoding/json matches the json tags the project decoder uses.
			j, _ := json.Marshal(generic)
			dec := json.NewDecoder(bytes.NewReader(j))
			dec.DisallowUnknownFields()
			var cfg dynamic.Configuration
			if err := dec.Decode(&cfg); err != nil {
				t.Fatalf("keys not in config/dynamic: %v", err)
			}
			m, errs := NewManager(cfg.TLS, func(int) string { return dir })
			if len(errs) > 0 {
				t.Fatal(errs)
			}
			if cfg.TLS != nil && len(cfg.TLS.Certificates) > 0 {
				c, err := m.Certificate("www.example.com")
				if err != nil || c.Leaf.Subject.CommonName != "example.com" {
					t.Errorf("www.example.com served %v, %v; want the example.com certificate", c.Leaf.Subject, err)
				}
			}
		})
	}
}
