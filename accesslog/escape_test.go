package accesslog

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestAppendJSONString(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain", `"plain"`},
		{`q"b\`, `"q\"b\\"`},
		{"a\nb\tc\r\x00\x1f", `"a\nb\tc\r\u0000\u001f"`},
		{"\xff", `"\ufffd"`},
		{"é\u2028\u2029", `"é\u2028\u2029"`},
	}
	for _, tt := range tests {
		if got := string(appendJSONString(nil, tt.in)); got != tt.want {
			t.Errorf("appendJSONString(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

// FuzzJSONString checks the escaper against encoding/json: the output is
// valid JSON that decodes to what encoding/json would have encoded.
func FuzzJSONString(f *testing.F) {
	for _, s := range []string{"", "abc", "\"\\", "\x00\x7f", "\xff\xfe", "日本\u2028", "\xed\xa0\x80"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := appendJSONString([]byte("x"), s)[1:]
		var got string
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("invalid JSON for %q: %s: %v", s, out, err)
		}
		ref, _ := json.Marshal(s)
		var want string
		json.Unmarshal(ref, &want)
		if got != want {
			t.Fatalf("decoded %q, encoding/json gives %q", got, want)
		}
	})
}

// FuzzCLF checks that escaped CLF fields are printable ASCII with no bare
// quote, and for tokens no space, whatever the input.
func FuzzCLF(f *testing.F) {
	for _, s := range []string{"", "a b", `"`, "\\\"", "\n", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		q := string(appendCLFQuoted(nil, s))
		tok := string(appendCLFToken(nil, s))
		for _, out := range []string{q[1 : len(q)-1], tok} {
			for i := 0; i < len(out); i++ {
				c := out[i]
				if c < 0x20 || c >= 0x7f {
					t.Fatalf("non-printable byte in %q", out)
				}
				if c == '\\' {
					i++ // escaped character follows
					continue
				}
				if c == '"' {
					t.Fatalf("unescaped quote in %q", out)
				}
			}
		}
		if strings.ContainsRune(tok, ' ') {
			t.Fatalf("space in token %q", tok)
		}
	})
}

func TestSplitHostPort(t *testing.T) {
	tests := []struct{ in, host, port string }{
		{"example.com", "example.com", "-"},
		{"example.com:8080", "example.com", "8080"},
		{"127.0.0.1:1234", "127.0.0.1", "1234"},
		{"[::1]:443", "::1", "443"},
		{"[::1]", "::1", "-"},
		{"::1", "::1", "-"},
		{"host:", "host", "-"},
		{"", "", "-"},
	}
	for _, tt := range tests {
		if h, p := splitHostPort(tt.in); h != tt.host || p != tt.port {
			t.Errorf("splitHostPort(%q) = %q, %q; want %q, %q", tt.in, h, p, tt.host, tt.port)
		}
	}
}
