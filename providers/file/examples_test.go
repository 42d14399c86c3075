package file_test

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/guan-gateway/guan/config/decode"
	"github.com/guan-gateway/guan/config/dynamic"

	"github.com/guan-gateway/guan/config/static"
	"github.com/guan-gateway/guan/providers/file"
)

// The reference examples must load together, as a directory, without errors.
func TestReferenceExamplesLoad(t *testing.T) {
	m := file.New(static.FileProvider{Directory: "../../examples/reference/file-provider"}, nil).Load()
	if m.Err != nil {
		t.Fatal(m.Err)
	}
	h := m.Config.HTTP
	if h.Routers["whoami"] == nil || h.Routers["api"] == nil || h.Services["api-split"].Weighted == nil ||
		m.Config.TCP.Routers["postgres"] == nil || m.Config.TLS.Options["modern"] == nil ||
		h.Routers["shop-example-com"] == nil || h.Services["templated-app"] == nil {
		t.Fatalf("examples incomplete: %+v", h)
	}
}

// The examples of the file provider reference page must decode.
func TestReferenceDocExamples(t *testing.T) {
	doc, err := os.ReadFile("../../docs/configuration/file-provider.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```(toml|yaml)\n(.*?)```").FindAllSubmatch(doc, -1)
	if len(blocks) < 4 {
		t.Fatalf("found only %d examples", len(blocks))
	}
	for i, b := range blocks {
		name := "example." + string(b[1])
		switch {
		case bytes.Contains(b[2], []byte("providers")):
			_, _, err = static.Parse(name, b[2])
		case bytes.Contains(b[2], []byte("{{")):
			// A template: load it as the provider does.
			path := filepath.Join(t.TempDir(), name)
			if err := os.WriteFile(path, b[2], 0o644); err != nil {
				t.Fatal(err)
			}
			if m := file.New(static.FileProvider{Filename: path}, nil).Load(); m.Err != nil {
				err = m.Err
			}
		default:
			_, err = decode.Bytes(name, b[2], &dynamic.Configuration{})
		}
		if err != nil {
			t.Errorf("example %d:\n%s\n%v", i, b[2], err)
		}
	}
}
