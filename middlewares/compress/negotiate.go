package compress

import "strings"

// qUnset marks an encoding the client did not name.
const qUnset = -1

// negotiate picks the content coding for a response from the request's
// Accept-Encoding lines (RFC 9110 §12.5.3), preferring earlier entries of
// supported on equal weight. It returns "" for "send it uncompressed".
// A choice made only through "*" is replaced by def when def is set and
// acceptable. It does not allocate.
func negotiate(lines []string, supported []string, def string) string {
	var qs [maxEncodings]int // weights in thousandths
	for i := range qs {
		qs[i] = qUnset
	}
	star := qUnset
	for _, line := range lines {
		for line != "" {
			var item string
			if i := strings.IndexByte(line, ','); i >= 0 {
				item, line = line[:i], line[i+1:]
			} else {
				item, line = line, ""
			}
			name, params, _ := strings.Cut(item, ";")
			name = strings.TrimSpace(name)
			if name == "" {
				continue
			}
			q, ok := parseQ(params)
			if !ok {
				continue // malformed weight: ignore the item, as if absent
			}
			if name == "*" {
				star = max(star, q)
				continue
			}
			if strings.EqualFold(name, "x-gzip") {
				name = gzipName
			}
			for i, enc := range supported {
				if strings.EqualFold(name, enc) {
					qs[i] = max(qs[i], q)
				}
			}
		}
	}
	best, bestQ, viaStar := -1, 0, false
	for i := range supported {
		q, fromStar := qs[i], false
		if q == qUnset {
			q, fromStar = star, true
		}
		if q > bestQ {
			best, bestQ, viaStar = i, q, fromStar
		}
	}
	if best < 0 {
		return ""
	}
	if viaStar && def != "" {
		for i, enc := range supported {
			if enc == def && (qs[i] > 0 || (qs[i] == qUnset && star > 0)) {
				return def
			}
		}
	}
	return supported[best]
}

// parseQ reads the "q" parameter from ";q=0.5;..." (default 1). Weights
// are returned in thousandths; anything outside the RFC grammar is not ok.
func parseQ(params string) (int, bool) {
	for params != "" {
		var p string
		if i := strings.IndexByte(params, ';'); i >= 0 {
			p, params = params[:i], params[i+1:]
		} else {
			p, params = params, ""
		}
		k, v, found := strings.Cut(strings.TrimSpace(p), "=")
		if !found || !strings.EqualFold(strings.TrimSpace(k), "q") {
			continue
		}
		return parseQValue(strings.TrimSpace(v))
	}
	return 1000, true
}

// parseQValue accepts "0", "0.x{0,3}", "1" and "1.0{0,3}".
func parseQValue(v string) (int, bool) {
	if v == "" || len(v) > 5 || (v[0] != '0' && v[0] != '1') {
		return 0, false
	}
	q := int(v[0]-'0') * 1000
	if len(v) == 1 {
		return q, true
	}
	if v[1] != '.' {
		return 0, false
	}
	scale := 100
	for _, c := range []byte(v[2:]) {
		if c < '0' || c > '9' {
			return 0, false
		}
		q += int(c-'0') * scale
		scale /= 10
	}
	if q > 1000 {
		return 0, false
	}
	return q, true
}
