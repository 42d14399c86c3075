package dashboard

import (
	"fmt"
	"net/http"
	"strconv"
)

// nextPageHeader tells the client which page to ask for next; it is 1 on the
// last page, as in Traefik.
const nextPageHeader = "X-Next-Page"

type page struct{ start, end, next int }

// paginate reads per_page (default 100) and page (default 1) for a list of
// n items.
func paginate(r *http.Request, n int) (page, error) {
	perPage, err := intParam(r, "per_page", defaultPerPage)
	if err != nil {
		return page{}, err
	}
	num, err := intParam(r, "page", 1)
	if err != nil {
		return page{}, err
	}
	start := (num - 1) * perPage
	if start < 0 || (start != 0 && start >= n) {
		return page{}, fmt.Errorf("invalid request: page: %d, per_page: %d: there are %d items", num, perPage, n)
	}
	end := min(start+perPage, n)
	next := 1
	if end < n {
		next = num + 1
	}
	return page{start, end, next}, nil
}

func intParam(r *http.Request, key string, def int) (int, error) {
	raw := r.URL.Query().Get(key)
	if raw == "" {
		return def, nil
	}
	v, err := strconv.Atoi(raw)
	if err != nil || v < 1 || v > 1<<20 {
		return 0, fmt.Errorf("invalid request: %s: %q: use a positive integer", key, raw)
	}
	return v, nil
}
