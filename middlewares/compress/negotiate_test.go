package compress

import (
	"slices"
	"testing"
)

func TestNegotiate(t *testing.T) {
	all := []string{zstdName, brotliName, gzipName}
	tests := []struct {
		name      string
		lines     []string
		supported []string
		def       string
		want      string
	}{
		{"empty header", []string{""}, all, "", ""},
		{"gzip only", []string{"gzip"}, all, "", "gzip"},
		{"x-gzip alias", []string{"x-gzip"}, all, "", "gzip"},
		{"server order breaks ties", []string{"gzip, br, zstd"}, all, "", "zstd"},
		{"configured order", []string{"gzip, br, zstd"}, []string{"gzip", "br"}, "", "gzip"},
		{"weights win", []string{"gzip;q=1.0, br;q=0.8, zstd;q=0.5"}, all, "", "gzip"},
		{"q=0 refuses", []string{"gzip;q=0, br;q=0"}, all, "", ""},
		{"identity only", []string{"identity"}, all, "", ""},
		{"case and spaces", []string{" GZip ; Q=0.5 ,  BR;q=0.6"}, all, "", "br"},
		{"multiple lines", []string{"gzip;q=0.2", "br;q=0.9"}, all, "", "br"},
		{"star", []string{"*"}, all, "", "zstd"},
		{"star with default", []string{"*"}, all, "gzip", "gzip"},
		{"star refused encoding", []string{"*, zstd;q=0"}, all, "", "br"},
		{"star q=0 excludes unlisted", []string{"gzip;q=0.5, *;q=0"}, all, "", "gzip"},
		{"explicit beats default", []string{"br, *;q=0.1"}, all, "gzip", "br"},
		{"default refused explicitly", []string{"*, gzip;q=0"}, all, "gzip", "zstd"},
		{"malformed q ignored", []string{"br;q=2, gzip;q=abc, zstd;q=0.5"}, all, "", "zstd"},
		{"too many decimals", []string{"br;q=0.1234, gzip"}, all, "", "gzip"},
		{"unknown coding", []string{"deflate, compress"}, all, "", ""},
		{"other params", []string{"gzip;level=1;q=0.3, br;q=0.2"}, all, "", "gzip"},
		{"empty items", []string{",,gzip,,"}, all, "", "gzip"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := negotiate(tt.lines, tt.supported, tt.def); got != tt.want {
				t.Errorf("negotiate(%q) = %q, want %q", tt.lines, got, tt.want)
			}
		})
	}
}

func TestParseQValue(t *testing.T) {
	for v, want := range map[string]int{"0": 0, "1": 1000, "0.5": 500, "0.123": 123, "1.000": 1000, "0.": 0, "1.": 1000} {
		if got, ok := parseQValue(v); !ok || got != want {
			t.Errorf("parseQValue(%q) = %d,%v want %d", v, got, ok, want)
		}
	}
	for _, v := range []string{"", "2", "1.5", "1.001", "0.1234", "-0", ".5", "0,5", "0.5x"} {
		if _, ok := parseQValue(v); ok {
			t.Errorf("parseQValue(%q) accepted", v)
		}
	}
}

func FuzzNegotiate(f *testing.F) {
	for _, s := range []string{"gzip", "br;q=0.5, *;q=0", "zstd;q=1.000", ";;;,,,", "*;q=0.001", "gzip;q="} {
		f.Add(s)
	}
	all := []string{zstdName, brotliName, gzipName}
	f.Fuzz(func(t *testing.T, header string) {
		got := negotiate([]string{header}, all, gzipName)
		if got != "" && !slices.Contains(all, got) {
			t.Fatalf("negotiate(%q) = %q, not a supported encoding", header, got)
		}
		if a := testing.AllocsPerRun(1, func() { negotiate([]string{header}, all, "") }); a > 1 {
			t.Fatalf("negotiate allocates %v times", a)
		}
	})
}
