package static_test

import (
	"os"
	"regexp"
	"testing"

	"github.com/guan-gateway/guan/config/static"
)

// Every TOML and YAML example of the static configuration reference must
// load as a complete static configuration.
func TestReferenceDocExamples(t *testing.T) {
	doc, err := os.ReadFile("../../docs/configuration/static.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```(toml|yaml)\n(.*?)```").FindAllSubmatch(doc, -1)
	if len(blocks) < 10 {
		t.Fatalf("found only %d examples", len(blocks))
	}
	for i, b := range blocks {
		if _, _, err := static.Parse("example."+string(b[1]), b[2]); err != nil {
			t.Errorf("example %d (%s):\n%s\n%v", i, b[1], b[2], err)
		}
	}
}
