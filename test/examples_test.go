package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Every example file under examples/ is a valid dynamic configuration:
// `gateway check` with a file provider on that file passes.
func TestExamplesPassCheck(t *testing.T) {
	var files []string
	err := filepath.WalkDir("../examples", func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path == filepath.Join("..", "examples", "static") {
			return filepath.SkipDir // static configurations: TestStaticExamplesPassCheck
		}
		switch filepath.Ext(path) {
		case ".toml", ".yaml", ".yml":
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 10 {
		t.Fatalf("only %d example files found", len(files))
	}
	for _, file := range files {
		t.Run(file, func(t *testing.T) {
			abs, _ := filepath.Abs(file)
			static := filepath.Join(t.TempDir(), "static.toml")
			writeFile(t, static, fmt.Sprintf(`
[entryPoints.web]
  address = ":80"
[entryPoints.websecure]
  address = ":443"
[entryPoints.traefik]
  address = ":8080"
[entryPoints.postgres]
  address = ":5432"
[entryPoints.smtp]
  address = ":25"
[entryPoints.mqtt]
  address = ":1883"
[entryPoints.mqtts]
  address = ":8883"
[providers.file]
  filename = %q
[api]
  insecure = true
[ping]
[metrics.prometheus]
`, abs))
			out, err := exec.Command(gatewayBin, "check", "--configFile="+static).CombinedOutput()
			if err != nil {
				t.Fatalf("%s does not pass check: %v\n%s", file, err, out)
			}
		})
	}
}

// The static configuration examples (every static key, TOML and YAML)
// pass `gateway check` from the repository root, as a user would run them.
func TestStaticExamplesPassCheck(t *testing.T) {
	names, err := filepath.Glob("../examples/static/*.[ty][oa]ml")
	if err != nil || len(names) < 3 {
		t.Fatalf("static examples: %v %v", names, err)
	}
	for _, name := range names {
		name := filepath.Base(name)
		t.Run(name, func(t *testing.T) {
			cmd := exec.Command(gatewayBin, "check", "--configFile=examples/static/"+name)
			cmd.Dir = ".."
			out, err := cmd.CombinedOutput()
			if err != nil || !strings.Contains(string(out), "configuration OK") {
				t.Fatalf("%s: %v\n%s", name, err, out)
			}
		})
	}
}
