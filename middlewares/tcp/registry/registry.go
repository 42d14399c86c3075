// Package registry maps a TCP middleware configuration to its constructor.
// Every TCP middleware kind is listed here explicitly, so an unknown kind
// can never be silently ignored.
package registry

import (
	"fmt"
	"net"
	"strings"

	"github.com/guan-gateway/guan/config/dynamic"
	"github.com/guan-gateway/guan/middlewares"
	"github.com/guan-gateway/guan/middlewares/tcp/inflightconn"
	"github.com/guan-gateway/guan/middlewares/tcp/ipallowlist"
)

// kind pairs a configuration key with its constructor.
type kind struct {
	key        string // as written in configuration, "ipAllowList"
	deprecated string // for a deprecated key, the key to write instead
	set        func(m *dynamic.TCPMiddleware) bool
	ctor       func(env middlewares.Env, m *dynamic.TCPMiddleware, next middlewares.TCPHandler) (middlewares.TCPHandler, error)
}

// of builds a kind from a field getter and a typed constructor.
func of[T any](key string, get func(*dynamic.TCPMiddleware) *T, ctor func(middlewares.Env, T, middlewares.TCPHandler) (middlewares.TCPHandler, error)) kind {
	return kind{
		key: key,
		set: func(m *dynamic.TCPMiddleware) bool { return get(m) != nil },
		ctor: func(e middlewares.Env, m *dynamic.TCPMiddleware, n middlewares.TCPHandler) (middlewares.TCPHandler, error) {
			return ctor(e, *get(m), n)
		},
	}
}

var kinds = []kind{
	of("inFlightConn", func(m *dynamic.TCPMiddleware) *dynamic.TCPInFlightConn { return m.InFlightConn }, inflightconn.New),
	of("ipAllowList", func(m *dynamic.TCPMiddleware) *dynamic.TCPIPAllowList { return m.IPAllowList }, ipallowlist.New),
	deprecated(of("ipWhiteList", func(m *dynamic.TCPMiddleware) *dynamic.TCPIPAllowList { return m.IPWhiteList }, ipallowlist.New), "ipAllowList"),
}

func deprecated(k kind, instead string) kind {
	k.deprecated = instead
	return k
}

// Count returns how many middleware kinds m sets; a valid middleware sets one.
func Count(m *dynamic.TCPMiddleware) int {
	n := 0
	for _, k := range kinds {
		if k.set(m) {
			n++
		}
	}
	return n
}

// Kind returns the lower-case kind name of m ("ipallowlist"), as the API
// shows it, or "" if unset.
func Kind(m *dynamic.TCPMiddleware) string {
	for _, k := range kinds {
		if k.set(m) {
			return strings.ToLower(k.key)
		}
	}
	return ""
}

// Deprecation returns a warning when m uses a deprecated kind name (Traefik
// v3 still accepts ipWhiteList, the old name of ipAllowList), else "".
func Deprecation(m *dynamic.TCPMiddleware) string {
	for _, k := range kinds {
		if k.set(m) && k.deprecated != "" {
			return fmt.Sprintf("%s is deprecated: rename it %s (same options)", k.key, k.deprecated)
		}
	}
	return ""
}

// New checks m and returns its constructor.
func New(env middlewares.Env, m *dynamic.TCPMiddleware) (middlewares.TCPConstructor, error) {
	switch n := Count(m); n {
	case 0:
		var keys []string
		for _, k := range kinds {
			if k.deprecated == "" {
				keys = append(keys, k.key)
			}
		}
		return nil, fmt.Errorf("no TCP middleware type is set: add one of %s", strings.Join(keys, ", "))
	case 1:
	default:
		return nil, fmt.Errorf("exactly one TCP middleware type must be set, found %d", n)
	}
	for _, k := range kinds {
		if !k.set(m) {
			continue
		}
		ctor := k.ctor
		// Construct once now so configuration errors surface at build time,
		// not when the first router is wired.
		if _, err := ctor(env, m, refuse{}); err != nil {
			return nil, err
		}
		return func(next middlewares.TCPHandler) (middlewares.TCPHandler, error) { return ctor(env, m, next) }, nil
	}
	return nil, nil
}

// refuse closes every connection; the stand-in next handler of the trial
// construction.
type refuse struct{}

func (refuse) ServeTCP(c net.Conn) { c.Close() }
