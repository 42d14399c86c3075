package mwtest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/guan-gateway/guan/config/decode"
	"github.com/guan-gateway/guan/config/dynamic"
	"github.com/guan-gateway/guan/statestore"
)

// ReferenceExamples runs check in a subtest for every file of dir, the
// documented examples of one middleware kind each: it passes the kind the
// file is named after (ipallowlist.yaml documents ipallowlist), the
// decoded configuration and a fresh build of a state store, as a
// configuration build would use.
func ReferenceExamples(t *testing.T, dir string, check func(t *testing.T, kind string, cfg *dynamic.Configuration, build *statestore.Build)) {
	t.Helper()
	files, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no examples in %s", dir)
	}
	for _, f := range files {
		if f.IsDir() {
			continue
		}
		t.Run(f.Name(), func(t *testing.T) {
			var cfg dynamic.Configuration
			if _, err := decode.File(filepath.Join(dir, f.Name()), &cfg); err != nil {
				t.Fatal(err)
			}
			build := statestore.New().Begin()
			t.Cleanup(build.Abort)
			check(t, strings.TrimSuffix(f.Name(), filepath.Ext(f.Name())), &cfg, build)
		})
	}
}
