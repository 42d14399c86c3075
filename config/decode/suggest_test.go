package decode

import "testing"

func TestSuggest(t *testing.T) {
	names := []string{"entryPoints", "middlewares", "service", "rule", "tls"}
	for key, want := range map[string]string{"entrypoint": "entryPoints", "servce": "service", "tl": "tls", "ruel": "", "zzz": ""} {
		if got := suggest(key, names); got != want {
			t.Errorf("suggest(%q) = %q, want %q", key, got, want)
		}
	}
}
