package suggest

import (
	"strings"
	"testing"
)

func TestClosest(t *testing.T) {
	keys := []string{"entryPoints", "middlewares", "service", "rule", "tls"}
	tests := []struct {
		word   string
		want   string
		wantOK bool
	}{
		{"entrypoint", "entryPoints", true}, // case ignored, one edit
		{"servce", "service", true},
		{"tl", "tls", true},
		{"ruel", "", false}, // two edits are too many for a short word
		{"middlewres", "middlewares", true},
		{"midlewres", "middlewares", true}, // two edits are fine for a long one
		{"zzz", "", false},
		{"", "", false},
		{strings.Repeat("a", 65), "", false},
	}
	for _, tt := range tests {
		got, ok := Closest(tt.word, keys)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("Closest(%q) = %q, %v; want %q, %v", tt.word, got, ok, tt.want, tt.wantOK)
		}
	}
}

func TestWithin(t *testing.T) {
	matchers := []string{"ClientIP", "Header", "Host", "HostRegexp", "Method", "Path", "PathPrefix"}
	tests := []struct {
		word    string
		maxDist int
		want    string
		wantOK  bool
	}{
		{"Hots", 2, "Host", true}, // a transposition is two edits
		{"Hots", 1, "", false},
		{"host", 0, "Host", true},
		{"Pat", 2, "Path", true},
		{"Pxx", 2, "", false},
		{"Headr", 2, "Header", true},
	}
	for _, tt := range tests {
		got, ok := Within(tt.word, matchers, tt.maxDist)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("Within(%q, %d) = %q, %v; want %q, %v", tt.word, tt.maxDist, got, ok, tt.want, tt.wantOK)
		}
	}
	// Equally near candidates: the earlier one wins, whatever the order.
	for _, cands := range [][]string{{"abd", "abe"}, {"abe", "abd"}} {
		if got, ok := Within("abc", cands, 2); !ok || got != cands[0] {
			t.Errorf("Within(abc, %q) = %q, %v; want %q", cands, got, ok, cands[0])
		}
	}
}
