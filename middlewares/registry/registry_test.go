package registry

import (
	"io"
	"net/http"
	"path/filepath"
	"testing"

	"github.com/guan-gateway/guan/config/dynamic"
	"github.com/guan-gateway/guan/middlewares"
	"github.com/guan-gateway/guan/middlewares/internal/mwtest"
	"github.com/guan-gateway/guan/statestore"
)

const examplesDir = "../../examples/reference/middlewares"

// TestReferenceExamples builds every middleware of every documented example
// the way a configuration build does. Each file is named after the kind it
// documents (errors.toml defines errors middlewares).
func TestReferenceExamples(t *testing.T) {
	baseDir, err := filepath.Abs(examplesDir)
	if err != nil {
		t.Fatal(err)
	}
	trivial := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") })
	mwtest.ReferenceExamples(t, baseDir, func(t *testing.T, wantKind string, cfg *dynamic.Configuration, build *statestore.Build) {
		if cfg.HTTP == nil || len(cfg.HTTP.Middlewares) == 0 {
			t.Fatal("example defines no middleware")
		}
		for name, m := range cfg.HTTP.Middlewares {
			got := Kind(m)
			if wantKind == "chain" {
				// The chain example defines its members too; the chain
				// itself is assembled by the configuration builder.
				if got == "chain" {
					if _, ok := cfg.HTTP.Middlewares[m.Chain.Middlewares[0]]; !ok {
						t.Fatalf("chain %q names %q, which the example does not define", name, m.Chain.Middlewares[0])
					}
					continue
				}
			} else if got != wantKind {
				t.Fatalf("middleware %q is a %q middleware, the file documents %q", name, got, wantKind)
			}
			env := middlewares.Env{
				Name:    name + "@file",
				Store:   build,
				Service: func(string) (http.Handler, error) { return trivial, nil },
				BaseDir: baseDir,
			}
			ctor, err := New(env, m)
			if err != nil {
				t.Fatalf("middleware %q: %v", name, err)
			}
			if _, err := ctor(trivial); err != nil {
				t.Fatalf("middleware %q: wrapping a handler: %v", name, err)
			}
		}
	})
}
