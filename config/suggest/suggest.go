// Package suggest finds the known word a misspelt one was probably meant to
// be, for "did you mean" hints in configuration errors.
package suggest

import "strings"

// maxLen bounds the words compared: names in configuration are short, and
// comparing long junk would only cost time.
const maxLen = 64

// Closest returns the candidate nearest to word, ignoring case, when it is
// close enough to be a likely typo: one edit for words shorter than five
// bytes, two otherwise.
func Closest(word string, candidates []string) (string, bool) {
	limit := 2
	if len(strings.ToLower(word)) < 5 {
		limit = 1
	}
	return Within(word, candidates, limit)
}

// Within returns the candidate nearest to word, ignoring case, if it is at
// most maxDist edits away. Ties go to the earlier candidate, so callers that
// want a stable answer from a map pass its keys sorted.
func Within(word string, candidates []string, maxDist int) (string, bool) {
	w := strings.ToLower(word)
	if len(w) > maxLen {
		return "", false
	}
	best, bestDist := "", maxDist+1
	for _, c := range candidates {
		lc := strings.ToLower(c)
		if len(lc) > maxLen {
			continue
		}
		if d := distance(w, lc); d < bestDist {
			best, bestDist = c, d
		}
	}
	return best, bestDist <= maxDist
}

// distance is the Levenshtein distance between a and b in bytes.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
