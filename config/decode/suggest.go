package decode

import "strings"

// suggest returns the candidate closest to key when it is close enough to be
// a likely typo, or "".
func suggest(key string, candidates []string) string {
	k := strings.ToLower(key)
	best, bestDist := "", 1<<30
	for _, c := range candidates {
		if d := levenshtein(k, strings.ToLower(c)); d < bestDist {
			best, bestDist = c, d
		}
	}
	limit := 2
	if len(k) < 5 {
		limit = 1
	}
	if bestDist <= limit {
		return best
	}
	return ""
}

func levenshtein(a, b string) int {
	if len(a) > 64 || len(b) > 64 { // keys are short; don't spend time on junk
		return 1 << 30
	}
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
