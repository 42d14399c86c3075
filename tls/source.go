package tls

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// readFileOrContent returns the PEM bytes of s, which is either inline PEM
// text (as Traefik accepts in certFile/keyFile/caFiles) or a file path.
// Relative paths are resolved against base when base is not empty.
func readFileOrContent(s, base string) ([]byte, error) {
	if strings.Contains(s, "-----BEGIN") {
		return []byte(s), nil
	}
	if s == "" {
		return nil, fmt.Errorf("empty value: give a file path or inline PEM text")
	}
	p := s
	if base != "" && !filepath.IsAbs(p) {
		p = filepath.Join(base, p)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", p, err)
	}
	return b, nil
}

// describe names a file-or-content value in error messages without dumping
// PEM text into logs.
func describe(s string) string {
	if strings.Contains(s, "-----BEGIN") {
		return "inline PEM"
	}
	return fmt.Sprintf("%q", s)
}
