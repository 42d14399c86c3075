package ipstrategy

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/guan-gateway/guan/config/dynamic"
)

// Source returns how a middleware that counts per client (inFlightReq,
// rateLimit) groups requests. As in Traefik the three criteria are mutually
// exclusive and the default is the peer IP.
func Source(sc *dynamic.SourceCriterion) (func(*http.Request) string, error) {
	if sc == nil {
		sc = &dynamic.SourceCriterion{}
	}
	set := 0
	if sc.IPStrategy != nil {
		set++
	}
	if sc.RequestHeaderName != "" {
		set++
	}
	if sc.RequestHost {
		set++
	}
	if set > 1 {
		return nil, errors.New("sourceCriterion: ipStrategy, requestHeaderName and requestHost are mutually exclusive; keep only one")
	}
	switch {
	case sc.RequestHeaderName != "":
		name := http.CanonicalHeaderKey(sc.RequestHeaderName)
		return func(r *http.Request) string { return r.Header.Get(name) }, nil
	case sc.RequestHost:
		return func(r *http.Request) string { return r.Host }, nil
	}
	s, err := New(sc.IPStrategy)
	if err != nil {
		return nil, fmt.Errorf("sourceCriterion.%w", err)
	}
	return s.ClientIP, nil
}
