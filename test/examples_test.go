package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
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
