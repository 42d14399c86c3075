// Package statusrange parses the status lists of Traefik's middlewares
// ("404", "500-599", "500,502-504"), as the errors and retry middlewares
// take them.
package statusrange

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Range is an inclusive range of status codes.
type Range struct{ Lo, Hi int }

// Has reports whether code is in r.
func (r Range) Has(code int) bool { return r.Lo <= code && code <= r.Hi }

// Set is a list of ranges.
type Set []Range

// Has reports whether code is in any range of s.
func (s Set) Has(code int) bool {
	for _, r := range s {
		if r.Has(code) {
			return true
		}
	}
	return false
}

// Parse reads "503", "500-599" or a comma-separated list of them. Codes
// must lie within 100-599.
func Parse(s string) (Set, error) {
	var out Set
	for part := range strings.SplitSeq(s, ",") {
		loS, hiS, isRange := strings.Cut(strings.TrimSpace(part), "-")
		lo, err1 := strconv.Atoi(strings.TrimSpace(loS))
		hi, err2 := lo, error(nil)
		if isRange {
			hi, err2 = strconv.Atoi(strings.TrimSpace(hiS))
		}
		if err1 != nil || err2 != nil {
			return nil, errors.New(`want a status code ("503") or an inclusive range ("500-599")`)
		}
		if lo < 100 || hi > 599 || lo > hi {
			return nil, fmt.Errorf("range %d-%d is outside 100-599 or reversed", lo, hi)
		}
		out = append(out, Range{lo, hi})
	}
	return out, nil
}

// ParseList parses every entry of list into one set; an error names the
// entry, prefixed with what (e.g. "retry: status").
func ParseList(what string, list []string) (Set, error) {
	var out Set
	for _, s := range list {
		rs, err := Parse(s)
		if err != nil {
			return nil, fmt.Errorf("%s %q: %w", what, s, err)
		}
		out = append(out, rs...)
	}
	return out, nil
}
