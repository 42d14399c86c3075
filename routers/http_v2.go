package routers

import (
	"net/http"
	"strings"
	"sync"

	"github.com/gorilla/mux"
)

// httpV2 is the Traefik v2 matcher set (ruleSyntax: v2). Matchers take
// several values, and Host/Path templates use gorilla/mux syntax such as
// `{sub:[a-z]+}.example.com` and `/user/{id:[0-9]+}`.
var httpV2 = &language[httpLeaf]{
	matchers: map[string]matcherSpec[httpLeaf]{
		"Host":          {1, -1, buildHost},
		"HostHeader":    {1, -1, buildHost},
		"HostRegexp":    {1, -1, buildMux(func(rt *mux.Route, v string) *mux.Route { return rt.Host(v) })},
		"Path":          {1, -1, buildMux(func(rt *mux.Route, v string) *mux.Route { return rt.Path(v) })},
		"PathPrefix":    {1, -1, buildMux(func(rt *mux.Route, v string) *mux.Route { return rt.PathPrefix(v) })},
		"Method":        {1, -1, buildMethodV2},
		"Headers":       {2, 2, buildHeadersV2},
		"HeadersRegexp": {2, 2, buildHeadersV2},
		"Query":         {1, -1, buildQueryV2},
		"ClientIP":      {1, -1, buildClientIP},
	},
	other: map[string]string{
		"Header":       "v3 syntax: use Headers in ruleSyntax v2, or drop ruleSyntax: v2",
		"HeaderRegexp": "v3 syntax: use HeadersRegexp in ruleSyntax v2, or drop ruleSyntax: v2",
		"PathRegexp":   "v3 syntax: use a Path template such as Path(`/x/{id:[0-9]+}`) in ruleSyntax v2",
		"QueryRegexp":  "v3 syntax: drop ruleSyntax: v2 to use it",
		"HostSNI":      "HostSNI is a TCP matcher; HTTP routers use Host",
	},
}

// muxLeaf matches when any of its gorilla/mux routes (one per value) does.
type muxLeaf struct {
	routes []*mux.Route
}

// routeMatches recycles mux.RouteMatch values: mux fills Vars on a match.
var routeMatches = sync.Pool{New: func() any { return &mux.RouteMatch{Vars: map[string]string{}} }}

func (m *muxLeaf) match(r *http.Request) bool {
	rm := routeMatches.Get().(*mux.RouteMatch)
	defer func() {
		vars := rm.Vars
		clear(vars)
		*rm = mux.RouteMatch{Vars: vars}
		routeMatches.Put(rm)
	}()
	for _, rt := range m.routes {
		if rt.Match(r, rm) {
			return true
		}
		rm.MatchErr = nil
	}
	return false
}

// buildMux makes one mux route per value with add (Host, Path, ...).
func buildMux(add func(*mux.Route, string) *mux.Route) func(c *call) (httpLeaf, error) {
	return func(c *call) (httpLeaf, error) {
		leaf := &muxLeaf{}
		for i, v := range c.args {
			if c.name == "HostRegexp" && !isASCII(v) {
				return httpLeaf{}, c.argErr(i, "non-ASCII characters are not allowed; use punycode (xn--...)")
			}
			rt := add(mux.NewRouter().NewRoute(), v)
			if err := rt.GetError(); err != nil {
				return httpLeaf{}, c.argErr(i, "invalid template %q: %v", v, err)
			}
			leaf.routes = append(leaf.routes, rt)
		}
		return httpLeaf{kind: mV2, v2: leaf}, nil
	}
}

func buildMethodV2(c *call) (httpLeaf, error) {
	// mux upper-cases methods, as v3 does; a plain comparison is the same.
	return buildMethod(c)
}

func buildHeadersV2(c *call) (httpLeaf, error) {
	rt := mux.NewRouter().NewRoute()
	if c.name == "HeadersRegexp" {
		rt.HeadersRegexp(c.args...)
	} else {
		rt.Headers(c.args...)
	}
	if err := rt.GetError(); err != nil {
		return httpLeaf{}, c.argErr(1, "%v", err)
	}
	return httpLeaf{kind: mV2, v2: &muxLeaf{routes: []*mux.Route{rt}}}, nil
}

// buildQueryV2 takes `key=value` pairs (`key=` or `key={v}` for any value),
// all of which must be present.
func buildQueryV2(c *call) (httpLeaf, error) {
	var pairs []string
	for i, q := range c.args {
		k, v, ok := strings.Cut(q, "=")
		if !ok {
			return httpLeaf{}, c.argErr(i, "%q must be key=value (key= matches any value)", q)
		}
		pairs = append(pairs, k, v)
	}
	rt := mux.NewRouter().NewRoute().Queries(pairs...)
	if err := rt.GetError(); err != nil {
		return httpLeaf{}, c.argErr(0, "%v", err)
	}
	return httpLeaf{kind: mV2, v2: &muxLeaf{routes: []*mux.Route{rt}}}, nil
}
